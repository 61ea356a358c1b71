-- Shared helpers of the sandbox: JSON encoding with the shapes cjson cannot express
-- (money with 4 decimals, empty arrays, "/" unescaped), the error envelope, Fusebill-style
-- timestamps, UTF-8 lengths, a private PRNG, case-insensitive property binding.
local cjson = require "cjson"
local native = require "sandbox.native"

local M = {}

M.null = cjson.null
cjson.decode_invalid_numbers(false)
cjson.encode_invalid_numbers(false)

-- cjson 2.1.0 prints numbers with %.14g and empty tables as {}; values that must look
-- different are carried as marker strings and patched after encoding. The empty-array
-- marker is the engine's (the client's encoder uses the same one and the same rewrite).
local EMPTY_ARRAY = native.EMPTY_ARRAY
function M.array(t)
  if t == nil or next(t) == nil then return EMPTY_ARRAY end
  return t
end

-- string.format's "%.4f" is slow and amounts repeat (a customer's MRR rarely changes),
-- so each marker is made once (all forgotten past MONEY_MAX amounts).
-- Zero is formatted every time: -0.0 and 0 share a table key but not a rendering.
local MONEY_MAX = 4096
local money_memo, money_count = {}, 0

function M.money(n)
  if n == nil or n == cjson.null then return cjson.null end
  if n == 0 then return ("\1m:%.4f"):format(n) end
  local s = money_memo[n]
  if not s then
    s = ("\1m:%.4f"):format(n)
    if money_count >= MONEY_MAX then money_memo, money_count = {}, 0 end
    money_memo[n], money_count = s, money_count + 1
  end
  return s
end

-- native.json_tidy then rewrites cjson's output in C: the engine's rule for every JSON the
-- project writes ("\/" as "/", the empty-array marker as []), then each money marker
-- '"\u0001m:12.5000"' as the bare number 12.5000.
local json_tidy = native.json_tidy
function M.encode(v)
  return json_tidy(cjson.encode(v))
end

-- JavaScript-style bodies (unquoted keys, single quotes) as the Fusebill docs' own curl
-- samples send them; Json.NET accepts them, so the sandbox does too (strict JSON first).
local function lenient(s)
  s = s:gsub("'([^'\\]*)'", function(inner) return '"' .. inner:gsub('"', '\\"') .. '"' end)
  s = s:gsub('([{,]%s*)([%a_$][%w_$]*)%s*:', '%1"%2":')
  return s
end

-- Returns the decoded value, or nil and a message.
function M.decode(s)
  local ok, v = pcall(cjson.decode, s)
  if ok then return v end
  local ok2, v2 = pcall(cjson.decode, lenient(s))
  if ok2 then return v2 end
  return nil, (tostring(v):gsub("^.-:%d+: ", ""))
end

-- {"ErrorId":0,"HttpStatusCode":S,"Errors":[{"Key":"Api Error","Value":msg},...]}
function M.envelope(status, messages)
  if type(messages) ~= "table" then messages = { messages } end
  local errors = {}
  for i, m in ipairs(messages) do errors[i] = { Key = "Api Error", Value = m } end
  return M.encode({ ErrorId = 0, HttpStatusCode = status, Errors = errors })
end

M.now = native.now
M.mono = native.mono
M.new_table = native.new_table

-- "2019-11-08T13:50:32" for an epoch second. os.date (gmtime, strftime) is the costly
-- part of every timestamp below, and a request formats a few of the same second.
local last_sec, last_date
local function utc_seconds(sec)
  if sec ~= last_sec then last_sec, last_date = sec, os.date("!%Y-%m-%dT%H:%M:%S", sec) end
  return last_date
end
M.utc_seconds = utc_seconds

-- An HTTP date (RFC 1123: "Thu, 03 Dec 2026 10:00:06 GMT") for an epoch second. The
-- names are spelled here: os.date's %a and %b follow the C library's locale. Memoized
-- like utc_seconds: every response carries one in its Date header.
local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local http_sec, http_text
function M.http_date(sec)
  if sec ~= http_sec then
    local d = os.date("!*t", sec)
    http_sec = sec
    http_text = ("%s, %02d %s %04d %02d:%02d:%02d GMT"):format(DAYS[d.wday], d.day, MONTHS[d.month], d.year,
      d.hour, d.min, d.sec)
  end
  return http_text
end

-- t's whole seconds and its fraction in units of 1/scale, rounded; a fraction that
-- rounds up to a whole second carries into the seconds
local function split_seconds(t, scale)
  local sec = math.floor(t)
  local frac = math.floor((t - sec) * scale + 0.5)
  if frac >= scale then return sec + 1, 0 end
  return sec, frac
end

-- "2019-11-08T13:50:32" or "2019-11-08T13:50:32.64" (trailing zeros trimmed)
function M.timestamp(t)
  local sec, us = split_seconds(t, 1000000)  -- a double epoch holds microseconds, not 100 ns
  local s = utc_seconds(sec)
  local frac = ("%06d"):format(us):gsub("0+$", "")
  if frac ~= "" then s = s .. "." .. frac end
  return s
end

-- a just-modified customer: 7 digits and Z, as Fusebill returns it
function M.timestamp7(t)
  local sec, us = split_seconds(t, 1000000)
  return utc_seconds(sec) .. (".%06d0Z"):format(us)
end

-- ISO-8601 UTC with milliseconds, for rate-limit resets
function M.timestamp_ms(t)
  local sec, ms = split_seconds(t, 1000)
  return utc_seconds(sec) .. (".%03dZ"):format(ms)
end

-- The GET-by-id handler of the records in state table `name`: 200 and the record as
-- render(rec, ctx) gives it, or what not_found(id) says.
function M.getter(name, render, not_found)
  return function(ctx)
    local rec = ctx.st[name][ctx.id]
    if not rec then return not_found(ctx.id) end
    return 200, render(rec, ctx)
  end
end

-- A private PCG-style generator: data generation and fault dice each own one, so
-- neither disturbs the other (and math.random stays untouched).
function M.prng(seed)
  local state = (math.tointeger(seed) or 1) * -7046029254386353131 + 7199369481720574745
  return function(a, b)
    state = state * 6364136223846793005 + 1442695040888963407
    local f = (state >> 11) / 9007199254740992.0
    if a == nil then return f end
    if b == nil then a, b = 1, a end
    return a + math.floor(f * (b - a + 1))
  end
end

-- Case-insensitive property binding: returns a table with canonical names, unknown
-- properties dropped. `names` is a list of canonical names. The map also holds each
-- canonical spelling (bound as its lower case is), so the names clients normally send
-- are found without lowering every key of every body. The result may be `t` itself:
-- callers only read it.
local canonical = native.canonical
function M.binder(names)
  local map = {}
  for _, n in ipairs(names) do map[n:lower()] = n end
  for _, n in ipairs(names) do map[n] = map[n:lower()] end
  return function(t)
    if canonical(map, t) then return t end  -- a body read back from a GET, as sent
    local out = {}
    for k, v in pairs(t) do
      local c = map[k]
      if c == nil and type(k) == "string" then c = map[k:lower()] end
      if c then out[c] = v end
    end
    return out
  end
end

-- UTF-8 characters in a string; nil when it is not valid UTF-8
M.ulen = utf8.len

-- integer from a JSON number or a digit string (ASP.NET binds both)
function M.to_int(v)
  if type(v) == "number" then return math.tointeger(v) end
  if type(v) == "string" and v:match("^%s*%-?%d+%s*$") then return math.tointeger(tonumber(v)) end
  return nil
end

function M.shallow_copy(t)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  return o
end

return M
