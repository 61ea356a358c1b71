-- Checks a request body against a resource schema (schema.lua) before anything is sent.
--
-- validate.compile(schema) turns the schema into closures once, so the hot path of an edit
-- is one table lookup and a few C calls per field, with no allocation unless a problem is
-- found. Problems are collected (not just the first) and sorted by field name, so the
-- error a user sees is deterministic whatever order pairs() walks the table in.
--
-- Unknown fields pass through (the API ignores unknown properties), but they must still be
-- sendable as JSON: finite numbers, valid UTF-8 strings without NUL bytes, string keys,
-- nesting at most MAX_DEPTH deep. A field that differs from a known one only by case
-- ("FirstName") is rejected, because ASP.NET binds names case-insensitively and the value
-- would reach the server without ever being validated.

local M = {}

local type, pairs, tostring = type, pairs, tostring
local find, lower, sub, format = string.find, string.lower, string.sub, string.format
local mtype = math.type
local utf8len = utf8.len
local HUGE = math.huge

M.MAX_DEPTH = 32
M.MAX_PROBLEMS = 20

local null -- core.null, bound in M.compile (lazily, so the pure parts test without a core)
local function bind_null()
  if null == nil then
    local ok, core = pcall(require, "fusebill.core")
    null = ok and core.null or require("cjson").null
  end
end

-- FAST as a prefix means "do not build field names": the first pass over a body runs
-- this way and allocates nothing; only when it finds a problem does a second pass run
-- with names to produce the messages.
local FAST = setmetatable({}, { __name = "fusebill.validate.fast" })
local FOUND = { FAST }

local function name(prefix, key)
  if prefix == FAST then return FAST end
  if type(key) ~= "string" then key = "[" .. tostring(key) .. "]" end
  if prefix then
    if sub(key, 1, 1) == "[" then return prefix .. key end
    return prefix .. "." .. key
  end
  return key
end

local function add(probs, prefix, key, rule, msg, length)
  if prefix == FAST then return FOUND end
  probs = probs or {}
  if #probs < M.MAX_PROBLEMS then
    local field = name(prefix, key)
    probs[#probs + 1] = { field = field, rule = rule, message = field .. " " .. msg, length = length }
  end
  return probs
end

local function type_name(v)
  if v == null then return "null" end
  local t = type(v)
  if t == "number" then return mtype(v) == "integer" and "an integer" or "a number" end
  if t == "table" then return "a table" end
  if t == "string" then return "a string" end
  if t == "boolean" then return "a boolean" end
  return "a " .. t
end

local function show(v)
  local s = tostring(v)
  if #s > 40 then s = sub(s, 1, 40) .. "..." end
  return format("%q", s)
end

-- Any value in an unknown field (or inside one): must be encodable as JSON.
local function generic(v, prefix, key, probs, depth, root)
  local t = type(v)
  if t == "string" then
    if find(v, "\0", 1, true) then return add(probs, prefix, key, "nul", "contains a NUL byte") end
    if not utf8len(v) then return add(probs, prefix, key, "utf8", "is not valid UTF-8") end
  elseif t == "number" then
    if v ~= v then return add(probs, prefix, key, "finite", "is NaN; numbers must be finite") end
    if v == HUGE or v == -HUGE then
      return add(probs, prefix, key, "finite", "is infinite; numbers must be finite")
    end
  elseif t == "table" then
    local path = name(prefix, key)
    root = root or path
    if depth >= M.MAX_DEPTH then
      -- name the field the user wrote, not a path as long as the nesting
      return add(probs, path == FAST and FAST or nil, root, "depth",
        format("is nested more than %d levels deep (or refers to itself)", M.MAX_DEPTH))
    end
    for k, sv in pairs(v) do
      local kt = type(k)
      if kt ~= "string" and mtype(k) ~= "integer" then
        probs = add(probs, path, k, "type", "has a key that is " .. type_name(k) .. "; JSON keys are strings")
      else
        probs = generic(sv, path, k, probs, depth + 1, root)
      end
    end
  elseif t ~= "boolean" and v ~= null then
    return add(probs, prefix, key, "type", "is " .. type_name(v) .. ", which cannot be sent as JSON")
  end
  return probs
end

local compile_field

local function compile_string(spec)
  local max, fmt = spec.max, spec.format
  local enum_set, enum_list
  if spec.enum then
    enum_set = {}
    for _, e in ipairs(spec.enum) do enum_set[e] = true end
    enum_list = table.concat(spec.enum, ", ")
  end
  return function(v, prefix, key, probs)
    if type(v) ~= "string" then
      return add(probs, prefix, key, "type", "must be a string, got " .. type_name(v))
    end
    if find(v, "\0", 1, true) then return add(probs, prefix, key, "nul", "contains a NUL byte") end
    local n = utf8len(v)
    if not n then return add(probs, prefix, key, "utf8", "is not valid UTF-8") end
    if max and n > max then
      return add(probs, prefix, key, "max_length",
        format("is %d characters, the maximum is %d", n, max), n)
    end
    if enum_set and not enum_set[v] then
      return add(probs, prefix, key, "enum", "must be one of " .. enum_list .. ", got " .. show(v))
    end
    if fmt == "currency" then
      if not find(v, "^%u%u%u$") then
        return add(probs, prefix, key, "format", "must be a 3-letter ISO currency code such as USD, got " .. show(v))
      end
    elseif fmt == "email" and not (n > 2 and find(v, "@", 2, true) and not find(v, ";", 1, true)
                                   and sub(v, -1) ~= "@") then
      -- not one plain address (the common case, checked with plain finds above): check
      -- each item of the ';' list (blank items allowed)
      for item in v:gmatch("[^;]+") do
        if find(item, "%S") and not find(item, "^%s*[^@%s]+@[^@%s]+%s*$") then
          return add(probs, prefix, key, "format",
            "must be an email address (several separated by ';'), got " .. show(item))
        end
      end
    end
    return probs
  end
end

local function compile_integer(spec)
  local min = spec.min
  return function(v, prefix, key, probs)
    if mtype(v) ~= "integer" then
      if type(v) ~= "number" then
        return add(probs, prefix, key, "type", "must be an integer, got " .. type_name(v))
      end
      if v ~= v or v == HUGE or v == -HUGE then
        return add(probs, prefix, key, "finite", "must be a finite integer, got " .. tostring(v))
      end
      if v ~= math.floor(v) then
        return add(probs, prefix, key, "type", "must be an integer, got " .. tostring(v))
      end
    end
    if min and v < min then
      return add(probs, prefix, key, "range", format("must be at least %d, got %s", min, tostring(v)))
    end
    return probs
  end
end

local function check_number(v, prefix, key, probs)
  if type(v) ~= "number" then
    return add(probs, prefix, key, "type", "must be a number, got " .. type_name(v))
  end
  if v ~= v then return add(probs, prefix, key, "finite", "is NaN; numbers must be finite") end
  if v == HUGE or v == -HUGE then return add(probs, prefix, key, "finite", "is infinite; numbers must be finite") end
  return probs
end

local function check_boolean(v, prefix, key, probs)
  if type(v) ~= "boolean" then
    return add(probs, prefix, key, "type", "must be a boolean, got " .. type_name(v))
  end
  return probs
end

-- fields of an object; shared by the top level and nested objects
local function compile_fields(fields)
  local checkers, by_lower = {}, {}
  for k, spec in pairs(fields) do
    checkers[k] = compile_field(spec)
    by_lower[lower(k)] = k
  end
  return checkers, by_lower
end

local function check_members(v, path, checkers, by_lower, probs, depth)
  for k, sv in pairs(v) do
    local chk = checkers[k]
    if chk then
      if sv ~= null then probs = chk(sv, path, k, probs) end
    elseif type(k) ~= "string" then
      probs = add(probs, path, k, "type", "is not a field name; field names are strings")
    else
      local canon = by_lower[lower(k)]
      if canon then
        probs = add(probs, path, k, "unknown_field",
          "is not a field; did you mean " .. canon .. "? (names are case-sensitive)")
      else
        probs = generic(sv, path, k, probs, depth)
      end
    end
  end
  return probs
end

local function compile_object(spec)
  local checkers, by_lower = compile_fields(spec.fields)
  return function(v, prefix, key, probs)
    if type(v) ~= "table" then
      return add(probs, prefix, key, "type", "must be a table (JSON object), got " .. type_name(v))
    end
    return check_members(v, name(prefix, key), checkers, by_lower, probs, 2)
  end
end

local function compile_array(spec)
  local item = compile_field(spec.items)
  local max_items = spec.max_items
  return function(v, prefix, key, probs)
    if type(v) ~= "table" then
      return add(probs, prefix, key, "type", "must be a list (JSON array), got " .. type_name(v))
    end
    local n = #v
    for k in pairs(v) do
      if mtype(k) ~= "integer" or k < 1 or k > n then
        return add(probs, prefix, key, "type", "must be a list (keys 1..n), has key " .. show(k))
      end
    end
    if max_items and n > max_items then
      return add(probs, prefix, key, "max_items", format("has %d items, the maximum is %d", n, max_items), n)
    end
    if n > 0 then
      local path = name(prefix, key)
      for i = 1, n do
        local e = v[i]
        if e == null then
          probs = add(probs, path, i, "type", "must not be null")
        else
          probs = item(e, path, i, probs)
        end
      end
    end
    return probs
  end
end

function compile_field(spec)
  local t = spec.type
  if t == "string" then return compile_string(spec)
  elseif t == "integer" then return compile_integer(spec)
  elseif t == "number" then return check_number
  elseif t == "boolean" then return check_boolean
  elseif t == "object" then return compile_object(spec)
  elseif t == "array" then return compile_array(spec)
  end
  error("schema: unknown field type " .. tostring(t))
end

local by_field = function(a, b) return a.field < b.field end

-- Compiled checker for one resource.
-- c:check(body) -> nil | problems            a full body (edit): required fields enforced
-- c:check_changes(changes) -> nil | problems the changes given to update: no required fields
function M.compile(schema)
  bind_null()
  local fields = {}
  for k, spec in pairs(schema.fields) do fields[k] = spec end
  fields.id = { type = "integer", min = 1 }
  local checkers, by_lower = compile_fields(fields)
  local required = schema.required
  local nreq = #required
  local c = { schema = schema }

  local function slow(body, required_too)
    local probs
    if required_too then
      for i = 1, nreq do
        local f = required[i]
        local v = body[f]
        if v == nil or v == null then probs = add(probs, nil, f, "required", "is required") end
      end
    end
    probs = check_members(body, nil, checkers, by_lower, probs, 1)
    if probs then table.sort(probs, by_field) end
    return probs
  end

  function c.check(body)
    local bad = false
    for i = 1, nreq do
      local v = body[required[i]]
      if v == nil or v == null then bad = true end
    end
    if bad or check_members(body, FAST, checkers, by_lower, nil, 1) then return slow(body, true) end
    return nil
  end

  function c.check_changes(changes)
    if check_members(changes, FAST, checkers, by_lower, nil, 1) then return slow(changes, false) end
    return nil
  end

  -- Array fields whose empty table must be sent as [] (cjson would send {}): {parent, key}.
  local arrays = {}
  for k, spec in pairs(schema.fields) do
    if spec.type == "array" then arrays[#arrays + 1] = { nil, k } end
    if spec.type == "object" then
      for k2, s2 in pairs(spec.fields) do
        if s2.type == "array" then arrays[#arrays + 1] = { k, k2 } end
      end
    end
  end
  c.arrays = arrays
  return c
end

-- A validation error object for problems found before sending `method path`.
-- label is "customers:edit" and the like; the first problem gives field/rule/length.
function M.error(probs, label, method, path)
  local core = require "fusebill.core"
  local first = probs[1]
  local msg = label .. ": " .. first.message
  if #probs > 1 then
    msg = msg .. format(" (and %d more problem%s)", #probs - 1, #probs > 2 and "s" or "")
  end
  local errors = {}
  for i, p in ipairs(probs) do errors[i] = { key = p.field, value = p.message } end
  return core.new_error {
    kind = "validation", message = msg, field = first.field, rule = first.rule,
    length = first.length, method = method, path = path, attempts = 0, errors = errors,
    retryable = false,
  }
end

-- Problems with a single value used as an argument (ids); nil when fine.
function M.is_id(v)
  if mtype(v) == "integer" then return v > 0 end
  if type(v) == "number" and v == v and v > 0 and v < HUGE and v == math.floor(v) then return true end
  return false
end

M.generic = function(v, key) return generic(v, nil, key, nil, 1) end
M.null = function() bind_null(); return null end

return M
