-- fb.sales_tracking_codes, fb.purchase_product_items, fb.subscription_product_items against
-- the sandbox: the edit calls' success paths and documented errors, update, list, dry run.
local fusebill = require "fusebill"
local sandbox = require "sandbox"

local null = fusebill.null

local function quiet(fn)
  local real = io.stderr
  rawset(io, "stderr", { write = function(self) return self end })
  local ok, a, b = pcall(fn)
  rawset(io, "stderr", real)
  assert(ok, a)
  return a, b
end

describe("tracked resources", function()
  local sb, fb

  setup(function()
    sb = sandbox.start { args = { "--rate-limit", "none" } }
    fb = sb:client()
  end)
  teardown(function()
    if fb then fb:close() end
    if sb then sb:stop() end
  end)
  before_each(function() sb:control("POST", "/reset") end)

  describe("sales_tracking_codes", function()
    local codes
    before_each(function() codes = fb.sales_tracking_codes end)

    it("get returns a code", function()
      local c = assert(codes:get(2))
      assert.equal("EU", c.code)
      assert.equal("Sales Tracking Code 1", c.type)
    end)

    it("edit renames a code", function()
      local c = assert(codes:edit { id = 2, code = "EU", name = "Europe (EMEA)", description = "d" })
      assert.equal("Europe (EMEA)", c.name)
      assert.equal("Europe (EMEA)", assert(codes:get(2)).name)
    end)

    it("edit works on a Retired code", function()
      local c = assert(codes:edit { id = 3, code = "APAC", name = "Asia" })
      assert.equal("Asia", c.name)
      assert.equal("Retired", assert(codes:get(3)).status)
    end)

    it("edit of an unknown id gives the documented 404", function()
      local r, err = codes:edit { id = 9999, code = "X", name = "Y" }
      assert.is_nil(r)
      assert.equal(404, err.status)
      assert.matches("SalesTrackingCode with id 9999 not found.", tostring(err), 1, true)
    end)

    it("requires the id client-side", function()
      local before = #sb:log()
      local r, err = codes:edit { code = "EU", name = "x" }
      assert.is_nil(r)
      assert.equal("id", err.field)
      assert.equal("required", err.rule)
      assert.equal(before, #sb:log())
    end)

    it("update keeps the other PUT fields", function()
      local before = assert(codes:get(1))
      assert(codes:update(1, { name = "N. America" }))
      local after = assert(codes:get(1))
      assert.equal("N. America", after.name)
      assert.equal(before.code, after.code)
      assert.equal(before.description, after.description)
      assert.equal(before.type, after.type)
    end)

    it("update refuses fields a PUT cannot change", function()
      local r, err = codes:update(1, { status = "Retired" })
      assert.is_nil(r)
      assert.equal("read_only", err.rule)
      assert.equal("status", err.field)
    end)

    it("list filters by type and code", function()
      local found = {}
      for c in codes:list { type = "Sales Tracking Code 1", code = "EU" } do found[#found + 1] = c end
      assert.equal(1, #found)
      assert.equal(2, found[1].id)
      local all = 0
      for _ in codes:list { page_size = 4 } do all = all + 1 end
      assert.is_true(all >= 6)
    end)
  end)

  describe("purchase_product_items", function()
    local items
    before_each(function() items = fb.purchase_product_items end)

    it("edit changes reference, name and description", function()
      local it_ = assert(items:edit { id = 1, reference = "LIC-1B", name = "License", description = "seat" })
      assert.equal("LIC-1B", it_.reference)
      local back = assert(items:get(1))
      assert.equal("License", back.name)
      assert.equal("seat", back.description)
    end)

    it("edit of a Deleted item gives 400", function()
      local r, err = items:edit { id = 3, reference = "LIC-OLD" }
      assert.is_nil(r)
      assert.equal(400, err.status)
      assert.matches("Cannot edit a deleted purchase product item", tostring(err), 1, true)
    end)

    it("a reference in use for the same product gives 400", function()
      local r, err = items:edit { id = 2, reference = "SN-1" }
      assert.is_nil(r)
      assert.equal(400, err.status)
      assert.matches("already in use", tostring(err), 1, true)
    end)

    it("unknown id gives the documented 404", function()
      local r, err = items:edit { id = 9999, reference = "X" }
      assert.is_nil(r)
      assert.equal(404, err.status)
      assert.matches("ProductItem with id 9999 not found.", tostring(err), 1, true)
    end)

    it("requires reference and id client-side", function()
      local before = #sb:log()
      local r, err = items:edit { id = 1, name = "x" }
      assert.is_nil(r)
      assert.equal("reference", err.field)
      assert.equal("required", err.rule)
      r, err = items:edit { reference = "x" }
      assert.is_nil(r)
      assert.equal("id", err.field)
      assert.equal(before, #sb:log())
    end)

    it("limits name to 100 characters", function()
      local r, err = items:edit { id = 1, reference = "LIC-1", name = ("ñ"):rep(101) }
      assert.is_nil(r)
      assert.equal("name", err.field)
      assert.equal("max_length", err.rule)
      assert.equal(101, err.length)
    end)

    it("update keeps the reference", function()
      assert(items:update(1, { name = "Renamed" }))
      local back = assert(items:get(1))
      assert.equal("Renamed", back.name)
      assert.equal("LIC-1", back.reference)
    end)
  end)

  describe("subscription_product_items", function()
    local items
    before_each(function() items = fb.subscription_product_items end)

    it("edit and get", function()
      assert(items:edit { id = 4, reference = "SN-1X", name = "Thermostat" })
      local back = assert(items:get(4))
      assert.equal("SN-1X", back.reference)
      assert.equal("Thermostat", back.name)
    end)

    it("edit of a Deleted item gives 400", function()
      local r, err = items:edit { id = 6, reference = "SN-OLD" }
      assert.is_nil(r)
      assert.equal(400, err.status)
      assert.matches("Cannot edit a deleted subscription product item", tostring(err), 1, true)
    end)

    it("a reference in use for the same product gives 400", function()
      local r, err = items:edit { id = 5, reference = "LIC-1" }
      assert.is_nil(r)
      assert.equal(400, err.status)
    end)

    it("the reference of a Deleted item may be reused", function()
      assert(items:edit { id = 5, reference = "SN-OLD" })
    end)

    it("unknown id gives the documented 404", function()
      local r, err = items:edit { id = 9999, reference = "X" }
      assert.is_nil(r)
      assert.equal(404, err.status)
      assert.matches("SubscriptionProductItem with id 9999 not found.", tostring(err), 1, true)
    end)

    it("list walks a subscription product's items", function()
      local refs = {}
      for i in items:list { subscription_product_id = 1, page_size = 2 } do refs[#refs + 1] = i.reference end
      table.sort(refs)
      assert.is_true(#refs >= 2)
      assert.has_error(function() items:list {} end)
    end)

    it("update clears the description with fusebill.null", function()
      assert(items:update(4, { description = "temp" }))
      assert.equal("temp", assert(items:get(4)).description)
      assert(items:update(4, { description = null }))
      assert.is_nil(assert(items:get(4)).description)
      assert.equal("SN-1", assert(items:get(4)).reference)
    end)
  end)

  describe("dry run", function()
    it("sends no write for any resource and returns the would-be object", function()
      local dry = fusebill.new { api_key = sb.key, base_url = sb.url, rate_limit = "none", dry_run = true }
      local writes = sb:writes()
      local after, second = quiet(function()
        return dry.sales_tracking_codes:update(2, { name = "Europa" })
      end)
      assert.is_nil(second)
      assert.equal("Europa", after.name)
      local changes = dry:last_meta().changes
      assert.equal(1, #changes)
      assert.equal("name", changes[1].field)
      after = quiet(function() return dry.purchase_product_items:edit { id = 1, reference = "NEW" } end)
      assert.equal("NEW", after.reference)
      assert.is_nil(after.name)                  -- an omitted PUT field is cleared: the diff shows it
      local fields = {}
      for _, c in ipairs(dry:last_meta().changes) do fields[#fields + 1] = c.field end
      table.sort(fields)
      assert.same({ "name", "reference" }, fields)
      after = quiet(function() return dry.subscription_product_items:update(4, { name = "T" }) end)
      assert.equal("T", after.name)
      assert.equal(writes, sb:writes())
      dry:close()
    end)
  end)
end)
