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
    -- the same exact rule as the engine's: a name that only starts like loopback is not
    local ok2, msg2 = pcall(fusebill.new, { api_key = KEY, base_url = "http://127.evil.example/v1" })
    assert.is_false(ok2)
    assert.matches("must not send the API key over plain http to 127.evil.example", msg2, 1, true)
    assert.is_truthy(fusebill.new{ api_key = KEY, base_url = "http://127.0.0.1:9/v1" })
  end)

  it("is refused over plain http to anything but loopback, checked exactly", function()
    for _, url in ipairs({ "http://billing.example.com/v1", "http://127.evil.example/v1",
                           "http://127.0.0.1.nip.io/v1", "http://localhost.evil.example/v1",
                           "http://127.0.0.1@evil.example/v1", "http://[::ffff:10.0.0.1]/v1", "http://10.127.0.1/v1" }) do
      local ok, msg = pcall(core.client, { api_key = KEY, base_url = url })
      assert.is_false(ok, url)
      assert.matches("refusing to send the API key over plain http", msg)
      assert.is_nil(msg:find(KEY, 1, true))
    end
    for _, url in ipairs({ "http://localhost:9/v1", "http://LOCALHOST:9/v1", "http://127.0.0.1:9/v1",
                           "http://127.200.3.4:9/v1", "http://[::1]:9/v1" }) do
      assert.is_truthy(core.client{ api_key = KEY, base_url = url }, url)
    end
  end)

  it("goes to loopback directly, never through a proxy from the environment", function()
    local proxy = sandbox.start{ args = { "--rate-limit", "none" } }
    finally(function() proxy:stop() end)
    local env = ("http_proxy=%s HTTP_PROXY=%s ALL_PROXY=%s all_proxy=%s"):format(proxy.base, proxy.base,
      proxy.base, proxy.base)
    local out, code = run(("%s FUSEBILL_API_KEY=%s %s/fusebill --base-url %s -e %s"):format(env, KEY, BUILD, sb.url,
      "'print(assert(require(\"fusebill\").client().customers:get(1)).id)'"))
    assert.are.equal(0, code, out)
    assert.matches("^1\n", out)
    assert.are.same({}, proxy:log())   -- the would-be proxy saw nothing, key or not
  end)

  it("is redacted from errors when the server echoes it back, inside fusebill.each or not", function()
    sb:set_faults("echo-key=1", 1)
    local c = core.client{ api_key = KEY, base_url = sb.url, rate_limit = "none" }
    local _, err = c:request("GET", "/customers/1")
    assert.are.equal("auth", err.kind)
    assert.matches("[redacted]", err.message, 1, true)
    for k, v in pairs(err) do assert.is_nil(tostring(v):find(KEY, 1, true), "key found in err." .. k) end
    assert.is_nil(err.errors[1].value:find(KEY, 1, true))
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local fusebill = require "fusebill"
      local own = fusebill.new{ api_key = os.getenv("FUSEBILL_API_KEY"), base_url = arg[1] }
      for _, fb in ipairs({ fusebill.client(), own }) do
        print(select(2, fb.customers:get(1)))
        local s = fusebill.each({ 1, 2 }, {}, function(id) return fb.customers:get(id) end)
        for _, e in ipairs(s.errors) do print(e.message) end
      end
      assert(fusebill.client().customers:get(3))
    ]])
    f:close()
    local out = run(("FUSEBILL_API_KEY=%s %s/fusebill --base-url %s %s %s"):format(KEY, BUILD, sb.url, script, sb.url))
    os.remove(script)
    assert.matches("[redacted]", out, 1, true)
    assert.is_nil(out:find(KEY, 1, true), "the key leaked into the output:\n" .. out)
  end)

  it("never reaches a core dump", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    finally(function() os.execute("rm -rf " .. dir) end)
    local crash = [[-e 'fb = require("fusebill").client(); fb.customers:get(1)
      local f = io.open("/proc/self/stat"); local pid = f:read("n"); f:close(); os.execute("kill -SEGV " .. pid)']]
    local function crash_in(key_env)
      os.execute("rm -f " .. dir .. "/core*")
      run(("cd %s && ulimit -c unlimited 2>/dev/null; %s %s/fusebill --base-url %s %s"):format(dir, key_env,
        os.getenv("PWD") .. "/" .. BUILD, sb.url, crash))
      local p = io.popen("cat " .. dir .. "/core* 2>/dev/null")
      local dump = p:read("a")
      p:close()
      return dump
    end
    -- without a key this machine does write a core file, or the test proves nothing
    if #crash_in("") == 0 then
      pending("this machine writes no core files (core_pattern or limits): nothing to check")
      return
    end
    local dump = crash_in("FUSEBILL_API_KEY=" .. KEY)
    assert.are.equal(0, #dump, "a process holding the key wrote a core file")
  end)

  it("keeps core dumps off while a client in this process holds it, and its pages out of any", function()
    local function core_limit()
      for line in io.lines("/proc/self/limits") do
        local soft = line:match("^Max core file size%s+(%S+)")
        if soft then return soft end
      end
    end
    local function undumped()   -- kB in mappings flagged "dd" (MADV_DONTDUMP); neighbours may merge
      local kb, size = 0, 0
      for line in io.lines("/proc/self/smaps") do
        size = tonumber(line:match("^Size:%s+(%d+) kB")) or size
        if line:match("^VmFlags:.* dd") then kb = kb + size end
      end
      return kb
    end
    local before, flagged = core_limit(), undumped()
    local c = core.client{ api_key = KEY, base_url = sb.url }
    assert.are.equal("0", core_limit())
    assert.is_true(undumped() > flagged)
    local keyless = core.client{ base_url = sb.url }
    keyless:close()
    assert.are.equal("0", core_limit())
    c:close()
    assert.are.equal(before, core_limit())
  end)

  it("must not smuggle headers", function()
    local ok, msg = pcall(fusebill.new, { api_key = "abc\r\nX-Evil: 1", base_url = sb.url })
    assert.is_false(ok)
    assert.matches("api_key must be 1 to 1024 characters without spaces or control characters", msg, 1, true)
    assert.is_nil(msg:find("X-Evil", 1, true))
  end)
end)

describe("answers a client does not take", function()
  local sb
  setup(function() sb = sandbox.start{ args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)
  before_each(function() sb:set_faults("", 1) end)

  it("a 3xx is a redirect error naming where it points, not followed", function()
    sb:set_faults("redirect=1", 1)
    local c = core.client{ api_key = sb.key, base_url = sb.url, retry = { max_attempts = 3 } }
    local v, err = c:request("GET", "/customers/1")
    assert.is_nil(v)
    assert.are.equal("redirect", err.kind)
    assert.are.equal(301, err.status)
    assert.matches("/moved/v1/customers/1$", err.location)
    assert.matches("redirects to http://.*/moved/v1/customers/1", err.message)
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, #sb:log())   -- nothing went to the new location
  end)

  it("a body over 16 MB, or one that would decode into far more memory than its size, is refused", function()
    for fault, says in pairs({ ["huge(20)"] = "larger than the 16 MB", ["huge(3)"] = "more than 64 MB of memory to decode" }) do
      sb:set_faults(fault .. "=1", 1)
      local c = core.client{ api_key = sb.key, base_url = sb.url, retry = { max_attempts = 3 } }
      local _, err = c:request("GET", "/customers/1")
      assert.are.equal("bad_response", err.kind)
      assert.matches(says, err.message)
      assert.is_false(err.retryable)
      assert.are.equal(1, err.attempts)
    end
  end)

  it("large bodies in flight together stay under one cap, whatever the concurrency", function()
    sb:set_faults("huge(6)=1", 1)
    local c = core.client{ api_key = sb.key, base_url = sb.url, retry = { max_attempts = 2, base_delay = 0.01 } }
    local ids = {}
    for i = 1, 16 do ids[i] = i end
    local peak0 = core.stats().buffered_peak
    local s = fusebill.each(ids, { concurrency = 16, quiet = true }, function(id)
      local _, err = c:request("GET", "/customers/" .. id)
      return nil, err
    end)
    assert.are.equal(16, s.failed)
    for _, e in ipairs(s.errors) do assert.matches("fusebill: bad_response", e.message) end
    assert.is_true(core.stats().buffered_peak <= 64 * 1048576, core.stats().buffered_peak)
    assert.is_true(core.stats().buffered_peak > peak0)
    assert.are.equal(0, core.stats().buffered)   -- every body given back
  end)
end)

describe("options that would overflow once converted", function()
  it("are refused with a clear error instead", function()
    for _, o in ipairs({ { timeout = 1e300 }, { connect_timeout = 1e20 }, { retry = { max_attempts = 1e300 } },
                         { retry = { budget = 1e30 } }, { retry = { base_delay = 0 / 0 } } }) do
      local ok, msg = pcall(fusebill.new, o)   -- the one option checker bounds them
      assert.is_false(ok)
      assert.matches("must be a ", msg)
    end
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
