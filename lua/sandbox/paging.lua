-- List queries shared by every list route: `query` filtering (field:value;field2:value2,
-- `*` wildcard, `[empty]` for null, comma-separated sets, from|to ranges), sorting
-- (sortExpression, sortOrder) and paging (pageSize, 0-based pageNumber) with the
-- X-* pagination headers Fusebill sends on lists (and only on lists).
local util = require "sandbox.util"

local null = util.null
local M = {}

M.DEFAULT_PAGE_SIZE = 20
M.MAX_PAGE_SIZE = 1000

-- A range's end: a number, a date (2019-11-08, 2019-11-08T13:50:32...) or nothing.
local function range_end(s)
  return s == "" or tonumber(s) ~= nil or s:find("^%d%d%d%d%-%d%d%-%d%d") ~= nil
end

-- A predicate for one alternative of a clause, or nil and the reason it is refused.
local function matcher(alt)
  if alt:lower() == "[empty]" then
    return function(v) return v == nil or v == null or v == "" end
  end
  local lo, hi = alt:match("^(.-)|(.-)$")
  if lo then
    -- the reference gives ranges for dates and numbers only: no more here
    if not (range_end(lo) and range_end(hi)) then
      return nil, ("query: '%s': a range (from|to) takes numbers or dates."):format(alt)
    end
    local nlo, nhi = tonumber(lo), tonumber(hi)
    local numeric = (lo == "" or nlo) and (hi == "" or nhi)
    return function(v)
      if v == nil or v == null then return false end
      if numeric and type(v) == "number" then
        return (lo == "" or v >= nlo) and (hi == "" or v <= nhi)
      end
      v = tostring(v)
      return (lo == "" or v >= lo) and (hi == "" or v <= hi)
    end
  end
  if alt:find("*", 1, true) then
    local pat = "^" .. alt:lower():gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
    return function(v)
      return v ~= nil and v ~= null and tostring(v):lower():find(pat) ~= nil
    end
  end
  local want = alt:lower()
  return function(v)
    if v == nil or v == null then return false end
    if type(v) == "boolean" then return tostring(v) == want end
    if type(v) == "number" and tonumber(alt) then return v == tonumber(alt) end
    return tostring(v):lower() == want
  end
end

-- fields: lowercased name -> { name = canonical, get = function(rec) ... }
-- Returns a predicate, or nil and an error message.
function M.filter(query, fields)
  if query == nil or query == "" then return function() return true end end
  local clauses = {}
  for clause in query:gmatch("[^;]+") do
    local name, value = clause:match("^%s*([^:]-)%s*:(.*)$")
    if not name then return nil, ("query: '%s' is not of the form field:value."):format(clause) end
    local f = fields[name:lower()]
    if not f then return nil, ("query: unknown field %s."):format(name) end
    local alts = {}
    for alt in (value .. ","):gmatch("([^,]*),") do
      local m, merr = matcher(alt)
      if not m then return nil, merr end
      alts[#alts + 1] = m
    end
    -- a set of values or one range, as the reference has them; not the two in one clause
    if #alts > 1 and value:find("|", 1, true) then
      return nil, ("query: '%s': a range (from|to) cannot be one of a set of values."):format(clause)
    end
    clauses[#clauses + 1] = { get = f.get, alts = alts }
  end
  return function(rec)
    for _, c in ipairs(clauses) do
      local v, any = c.get(rec), false
      for _, m in ipairs(c.alts) do
        if m(v) then any = true break end
      end
      if not any then return false end
    end
    return true
  end
end

local function less(a, b)
  if a == b then return false end
  if a == nil or a == null then return true end
  if b == nil or b == null then return false end
  local ta, tb = type(a), type(b)
  if ta == "number" and tb == "number" then return a < b end
  if ta == "string" and tb == "string" then return a:lower() < b:lower() end
  return tostring(a) < tostring(b)
end

local function int_param(q, name, default)
  local v = q[name:lower()]
  if v == nil or v == "" then return default end
  local n = math.tointeger(tonumber(v))
  if not n or n < 0 then return nil, ("%s: must be a non-negative integer."):format(name) end
  return n
end

-- list: records in ascending id order, the caller's to give away (a sort by another field
-- reorders it); q: query table with lowercased keys. Returns page, headers or nil, msg.
-- Without a query and sorted by id (the default), the page is a slice of list: paging
-- through 300,000 records costs no filtering or sorting per page.
local function apply(list, q, fields)
  local pred, ferr = M.filter(q.query, fields)
  if not pred then return nil, ferr end
  local size, serr = int_param(q, "pageSize", M.DEFAULT_PAGE_SIZE)
  if not size then return nil, serr end
  if size == 0 then return nil, "pageSize: must be at least 1." end
  if size > M.MAX_PAGE_SIZE then size = M.MAX_PAGE_SIZE end
  local number, nerr = int_param(q, "pageNumber", 0)
  if not number then return nil, nerr end
  local order = q.sortorder or "Ascending"
  local ol = order:lower()
  if ol == "ascending" or ol == "asc" then order = "Ascending"
  elseif ol == "descending" or ol == "desc" then order = "Descending"
  else return nil, ("sortOrder: '%s' is not a valid value. Valid values are: Ascending, Descending."):format(order) end
  local expr = q.sortexpression
  local key = fields.id
  if expr and expr ~= "" then
    key = fields[expr:lower()]
    if not key then return nil, ("sortExpression: unknown field %s."):format(expr) end
  end
  local hits = list
  if q.query ~= nil and q.query ~= "" then
    hits = {}
    for _, rec in ipairs(list) do
      if pred(rec) then hits[#hits + 1] = rec end
    end
  end
  local get, desc = key.get, order == "Descending"
  local by_id = key == fields.id
  if not by_id then
    table.sort(hits, function(a, b)
      local va, vb = get(a), get(b)
      if less(va, vb) then return not desc end
      if less(vb, va) then return desc end
      return a.id < b.id
    end)
  end
  local total = #hits
  local max_index = total == 0 and 0 or (total - 1) // size
  local page = {}
  for i = number * size + 1, math.min(total, (number + 1) * size) do
    page[#page + 1] = hits[by_id and desc and total - i + 1 or i]   -- hits are in ascending id order
  end
  local headers = {
    ["X-Count"] = #page, ["X-MaxCount"] = total, ["X-CurrentPage"] = number,
    ["X-PreviousPage"] = number > 0 and number - 1 or -1,
    ["X-NextPage"] = number < max_index and number + 1 or -1,
    ["X-PageSize"] = size, ["X-MaxPageIndex"] = max_index,
    ["X-SortOrder"] = order, ["X-SortExpression"] = key.name,
  }
  return page, headers
end

-- A list route's answer: the page of `list` that ctx's query asks for, each record
-- rendered, with the X-* headers; or 400 and what is wrong with the query.
function M.respond(ctx, list, fields, render)
  local page, headers = apply(list, ctx.q, fields)
  if not page then return 400, headers end
  local out = {}
  for i, rec in ipairs(page) do out[i] = render(rec, ctx) end
  return 200, util.array(out), headers
end

-- fields map from a list of names, reading rec[name]
function M.fields(names, extra)
  local map = {}
  for _, n in ipairs(names) do
    map[n:lower()] = { name = n, get = function(r) return r[n] end }
  end
  for n, get in pairs(extra or {}) do map[n:lower()] = { name = n, get = get } end
  return map
end

return M
