-- Pretty printer for the REPL (module "host.pretty"): nested tables indented,
-- keys sorted, long lists cut with a count, cycles shown instead of followed,
-- fusebill error objects as their one-line summary followed by their fields.
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

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" and math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
    return ("%d"):format(v)  -- JSON ids decode as floats; 7 reads better than 7.0
  end
  if v == nil or t == "number" or t == "boolean" then return tostring(v) end
  if v == null_value then return "null" end
  if t == "userdata" or t == "function" or t == "thread" then
    local ok, s = pcall(tostring, v)
    return ok and s or t
  end
  return nil
end

local format_value

local function format_key(k)
  if is_identifier(k) then return k end
  return "[" .. (scalar(k) or tostring(k)) .. "]"
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

local function format_table(t, o, depth, path)
  if path[t] then return "<cycle: " .. tostring(t) .. ">" end
  if depth >= o.max_depth then return "{...}" end
  local mt = getmetatable(t)
  local name = type(mt) == "table" and type(mt.__name) == "string" and mt.__name or nil
  if type(mt) == "table" and mt.__tostring and not name then
    local ok, s = pcall(tostring, t)
    if ok then return s end
  end
  path[t] = true
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
  for k in pairs(null_fields(t) or {}) do
    if rawget(t, k) == nil then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  local cut = #keys > o.max_items * 4 and o.max_items * 4 or #keys
  for i = 1, cut do
    local k = keys[i]
    items[#items + 1] = format_key(k) .. " = " .. format_value(rawget(t, k), o, depth + 1, path)
  end
  if cut < #keys then items[#items + 1] = ("... (%d more keys)"):format(#keys - cut) end
  path[t] = nil
  local prefix = name and ("<" .. name .. "> ") or ""
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

function format_value(v, o, depth, path)
  if is_error(v) then return format_error(v, o, depth, path) end
  local s = scalar(v)
  if s then return s end
  if type(v) == "table" then return format_table(v, o, depth, path) end
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
