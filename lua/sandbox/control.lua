-- The test-control API under /_sandbox/ (loopback clients only; never rate limited,
-- faulted or logged as an API request):
--   GET    /_sandbox/ping                 {"ok":true} (served by C without Lua for GET)
--   POST   /_sandbox/reset  {seed?, customers?, codes?, items?}   regenerate the data set,
--                           clear rate-limit counters and the request log, re-seed the fault dice
--   POST   /_sandbox/load   <state>       replace the state (shape of GET /_sandbox/state)
--   GET    /_sandbox/state                the state dump plus `summary` (the fixed seed records)
--   GET    /_sandbox/log?since=N          request-log entries with seq > N
--   DELETE /_sandbox/log                  clear the request log
--   POST   /_sandbox/faults {spec, seed?} replace the fault spec (and seed)
--   POST   /_sandbox/limits {rate_limit?, daily_limit?, latency?, hang_ms?, status_via_put?,
--                            reset_format?, clock_skew?, max_query_length?}
--   GET    /_sandbox/config               the effective configuration (never the key)
-- A body with an unknown field, a value of the wrong type or out of range (a data set of
-- 1e8 customers would take the machine's memory) gets a 400 naming the field; nothing changes.
local util = require "sandbox.util"
local store = require "sandbox.store"
local seed = require "sandbox.seed"
local faults = require "sandbox.faults"
local rate_limit = require "sandbox.rate_limit"
local reqlog = require "sandbox.reqlog"

local M = {}
local JSON = { ["Content-Type"] = "application/json; charset=utf-8" }

local function reply(status, v)
  if status >= 400 then return status, util.envelope(status, v), JSON end
  return status, util.encode(v), JSON
end

local function body_table(body)
  if body == false then return nil, "The request body is too large." end
  if body == nil or not body:find("%S") then return {} end
  local v, err = util.decode(body)
  if type(v) ~= "table" then return nil, "The request body is not a JSON object: " .. tostring(err) end
  return v
end

-- ---- what each call accepts ----------------------------------------------------------
M.MAX_RECORDS = 1000000   -- per generated kind, as core/sandbox/sbx_options.c; about 2 KB per customer

local function whole(lo, hi)
  return function(v)
    local n = math.type(v) == "float" and math.tointeger(v) or v
    if math.type(n) ~= "integer" or n < lo or n > hi then
      return ("must be a whole number from %d to %d"):format(lo, hi)
    end
  end
end
local A = { string = "a string", number = "a number", boolean = "true or false", null = "null" }
local function one_of(...)
  local types, words = { ... }, {}
  for i, t in ipairs(types) do words[i] = A[t] end
  local expected = "must be " .. table.concat(words, " or ")
  return function(v)
    local t = v == util.null and "null" or type(v)
    for _, want in ipairs(types) do if t == want then return nil end end
    return expected
  end
end
local records, seed_rule = whole(0, M.MAX_RECORDS), whole(-(1 << 53), 1 << 53)
local SHAPES = {
  reset = { seed = seed_rule, customers = records, codes = records, items = records },
  faults = { spec = one_of("string", "null"), seed = seed_rule },
  limits = { rate_limit = one_of("string", "number"), daily_limit = one_of("string", "number"),
             latency = one_of("string", "number", "null"), hang_ms = whole(0, 3600000),
             status_via_put = one_of("boolean"), reset_format = one_of("string"), clock_skew = one_of("number"),
             max_query_length = whole(0, 1 << 20) },
}

local function describe(v)
  if type(v) == "string" then return ("%q"):format(#v > 40 and v:sub(1, 40) .. "..." or v) end
  return v == util.null and "null" or tostring(v)
end

-- nil, or the message of the first field that breaks its rule
local function check_body(shape, b)
  for k, v in pairs(b) do
    local rule = shape[k]
    if not rule then
      local names = {}
      for name in pairs(shape) do names[#names + 1] = name end
      table.sort(names)
      return ("Unknown field '%s' (allowed: %s)."):format(tostring(k), table.concat(names, ", "))
    end
    local why = rule(v)
    if why then return ("%s %s, got %s."):format(k, why, describe(v)) end
  end
end

local function limit_str(l)
  if not l then return "none" end
  return ("%d/%gs"):format(l.limit, l.window)
end

function M.handle(server, S, method, path, query, body, loopback)
  if not loopback then return reply(403, "The sandbox control API answers loopback clients only.") end
  local p = path:lower():gsub("/+$", "")
  local b, berr = body_table(body)
  if not b then return reply(400, berr) end
  local shape = method == "POST" and SHAPES[p:match("^/_sandbox/(%a+)$") or ""]
  local bad = shape and check_body(shape, b)
  if bad then return reply(400, bad) end
  local ok, status, value = pcall(function()
    if p == "/_sandbox/ping" then return 200, { ok = true } end
    if p == "/_sandbox/reset" and method == "POST" then
      server.reseed(b)
      rate_limit.reset(S.rl)
      reqlog.clear(S.log)
      S.faults.rnd = util.prng(S.faults.seed)
      return 200, { ok = true }
    elseif p == "/_sandbox/load" and method == "POST" then
      S.st = store.load(b)
      return 200, { ok = true }
    elseif p == "/_sandbox/state" and method == "GET" then
      local d = store.dump(S.st)
      d.summary = seed.SUMMARY
      return 200, d
    elseif p == "/_sandbox/log" and method == "GET" then
      return 200, util.array(reqlog.since(S.log, math.tointeger(tonumber(query.since)) or 0))
    elseif p == "/_sandbox/log" and method == "DELETE" then
      reqlog.clear(S.log)
      return 200, { ok = true }
    elseif p == "/_sandbox/faults" and method == "POST" then
      local spec = b.spec
      if spec == util.null then spec = nil end
      local sd = math.tointeger(b.seed) or S.faults.seed
      S.faults = faults.new(spec, sd)
      return 200, { ok = true, spec = S.faults.spec, seed = sd }
    elseif p == "/_sandbox/limits" and method == "POST" then
      server.set_limits(b)
      return 200, { ok = true, rate_limit = limit_str(S.rl.minute), daily_limit = limit_str(S.rl.day),
                    reset_format = S.rl.format, clock_skew = S.skew }
    elseif p == "/_sandbox/config" and method == "GET" then
      return 200, { rate_limit = limit_str(S.rl.minute), daily_limit = limit_str(S.rl.day),
                    latency = S.latency and ("%d-%d"):format(S.latency.min, S.latency.max) or "none",
                    faults = S.faults.spec, fault_seed = S.faults.seed, hang_ms = S.cfg.hang_ms,
                    status_via_put = S.cfg.status_via_put, seed = S.cfg.seed,
                    reset_format = S.rl.format, clock_skew = S.skew,
                    max_query_length = S.cfg.max_query_length,
                    public_url = S.cfg.public_url or util.null }
    end
    return 404, ("Unknown sandbox control call %s %s."):format(method, path)
  end)
  if not ok then return reply(400, tostring(status)) end
  return reply(status, value)
end

return M
