-- The fusebill program's exit status, as a cron job reads it (README, "Exit status"):
-- 0 all went well, 1 the script raised, 2 usage (cli_spec.lua), 3 an item's latest outcome
-- is a failure (journal included), 4 the key was refused, 5 the daily quota is spent,
-- 130 interrupted; a script's own os.exit(n) wins.
local sandbox = require "sandbox"
local cli = require "cli"

local q, run = cli.q, cli.run
local write_file = sandbox.write_file

-- A bulk job as a user writes it: set each customer's title from a data file
-- ({ {id=, title=}, ... }), one item per row, the customer id as the item's key.
local RETITLE = [[
local fusebill = require "fusebill"
local fb = fusebill.client()
local rows = dofile(arg[1])
fusebill.each(rows, { key = function(row) return row.id end }, function(row)
  return fb.customers:update(row.id, { title = row.title })
end)
]]

describe("exit status", function()
  local dir, script, rows, journal
  before_each(function()
    local p = io.popen("mktemp -d")
    dir = p:read("l")
    p:close()
    script, rows, journal = dir .. "/retitle.lua", dir .. "/rows.lua", dir .. "/retitle.journal"
    write_file(script, RETITLE)
  end)
  after_each(function() os.execute("rm -rf " .. q(dir)) end)

  local function retitle(extra)
    return run(("--sandbox %s %s %s"):format(extra or "", q(script), q(rows)))
  end

  it("is 0 when every item succeeded, and for a plain Lua script as with lua5.4", function()
    write_file(rows, "return { { id = 1, title = 'Dr' }, { id = 2, title = 'Mr' } }")
    local code, _, err = retitle()
    assert.equal(0, code, err)
    assert.equal(0, (run("-e 'x = 1'")))
  end)

  it("is 1 when the script raises, as with lua5.4", function()
    local code, _, err = run("--sandbox -e " .. q("error('the script gave up')"))
    assert.equal(1, code)
    assert.matches("the script gave up", err)
  end)

  it("is 3 when an item failed, though the script ended normally", function()
    write_file(rows, "return { { id = 1, title = 'Dr' }, { id = 2, title = 'Sir' } }")   -- Sir is no title
    local code, _, err = retitle()
    assert.equal(3, code, err)
    assert.matches("item 2 failed", err)
  end)

  it("is 3 when reading the items failed partway, though no item it read failed", function()
    write_file(script, [[
local n = 0
require("fusebill").each(function()
  n = n + 1
  if n == 3 then error("rows.csv:3: expected a whole id, got \"abc\"", 0) end
  if n < 3 then return n end
end, {}, function() end)
]])
    local code, _, err = run("--sandbox " .. q(script))
    assert.equal(3, code, err)
    assert.matches("stopped: reading the items failed: rows.csv:3", err, 1, true)
  end)

  it("prints a failing item's message once, then where the script raised it", function()
    write_file(script, [[
require("fusebill").each({ 1 }, {}, function() error("no price list for\nregion EU", 0) end)
]])
    local code, _, err = run("--sandbox " .. q(script))
    assert.equal(3, code, err)
    assert.matches("item 1 failed: no price list for\nregion EU\nstack traceback:\n", err, 1, true)
    local _, times = err:gsub("no price list for", "")
    assert.equal(2, times, err)   -- the printed failure and the summary's "failed 1:" line
  end)

  it("is 3 for a journaled run with a failing item, and for its rerun while the item still fails", function()
    write_file(rows, "return { { id = 1, title = 'Dr' }, { id = 2, title = 'Sir' } }")
    local code, _, err = retitle("--journal " .. q(journal))
    assert.equal(3, code, err)
    code, _, err = retitle("--journal " .. q(journal))
    assert.equal(3, code, err)                       -- item 2's latest outcome is still a failure
    code, _, err = retitle("--journal " .. q(journal) .. " --skip-failed")
    assert.equal(3, code, err)                       -- left alone, still failed
  end)

  it("is 0 for a journaled rerun once the failing item's cause is fixed", function()
    write_file(rows, "return { { id = 1, title = 'Dr' }, { id = 2, title = 'Sir' } }")
    local code, _, err = retitle("--journal " .. q(journal))
    assert.equal(3, code, err)
    write_file(rows, "return { { id = 1, title = 'Dr' }, { id = 2, title = 'Mr' } }")   -- the data fixed
    code, _, err = retitle("--journal " .. q(journal))
    assert.equal(0, code, err)
  end)

  it("keeps what the script gives os.exit", function()
    write_file(rows, "return { { id = 2, title = 'Sir' } }")
    write_file(script, RETITLE .. "os.exit(0)\n")
    assert.equal(0, (retitle()))
    write_file(script, RETITLE .. "os.exit(9)\n")
    assert.equal(9, (retitle()))
  end)

  describe("against a sandbox that refuses the key", function()
    local sb
    setup(function() sb = sandbox.start{ args = { "--rate-limit", "none" } } end)
    teardown(function() sb:stop() end)

    it("is 4 when a call was refused, whether the script handled the error or raised it", function()
      local wrong = { FUSEBILL_API_KEY = "MDpvdGhlcg==" }
      local code, out = run(("--base-url %s -e %s"):format(q(sb.url), q(
        "local c, err = require('fusebill').client().customers:get(1) print(c, err and err.kind)")), wrong)
      assert.equal(4, code)
      assert.equal("nil\tauth\n", out)
      local err
      code, out, err = run(("--base-url %s -e %s"):format(q(sb.url),
        q("assert(require('fusebill').client().customers:get(1))")), wrong)
      assert.equal("", out)
      assert.equal(4, code)
      assert.matches("auth %(401%)", err)
      assert.matches("the key sent is not this sandbox's", err)   -- the sandbox's hint reaches the user
    end)

    it("says what is missing when the key or /v1 is left out", function()
      local code, _, err = run(("--base-url %s -e %s"):format(q(sb.url),
        q("assert(require('fusebill').client().customers:get(1))")))
      assert.equal(4, code)                                        -- no key at all
      assert.matches("no Authorization header", err)
      code, _, err = run(("--base-url %s -e %s"):format(q(sb.base),
        q("assert(require('fusebill').client().customers:get(1))")), { FUSEBILL_API_KEY = sb.key })
      assert.equal(1, code)                                        -- a 404: the script's own problem
      assert.matches("API paths start with /v1 %(did you mean /v1/customers/1%?%)", err)
    end)
  end)

  it("is 5 when the daily quota ran out, in a bulk run or a single call", function()
    write_file(rows, "return { { id = 1, title = 'Dr' }, { id = 2, title = 'Mr' }, { id = 3, title = 'Ms' } }")
    local code, _, err = retitle("--sandbox-opt '--daily-limit 3'")   -- update is a GET and a PUT
    assert.equal(5, code, err)
    code = run("--sandbox --sandbox-opt '--daily-limit 1' -e " .. q(
      "local fb = require('fusebill').client() fb.customers:get(1) print(fb.customers:get(1))"))
    assert.equal(5, code)
  end)

  it("is 130 when Ctrl-C interrupted the script", function()
    local cmd = ("env -u FUSEBILL_API_KEY %s --sandbox --sandbox-opt '--latency 30000' -e %s </dev/null "
      .. ">/dev/null 2>&1 & pid=$!; sleep 1.5; kill -INT $pid; wait $pid; echo $?"):format(q(cli.bin),
      q("require('fusebill').client().customers:get(1)"))
    local p = io.popen(cmd)
    local status = p:read("a")
    p:close()
    assert.equal("130\n", status)
  end)

  it("is documented in the README, the man page and --help, every status", function()
    local readme = sandbox.read_file("README.md")
    local table_rows = readme:match("\n## Exit status\n(.-)\n## ")
    local man = sandbox.read_file("core/fusebill.1"):match("%.SH EXIT STATUS\n(.-)\n%.SH ")
    local _, help = run("--help")
    for _, status in ipairs{ "0", "1", "2", "3", "4", "5", "130" } do
      assert.truthy(table_rows:find("\n| " .. status .. " |", 1, true), "README, Exit status: " .. status)
      assert.truthy(man:find("\n.B " .. status .. "\n", 1, true), "man page: " .. status)
      assert.truthy(help:find("%f[%d]" .. status .. " "), "--help: " .. status)
    end
  end)
end)
