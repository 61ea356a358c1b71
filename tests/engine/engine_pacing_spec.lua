-- Pacing from the X-Rate-Limit-* headers and the explicit token bucket.
local sandbox = require "sandbox"
local pacing = require "pacing"
require "fusebill"   -- registers fusebill.core
local core = require "fusebill.core"

-- A compressed limit: 100 requests a second, so a run of a few hundred edits spans
-- several windows in a few seconds. The floors are generous (the benchmark measures the
-- figures): at most one 429 a run, and at least 0.8 of the limit in every full window.
local LIMIT, WINDOW, EDITS = 100, 1, 300

local function assert_paced(r, what)
  local line = ("%s: %d 429s, %d served, %.3f of the limit over %d full windows"):format(what, r.throttled,
    r.served, r.rate, r.windows)
  assert.are.equal(0, r.failed, line .. "\n" .. r.output)
  assert.is_true(r.throttled <= 1, line)
  assert.is_true(r.windows >= 1, line)
  assert.is_true(r.rate >= 0.8, line)
end

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

  describe("against a server that", function()
    local sb
    setup(function()
      sb = sandbox.start{ args = { "--rate-limit", LIMIT .. "/" .. WINDOW .. "s", "--daily-limit", "none" } }
    end)
    teardown(function() sb:stop() end)

    for _, format in ipairs({ "iso", "iso_ms", "epoch", "epoch_ms", "delta", "rfc1123" }) do
      it("writes its reset as " .. format .. ": at the limit, without 429s", function()
        sb:set_limits{ reset_format = format, clock_skew = 0 }
        assert_paced(pacing.run(sb, { edits = EDITS, limit = LIMIT, window = WINDOW }), format)
      end)
    end

    for _, skew in ipairs({ 5, -5 }) do
      it(("runs its clock %+d s off this machine's: its Date header maps the reset"):format(skew), function()
        sb:set_limits{ reset_format = "iso", clock_skew = skew }
        assert_paced(pacing.run(sb, { edits = EDITS, limit = LIMIT, window = WINDOW }), "skew " .. skew)
      end)
    end

    it("is shared by two processes: they slow down together", function()
      sb:set_limits{ reset_format = "iso_ms", clock_skew = 0 }
      assert_paced(pacing.run(sb, { edits = EDITS + 100, procs = 2, limit = LIMIT, window = WINDOW }), "two processes")
    end)

    it("is shared with a process that started first: the second gets its share, neither starves", function()
      sb:set_limits{ reset_format = "iso_ms", clock_skew = 0 }
      assert_paced(pacing.run(sb, { edits = EDITS + 100, procs = 2, stagger = 1, limit = LIMIT, window = WINDOW }),
        "a late second process")
    end)

    it("answers 429 anyway: the client lowers its rate and says so once", function()
      sb:set_limits{ reset_format = "iso_ms", clock_skew = 0 }
      sb:set_faults("PUT:429=0.03", 7)
      finally(function() sb:set_faults("") end)
      local r = pacing.run(sb, { edits = 200, limit = LIMIT, window = WINDOW })
      assert.are.equal(0, r.failed, r.output)
      assert.is_true(r.throttled >= 2, "the faults should have thrown a few 429s: " .. r.throttled)
      local _, said = r.output:gsub("429 Too Many Requests: pacing at 80%% of its rate limit", "")
      assert.are.equal(1, said, r.output)
    end)
  end)
end)
