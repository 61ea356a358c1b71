-- What `fusebill -m export` and `fusebill -m update` share: a record as a spreadsheet row.
--
--   sheet.columns(schema, writable_only) -> { "id", ... }   the scalar fields, nested ones dotted
--   sheet.field(schema, column)   -> spec | nil, why         the schema field a column names
--   sheet.cell(record, column)    -> text                    a record's value as a cell
--   sheet.value(spec, text)       -> value | nil, why        a cell as the field's type
--   sheet.set(changes, column, v)                            changes.customerReference.reference1 = v
--
-- A column is a scalar field: a string, number, whole number or boolean, top-level or one
-- level down in an object (customerReference.reference1). Lists (a customer's sales tracking
-- codes) are not columns: a cell has no agreed way to hold one.
local sheet = {}

local null = require("fusebill.core").null

local SCALAR = { string = true, integer = true, number = true, boolean = true, id = true }

-- the fields of schema a PUT writes (documented PUT fields, else every field)
local function written(schema, name, spec)
  if spec.read_only then return false end
  if schema.put_fields then
    for _, f in ipairs(schema.put_fields) do
      if f == name then return true end
    end
    return false
  end
  return true
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The default columns: id first, then the scalar fields in name order, nested ones after
-- their object's place (dotted). writable_only: leave out what a PUT does not write.
function sheet.columns(schema, writable_only)
  local cols = { "id" }
  for _, name in ipairs(sorted_keys(schema.fields)) do
    local spec = schema.fields[name]
    if name ~= "id" and (not writable_only or written(schema, name, spec)) then
      if SCALAR[spec.type] then
        cols[#cols + 1] = name
      elseif spec.type == "object" then
        for _, sub in ipairs(sorted_keys(spec.fields)) do
          local s = spec.fields[sub]
          if SCALAR[s.type] and not (writable_only and s.read_only) then cols[#cols + 1] = name .. "." .. sub end
        end
      end
    end
  end
  return cols
end

-- A column's top-level field name, its sub-field's name (nil for a top-level column)
-- and the top-level field's spec (nil when the schema has no such field).
local function split(schema, column)
  local top, sub = column:match("^([^.]+)%.([^.]+)$")
  top = top or column
  return top, sub, schema.fields[top]
end

-- The field spec a column names; nil and why for a name that is not a scalar field.
function sheet.field(schema, column)
  local _, sub, spec = split(schema, column)
  if spec and sub then spec = spec.type == "object" and spec.fields[sub] or nil end
  if not spec then return nil, column .. " is not a field of " .. schema.name end
  if not SCALAR[spec.type] then
    return nil, column .. " is a" .. (spec.type == "array" and " list" or "n object") ..
      ", not a column (name its fields, e.g. customerReference.reference1)"
  end
  return spec
end

-- Whether a PUT writes the field a column names.
function sheet.writable(schema, column)
  local top, sub, spec = split(schema, column)
  if not written(schema, top, spec) then return false end
  return not (sub and spec.fields[sub].read_only)
end

function sheet.cell(record, column)
  local v = record
  for part in column:gmatch("[^.]+") do
    if type(v) ~= "table" then return "" end
    v = v[part]
  end
  if v == nil or v == null or type(v) == "table" then return "" end
  if math.type(v) == "float" then
    local i = math.tointeger(v)
    return i and string.format("%d", i) or string.format("%.17g", v)
  end
  return tostring(v)
end

-- A cell's text as the field's type. "#N/A" (null) is handled by the caller.
function sheet.value(spec, text)
  local t = spec.type
  if t == "string" then return text end
  if t == "boolean" then
    local l = text:lower()
    if l == "true" then return true elseif l == "false" then return false end
    return nil, "wants true or false, not '" .. text .. "'"
  end
  local n = tonumber(text)
  if t == "number" then
    if n then return n end
    return nil, "wants a number, not '" .. text .. "'"
  end
  n = n and math.tointeger(n)
  if n and (t == "integer" or n >= 1) then return n end
  return nil, "wants a whole number" .. (t == "id" and " >= 1" or "") .. ", not '" .. text .. "'"
end

function sheet.set(changes, column, v)
  local top, sub = column:match("^([^.]+)%.([^.]+)$")
  if not top then changes[column] = v; return end
  changes[top] = changes[top] or {}
  changes[top][sub] = v
end

-- Splits "a,b,c.d" into names (spaces around names dropped).
function sheet.split(list)
  local names = {}
  for name in list:gmatch("[^,]+") do
    name = name:match("^%s*(.-)%s*$")
    if name ~= "" then names[#names + 1] = name end
  end
  return names
end

return sheet
