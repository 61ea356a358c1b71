-- The bulk benchmark proper (see tests/bench/bench_bulk). Three scenarios:
--  1 unthrottled: 20,000 customer edits, concurrency 16, vs wrk (16 connections, the same PUT)
--    and vs a sequential Python requests loop (timed on fewer edits and scaled, as printed)
--  2 latency-bound: sandbox latency 50 ms, 1,000 edits at concurrency 32 vs sequential
--    (fusebill.each at concurrency 1, timed on 100 edits and scaled)
--  3 rate-limited, by the server's word: 3,000 edits against a compressed limit (300 a second)
--    for every form of X-Rate-Limit-Reset-Minute the sandbox writes, for a server clock 5 s
--    ahead and 5 s behind, and for two to four processes sharing the account: the 429s the server sent
--    and the requests served in each full window as a fraction of the limit (tests/lib/pacing.lua).
package.path = "tests/lib/?.lua;" .. package.path
local fusebill = require "fusebill"
local core = package.loaded["fusebill.core"]
local sandbox = require "sandbox"
local pacing = require "pacing"
local cjson = require "cjson"

local N_UNTHROTTLED = tonumber(os.getenv("BENCH_EDITS") or "") or 20000
local N_PYTHON = 1000
local N_LATENCY, N_SEQUENTIAL = 1000, 100
local N_RATE = tonumber(os.getenv("BENCH_PACED_EDITS") or "") or 3000
local RATE_LIMIT, RATE_WINDOW = 300, 1

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function client(sb, extra)
  local o = { api_key = sb.key, base_url = sb.url, timeout = 30,
    retry = { max_attempts = 5, base_delay = 0.05, max_delay = 2 } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return fusebill.new(o)
end

local function active_customers(fb)
  local list = {}
  for c in fb.customers:list{ query = "status:Active", page_size = 1000 } do list[#list + 1] = c end
  return list
end

-- n edits cycling over the given customers: a faithful PUT of the whole customer with a
-- changed name (what a re-tag job sends)
local function edits(customers, n, tag)
  local out = {}
  for i = 1, n do
    local c = customers[(i - 1) % #customers + 1]
    out[i] = { n = i, c = c, name = tag .. "-" .. i }
  end
  return out
end

local function run_each(fb, items, concurrency)
  return fusebill.each(items, { concurrency = concurrency, quiet = true, key = function(e) return e.n end },
    function(e)
      local body = {}
      for k, v in pairs(e.c) do body[k] = v end
      body.firstName = e.name
      return fb.customers:edit(body)
    end)
end

local function put_body(c)
  local body = {}
  for k, v in pairs(c) do body[k] = v end
  body.firstName = "wrk"
  return cjson.encode(body)
end

local function capture(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

local rows = {}
local function row(...) rows[#rows + 1] = { ... } end
local t_bench = core.now()

-- 1. unthrottled ---------------------------------------------------------------------------
do
  local sb = sandbox.start{ args = { "--rate-limit", "none", "--daily-limit", "none",
    "--customers", tostring(math.max(200, N_UNTHROTTLED // 4)), "--quiet" } }
  local fb = client(sb)
  local customers = active_customers(fb)
  local s = run_each(fb, edits(customers, N_UNTHROTTLED, "bench"), 16)
  local ours = s.request_rate
  local env = "BENCH_KEY=" .. sh_quote(sb.key) .. " BENCH_BODY=" .. sh_quote(put_body(customers[1])) .. " "
  local wrk_out = capture(env .. "wrk -t4 -c16 -d5s -s tests/bench/bulk/wrk_put.lua " ..
    sh_quote(sb.url .. "/customers") .. " 2>&1")
  local wrk_rps = tonumber(wrk_out:match("Requests/sec:%s*([%d%.]+)")) or 0/0
  local py_rps = tonumber(capture(env .. "/usr/bin/python3 tests/bench/bulk/seq_requests.py " ..
    sh_quote(sb.url .. "/customers") .. " " .. N_PYTHON .. " 2>&1")) or 0/0
  row(string.format("1 unthrottled: %d customer edits, concurrency 16", N_UNTHROTTLED),
    string.format("%.0f req/s (%d ok, %d failed, %.1fs)", ours, s.succeeded, s.failed, s.elapsed), "", "", "")
  row("    vs wrk -c16, the same PUT (5 s)", string.format("%.0f req/s", wrk_rps),
    string.format("%.2f of wrk", ours / wrk_rps), ">= 0.60", ours / wrk_rps >= 0.6 and "met" or "MISSED")
  row(string.format("    vs Python requests, sequential (%d edits, scaled)", N_PYTHON),
    string.format("%.0f req/s = %.0fs for %d", py_rps, N_UNTHROTTLED / py_rps, N_UNTHROTTLED),
    string.format("%.1fx", ours / py_rps), ">= 10x", ours / py_rps >= 10 and "met" or "MISSED")
  -- the ceiling: what the sandbox itself serves to wrk, in units of the Python loop
  row("    (ceiling: wrk vs the Python loop, same sandbox)", "", string.format("%.1fx", wrk_rps / py_rps), "", "")
  sb:stop()
end

-- 2. latency-bound ------------------------------------------------------------------------
do
  local sb = sandbox.start{ args = { "--rate-limit", "none", "--daily-limit", "none", "--latency", "50",
    "--quiet" } }
  local fb = client(sb)
  local customers = active_customers(fb)
  local s = run_each(fb, edits(customers, N_LATENCY, "lat"), 32)
  local seq = run_each(fb, edits(customers, N_SEQUENTIAL, "seq"), 1)
  local ratio = s.rate / seq.rate
  row(string.format("2 latency 50 ms: %d edits, concurrency 32", N_LATENCY),
    string.format("%.1f edits/s (%.1fs, %d failed)", s.rate, s.elapsed, s.failed), "", "", "")
  row(string.format("    vs sequential (%d edits, scaled)", N_SEQUENTIAL),
    string.format("%.1f edits/s = %.0fs for %d", seq.rate, N_LATENCY / seq.rate, N_LATENCY),
    string.format("%.1fx", ratio), ">= 20x", ratio >= 20 and "met" or "MISSED")
  sb:stop()
end

-- 3. rate-limited -------------------------------------------------------------------------
-- Each row runs its own build/fusebill worker processes (pacing_worker.lua) against one sandbox
-- whose format and clock change between rows (/_sandbox/limits, which also restarts the windows).
do
  local sb = sandbox.start{ args = { "--rate-limit", RATE_LIMIT .. "/" .. RATE_WINDOW .. "s", "--daily-limit", "none",
    "--quiet" } }
  local cases = {}
  for _, f in ipairs({ "iso", "iso_ms", "epoch", "epoch_ms", "delta", "rfc1123" }) do
    cases[#cases + 1] = { format = f, skew = 0, procs = 1, what = "reset as " .. f }
  end
  cases[#cases + 1] = { format = "iso", skew = 5, procs = 1, what = "server clock 5 s ahead (iso)" }
  cases[#cases + 1] = { format = "iso", skew = -5, procs = 1, what = "server clock 5 s behind (iso)" }
  cases[#cases + 1] = { format = "iso", skew = -5.5, procs = 1, what = "5.5 s behind: its seconds tick mid-ours" }
  cases[#cases + 1] = { format = "iso_ms", skew = 0, procs = 2, what = "two processes, one account" }
  cases[#cases + 1] = { format = "iso_ms", skew = 0, procs = 3, what = "three processes, one account" }
  cases[#cases + 1] = { format = "iso_ms", skew = 0, procs = 4, what = "four processes, one account" }
  row(string.format("3 rate limit %d/%ds, %d edits a row, concurrency 8 per process", RATE_LIMIT, RATE_WINDOW, N_RATE),
    "429s, rate in full windows", "of the limit", "<= 1 per 3,000, >= 0.95", "")
  for _, c in ipairs(cases) do
    sb:set_limits{ reset_format = c.format, clock_skew = c.skew }
    local r = pacing.run(sb, { edits = N_RATE, procs = c.procs, concurrency = 8, limit = RATE_LIMIT,
      window = RATE_WINDOW })
    local met = r.throttled * 3000 <= N_RATE and r.rate >= 0.95 and r.failed == 0
    row("    " .. c.what, string.format("%d 429s, %d served in %.1fs, %d windows, %d failed", r.throttled, r.served,
      r.elapsed, r.windows, r.failed), string.format("%.3f", r.rate), "", met and "met" or "MISSED")
  end
  sb:stop()
end

-- table -----------------------------------------------------------------------------------
require("bench_table").print({ "scenario", "measured", "ratio", "target", "" }, rows)
print(string.format("(bench time %.0fs; rates are API requests per second unless marked edits/s)",
  core.now() - t_bench))
