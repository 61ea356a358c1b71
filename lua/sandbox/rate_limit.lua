-- Fixed-window rate limits per account (the sandbox has one key, so one account):
-- a short window ("minute", configurable: 100/2s compresses time for tests) and a
-- daily window (UTC days by default). Windows are aligned to the epoch, so the day
-- window rolls over at UTC midnight.
--
-- Headers on every API response: X-Rate-Limit-{Limit,Remaining,Reset}-{Minute,Day};
-- Reset is written in one of FORMATS (the API reference leaves it undocumented, so a
-- client must cope with each): by default an ISO-8601 UTC timestamp with milliseconds
-- (2026-11-21T04:30:02.250Z). X-Rate-Limit-Reset-{Minute,Day}-Seconds gives the seconds
-- until reset as a decimal. A disabled limit ("none") sends no headers for that window.
-- `now` is the server's clock (the real one plus --clock-skew), so windows, resets and
-- the Date header all agree with each other and not with the client's clock.
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

-- Whole-second forms round the reset up, so they never name a time before the window ends.
local function iso(t) return util.utc_seconds(math.ceil(t)) .. "Z" end
local function epoch(t) return ("%d"):format(math.ceil(t)) end
local function epoch_ms(t) return ("%d"):format(math.ceil(t * 1000)) end
M.FORMATS = {
  iso = iso, iso_ms = util.timestamp_ms, epoch = epoch, epoch_ms = epoch_ms,
  rfc1123 = function(t) return util.http_date(math.ceil(t)) end,
  delta = false,  -- seconds from now: formatted per response, not per window
}
M.FORMAT_NAMES = "iso, iso_ms, epoch, epoch_ms, delta, rfc1123"

function M.check_format(name)
  if type(name) ~= "string" or M.FORMATS[name] == nil then
    error(("reset format must be one of %s, got '%s'"):format(M.FORMAT_NAMES, tostring(name)), 0)
  end
  return name
end

function M.new(minute, day, format)
  return { minute = minute, day = day, counts = {}, format = M.check_format(format or "iso_ms") }
end

local function header_names(suffix)
  return { limit = "X-Rate-Limit-Limit-" .. suffix, remaining = "X-Rate-Limit-Remaining-" .. suffix,
           reset = "X-Rate-Limit-Reset-" .. suffix, seconds = "X-Rate-Limit-Reset-" .. suffix .. "-Seconds" }
end
local MINUTE, DAY = header_names("Minute"), header_names("Day")

-- The counter of the current window; it keeps its reset time formatted, which changes
-- once per window, not once per request.
local function window(lim, name, now, counts, format)
  local start = math.floor(now / lim.window) * lim.window
  local c = counts[name]
  if not c or c.start ~= start then
    c = { start = start, n = 0 }
    counts[name] = c
  end
  local reset = start + lim.window
  if c.reset ~= reset or c.format ~= format then
    local f = M.FORMATS[format]
    c.reset, c.format, c.reset_text = reset, format, f and f(reset)
  end
  return c
end

local function add_headers(headers, names, lim, c, now)
  local left = ("%.3f"):format(math.max(0, c.reset - now))
  headers[names.limit] = lim.limit
  headers[names.remaining] = math.max(0, lim.limit - c.n)
  headers[names.reset] = c.reset_text or left
  headers[names.seconds] = left
end

-- Counts one request when `consume`; returns nil or the message of the exceeded limit,
-- and the headers to send.
function M.check(rl, now, consume)
  local minute = rl.minute and window(rl.minute, "minute", now, rl.counts, rl.format)
  local day = rl.day and window(rl.day, "day", now, rl.counts, rl.format)
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
  local headers = util.new_table(11)  -- 4 per window, and the server adds Content-Type and Date
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
