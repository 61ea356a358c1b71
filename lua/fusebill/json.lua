-- JSON encoding of request bodies, with the two things stock cjson does not do for us:
-- an empty list the schema declares as an array is sent as [] (cjson 2.1 sends {}),
-- and an encoding failure comes back as a message instead of a raised error.
-- core.null (== cjson.null) encodes as JSON null, so a caller can clear a field on purpose.

local cjson = require "cjson"

local M = {}

local enc = cjson.new()              -- private instance: nobody else's settings leak in
enc.encode_max_depth(64)
enc.encode_invalid_numbers(false)     -- NaN/inf are rejected (validation catches them first)
enc.encode_sparse_array(false)
local encode = enc.encode
local pcall, type, next, pairs = pcall, type, next, pairs

-- A string value no caller will send; replaced by [] after encoding.
local EMPTY = "\"__fusebill_empty_array_\226\128\139__\""
local EMPTY_VALUE = EMPTY:sub(2, -2)

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- compiled: a validate.compile() result (its .arrays lists {parent, key} array fields).
-- Returns json | nil, message.
function M.encode(compiled, body)
  local arrays = compiled.arrays
  local fixed = false
  for i = 1, #arrays do
    local parent, key = arrays[i][1], arrays[i][2]
    local holder = body
    if parent then holder = body[parent] end
    if type(holder) == "table" then
      local v = holder[key]
      if type(v) == "table" and next(v) == nil then
        if not fixed then body = copy(body); fixed = true end
        if parent then
          local h = copy(holder)
          h[key] = EMPTY_VALUE
          body[parent] = h
        else
          body[key] = EMPTY_VALUE
        end
      end
    end
  end
  local ok, json = pcall(encode, body)
  if not ok then return nil, json end
  if fixed then json = json:gsub(EMPTY, "[]") end
  return json
end

-- Plain encoding (no schema), for callers that build their own bodies.
function M.encode_plain(v)
  local ok, json = pcall(encode, v)
  if not ok then return nil, json end
  return json
end

return M
