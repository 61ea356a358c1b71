-- Field validation that collects every problem of a request, each message naming
-- the field ("firstName: maximum length is 50 characters.").
local util = require "sandbox.util"

local null = util.null
local M = {}

function M.new()
  return {}
end

local function present(v)
  return v ~= nil and v ~= null
end
M.present = present

-- A field the request must carry: `message` when it is absent or null, otherwise
-- checker(errs, name, v, ...). Returns what the checker returns.
function M.required(errs, message, checker, name, v, ...)
  if not present(v) then
    errs[#errs + 1] = message
    return nil
  end
  return checker(errs, name, v, ...)
end

local ulen = util.ulen

-- A string of at most `max` UTF-8 characters, or absent/null. Returns the value or nil.
-- (present() written out: most of a customer's 30 strings are null, and this is the
-- one check called for each of them)
function M.string(errs, name, v, max)
  if v == nil or v == null then return nil end
  if type(v) ~= "string" then
    errs[#errs + 1] = ("%s: must be a string."):format(name)
    return nil
  end
  local n = ulen(v)
  if not n then
    errs[#errs + 1] = ("%s: is not valid UTF-8."):format(name)
    return nil
  end
  if max and n > max then
    errs[#errs + 1] = ("%s: maximum length is %d characters."):format(name, max)
    return nil
  end
  return v
end

-- values list -> { [lower case] = the first value with that lower case, and the same for
-- each value's own spelling }, built once per list (the lists are module constants)
local enum_index = setmetatable({}, { __mode = "k" })

local function index_of(values)
  local idx = enum_index[values]
  if not idx then
    idx = {}
    for i = #values, 1, -1 do idx[values[i]:lower()] = values[i] end
    for _, c in ipairs(values) do idx[c] = idx[c:lower()] end
    enum_index[values] = idx
  end
  return idx
end

-- One of `values` (case-insensitive, as ASP.NET binds enums); returns the canonical one.
function M.enum(errs, name, v, values)
  if not present(v) then return nil end
  if type(v) == "string" then
    local idx = index_of(values)
    local c = idx[v] or idx[v:lower()]
    if c then return c end
  end
  errs[#errs + 1] = ("%s: '%s' is not a valid value. Valid values are: %s."):format(
    name, tostring(v), table.concat(values, ", "))
  return nil
end

local function valid_address(p)
  return p == "" or p:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") ~= nil
end

local function invalid_address(errs, name, p)
  errs[#errs + 1] = ("%s: '%s' is not a valid email address."):format(name, p)
  return nil
end

-- Values that passed M.emails: the patterns are the costly part of checking an address, and
-- a customer's addresses are sent again on every edit (all forgotten past GOOD_MAX values).
local GOOD_MAX = 4096
local good_emails, good_count = {}, 0

-- One or more addresses separated by ';', 255 characters in all.
function M.emails(errs, name, v)
  if good_emails[v] then return v end
  local s = M.string(errs, name, v, 255)
  if not s then return nil end
  if not s:find("[;%s]") then  -- one address, nothing to trim (the usual case)
    if not valid_address(s) then return invalid_address(errs, name, s) end
  else
    for part in (s .. ";"):gmatch("([^;]*);") do
      local p = part:match("^%s*(.-)%s*$")
      if not valid_address(p) then return invalid_address(errs, name, p) end
    end
  end
  if good_count >= GOOD_MAX then good_emails, good_count = {}, 0 end
  good_emails[s], good_count = true, good_count + 1
  return s
end

function M.integer(errs, name, v)
  if not present(v) then return nil end
  local n = util.to_int(v)
  if not n then errs[#errs + 1] = ("%s: must be an integer."):format(name) end
  return n
end

function M.boolean(errs, name, v)
  if not present(v) then return nil end
  if type(v) ~= "boolean" then errs[#errs + 1] = ("%s: must be true or false."):format(name) return nil end
  return v
end

function M.object(errs, name, v)
  if not present(v) then return nil end
  if type(v) ~= "table" or (#v > 0) then
    errs[#errs + 1] = ("%s: must be an object."):format(name)
    return nil
  end
  return v
end

return M
