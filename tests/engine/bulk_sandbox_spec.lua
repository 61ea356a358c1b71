-- fusebill.each against the real engine and the sandbox: pacing at the rate limit with no
-- 429, the daily quota stop, dry run (no write leaves), a paged list as the items.
local has_core = pcall(require, "fusebill") and package.loaded["fusebill.core"] ~= nil
local build = os.getenv("FUSEBILL_BUILD") or "build"
local has_sandbox = io.open(build .. "/fusebill-sandbox", "rb")
if has_sandbox then has_sandbox:close() end
if not (has_core and has_sandbox) then
  describe("fusebill.each with the sandbox", function()
    pending("needs the engine (run inside build/fusebill) and build/fusebill-sandbox")
  end)
  return
end

local fusebill = require "fusebill"
local core = package.loaded["fusebill.core"]
local sandbox = require "sandbox"

local function client(sb, extra)
  local opts = { api_key = sb.key, base_url = sb.url, timeout = 5, connect_timeout = 2,
    retry = { max_attempts = 8, base_delay = 0.01, max_delay = 0.2 } }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return fusebill.new(opts)
end

-- every sales tracking code, read with faults off
local function all_codes(fb)
  local list = {}
  for code in fb.sales_tracking_codes:list{ page_size = 1000 } do list[#list + 1] = code end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

-- counts request-log entries after the first `from` ones that satisfy pred
local function count_log(sb, from, pred)
  local n = 0
  for i, e in ipairs(sb:log()) do if i > from and pred(e) then n = n + 1 end end
  return n
end

describe("fusebill.each with the sandbox", function()
  it("runs a few hundred edits at the rate limit with no 429", function()
    local sb = sandbox.start{ args = { "--rate-limit", "100/2s", "--codes", "300" } }
    finally(function() sb:stop() end)
    local fb = client(sb, { rate_limit = "auto" })
    local codes = all_codes(fb)
    assert.is_true(#codes >= 300)
    local edits = {}
    for i = 1, 300 do edits[i] = codes[i] end
    local from = #sb:log()
    local s = fusebill.each(edits, { concurrency = 8, quiet = true }, function(c)
      return fb.sales_tracking_codes:edit{ id = c.id, code = c.code, name = "paced " .. c.id,
        description = c.description, email = c.email }
    end)
    assert.equal(300, s.succeeded)
    assert.equal(0, s.failed)
    assert.equal(0, s.throttled)
    assert.equal(0, count_log(sb, from, function(e) return e.status == 429 end))
    -- the limit is 50 requests/s; a generous floor so a slow box does not flake (the bench
    -- measures the exact figure)
    assert.is_true(s.request_rate >= 25, "effective rate " .. s.request_rate .. " req/s")
  end)

  it("stops cleanly when the daily quota is gone and says when it resets", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--daily-limit", "40/1h", "--codes", "100" } }
    finally(function() sb:stop() end)
    local fb = client(sb)
    local codes = all_codes(fb)   -- a request or two of the quota
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    -- the list gave each code's current state: a journaled edit given it needs no read first
    local s = fusebill.each(codes, { concurrency = 4, quiet = true, journal = path }, function(c)
      return fb.sales_tracking_codes:edit({ id = c.id, code = c.code, name = "quota " .. c.id }, c)
    end)
    assert.equal("daily_quota", s.stopped)
    assert.is_number(s.reset_in)
    assert.is_true(s.reset_in > 0 and s.reset_in <= 3600)
    assert.equal(0, s.failed)
    assert.is_true(s.succeeded > 20 and s.succeeded < 40)
    local entries, info = require("fusebill.journal").load(path)
    assert.equal(s.succeeded, info.records)
    for _, rec in pairs(entries) do assert.equal("ok", rec.outcome) end
  end)

  it("in dry run sends no write and sums up what would change", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none" } }
    finally(function() sb:stop() end)
    local fb = client(sb, { dry_run = true })
    local from = #sb:log()
    local path = os.tmpname()
    os.remove(path)
    local s = fusebill.each({ 1, 6, 8 }, { concurrency = 3, quiet = true, dry_run = true, journal = path,
      key = function(id) return id end }, function(id)
      return fb.customers:update(id, { primaryEmail = "new" .. id .. "@example.com" })
    end)
    assert.equal(3, s.succeeded)
    assert.is_true(s.dry_run)
    assert.equal(3, s.would_change.items)
    assert.same({ { field = "primaryEmail", count = 3 } }, s.would_change.fields)
    assert.is_nil(io.open(path, "rb"))      -- a dry run leaves no journal behind
    local writes = count_log(sb, from, function(e) return e.method ~= "GET" end)
    assert.equal(0, writes)
    assert.is_true(count_log(sb, from, function(e) return e.method == "GET" end) >= 3)
  end)

  it("keeps the user's own coroutines working inside fn, API calls included", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--latency", "5" } }
    finally(function() sb:stop() end)
    local fb = client(sb)
    local got = {}
    local s = fusebill.each({ 1, 2, 6, 8 }, { concurrency = 4, quiet = true, key = function(id) return id end },
      function(id)
        -- a generator of the user's own that calls the API inside its coroutine
        local gen = coroutine.wrap(function()
          local c = assert(fb.customers:get(id))
          coroutine.yield(c.firstName)
          coroutine.yield(c.lastName)
        end)
        local first, last = gen(), gen()
        coroutine.yield("stray")               -- escapes fn: each() resumes it
        got[id] = tostring(first) .. " " .. tostring(last)
        return fb.customers:update(id, { title = "Dr" })
      end)
    assert.equal(4, s.succeeded, (s.errors[1] or {}).message)
    assert.equal("Ada Lovelace", got[1])
    assert.equal("Dr", assert(fb.customers:get(8)).title)
  end)

  it("takes its items from a paged list while editing, and yields while fetching pages", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--customers", "150", "--latency", "5" } }
    finally(function() sb:stop() end)
    local fb = client(sb)
    local seen = {}
    local s = fusebill.each(fb.customers:list{ query = "status:Active", page_size = 25 },
      { concurrency = 8, quiet = true }, function(c)
        seen[#seen + 1] = c.id
        return fb.customers:update(c.id, { customerReference = { reference3 = "TAG-" .. c.id } })
      end)
    assert.equal(0, s.failed)
    assert.is_true(#seen > 25)   -- more than one page
    assert.equal(#seen, s.succeeded)
    local c = assert(fb.customers:get(seen[#seen]))
    assert.equal("TAG-" .. seen[#seen], c.customerReference.reference3)
    assert.is_true(core.stats().requests > 0)
  end)
end)
