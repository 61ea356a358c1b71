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
--                            max_query_length?}
--   GET    /_sandbox/config               the effective configuration (never the key)
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

local function limit_str(l)
  if not l then return "none" end
  return ("%d/%gs"):format(l.limit, l.window)
end

function M.handle(server, S, method, path, query, body, loopback)
  if not loopback then return reply(403, "The sandbox control API answers loopback clients only.") end
  local p = path:lower():gsub("/+$", "")
  local b, berr = body_table(body)
  if not b then return reply(400, berr) end
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
      local sd = math.tointeger(tonumber(b.seed)) or S.faults.seed
      S.faults = faults.new(spec, sd)
      return 200, { ok = true, spec = S.faults.spec, seed = sd }
    elseif p == "/_sandbox/limits" and method == "POST" then
      server.set_limits(b)
      return 200, { ok = true, rate_limit = limit_str(S.rl.minute), daily_limit = limit_str(S.rl.day) }
    elseif p == "/_sandbox/config" and method == "GET" then
      return 200, { rate_limit = limit_str(S.rl.minute), daily_limit = limit_str(S.rl.day),
                    latency = S.latency and ("%d-%d"):format(S.latency.min, S.latency.max) or "none",
                    faults = S.faults.spec, fault_seed = S.faults.seed, hang_ms = S.cfg.hang_ms,
                    status_via_put = S.cfg.status_via_put, seed = S.cfg.seed,
                    max_query_length = S.cfg.max_query_length,
                    public_url = S.cfg.public_url or util.null }
    end
    return 404, ("Unknown sandbox control call %s %s."):format(method, path)
  end)
  if not ok then return reply(400, tostring(status)) end
  return reply(status, value)
end

return M
