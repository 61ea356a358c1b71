-- Pacing from the X-Rate-Limit-* headers and the explicit token bucket.
local sandbox = require "sandbox"
require "fusebill"   -- registers fusebill.core
local core = require "fusebill.core"

describe("pacing", function()
  it("follows the headers: a sequential run over several windows gets no 429", function()
    local sb = sandbox.start{ args = { "--rate-limit", "25/1s" } }
    local c = core.client{ api_key = sb.key, base_url = sb.url, retry = { max_attempts = 1 } }
    local t0 = core.now()
    for i = 1, 80 do
      local v, err = c:request("GET", "/customers/1")
      assert.is_table(v, "request " .. i .. ": " .. tostring(err))
    end
    local elapsed = core.now() - t0
    local statuses = {}
    for _, e in ipairs(sb:log()) do statuses[e.status] = (statuses[e.status] or 0) + 1 end
    sb:stop()
    assert.are.same({ [200] = 80 }, statuses)
    -- 80 requests at 25 per second cannot take less than two full windows
    assert.is_true(elapsed >= 2.0, "ran faster than the limit allows: " .. elapsed)
  end)

  it("runs at most rate_limit requests per minute when told", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none" } }
    local c = core.client{ api_key = sb.key, base_url = sb.url, rate_limit = 240 }   -- 4 per second
    assert.are.equal(240, c:options().rate_limit)
    local t0 = core.now()
    for _ = 1, 10 do assert(c:request("GET", "/customers/1")) end
    local elapsed = core.now() - t0
    sb:stop()
    -- a burst of 4, then 6 more at 4 per second
    assert.is_true(elapsed >= 1.4, "token bucket let requests through too fast: " .. elapsed)
  end)

  it("stops with a clear error when the daily quota is spent", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--daily-limit", "3" } }
    local c = core.client{ api_key = sb.key, base_url = sb.url, retry = { max_attempts = 3, base_delay = 0.001 } }
    for _ = 1, 3 do assert(c:request("GET", "/customers/1")) end
    local v, err = c:request("GET", "/customers/1")
    local sent = #sb:log()
    sb:stop()
    assert.is_nil(v)
    assert.are.equal("rate_limited", err.kind)
    assert.are.equal("day", err.limit)
    assert.is_false(err.retryable)
    assert.is_number(err.reset_in)
    assert.matches("daily request quota", tostring(err))
    assert.are.equal(3, sent)      -- known spent from the headers: the fourth is not even sent
  end)
end)
