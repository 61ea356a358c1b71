-- The request-cost benchmark proper (see tests/bench/bench_cost). A bulk update of N customers
-- (3,000; BENCH_COST_CUSTOMERS to change), one in ten already holding the new value, against
-- the sandbox with its limit compressed to 600 requests per 6 s:
--   list-driven   fusebill.each(fb.customers:list{}, ...) and update(c, changes)
--   id-driven     fusebill.each(fb.customers:get_many(ids), ...) and update(c, changes)
-- each timed from the start of a rate window, against the least time the limit allows
-- (requests sent / the limit's rate). Beside them, counted without a limit (the count does
-- not depend on it): the same list-driven run with update(c.id, changes), which reads each
-- customer first, and an id-driven run over sales tracking codes, which the API cannot list
-- by id.
package.path = "tests/lib/?.lua;" .. package.path
local fusebill = require "fusebill"
local core = package.loaded["fusebill.core"]
local sandbox = require "sandbox"

local N = tonumber(os.getenv("BENCH_COST_CUSTOMERS") or "") or 3000
local LIMIT, WINDOW = 600, 6
local t_bench = core.now()

local sb = sandbox.start{ args = { "--rate-limit", "none", "--daily-limit", "none", "--customers", tostring(N - 8),
  "--codes", tostring(N - 6), "--quiet" } }

local function client(rate_limit)
  return fusebill.new{ api_key = sb.key, base_url = sb.url, timeout = 30, rate_limit = rate_limit,
    retry = { max_attempts = 5, base_delay = 0.05, max_delay = 2 } }
end

local NEW = "Acme"
local function no_op(id) return id % 10 == 3 end   -- one in ten already holds the new value

-- Fresh data with the no-ops in place, set without a limit; then the limit, if any.
local function prepare(limit)
  sb:set_limits{ rate_limit = "none" }
  sb:reset{ customers = N - 8, codes = N - 6 }
  local fb = client("none")
  local ids = {}
  for id = 1, N do if no_op(id) then ids[#ids + 1] = id end end
  fusebill.each(ids, { concurrency = 16, quiet = true }, function(id)
    assert(fb.customers:update(id, { companyName = NEW }))
    return fb.sales_tracking_codes:update(id, { name = NEW .. " " .. id })
  end)
  if limit then sb:set_limits{ rate_limit = limit } end
end

-- Sleeps until the sandbox's current rate window ends, so a run starts with a whole window.
local function to_window_start(fb)
  assert(fb.customers:get(1))
  local left = tonumber(fb:last_meta().headers["x-rate-limit-reset-minute-seconds"]) or 0
  core.sleep(left + 0.02)
end

local function all_ids()
  local ids = {}
  for id = 1, N do ids[id] = tostring(id) end   -- as read from a CSV
  return ids
end

local rows = {}
local function row(...) rows[#rows + 1] = { ... } end

local function cost_cells(s)
  return string.format("%d / %d / %d = %d", s.lists, s.reads, s.writes, s.requests),
    string.format("%.4f", s.requests_per_change or 0/0)
end

-- A rate-limited run: its cost, and its wall time against requests / rate.
local function timed(what, items_of, fn)
  prepare(LIMIT .. "/" .. WINDOW .. "s")
  local fb = client("auto")
  to_window_start(fb)
  local s = fusebill.each(items_of(fb), { concurrency = 16, quiet = true }, function(c) return fn(fb, c) end)
  local least = s.requests / (LIMIT / WINDOW)
  local fraction = least / s.elapsed
  local requests, per = cost_cells(s)
  local per_ok = s.requests_per_change <= 1.01
  row(what, requests, per, string.format("%.2fs / %.2fs = %.3f", least, s.elapsed, fraction),
    string.format("%d changed, %d unchanged, %d failed, %d 429s", s.succeeded, s.unchanged, s.failed, s.throttled),
    (per_ok and fraction >= 0.95) and "met" or "MISSED")
end

-- An unthrottled run, for its request count only.
local function counted(what, items_of, fn, note)
  prepare(nil)
  local fb = client("none")
  local s = fusebill.each(items_of(fb), { concurrency = 16, quiet = true }, function(c) return fn(fb, c) end)
  local requests, per = cost_cells(s)
  row(what, requests, per, "(no limit: count only)",
    string.format("%d changed, %d unchanged, %d failed", s.succeeded, s.unchanged, s.failed), note)
end

local change = { companyName = NEW }

timed(string.format("list-driven: each(list{}), update(c, ...), %d customers", N),
  function(fb) return fb.customers:list{} end,
  function(fb, c) return fb.customers:update(c, change) end)
timed(string.format("id-driven: each(get_many(ids)), update(c, ...), %d ids", N),
  function(fb) return fb.customers:get_many(all_ids()) end,
  function(fb, c) return fb.customers:update(c, change) end)
counted("  for comparison: list-driven, update(c.id, ...)",
  function(fb) return fb.customers:list{} end,
  function(fb, c) return fb.customers:update(c.id, change) end,
  "a GET per item")
counted(string.format("  id-driven codes: get_many(ids), update(c, ...), %d ids", N),
  function(fb) return fb.sales_tracking_codes:get_many(all_ids()) end,
  function(fb, c) return fb.sales_tracking_codes:update(c, { name = NEW .. " " .. c.id }) end,
  "no filter by id: a GET per id")
sb:stop()

-- table -----------------------------------------------------------------------------------
require("bench_table").print({ "scenario (limit " .. LIMIT .. "/" .. WINDOW .. "s, 1 in 10 no-op)",
  "requests list / read / write", "per changed edit", "least / wall time", "items", "target" }, rows)
print("(targets: <= 1.01 requests per changed edit, wall time >= 0.95 of requests / rate; " ..
  string.format("bench time %.0fs)", core.now() - t_bench))
