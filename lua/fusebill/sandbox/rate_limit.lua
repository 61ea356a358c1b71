-- Fixed-window rate limits per account (the sandbox has one key, so one account):
-- a short window ("minute", configurable: 100/2s compresses time for tests) and a
-- daily window (UTC days by default). Windows are aligned to the epoch, so the day
-- window rolls over at UTC midnight.
--
-- Headers on every API response: X-Rate-Limit-{Limit,Remaining,Reset}-{Minute,Day};
-- Reset is an ISO-8601 UTC timestamp with milliseconds (2026-11-21T04:30:02.250Z), and
-- X-Rate-Limit-Reset-{Minute,Day}-Seconds gives the seconds until reset as a decimal.
-- A disabled limit ("none") sends no headers for that window.
local util = require "fusebill.sandbox.util"

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

local function window(lim, name, now, counts)
  local start = math.floor(now / lim.window) * lim.window
  local c = counts[name]
  if not c or c.start ~= start then
    c = { start = start, n = 0 }
    counts[name] = c
  end
  return c, start + lim.window
end

-- Counts one request when `consume`; returns nil or the message of the exceeded limit,
-- and the headers to send.
function M.check(rl, now, consume)
  local headers = {}
  local over
  local state = {}
  for _, name in ipairs({ "minute", "day" }) do
    local lim = rl[name]
    if lim then
      local c, reset = window(lim, name, now, rl.counts)
      state[name] = { lim = lim, c = c, reset = reset }
      if consume and not over and c.n >= lim.limit then
        over = name == "minute"
          and ("Rate limit exceeded: %d requests per %s."):format(lim.limit, M.describe(lim.window))
          or ("Daily rate limit exceeded: %d requests per %s."):format(lim.limit, M.describe(lim.window))
      end
    end
  end
  for name, s in pairs(state) do
    if consume and not over then s.c.n = s.c.n + 1 end
    local suffix = name == "minute" and "Minute" or "Day"
    headers["X-Rate-Limit-Limit-" .. suffix] = s.lim.limit
    headers["X-Rate-Limit-Remaining-" .. suffix] = math.max(0, s.lim.limit - s.c.n)
    headers["X-Rate-Limit-Reset-" .. suffix] = util.timestamp_ms(s.reset)
    headers["X-Rate-Limit-Reset-" .. suffix .. "-Seconds"] = ("%.3f"):format(math.max(0, s.reset - now))
  end
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
