-- What a PUT writes, per resource, for the tools that put records back (`-m undo`) or check
-- them before writing (`-m apply`):
--
--   writable.body(schema, obj)     -> the PUT body that sets obj's writable fields again
--   writable.same(schema, a, b)    -> true | false, { "field", ... } (the writable fields that differ)
--
-- Writable: a resource's documented PUT fields (sales tracking codes, product items), else
-- every field the schema does not mark read-only, nested objects field by field (customers).
-- So what the server computes (uri, timestamps, recurring revenue, a code's or item's status,
-- a customer's currency) is never written back and never taken for someone else's change.
-- Compared as a PUT would see them: null, absent and an empty list are one thing; numbers by
-- value; a list of objects by its members' ids (a customer's sales tracking codes are
-- assigned by id or type and code, and their names live on the codes themselves).
local writable = {}

local canon = require "fusebill.canon"
local null = require("cjson").null

local function present(v)
  if v == nil or v == null then return nil end
  if type(v) == "table" and next(v) == nil then return nil end
  return v
end

-- Not written back: what the server computes (read_only), and what cannot change after the
-- record is made (keep_if_omitted: a customer's currency).
local function written(spec)
  return not (spec.read_only or spec.keep_if_omitted)
end

-- the schema fields a PUT writes: name -> spec
local function fields_of(schema)
  if schema.put_fields then
    local t = {}
    for _, f in ipairs(schema.put_fields) do t[f] = schema.fields[f] end
    return t
  end
  return schema.fields
end

-- a list compared by what identifies its members
local function list_signature(v)
  if type(v) ~= "table" then return nil end
  local ids = {}
  for i, x in ipairs(v) do
    if type(x) == "table" then
      ids[i] = x.id ~= nil and x.id ~= null and ("#" .. tostring(math.tointeger(x.id) or x.id))
        or (tostring(x.type) .. "/" .. tostring(x.code))
    else
      ids[i] = canon.encode(x)
    end
  end
  return table.concat(ids, ",")
end

-- dotted field name -> comparable value, for the writable fields of obj
local function leaves(fields, obj, prefix, out)
  for name, spec in pairs(fields) do
    if written(spec) then
      local v
      if type(obj) == "table" then v = present(obj[name]) end
      local path = prefix .. name
      if spec.type == "object" and spec.fields then
        leaves(spec.fields, v, path .. ".", out)
      elseif spec.type == "array" then
        out[path] = list_signature(v)
      else
        out[path] = v
      end
    end
  end
  return out
end

function writable.same(schema, a, b)
  local fields = fields_of(schema)
  local la, lb = leaves(fields, a, "", {}), leaves(fields, b, "", {})
  local differ = {}
  for k, v in pairs(la) do
    if lb[k] ~= v then differ[#differ + 1] = k end
  end
  for k in pairs(lb) do
    if la[k] == nil then differ[#differ + 1] = k end
  end
  table.sort(differ)
  return #differ == 0, differ
end

-- a member of a list, without the read-only fields of its spec
local function strip(spec, v)
  if type(v) ~= "table" or not (spec and spec.fields) then return v end
  local out = {}
  for k, x in pairs(v) do
    local s = spec.fields[k]
    if not (s and s.read_only) and x ~= null then out[k] = x end
  end
  return out
end

local function project(fields, obj)
  local body = {}
  for name, spec in pairs(fields) do
    local v = obj[name]
    if written(spec) and v ~= nil and v ~= null then
      if spec.type == "object" and spec.fields and type(v) == "table" then
        v = project(spec.fields, v)
      elseif spec.type == "array" and type(v) == "table" then
        local list = {}
        for i, x in ipairs(v) do list[i] = strip(spec.items, x) end
        v = list
      end
      body[name] = v
    end
  end
  return body
end

-- Omitted fields are cleared by a PUT of these resources (schema.omitted_become_null), so
-- the body needs only the fields that hold something.
function writable.body(schema, obj)
  if type(obj) ~= "table" then error("writable.body: object expected, got " .. type(obj), 2) end
  return project(fields_of(schema), obj)
end

return writable
