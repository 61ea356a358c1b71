-- Read-modify-write helpers and dry-run predictions, pure functions over decoded objects.
--
-- merge(schema, current, changes): the body update() PUTs back. Customers: the whole object
--   as read, with the changes applied; customerReference/customerAcquisition are merged field
--   by field; lists (salesTrackingCodes) are replaced whole. Other resources: only their
--   documented PUT fields, taken from current and overridden by changes.
-- would_be(schema, current, body): the object the server would hold after PUTting body.
--   For customers a PUT replaces the object: a writable field the body omits becomes null
--   (exactly the accident dry run exists to show). Read-only fields keep their value.
-- diff(before, after, label): changes list via fusebill.diff (bulk helper's module), falling
--   back to a small local comparison while that module is missing.

local M = {}

local pairs, type = pairs, type

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end
M.copy = copy

local null = require("fusebill.core").null

function M.merge(schema, current, changes)
  local fields = schema.fields
  local body
  if schema.put_fields then
    body = {}
    for _, f in ipairs(schema.put_fields) do body[f] = current[f] end
  else
    body = copy(current)
  end
  for k, v in pairs(changes) do
    local spec = fields[k]
    if spec and spec.type == "object" and type(v) == "table" then
      local sub = type(current[k]) == "table" and copy(current[k]) or {}
      for k2, v2 in pairs(v) do sub[k2] = v2 end
      body[k] = sub
    else
      body[k] = v
    end
  end
  return body
end

local function nested_would_be(spec, cur, given)
  local sub = {}
  if type(cur) ~= "table" then cur = {} end
  for k, s in pairs(spec.fields) do
    if s.read_only then
      sub[k] = cur[k]
    elseif type(given) == "table" and given[k] ~= nil then
      sub[k] = given[k]
    elseif s.type == "array" then
      sub[k] = {}
    else
      sub[k] = null
    end
  end
  return sub
end

function M.would_be(schema, current, body)
  local after = copy(current)
  if schema.put_fields then
    for _, f in ipairs(schema.put_fields) do
      local v = body[f]
      if v ~= nil then after[f] = v
      elseif schema.omitted_become_null then after[f] = null end
    end
    return after
  end
  for k, spec in pairs(schema.fields) do
    if not spec.read_only then
      local v = body[k]
      if spec.type == "object" then
        if v == null then after[k] = null
        else after[k] = nested_would_be(spec, current[k], v) end
      elseif v == nil then
        after[k] = null
      else
        after[k] = v
      end
    end
  end
  return after
end

-- Fallback diff while fusebill.diff is not there: dotted field names, sorted.
local function flat(t, prefix, out)
  for k, v in pairs(t) do
    local name = prefix and (prefix .. "." .. tostring(k)) or tostring(k)
    if type(v) == "table" and next(v) ~= nil then flat(v, name, out) else out[name] = v end
  end
  return out
end

local function same(a, b)
  if a == b then return true end
  if type(a) == "table" and type(b) == "table" then return next(a) == nil and next(b) == nil end
  return (a == nil or a == null) and (b == nil or b == null)
end

local function local_compute(before, after)
  local fb, fa = flat(before, nil, {}), flat(after, nil, {})
  local changes, seen = {}, {}
  for k, v in pairs(fb) do
    seen[k] = true
    if not same(v, fa[k]) then changes[#changes + 1] = { field = k, before = v, after = fa[k] } end
  end
  for k, v in pairs(fa) do
    if not seen[k] and not same(nil, v) then changes[#changes + 1] = { field = k, before = nil, after = v } end
  end
  table.sort(changes, function(a, b) return a.field < b.field end)
  return changes
end

local function show(v)
  if v == nil or v == null then return "null" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return next(v) == nil and "[]" or "{...}" end
  return tostring(v)
end

local function local_format(changes, label)
  if #changes == 0 then return (label or "") .. ": no changes\n" end
  local out = { (label or "") .. ": " .. #changes .. " field(s) would change" }
  for _, c in ipairs(changes) do
    out[#out + 1] = "  " .. c.field .. ": " .. show(c.before) .. " -> " .. show(c.after)
  end
  return table.concat(out, "\n") .. "\n"
end

local diff_mod
local function diff_module()
  if diff_mod == nil then
    local ok, m = pcall(require, "fusebill.diff")
    diff_mod = ok and type(m) == "table" and m or false
  end
  return diff_mod
end

-- Computes the changes and writes the formatted diff to stderr. Returns the changes list.
function M.report(before, after, label, info)
  local d = diff_module()
  local changes = d and d.compute(before, after) or local_compute(before, after)
  if d and d.notify then d.notify(changes, label, info) end
  local text = d and d.format(changes, label) or local_format(changes, label)
  if text and text ~= "" then
    if text:sub(-1) ~= "\n" then text = text .. "\n" end
    io.stderr:write(text)
  end
  return changes
end

return M
