-- Error objects from every path: the API envelope, odd bodies, curl failures.
local sandbox = require "sandbox"
local fusebill = require "fusebill"
local core = require "fusebill.core"

local sb

local function client(opts)
  opts = opts or {}
  opts.api_key = opts.api_key or sb.key
  opts.base_url = opts.base_url or sb.url
  opts.rate_limit = "none"
  opts.retry = { max_attempts = 1 }
  return core.client(opts)
end

describe("engine error objects", function()
  setup(function() sb = sandbox.start{ args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)
  before_each(function() sb:set_faults("", 1) end)

  it("keeps the envelope: status, kind, message, errors, method and path", function()
    local v, err = client():request("PUT", "/SalesTrackingCodes", '{"id": 424242, "code": "X", "name": "Y"}')
    assert.is_nil(v)
    assert.is_true(fusebill.is_error(err))
    assert.are.equal("not_found", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("PUT", err.method)
    assert.are.equal("/v1/SalesTrackingCodes", err.path)
    assert.are.equal("SalesTrackingCode with id 424242 not found.", err.message)
    assert.are.equal("SalesTrackingCode with id 424242 not found.", err.errors[1].value)
    assert.are.equal(0, err.error_id)
    assert.are.equal(
      "fusebill: not_found (404) PUT /v1/SalesTrackingCodes: SalesTrackingCode with id 424242 not found. (1 attempt)",
      tostring(err))
  end)

  it("reports an unknown key as auth, and a malformed key as auth too", function()
    local _, err = client{ api_key = "bm90LXRoZS1rZXk=" }:request("GET", "/customers/1")
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.status)
    local _, err2 = client{ api_key = "%%%not-base64%%%" }:request("GET", "/customers/1")
    assert.are.equal("auth", err2.kind)
    assert.are.equal(400, err2.status)
    assert.matches("Authorization key is not in the correct format", err2.message, 1, true)
  end)

  local odd = {
    { "500-html", "server", "HTML body" },
    { "malformed", "bad_response", "not valid JSON" },
    { "empty", "network", "" },
    { "truncated", "network", "" },
    { "reset-before", "network", "" },
  }
  for _, case in ipairs(odd) do
    it("turns a " .. case[1] .. " answer into a " .. case[2] .. " error with a message", function()
      sb:set_faults("GET:" .. case[1] .. "=1", 1)
      local v, err = client():request("GET", "/customers/1")
      assert.is_nil(v)
      assert.are.equal(case[2], err.kind)
      assert.is_string(err.message)
      assert.is_true(#err.message > 0)
      assert.matches(case[3], err.message, 1, true)
      assert.are.equal(1, err.attempts)
    end)
  end

  it("gives a network error with curl's reason when nothing listens", function()
    local v, err = client{ base_url = "http://127.0.0.1:1/v1" }:request("GET", "/customers/1")
    assert.is_nil(v)
    assert.are.equal("network", err.kind)
    assert.is_nil(err.status)
    assert.matches("^fusebill: network GET /v1/customers/1: .+ %(1 attempt%)$", tostring(err))
  end)

  it("makes errors in Lua that look like the transport's", function()
    local err = core.new_error{ kind = "validation", field = "firstName", message = "firstName is too long",
                                method = "PUT", path = "/v1/customers" }
    assert.is_true(fusebill.is_error(err))
    assert.are.equal("fusebill: validation PUT /v1/customers: firstName is too long (not sent)", tostring(err))
    assert.has_error(function() core.new_error{ kind = "nonsense", message = "x" } end)
    assert.is_false(fusebill.is_error({ kind = "validation" }))
  end)

  it("raises on wrong argument types, as Lua libraries do", function()
    local c = client()
    assert.has_error(function() c:request("FETCH", "/customers/1") end)
    assert.has_error(function() c:request("GET", {}) end)
    assert.has_error(function() core.client{ timeout = "soon" } end)
    -- the rules on values are fusebill.new's (one checker: fusebill.options)
    assert.has_error(function() fusebill.new{ retry = { max_attempts = 0 } } end)
    assert.has_error(function() fusebill.new{ rate_limit = -3 } end)
  end)
end)
