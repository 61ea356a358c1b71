-- Route table: case-insensitive paths, optional trailing slash, `#` = integer id.
local customers = require "sandbox.customers"
local codes = require "sandbox.tracking_codes"
local items = require "sandbox.items"

local M = {}

local ROUTES = {
  { "GET", "customers", customers.list },
  { "POST", "customers", customers.create },
  { "PUT", "customers", customers.put },
  { "GET", "customers/#", customers.get },
  { "POST", "customeractivation", customers.activate },
  { "POST", "customerhold/#", customers.hold },
  { "POST", "customers/unhold", customers.unhold },
  { "POST", "customercancellation", customers.cancel },
  { "GET", "salestrackingcodes", codes.list },
  { "POST", "salestrackingcodes", codes.create },
  { "PUT", "salestrackingcodes", codes.put },
  { "GET", "salestrackingcodes/#", codes.get },
  { "POST", "salestrackingcodes/retire/#", codes.retire },
  { "POST", "purchaseproductitems", items.create_purchase },
  { "PUT", "purchaseproductitems", items.put_purchase },
  { "GET", "purchaseproductitems/#", items.get_purchase },
  { "DELETE", "purchaseproductitems/#", items.delete_purchase },
  { "POST", "subscriptionproductitems", items.create_subscription },
  { "PUT", "subscriptionproductitems", items.put_subscription },
  { "GET", "subscriptionproductitems/#", items.get_subscription },
  { "GET", "subscriptionproducts/#/items", items.list_subscription },
}

-- compile "a/#/b" into segment lists, grouped by the first segment (never "#"), so a
-- request is matched against the few routes that can match, in table order
local BY_FIRST = {}
for _, r in ipairs(ROUTES) do
  local segs = {}
  for s in r[2]:gmatch("[^/]+") do segs[#segs + 1] = s end
  r.segs = segs
  BY_FIRST[segs[1]] = BY_FIRST[segs[1]] or {}
  table.insert(BY_FIRST[segs[1]], r)
end

-- Splits "/v1/Customers/7/" into {"customers","7"}; nil when not under /v1.
function M.segments(path)
  local segs = {}
  for s in path:lower():gmatch("[^/]+") do segs[#segs + 1] = s end
  if segs[1] ~= "v1" then return nil end
  table.remove(segs, 1)
  return segs
end

-- True for "/v1" and "/v1/..." in any case: the prefix every API path has.
function M.under_v1(path)
  local b2, b3, b4 = path:byte(2, 4)
  return (b2 == 118 or b2 == 86) and b3 == 49 and (b4 == nil or b4 == 47)
end

-- "/v1/customers/1" for "/customers/1" when that is a route once prefixed, else nil.
function M.with_v1(path)
  local first = path:lower():match("^/([^/]+)")
  if first and BY_FIRST[first] then return "/v1" .. path end
  return nil
end

local function match(r, segs)
  if #r.segs ~= #segs then return false end
  local id
  for i = 1, #r.segs do
    local s = r.segs[i]
    if s == "#" then
      if not segs[i]:match("^%-?%d+$") then return false end
      id = math.tointeger(tonumber(segs[i]))
      if not id then return false end
    elseif s ~= segs[i] then
      return false
    end
  end
  return true, id
end

local function lookup(method, path)
  local segs = M.segments(path)
  if not segs then return nil, "route" end
  local other = false
  local candidates = BY_FIRST[segs[1]] or {}
  for i = 1, #candidates do
    local r = candidates[i]
    local ok, id = match(r, segs)
    if ok then
      if r[1] == method then return r[3], id end
      other = true
    end
  end
  return nil, other and "method" or "route"
end

-- The answer depends on nothing but method and path, and clients repeat a few paths,
-- so answers are remembered (all forgotten past MEMO_MAX paths: odd URLs cannot grow
-- the memo without bound); splitting and matching a path showed in a GET's profile.
local MEMO_MAX = 4096
local memo, memo_paths = {}, 0

-- Returns handler, id | nil, "method" (path known, method not) | nil, "route"
function M.find(method, path)
  local by_method = memo[path]
  local hit = by_method and by_method[method]
  if hit then return hit[1], hit[2] end
  local handler, id = lookup(method, path)
  if not by_method then
    if memo_paths >= MEMO_MAX then memo, memo_paths = {}, 0 end
    by_method = {}
    memo[path], memo_paths = by_method, memo_paths + 1
  end
  by_method[method] = { handler, id }
  return handler, id
end

return M
