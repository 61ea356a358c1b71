-- Checks a request body against a resource schema (schema.lua) before anything is sent.
--
-- validate.compile(schema) compiles the schema once into core.validator (core/engine/fb_validate.c
-- walks the body: it runs over every field of every edit, and in Lua it cost as much CPU as
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

local format, sort = string.format, table.sort

local by_field = function(a, b) return a.field < b.field end
local function sorted(probs)
  if probs then sort(probs, by_field) end
  return probs
end

-- What json.body must touch in a body of this schema, so it never walks every field:
-- { ids = {name...}, objects = {name = shape}, arrays = {name = item shape or false} }.
local function shape_of(fields)
  local shape = { ids = {}, objects = {}, arrays = {} }
  for k, spec in pairs(fields) do
    if spec.type == "id" then shape.ids[#shape.ids + 1] = k
    elseif spec.type == "object" then shape.objects[k] = shape_of(spec.fields)
    elseif spec.type == "array" then
      shape.arrays[k] = spec.items.type == "object" and shape_of(spec.items.fields) or false
    end
  end
  return shape
end

-- Compiled checker for one resource.
-- c.check(body) -> nil | problems            a full body (edit): required fields enforced
-- c.check_changes(changes) -> nil | problems the changes given to update: no required fields
-- c.shape                                    see shape_of
-- A problem is { field =, rule =, message =, length = (lengths only) }.
function M.compile(schema)
  local walk = core.validator(schema.fields, schema.required)
  local c = { schema = schema, shape = shape_of(schema.fields) }
  function c.check(body) return sorted(walk(body, true)) end
  function c.check_changes(changes) return sorted(walk(changes, false)) end
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

return M
