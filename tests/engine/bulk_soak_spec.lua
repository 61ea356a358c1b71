-- Fault soak: 2,000 edits through 25% mixed transient faults (429, 5xx, resets before and
-- after the write, empty replies, hangs until the client times out, truncated and malformed
-- bodies, stale keep-alive connections). Every item must end applied, and the sandbox state
-- must equal the expected state.
local has_core = pcall(require, "fusebill") and package.loaded["fusebill.core"] ~= nil
local build = os.getenv("FUSEBILL_BUILD") or "build"
local has_sandbox = io.open(build .. "/fusebill-sandbox", "rb")
if has_sandbox then has_sandbox:close() end
if not (has_core and has_sandbox) then
  describe("bulk fault soak", function()
    pending("needs the engine (run inside build/fusebill) and build/fusebill-sandbox")
  end)
  return
end

local fusebill = require "fusebill"
local sandbox = require "sandbox"

local N = 2000
-- 25% in all, spread over the transient kinds; every one of them is retried by the client
local FAULTS = "PUT:429=0.02,429-retry-after(0)=0.01,500=0.02,502-html=0.02,503=0.02,504=0.02," ..
  "reset-before=0.03,reset-after=0.03,empty=0.02,hang=0.01,truncated=0.02,malformed=0.02,stale=0.01"

describe("bulk fault soak", function()
  it("applies every one of 2,000 edits through 25% transient faults", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--codes", tostring(N), "--hang", "1000" } }
    finally(function() sb:stop() end)
    local fb = fusebill.new{ api_key = sb.key, base_url = sb.url, timeout = 0.4, connect_timeout = 1,
      retry = { max_attempts = 15, base_delay = 0.002, max_delay = 0.02, budget = 100000 } }
    local codes = {}
    for c in fb.sales_tracking_codes:list{ page_size = 1000 } do codes[#codes + 1] = c end
    table.sort(codes, function(a, b) return a.id < b.id end)
    assert.is_true(#codes >= N)
    local edits = {}
    for i = 1, N do edits[i] = codes[i] end

    sb:set_faults(FAULTS, 42)
    local from = #sb:log()
    local s = fusebill.each(edits, { concurrency = 16, quiet = true }, function(c)
      return fb.sales_tracking_codes:edit{ id = c.id, code = c.code, name = "soak " .. c.id,
        description = "soaked", email = c.email }
    end)
    sb:set_faults("", 1)

    assert.equal(N, s.succeeded, (s.errors[1] or {}).message)
    assert.equal(0, s.failed)
    assert.is_true(s.retries > N / 10, "faults were injected and retried: " .. s.retries)
    -- the log shows faults really happened, and every item has an applied write
    local faulted, applied = 0, {}
    for i, e in ipairs(sb:log()) do
      if i > from then
        if e.fault then faulted = faulted + 1 end
        if e.method == "PUT" and e.applied then applied[#applied + 1] = e end
      end
    end
    assert.is_true(faulted > N / 8, "faults injected: " .. faulted)
    assert.is_true(#applied >= N)
    -- the state: every code renamed, nothing else changed
    local after = {}
    for c in fb.sales_tracking_codes:list{ page_size = 1000 } do after[c.id] = c end
    for i, c in ipairs(codes) do
      local now = after[c.id]
      if i <= N then
        assert.equal("soak " .. c.id, now.name)
        assert.equal("soaked", now.description)
        assert.equal(c.code, now.code)
      else
        assert.equal(c.name, now.name)
      end
    end
  end)
end)
