-- The pure parts under plans and undo: canonical JSON and digests (fusebill.canon), and what a
-- PUT writes per resource (fusebill.writable).
package.path = "lua/?.lua;" .. package.path
local canon = require "fusebill.canon"
local writable = require "fusebill.writable"
local schema = require "fusebill.schema"
local null = require("cjson").null

describe("canon", function()
  it("writes one text per value: keys sorted, / as is, whole numbers plain, [] for empty", function()
    local a = { uri = "https://x/v1/customers/7", id = 7, b = { z = 1, a = { 2.5, "q\"\n" } }, e = {}, n = null }
    assert.equal('{"a":null,"b":{"a":[2.5,"q\\"\\n"],"z":1},"e":[],"id":7,"n":null,"uri":"https://x/v1/customers/7"}',
      canon.encode({ id = 7, uri = a.uri, b = a.b, e = {}, n = null, a = null }))
    local t1, t2 = {}, {}
    for i = 1, 50 do t1["k" .. i] = i end
    for i = 50, 1, -1 do t2["k" .. i] = i + 0.0 end    -- other order, floats that are whole
    assert.equal(canon.encode(t1), canon.encode(t2))
    assert.equal(canon.digest(t1), canon.digest(t2))
    assert.equal("0.1", canon.encode(0.1))
    assert.equal("1e+300", canon.encode(1e300))
  end)

  it("tells values apart, and raises on what JSON cannot hold (digests name it instead)", function()
    assert.are_not.equal(canon.digest({ name = "a" }), canon.digest({ name = "b" }))
    assert.are_not.equal(canon.digest({ 1, 2 }), canon.digest({ 2, 1 }))
    assert.are_not.equal(canon.digest("1"), canon.digest(1))
    assert.matches("^%x+$", canon.digest({ f = print }))
    assert.equal(16, #canon.digest({ f = print }))
    assert.has_error(function() canon.encode({ f = print }) end, "canon.encode: cannot encode a function")
    assert.has_error(function() canon.encode(0 / 0) end)
  end)

  it("hashes every byte of a string, long or short", function()
    local s = string.rep("abcdefgh", 40)
    local seen = { [canon.hash(s)] = true }
    for i = 1, #s, 37 do
      local t = s:sub(1, i - 1) .. "X" .. s:sub(i + 1)
      assert.is_nil(seen[canon.hash(t)], "byte " .. i)
      seen[canon.hash(t)] = true
    end
    assert.are_not.equal(canon.hash("a"), canon.hash("a\0"))
  end)
end)

describe("writable", function()
  local cust = schema.customers
  local before = { id = 7, status = "Active", firstName = "Ada", uri = "u", modifiedTimestamp = "t1",
    monthlyRecurringRevenue = 60, currency = "USD",
    customerReference = { reference1 = "R", reference2 = null, id = 7, uri = "u/r",
      salesTrackingCodes = { { id = 1, type = "T", code = "NA", name = "North America", uri = "c/1" } } },
    customerAcquisition = { source = "google", id = 7, uri = "u/a" } }

  it("makes the PUT body of a record's writable fields, nothing the server computes", function()
    local body = writable.body(cust, before)
    assert.same({ id = 7, status = "Active", firstName = "Ada",
      -- a code on a customer is assigned by id (or type and code); its name lives on the code
      customerReference = { reference1 = "R", salesTrackingCodes = { { id = 1, type = "T", code = "NA" } } },
      customerAcquisition = { source = "google" } }, body)
    local code = writable.body(schema.sales_tracking_codes, { id = 3, code = "EU", name = "Europe", type = "T",
      status = "Retired", deletable = false, uri = "x", description = null })
    assert.same({ id = 3, code = "EU", name = "Europe" }, code)
  end)

  it("compares writable fields only: null, absent and [] alike, codes by id", function()
    local now = { id = 7, status = "Active", firstName = "Ada", uri = "other", modifiedTimestamp = "t2",
      monthlyRecurringRevenue = 99, customerReference = { reference1 = "R",
        salesTrackingCodes = { { id = 1, name = "renamed", uri = "c/1" } } },
      customerAcquisition = { source = "google", campaign = null } }
    assert.is_true((writable.same(cust, before, now)))
    now.firstName, now.customerReference.reference2 = "ADA", "x"
    local same, fields = writable.same(cust, before, now)
    assert.is_false(same)
    assert.same({ "customerReference.reference2", "firstName" }, fields)
    now.firstName, now.customerReference.reference2 = "Ada", null
    now.customerReference.salesTrackingCodes = {}
    assert.same({ false, { "customerReference.salesTrackingCodes" } }, { writable.same(cust, before, now) })
    local a = { id = 1, reference = "R", status = "Active", name = null }
    assert.is_true((writable.same(schema.purchase_product_items, a, { id = 1, reference = "R", status = "Deleted" })))
  end)
end)
