-- Fixed-window rate limits per account (the sandbox has one key, so one account):
-- a short window ("minute", configurable: 100/2s compresses time for tests) and a
-- daily window (UTC days by default). Windows are aligned to the epoch, so the day
-- window rolls over at UTC midnight.
--
-- Headers on every API response: X-Rate-Limit-{Limit,Remaining,Reset}-{Minute,Day};
-- Reset is an ISO-8601 UTC timestamp with milliseconds (2026-11-21T04:30:02.250Z), and
-- X-Rate-Limit-Reset-{Minute,Day}-Seconds gives the seconds until reset as a decimal.
-- A disabled limit ("none") sends no headers for that window.
local util = require "sandbox.util"

local M = {}

local UNITS = { ms = 0.001, s = 1, m = 60, min = 60, h = 3600, d = 86400 }

-- "1000/60s", "100/2s", "500/1m", "1000" (per default_window), "none" -> {limit, window} or false
function M.parse(spec, default_window)
  if spec == nil then return nil end
  if type(spec) == "number" then return { limit = math.floor(spec), window = default_window } end
  spec = tostring(spec)
  if spec == "none" or spec == "off" or spec == "0" then return false end
  local n, w = spec:match("^(%d+)%s*/%s*(.+)$")
  if not n then
    n = spec:match("^(%d+)$")
    if not n then error(("bad limit '%s' (want N/WINDOW, e.g. 1000/60s, or none)"):format(spec), 0) end
    return { limit = tonumber(n), window = default_window }
  end
  local num, unit = w:match("^(%d*%.?%d*)%s*(%a*)$")
  if not num then error(("bad window '%s' in '%s'"):format(w, spec), 0) end
  local mult = UNITS[unit == "" and "s" or unit:lower()]
  local len = (num == "" and 1 or tonumber(num))
  if not mult or not len or len <= 0 then error(("bad window '%s' in '%s'"):format(w, spec), 0) end
  return { limit = tonumber(n), window = len * mult }
end

function M.new(minute, day)
  return { minute = minute, day = day, counts = {} }
end

local function header_names(suffix)
  return { limit = "X-Rate-Limit-Limit-" .. suffix, remaining = "X-Rate-Limit-Remaining-" .. suffix,
           reset = "X-Rate-Limit-Reset-" .. suffix, seconds = "X-Rate-Limit-Reset-" .. suffix .. "-Seconds" }
end
local MINUTE, DAY = header_names("Minute"), header_names("Day")

-- The counter of the current window; it keeps its reset time formatted, which changes
-- once per window, not once per request.
local function window(lim, name, now, counts)
  local start = math.floor(now / lim.window) * lim.window
  local c = counts[name]
  if not c or c.start ~= start then
    c = { start = start, n = 0 }
    counts[name] = c
  end
  local reset = start + lim.window
  if c.reset ~= reset then c.reset, c.reset_iso = reset, util.timestamp_ms(reset) end
  return c
end

local function add_headers(headers, names, lim, c, now)
  headers[names.limit] = lim.limit
  headers[names.remaining] = math.max(0, lim.limit - c.n)
  headers[names.reset] = c.reset_iso
  headers[names.seconds] = ("%.3f"):format(math.max(0, c.reset - now))
end

-- Counts one request when `consume`; returns nil or the message of the exceeded limit,
-- and the headers to send.
function M.check(rl, now, consume)
  local minute = rl.minute and window(rl.minute, "minute", now, rl.counts)
  local day = rl.day and window(rl.day, "day", now, rl.counts)
  local over
  if consume then
    if minute and minute.n >= rl.minute.limit then
      over = ("Rate limit exceeded: %d requests per %s."):format(rl.minute.limit, M.describe(rl.minute.window))
    elseif day and day.n >= rl.day.limit then
      over = ("Daily rate limit exceeded: %d requests per %s."):format(rl.day.limit, M.describe(rl.day.window))
    else
      if minute then minute.n = minute.n + 1 end
      if day then day.n = day.n + 1 end
    end
  end
  local headers = util.new_table(10)  -- 4 per window, and the server adds Content-Type
  if minute then add_headers(headers, MINUTE, rl.minute, minute, now) end
  if day then add_headers(headers, DAY, rl.day, day, now) end
  return over, headers
end

function M.describe(w)
  if w == 60 then return "minute" end
  if w == 86400 then return "day" end
  return ("%g seconds"):format(w)
end

function M.reset(rl)
  rl.counts = {}
end

return M
