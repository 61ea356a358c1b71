-- The engine API's driver (module "fusebill.engine"): what fb_engine_call runs in the
-- engine's state. call(name, args_json) -> true, result_json | false, code, error_table,
-- error_json. It runs inside lua_pcall, so anything unexpected still comes back as an
-- error; the fiddly parts (argument decoding, telling a fusebill error object from a plain
-- Lua error, flattening it to JSON) are a few lines here and would be many lines of C.
-- JSON both ways follows the library's rules (fusebill.json): whole numbers arrive as
-- integers, "/" leaves as "/".
local fusebill = require 'fusebill'
local json = require 'fusebill.json'
local null = fusebill.null

local fields = { 'kind', 'status', 'message', 'method', 'path', 'field', 'rule', 'error_id',
  'request_id', 'retryable', 'attempts', 'length', 'errors' }
local function api_error(e)
  local t = {}
  for _, k in ipairs(fields) do
    local ok, v = pcall(function() return e[k] end)
    if ok and v ~= nil then t[k] = v end
  end
  t.kind = t.kind and tostring(t.kind) or 'unknown'
  t.message = tostring(e)
  if type(t.errors) == 'table' then
    local list = {}
    for i, x in ipairs(t.errors) do
      list[i] = type(x) == 'table' and { key = x.key, value = x.value } or tostring(x)
    end
    t.errors = list
  end
  return t
end
local function failed(code, t)
  return false, code, t, json.encode(t)
end
local function fail(code, e, tb)
  if fusebill.is_error(e) then return failed('api', api_error(e)) end
  local msg = type(e) == 'string' and e or (e == nil and 'nil' or tostring(e))
  return failed(code, { kind = 'runtime', message = msg, traceback = tb })
end
local function lookup(name)
  local v = _G
  for part in name:gmatch('[^.]+') do
    if type(v) ~= 'table' then return nil end
    v = v[part]
  end
  return v
end
return function(name, args_json)
  local f = lookup(name)
  local mt = getmetatable(f)
  if type(f) ~= 'function' and not (mt and mt.__call) then
    return failed('no_function', { kind = 'unknown_function', message = ('no global function %q'):format(name) })
  end
  local args = {}
  if args_json and args_json:find('%S') then
    local v, err = json.decode(args_json)
    if v == nil and err then
      return failed('bad_json', { kind = 'bad_json', message = 'arguments are not valid JSON: ' .. err })
    end
    if type(v) ~= 'table' or (next(v) ~= nil and #v == 0) then
      return failed('bad_json', { kind = 'bad_json', message = 'arguments must be a JSON array' })
    end
    args = v
  end
  local n = #args
  for i = 1, n do if args[i] == null then args[i] = nil end end
  local tb
  local r = table.pack(xpcall(f, function(e)
    if type(e) == 'string' then tb = debug.traceback(e, 2) end
    return e
  end, table.unpack(args, 1, n)))
  if not r[1] then return fail('runtime', r[2], tb) end
  if r[2] == nil and r.n >= 3 then return fail('runtime', r[3]) end
  if fusebill.is_error(r[2]) then return fail('api', r[2]) end
  local out, err = json.encode(r[2] == nil and null or r[2])
  if not out then
    return failed('bad_json', { kind = 'bad_json', message = 'result cannot be encoded as JSON: ' .. err })
  end
  return true, out
end
