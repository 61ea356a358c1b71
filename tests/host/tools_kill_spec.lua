-- fusebill -m apply and -m undo killed with SIGKILL at random points, then rerun: every write
-- is made exactly once over all the runs (none redone, none skipped) and the end state is the
-- exact one. The journal may end in the middle of an item (its PUT sent, its line not yet
-- written): the rerun finds the record already as the write leaves it and takes it as done.
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("apply and undo killed", function() pending("needs build/fusebill and build/fusebill-sandbox") end)
  return
end
local sandbox = require "sandbox"
local journal = require "fusebill.journal"
local plan = require "fusebill.plan"
local q = sandbox.quote

local SCRIPT = [[
local fusebill = require "fusebill"
local fb = fusebill.client()
local items = {}
for c in fb.customers:list{ page_size = 1000 } do items[#items + 1] = { r = "customers", id = c.id } end
for c in fb.sales_tracking_codes:list{ page_size = 1000 } do items[#items + 1] = { r = "codes", c = c } end
local s = fusebill.each(items, {}, function(i)
  if i.r == "customers" then return fb.customers:update(i.id, { companyName = "Killed Co " .. i.id }) end
  return fb.sales_tracking_codes:edit({ id = i.c.id, code = i.c.code, name = "Killed " .. i.c.id }, i.c)
end)
os.exit(s.ok and 0 or 3)
]]

local ARGS = { "--rate-limit", "none", "--latency", "5", "--customers", "40", "--codes", "200" }

local function items_recorded(path)
  local _, info = journal.write_offsets(path)
  return info.records
end

-- runs cmd in the background three times, each killed with SIGKILL once its journal holds a
-- random number of item lines (increasing), then once to the end; returns that last output
local function kill_and_finish(cmd, jpath, n)
  local at = 0
  for _ = 1, 3 do
    at = math.random(at + 5, at + n // 4)
    local pid, p = hostrun.spawn(cmd)
    for _ = 1, 1000 do
      if items_recorded(jpath) >= at then break end
      os.execute("sleep 0.01")
    end
    os.execute("kill -9 " .. pid)
    p:close()
  end
  assert.is_true(items_recorded(jpath) < n, "the kills came before the end")
  return hostrun.run(cmd)
end

-- the sandbox's state, and a plan of SCRIPT made against it (in a new folder)
local function planned(sb)
  local dir, script = hostrun.script(SCRIPT)
  local before = hostrun.state(sb)
  local ppath = dir .. "/s.plan"
  local out, code = hostrun.run(hostrun.cmd(sb, "--plan " .. q(ppath) .. " " .. q(script)))
  assert.equal(0, code, out)
  return before, ppath, dir, script
end

describe("apply and undo killed with SIGKILL", function()
  it("are rerun to the end with every write made once and the exact end state", function()
    local seed = os.time()
    math.randomseed(seed)
    local sb = sandbox.start{ args = ARGS }
    local twin = sandbox.start{ args = ARGS }
    finally(function() sb:stop(); twin:stop() end)
    local before, ppath, dir, script = planned(sb)
    finally(function() hostrun.rmdir(dir) end)
    local n = plan.count(ppath)
    assert.equal(48 + 206, n)

    local mark = hostrun.log_mark(sb)
    local out, code = kill_and_finish(hostrun.cmd(sb, "--concurrency 4 -m apply " .. q(ppath), true),
      ppath .. ".journal", n)
    assert.equal(0, code, "seed " .. seed .. "\n" .. out)
    assert.equal(n, hostrun.puts(sb, mark), "seed " .. seed)
    out, code = hostrun.run(hostrun.cmd(twin, q(script)))
    assert.equal(0, code, out)
    assert.same(hostrun.state(twin), hostrun.state(sb), "seed " .. seed)

    mark = hostrun.log_mark(sb)
    out, code = kill_and_finish(hostrun.cmd(sb, "--concurrency 4 -m undo " .. q(ppath .. ".journal"), true),
      ppath .. ".journal.undo", n)
    assert.equal(0, code, "seed " .. seed .. "\n" .. out)
    assert.equal(n, hostrun.puts(sb, mark), "seed " .. seed)
    assert.same(before, hostrun.state(sb), "seed " .. seed)
  end)

  it("take a write found made (killed after sending, before its line) as done, and still undo it", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--customers", "2", "--codes", "4" } }
    finally(function() sb:stop() end)
    local before, ppath, dir = planned(sb)
    finally(function() hostrun.rmdir(dir) end)
    -- the crash window, made by hand: code 3's write reaches the server, nothing is journaled
    local fb = sb:client()
    local c3 = assert(fb.sales_tracking_codes:get(3))
    assert(fb.sales_tracking_codes:edit{ id = 3, code = c3.code, name = "Killed 3" })
    local mark = hostrun.log_mark(sb)
    local out, code = hostrun.run(hostrun.cmd(sb, "-m apply " .. q(ppath)))
    assert.equal(0, code, out)
    assert.equal(plan.count(ppath) - 1, hostrun.puts(sb, mark))
    local recovered = 0
    for rec in journal.records(ppath .. ".journal") do
      if rec.recovered then
        recovered = recovered + 1
        assert.equal(3, rec.id)
      end
    end
    assert.equal(1, recovered)
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(ppath .. ".journal")))
    assert.equal(0, code, out)
    assert.same(before, hostrun.state(sb))
  end)
end)
