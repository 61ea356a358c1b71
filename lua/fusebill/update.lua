-- Read-modify-write and dry-run predictions: pure functions over decoded objects (null
-- fields absent, as json.decode leaves them).
--
-- merge(schema, current, changes): the full body update() PUTs. Resources with documented
--   PUT fields (codes, tracked items): those fields. Customers: every field of the object
--   as read, fields the schema does not know included, except system fields (read_only),
--   which a PUT ignores; a writable field that is absent goes as null, so the PUT states
--   every field. Then the changes: customerReference/customerAcquisition are merged field
--   by field, lists (salesTrackingCodes) replaced whole.
-- would_be(schema, current, body): the object the server would hold after PUTting body
--   (body as json.prepare gives it). A customer PUT replaces the object: a writable field
--   the body omits becomes null (exactly the accident dry run exists to show); system
--   fields keep their value, and so does a keep_if_omitted field the body leaves out.
-- unchanged(before, after): whether after (as would_be gives it) holds what before holds,
--   field by field as a dry run compares them: nested objects included, lists whole, null
--   and absent alike, 7 and 7.0 alike. An update or edit for which it is true sends nothing.
-- report(before, after, label, info): the changes (fusebill.diff), told to a running
--   fusebill.each and printed to stderr.

local null = require("fusebill.core").null
local diff = require "fusebill.diff"

local M = {}

local pairs, ipairs, type = pairs, ipairs, type

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- The writable part of `cur` (an object read from the API) against field specs `fields`.
local function writable(fields, cur)
  local body = {}
  for k, v in pairs(cur) do
    if fields[k] == nil then body[k] = v end         -- a field this version does not know
  end
  for k, spec in pairs(fields) do
    local v = cur[k]
    if spec.read_only then
      v = nil
    elseif spec.type == "object" and type(v) == "table" then
      v = writable(spec.fields, v)
    elseif spec.type == "array" and type(v) == "table" and spec.items.type == "object" then
      local list = {}
      for i, item in ipairs(v) do list[i] = type(item) == "table" and writable(spec.items.fields, item) or item end
      v = list
    elseif v == nil and not spec.keep_if_omitted then
      v = null
    end
    body[k] = v
  end
  return body
end

function M.merge(schema, current, changes)
  local fields = schema.fields
  local body
  if schema.put_fields then
    body = {}
    for _, f in ipairs(schema.put_fields) do
      local v = current[f]
      if v == nil then v = null end
      body[f] = v
    end
  else
    body = writable(fields, current)
  end
  for k, v in pairs(changes) do
    local spec = fields[k]
    if spec and spec.type == "object" and type(v) == "table" then
      local sub = type(body[k]) == "table" and body[k] or {}
      for k2, v2 in pairs(v) do sub[k2] = v2 end
      body[k] = sub
    else
      body[k] = v
    end
  end
  return body
end

-- Whether item a and item b are the same to the server, by one of the `match` keys.
local function same_item(match, a, b)
  for _, key in ipairs(match) do
    local keys = type(key) == "table" and key or { key }
    local all = true
    for _, k in ipairs(keys) do
      if a[k] == nil or a[k] ~= b[k] then all = false; break end
    end
    if all then return true end
  end
  return false
end

-- A list the server re-renders (salesTrackingCodes): an item it already holds comes back
-- as it holds it; any other item as the user wrote it.
local function list_would_be(spec, cur, given)
  if not spec.match or type(cur) ~= "table" then return given end
  local out = {}
  for i, g in ipairs(given) do
    out[i] = g
    for _, c in ipairs(cur) do
      if type(g) == "table" and type(c) == "table" and same_item(spec.match, g, c) then out[i] = c; break end
    end
  end
  return out
end

local object_would_be

-- An object or a list is always there after a PUT (a list left out is empty, an object
-- left out has its writable fields null); any other field left out or null is null.
local function field_would_be(spec, cur, given)
  if spec.read_only or (given == nil and spec.keep_if_omitted) then return cur end
  if given == null then given = nil end
  if spec.type == "object" then return object_would_be(spec.fields, cur, type(given) == "table" and given or {}) end
  if spec.type == "array" then return type(given) == "table" and list_would_be(spec, cur, given) or {} end
  return given
end

-- The object with fields `fields` the server holds after a PUT of `given` over `cur`.
function object_would_be(fields, cur, given)
  local after = type(cur) == "table" and copy(cur) or {}
  for k, spec in pairs(fields) do
    after[k] = field_would_be(spec, after[k], given[k])
  end
  return after
end

function M.would_be(schema, current, body)
  if not schema.put_fields then return object_would_be(schema.fields, current, body) end
  local after = copy(current)
  for _, f in ipairs(schema.put_fields) do
    local v = body[f]
    if v == null then v = nil end
    if v ~= nil or schema.omitted_become_null then after[f] = v end
  end
  return after
end

function M.unchanged(before, after)
  return #diff.compute(before, after) == 0
end

-- Computes the changes, tells a running fusebill.each (diff.notify) and writes the
-- formatted diff to stderr. Returns the changes list.
function M.report(before, after, label, info)
  local changes = diff.compute(before, after)
  diff.notify(changes, label, info)
  io.stderr:write(diff.format(changes, label), "\n")
  return changes
end

return M
