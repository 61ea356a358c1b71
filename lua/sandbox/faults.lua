-- Fault injection, decided per request with a private seeded PRNG (one draw per API
-- request, so a run is reproducible for a given seed and request sequence).
--
-- SPEC     := RULE (';' RULE)*
-- RULE     := [SELECTOR ':'] KIND '=' PROBABILITY (',' KIND '=' PROBABILITY)*
-- SELECTOR := METHOD | PATH | METHOD ' ' PATH      METHOD: GET, PUT, POST, DELETE or *
--             PATH: a path prefix by segments, case-insensitive, '*' matches one segment
--             ("/v1/customers" matches /v1/customers and /v1/customers/7)
-- KIND     := 429 | 429-retry-after(SECONDS) | 500 | 502 | 503 | 504 (JSON envelope)
--           | 500-html | 502-html | 503-html | 504-html | latency(MS[-MS]) | hang
--           | reset-before | reset-after | empty | truncated | malformed | stale
--           | echo-key (401 whose message repeats the Authorization header, as some
--             gateways do) | redirect (301 to another path) | huge(MB) (200 with MB
--             megabytes of [{},{},...]: what a broken or hostile server may send)
-- Example: 'PUT:500=0.1,reset-after=0.05;GET /v1/customers:latency(20-50)=0.3'
-- Probabilities of every matching kind add up along the spec; at most one fault per
-- request. "before" faults (429*, 5xx*, hang, reset-before, empty) do not apply the
-- write; the others (reset-after, truncated, malformed, stale, latency) do.
local util = require "sandbox.util"

local M = {}

local BEFORE = { ["429"] = true, ["429-retry-after"] = true, ["500"] = true, ["502"] = true, ["503"] = true,
                 ["504"] = true, ["500-html"] = true, ["502-html"] = true, ["503-html"] = true,
                 ["504-html"] = true, hang = true, ["reset-before"] = true, empty = true,
                 ["echo-key"] = true, redirect = true, huge = true }
local AFTER = { ["reset-after"] = true, truncated = true, malformed = true, stale = true, latency = true }
M.BEFORE = BEFORE

local function parse_kind(tok)
  local name, arg = tok:match("^([%w%-]+)%((.-)%)$")
  name = (name or tok):lower()
  if name == "latency" then
    local a, b = (arg or ""):match("^%s*(%d+)%s*%-%s*(%d+)%s*$")
    a = a or (arg or ""):match("^%s*(%d+)%s*$")
    if not a then error(("fault latency needs MS or MS-MS: '%s'"):format(tok), 0) end
    return { kind = "latency", min = tonumber(a), max = tonumber(b or a) }
  elseif name == "429-retry-after" then
    local s = arg and tonumber(arg) or 1
    if not s then error(("fault 429-retry-after needs SECONDS: '%s'"):format(tok), 0) end
    return { kind = name, retry_after = s }
  elseif name == "huge" then
    local mb = arg and tonumber(arg)
    if not mb or mb <= 0 or mb > 256 then error(("fault huge needs MB from 0 to 256: '%s'"):format(tok), 0) end
    return { kind = name, mb = mb }
  elseif BEFORE[name] or AFTER[name] then
    if arg then error(("fault %s takes no argument"):format(name), 0) end
    return { kind = name }
  end
  error(("unknown fault kind '%s'"):format(tok), 0)
end

local function parse_selector(sel)
  sel = sel:match("^%s*(.-)%s*$")
  local method, path = sel:match("^(%S+)%s+(/%S*)$")
  if not method then
    if sel:sub(1, 1) == "/" then path = sel else method = sel end
  end
  if method then
    method = method:upper()
    if not method:match("^[%u*]+$") then error(("bad method '%s' in fault selector"):format(method), 0) end
    if method == "*" then method = nil end
  end
  local segs
  if path then
    segs = {}
    for s in path:lower():gmatch("[^/]+") do segs[#segs + 1] = s end
  end
  return method, segs
end

-- Returns a list of rules; raises a message on a bad spec.
function M.parse(spec)
  local rules = {}
  if spec == nil or spec == "" or spec == util.null then return rules end
  for rule in spec:gmatch("[^;]+") do
    if rule:match("%S") then
      local sel, list = rule:match("^([^:=]*):(.*)$")
      if not sel then list = rule end
      local r = { kinds = {} }
      if sel then r.method, r.segs = parse_selector(sel) end
      for item in list:gmatch("[^,]+") do
        local k, p = item:match("^%s*(.-)%s*=%s*([%d%.]+)%s*$")
        if not k then error(("bad fault '%s' (want KIND=PROBABILITY)"):format(item), 0) end
        local f = parse_kind(k)
        f.p = tonumber(p)
        if not f.p or f.p < 0 or f.p > 1 then error(("bad probability in '%s'"):format(item), 0) end
        r.kinds[#r.kinds + 1] = f
      end
      rules[#rules + 1] = r
    end
  end
  return rules
end

function M.new(spec, seed)
  return { rules = M.parse(spec), spec = spec or "", seed = seed or 1, rnd = util.prng(seed or 1) }
end

local function matches(r, method, segs)
  if r.method and r.method ~= method then return false end
  if r.segs then
    if #segs < #r.segs then return false end
    for i, s in ipairs(r.segs) do
      if s ~= "*" and s ~= segs[i] then return false end
    end
  end
  return true
end

-- Returns the fault (table with .kind, .before) for this request, or nil.
function M.decide(f, method, path)
  if #f.rules == 0 then return nil end
  local segs = {}
  for s in path:lower():gmatch("[^/]+") do segs[#segs + 1] = s end
  local x, acc = f.rnd(), 0
  for _, r in ipairs(f.rules) do
    if matches(r, method, segs) then
      for _, k in ipairs(r.kinds) do
        acc = acc + k.p
        if x < acc then
          local out = util.shallow_copy(k)
          out.before = BEFORE[k.kind] == true
          if k.kind == "latency" then out.ms = k.min + f.rnd() * (k.max - k.min) end
          return out
        end
      end
    end
  end
  return nil
end

return M
