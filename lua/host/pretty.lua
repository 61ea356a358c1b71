-- Pretty printer for the REPL (module "host.pretty"): nested tables indented,
-- keys sorted, long lists cut with a count, cycles shown instead of followed,
-- fusebill error objects as their one-line summary followed by their fields, and
-- every other type as what it is and how to use it: a list iterator says how to take
-- its items, a function shows its parameters and where it is defined, an object its
-- methods, a coroutine its status.
local members = require "host.members"

local pretty = {}

local defaults = { indent = "  ", max_items = 25, max_depth = 8, width = 78 }

local null_value = require("cjson").null

-- The fields that were null in an API response read as absent; they are shown as
-- `name = nil`, so the printout still lists every field the object has.
local function null_fields(t)
  local core = package.loaded["fusebill.core"]
  return core and core.null_fields[t]
end

local function is_error(v)
  local fb = package.loaded.fusebill
  if type(fb) == "table" and type(fb.is_error) == "function" then
    local ok, r = pcall(fb.is_error, v)
    if ok then return r end
  end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "fusebill.error"
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or ("\\%03d"):format(c:byte())
  end) .. '"'
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local type_order = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_order[ta] or 9) < (type_order[tb] or 9) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

-- "string.format" for a function reachable from _G or a loaded module, for the printer;
-- the shortest name when there are several (fusebill.new, not fusebill.api.new).
local function function_names()
  local names = {}
  local function add(t, prefix)
    for k, v in next, t do
      if type(v) == "function" and type(k) == "string" then
        local name, had = prefix .. k, names[v]
        if had == nil or #name < #had or (#name == #had and name < had) then names[v] = name end
      end
    end
  end
  add(_G, "")
  for mod, t in pairs(package.loaded) do
    if type(t) == "table" and type(mod) == "string" and t ~= _G then add(t, mod .. ".") end
  end
  return names
end

-- customers:list for an iterator the fusebill library made (a list's is a callable table),
-- else nil.
local function iterator_label(f)
  local resources = package.loaded["fusebill.resources"]
  local iterators = type(resources) == "table" and resources.iterators
  return type(iterators) == "table" and iterators[f] or nil
end

local function describe_iterator(label)
  local args = label:find(":list$") and "{...}" or "(ids)"
  return ("<iterator from %s: for item in fb.%s%s do ... end>"):format(label, label, args)
end

local function describe_function(f, o)
  local label = iterator_label(f)
  if label then return describe_iterator(label) end
  o.names = o.names or function_names()
  local name, info = o.names[f], debug.getinfo(f, "Su")
  if info.what == "C" then
    return name and ("<C function %s>"):format(name) or ("<C function: %s>"):format(tostring(f):match("0x%x+"))
  end
  local params = {}
  for i = 1, info.nparams do params[i] = debug.getlocal(f, i) end
  if info.isvararg then params[#params + 1] = "..." end
  return ("<function %s(%s) %s:%d>"):format(name or "", table.concat(params, ", "), info.short_src,
    info.linedefined)
end

local function scalar(v, o)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" and math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
    return ("%d"):format(v)  -- JSON ids decode as floats; 7 reads better than 7.0
  end
  if v == nil or t == "number" or t == "boolean" then return tostring(v) end
  if v == null_value then return "null" end
  if t == "function" then return describe_function(v, o) end
  if t == "thread" then return ("<coroutine %s: %s>"):format(coroutine.status(v), tostring(v):match("0x%x+")) end
  if t == "userdata" then
    local ok, s = pcall(tostring, v)
    return "<" .. (ok and s or "userdata") .. ">"
  end
  return nil
end

local format_value

local function format_key(k, o)
  if is_identifier(k) then return k end
  return "[" .. (scalar(k, o) or tostring(k)) .. "]"
end

-- Fields of an error object, read through its metatable in case they are not raw.
local error_fields = { "kind", "status", "message", "field", "rule", "length", "error_id", "errors",
                       "retryable", "attempts", "method", "path", "request_id" }

local function format_error(e, o, depth, path)
  local ok, line = pcall(tostring, e)
  local fields = {}
  for _, k in ipairs(error_fields) do
    local got, v = pcall(function() return e[k] end)
    if got and v ~= nil then fields[k] = v end
  end
  if type(e) == "table" then
    for k, v in next, e do
      if fields[k] == nil then fields[k] = v end
    end
  end
  return (ok and line or "fusebill error") .. "\n" .. format_value(fields, o, depth, path)
end

-- The entries of t (raw), sorted, on one line when they fit, else one per line.
local function format_entries(t, o, depth, path, prefix)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local shown = math.min(n, o.max_items)
  local items = {}
  for i = 1, shown do items[#items + 1] = format_value(rawget(t, i), o, depth + 1, path) end
  if n > shown then items[#items + 1] = ("... (%d more, %d in all)"):format(n - shown, n) end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  for _, k in ipairs(null_fields(t) or {}) do
    if rawget(t, k) == nil then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  local cut = #keys > o.max_items * 4 and o.max_items * 4 or #keys
  for i = 1, cut do
    local k = keys[i]
    items[#items + 1] = format_key(k, o) .. " = " .. format_value(rawget(t, k), o, depth + 1, path)
  end
  if cut < #keys then items[#items + 1] = ("... (%d more keys)"):format(#keys - cut) end
  if #items == 0 then return prefix .. "{}" end
  local one_line = prefix .. "{ " .. table.concat(items, ", ") .. " }"
  local pad = o.indent:rep(depth)
  if #one_line + #pad <= o.width and not one_line:find("\n") then return one_line end
  local inner = pad .. o.indent
  local lines = {}
  for i, item in ipairs(items) do
    lines[i] = inner .. item .. (i < #items and "," or "")
  end
  return prefix .. "{\n" .. table.concat(lines, "\n") .. "\n" .. pad .. "}"
end

-- An object (its metatable has an __index: fb.customers) shows its methods, then its
-- own fields one level deep: its internals (a compiled schema) would fill the screen.
local function format_object(t, o, depth, path, name)
  local methods = members.methods(t)
  local fields = {}
  for k, v in next, t do
    if type(v) ~= "function" and not (type(k) == "string" and k:sub(1, 1) == "_") then fields[k] = v end
  end
  local shallow = setmetatable({ max_depth = depth + 1 }, { __index = o })
  local head = "<" .. (name or "object") .. (#methods > 0 and (" with methods " .. table.concat(methods, ", ")) or "")
    .. "> "
  return format_entries(fields, shallow, depth, path, head)
end

local function format_table(t, o, depth, path)
  if path[t] then return "<cycle: " .. tostring(t) .. ">" end
  local mt = getmetatable(t)
  local name = type(mt) == "table" and type(mt.__name) == "string" and mt.__name or nil
  if type(mt) == "table" and mt.__tostring and not name then
    local ok, s = pcall(tostring, t)
    if ok then return s end
  end
  if depth >= o.max_depth then return "{...}" end
  path[t] = true
  local s
  if type(mt) == "table" and rawget(mt, "__index") ~= nil then
    s = format_object(t, o, depth, path, name)
  else
    s = format_entries(t, o, depth, path, name and ("<" .. name .. "> ") or "")
  end
  path[t] = nil
  return s
end

function format_value(v, o, depth, path)
  if is_error(v) then return format_error(v, o, depth, path) end
  local s = scalar(v, o)
  if s then return s end
  if type(v) == "table" then
    local label = iterator_label(v)
    if label then return describe_iterator(label) end
    return format_table(v, o, depth, path)
  end
  return tostring(v)
end

--- Returns a readable, multi-line rendering of v.
-- opts: indent (string), max_items (list items shown), max_depth, width (line length
-- under which a table stays on one line).
function pretty.format(v, opts)
  local o = {}
  for k, d in pairs(defaults) do o[k] = (opts and opts[k] ~= nil) and opts[k] or d end
  return format_value(v, o, 0, {})
end

--- Writes each argument, formatted, on its own line(s) to io.stdout.
function pretty.print(...)
  local n = select("#", ...)
  for i = 1, n do
    io.stdout:write(pretty.format((select(i, ...))), "\n")
  end
end

return pretty
