-- Customers in the sandbox, over real HTTP: reads, lists and pagination, POST, and
-- the PUT rules of Fusebill's API reference (nulling, id/status required, status changes).
-- luacheck: ignore 311 (calls are made for their effect; only some results are checked)
local cjson = require "cjson"
local sandbox = require "sandbox"

describe("sandbox customers", function()
  local sb
  setup(function() sb = sandbox.start{ args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function call(method, path, body)
    local status, raw, headers = sb:request(method, path, { body = body })
    local ok, v = pcall(cjson.decode, raw)
    return status, ok and v or raw, headers, raw
  end
  local function msgs(v)
    local out = {}
    for i, e in ipairs(v.Errors) do out[i] = e.Value end
    return out
  end

  it("GET returns the full seeded customer with money, uri and sub-objects", function()
    local status, c, h, raw = call("GET", "/customers/1")
    assert.equal(200, status)
    assert.equal("Ada", c.firstName)
    assert.equal("Active", c.status)
    assert.truthy(raw:find('"monthlyRecurringRevenue":60.0000', 1, true))
    assert.equal(sb.url .. "/customers/1", c.uri)
    assert.equal(1, c.customerReference.id)
    assert.equal("NA", c.customerReference.salesTrackingCodes[1].code)
    assert.equal(cjson.null, c.middleName)
    assert.equal("2019-11-08T14:50:32", c.createdTimestamp)
    assert.is_nil(h["x-maxcount"])  -- pagination headers only on lists
  end)

  it("paths and property names are case-insensitive, trailing slash optional", function()
    assert.equal(200, (call("GET", "/v1/CUSTOMERS/2/")))
    local status, c = call("PUT", "/Customers/", { ID = 2, Status = "Draft", FIRSTNAME = "G" })
    assert.equal(200, status)
    assert.equal("G", c.firstName)
  end)

  it("unknown id gives the documented 404 envelope", function()
    local status, v = call("GET", "/customers/424242")
    assert.equal(404, status)
    assert.equal(404, v.HttpStatusCode)
    assert.same({ "Customer with id 424242 not found." }, msgs(v))
    status, v = call("PUT", "/customers", { id = 424242, status = "Active" })
    assert.equal(404, status)
  end)

  it("lists page through every customer with consistent headers", function()
    local seen, pages = {}, 0
    local page = 0
    repeat
      local status, list, h = call("GET", "/customers?pageSize=7&pageNumber=" .. page)
      assert.equal(200, status)
      assert.equal("50", h["x-maxcount"])
      assert.equal("7", h["x-pagesize"])
      assert.equal("7", h["x-maxpageindex"])
      assert.equal(tostring(page), h["x-currentpage"])
      assert.equal(tostring(page - 1), h["x-previouspage"])
      assert.equal(page < 7 and tostring(page + 1) or "-1", h["x-nextpage"])
      assert.equal(tostring(#list), h["x-count"])
      assert.equal("Ascending", h["x-sortorder"])
      for _, c in ipairs(list) do
        assert.is_nil(seen[c.id])
        seen[c.id] = true
      end
      pages = pages + 1
      page = page + 1
    until h["x-nextpage"] == "-1"
    assert.equal(8, pages)
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.equal(50, n)
    local _, empty = call("GET", "/customers?pageSize=7&pageNumber=99")
    assert.same({}, empty)
  end)

  it("filters with query, wildcards, sets, [empty] and ranges, and sorts", function()
    local _, l = call("GET", "/customers?query=status:Suspended,Hold;id:1|8")
    local ids = {}
    for i, c in ipairs(l) do ids[i] = c.id end
    assert.same({ 3, 4 }, ids)
    _, l = call("GET", "/customers?query=firstName:Ad*;id:|5")
    assert.equal(1, #l)
    assert.equal(1, l[1].id)
    _, l = call("GET", "/customers?query=firstName:[empty]")
    assert.equal(7, l[1].id)
    local _, d, h = call("GET", "/customers?sortOrder=Descending&sortExpression=id&pageSize=2")
    assert.equal(50, d[1].id)
    assert.equal("Descending", h["x-sortorder"])
    local status, v = call("GET", "/customers?query=nosuchfield:1")
    assert.equal(400, status)
    assert.matches("query: unknown field nosuchfield", msgs(v)[1], 1, true)
    status = call("GET", "/customers?pageSize=abc")
    assert.equal(400, status)
  end)

  it("POST creates a Draft customer", function()
    local status, c = call("POST", "/customers", { firstName = "New", status = "Active", primaryEmail = "n@example.com" })
    assert.equal(200, status)
    assert.equal("Draft", c.status)
    assert.equal(51, c.id)
    assert.equal("New", call("GET", "/customers/51") == 200 and select(2, call("GET", "/customers/51")).firstName)
  end)

  it("PUT nulls every omitted field but keeps currency, and updates modifiedTimestamp", function()
    local status, c = call("PUT", "/customers", { id = 1, status = "Active", lastName = "Byron" })
    assert.equal(200, status)
    assert.equal("Byron", c.lastName)
    assert.equal(cjson.null, c.firstName)
    assert.equal(cjson.null, c.primaryEmail)
    assert.equal(cjson.null, c.customerReference.reference1)
    assert.same({}, c.customerReference.salesTrackingCodes)
    assert.equal(cjson.null, c.customerAcquisition.source)
    assert.equal("USD", c.currency)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%d%dZ$", c.modifiedTimestamp)
    local _, again = call("GET", "/customers/1")
    assert.equal(cjson.null, again.firstName)
  end)

  it("a read-modify-write keeps everything", function()
    local _, c = call("GET", "/customers/1")
    c.primaryEmail = "ada@lovelace.org"
    local status, out = call("PUT", "/customers", c)
    assert.equal(200, status)
    assert.equal("Ada", out.firstName)
    assert.equal("ada@lovelace.org", out.primaryEmail)
    assert.equal("NA", out.customerReference.salesTrackingCodes[1].code)
    assert.equal("google", out.customerAcquisition.source)
  end)

  it("id and status are required", function()
    local status, v = call("PUT", "/customers", { firstName = "x" })
    assert.equal(400, status)
    assert.same({ "Customer id is required.", "Customer status is required." }, msgs(v))
    status, v = call("PUT", "/customers", { id = 1 })
    assert.same({ "Customer status is required." }, msgs(v))
    status, v = call("PUT", "/customers", { status = "Active" })
    assert.same({ "Customer id is required." }, msgs(v))
  end)

  it("enforces the status rules", function()
    local status, v = call("PUT", "/customers", { id = 1, status = "Suspended" })
    assert.equal(400, status)
    assert.same({ "Cannot manually suspend customer, the system is in charge of suspending customers." }, msgs(v))
    status = call("PUT", "/customers", { id = 1, status = "Draft" })
    assert.equal(409, status)
    status = call("PUT", "/customers", { id = 1, status = "Hold" })
    assert.equal(409, status)
    status = call("PUT", "/customers", { id = 5, status = "Active" })
    assert.equal(409, status)
    status = call("PUT", "/customers", { id = 4, status = "Active" })
    assert.equal(409, status)
    assert.equal(200, (call("PUT", "/customers", { id = 4, status = "Suspended" })))  -- unchanged is fine
    assert.equal(200, (call("PUT", "/customers", { id = 2, status = "Active" })))     -- Draft -> Active
    assert.equal(409, (call("PUT", "/customers", { id = 2, status = "Draft" })))      -- never back
    status, v = call("PUT", "/customers", { id = 1, status = "Sleeping" })
    assert.equal(400, status)
    assert.matches("status: 'Sleeping' is not a valid value", msgs(v)[1], 1, true)
  end)

  it("--status-via-put allows Hold and Cancelled through PUT", function()
    sb:set_limits{ status_via_put = true }
    assert.equal(200, (call("PUT", "/customers", { id = 1, status = "Hold" })))
    sb:set_limits{ status_via_put = false }
  end)

  it("dedicated status calls move customers", function()
    assert.equal(200, (call("POST", "/customerActivation", { customerId = 2 })))
    assert.equal(200, (call("POST", "/CustomerHold/2")))
    assert.equal(200, (call("POST", "/customers/unhold", { customerId = 2 })))
    assert.equal(409, (call("POST", "/customerActivation", { customerId = 2 })))
    local _, c = call("POST", "/customerCancellation", { customerId = 2 })
    assert.equal("Cancelled", c.status)
  end)

  it("validates lengths in UTF-8 characters, enums, emails, codes, naming the field", function()
    local fifty = string.rep("é", 50)
    assert.equal(200, (call("PUT", "/customers", { id = 1, status = "Active", firstName = fifty })))
    local status, v = call("PUT", "/customers", { id = 1, status = "Active", firstName = fifty .. "x",
      title = "Sir", primaryEmail = "not-an-email", primaryPhone = string.rep("1", 51),
      customerReference = { reference1 = string.rep("r", 256) },
      customerAcquisition = { campaign = string.rep("c", 256) } })
    assert.equal(400, status)
    local m = table.concat(msgs(v), "\n")
    assert.matches("firstName: maximum length is 50 characters.", m, 1, true)
    assert.matches("title: 'Sir' is not a valid value. Valid values are: Mr, Mrs, Ms, Miss, Dr.", m, 1, true)
    assert.matches("primaryEmail: 'not-an-email' is not a valid email address.", m, 1, true)
    assert.matches("primaryPhone: maximum length is 50 characters.", m, 1, true)
    assert.matches("customerReference.reference1: maximum length is 255 characters.", m, 1, true)
    assert.matches("customerAcquisition.campaign: maximum length is 255 characters.", m, 1, true)
    status, v = call("PUT", "/customers", { id = 1, status = "Active", firstName = 7 })
    assert.same({ "firstName: must be a string." }, msgs(v))
    local six = {}
    for i = 1, 6 do six[i] = { type = "Sales Tracking Code 1", code = "NA" } end
    status, v = call("PUT", "/customers", { id = 1, status = "Active", customerReference = { salesTrackingCodes = six } })
    assert.matches("at most 5", msgs(v)[1], 1, true)
    status, v = call("PUT", "/customers", { id = 1, status = "Active",
      customerReference = { salesTrackingCodes = { { type = "Sales Tracking Code 2", code = "NA" } } } })
    assert.equal(400, status)
    assert.matches("does not exist under type Sales Tracking Code 2", msgs(v)[1], 1, true)
    status, v = call("PUT", "/customers", { id = 6, status = "Active", currency = "USD" })
    assert.equal(400, status)
    assert.matches("currency:", msgs(v)[1], 1, true)
    -- state untouched by the failed calls
    local _, c = call("GET", "/customers/6")
    assert.equal("Donald", c.firstName)
  end)
end)
