-- The API key never leaves through output, and TLS is verified unless told otherwise.
local sandbox = require "sandbox"
local fusebill = require "fusebill"   -- registers fusebill.core
local core = require "fusebill.core"

local BUILD = os.getenv("FUSEBILL_BUILD") or "build"
-- A key the sandbox accepts, long and distinctive so a leak is easy to spot.
local KEY = "c2VjcmV0LWtleS1mb3ItbGVhay10ZXN0cw=="

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

describe("the API key", function()
  local sb
  setup(function() sb = sandbox.start{ key = KEY, args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)
  before_each(function() sb:set_faults("", 1) end)

  it("is absent from error objects and their strings", function()
    sb:set_faults("GET:500=1", 1)
    local c = core.client{ api_key = KEY, base_url = sb.url, rate_limit = "none",
                           retry = { max_attempts = 2, base_delay = 0.001 } }
    local _, err = c:request("GET", "/customers/1")
    assert.is_not_nil(err)
    assert.is_nil(tostring(err):find(KEY, 1, true))
    for k, v in pairs(err) do
      assert.is_nil(tostring(v):find(KEY, 1, true), "key found in err." .. k)
    end
    for _, v in pairs(c:options()) do assert.is_nil(tostring(v):find(KEY, 1, true)) end
    assert.is_nil(tostring(c):find(KEY, 1, true))
  end)

  it("is absent from --verbose output, which shows every attempt", function()
    sb:set_faults("GET:503=0.5", 3)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local fb = require("fusebill").client()
      for i = 1, 6 do fb.customers:get(1) end
      local _, err = fb.customers:get(99999999)
      print(tostring(err))
      error("failing on purpose")
    ]])
    f:close()
    local out = run(("FUSEBILL_API_KEY=%s %s/fusebill --verbose --retries 5 --base-url %s %s"):format(
      KEY, BUILD, sb.url, script))
    os.remove(script)
    assert.matches("GET /v1/customers/1 %-> 200", out)
    assert.matches("attempt", out)
    assert.matches("failing on purpose", out)
    assert.is_nil(out:find(KEY, 1, true), "the key leaked into the output")
  end)

  it("is refused over plain http to anything but loopback", function()
    local ok, msg = pcall(fusebill.new, { api_key = KEY, base_url = "http://billing.example.com/v1" })
    assert.is_false(ok)
    assert.matches("must not send the API key over plain http to billing.example.com", msg, 1, true)
    assert.is_nil(msg:find(KEY, 1, true))
    assert.is_truthy(fusebill.new{ api_key = KEY, base_url = "http://localhost:9/v1" })
    assert.is_truthy(fusebill.new{ api_key = KEY, base_url = "http://[::1]:9/v1" })
  end)

  it("must not smuggle headers", function()
    local ok, msg = pcall(fusebill.new, { api_key = "abc\r\nX-Evil: 1", base_url = sb.url })
    assert.is_false(ok)
    assert.matches("api_key must be 1 to 1024 characters without spaces or control characters", msg, 1, true)
    assert.is_nil(msg:find("X-Evil", 1, true))
  end)
end)

describe("TLS", function()
  local sb
  setup(function() sb = sandbox.start{ tls = true, args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)

  it("refuses a self-signed certificate by default, without retrying", function()
    local c = core.client{ api_key = sb.key, base_url = sb.url, retry = { max_attempts = 3 } }
    local v, err = c:request("GET", "/customers/1")
    assert.is_nil(v)
    assert.are.equal("network", err.kind)
    assert.are.equal(1, err.attempts)
    assert.is_false(err.retryable)
  end)

  it("accepts it with cacert, in Lua and with --cacert on the command line", function()
    local c = core.client{ api_key = sb.key, base_url = sb.url, cacert = sb.cacert }
    local v = assert(c:request("GET", "/customers/1"))
    assert.are.equal(1, v.id)
    local out, code = run(("FUSEBILL_API_KEY=%s %s/fusebill --cacert %s --base-url %s " ..
      "-e 'print(assert(require(\"fusebill\").client().customers:get(1)).id)'"):format(sb.key, BUILD, sb.cacert, sb.url))
    assert.are.equal(0, code, out)
    assert.matches("^1\n", out)
  end)
end)
