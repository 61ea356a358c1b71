-- Entry point of the sandbox's behaviour. core/sandbox/sbx_server.c calls init(config) once and
-- then handle(method, path, query, authorization, body, host, loopback, query_string) per
-- request, always under lua_pcall, from the one polling thread that owns this Lua state.
--   body: the raw request body, nil when empty, false when it exceeded the size cap.
--   query_string: the query as sent (after '?', still escaped), nil when there is none.
-- handle returns: status, body, headers, action, delay_ms
--   action: nil | "reset" (RST) | "empty" (close, no response) | "truncated" | "stale"
--   delay_ms: hold the connection this long before acting (latency, hang)
local util = require "sandbox.util"
local store = require "sandbox.store"
local seed = require "sandbox.seed"
local router = require "sandbox.router"
local rate_limit = require "sandbox.rate_limit"
local faults = require "sandbox.faults"
local reqlog = require "sandbox.reqlog"
local control = require "sandbox.control"
local check = require "sandbox.check"

local M = {}
local S = {}   -- the server's state: cfg, st (data), rl, faults, log, latency
M.S = S

local JSON = "application/json; charset=utf-8"
local UNDERSCORE = ("_"):byte()

local function parse_latency(spec)
  if spec == nil or spec == util.null or spec == "" or spec == "none" or spec == 0 or spec == "0" then
    return nil
  end
  local a, b = tostring(spec):match("^%s*(%d+)%s*%-%s*(%d+)%s*$")
  a = a or tostring(spec):match("^%s*(%d+)%s*$")
  if not a then error(("bad latency '%s' (want MS or MS-MS)"):format(tostring(spec)), 0) end
  return { min = tonumber(a), max = tonumber(b or a) }
end
M.parse_latency = parse_latency

-- The clock skew as a number of seconds, within a day either way.
local function parse_skew(v)
  local n = tonumber(v)
  if not n or n ~= n or math.abs(n) > 86400 then
    error(("bad clock skew '%s' (want seconds between -86400 and 86400)"):format(tostring(v)), 0)
  end
  return n
end

-- Every field is checked before any is applied, so a bad one changes nothing.
function M.set_limits(t)
  local minute = t.rate_limit ~= nil and rate_limit.parse(t.rate_limit, 60)
  local day = t.daily_limit ~= nil and rate_limit.parse(t.daily_limit, 86400)
  local latency = t.latency ~= nil and parse_latency(t.latency)
  local format = t.reset_format ~= nil and rate_limit.check_format(t.reset_format)
  local skew = t.clock_skew ~= nil and parse_skew(t.clock_skew)
  if t.rate_limit ~= nil then S.rl.minute = minute end
  if t.daily_limit ~= nil then S.rl.day = day end
  if t.latency ~= nil then S.latency = latency or nil end
  if format then S.rl.format = format end
  if skew then S.skew = skew end
  if t.hang_ms ~= nil then S.cfg.hang_ms = t.hang_ms end
  if t.status_via_put ~= nil then S.cfg.status_via_put = t.status_via_put end
  if t.max_query_length ~= nil then S.cfg.max_query_length = math.tointeger(t.max_query_length) end
  rate_limit.reset(S.rl)
end

function M.reseed(opts)
  opts = opts or {}
  local sizes = {}
  for _, k in ipairs({ "customers", "codes", "items" }) do
    sizes[k] = math.tointeger(tonumber(opts[k])) or S.cfg.sizes[k]
  end
  S.st = seed.generate(math.tointeger(tonumber(opts.seed)) or S.cfg.seed, sizes)
end

local function read_json_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot open " .. tostring(err), 0) end
  local s = f:read("a")
  f:close()
  local v, derr = util.decode(s)
  if v == nil then error(("%s: not valid JSON: %s"):format(path, derr), 0) end
  return v
end

function M.init(cfg)
  S.cfg = {
    api_key = cfg.api_key or "MDpzYW5kYm94",
    status_via_put = cfg.status_via_put == true,
    public_url = cfg.public_url and cfg.public_url:gsub("/+$", "") or nil,
    scheme = cfg.scheme or "http",
    hang_ms = cfg.hang_ms or 30000,
    max_query_length = cfg.max_query_length or 2048,
    seed = cfg.seed or 1,
    sizes = { customers = cfg.customers, codes = cfg.codes, items = cfg.items },
    quiet = cfg.quiet,
  }
  S.accepted_auth, S.base_host, S.base = nil, nil, nil  -- answers remembered under the previous config
  if cfg.data_file then
    S.st = store.load(read_json_file(cfg.data_file))
  else
    M.reseed()
  end
  S.rl = rate_limit.new(rate_limit.parse(cfg.rate_limit or "1000/60s", 60),
                        rate_limit.parse(cfg.daily_limit or "180000", 86400), cfg.reset_format)
  S.skew = parse_skew(cfg.clock_skew or 0)
  S.latency = parse_latency(cfg.latency)
  S.faults = faults.new(cfg.faults, cfg.fault_seed or 1)
  S.log = reqlog.new(cfg.log_file)
  return M.handle
end

function M.save(path)
  local f = assert(io.open(path, "wb"))
  f:write(util.encode(store.dump(S.st)), "\n")
  f:close()
end

-- per-request context handed to the resource handlers
local Ctx = {}
Ctx.__index = Ctx

-- The request body as a JSON object, its field names bound by `bind` (util.binder)
-- when given; or nil, 400 and why not.
function Ctx:object(bind)
  local body = self.body
  if body == nil or not body:find("%S") then return nil, 400, "The request body is empty." end
  local v, err = util.decode(body)
  if v == nil then return nil, 400, "The request body is not valid JSON: " .. err end
  if type(v) ~= "table" or (next(v) ~= nil and #v > 0) then
    return nil, 400, "The request body must be a JSON object."
  end
  if bind then return bind(v) end
  return v
end

-- A PUT or POST body as Ctx:object reads it, a fresh list for the errors found in it,
-- and its integer field `key` (nil, with `missing` or a type error in the list, when
-- it is absent or not an integer); or nil, 400 and why the body is no object at all.
function Ctx:keyed_object(bind, key, missing)
  local b, st, msg = self:object(bind)
  if not b then return nil, st, msg end
  local errs = {}
  return b, errs, check.required(errs, missing, check.integer, key, b[key])
end

function Ctx.next_id(kind)
  return store.next_id(S.st, kind)
end

function Ctx.sorted(name)
  return store.sorted(S.st[name])
end

-- The real API says only "denied"; the sandbox adds, as a second entry of the same
-- envelope, what the request lacks, so a first curl against it is not a riddle.
local KEY_HINT = "the key the sandbox was started with (--api-key; MDpzYW5kYm94 unless another was given)"
local DENIED = "Authorization has been denied for this request."

local function auth_check(auth)
  -- a client sends the same header every time: the last one accepted skips the patterns
  if auth and auth == S.accepted_auth then return nil end
  if not auth or auth == "" then
    return 401, { DENIED, "Sandbox: the request has no Authorization header; send 'Authorization: Basic <key>' "
      .. "with " .. KEY_HINT .. "." }
  end
  local scheme, token = auth:match("^%s*(%S+)%s+(.-)%s*$")
  if not scheme or scheme:lower() ~= "basic" then
    return 401, { DENIED, ("Sandbox: the Authorization header must read 'Basic <key>', not '%s ...'.")
      :format(scheme or auth) }
  end
  if #token % 4 ~= 0 or not token:match("^[A-Za-z0-9+/]+=?=?$") then
    return 400, { "Authorization key is not in the correct format.", "Sandbox: a key is base64: letters, "
      .. "digits, + and /, padded with = to a multiple of 4 characters." }
  end
  if token ~= S.cfg.api_key then
    return 401, { DENIED, "Sandbox: the key sent is not this sandbox's; send " .. KEY_HINT .. "." }
  end
  S.accepted_auth = auth
  return nil
end

-- A path outside /v1 is answered 404 before the key is looked at (so the first thing
-- said is what is wrong with the URL), and is not counted against the rate limit.
local function outside_v1(path)
  local fixed = router.with_v1(path)
  return 404, { ("No HTTP resource was found that matches the request URI '%s'."):format(path),
    "Sandbox: API paths start with /v1" .. (fixed and (" (did you mean " .. fixed .. "?)") or "") .. "." }
end

local HTML = "<!DOCTYPE html><html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
          .. "<p>The server encountered a temporary error.</p></body></html>"
local REASONS = { [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
                  [504] = "Gateway Timeout" }

local function latency_ms(l, rnd)
  if not l then return 0 end
  return l.min + rnd() * (l.max - l.min)
end

local function log(method, path, status, fault, applied, now, query)
  reqlog.add(S.log, { time = now, method = method, path = path, query = query, status = status,
                      fault = fault, applied = applied })
end

-- Fusebill runs on IIS, whose request filtering refuses a query string longer than its
-- maxQueryString (2,048 bytes by default) before the API sees the request: a 404 (404.15
-- in IIS's own log) with IIS's HTML page for remote clients, no API headers, not counted
-- against the rate limit.
local IIS_404 = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" ' ..
  '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n<html xmlns="http://www.w3.org/1999/xhtml">\r\n' ..
  '<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n' ..
  '<title>404 - File or directory not found.</title>\r\n</head>\r\n<body>\r\n<div id="header"><h1>Server Error</h1></div>\r\n' ..
  '<div id="content">\r\n <div class="content-container"><fieldset>\r\n' ..
  '  <h2>404 - File or directory not found.</h2>\r\n' ..
  '  <h3>The resource you are looking for might have been removed, had its name changed, or is temporarily ' ..
  'unavailable.</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n'

local function query_too_long(query_string)
  local max = S.cfg.max_query_length
  return query_string ~= nil and max > 0 and #query_string > max
end

local function run_route(method, path, query, body, host, now)
  local handler, id = router.find(method, path)
  if not handler then
    if id == "method" then
      return 405, { ("The requested resource does not support http method '%s'."):format(method) }
    end
    return 404, { ("No HTTP resource was found that matches the request URI '%s'."):format(path) }
  end
  if body == false then return 413, { "The request body is too large." } end
  local q = {}
  for k, v in pairs(query) do q[k:lower()] = v end
  host = host or "localhost"
  if host ~= S.base_host then  -- a client sends the same Host every time
    S.base_host, S.base = host, S.cfg.public_url or (S.cfg.scheme .. "://" .. host .. "/v1")
  end
  local base = S.base
  local ctx = setmetatable({ st = S.st, cfg = S.cfg, base = base, id = id, q = q, body = body, now = now }, Ctx)
  local ok, status, value, headers = pcall(handler, ctx)
  if not ok then
    if not S.cfg.quiet then io.stderr:write("fusebill-sandbox: ", tostring(status), "\n") end
    return 500, { "An error has occurred." }
  end
  return status, value, headers
end

-- The faults that imitate misbehaving servers rather than failing ones.
local function odd_answer(fault, method, path, auth, host, headers, applied, now, delay)
  local status, out
  if fault.kind == "echo-key" then
    status, out = 401, util.envelope(401, ("Authorization has been denied for this request: %s."):format(auth))
    headers["X-Echo-Authorization"] = auth
  elseif fault.kind == "redirect" then
    status, out = 301, ""
    headers.Location = ("%s://%s/moved%s"):format(S.cfg.scheme, host or "localhost", path)
    headers["Content-Type"] = nil
  else
    local n = math.max(0, math.floor(fault.mb * 1048576 / 3) - 1)
    status, out = 200, "[" .. ("{},"):rep(n) .. "{}]"
  end
  log(method, path, status, fault.kind, applied, now)
  return status, out, headers, nil, delay
end

function M.handle(method, path, query, auth, body, host, loopback, query_string)
  -- the byte test first: most paths are API paths, and lowering each of them twice is not free
  if path:byte(2) == UNDERSCORE and (path:sub(1, 10):lower() == "/_sandbox/" or path:lower() == "/_sandbox") then
    return control.handle(M, S, method, path, query, body, loopback)
  end
  local now = util.now() + S.skew   -- the server's clock: windows, resets, Date and timestamps follow it
  local is_write = method ~= "GET" and method ~= "HEAD"
  local applied  -- false for writes until the handler succeeds; absent for reads
  if is_write then applied = false end
  if query_too_long(query_string) then
    log(method, path, 404, nil, applied, now, query_string)
    return 404, IIS_404, { ["Content-Type"] = "text/html", Server = "Microsoft-IIS/10.0",
                           Date = util.http_date(math.floor(now)) }, nil, 0
  end
  local ast, amsg
  if router.under_v1(path) then ast, amsg = auth_check(auth) else ast, amsg = outside_v1(path) end
  local over, headers = rate_limit.check(S.rl, now, ast == nil)
  headers["Content-Type"] = JSON
  headers.Date = util.http_date(math.floor(now))
  local delay = latency_ms(S.latency, S.faults.rnd)
  if ast then
    log(method, path, ast, nil, applied, now, query_string)
    return ast, util.envelope(ast, amsg), headers, nil, delay
  end
  if over then
    log(method, path, 429, nil, applied, now, query_string)
    return 429, util.envelope(429, over), headers, nil, delay
  end
  local fault = faults.decide(S.faults, method, path)
  local kind = fault and fault.kind
  if fault and fault.before then
    local code = tonumber(kind:match("^(%d+)"))
    if kind == "hang" then
      log(method, path, 0, kind, applied, now, query_string)
      return 0, "", headers, "empty", delay + S.cfg.hang_ms
    elseif kind == "reset-before" or kind == "empty" then
      log(method, path, 0, kind, applied, now, query_string)
      return 0, "", headers, kind == "empty" and "empty" or "reset", delay
    elseif kind == "echo-key" or kind == "redirect" or kind == "huge" then
      return odd_answer(fault, method, path, auth, host, headers, applied, now, delay)
    elseif code == 429 then
      if kind == "429-retry-after" then headers["Retry-After"] = fault.retry_after end
      log(method, path, 429, kind, applied, now, query_string)
      return 429, util.envelope(429, "Too many requests."), headers, nil, delay
    elseif kind:find("html", 1, true) then
      headers["Content-Type"] = "text/html; charset=utf-8"
      log(method, path, code, kind, applied, now, query_string)
      return code, HTML:format(code, REASONS[code], code, REASONS[code]), headers, nil, delay
    else
      log(method, path, code, kind, applied, now, query_string)
      return code, util.envelope(code, REASONS[code] .. " (injected fault)."), headers, nil, delay
    end
  end
  local status, value, extra = run_route(method, path, query, body, host, now)
  local out
  if status >= 400 then
    out = util.envelope(status, value)
  elseif value == nil then
    out = ""
    headers["Content-Type"] = nil
  else
    out = util.encode(value)
  end
  if extra then
    for k, v in pairs(extra) do headers[k] = v end
  end
  if is_write then applied = status < 300 end
  local action
  if kind == "latency" then
    delay = delay + fault.ms
  elseif kind == "reset-after" then
    action = "reset"
  elseif kind == "truncated" or kind == "stale" then
    action = kind
  elseif kind == "malformed" then
    status = 200
    headers["Content-Type"] = JSON
    out = #out > 2 and out:sub(1, #out // 2) or '{"id":'
  end
  log(method, path, status, kind, applied, now, query_string)
  return status, out, headers, action, delay
end

return M
