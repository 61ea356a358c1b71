-- Checks a request body against a resource schema (schema.lua) before anything is sent.
--
-- validate.compile(schema) compiles the schema once into core.validator (core/engine/fb_validate.c
-- walks the body: it runs over every field of every edit, which in Lua cost as much CPU as
-- the HTTP exchange). Problems are collected (not just the first) and sorted by field name,
-- so the error a user sees is deterministic whatever order the table is walked in.
--
-- Unknown fields pass through (the API ignores unknown properties), but they must still be
-- sendable as JSON: finite numbers, valid UTF-8 strings without NUL bytes, string keys,
-- nesting at most 32 deep. A field that differs from a known one only by case
-- ("FirstName") is rejected, because ASP.NET binds names case-insensitively and the value
-- would reach the server without ever being validated.

local core = require "fusebill.core"

local M = {}

local type, ipairs, format, sort = type, ipairs, string.format, table.sort
local mtype = math.type
local HUGE = math.huge

local by_field = function(a, b) return a.field < b.field end
local function sorted(probs)
  if probs then sort(probs, by_field) end
  return probs
end

-- Compiled checker for one resource.
-- c.check(body) -> nil | problems            a full body (edit): required fields enforced
-- c.check_changes(changes) -> nil | problems the changes given to update: no required fields
-- A problem is { field =, rule =, message =, length = (lengths only) }.
function M.compile(schema)
  local fields = {}
  for k, spec in pairs(schema.fields) do fields[k] = spec end
  fields.id = { type = "integer", min = 1 }
  local walk = core.validator(fields, schema.required)
  local c = { schema = schema }

  function c.check(body) return sorted(walk(body, true)) end
  function c.check_changes(changes) return sorted(walk(changes, false)) end

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

-- Whether v can be used as an id: a positive whole number.
function M.is_id(v)
  if mtype(v) == "integer" then return v > 0 end
  if type(v) == "number" and v == v and v > 0 and v < HUGE and v == math.floor(v) then return true end
  return false
end

return M
