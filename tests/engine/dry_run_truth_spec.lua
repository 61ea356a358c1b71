-- Dry run tells the truth: the same script is run with --dry-run and then for real against
-- the same sandbox state, and what the dry run predicted is compared, field by field, with
-- what the real run did (issue 17, item 8): the fields it said would change are exactly the
-- fields that changed, and each holds the predicted value.
local sandbox = require "sandbox"
local cjson = require "cjson"
local diff = require "fusebill.diff"

local build = os.getenv("FUSEBILL_BUILD") or "build"
local q = sandbox.quote

-- Every kind of write: update and edit of each resource, nested merges, a list emptied and
-- one set by type and code, an id and a parent id given as digit strings, a field cleared
-- with fusebill.null, a faithful customer PUT that nulls what it omits, values with "/".
local SCRIPT = [==[
local fusebill = require "fusebill"
local json = require "fusebill.json"
local fb = fusebill.client()
local null = fusebill.null
local ops = {
  { "customers", 1, function(r) return r:update(1, { companyName = "A/B Co",
      customerReference = { reference2 = "R2", salesTrackingCodes = {} } }) end },
  { "customers", 3, function(r) return r:edit{ id = 3, status = "Hold", firstName = "Alan" } end },
  { "customers", 6, function(r) return r:update("6", { primaryEmail = "don@example.com", parentId = "1",
      customerAcquisition = { campaign = "spring/summer" } }) end },
  { "customers", 2, function(r) return r:update(2, { customerReference = { salesTrackingCodes = {
      { type = "Sales Tracking Code 1", code = "EU" }, { id = "4" } } } }) end },
  { "customers", 8, function(r) return r:update(8, { title = null, firstName = "Zoé" }) end },
  { "customers", 7, function(r)
      local c = assert(r:get(7))
      c.lastName, c.currency = "Seven", "USD"
      return r:edit(c)
    end },
  { "sales_tracking_codes", 2, function(r) return r:update(2, { name = "Europa", description = "d/e" }) end },
  { "sales_tracking_codes", 4, function(r) return r:edit{ id = 4, code = "WEB", name = "Web" } end },
  { "purchase_product_items", 1, function(r) return r:edit{ id = "1", reference = "NEW" } end },
  { "subscription_product_items", 4, function(r) return r:update("4", { name = "T", description = null }) end },
}
for i, op in ipairs(ops) do
  local r = fb[op[1]]
  local rec = { i = i, before = assert(r:get(op[2])) }
  local v = assert(op[3](r))
  if fb.dry_run then
    rec.after, rec.changed = v, {}
    for _, c in ipairs(fb:last_meta().changes) do rec.changed[#rec.changed + 1] = c.field end
  else
    rec.after = assert(r:get(op[2]))
  end
  print(json.encode(rec))
end
]==]

-- The system field a write always changes, and nothing else to leave out.
local SYSTEM = { modifiedTimestamp = true, modifiedDate = true }

local function run(sb, extra)
  local script = os.tmpname()
  sandbox.write_file(script, SCRIPT)
  local p = io.popen(("FUSEBILL_API_KEY=%s %s/fusebill --base-url %s --rate-limit none %s %s 2>/dev/null"):format(
    q(sb.key), build, q(sb.url), extra, q(script)))
  local out = p:read("a")
  local _, _, code = p:close()
  os.remove(script)
  assert.equal(0, code, out)
  local recs = {}
  for line in out:gmatch("[^\n]+") do recs[#recs + 1] = cjson.decode(line) end
  return recs
end

local function is_list(v) return type(v) == "table" and (#v > 0 or next(v) == nil) end

-- A predicted list item is right when every key it has holds what the server holds: an
-- item given by type and code is predicted as written, and the server adds its id and name.
local function same(predicted, real)
  if is_list(predicted) and is_list(real) then
    if #predicted ~= #real then return false end
    for i = 1, #predicted do
      for k, v in pairs(predicted[i]) do
        if real[i][k] ~= v then return false end
      end
    end
    return true
  end
  return #diff.compute({ v = predicted }, { v = real }) == 0
end

local function fields(changes)
  local set = {}
  for _, c in ipairs(changes) do
    if not SYSTEM[c.field] then set[#set + 1] = c.field end
  end
  table.sort(set)
  return set
end

describe("dry run", function()
  local sb, dry, real
  setup(function()
    sb = sandbox.start { args = { "--rate-limit", "none" } }
    dry = run(sb, "--dry-run")
    sb:control("POST", "/reset")
    real = run(sb, "")
  end)
  teardown(function() if sb then sb:stop() end end)

  it("ran every write both ways from the same state", function()
    assert.equal(10, #dry)
    assert.equal(#dry, #real)
    for i = 1, #dry do assert.same(dry[i].before, real[i].before) end
  end)

  it("said which fields would change: exactly the fields that changed", function()
    for i = 1, #dry do
      local changed = fields(diff.compute(real[i].before, real[i].after))
      table.sort(dry[i].changed)
      assert.same(changed, dry[i].changed, "write " .. i)
      assert.is_true(#changed > 0, "write " .. i .. " changed nothing")
    end
  end)

  it("predicted each field's new value", function()
    for i = 1, #dry do
      for _, c in ipairs(diff.compute(dry[i].after, real[i].after)) do
        if not SYSTEM[c.field] then
          assert.is_true(same(c.before, c.after), ("write %d, %s: predicted %s, got %s"):format(i, c.field,
            diff.show(c.before), diff.show(c.after)))
        end
      end
    end
  end)
end)
