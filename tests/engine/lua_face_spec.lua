-- The Lua face as a Lua programmer writes it without reading the manual (issue 17): each
-- case is a script run by build/fusebill against a sandbox, written in the idiom, not the
-- workaround. Results (value alone, nil + err), JSON null as absent, ids as integers or
-- digit strings, option tables that reject unknown names at the caller's line, blank
-- required fields caught before sending, dry-run diffs that tell the truth.
local sandbox = require "sandbox"
local cjson = require "cjson"

local build = os.getenv("FUSEBILL_BUILD") or "build"
local q = sandbox.quote

-- Runs `source` as a script (extra: arguments before the script name); returns exit
-- status, stdout, stderr.
local function run(sb, source, extra)
  local script = os.tmpname()
  sandbox.write_file(script, source)
  local errf = os.tmpname()
  local cmd = ("FUSEBILL_API_KEY=%s %s/fusebill --base-url %s --rate-limit none %s %s 2>%s"):format(
    q(sb.key), build, q(sb.url), extra or "", q(script), q(errf))
  local p = io.popen(cmd)
  local out = p:read("a")
  local _, _, code = p:close()
  local err = sandbox.read_file(errf)
  os.remove(script)
  os.remove(errf)
  return code, out, err, script
end

local function customer(sb, id)
  local status, body = sb:request("GET", "/customers/" .. id)
  assert.equal(200, status, body)
  return cjson.decode(body)
end

describe("the Lua face", function()
  local sb
  -- a limit far above what the cases use, so answers carry the X-Rate-Limit-* headers
  setup(function() sb = sandbox.start { args = { "--rate-limit", "100000/60s" } } end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:control("POST", "/reset") end)

  describe("results", function()
    it("a success returns the value alone, so `if err then` is right", function()
      local code, out, err = run(sb, [[
        local fb = require("fusebill").client()
        local c, err = fb.customers:update(1, { lastName = "Byron" })
        if err then print("failed: " .. tostring(err)) os.exit(1) end
        print(c.lastName, select("#", fb.customers:get(1)))
        local saved, err2 = fb.customers:edit(c)
        if err2 then print("edit failed") os.exit(1) end
        print(saved.lastName)
      ]])
      assert.equal(0, code, out .. err)
      assert.equal("Byron\t1\nByron\n", out)
    end)

    it("a failure returns nil and an error object", function()
      local code, out = run(sb, [[
        local fb = require("fusebill").client()
        local c, err = fb.customers:get(99999)
        if not c then print(err.kind, err.status, err.attempts, err.headers["x-rate-limit-limit-minute"] ~= nil) end
      ]])
      assert.equal(0, code)
      assert.equal("not_found\t404\t1\ttrue\n", out)
    end)

    it("keeps the request's metadata in fb:last_meta(), per coroutine inside fusebill.each", function()
      local code, out, err = run(sb, [[
        local fusebill = require "fusebill"
        local fb = fusebill.client()
        fb.customers:get(2)
        local m = fb:last_meta()
        print(m.method, m.path, m.status, m.attempts, type(m.elapsed), m.headers["x-rate-limit-limit-minute"] ~= nil)
        local wrong = 0
        fusebill.each({ 1, 2, 3, 5, 6, 7, 8 }, { concurrency = 4, quiet = true }, function(id)
          assert(fb.customers:get(id))
          if fb:last_meta().path ~= "/v1/customers/" .. id then wrong = wrong + 1 end
        end)
        print("wrong", wrong)
      ]])
      assert.equal(0, code, err)
      assert.equal("GET\t/v1/customers/2\t200\t1\tnumber\ttrue\nwrong\t0\n", out)
    end)
  end)

  describe("fusebill.each", function()
    it("records an item's attempts from fb's metadata: fn returns the value alone", function()
      local report = os.tmpname() .. ".csv"
      local code, _, err = run(sb, ([[
        local fusebill = require "fusebill"
        local fb = fusebill.client()
        local s = fusebill.each({ 1, 2 }, { report = %q, quiet = true }, function(id)
          return fb.customers:update(id, { reference = "R-" .. id })
        end)
        os.exit(s.ok and 0 or 3)
      ]]):format(report))
      assert.equal(0, code, err)
      local text = sandbox.read_file(report)
      os.remove(report)
      assert.matches("\n1,1,ok,1,,", text)   -- run, key, outcome, attempts, error
      assert.matches("\n1,2,ok,1,,", text)
    end)

    it("a misspelled option raises at the caller's line, naming the valid one", function()
      local code, _, err = run(sb, [[
        local fusebill = require "fusebill"
        fusebill.each({ 1 }, { retry_failures = true }, function() end)
      ]])
      assert.equal(1, code)
      assert.matches(":2: fusebill.each: unknown option retry_failures (did you mean retry_failed?)", err, 1, true)
    end)
  end)

  describe("JSON null", function()
    it("reads as absent: the README's first example runs over customers without an email", function()
      local code, out, err = run(sb, [[
        local fusebill = require "fusebill"
        local fb = fusebill.client()
        local seen = 0
        for customer in fb.customers:list{ query = "status:Active" } do
          local email = customer.primaryEmail
          if email and email ~= email:lower() then
            assert(fb.customers:update(customer.id, { primaryEmail = email:lower() }))
          end
          seen = seen + 1
        end
        local c = assert(fb.customers:get(7))
        print(seen > 0, c.primaryEmail == nil, (c.primaryEmail or ""):lower() == "", c.middleName)
      ]])
      assert.equal(0, code, err)
      assert.equal("true\ttrue\ttrue\tnil\n", out)
    end)

    it("fields that were null go back as null when the object is written back", function()
      local code, out, err = run(sb, [[
        local fusebill = require "fusebill"
        local json = require "fusebill.json"
        local validate = require "fusebill.validate"
        local fb = fusebill.client()
        local c = assert(fb.customers:get(1))
        c.firstName = "Augusta"
        local body = json.body(validate.compile(fusebill.schema.customers), c)
        print(body:find('"middleName":null', 1, true) ~= nil, body:find('"reference2":null', 1, true) ~= nil)
        assert(fb.customers:edit(c))
        c.middleName = fusebill.null          -- still the way to clear a field on purpose
        print(assert(fb.customers:edit(c)).middleName)
      ]])
      assert.equal(0, code, err)
      assert.equal("true\ttrue\nnil\n", out)
      local after = customer(sb, 1)
      assert.equal("Augusta", after.firstName)
      assert.equal("Lovelace", after.lastName)
      assert.equal(cjson.null, after.middleName)
    end)
  end)

  describe("ids", function()
    it("an integer or a string of digits works everywhere", function()
      local code, out, err = run(sb, [[
        local fb = require("fusebill").client()
        local row = { id = "1", parent = "2", sp = "1" }     -- as read from a CSV
        local c = assert(fb.customers:get(row.id))
        assert(fb.customers:edit{ id = row.id, status = "Active", firstName = "Ada", lastName = "L",
          customerReference = { salesTrackingCodes = { { id = "1" } } } })
        assert(fb.customers:update(row.id, { parentId = row.parent }))
        local n = 0
        for _ in fb.subscription_product_items:list{ subscription_product_id = row.sp } do n = n + 1 end
        local after = assert(fb.customers:get(1))
        print(c.id, after.parentId, math.type(after.parentId), after.customerReference.salesTrackingCodes[1].code, n > 0)
      ]])
      assert.equal(0, code, err)
      assert.equal("1\t2\tinteger\tNA\ttrue\n", out)
    end)

    it("anything else is a validation error naming the argument, and nothing is sent", function()
      local before = sb:writes()
      local code, out, err = run(sb, [[
        local fb = require("fusebill").client()
        for _, id in ipairs { "1007x", "", "-3", 2.5 } do
          local c, e = fb.customers:get(id)
          print(c, e.kind, e.field, e.attempts)
        end
        local _, e = fb.customers:update("abc", { lastName = "X" })
        print(e.field, e.rule)
        _, e = fb.customers:edit{ id = "abc", status = "Active" }
        print(e.field, e.rule)
      ]])
      assert.equal(0, code, err)
      assert.equal(("nil\tvalidation\tid\t0\n"):rep(4) .. "id\ttype\nid\ttype\n", out)
      assert.equal(before, sb:writes())
    end)
  end)

  describe("option tables", function()
    it("an unknown name raises at the caller's line, naming it and the nearest valid one", function()
      local code, _, err, script = run(sb, [[
        local fusebill = require "fusebill"
        local fb = fusebill.new{ base_url = "http://127.0.0.1:9/v1", dryrun = true }
      ]])
      assert.equal(1, code)
      assert.matches(":2: fusebill.new: unknown option dryrun (did you mean dry_run?)", err, 1, true)
      assert.matches(script, err, 1, true)
    end)

    it("list options and a retry policy are checked the same way", function()
      local code, out, err = run(sb, [[
        local fusebill = require "fusebill"
        local fb = fusebill.client()
        print(select(2, pcall(function()
          for _ in fb.customers:list{ pagesize = 3 } do end
        end)))
        print(select(2, pcall(function()
          fusebill.retry({ max_attempt = 3 }, print)
        end)))
        print(select(2, pcall(function()
          fusebill.new{ retry = { max_attemps = 2 } }
        end)))
      ]])
      assert.equal(0, code, err)
      assert.matches(":4: customers:list: unknown option pagesize (did you mean page_size?)", out, 1, true)
      assert.matches(":7: fusebill.retry: unknown option max_attempt (did you mean max_attempts?)", out, 1, true)
      assert.matches(":10: fusebill.new: unknown option retry.max_attemps (did you mean retry.max_attempts?)",
        out, 1, true)
    end)

    it("one spelling of each value: rate_limit is \"none\", a timeout is > 0", function()
      local code, out, err = run(sb, [[
        local fusebill = require "fusebill"
        for _, o in ipairs { { rate_limit = false }, { rate_limit = "off" }, { timeout = 0 } } do
          print((select(2, pcall(fusebill.new, o))))
        end
        print(fusebill.new{ rate_limit = "none", timeout = 0.5 }.options.rate_limit)
      ]])
      assert.equal(0, code, err)
      assert.matches('rate_limit must be "auto", "none" or a number of requests per minute > 0 (got false)',
        out, 1, true)
      assert.matches('(got "off")', out, 1, true)
      assert.matches("timeout must be a number of seconds > 0, at most 86400 (got 0)", out, 1, true)
      assert.matches("\nnone\n$", out)
    end)
  end)

  describe("validation", function()
    it("a blank required field is refused before anything is sent", function()
      local before = sb:writes()
      local code, out, err = run(sb, [[
        local fb = require("fusebill").client()
        local _, e = fb.purchase_product_items:update(1, { reference = "" })
        print(e.kind, e.field, e.rule, e.attempts)
        _, e = fb.customers:edit{ id = 1, status = "" }
        print(e.field, e.rule, e.message)
        _, e = fb.subscription_product_items:edit{ id = 4, reference = "   " }
        print(e.field, e.rule)
      ]])
      assert.equal(0, code, err)
      assert.equal("validation\treference\trequired\t0\n" ..
        "status\trequired\tcustomers:edit: status is required and must not be empty\n" ..
        "reference\trequired\n", out)
      assert.equal(before, sb:writes())
    end)
  end)

  describe("dry run", function()
    it("shows values as written: / as /, [] for an empty list, no system field", function()
      local code, out, err = run(sb, [[
        local fb = require("fusebill").client()
        local after = fb.customers:update(1, { companyName = "A/B Co", customerReference = { salesTrackingCodes = {} } })
        print(after.companyName, #after.customerReference.salesTrackingCodes)
        fb.customers:edit{ id = 3, status = "Hold", firstName = "Alan" }
      ]], "--dry-run")
      assert.equal(0, code, err)
      assert.equal("A/B Co\t0\n", out)
      assert.matches('companyName: null -> "A/B Co"', err, 1, true)
      assert.matches("customerReference.salesTrackingCodes: [{", err, 1, true)
      assert.matches("}] -> []\n", err, 1, true)
      assert.is_nil(err:find("\\/", 1, true), err)
      assert.matches('lastName: "Turing" -> null', err, 1, true)
      for _, system in ipairs { "customerAccountStatus", "modifiedTimestamp", "uri", "currency",
                                "monthlyRecurringRevenue", "customerReference.id" } do
        assert.is_nil(err:find("\n  " .. system .. ":", 1, true), system .. " shown in\n" .. err)
      end
      assert.equal(0, sb:writes())
    end)
  end)
end)
