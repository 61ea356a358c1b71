-- Test helper: start a real build/fusebill-sandbox on a free loopback port and talk to
-- it over HTTP through the curl CLI (so specs need nothing but io.popen and cjson).
--
--   local sandbox = require "sandbox"
--   local sb = sandbox.start{ args = { "--rate-limit", "none" } }   -- also: key=, tls=true, build=
--   sb.port, sb.url ("http://127.0.0.1:PORT/v1"), sb.key, sb.base ("http://127.0.0.1:PORT"),
--   sb.cacert (with tls=true: the PEM of the self-signed certificate; sb.url is https)
--   sb:request(method, path, { body = string|table, headers = {...}, key = string|false,
--                              timeout = seconds, insecure = bool, cacert = path })
--       -> status, body_string, headers (lowercased names)
--       -> nil, curl_error_message, {}, curl_exit_code     when no HTTP response came back
--          (52 empty reply, 56 reset, 18 truncated body, 28 timeout)
--     path: "/customers/1" means "/v1/customers/1"; "/v1/..." and "/_sandbox/..." are used as is.
--   sb:control(method, path_under__sandbox, body_table_or_nil) -> decoded JSON, status
--   sb:reset(opts) (POST /_sandbox/reset), sb:log(since) -> entries, sb:clear_log(), sb:writes(),
--   sb:state() -> dump, sb:set_faults(spec, seed), sb:set_limits{rate_limit=, daily_limit=, latency=, ...}
--   sb:stop()   (also at garbage collection and when the test process exits: a watcher
--                kills the server within a second if the process that started it dies)
local cjson = require "cjson"

local M = {}
M.DEFAULT_KEY = "MDpzYW5kYm94"

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local tls_files
local function tls_pair()
  if tls_files then return tls_files end
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. q(dir)))
  local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
  local ok = os.execute(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
    .. "-keyout %s -out %s -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
    .. ">/dev/null 2>&1"):format(q(key), q(cert)))
  assert(ok, "openssl could not make a test certificate")
  tls_files = { cert = cert, key = key, dir = dir }
  return tls_files
end

local Sandbox = {}
Sandbox.__index = Sandbox

function M.start(opts)
  opts = opts or {}
  local build = opts.build or os.getenv("FUSEBILL_BUILD") or "build"
  local bin = build .. "/fusebill-sandbox"
  local args = { "--port", "0", "--quiet" }
  local key = opts.key or M.DEFAULT_KEY
  if opts.key then args[#args + 1] = "--api-key"; args[#args + 1] = opts.key end
  local scheme = "http"
  local cacert
  if opts.tls then
    local t = tls_pair()
    for _, a in ipairs({ "--tls-cert", t.cert, "--tls-key", t.key }) do args[#args + 1] = a end
    scheme, cacert = "https", t.cert
  end
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  -- $$ is this shell, which becomes the server by exec; the watcher kills it if the
  -- test process ($PPID) goes away, and ends by itself once the server is gone.
  local cmd = ("echo $$; ( while kill -0 $PPID 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 1; done; "
    .. "kill $$ 2>/dev/null ) </dev/null >/dev/null 2>&1 & exec %s %s"):format(q(bin), table.concat(quoted, " "))
  local f = assert(io.popen(cmd, "r"))
  local pid = tonumber(f:read("l"))
  local port = tonumber(f:read("l"))
  if not pid or not port then
    f:close()
    error("fusebill-sandbox did not start (" .. bin .. " " .. table.concat(args, " ") .. ")", 2)
  end
  local sb = setmetatable({
    pid = pid, port = port, key = key, pipe = f, cacert = cacert,
    base = ("%s://127.0.0.1:%d"):format(scheme, port),
  }, Sandbox)
  sb.url = sb.base .. "/v1"
  return sb
end

function Sandbox:stop()
  if not self.pipe then return end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  self.pipe:close()   -- waits for the server to exit
  self.pipe = nil
end
Sandbox.__gc = Sandbox.stop
Sandbox.__close = Sandbox.stop

function Sandbox:resolve(path)
  if path:match("^https?://") then return path end
  local l = path:lower()
  if l:sub(1, 4) == "/v1/" or l == "/v1" or l:sub(1, 9) == "/_sandbox" then return self.base .. path end
  return self.url .. path
end

-- Parses the last header block of a curl -D dump.
local function parse_headers(raw)
  local blocks = {}
  for block in (raw:gsub("\r", "") .. "\n\n"):gmatch("(.-)\n\n") do
    if block:match("^HTTP/") then blocks[#blocks + 1] = block end
  end
  local h = {}
  local last = blocks[#blocks]
  if not last then return h end
  for line in last:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k then h[k:lower()] = v end
  end
  return h
end

function Sandbox:request(method, path, opts)
  opts = opts or {}
  local tmp = os.tmpname()
  local hdr, out, req = tmp .. ".h", tmp .. ".b", tmp .. ".r"
  local parts = { "curl", "-sS", "-g", "-o", q(out), "-D", q(hdr), "-w", q("%{http_code}"),
                  "-X", q(method), "--max-time", tostring(opts.timeout or 10), "-H", q("Expect:") }
  local key = opts.key
  if key == nil then key = self.key end
  if key then parts[#parts + 1] = "-H"; parts[#parts + 1] = q("Authorization: Basic " .. key) end
  local has_ct = false
  for k, v in pairs(opts.headers or {}) do
    if k:lower() == "content-type" then has_ct = true end
    parts[#parts + 1] = "-H"; parts[#parts + 1] = q(k .. ": " .. v)
  end
  local body = opts.body
  if body ~= nil then
    if type(body) == "table" then body = cjson.encode(body) end
    write_file(req, body)
    if not has_ct then parts[#parts + 1] = "-H"; parts[#parts + 1] = q("Content-Type: application/json") end
    parts[#parts + 1] = "--data-binary"; parts[#parts + 1] = q("@" .. req)
  end
  if opts.insecure then parts[#parts + 1] = "-k" end
  local cacert = opts.cacert or self.cacert
  if cacert and opts.cacert ~= false then parts[#parts + 1] = "--cacert"; parts[#parts + 1] = q(cacert) end
  parts[#parts + 1] = q(self:resolve(path))
  parts[#parts + 1] = "2>" .. q(tmp .. ".e") .. "; echo \" $?\""
  local p = assert(io.popen(table.concat(parts, " "), "r"))
  local res = p:read("a")
  p:close()
  local code, rc = res:match("(%d+)%s+(%d+)%s*$")
  local status, exit = tonumber(code), tonumber(rc)
  local resp_body, headers, err = read_file(out), parse_headers(read_file(hdr)), read_file(tmp .. ".e")
  for _, f in ipairs({ tmp, hdr, out, req, tmp .. ".e" }) do os.remove(f) end
  if exit ~= 0 or not status or status == 0 then
    return nil, (err:gsub("%s+$", "")), {}, exit
  end
  return status, resp_body, headers
end

function Sandbox:control(method, path, body)
  local status, resp = self:request(method, "/_sandbox" .. path, { body = body, key = false })
  if not status then error("sandbox control " .. method .. " " .. path .. " failed: " .. tostring(resp), 2) end
  local ok, v = pcall(cjson.decode, resp)
  if not ok then error("sandbox control " .. path .. ": bad JSON: " .. resp, 2) end
  return v, status
end

function Sandbox:reset(opts)
  return self:control("POST", "/reset", opts or {})
end

function Sandbox:log(since)
  return (self:control("GET", "/log?since=" .. (since or 0)))
end

function Sandbox:clear_log()
  return self:control("DELETE", "/log")
end

function Sandbox:state()
  return (self:control("GET", "/state"))
end

-- How many requests in the log were writes (anything but GET): "nothing was sent" checks.
function Sandbox:writes()
  local n = 0
  for _, e in ipairs(self:log()) do
    if e.method ~= "GET" then n = n + 1 end
  end
  return n
end

function Sandbox:set_faults(spec, seed)
  return self:control("POST", "/faults", { spec = spec or "", seed = seed })
end

function Sandbox:set_limits(t)
  return self:control("POST", "/limits", t)
end

-- Small file helpers specs share (they run as plain Lua, with no library of their own).
M.read_file = read_file
M.write_file = write_file
M.quote = q

-- A fusebill client for this sandbox that fails fast: no pacing, one attempt.
function Sandbox:client(opts)
  local o = { api_key = self.key, base_url = self.url, rate_limit = "none", retry = { max_attempts = 1 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return require("fusebill").new(o)
end

return M
