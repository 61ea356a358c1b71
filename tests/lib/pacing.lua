-- Pacing runs against a rate-limited sandbox, shared by tests/engine/engine_pacing_spec.lua
-- and the bulk benchmark: start one or more build/fusebill processes (tests/lib/pacing_worker.lua)
-- on the same sandbox, each making edits through fusebill.each, then read the sandbox's request
-- log to see what the server saw.
--
--   local r = pacing.run(sb, { edits = 300, procs = 2, concurrency = 8, limit = 100, window = 1,
--                              stagger = 0 })   -- seconds between one worker's start and the next
--   r.throttled    429s the server sent
--   r.served       requests it answered otherwise
--   r.rate         requests served per full window (one wholly inside the run) / the limit
--   r.windows      how many full windows that average is over
--   r.elapsed      seconds from the first worker's start to the last one's end
--   r.failed       items that failed in the workers
-- The sandbox's windows are fixed and aligned to its own clock, so the first and last of a
-- run are partial; the full ones between show whether the client uses all of each window.
local cjson = require "cjson"

local M = {}

local BUILD = os.getenv("FUSEBILL_BUILD") or "build"
local WORKER = "tests/lib/pacing_worker.lua"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- "2026-12-03T10:00:06.250Z" (the request log's times, the server's clock) as epoch seconds
local function epoch(iso)
  local y, mo, d, h, mi, s = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):([%d%.]+)Z$")
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  y = mo <= 2 and y - 1 or y
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end
M.epoch = epoch

-- Starts every worker before reading any, so they run side by side. A worker that has not
-- finished in two minutes is stopped (a pacer that starves hangs, and must fail instead).
local function run_workers(sb, opts)
  local pipes = {}
  for i = 1, opts.procs or 1 do
    if i > 1 and (opts.stagger or 0) > 0 then os.execute(("sleep %.3f"):format(opts.stagger)) end
    local cmd = ("FUSEBILL_API_KEY=%s timeout 120 %s/fusebill --base-url %s %s %d %d 2>&1"):format(q(sb.key),
      BUILD, q(sb.url), WORKER, opts.edits // (opts.procs or 1), opts.concurrency or 8)
    pipes[i] = assert(io.popen(cmd))
  end
  local results, output = {}, {}
  for i, p in ipairs(pipes) do
    local out = p:read("a")
    p:close()
    output[#output + 1] = out
    local line = out:match("(%b{})%s*$")
    local ok, v = pcall(cjson.decode, line or "")
    if not ok or type(v) ~= "table" then error("pacing worker " .. i .. " failed:\n" .. out, 2) end
    results[i] = v
  end
  return results, table.concat(output)
end

function M.run(sb, opts)
  local from = #sb:log()
  local results, output = run_workers(sb, opts)
  local r = { throttled = 0, served = 0, failed = 0, output = output }
  local start, finish = math.huge, -math.huge
  for _, v in ipairs(results) do
    r.failed = r.failed + v.failed
    start, finish = math.min(start, v.start), math.max(finish, v.finish)
  end
  r.elapsed = finish - start
  -- requests per window of the server's clock
  local per, first, last = {}, math.huge, -math.huge
  for i, e in ipairs(sb:log()) do
    if i > from then
      if e.status == 429 then
        r.throttled = r.throttled + 1
      else
        r.served = r.served + 1
        local w = math.floor(epoch(e.time) / opts.window)
        per[w] = (per[w] or 0) + 1
        first, last = math.min(first, w), math.max(last, w)
      end
    end
  end
  local sum, n = 0, 0
  r.per_window = {}
  for w = first + 1, last - 1 do
    sum, n = sum + (per[w] or 0), n + 1
    r.per_window[n] = per[w] or 0
  end
  r.windows = n
  r.rate = n > 0 and sum / n / opts.limit or 0 / 0
  return r
end

return M
