-- The engine's retry policy, driven through real HTTP against the sandbox's
-- fault injection: each transient fault is retried the right number of times,
-- recovers when the fault goes away, and 4xx answers are never retried.
local sandbox = require "sandbox"
local fusebill = require "fusebill"
local core = require "fusebill.core"

local sb

local function client(opts)
  opts = opts or {}
  opts.api_key = opts.api_key or sb.key
  opts.base_url = sb.url
  opts.rate_limit = opts.rate_limit or "none"
  opts.retry = opts.retry or { max_attempts = 3, base_delay = 0.001, max_delay = 0.005 }
  return core.client(opts)
end

local function count_log(method)
  local n = 0
  for _, e in ipairs(sb:log()) do
    if not method or e.method == method then n = n + 1 end
  end
  return n
end

local BODY = '{"id": 1, "code": "RETRY", "name": "Retry test"}'

describe("engine retries", function()
  setup(function() sb = sandbox.start{ args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)
  before_each(function()
    sb:control("POST", "/reset")
    sb:set_faults("", 1)
    sb:control("DELETE", "/log")
  end)

  local transient = {
    { "500", "server" }, { "502", "server" }, { "503", "server" }, { "504", "server" },
    { "502-html", "server" }, { "reset-before", "network" }, { "reset-after", "network" },
    { "empty", "network" }, { "truncated", "network" }, { "malformed", "bad_response" },
    { "429", "rate_limited" },
  }
  for _, case in ipairs(transient) do
    local fault, kind = case[1], case[2]
    it("retries " .. fault .. " up to max_attempts and reports kind " .. kind, function()
      sb:set_faults("PUT:" .. fault .. "=1", 1)
      local c = client()
      local v, err = c:request("PUT", "/SalesTrackingCodes", BODY)
      assert.is_nil(v)
      assert.is_true(fusebill.is_error(err))
      assert.are.equal(kind, err.kind)
      assert.are.equal(3, err.attempts)
      assert.is_true(err.retryable)
      -- curl itself resends once, transparently, when a kept-alive connection
      -- turns out to be dead before any answer: the server may see one more.
      local seen = count_log("PUT")
      if fault == "reset-before" or fault == "reset-after" or fault == "empty" then
        assert.is_true(seen == 3 or seen == 4, "server saw " .. seen)
      else
        assert.are.equal(3, seen)
      end
      assert.matches("(3 attempts)", tostring(err), 1, true)
    end)
  end

  it("recovers from a mix of transient faults, and counts every attempt", function()
    sb:set_faults("PUT:500=0.15,503-html=0.1,reset-before=0.1,reset-after=0.1,truncated=0.1,empty=0.05", 7)
    local c = client{ retry = { max_attempts = 12, base_delay = 0.001, max_delay = 0.002 } }
    local attempts, retried = 0, 0
    for i = 1, 30 do
      local v, err = c:request("PUT", "/SalesTrackingCodes",
        ('{"id": 1, "code": "R%d", "name": "Retry %d"}'):format(i, i))
      assert.is_table(v, tostring(err))
      assert.is_nil(err)               -- a success is the value alone
      assert.are.equal("R" .. i, v.code)
      local meta = c:last_meta()
      attempts = attempts + meta.attempts
      if meta.attempts > 1 then retried = retried + 1 end
    end
    assert.is_true(retried > 0)
    local seen = count_log("PUT")     -- see above: curl may resend on a dead kept-alive connection
    assert.is_true(seen >= attempts and seen <= 2 * attempts, ("%d attempts, %d seen"):format(attempts, seen))
    local got = assert(c:request("GET", "/SalesTrackingCodes/1"))
    assert.are.equal("R30", got.code)
  end)

  for _, case in ipairs{ { "/customers/987654", "GET", nil, 404, "not_found" },
                         { "/SalesTrackingCodes", "PUT", '{"id": 1}', 400, "validation" } } do
    local path, method, body, status, kind = case[1], case[2], case[3], case[4], case[5]
    it("never retries a " .. status, function()
      local c = client{ retry = { max_attempts = 5, base_delay = 0.001 } }
      local v, err = c:request(method, path, body)
      assert.is_nil(v)
      assert.are.equal(status, err.status)
      assert.are.equal(kind, err.kind)
      assert.are.equal(1, err.attempts)
      assert.is_false(err.retryable)
      assert.are.equal(1, count_log(method))
    end)
  end

  it("never retries a 409", function()
    -- the sandbox refuses a PUT that puts an Active customer on Hold (409 by default)
    local c = client()
    local active
    for _, cu in ipairs(assert(c:request("GET", "/customers", nil, { query = "status:Active", pageSize = "1" }))) do
      active = cu
    end
    assert.is_table(active)
    active.status = "Hold"
    local v, err = c:request("PUT", "/customers", require("cjson").encode(active))
    assert.is_nil(v)
    assert.are.equal(409, err.status)
    assert.are.equal("conflict", err.kind)
    assert.are.equal(1, err.attempts)
  end)

  it("waits as Retry-After says before retrying a 429", function()
    sb:set_faults("GET:429-retry-after(1)=1", 1)
    local c = client{ retry = { max_attempts = 2, base_delay = 0.001, max_delay = 0.001 } }
    local t0 = core.now()
    local v, err = c:request("GET", "/customers/1")
    assert.is_nil(v)
    assert.are.equal(429, err.status)
    assert.are.equal(2, err.attempts)
    assert.is_true(core.now() - t0 >= 0.95, "retried before Retry-After elapsed")
  end)

  it("waits for the window reset on a 429 without Retry-After", function()
    local limited = sandbox.start{ args = { "--rate-limit", "3/1s" } }
    local c = core.client{ api_key = limited.key, base_url = limited.url, rate_limit = "none",
                           retry = { max_attempts = 4, base_delay = 0.001, max_delay = 0.001 } }
    for _ = 1, 3 do assert(c:request("GET", "/customers/1")) end
    local v, err = c:request("GET", "/customers/1")
    local log = limited:log()
    limited:stop()
    assert.is_table(v, tostring(err))
    assert.are.equal(2, c:last_meta().attempts)   -- one 429, then success in the next window
    local statuses = {}
    for _, e in ipairs(log) do statuses[#statuses + 1] = e.status end
    assert.are.same({ 200, 200, 200, 429, 200 }, statuses)
  end)

  it("times out a hung request and retries it", function()
    sb:set_faults("GET:hang=1", 1)
    local c = client{ timeout = 0.3, retry = { max_attempts = 2, base_delay = 0.001 } }
    local v, err = c:request("GET", "/customers/1")
    assert.is_nil(v)
    assert.are.equal("timeout", err.kind)
    assert.are.equal(2, err.attempts)
    assert.is_true(err.retryable)
  end)

  it("spends at most the client's retry budget", function()
    sb:set_faults("GET:500=1", 1)
    local c = client{ retry = { max_attempts = 5, base_delay = 0.001, budget = 3 } }
    local _, e1 = c:request("GET", "/customers/1")
    local _, e2 = c:request("GET", "/customers/1")
    assert.are.equal(4, e1.attempts)           -- three retries, then the budget is gone
    assert.are.equal(1, e2.attempts)
  end)

  it("fusebill.retry retries a Lua function on retryable errors only", function()
    local calls = 0
    local v = fusebill.retry({ max_attempts = 4, base_delay = 0.001 }, function(x)
      calls = calls + 1
      if calls < 3 then return nil, core.new_error{ kind = "server", message = "try again", retryable = true } end
      return x * 2
    end, 21)
    assert.are.equal(42, v)
    assert.are.equal(3, calls)

    calls = 0
    local r, err = fusebill.retry({ max_attempts = 4, base_delay = 0.001 }, function()
      calls = calls + 1
      return nil, core.new_error{ kind = "not_found", message = "gone", retryable = false }
    end)
    assert.is_nil(r)
    assert.are.equal("not_found", err.kind)
    assert.are.equal(1, calls)

    calls = 0
    assert.has_error(function()
      fusebill.retry({ max_attempts = 2, base_delay = 0.001 }, function()
        calls = calls + 1
        error("boom")
      end)
    end)
    assert.are.equal(2, calls)
  end)
end)
