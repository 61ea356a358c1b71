-- Canonical JSON and digests: one text per value, whatever order its table was built in.
--
--   canon.encode(v)  -> JSON with every object's keys sorted, "/" not escaped, whole numbers
--                       without ".0", an empty table as []; raises on what JSON cannot hold
--   canon.digest(v)  -> 16 hex digits naming v's canonical text (functions, userdata and
--                       cycles do not raise here: they are named by type, so any item has one)
--   canon.hash(s)    -> a 64-bit integer hash of the string s
--
-- Plans and journals are read by people and compared with diff, so their objects come out in
-- one order; the journal keys an item by what it intends (a digest of the body or changes),
-- which only works if the same intent always gives the same text. lua-cjson writes keys in
-- table order, which changes from one process to the next (Lua seeds its string hashes), and
-- escapes "/" (so every uri reads "https:\/\/..."): hence this encoder.
--
-- The hash is not cryptographic: it tells an intended change from another, and spreads keys
-- in the journal's index. 64 bits make an accidental match between two of a million items
-- about one chance in 10^7.
local canon = {}

local null = require("cjson").null
local type, mtype, pairs, tostring, concat, sort = type, math.type, pairs, tostring, table.concat, table.sort
local format, unpack, byte = string.format, string.unpack, string.byte

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t" }
for c = 0, 31 do
  local ch = string.char(c)
  if not ESCAPES[ch] then ESCAPES[ch] = format("\\u%04x", c) end
end
ESCAPES["\127"] = "\\u007f"

local function quote(s)
  if s:find('[%c"\\]') then s = s:gsub('[%c"\\]', ESCAPES) end
  return '"' .. s .. '"'
end
canon.quote = quote

local function number(v)
  if mtype(v) == "integer" then return format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return format("%d", v) end
  local s = format("%.14g", v)
  if tonumber(s) ~= v then s = format("%.17g", v) end
  return s
end

-- An object's keys, sorted, with their JSON spelling: remembered by the order pairs() gave
-- them in, because objects of one resource come in few shapes and sorting their forty keys was
-- most of the cost. Bounded: a run over objects of ever new shapes starts the memo afresh.
local shapes, n_shapes = {}, 0
-- keys: the object's keys in pairs() order; simple: all of them strings (else no memo: a
-- signature would not tell 1 from "1")
local function sorted_keys(keys, count, simple, lenient)
  local sig = simple and count < 200 and concat(keys, "\0", 1, count) or nil
  local shape = sig and shapes[sig]
  if shape then return shape end
  local names, by_name = {}, {}
  for i = 1, count do
    local k = keys[i]
    local name = type(k) == "string" and k or (type(k) == "number" and number(k)) or nil
    if not name then
      if not lenient then error("canon.encode: cannot encode a " .. type(k) .. " key", 0) end
      name = "<" .. type(k) .. ">"
    end
    names[i] = name
    by_name[name] = k
  end
  sort(names)
  shape = { n = count }
  for i = 1, count do
    shape[2 * i - 1] = (i > 1 and "," or "{") .. quote(names[i]) .. ":"
    shape[2 * i] = by_name[names[i]]
  end
  if sig then
    if n_shapes >= 1000 then shapes, n_shapes = {}, 0 end
    shapes[sig], n_shapes = shape, n_shapes + 1
  end
  return shape
end

-- lenient: name what JSON cannot hold instead of raising (digests of arbitrary items)
local function encode_into(out, v, depth, lenient)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "number" then
    local s = number(v)
    if not s then
      if not lenient then error("canon.encode: cannot encode " .. tostring(v), 0) end
      s = '"<' .. tostring(v) .. '>"'
    end
    out[#out + 1] = s
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == null then
    out[#out + 1] = "null"
  elseif t == "table" and depth < 64 then
    local n, count, keys, simple = #v, 0, {}, true
    for k in pairs(v) do
      count = count + 1
      keys[count] = k
      if simple and type(k) ~= "string" then simple = false end
    end
    if count == 0 then
      out[#out + 1] = "[]"
    elseif count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode_into(out, v[i], depth + 1, lenient)
      end
      out[#out + 1] = "]"
    else
      local shape = sorted_keys(keys, count, simple, lenient)
      for i = 1, count do
        out[#out + 1] = shape[2 * i - 1]
        encode_into(out, v[shape[2 * i]], depth + 1, lenient)
      end
      out[#out + 1] = "}"
    end
  else
    if not lenient then
      error(t == "table" and "canon.encode: nested too deep" or ("canon.encode: cannot encode a " .. t), 0)
    end
    out[#out + 1] = '"<' .. t .. '>"'
  end
end

function canon.encode(v)
  local out = {}
  encode_into(out, v, 0, false)
  return concat(out)
end

-- Multiply-xorshift over 8-byte words, then splitmix64's finaliser. Lua integers wrap on
-- overflow, which is what the arithmetic wants.
local K1, K2, K3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB

function canon.hash(s)
  local n = #s
  local h = n ~ K1
  local i, full = 1, n - n % 64
  while i <= full do
    local a, b, c, d, e, f, g, k = unpack("<i8i8i8i8i8i8i8i8", s, i)
    h = (h ~ a) * K2; h = h ~ (h >> 31)
    h = (h ~ b) * K2; h = h ~ (h >> 31)
    h = (h ~ c) * K2; h = h ~ (h >> 31)
    h = (h ~ d) * K2; h = h ~ (h >> 31)
    h = (h ~ e) * K2; h = h ~ (h >> 31)
    h = (h ~ f) * K2; h = h ~ (h >> 31)
    h = (h ~ g) * K2; h = h ~ (h >> 31)
    h = (h ~ k) * K2; h = h ~ (h >> 31)
    i = i + 64
  end
  while i <= n do
    local w = 0
    local last = i + 7 <= n and i + 7 or n
    for j = last, i, -1 do w = (w << 8) | byte(s, j) end
    h = (h ~ w) * K2; h = h ~ (h >> 31)
    i = i + 8
  end
  h = (h ~ (h >> 30)) * K2
  h = (h ~ (h >> 27)) * K3
  return h ~ (h >> 31)
end
local hash = canon.hash

function canon.digest(v)
  local out = {}
  encode_into(out, v, 0, true)
  return format("%016x", hash(concat(out)))
end

return canon
