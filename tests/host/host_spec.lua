-- The host program behaves like lua5.4 for scripts (arg, -e, -l, exit status,
-- tracebacks, LUA_INIT, stdin) and handles its own options without ever showing
-- the API key.
local sandbox = require "sandbox"

local cli = require "cli"

local bin, q, run = cli.bin, cli.q, cli.run
local write_file = sandbox.write_file

describe("host: like lua5.4", function()
  local script
  before_each(function()
    script = os.tmpname()
  end)
  after_each(function() os.remove(script) end)

  it("passes arguments in the arg table, negative indices for what came before", function()
    write_file(script, "print(#arg, arg[0] == ..., arg[1], arg[2], arg[-1], arg[-2] ~= nil, select('#', ...))")
    -- `...` is the script's arguments, as with lua5.4
    write_file(script, "local a, b = ...\nprint(#arg, arg[1], arg[2], a, b, arg[-1], arg[-3] ~= nil)")
    local code, out = run("-e 'x=1' " .. q(script) .. " one two")
    assert.equal(0, code)
    assert.equal("2\tone\ttwo\tone\ttwo\tx=1\ttrue\n", out)
  end)

  it("keeps options after the script name for the script", function()
    write_file(script, "print(table.concat(arg, ' '))")
    local code, out = run(q(script) .. " --sandbox -e -v --help")
    assert.equal(0, code)
    assert.equal("--sandbox -e -v --help\n", out)
  end)

  it("runs -e chunks and -l libraries in order", function()
    local code, out = run("-l s=string -e 'print(s.rep(\"ab\", 2))' -l cjson -e 'print(cjson.encode({1}))'")
    assert.equal(0, code)
    assert.equal("abab\n[1]\n", out)
  end)

  it("preloads cjson, cjson.safe and fusebill", function()
    local code, out = run("-e 'print(type(require\"cjson.safe\".decode), type(require\"fusebill\".new))'",
      { FUSEBILL_API_KEY = "dGVzdDp0ZXN0" })
    assert.equal(0, code)
    assert.equal("function\tfunction\n", out)
  end)

  it("exits with os.exit's status, 1 after an error, 0 otherwise", function()
    assert.equal(7, (run("-e 'os.exit(7)'")))
    assert.equal(1, (run("-e 'os.exit(false)'")))
    assert.equal(0, (run("-e 'os.exit(true)'")))
    assert.equal(1, (run("-e 'error(\"x\")'")))
    assert.equal(0, (run("-e 'x = 1'")))
  end)

  it("prints errors with a traceback on stderr", function()
    write_file(script, "local function inner() error('deliberate failure') end\ninner()\n")
    local code, out, err = run(q(script))
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("deliberate failure", err)
    assert.matches("stack traceback:", err)
    assert.matches("in local 'inner'", err)
  end)

  it("reports a syntax error in the script with its name", function()
    write_file(script, "x = = 1")
    local code, _, err = run(q(script))
    assert.equal(1, code)
    assert.matches(script:match("[^/]+$"), err, 1, true)
    assert.matches("unexpected symbol", err)
  end)

  it("runs stdin for '-' and when stdin is not a terminal", function()
    local code, out = run("- a b", nil, "print(arg[1], arg[2], ...)")
    assert.equal(0, code)
    assert.equal("a\tb\ta\tb\n", out)
    code, out = run("", nil, "print('from stdin')")
    assert.equal(0, code)
    assert.equal("from stdin\n", out)
  end)

  it("honours LUA_INIT, and -E ignores it", function()
    local _, out = run("-e 'print(init_ran)'", { LUA_INIT = "init_ran = 'yes'" })
    assert.equal("yes\n", out)
    _, out = run("-E -e 'print(init_ran)'", { LUA_INIT = "init_ran = 'yes'" })
    assert.equal("nil\n", out)
    _, out = run("-e 'print(v)'", { LUA_INIT_5_4 = "v = 54", LUA_INIT = "v = 0" })
    assert.equal("54\n", out)
  end)

  it("prints the version for -v and continues with -e", function()
    local code, out = run("-v -e 'print(\"after\")'")
    assert.equal(0, code)
    assert.matches("^fusebill %d+%.%d+%.%d+  Lua 5%.4", out)
    assert.matches("after\n$", out)
  end)

  it("answers unknown options and a missing -e value in one line with status 2", function()
    local code, _, err = run("--no-such-option")
    assert.equal(2, code)
    assert.matches("^[^\n]*unknown option %-%-no%-such%-option[^\n]*\n$", err)
    code, _, err = run("-e")
    assert.equal(2, code)
    assert.matches("^[^\n]*%-e needs a Lua statement[^\n]*\n$", err)
  end)

  it("--help lists every option, --version names fusebill, Lua and libcurl", function()
    local code, out = run("--help")
    assert.equal(0, code)
    for _, opt in ipairs{ "-e stat", "-l mod", "-i", "-v", "-E", "--base-url", "--key-file", "--api-key",
                          "--sandbox", "--sandbox-opt", "--dry-run", "--journal", "--concurrency",
                          "--rate-limit", "--retries", "--timeout", "--connect-timeout", "--cacert",
                          "--verbose", "--version" } do
      assert.truthy(out:find(opt, 1, true), opt .. " missing from --help")
    end
    code, out = run("--version")
    assert.equal(0, code)
    assert.matches("^fusebill %S+ %(Lua 5%.4%.%d+, libcurl %S+%)\n$", out)
  end)

  it("checks option values", function()
    local code, _, err = run("--concurrency zero -e 'x=1'")
    assert.equal(2, code)
    assert.matches("%-%-concurrency must be a whole number", err)
    code, _, err = run("--timeout")
    assert.equal(2, code)
    assert.matches("%-%-timeout needs a value", err)
  end)
end)

describe("host: fusebill options", function()
  local sb, keyfile
  local secret = "c2VjcmV0OnRlc3RrZXk="   -- deliberately not the sandbox's key

  setup(function()
    sb = sandbox.start{ args = { "--rate-limit", "none" } }
    keyfile = os.tmpname()
  end)
  teardown(function()
    if sb then sb:stop() end
    os.remove(keyfile)
  end)

  it("hands the options to fusebill.client() under the fusebill.new names", function()
    write_file(keyfile, sb.key .. "\n")
    local code, out, err = run(("--key-file %s --base-url %s --timeout 7 --connect-timeout 3 --retries 4 " ..
      "--rate-limit 600 --concurrency 5 --dry-run --journal /tmp/j.jsonl -e %s"):format(q(keyfile), q(sb.url),
      q("require('fusebill') local o = require('fusebill.core').host_options() " ..
        "print(o.base_url, o.api_key == io.open('" .. keyfile .. "'):read('l'), o.timeout, " ..
        "o.connect_timeout, o.retry.max_attempts, o.rate_limit, o.concurrency, o.dry_run, o.journal, o.sandbox)")))
    assert.equal(0, code, err)
    assert.equal(sb.url .. "\ttrue\t7.0\t3.0\t4\t600\t5\ttrue\t/tmp/j.jsonl\tnil\n", out)
  end)

  it("talks to the API with the key from the environment", function()
    local code, out, err = run(("--base-url %s -e %s"):format(q(sb.url),
      q("local c = assert(require('fusebill').client().customers:get(1)) print(c.id)")),
      { FUSEBILL_API_KEY = sb.key })
    assert.equal(0, code, err)
    assert.equal("1\n", out)
  end)

  it("never shows the key, not with --verbose, not in errors", function()
    write_file(keyfile, secret .. "\n")
    local code, out, err = run(("--verbose --key-file %s --base-url %s -e %s"):format(q(keyfile), q(sb.url),
      q("local fb = require('fusebill').client() local c, e = fb.customers:get(1) print(e) " ..
        "print(require('host.pretty').format(e)) error(e)")))
    assert.equal(4, code)                             -- the key was refused
    assert.matches("auth", out .. err)                -- the 401 did happen and was reported
    assert.is_nil((out .. err):find(secret, 1, true))
    assert.is_nil((out .. err):find("c2VjcmV0", 1, true))
    -- and the API key passed on the command line gets a warning but is not echoed either
    code, out, err = run(("--verbose --api-key %s --base-url %s -e %s"):format(q(secret), q(sb.url),
      q("print(require('fusebill').client().customers:get(1))")))
    assert.equal(4, code)                             -- ended normally, but the key was refused
    assert.matches("visible", err)
    assert.is_nil((out .. err):find(secret, 1, true))
  end)

  it("starts the in-process sandbox with neither key nor base URL, and says so once", function()
    local code, out, err = run("-e " .. q("local fb = require('fusebill').client() " ..
      "print(assert(fb.customers:get(1)).id, require('fusebill.core').host_options().sandbox)"))
    assert.equal(0, code, err)
    assert.equal("1\ttrue\n", out)
    local _, n = err:gsub("in%-process sandbox", "")
    assert.equal(1, n)
  end)

  it("starts no sandbox for a script that only reads and writes CSV, and one when it needs the API", function()
    local sheet = os.tmpname()
    write_file(sheet, "id,name\n1,\"Ada, Countess\"\n")
    local csv_only = "local csv = require('fusebill.csv') " ..
      "local w = csv.writer(io.stdout, { columns = { 'name' }, crlf = false }) " ..
      "for r in csv.rows(" .. ("%q"):format(sheet) .. ", { header = true }) do w:row(r) end w:close()"
    local code, out, err = run("-e " .. q(csv_only))
    assert.equal(0, code, err)
    assert.equal('name\n"Ada, Countess"\n', out)
    assert.equal("", err)
    -- the API after CSV: the sandbox starts then, and the client runs against it
    code, out, err = run("-e " .. q(csv_only .. " print(require('fusebill').client().customers:get(1).id)"))
    os.remove(sheet)
    assert.equal(0, code, err)
    assert.matches("\n1\n$", out)
    assert.matches("in%-process sandbox", err)
  end)

  it("-i shows one banner with the version, and the sandbox notice names the program", function()
    local code, out, err = run("-i", nil, "print(7)\n")
    assert.equal(0, code, err)
    local _, versions = out:gsub("fusebill " .. require("fusebill").VERSION:gsub("%p", "%%%0"), "")
    assert.equal(1, versions, out)
    assert.matches("\n7\n", out)
    assert.matches("^[^\n]*fusebill: no API key or %-%-base%-url given", err)
    assert.is_nil(err:find("(null)", 1, true))
  end)

  it("starts nothing for scripts that never require fusebill", function()
    local code, out, err = run("-e 'print(1)'")
    assert.equal(0, code)
    assert.equal("1\n", out)
    assert.equal("", err)
  end)

  it("maps libcurl only once a script requires fusebill, so plain scripts start like lua5.4", function()
    local probe = "local function curl() for l in io.lines('/proc/self/maps') do " ..
      "if l:find('libcurl', 1, true) then return 'curl' end end return 'none' end "
    local code, out, err = run("-e " .. q(probe .. "print(curl())"))
    assert.equal(0, code, err)
    assert.equal("none\n", out)
    code, out, err = run("--base-url http://127.0.0.1:9/v1 -e " .. q(probe .. "require 'fusebill' print(curl())"),
      { FUSEBILL_API_KEY = "MDpzYW5kYm94" })
    assert.equal(0, code, err)
    assert.equal("curl\n", out)
  end)

  it("says which file is missing when the engine plugin cannot be found", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. q(dir) .. " && cp " .. q(bin) .. " " .. q(dir) .. "/fusebill"))
    local p = io.popen("env -u FUSEBILL_API_KEY " .. q(dir .. "/fusebill") ..
      " --base-url http://127.0.0.1:9/v1 -e " .. q("require 'fusebill'") .. " 2>&1")
    local out = p:read("a")
    local _, _, code = p:close()
    os.execute("rm -rf " .. q(dir))
    assert.equal(1, code)
    assert.matches("cannot load the fusebill engine: cannot find fusebill%-host%.so", out)
  end)

  it("--sandbox passes --sandbox-opt through to the sandbox", function()
    local code, out, err = run("--sandbox --sandbox-opt '--rate-limit 7/60s' -e " ..
      q("local fb = require('fusebill').client() fb.customers:get(1) " ..
        "print(fb:last_meta().headers['x-rate-limit-limit-minute'])"))
    assert.equal(0, code, err)
    assert.equal("7\n", out)
    local _
    code, _, err = run("--sandbox --sandbox-opt '--no-such-sandbox-option' -e 'x=1'")
    assert.equal(2, code)
    assert.matches("^[^\n]*%-%-sandbox%-opt: unknown option %-%-no%-such%-sandbox%-option[^\n]*\n$", err)
  end)

  it("rejects a missing key file", function()
    local code, _, err = run("--key-file /nonexistent/key -e 'x=1'")
    assert.equal(2, code)
    assert.equal("--key-file /nonexistent/key: cannot read it (No such file or directory)",
      err:match("^[^:]*: (.-)\n$"))
  end)
end)
