-- fb.customers against the sandbox: get, edit (faithful PUT), update (read-merge-write),
-- list over every page, JSON null round trip, dry run. The rules are those of Fusebill's API reference (README, The sandbox).
local fusebill = require "fusebill"
local sandbox = require "sandbox"

local null = fusebill.null

-- captures what the code under test writes to io.stderr
local function capture_stderr(fn)
  local buf, real = {}, io.stderr
  local fake = { write = function(self, ...)
    for _, s in ipairs { ... } do buf[#buf + 1] = tostring(s) end
    return self
  end }
  rawset(io, "stderr", fake)
  local ok, a, b = pcall(fn)
  rawset(io, "stderr", real)
  assert(ok, a)
  return table.concat(buf), a, b
end

local function find_change(changes, field)
  for _, c in ipairs(changes) do
    if c.field == field then return c end
  end
end

describe("customers", function()
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

  describe("get", function()
    it("returns the customer alone; the response's meta is fb:last_meta()", function()
      local c, err = fb.customers:get(1)
      assert.is_table(c, tostring(err))
      assert.is_nil(err)
      assert.equal(1, c.id)
      assert.equal("Ada", c.firstName)
      local meta = fb:last_meta()
      assert.equal(200, meta.status)
      assert.equal(1, meta.attempts)
      assert.equal("GET", meta.method)
      assert.equal("/v1/customers/1", meta.path)
    end)

    it("returns nil and a not_found error for an unknown id", function()
      local c, err = fb.customers:get(987654)
      assert.is_nil(c)
      assert.is_true(fusebill.is_error(err))
      assert.equal("not_found", err.kind)
      assert.equal(404, err.status)
    end)

    it("answers an id that is not a positive whole number with a validation error", function()
      for _, bad in ipairs { "abc", "", "0", 1.5, -2, 0 } do
        local c, err = fb.customers:get(bad)
        assert.is_nil(c)
        assert.equal("validation", err.kind)
        assert.equal("id", err.field)
        assert.equal(0, err.attempts)
      end
    end)

    it("raises on an id of another type (a programming error)", function()
      assert.has_error(function() fb.customers:get(nil) end)
      assert.has_error(function() fb.customers:get({}) end)
    end)
  end)

  describe("edit", function()
    it("PUTs the body and returns the saved customer", function()
      local c = assert(fb.customers:get(7))
      c.firstName = "Sparse"
      local saved, meta = fb.customers:edit(c)
      assert.is_table(saved, tostring(meta))
      assert.equal("Sparse", saved.firstName)
      assert.equal("Sparse", assert(fb.customers:get(7)).firstName)
    end)

    it("is a faithful PUT: omitted fields become null", function()
      assert(fb.customers:edit { id = 1, status = "Active", firstName = "Ada" })
      local c = assert(fb.customers:get(1))
      assert.equal("Ada", c.firstName)
      assert.is_nil(c.lastName)
    end)

    it("blocks a missing id or status client-side: nothing is sent", function()
      local before = #sb:log()
      local r, err = fb.customers:edit { status = "Active", firstName = "X" }
      assert.is_nil(r)
      assert.equal("validation", err.kind)
      assert.equal("id", err.field)
      assert.equal("required", err.rule)
      assert.equal(0, err.attempts)
      r, err = fb.customers:edit { id = 1, firstName = "X" }
      assert.is_nil(r)
      assert.equal("status", err.field)
      assert.equal("required", err.rule)
      assert.equal(before, #sb:log())
    end)

    it("gives the server's 400 for a manual Suspended status", function()
      local r, err = fb.customers:edit { id = 1, status = "Suspended", firstName = "Ada" }
      assert.is_nil(r)
      assert.equal(400, err.status)
      assert.matches("Cannot manually suspend", tostring(err), 1, true)
    end)

    it("gives 404 for an unknown customer", function()
      local r, err = fb.customers:edit { id = 987654, status = "Active" }
      assert.is_nil(r)
      assert.equal(404, err.status)
      assert.equal("not_found", err.kind)
    end)

    it("makes assert() raise a readable message", function()
      local ok, msg = pcall(function() assert(fb.customers:edit { id = 1 }) end)
      assert.is_false(ok)
      assert.matches("status is required", tostring(msg), 1, true)
    end)

    it("accepts 50 multi-byte characters (the exact limit)", function()
      local c = assert(fb.customers:get(8))
      c.firstName = ("é"):rep(50)
      assert(fb.customers:edit(c))
      assert.equal(("é"):rep(50), assert(fb.customers:get(8)).firstName)
    end)
  end)

  describe("update", function()
    it("changes only the given fields; the rest reads back as it was", function()
      local before = assert(fb.customers:get(1))
      local saved = assert(fb.customers:update(1, { lastName = "Byron" }))
      assert.equal("Byron", saved.lastName)
      local after = assert(fb.customers:get(1))
      assert.equal("Byron", after.lastName)
      for _, f in ipairs { "firstName", "primaryEmail", "title", "reference", "primaryPhone", "status",
                           "currency", "quickBooksLatchType" } do
        assert.same(before[f], after[f], f)
      end
      assert.same(before.customerReference.reference1, after.customerReference.reference1)
      assert.same(before.customerReference.salesTrackingCodes, after.customerReference.salesTrackingCodes)
      assert.same(before.customerAcquisition.source, after.customerAcquisition.source)
    end)

    it("merges nested objects field by field", function()
      assert(fb.customers:update(1, { customerReference = { reference2 = "R2-1" },
                                      customerAcquisition = { campaign = "spring" } }))
      local c = assert(fb.customers:get(1))
      assert.equal("R1-1", c.customerReference.reference1)
      assert.equal("R2-1", c.customerReference.reference2)
      assert.equal(1, #c.customerReference.salesTrackingCodes)
      assert.equal("google", c.customerAcquisition.source)
      assert.equal("spring", c.customerAcquisition.campaign)
    end)

    it("clears a field given fusebill.null (JSON null round trip)", function()
      assert.is_string(assert(fb.customers:get(1)).primaryPhone)
      assert(fb.customers:update(1, { primaryPhone = null, customerReference = { reference1 = null } }))
      local c = assert(fb.customers:get(1))
      assert.is_nil(c.primaryPhone)
      assert.is_nil(c.customerReference.reference1)
      assert.equal("Lovelace", c.lastName)
    end)

    it("sends an empty list as [] so the codes can be cleared", function()
      assert(fb.customers:update(1, { customerReference = { salesTrackingCodes = {} } }))
      local c = assert(fb.customers:get(1))
      assert.equal(0, #c.customerReference.salesTrackingCodes)
      assert.equal("R1-1", c.customerReference.reference1)
    end)

    it("validates the changes before reading: nothing is sent", function()
      local before = #sb:log()
      local r, err = fb.customers:update(1, { lastName = ("x"):rep(51) })
      assert.is_nil(r)
      assert.equal("validation", err.kind)
      assert.equal("lastName", err.field)
      assert.equal("max_length", err.rule)
      assert.equal(51, err.length)
      assert.equal(before, #sb:log())
    end)

    it("rejects names that are not fields (they would change nothing)", function()
      local before = #sb:log()
      local r, err = fb.customers:update(1, { first_name = "Ada" })
      assert.is_nil(r)
      assert.equal("unknown_field", err.rule)
      assert.equal("first_name", err.field)
      r, err = fb.customers:update(1, { customerReference = { refrence1 = "x" } })
      assert.is_nil(r)
      assert.equal("customerReference.refrence1", err.field)
      assert.equal(before, #sb:log())
    end)

    it("refuses to change the id", function()
      local r, err = fb.customers:update(1, { id = 2 })
      assert.is_nil(r)
      assert.equal("read_only", err.rule)
    end)

    it("returns the GET's error for an unknown customer", function()
      local r, err = fb.customers:update(987654, { lastName = "X" })
      assert.is_nil(r)
      assert.equal(404, err.status)
    end)
  end)

  describe("list", function()
    it("iterates every item of every page", function()
      local status, _, headers = sb:request("GET", "/customers?pageSize=1")
      assert.equal(200, status)
      local total = tonumber(headers["x-maxcount"])
      assert.is_number(total)
      local gets_before = #sb:log()
      local seen, n = {}, 0
      for c in fb.customers:list { page_size = 7 } do
        assert.is_nil(seen[c.id], "id seen twice: " .. tostring(c.id))
        seen[c.id] = true
        n = n + 1
      end
      assert.equal(total, n)
      assert.equal(math.ceil(total / 7), #sb:log() - gets_before)
    end)

    it("passes the query filter", function()
      local n = 0
      for c in fb.customers:list { query = "status:Active", page_size = 5 } do
        assert.equal("Active", c.status)
        n = n + 1
      end
      assert.is_true(n >= 4)
    end)

    it("stops early without fetching further pages", function()
      local before = #sb:log()
      local next_customer = fb.customers:list { page_size = 3 }
      assert.is_table(next_customer())
      assert.equal(1, #sb:log() - before)
    end)

    it("returns one page with list_page", function()
      local page, err = fb.customers:list_page { page_size = 4, page = 1 }
      assert.is_table(page, tostring(err))
      assert.is_nil(err)
      assert.equal(4, #page.items)
      assert.equal(4, page.count)
      assert.equal(1, page.page)
      assert.is_number(page.max_page)
      assert.is_number(page.total)
    end)

    it("raises on bad options", function()
      assert.has_error(function() fb.customers:list { page_size = "many" } end)
      assert.has_error(function() fb.customers:list { sort_order = "Up" } end)
      assert.has_error(function() fb.customers:list { pagesize = 3 } end)
    end)

    it("raises the error object when a page fails", function()
      local bad = fusebill.new { api_key = "MDpub3RoZXJrZXk=", base_url = sb.url, rate_limit = "none",
                                 retry = { max_attempts = 1 } }
      local ok, err = pcall(function()
        for _ in bad.customers:list {} do end
      end)
      bad:close()
      assert.is_false(ok)
      assert.is_true(fusebill.is_error(err))
      assert.equal("auth", err.kind)
    end)
  end)

  describe("dry run", function()
    local dry
    setup(function()
      dry = fusebill.new { api_key = sb.key, base_url = sb.url, rate_limit = "none", dry_run = true }
    end)
    teardown(function() dry:close() end)

    it("edit sends no write and shows what the faithful PUT would null", function()
      local writes = sb:writes()
      local text, after, second = capture_stderr(function()
        return dry.customers:edit { id = 1, status = "Active", firstName = "Ada" }
      end)
      assert.equal(writes, sb:writes())
      assert.is_table(after)
      assert.is_nil(second)
      assert.equal("Ada", after.firstName)
      assert.is_nil(after.lastName)
      local changes = dry:last_meta().changes
      assert.is_true(dry:last_meta().dry_run)
      local c = find_change(changes, "lastName")
      assert.is_table(c)
      assert.equal("Lovelace", c.before)
      assert.is_nil(c.after)
      assert.is_nil(find_change(changes, "firstName"))
      assert.matches("lastName", text, 1, true)
      assert.equal("Lovelace", assert(fb.customers:get(1)).lastName)
    end)

    it("update sends no write and returns only the intended change", function()
      local writes = sb:writes()
      local _, after = capture_stderr(function()
        return dry.customers:update(1, { lastName = "Byron" })
      end)
      assert.equal(writes, sb:writes())
      assert.equal("Byron", after.lastName)
      local changes = dry:last_meta().changes
      assert.equal(1, #changes)
      assert.equal("lastName", changes[1].field)
    end)

    it("still validates first", function()
      local r, err = dry.customers:edit { id = 1 }
      assert.is_nil(r)
      assert.equal("validation", err.kind)
    end)
  end)
end)
