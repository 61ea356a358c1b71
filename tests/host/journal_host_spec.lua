-- A journaled bulk run in the host, against the sandbox: a rerun skips what is done without a
-- request, redoes what its input changed (the journal keys an item by its input and each write
-- by the change it makes); a journal that cannot be written (a file size limit, /dev/full)
-- stops the run at once with a clear error and a non-zero exit, and the rerun finishes it.
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("journaled runs in the host", function() pending("needs build/fusebill and build/fusebill-sandbox") end)
  return
end
local sandbox = require "sandbox"
local journal = require "fusebill.journal"
local cjson = require "cjson"
local q = sandbox.quote

-- names every code from a JSON file of { id, name } (the input), or TAG .. id without one
local SCRIPT = [[
local fusebill = require "fusebill"
local fb = fusebill.client()
local tag, file = arg[1], arg[2]
local items = {}
if file then
  local f = assert(io.open(file))
  items = require("cjson").decode(f:read("a"))
  f:close()
else
  for c in fb.sales_tracking_codes:list{ page_size = 1000 } do items[#items + 1] = c end
end
local s = fusebill.each(items, {}, function(c)
  return fb.sales_tracking_codes:update(c.id, { name = c.name and file and c.name or (tag .. " " .. c.id) })
end)
print("SUMMARY", s.succeeded, s.failed, s.skipped_journal)
os.exit(s.ok and 0 or 3)
]]

local function counts(sb, since)
  local puts, gets = 0, 0
  for _, e in ipairs(sb:log(since)) do
    if e.method == "PUT" then puts = puts + 1 end
    if e.method == "GET" and e.path:match("/SalesTrackingCodes/%d+$") then gets = gets + 1 end
  end
  return puts, gets
end

describe("journaled runs in the host", function()
  local sb, dir, script, jpath
  before_each(function()
    sb = sandbox.start{ args = { "--rate-limit", "none", "--codes", "120" } }
    dir = hostrun.tmpdir()
    script, jpath = dir .. "/name.lua", dir .. "/run.journal"
    hostrun.write(script, SCRIPT)
  end)
  after_each(function()
    sb:stop()
    hostrun.rmdir(dir)
  end)

  local function run(args)
    return hostrun.run(hostrun.cmd(sb, "--journal " .. q(jpath) .. " " .. q(script) .. " " .. args))
  end

  it("reruns without a request for what is done, and redoes everything for other arguments", function()
    local out, code = run("SPRING")
    assert.equal(0, code, out)
    assert.matches("SUMMARY\t126\t0\t0", out)
    local mark = hostrun.log_mark(sb)
    out, code = run("SPRING")
    assert.equal(0, code, out)
    assert.matches("SUMMARY\t0\t0\t126", out)
    -- the items (records from a list) changed, so each ran again; update found its change
    -- made in the journal before reading the record: no GET of a record, no PUT
    assert.same({ 0, 0 }, { counts(sb, mark) })
    mark = hostrun.log_mark(sb)
    out, code = run("SUMMER")
    assert.equal(0, code, out)
    assert.matches("SUMMARY\t126\t0\t0", out)
    assert.equal(126, (counts(sb, mark)))
    assert.equal("SUMMER 7", sb:client().sales_tracking_codes:get(7).name)
  end)

  it("redoes exactly the items whose input changed", function()
    local input = {}
    for id = 1, 40 do input[id] = { id = id, name = "first " .. id } end
    local file = dir .. "/input.json"
    hostrun.write(file, cjson.encode(input))
    local out, code = run("x " .. q(file))
    assert.equal(0, code, out)
    input[5].name, input[30].name = "fixed 5", "fixed 30"
    hostrun.write(file, cjson.encode(input))
    local mark = hostrun.log_mark(sb)
    out, code = run("x " .. q(file))
    assert.equal(0, code, out)
    assert.matches("SUMMARY\t2\t0\t38", out)
    assert.equal(2, (counts(sb, mark)))
    assert.equal("fixed 30", sb:client().sales_tracking_codes:get(30).name)
  end)

  it("stops at once when the journal cannot be written (a file size limit), and the rerun finishes", function()
    -- 64 blocks of 512 bytes: room for a few dozen items; SIGXFSZ ignored, so the write fails
    local cmd = "trap '' XFSZ; ulimit -f 64; " .. hostrun.cmd(sb, "--concurrency 4 --journal " .. q(jpath) .. " " ..
      q(script) .. " FULL", true)
    local mark = hostrun.log_mark(sb)
    local out, code = hostrun.run("sh -c " .. q(cmd))
    assert.is_true(code ~= 0, out)
    assert.matches("fusebill.each: cannot write journal " .. jpath:gsub("%p", "%%%0") .. ": File too large; " ..
      "the run stopped at once", out)
    assert.matches("stopped: cannot write journal", out)
    local _, info = journal.write_offsets(jpath)
    local sent = counts(sb, mark)
    assert.is_true(info.writes > 5 and info.writes < 120, "writes journaled: " .. info.writes)
    -- at once: no more writes went out than the journal holds plus those in flight
    assert.is_true(sent <= info.writes + 4, ("%d sent, %d journaled"):format(sent, info.writes))
    mark = hostrun.log_mark(sb)
    out, code = run("FULL")
    assert.equal(0, code, out)
    local redone = counts(sb, mark)
    assert.is_true(redone >= 126 - sent and redone <= 126 - info.writes, ("%d redone"):format(redone))
    for c in sb:client().sales_tracking_codes:list{ page_size = 1000 } do assert.equal("FULL " .. c.id, c.name) end
  end)

  it("refuses a journal on a full device before sending anything", function()
    if not io.open("/dev/full", "rb") then return end
    local mark = hostrun.log_mark(sb)
    local out, code = hostrun.run(hostrun.cmd(sb, "--journal /dev/full " .. q(script) .. " X"))
    assert.is_true(code ~= 0, out)
    assert.matches("cannot open journal /dev/full: No space left on device", out)
    assert.equal(0, (counts(sb, mark)))
  end)

  it("journals a write fn makes from a coroutine of its own, so undo puts it back", function()
    local own = dir .. "/own.lua"
    hostrun.write(own, [[
local fusebill = require "fusebill"
local fb = fusebill.client()
fusebill.each({ 3, 4 }, { concurrency = 2 }, function(id)
  -- a generator the script wrote itself: its writes are the item's
  local rename = coroutine.wrap(function() coroutine.yield(fb.sales_tracking_codes:update(id, { name = "OWN" })) end)
  return rename()
end)
]])
    local before = sb:client().sales_tracking_codes:get(3).name
    local out, code = hostrun.run(hostrun.cmd(sb, "--journal " .. q(jpath) .. " " .. q(own)))
    assert.equal(0, code, out)
    assert.equal("OWN", sb:client().sales_tracking_codes:get(3).name)
    assert.equal(2, select(2, journal.write_offsets(jpath)).writes)
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(jpath)))
    assert.equal(0, code, out)
    assert.equal(before, sb:client().sales_tracking_codes:get(3).name)
  end)
end)
