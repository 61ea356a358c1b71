-- The bad-input table: every entry must give a validation error naming the field and the
-- rule, nothing may crash, and nothing may be sent (the sandbox's request log stays empty).
local fusebill = require "fusebill"
local sandbox = require "sandbox"

local null = fusebill.null

local function deep(n)
  local root = {}
  local t = root
  for _ = 1, n do
    t.next = {}
    t = t.next
  end
  return root
end

local cyclic = {}
cyclic.self = cyclic

local function customer(t)
  local c = { id = 1, status = "Active" }
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- { resource, body, field, rule[, length] }
local BAD = {
  { "customers", customer { firstName = ("a"):rep(51) }, "firstName", "max_length", 51 },
  { "customers", customer { firstName = ("é"):rep(51) }, "firstName", "max_length", 51 },
  { "customers", customer { lastName = ("日本"):rep(25) .. "x" }, "lastName", "max_length", 51 },
  { "customers", customer { companyName = ("😀"):rep(51) }, "companyName", "max_length", 51 },
  { "customers", customer { primaryEmail = ("a"):rep(250) .. "@b.com" }, "primaryEmail", "max_length", 256 },
  { "customers", customer { primaryEmail = "not-an-email" }, "primaryEmail", "format" },
  { "customers", customer { reference = ("r"):rep(256) }, "reference", "max_length", 256 },
  { "customers", customer { primaryPhone = ("1"):rep(51) }, "primaryPhone", "max_length", 51 },
  { "customers", customer { firstName = 42 }, "firstName", "type" },
  { "customers", customer { firstName = true }, "firstName", "type" },
  { "customers", customer { firstName = {} }, "firstName", "type" },
  { "customers", customer { firstName = print }, "firstName", "type" },
  { "customers", customer { firstName = "a\0b" }, "firstName", "nul" },
  { "customers", customer { firstName = "caf\xe9" }, "firstName", "utf8" },
  { "customers", customer { firstName = "\xff\xfe" }, "firstName", "utf8" },
  { "customers", customer { firstName = "\xed\xa0\x80" }, "firstName", "utf8" },   -- a surrogate
  { "customers", { id = 1 }, "status", "required" },
  { "customers", { status = "Active" }, "id", "required" },
  { "customers", customer { id = null }, "id", "required" },
  { "customers", customer { status = null }, "status", "required" },
  { "customers", customer { id = "1a" }, "id", "type" },
  { "customers", customer { id = "" }, "id", "type" },
  { "customers", customer { id = "0" }, "id", "type" },
  { "customers", customer { id = true }, "id", "type" },
  { "customers", customer { id = 1.5 }, "id", "type" },
  { "customers", customer { id = -3 }, "id", "range" },
  { "customers", customer { id = 0 / 0 }, "id", "finite" },
  { "customers", customer { id = math.huge }, "id", "finite" },
  { "customers", customer { status = "active" }, "status", "enum" },
  { "customers", customer { status = "Deleted" }, "status", "enum" },
  { "customers", customer { title = "Sir" }, "title", "enum" },
  { "customers", customer { customerAccountStatus = "Bad" }, "customerAccountStatus", "enum" },
  { "customers", customer { quickBooksLatchType = "Maybe" }, "quickBooksLatchType", "enum" },
  { "customers", customer { currency = "usd" }, "currency", "format" },
  { "customers", customer { currency = "US" }, "currency", "format" },
  { "customers", customer { parentId = 0 / 0 }, "parentId", "finite" },
  { "customers", customer { quickBooksId = 0 / 0 }, "quickBooksId", "finite" },
  { "customers", customer { quickBooksId = math.huge }, "quickBooksId", "finite" },
  { "customers", customer { quickBooksId = -math.huge }, "quickBooksId", "finite" },
  { "customers", customer { isParent = "yes" }, "isParent", "type" },
  { "customers", customer { customerReference = "R1" }, "customerReference", "type" },
  { "customers", customer { customerReference = { reference1 = ("x"):rep(256) } },
    "customerReference.reference1", "max_length", 256 },
  { "customers", customer { customerReference = { reference2 = 7 } }, "customerReference.reference2", "type" },
  { "customers", customer { customerReference = { salesTrackingCodes = {
      { type = "Sales Tracking Code 1", code = "A" }, { type = "Sales Tracking Code 1", code = "B" },
      { type = "Sales Tracking Code 1", code = "C" }, { type = "Sales Tracking Code 1", code = "D" },
      { type = "Sales Tracking Code 1", code = "E" }, { type = "Sales Tracking Code 1", code = "F" } } } },
    "customerReference.salesTrackingCodes", "max_items", 6 },
  { "customers", customer { customerReference = { salesTrackingCodes = { x = 1 } } },
    "customerReference.salesTrackingCodes", "type" },
  { "customers", customer { customerReference = { salesTrackingCodes = { { code = "a\0" } } } },
    "customerReference.salesTrackingCodes[1].code", "nul" },
  { "customers", customer { customerAcquisition = { campaign = ("c"):rep(256) } },
    "customerAcquisition.campaign", "max_length", 256 },
  { "customers", customer { customerAcquisition = { source = 0 / 0 } }, "customerAcquisition.source", "type" },
  { "customers", customer { FirstName = "Ada" }, "FirstName", "unknown_field" },
  { "customers", customer { extra = 0 / 0 }, "extra", "finite" },
  { "customers", customer { extra = -math.huge }, "extra", "finite" },
  { "customers", customer { extra = "bad\xc3" }, "extra", "utf8" },
  { "customers", customer { extra = { nested = "a\0" } }, "extra.nested", "nul" },
  { "customers", customer { extra = deep(1000) }, "extra", "depth" },
  { "customers", customer { extra = deep(100000) }, "extra", "depth" },
  { "customers", customer { extra = cyclic }, "extra", "depth" },
  { "customers", customer { extra = coroutine.create(print) }, "extra", "type" },
  { "customers", customer { [1] = "positional" }, "[1]", "type" },
  { "sales_tracking_codes", { code = "EU" }, "id", "required" },
  { "sales_tracking_codes", { id = 2, name = ("n"):rep(256) }, "name", "max_length", 256 },
  { "sales_tracking_codes", { id = 2, description = ("d"):rep(1001) }, "description", "max_length", 1001 },
  { "sales_tracking_codes", { id = 2, code = 5 }, "code", "type" },
  { "purchase_product_items", { id = 1 }, "reference", "required" },
  { "purchase_product_items", { reference = "X" }, "id", "required" },
  { "purchase_product_items", { id = 1, reference = ("r"):rep(256) }, "reference", "max_length", 256 },
  { "purchase_product_items", { id = 1, reference = "X", name = ("ü"):rep(101) }, "name", "max_length", 101 },
  { "subscription_product_items", { id = 4, reference = "X", description = ("d"):rep(256) },
    "description", "max_length", 256 },
  { "subscription_product_items", { id = 4, reference = "a\0" }, "reference", "nul" },
  { "subscription_product_items", { id = 4.5, reference = "X" }, "id", "type" },
}

local PUT_PATH = {
  customers = "/v1/customers", sales_tracking_codes = "/v1/SalesTrackingCodes",
  purchase_product_items = "/v1/purchaseProductItems", subscription_product_items = "/v1/SubscriptionProductItems",
}

describe("validation", function()
  local sb, fb

  setup(function()
    sb = sandbox.start { args = { "--rate-limit", "none" } }
    fb = sb:client()
  end)
  teardown(function()
    if fb then fb:close() end
    if sb then sb:stop() end
  end)

  describe("bad input table", function()
    local log_before
    setup(function() log_before = #sb:log() end)

    for i, case in ipairs(BAD) do
      local resource, body, field, rule, length = case[1], case[2], case[3], case[4], case[5]
      it(("#%d %s: %s %s"):format(i, resource, field, rule), function()
        local ok, r, err = pcall(fb[resource].edit, fb[resource], body)
        assert.is_true(ok, "raised: " .. tostring(r))
        assert.is_nil(r)
        assert.is_true(fusebill.is_error(err))
        assert.equal("validation", err.kind)
        assert.equal(field, err.field)
        assert.equal(rule, err.rule)
        if length then assert.equal(length, err.length) end
        assert.equal(0, err.attempts)
        assert.equal("PUT", err.method)
        assert.equal(PUT_PATH[resource], err.path)
        local s = tostring(err)
        assert.matches(resource .. ":edit: " .. field, s, 1, true)
      end)
    end

    it("sent nothing at all", function()
      assert.equal(log_before, #sb:log())
    end)
  end)

  it("words the length message as documented", function()
    local _, err = fb.customers:edit { id = 1, status = "Active", firstName = ("é"):rep(51) }
    assert.equal("customers:edit: firstName is 51 characters, the maximum is 50", err.message)
  end)

  it("reports every problem, the first by field name, in err.errors", function()
    local _, err = fb.customers:edit { id = 1, status = "Nope", firstName = 1, lastName = 2 }
    assert.equal("firstName", err.field)
    assert.equal(3, #err.errors)
    assert.matches("and 2 more problems", err.message, 1, true)
  end)

  it("words each rule's message as documented", function()
    local c = require("fusebill.validate").compile(require("fusebill.schema").customers)
    local function message(fields)
      local probs = c.check(customer(fields))
      assert.equal(1, #probs)
      return probs[1].message
    end
    assert.equal('status must be one of Draft, Active, Hold, Suspended, Cancelled, got "active\\\n"',
      message { status = "active\n" })
    assert.equal('title must be one of Mr, Mrs, Ms, Miss, Dr, got "' .. ("x"):rep(40) .. '..."',
      message { title = ("x"):rep(41) })
    assert.equal([[primaryEmail must be an email address (several separated by ';'), got " b@c d"]],
      message { primaryEmail = "a@b; b@c d" })
    assert.equal('currency must be a 3-letter ISO currency code such as USD, got "\\0012"',
      message { currency = "\0012" })
    assert.equal("id must be at least 1, got -3", message { id = -3 })
    assert.equal("id must be a finite integer, got inf", message { id = math.huge })
    assert.equal("customerReference.salesTrackingCodes[2] must not be null",
      message { customerReference = { salesTrackingCodes = { {}, null } } })
    assert.equal('customerReference.salesTrackingCodes must be a list (keys 1..n), has key "x"',
      message { customerReference = { salesTrackingCodes = { x = {} } } })
    assert.equal("customerAcquisition.Source is not a field; did you mean source? (names are case-sensitive)",
      message { customerAcquisition = { Source = "web" } })
    assert.equal("extra.list[2][true] has a key that is a boolean; JSON keys are strings",
      message { extra = { list = { 1, { [true] = 1 } } } })
    assert.equal("extra is nested more than 32 levels deep (or refers to itself)", message { extra = cyclic })
  end)

  it("stops at 20 problems and says how many more it left out", function()
    local body = customer {}
    for i = 1, 30 do body["x" .. i] = 0 / 0 end
    local _, err = fb.customers:edit(body)
    assert.equal(20, #err.errors)
    assert.matches("(and 19 more problems)", err.message, 1, true)
  end)

  it("checks the table as it will be encoded, not what a metatable adds", function()
    -- lua-cjson encodes raw fields; a status that only __index supplies is never sent
    local body = setmetatable({ id = 1 }, { __index = { status = "Active" } })
    local _, err = fb.customers:edit(body)
    assert.equal("status", err.field)
    assert.equal("required", err.rule)
  end)

  it("lets unknown fields pass (the API ignores them) when they are plain JSON", function()
    local v = require "fusebill.validate"
    local c = v.compile(require("fusebill.schema").customers)
    assert.is_nil(c.check { id = 1, status = "Active", note = { "a", 1, true, null } })
    assert.is_nil(c.check { id = 1, status = "Active", firstName = ("é"):rep(50), middleName = null })
  end)

  it("raises on wrong argument types (programming errors)", function()
    assert.has_error(function() fb.customers:edit("x") end)
    assert.has_error(function() fb.customers:edit() end)
    assert.has_error(function() fb.customers:update(1, "x") end)
    assert.has_error(function() fb.customers:update({}, {}) end)
    assert.has_error(function() fb.sales_tracking_codes:get({}) end)
    assert.has_error(function() fb.sales_tracking_codes:get() end)
  end)

  describe("fusebill.new options", function()
    local function message(opts)
      local ok, err = pcall(fusebill.new, opts)
      assert.is_false(ok)
      return tostring(err)
    end
    it("names the option with the wrong type", function()
      assert.matches("timeout", message { timeout = "soon" }, 1, true)
      assert.matches("api_key", message { api_key = 5 }, 1, true)
      assert.matches("base_url", message { base_url = false }, 1, true)
      assert.matches("dry_run", message { dry_run = "yes" }, 1, true)
      assert.matches("rate_limit", message { rate_limit = "fast" }, 1, true)
      assert.matches("retry.max_attempts", message { retry = { max_attempts = 0.5 } }, 1, true)
      assert.matches("concurrency", message { concurrency = 0 }, 1, true)
    end)
    it("rejects unknown option names (a typo must not pass silently)", function()
      assert.matches("dryrun", message { dryrun = true }, 1, true)
    end)
  end)
end)
