-- fusebill -m undo against the sandbox: a journaled mistaken run over a few hundred records of
-- every resource (customers with their nested objects, sales tracking codes, product items;
-- updates, and edits that null fields), three records changed by someone else afterwards; undo
-- puts every other record back exactly, leaves the three, names them and exits 3; undoing the
-- undo puts the run back.
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("fusebill -m undo", function() pending("needs build/fusebill and build/fusebill-sandbox") end)
  return
end
local sandbox = require "sandbox"
local journal = require "fusebill.journal"
local q = sandbox.quote

-- The mistake: every customer, code and live product item rewritten; a third of the
-- customers and half of the items with edit, which nulls every field the body leaves out.
local MISTAKE = [[
local fusebill = require "fusebill"
local fb = fusebill.client()
local items = {}
for c in fb.customers:list{ page_size = 1000 } do items[#items + 1] = { r = "customers", id = c.id, status = c.status } end
for c in fb.sales_tracking_codes:list{ page_size = 1000 } do items[#items + 1] = { r = "codes", id = c.id, code = c.code } end
for id = 1, tonumber(arg[1]) do items[#items + 1] = { r = "items", id = id } end
local s = fusebill.each(items, { key = function(i) return i.r .. " " .. i.id end }, function(i)
  if i.r == "customers" then
    if i.id % 3 == 0 then return fb.customers:edit{ id = i.id, status = i.status } end
    return fb.customers:update(i.id, { firstName = "OOPS", customerReference = { reference2 = "MISTAKE" },
      customerAcquisition = { campaign = "oops" } })
  elseif i.r == "codes" then
    if i.id == 1 then assert(fb.customers:update(1, { lastName = "TWICE" })) end   -- a second write
    return fb.sales_tracking_codes:edit{ id = i.id, code = i.code, name = "OOPS " .. i.id }
  end
  local r = fb.purchase_product_items
  local it = r:get(i.id)
  if not it then r = fb.subscription_product_items; it = assert(r:get(i.id)) end
  if it.status == "Deleted" then return "skip" end
  if i.id % 2 == 1 then return r:update(i.id, { name = "OOPS", description = "mistake" }) end
  return r:edit{ id = i.id, reference = it.reference }
end)
os.exit(s.ok and 0 or 3)
]]

local SIZES = { "--customers", "150", "--codes", "100", "--items", "100" }
local N_ITEMS = 108

-- a record's state in `got` equals the one in `want`, kind by kind, except the named ones
local function assert_same_except(want, got, except, label)
  for kind, records in pairs(want) do
    for id, rec in pairs(records) do
      if not (except[kind] and except[kind][id]) then
        assert.same(rec, got[kind][id], label .. ": " .. kind .. " " .. id)
      end
    end
  end
end

describe("fusebill -m undo", function()
  it("puts back every record a journaled run changed, except three changed since: named, exit 3", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", table.unpack(SIZES) } }
    finally(function() sb:stop() end)
    local dir, script = hostrun.script(MISTAKE)
    finally(function() hostrun.rmdir(dir) end)
    local jpath = dir .. "/run.journal"
    local before = hostrun.state(sb)

    local out, code = hostrun.run(hostrun.cmd(sb, "--journal " .. q(jpath) .. " --concurrency 8 " .. q(script) ..
      " " .. N_ITEMS))
    assert.equal(0, code, out)
    assert.matches("fusebill %-m undo " .. jpath:gsub("%p", "%%%0"), out)
    local after_run = hostrun.state(sb)
    assert.equal("OOPS", after_run.customers[1].firstName)
    assert.equal("TWICE", after_run.customers[1].lastName)
    assert.is_nil(after_run.customers[3 * 5].lastName)                 -- nulled by the edit
    assert.is_nil(after_run.codes[7].description)
    -- the journal: one line per write, each with the record before, the body and the answer
    local writes = 0
    for rec in journal.records(jpath) do
      if rec.resource then
        writes = writes + 1
        assert.is_table(rec.before, rec.resource .. " " .. rec.id)
        assert.is_table(rec.body)
        assert.is_table(rec.after)
        assert.is_true(rec.ok)
      end
    end
    assert.is_true(writes > 300, "writes journaled: " .. writes)
    assert.is_nil(hostrun.read(jpath):find(sb.key, 1, true))

    -- someone else, since: a customer, a code and a product item the run had written
    local fb = sb:client()
    assert(fb.customers:update(10, { primaryPhone = "+1 555 0199" }))
    assert(fb.sales_tracking_codes:update(7, { description = "set by someone else" }))
    assert(fb.purchase_product_items:update(11, { description = "set by someone else" }))
    local others = hostrun.state(sb)

    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(jpath)))
    assert.equal(3, code, out)
    assert.matches("failed customers 10 %(line %d+%): customers 10 changed since the run %(primaryPhone%)", out)
    assert.matches("failed sales_tracking_codes 7 %(line %d+%): [^\n]*%(description%)", out)
    assert.matches("failed purchase_product_items 11 %(line %d+%): [^\n]*%(description%)", out)
    assert.matches("succeeded %d+  failed 3 ", out)
    local restored = hostrun.state(sb)
    local three = { customers = { [10] = true }, codes = { [7] = true }, items = { [11] = true } }
    assert_same_except(before, restored, three, "restored")
    assert.same(others.customers[10], restored.customers[10])
    assert.same(others.codes[7], restored.codes[7])
    assert.same(others.items[11], restored.items[11])

    -- undoing the undo puts the run's writes back (the three were not undone: left as they are)
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(jpath .. ".undo")))
    assert.equal(0, code, out)
    local again = hostrun.state(sb)
    assert_same_except(after_run, again, three, "redone")
    assert.same(others.customers[10], again.customers[10])
  end)

  it("resumes: a rerun of a finished undo sends nothing; --force puts back a record changed since", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--customers", "10", "--codes", "10", "--items", "4" } }
    finally(function() sb:stop() end)
    local dir, script = hostrun.script(MISTAKE)
    finally(function() hostrun.rmdir(dir) end)
    local jpath = dir .. "/run.journal"
    local before = hostrun.state(sb)
    local out, code = hostrun.run(hostrun.cmd(sb, "--journal " .. q(jpath) .. " " .. q(script) .. " 12"))
    assert.equal(0, code, out)
    assert(sb:client().customers:update(2, { middleName = "changed since" }))
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(jpath)))
    assert.equal(3, code, out)
    local mark = hostrun.log_mark(sb)
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo " .. q(jpath)))
    assert.equal(3, code, out)                              -- the refused one, refused again
    assert.matches("skipped %d+ items already done in journal", out)
    assert.equal(0, hostrun.puts(sb, mark))
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo --force " .. q(jpath)))
    assert.equal(0, code, out)
    assert.same(before, hostrun.state(sb))
  end)

  it("answers a missing journal and a journal that would undo itself as usage errors", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none" } }
    finally(function() sb:stop() end)
    local out, code = hostrun.run(hostrun.cmd(sb, "-m undo /nonexistent/run.journal"))
    assert.equal(2, code, out)
    assert.matches("cannot read journal /nonexistent/run.journal", out)
    local dir = hostrun.tmpdir()
    finally(function() hostrun.rmdir(dir) end)
    hostrun.write(dir .. "/j", "")
    out, code = hostrun.run(hostrun.cmd(sb, "-m undo --journal " .. q(dir .. "/j") .. " " .. q(dir .. "/j")))
    assert.equal(2, code, out)
    assert.matches("the journal .*/j is the journal itself: give another file", out)
  end)
end)
