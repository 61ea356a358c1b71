-- fusebill --plan FILE and fusebill -m apply FILE against the sandbox: the plan sends no write
-- (the request log shows only reads); after two planned records change, apply writes exactly
-- the plan for the rest, leaves the two, names them and exits 3; every other record ends as a
-- direct run of the script leaves it (a second sandbox with the same seed runs it directly).
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("fusebill --plan and -m apply", function() pending("needs build/fusebill and build/fusebill-sandbox") end)
  return
end
local sandbox = require "sandbox"
local plan = require "fusebill.plan"
local q = sandbox.quote

-- customers retagged with update (read, merge, write), codes renamed with an edit that nulls
-- their description
local SCRIPT = [[
local fusebill = require "fusebill"
local fb = fusebill.client()
local items = {}
for c in fb.customers:list{ page_size = 1000 } do items[#items + 1] = { r = "customers", id = c.id } end
for c in fb.sales_tracking_codes:list{ page_size = 1000 } do items[#items + 1] = { r = "codes", c = c } end
local s = fusebill.each(items, {}, function(i)
  if i.r == "customers" then
    return fb.customers:update(i.id, { customerReference = { reference3 = "SPRING/2026" }, title = "Dr" })
  end
  return fb.sales_tracking_codes:edit({ id = i.c.id, code = i.c.code, name = "Region " .. i.c.code }, i.c)
end)
os.exit(s.ok and 0 or 3)
]]

local ARGS = { "--rate-limit", "none", "--customers", "80", "--codes", "60" }

describe("fusebill --plan and -m apply", function()
  it("plan sends no write; apply writes the plan but two records changed since: named, exit 3", function()
    local sb = sandbox.start{ args = ARGS }
    local direct = sandbox.start{ args = ARGS }
    finally(function() sb:stop(); direct:stop() end)
    local dir = hostrun.tmpdir()
    finally(function() hostrun.rmdir(dir) end)
    local script, ppath = dir .. "/retag.lua", dir .. "/retag.plan"
    hostrun.write(script, SCRIPT)
    local before = hostrun.state(sb)

    local mark = hostrun.log_mark(sb)
    local out, code = hostrun.run(hostrun.cmd(sb, "--plan " .. q(ppath) .. " " .. q(script)))
    assert.equal(0, code, out)
    assert.matches("plan: %d+ items", out)
    assert.matches("plan written to " .. ppath:gsub("%p", "%%%0"), out)
    for _, e in ipairs(sb:log(mark)) do assert.equal("GET", e.method, e.path) end
    assert.same(before, hostrun.state(sb))
    -- the plan: one line per write, readable: identity first, keys sorted, "/" as is
    local n = plan.count(ppath)
    assert.equal(88 + 66, n)
    local text = hostrun.read(ppath)
    assert.matches('^{"resource":"customers","id":1,"changes":{"customerReference%.reference3":%[null,"SPRING/2026"%]',
      text)
    assert.is_nil(text:find("\\/", 1, true))
    assert.matches('\n{"resource":"sales_tracking_codes","id":1,"changes":{"description":%["North America sales",null%],' ..
      '"name":%["North America","Region NA"%]},"before":{"code":"NA","deletable":false,"description":', text)

    -- two planned records change; apply
    local fb = sb:client()
    assert(fb.customers:update(12, { title = "Mr" }))
    assert(fb.sales_tracking_codes:update(9, { name = "renamed by someone else" }))
    local changed = hostrun.state(sb)
    mark = hostrun.log_mark(sb)
    out, code = hostrun.run(hostrun.cmd(sb, "-m apply " .. q(ppath)))
    assert.equal(3, code, out)
    assert.matches("failed customers 12 %(line %d+%): customers 12 changed since the plan was made %(title%): " ..
      "not written", out)
    assert.matches("failed sales_tracking_codes 9 %(line %d+%): [^\n]*%(name%)", out)
    assert.matches("succeeded " .. (n - 2) .. "  failed 2 ", out)
    assert.equal(n - 2, hostrun.puts(sb, mark))

    -- the same script run directly on a twin sandbox: every other record ends the same
    out, code = hostrun.run(hostrun.cmd(direct, q(script)))
    assert.equal(0, code, out)
    local want, got = hostrun.state(direct), hostrun.state(sb)
    for kind, records in pairs(want) do
      for id, rec in pairs(records) do
        if (kind == "customers" and id == 12) or (kind == "codes" and id == 9) then
          assert.same(changed[kind][id], got[kind][id])
        else
          assert.same(rec, got[kind][id], kind .. " " .. id)
        end
      end
    end

    -- apply was journaled: undo takes it back (the two it refused stay as someone left them)
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(ppath .. ".journal")))
    assert.equal(0, code, out)
    local undone = hostrun.state(sb)
    assert.same(changed, undone)
  end)

  it("refuses a plan line that is not a write, naming the line; --plan with --dry-run is a usage error", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none" } }
    finally(function() sb:stop() end)
    local dir = hostrun.tmpdir()
    finally(function() hostrun.rmdir(dir) end)
    local ppath = dir .. "/bad.plan"
    hostrun.write(ppath, '{"resource":"invoices","id":1,"before":{},"body":{"id":1}}\n' ..
      '{"resource":"customers","id":2,"before":{},"body":{"id":3}}\nnot json\n')
    local out, code = hostrun.run(hostrun.cmd(sb, "-m apply " .. q(ppath)))
    assert.equal(3, code, out)
    assert.matches("plan line 1: resource must be one of customers, sales_tracking_codes", out)
    assert.matches("plan line 2: body.id must be the line's id 2, got 3", out)
    assert.matches("plan line 3 is not a JSON object", out)
    out, code = hostrun.run(hostrun.cmd(sb, "--plan " .. q(ppath) .. " --dry-run -e ''"))
    assert.is_true(code ~= 0, out)
    assert.matches("%-%-plan and %-%-dry%-run do not go together", out)
    -- a write outside fusebill.each is planned too, and returns the record as it would be
    local mark = hostrun.log_mark(sb)
    out, code = hostrun.run(hostrun.cmd(sb, "--plan " .. q(ppath) .. " -e " .. q(
      'local c = assert(require("fusebill").client().customers:update(1, { title = "Dr" })) print(c.title)')))
    assert.equal(0, code, out)
    assert.matches("^Dr\n", out)
    assert.equal(1, plan.count(ppath))
    assert.equal(0, hostrun.puts(sb, mark))
  end)
end)
