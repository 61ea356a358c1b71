-- The journal benchmark proper (see tests/bench/bench_journal). Per size N, each phase its own
-- fusebill process against one sandbox holding the codes (reset to its seed between sizes):
--   plan      fusebill --plan P edit.lua ITEMS    N writes planned, none sent (no request: each
--                                                 item brings its current state)
--   apply     fusebill -m apply P                 a GET and a PUT per line, journaled
--   undo      fusebill -m undo P.journal          a GET and a PUT per write, newest first
--   no journal fusebill edit.lua ITEMS            N PUTs: the reference
--   run       fusebill --journal J edit.lua ITEMS N PUTs, each journaled with its before-state
--   rerun     the same command again              N items found done in the journal
-- Memory is each process's peak resident set (VmHWM, printed at exit by rss.lua through
-- LUA_INIT); "start" is the time from the script's start to its first item, journal read.
package.path = "tests/lib/?.lua;" .. package.path
local sandbox = require "sandbox"
local cjson = require "cjson"
local core = package.loaded["fusebill.core"] or (require("fusebill") and package.loaded["fusebill.core"])

local SIZES = {}
for n in (os.getenv("BENCH_JOURNAL_SIZES") or "10000,100000,300000"):gmatch("%d+") do SIZES[#SIZES + 1] = tonumber(n) end
local MAX = math.max(table.unpack(SIZES))
local build = os.getenv("FUSEBILL_BUILD") or "build"
local q = sandbox.quote

local t_bench = core.now()
local sb = sandbox.start{ args = { "--rate-limit", "none", "--daily-limit", "none", "--codes", tostring(MAX),
  "--customers", "0", "--items", "0", "--quiet" } }
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. q(dir)))

-- the items: the codes as the API lists them (records as read, as edit's `current` wants),
-- first N by id, one JSON object a line
local function write_items()
  local codes = {}
  for c in sb:client().sales_tracking_codes:list{ page_size = 1000 } do codes[#codes + 1] = c end
  table.sort(codes, function(a, b) return a.id < b.id end)
  for _, n in ipairs(SIZES) do
    local f = assert(io.open(dir .. "/items-" .. n .. ".jsonl", "wb"))
    for i = 1, n do f:write(cjson.encode(codes[i]), "\n") end
    f:close()
  end
end
write_items()
collectgarbage()

local env = "FUSEBILL_API_KEY=" .. q(sb.key) .. " LUA_INIT=@tests/bench/journal/rss.lua "
local host = env .. q(build .. "/fusebill") .. " --base-url " .. q(sb.url) .. " "

-- runs one phase; returns its peak RSS (MB), wall time (s) and what it printed. A phase that
-- did not do its work (a non-zero exit, an item failed) stops the benchmark: its figures would
-- time nothing.
local function phase(args)
  local t0 = core.now()
  local p = assert(io.popen(host .. args .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  local failed = tonumber(out:match("failed=(%d+)")) or 0
  if not ok or failed > 0 then
    error(("bench_journal: the phase `fusebill %s` did not do its work:\n%s"):format(args, out:sub(-2000)), 0)
  end
  local rss = tonumber(out:match("BENCH%-PHASE rss_kb=(%d+)"))
  return rss and rss / 1024 or 0 / 0, core.now() - t0, out
end

local rows = {}
for _, n in ipairs(SIZES) do
  sb:reset{ codes = MAX, customers = 0, items = 0 }
  local items = q(dir .. "/items-" .. n .. ".jsonl")
  local plan, journal = q(dir .. "/p-" .. n), q(dir .. "/j-" .. n)
  local r = { n = n }
  r.plan_mb, r.plan_s = phase("--plan " .. plan .. " tests/bench/journal/edit.lua " .. items .. " plan")
  r.apply_mb, r.apply_s, r.apply_out = phase("--concurrency 16 -m apply " .. plan)
  r.undo_mb, r.undo_s, r.undo_out = phase("--concurrency 16 -m undo " .. dir .. "/p-" .. n .. ".journal")
  r.base_mb, r.base_s = phase("tests/bench/journal/edit.lua " .. items .. " base")
  r.run_mb, r.run_s = phase("--journal " .. journal .. " tests/bench/journal/edit.lua " .. items .. " run")
  local out
  r.rerun_mb, r.rerun_s, out = phase("--journal " .. journal .. " tests/bench/journal/edit.lua " .. items .. " run")
  r.rerun_start = tonumber(out:match("first=([%d.]+)")) or 0 / 0
  r.rerun_done = tonumber(out:match("done=(%d+)")) or 0
  local f = io.open(dir .. "/j-" .. n, "rb")
  r.journal_mb = f and f:seek("end") / 2 ^ 20 or 0
  if f then f:close() end
  rows[#rows + 1] = r
  io.stderr:write(string.format("bench_journal: %d items done (%.0fs so far)\n", n, core.now() - t_bench))
  os.execute("rm -f " .. q(dir) .. "/p-" .. n .. "* " .. q(dir) .. "/j-" .. n .. "*")
end
sb:stop()
os.execute("rm -rf " .. q(dir))

local function line(cells)
  print(table.concat(cells, " | "))
end
line{ "items", "no journal", "journaled run", "rerun (start / all)", "plan", "apply", "undo", "journal file" }
line{ "---", "---", "---", "---", "---", "---", "---", "---" }
for _, r in ipairs(rows) do
  line{ string.format("%d", r.n),
    string.format("%.0f MB, %.1fs", r.base_mb, r.base_s),
    string.format("%.0f MB, %.1fs", r.run_mb, r.run_s),
    string.format("%.0f MB, %.2fs / %.1fs (%d done)", r.rerun_mb, r.rerun_start, r.rerun_s, r.rerun_done),
    string.format("%.0f MB, %.1fs", r.plan_mb, r.plan_s),
    string.format("%.0f MB, %.1fs", r.apply_mb, r.apply_s),
    string.format("%.0f MB, %.1fs", r.undo_mb, r.undo_s),
    string.format("%.0f MB", r.journal_mb) }
end
print(string.format("(peak RSS of each fusebill process; target: every phase under 100 MB at 300,000 items, " ..
  "a rerun starting in under 2 s; bench time %.0fs)", core.now() - t_bench))
