-- Field-by-field differences between two API objects, for dry runs.
--
--   diff.compute(before, after[, ignore]) -> { {field=, before=, after=}, ... } sorted by field
--   diff.format(changes, label) -> readable multi-line string
--   diff.notify(changes, label, info) / diff.observe(fn): how a dry-run edit tells a running
--       fusebill.each what it would change, so the run can end with a summary.
--
-- Nested objects are flattened to dotted paths (customerReference.reference1). Arrays
-- (salesTrackingCodes) are compared as whole values: a reader wants "the list changed from
-- A to B", not one line per index that shifted. JSON null and an absent field compare equal
-- (a null field reads as absent, and a Fusebill PUT turns an omitted field into null).
-- Values are shown as the user wrote them: strings quoted, lists as JSON ([] when empty).
local diff = {}

local null = require("cjson").null

local function is_null(v)
  return v == nil or v == null
end

-- A table is an "array" when it has no string keys (an empty table counts: cjson decodes
-- [] and {} alike, and an empty list is the common case).
local function is_array(t)
  if getmetatable(t) ~= nil then return false end
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #t
end

local function is_object(v)
  return type(v) == "table" and not is_array(v)
end

local function deep_equal(a, b)
  if is_null(a) and is_null(b) then return true end
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k, v in pairs(b) do
    if is_null(a[k]) and not is_null(v) then return false end
  end
  return true
end

local function flatten(prefix, t, out)
  for k, v in pairs(t) do
    local name = prefix and (prefix .. "." .. tostring(k)) or tostring(k)
    if is_object(v) then
      flatten(name, v, out)
    else
      out[name] = v
    end
  end
  return out
end

-- `ignore` (optional) is a set or list of field paths to leave out, e.g. modifiedTimestamp.
function diff.compute(before, after, ignore)
  if before ~= nil and type(before) ~= "table" then
    error("diff.compute: before must be a table, got " .. type(before), 2)
  end
  if after ~= nil and type(after) ~= "table" then
    error("diff.compute: after must be a table, got " .. type(after), 2)
  end
  local skip = {}
  if ignore then
    for k, v in pairs(ignore) do
      if type(k) == "string" and v then skip[k] = true end
      if type(v) == "string" then skip[v] = true end
    end
  end
  local flat_before = flatten(nil, before or {}, {})
  local flat_after = flatten(nil, after or {}, {})
  local fields = {}
  for k in pairs(flat_before) do fields[k] = true end
  for k in pairs(flat_after) do fields[k] = true end
  local changes = {}
  for field in pairs(fields) do
    local b, a = flat_before[field], flat_after[field]
    -- a path that is an object on one side and a leaf on the other: the parent appears as a
    -- leaf in one flattening and as children in the other; both are reported as they are.
    if not skip[field] and not deep_equal(b, a) then
      changes[#changes + 1] = { field = field, before = b, after = a }
    end
  end
  table.sort(changes, function(x, y) return x.field < y.field end)
  return changes
end

-- Renders one value the way JSON would show it, so strings are quoted and null is null.
-- Only lists reach here as tables (objects are flattened), so an empty one is [].
local function show(v)
  if is_null(v) then return "null" end
  local t = type(v)
  if t == "string" then
    return (string.format("%q", v):gsub("\\\n", "\\n"))
  elseif t == "number" then
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
      return string.format("%.1f", v)
    end
    return tostring(v)
  elseif t == "table" then
    if next(v) == nil then return "[]" end
    -- required here, not at the top: fusebill.json loads the engine, which loads this module
    local s = require("fusebill.json").encode(v)
    if s then return s end
  end
  return tostring(v)
end
diff.show = show

function diff.format(changes, label)
  label = label and tostring(label) or "object"
  if not changes or #changes == 0 then
    return label .. ": no changes"
  end
  local lines = { string.format("%s: %d field%s would change", label, #changes,
    #changes == 1 and "" or "s") }
  for _, c in ipairs(changes) do
    lines[#lines + 1] = string.format("  %s: %s -> %s", c.field, show(c.before), show(c.after))
  end
  return table.concat(lines, "\n")
end

-- Observers: fusebill.each installs one for the duration of a run. A dry-run edit calls
-- diff.notify(changes, label, info) after computing its diff; each observer gets the same
-- arguments. Returns the number of observers told (0 when no run is collecting).
local observers
observers, diff.observe = require("fusebill.observers").new("diff.observe")

function diff.notify(changes, label, info)
  local n = 0
  for i = 1, #observers do
    observers[i](changes, label, info)
    n = n + 1
  end
  return n
end

return diff
