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
local null, null_fields, EMPTY = core.null, core.null_fields, core.EMPTY_ARRAY
local pcall, type, next, pairs = pcall, type, next, pairs
local tointeger, tonumber = math.tointeger, tonumber

M.decode = core.decode

function M.encode(v)
  local ok, text = pcall(encode, v)
  if not ok then return nil, text end
  return tidy(text)
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- t as the shape says it is sent, copied only where something changes.
local function prepare(shape, t, empty)
  local out = t
  local function set(k, v)
    if out == t then out = copy(t) end
    out[k] = v
  end
  local nulls = null_fields[t]
  if nulls then
    for k in pairs(nulls) do
      if t[k] == nil then set(k, null) end
    end
  end
  local ids = shape.ids
  for i = 1, #ids do
    local v = t[ids[i]]
    if type(v) == "string" then set(ids[i], tointeger(tonumber(v))) end
  end
  for k, sub in pairs(shape.objects) do
    local v = t[k]
    if type(v) == "table" then
      local p = prepare(sub, v, empty)
      if p ~= v then set(k, p) end
    end
  end
  for k, item in pairs(shape.arrays) do
    local v = t[k]
    if type(v) == "table" then
      if next(v) == nil then
        if empty then set(k, empty) end
      elseif item then
        local list = v
        for i = 1, #v do
          local p = type(v[i]) == "table" and prepare(item, v[i], empty) or v[i]
          if p ~= v[i] then
            if list == v then list = copy(v) end
            list[i] = p
          end
        end
        if list ~= v then set(k, list) end
      end
    end
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
