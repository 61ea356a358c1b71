-- The sandbox's state: plain tables keyed by id, in the API's camelCase shape minus
-- `uri` (added when rendering), so a dump is readable and loads back as is.
--   customers[id], codes[id] (sales tracking codes), items[id] (tracked items: purchase
--   and subscription product items share one table and one id sequence, as in Fusebill),
--   purchases[id] {id, customerId, productId, status}, subscription_products[id]
--   {id, subscriptionId, customerId, productId}.
local util = require "sandbox.util"

local M = {}

function M.new()
  return { customers = {}, codes = {}, items = {}, purchases = {}, subscription_products = {},
           next_id = { customer = 1, code = 1, item = 1 } }
end

function M.next_id(st, kind)
  local id = st.next_id[kind]
  st.next_id[kind] = id + 1
  return id
end

-- map -> its ids in ascending order, kept until a record with a new id goes in (M.put), so
-- the list requests that page through 300,000 records do not sort them all again each time
local ids_of = setmetatable({}, { __mode = "k" })

-- A map's records in ascending id order (records are replaced whole by a PUT, so the ids
-- are kept, not the records).
function M.sorted(map)
  local ids = ids_of[map]
  if not ids then
    ids = {}
    for id in pairs(map) do ids[#ids + 1] = id end
    table.sort(ids)
    ids_of[map] = ids
  end
  local list = {}
  for i = 1, #ids do list[i] = map[ids[i]] end
  return list
end
local sorted = M.sorted

-- map[rec.id] = rec: a new record, or one a PUT replaces whole.
function M.put(map, rec)
  if map[rec.id] == nil then ids_of[map] = nil end
  map[rec.id] = rec
end

-- the shape of GET /_sandbox/state and of --data / --save files
function M.dump(st)
  return {
    customers = util.array(sorted(st.customers)),
    salesTrackingCodes = util.array(sorted(st.codes)),
    trackedItems = util.array(sorted(st.items)),
    purchases = util.array(sorted(st.purchases)),
    subscriptionProducts = util.array(sorted(st.subscription_products)),
    nextId = st.next_id,
  }
end

local function index(list, into, what)
  if list == nil or list == util.null then return 0 end
  if type(list) ~= "table" then error(what .. " must be an array", 0) end
  local max = 0
  for _, rec in ipairs(list) do
    local id = util.to_int(rec.id)
    if not id then error(what .. ": every record needs an integer id", 0) end
    rec.id = id
    rec.uri = nil
    into[id] = rec
    if id > max then max = id end
  end
  return max
end

-- lua-cjson 2.1 reads every JSON number as a float. A live state holds whole numbers
-- as integers, and a float id would show in a uri as ".../SalesTrackingCodes/1.0".
local function whole_numbers(t)
  for k, v in pairs(t) do
    if math.type(v) == "float" then
      local i = math.tointeger(v)
      if i then t[k] = i end   -- assigning to an existing key is allowed while traversing
    elseif type(v) == "table" then
      whole_numbers(v)
    end
  end
end

-- Builds a state from a dump; raises a message on a bad shape.
function M.load(data)
  if type(data) ~= "table" then error("state must be a JSON object", 0) end
  whole_numbers(data)
  local st = M.new()
  local mc = index(data.customers, st.customers, "customers")
  local ms = index(data.salesTrackingCodes, st.codes, "salesTrackingCodes")
  local mi = index(data.trackedItems, st.items, "trackedItems")
  index(data.purchases, st.purchases, "purchases")
  index(data.subscriptionProducts, st.subscription_products, "subscriptionProducts")
  for _, c in pairs(st.customers) do
    -- money arrives as numbers; anything else is stored as given
    c.customerReference = type(c.customerReference) == "table" and c.customerReference or {}
    c.customerAcquisition = type(c.customerAcquisition) == "table" and c.customerAcquisition or {}
    c.customerReference.id, c.customerReference.uri = nil, nil
    c.customerAcquisition.id, c.customerAcquisition.uri = nil, nil
    local codes = c.customerReference.salesTrackingCodes
    if type(codes) ~= "table" then c.customerReference.salesTrackingCodes = {} end
  end
  local n = type(data.nextId) == "table" and data.nextId or {}
  st.next_id.customer = math.max(util.to_int(n.customer) or 0, mc + 1)
  st.next_id.code = math.max(util.to_int(n.code) or 0, ms + 1)
  st.next_id.item = math.max(util.to_int(n.item) or 0, mi + 1)
  return st
end

return M
