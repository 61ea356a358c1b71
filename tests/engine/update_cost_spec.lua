-- What an edit costs in requests, read from the sandbox's request log: update(obj, changes)
-- merges into an object already read and sends one PUT (no GET); an update or
-- edit{skip_unchanged} that would change nothing sends nothing (fb:last_meta().unchanged);
-- update(id, changes) and update(obj, changes) leave the same state behind.
local fusebill = require "fusebill"
local sandbox = require "sandbox"

-- the requests the sandbox logged after the first `from`, as "METHOD path"
local function sent(sb, from)
  local out = {}
  for i, e in ipairs(sb:log()) do
    if i > from then out[#out + 1] = e.method .. " " .. e.path end
  end
  return out
end

-- every customer of a state dump by id, without the timestamp a PUT moves
local function customers_of(state)
  local by_id = {}
  for _, c in ipairs(state.customers) do
    c.modifiedTimestamp = nil
    by_id[c.id] = c
  end
  return by_id
end

describe("what an edit sends", function()
  local sb, fb
  before_each(function()
    sb = sandbox.start{ args = { "--rate-limit", "none" } }
    fb = sb:client()
  end)
  after_each(function() sb:stop() end)

  describe("update(obj, changes)", function()
    it("merges into the object as read and sends one PUT, no GET", function()
      local c = assert(fb.customers:get(1))
      local from = #sb:log()
      local after = assert(fb.customers:update(c, { companyName = "Acme" }))
      assert.same({ "PUT /v1/customers" }, sent(sb, from))
      assert.equal("Acme", after.companyName)
      assert.equal("Lovelace", after.lastName)
      assert.equal("R1-1", after.customerReference.reference1)
      assert.equal("NA", after.customerReference.salesTrackingCodes[1].code)
      assert.equal(1, fb:last_meta().attempts)
    end)

    it("sends nothing when the merge changes nothing, and says so in fb:last_meta()", function()
      local c = assert(fb.customers:get(1))
      local from = #sb:log()
      local got, err = fb.customers:update(c, { firstName = "Ada", customerReference = { reference1 = "R1-1" } })
      assert.is_nil(err)
      assert.equal(c, got)                     -- the object given, alone like every success
      assert.same({}, sent(sb, from))
      local meta = fb:last_meta()
      assert.is_true(meta.unchanged)
      assert.equal(0, meta.attempts)
      assert.equal("PUT", meta.method)
    end)

    it("compares as JSON does: 7 and 7.0, null and absent, a nested object, a list item by its keys", function()
      local c = assert(fb.customers:update(1, { parentId = 2 }))
      local from = #sb:log()
      for _, changes in ipairs {
        { parentId = 2.0 },
        { middleName = fusebill.null },                       -- null, and read as absent
        { customerAcquisition = { source = "google" } },      -- nested, the rest kept
        { customerReference = { salesTrackingCodes = { { type = "Sales Tracking Code 1", code = "NA" } } } },
      } do
        assert.equal(c, assert(fb.customers:update(c, changes)))
        assert.is_true(fb:last_meta().unchanged)
      end
      assert.same({}, sent(sb, from))
      -- and a real change is sent
      assert(fb.customers:update(c, { customerReference = { reference2 = "X" } }))
      assert.is_nil(fb:last_meta().unchanged)
      assert.same({ "PUT /v1/customers" }, sent(sb, from))
    end)

    it("with an id reads first, and sends only that GET when nothing changes", function()
      local from = #sb:log()
      local c = assert(fb.customers:update(1, { firstName = "Ada" }))
      assert.same({ "GET /v1/customers/1" }, sent(sb, from))
      assert.equal("Ada", c.firstName)
      local meta = fb:last_meta()
      assert.is_true(meta.unchanged)
      assert.equal("GET", meta.method)
      assert.equal(200, meta.status)
    end)

    it("writes over another writer's change made after the read; fresh = true reads first", function()
      local stale = assert(fb.customers:get(6))
      local other = sb:client()
      assert(other.customers:update(6, { title = "Dr" }))         -- someone else, meanwhile
      -- the trade update(obj) makes: the PUT replaces the record with the object as read
      assert(fb.customers:update(stale, { companyName = "TAOCP" }))
      assert.is_nil(assert(fb.customers:get(6)).title)
      assert(other.customers:update(6, { title = "Dr" }))
      local from = #sb:log()
      local after = assert(fb.customers:update(stale, { companyName = "TAOCP 2" }, { fresh = true }))
      assert.same({ "GET /v1/customers/6", "PUT /v1/customers" }, sent(sb, from))
      assert.equal("Dr", after.title)
      assert.equal("TAOCP 2", after.companyName)
    end)

    it("refuses a table made by hand, which would null every field it lacks", function()
      local from = #sb:log()
      assert.has_error(function() fb.customers:update({ id = 1, status = "Active" }, { firstName = "A" }) end,
        "customers:update: the object must be a record as read from the API (get, list, get_many or an " ..
        "earlier update); this table has no uri. Pass its id instead to read it first")
      assert.same({}, sent(sb, from))
    end)

    it("checks its options like every option table", function()
      local c = assert(fb.customers:get(1))
      local ok, err = pcall(fb.customers.update, fb.customers, c, {}, { frsh = true })
      assert.is_false(ok)
      assert.matches("customers:update: unknown option frsh %(did you mean fresh%?%)", err)
      ok, err = pcall(fb.customers.update, fb.customers, c, {}, { fresh = "yes" })
      assert.is_false(ok)
      assert.matches("fresh must be a boolean", err)
    end)

    it("passes on an error object as its failure (get_many's not_found)", function()
      local missing
      for v in fb.customers:get_many{ 1, 99999 } do
        if fusebill.is_error(v) then missing = v end
      end
      local got, err = fb.customers:update(missing, { firstName = "X" })
      assert.is_nil(got)
      assert.equal(missing, err)
      assert.equal("not_found", err.kind)
      assert.equal(99999, err.id)
    end)

    it("in a dry run sends nothing at all and shows the change", function()
      local dry = sb:client{ dry_run = true }
      local c = assert(dry.customers:get(1))
      local from = #sb:log()
      local after = assert(dry.customers:update(c, { companyName = "Acme" }))
      assert.same({}, sent(sb, from))
      assert.equal("Acme", after.companyName)
      local meta = dry:last_meta()
      assert.is_true(meta.dry_run)
      assert.equal(0, meta.attempts)
      assert.same({ { field = "companyName", after = "Acme" } }, meta.changes)
    end)

    it("works for codes and tracked items, whose PUT has a few fields", function()
      local code = assert(fb.sales_tracking_codes:get(2))
      local item = assert(fb.purchase_product_items:get(1))
      local from = #sb:log()
      assert.equal(code, assert(fb.sales_tracking_codes:update(code, { name = code.name })))
      assert.equal(item, assert(fb.purchase_product_items:update(item, { reference = item.reference })))
      assert.same({}, sent(sb, from))
      assert.equal("Europe 2", assert(fb.sales_tracking_codes:update(code, { name = "Europe 2" })).name)
      assert.same({ "PUT /v1/SalesTrackingCodes" }, sent(sb, from))
    end)
  end)

  describe("edit(body, current, { skip_unchanged = true })", function()

    it("reads the record and sends no PUT when the body is what it holds", function()
      local c = assert(fb.customers:get(6))
      local from = #sb:log()
      assert.equal("TAOCP Inc", assert(fb.customers:edit(c, nil, { skip_unchanged = true })).companyName)
      assert.same({ "GET /v1/customers/6" }, sent(sb, from))
      assert.is_true(fb:last_meta().unchanged)
      c.companyName = "TAOCP Ltd"
      assert(fb.customers:edit(c, nil, { skip_unchanged = true }))
      assert.same({ "GET /v1/customers/6", "GET /v1/customers/6", "PUT /v1/customers" }, sent(sb, from))
    end)

    it("compares with current when given, so reads nothing", function()
      local code = assert(fb.sales_tracking_codes:get(2))
      local c = assert(fb.customers:get(1))
      local from = #sb:log()
      local body = { id = code.id, code = code.code, name = code.name, description = code.description, email = code.email }
      assert.equal(code, assert(fb.sales_tracking_codes:edit(body, code, { skip_unchanged = true })))
      assert.same({}, sent(sb, from))
      -- a customer edit that leaves fields out would null them: that is a change
      assert(fb.customers:edit({ id = 1, status = "Active", firstName = "Ada" }, c, { skip_unchanged = true }))
      assert.same({ "PUT /v1/customers" }, sent(sb, from))
    end)

    it("takes options third: a table of options second is refused", function()
      assert.has_error(function() fb.customers:edit({ id = 1, status = "Active" }, { skip_unchanged = true }) end,
        "customers:edit: current (the second argument) must be a record as read from the API (get, list, " ..
        "get_many or an earlier update); this table has no uri. Options go third: edit(body, nil, " ..
        "{ skip_unchanged = true })")
    end)
  end)
end)

describe("update(id, changes) and update(obj, changes)", function()
  it("leave the same state behind for the same changes", function()
    local by_id = sandbox.start{ args = { "--rate-limit", "none", "--customers", "30" } }
    local by_obj = sandbox.start{ args = { "--rate-limit", "none", "--customers", "30" } }
    finally(function() by_id:stop(); by_obj:stop() end)
    local changes = {
      [1] = { companyName = "Acme", customerReference = { reference2 = "R2" } },
      [6] = { primaryEmail = fusebill.null, customerAcquisition = { campaign = "spring" } },
      [7] = { customerReference = { salesTrackingCodes = { { type = "Sales Tracking Code 1", code = "EU" } } } },
      [8] = { firstName = "Zoë" },                          -- as it is: nothing to send
      [12] = { firstName = "Trimmed", title = "Dr" },
      [20] = { customerReference = { salesTrackingCodes = {} } },
    }
    local a, b = by_id:client(), by_obj:client()
    for id, ch in pairs(changes) do
      assert(a.customers:update(id, ch))
      assert(b.customers:update(assert(b.customers:get(id)), ch))
    end
    assert.same(customers_of(by_id:state()), customers_of(by_obj:state()))
    assert.equal("Acme", customers_of(by_obj:state())[1].companyName)
  end)
end)
