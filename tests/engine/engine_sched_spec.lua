-- The scheduler primitives: requests in managed coroutines yield while curl
-- works, so many are in flight at once; elsewhere the same call blocks.
local sandbox = require "sandbox"
require "fusebill"   -- registers fusebill.core
local core = require "fusebill.core"

describe("managed coroutines", function()
  local sb, c
  setup(function()
    sb = sandbox.start{ args = { "--rate-limit", "none", "--latency", "100" } }
    c = core.client{ api_key = sb.key, base_url = sb.url }
  end)
  teardown(function() sb:stop() end)

  local function run_all(cos)
    local results, pending = {}, #cos
    while pending > 0 do
      for _, co in ipairs(core.wait(5)) do
        local _, r = assert(coroutine.resume(co))
        if coroutine.status(co) == "dead" then
          results[co] = r
          pending = pending - 1
        end
      end
    end
    return results
  end

  it("puts every request in flight before any answer arrives", function()
    -- a new client's first request goes out alone and learns the rate window from its answer
    -- (pacing holds the rest that long); from then on requests leave together
    assert(c:request("GET", "/customers/1"))
    local before = core.stats().attempts
    local cos = {}
    for i = 1, 8 do
      local co = coroutine.create(function()
        local v = assert(c:request("GET", "/customers/" .. i))
        return v.id
      end)
      core.manage(co)
      local ok, token = coroutine.resume(co)
      assert.is_true(ok)
      assert.are.equal(core.WAIT, token)
      cos[i] = co
    end
    assert.are.equal(8, core.stats().attempts - before)   -- all sent, none answered yet
    local results = run_all(cos)
    for i, co in ipairs(cos) do assert.are.equal(i, results[co]) end
  end)

  it("lets a call waiting to retry finish as it began when its client is closed meanwhile", function()
    local sb2 = sandbox.start{ args = { "--rate-limit", "none", "--faults", "GET:429-retry-after(0.3)=1" } }
    local c2 = core.client{ api_key = sb2.key, base_url = sb2.url, retry = { max_attempts = 2 } }
    local co = coroutine.create(function()
      local _, err = c2:request("GET", "/customers/1")
      return err
    end)
    local retries = core.stats().retries
    core.manage(co)
    assert.are.equal(core.WAIT, select(2, coroutine.resume(co)))
    repeat   -- until the first 429 is in and the call sleeps out its Retry-After
      for _, ready in ipairs(core.wait(5)) do assert(coroutine.resume(ready)) end
    until core.stats().retries > retries or coroutine.status(co) == "dead"
    c2:close()
    local err = run_all({ co })[co]
    sb2:stop()
    -- the retry still carried the key (a 401 here would mean it went out without it)
    assert.are.equal(429, err.status)
    assert.are.equal(2, err.attempts)
  end)

  it("hands a call's curl handle back at once when its coroutine is closed mid-request", function()
    collectgarbage("stop")   -- the release must not depend on the collector
    local handles = core.stats().handles
    local co = coroutine.create(function() return c:request("GET", "/customers/3") end)
    core.manage(co)
    assert.are.equal(core.WAIT, select(2, coroutine.resume(co)))
    assert.are.equal(handles + 1, core.stats().handles)
    assert.is_true(coroutine.close(co))
    assert.are.equal(handles, core.stats().handles)
    -- the loop forgot the transfer too: waiting finds nothing to hand back
    assert.are.same({}, core.wait(0.3))
    collectgarbage("restart")
    assert.are.equal(3, assert(c:request("GET", "/customers/3")).id)   -- the client still works
  end)

  it("waits again when resumed before the answer arrives", function()
    local co = coroutine.create(function() return assert(c:request("GET", "/customers/4")).id end)
    core.manage(co)
    assert.are.equal(core.WAIT, select(2, coroutine.resume(co)))
    -- resumed at once, long before the sandbox's 100 ms latency is over
    local ok, token = coroutine.resume(co)
    assert.is_true(ok, token)
    assert.are.equal(core.WAIT, token)
    assert.are.equal(4, run_all({ co })[co])

    local sleeper = coroutine.create(function() core.sleep(0.05); return "slept" end)
    core.manage(sleeper)
    coroutine.resume(sleeper)
    assert.are.equal(core.WAIT, select(2, coroutine.resume(sleeper)))
    assert.are.equal("slept", run_all({ sleeper })[sleeper])
  end)

  it("yields in core.sleep instead of blocking", function()
    local co = coroutine.create(function() core.sleep(0.05); return "slept" end)
    core.manage(co)
    local _, token = coroutine.resume(co)
    assert.are.equal(core.WAIT, token)
    assert.are.equal("slept", run_all({ co })[co])
  end)

  it("blocks inside a user's own coroutine, which keeps working", function()
    local outer = coroutine.create(function()
      local inner = coroutine.wrap(function()
        coroutine.yield("first")
        return assert(c:request("GET", "/customers/2")).id
      end)
      assert.are.equal("first", inner())
      return inner()
    end)
    core.manage(outer)
    local ok, id = coroutine.resume(outer)
    assert.is_true(ok)
    assert.are.equal(2, id)
  end)

  it("blocks outside any coroutine", function()
    assert.are.equal(3, assert(c:request("GET", "/customers/3")).id)
  end)
end)
