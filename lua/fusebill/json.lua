-- JSON for the library: the one place that works around lua-cjson 2.1, so request
-- bodies, the engine API's results, journals, reports and dry-run diffs all follow
-- the rules of core/engine/fb_json.c:
--   json.decode(s) -> value | nil, message   whole numbers as integers, null fields absent
--   json.encode(v) -> text | nil, message    "/" unescaped; never raises
--   json.body(compiled, body) -> text | nil, message
--       a request body (compiled: validate.compile of its schema): fields that were null
--       when the object was read go back as null, an id given as a string of digits goes
--       as a number, and an empty list the schema declares as an array goes as []
--       (lua-cjson writes {})
--   json.prepare(compiled, body) -> the table json.body would encode (empty lists as {}),
--       which is also what dry run predicts from
-- fusebill.null (== cjson.null) encodes as null, so a caller can clear a field on purpose.

local cjson = require "cjson"
-- fusebill.core is built by luaopen_fusebill, which loads this module on its way: it is
-- there by then. A state that loads this module first (the engine API's driver, the bulk
-- runner's journal) loads fusebill, which builds it.
local core = package.loaded["fusebill.core"] or (require("fusebill") and package.loaded["fusebill.core"])

local M = {}

local enc = cjson.new()              -- private instance: nobody else's settings leak in
enc.encode_max_depth(64)
enc.encode_invalid_numbers(false)     -- NaN/inf are rejected (validation catches them first)
enc.encode_sparse_array(false)
local encode, tidy = enc.encode, core.json_tidy
local with_nulls, EMPTY = core.with_nulls, core.EMPTY_ARRAY
local pcall, type, next, pairs = pcall, type, next, pairs
local tointeger, tonumber = math.tointeger, tonumber

M.decode = core.decode

function M.encode(v)
  local ok, text = pcall(encode, v)
  if not ok then return nil, text end
  return tidy(text)
end

local prepare

-- ch (made when needed) with ch[k] = new when new is not the value v it replaces
local function changed(ch, k, v, new)
  if new == v then return ch end
  ch = ch or {}
  ch[k] = new
  return ch
end

-- The values t's own fields take when t is sent, as { key = value } (nil: none change): an
-- id given as a string of digits as a number, an object or list that needs preparing as
-- its prepared copy, an empty list as `empty` (nil: left as it is). Only the fields the
-- shape names are visited, not every field of every edit.
local function changes(shape, t, empty)
  local ch
  local ids = shape.ids
  for i = 1, #ids do
    local v = t[ids[i]]
    if type(v) == "string" then ch = changed(ch, ids[i], v, tointeger(tonumber(v))) end
  end
  for k, sub in pairs(shape.objects) do
    local v = t[k]
    if type(v) == "table" then ch = changed(ch, k, v, prepare(sub, v, empty)) end
  end
  for k, item in pairs(shape.arrays) do
    local v = t[k]
    if type(v) == "table" then
      local p = v
      if next(v) == nil then
        p = empty or v
      elseif item then
        for i = 1, #v do
          local x = type(v[i]) == "table" and prepare(item, v[i], empty) or v[i]
          if x ~= v[i] then
            if p == v then p = with_nulls(v, true) end
            p[i] = x
          end
        end
      end
      ch = changed(ch, k, v, p)
    end
  end
  return ch
end

-- t as the shape says it is sent: its null fields back (core.with_nulls) and its fields'
-- changes applied, in a copy; t itself when nothing changes.
function prepare(shape, t, empty)
  local out = with_nulls(t)
  local ch = changes(shape, t, empty)
  if ch then
    if out == t then out = with_nulls(t, true) end
    for k, v in pairs(ch) do out[k] = v end
  end
  return out
end

function M.prepare(compiled, body)
  return prepare(compiled.shape, body, nil)
end

-- A user's string that is exactly the marker (U+0001 then "[]") would be sent as [] too;
-- no field of the API holds such a value.
function M.body(compiled, body)
  return M.encode(prepare(compiled.shape, body, EMPTY))
end

return M
