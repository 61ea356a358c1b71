-- The deterministic data set of the sandbox. Fixed records (same for every seed) come
-- first, so tests can name them; generated records follow (their content depends on
-- --seed, their count on --customers/--codes/--items).
--
-- CUSTOMERS (ids 1-8 fixed; 9.. generated, default 42 more, statuses mixed):
--   1 Active    Ada Lovelace, ada@example.com, title Ms, reference CUST-1, USD, MRR 60.0000,
--               salesTrackingCodes [NA (Sales Tracking Code 1)], reference1 R1-1, acquisition source google
--   2 Draft     Grace Hopper            3 Hold      Alan Turing (PoorStanding)
--   4 Suspended Edsger Dijkstra (Collection)        5 Cancelled Barbara Liskov
--   6 Active    Donald Knuth, company TAOCP Inc, two emails "don@example.com;knuth@example.org", CAD
--   7 Active    sparse: only id, status, currency (every optional field null)
--   8 Active    Zoë Ünïcödé (multi-byte names)
-- SALES TRACKING CODES (ids 1-6 fixed; 7.. generated, default 14 more, every 4th Retired):
--   1 Sales Tracking Code 1 / NA      Active      2 Sales Tracking Code 1 / EU   Active
--   3 Sales Tracking Code 1 / APAC    Retired     4 Sales Tracking Code 2 / WEB  Active
--   5 Sales Tracking Code 2 / PARTNER Retired     6 Sales Tracking Code 3 / EU   Active (same code, other type)
-- PURCHASES: 1 Draft (customer 1, product 100), 2 Purchased (customer 1, product 100),
--            3 Draft (customer 6, product 300)
-- SUBSCRIPTION PRODUCTS: 1 (subscription 1, customer 1, product 100), 2 (subscription 1,
--            customer 1, product 200), 3 (subscription 2, customer 6, product 300)
-- TRACKED ITEMS (ids 1-8 fixed; 9.. generated, default 32 more: alternately purchase 3 and
--   subscription product 3, product 300, reference GEN-<id>, every 5th Deleted):
--   1 purchase     purchase 1 (Draft)     product 100 LIC-1   Active
--   2 purchase     purchase 2 (Purchased) product 100 LIC-2   Active
--   3 purchase     purchase 1 (Draft)     product 100 LIC-OLD Deleted
--   4 subscription sp 1                   product 100 SN-1    Active   (product 100 shared
--   5 subscription sp 1                   product 100 SN-2    Active    by purchases and
--   6 subscription sp 1                   product 100 SN-OLD  Deleted   subscriptions)
--   7 subscription sp 2                   product 200 LIC-1   Active   (same reference, other product)
--   8 purchase     purchase 3 (Draft)     product 300 P3-1    Active
local util = require "sandbox.util"
local store = require "sandbox.store"

local M = {}

M.DEFAULTS = { customers = 42, codes = 14, items = 32 }

M.SUMMARY = {
  customers = {
    { id = 1, status = "Active", note = "full record: Ada Lovelace, salesTrackingCodes [NA], MRR 60.0000" },
    { id = 2, status = "Draft" }, { id = 3, status = "Hold" }, { id = 4, status = "Suspended" },
    { id = 5, status = "Cancelled" },
    { id = 6, status = "Active", note = "two emails, currency CAD, companyName" },
    { id = 7, status = "Active", note = "sparse: optional fields null" },
    { id = 8, status = "Active", note = "multi-byte UTF-8 names" },
    { ids = "9..", note = "generated, mixed statuses, depends on --seed" },
  },
  salesTrackingCodes = {
    { id = 1, type = "Sales Tracking Code 1", code = "NA", status = "Active" },
    { id = 2, type = "Sales Tracking Code 1", code = "EU", status = "Active" },
    { id = 3, type = "Sales Tracking Code 1", code = "APAC", status = "Retired" },
    { id = 4, type = "Sales Tracking Code 2", code = "WEB", status = "Active" },
    { id = 5, type = "Sales Tracking Code 2", code = "PARTNER", status = "Retired" },
    { id = 6, type = "Sales Tracking Code 3", code = "EU", status = "Active" },
    { ids = "7..", note = "generated G<id>, types cycle 1-5, every 4th Retired" },
  },
  trackedItems = {
    { id = 1, kind = "purchase", purchaseId = 1, productId = 100, reference = "LIC-1", status = "Active" },
    { id = 2, kind = "purchase", purchaseId = 2, productId = 100, reference = "LIC-2", status = "Active",
      note = "purchase 2 is not Draft: DELETE gives 409" },
    { id = 3, kind = "purchase", purchaseId = 1, productId = 100, reference = "LIC-OLD", status = "Deleted" },
    { id = 4, kind = "subscription", subscriptionProductId = 1, productId = 100, reference = "SN-1", status = "Active" },
    { id = 5, kind = "subscription", subscriptionProductId = 1, productId = 100, reference = "SN-2", status = "Active" },
    { id = 6, kind = "subscription", subscriptionProductId = 1, productId = 100, reference = "SN-OLD", status = "Deleted" },
    { id = 7, kind = "subscription", subscriptionProductId = 2, productId = 200, reference = "LIC-1", status = "Active" },
    { id = 8, kind = "purchase", purchaseId = 3, productId = 300, reference = "P3-1", status = "Active" },
    { ids = "9..", note = "generated GEN-<id>, product 300, alternately purchase 3 / subscription product 3, every 5th Deleted" },
  },
  purchases = { { id = 1, status = "Draft" }, { id = 2, status = "Purchased" }, { id = 3, status = "Draft" } },
  subscriptionProducts = { { id = 1, productId = 100 }, { id = 2, productId = 200 }, { id = 3, productId = 300 } },
}

local BASE = 1573221032  -- 2019-11-08T13:50:32Z

local FIRST = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Dennis", "Margaret", "Frances",
                "John", "Radia", "Leslie", "Niklaus", "Tony", "Hedy", "Katherine", "Linus", "Guido", "Yukihiro" }
local LAST = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Ritchie", "Hamilton",
               "Allen", "McCarthy", "Perlman", "Lamport", "Wirth", "Hoare", "Lamarr", "Johnson", "Torvalds",
               "van Rossum", "Matsumoto" }
local STATUSES = { "Active", "Active", "Active", "Active", "Active", "Active", "Draft", "Draft", "Hold",
                   "Suspended", "Cancelled" }
local ACCOUNT = { "Good", "Good", "Good", "PoorStanding", "Collection" }

local function customer(id, status, t)
  local created = BASE + id * 3600
  local c = {
    id = id, status = status, currency = t.currency or "USD", canChangeCurrency = false,
    customerAccountStatus = t.customerAccountStatus or "Good",
    firstName = t.firstName, lastName = t.lastName, middleName = t.middleName, companyName = t.companyName,
    primaryEmail = t.primaryEmail, title = t.title, reference = t.reference, primaryPhone = t.primaryPhone,
    monthlyRecurringRevenue = t.mrr or 0, netMonthlyRecurringRevenue = t.mrr or 0,
    isParent = false, quickBooksLatchType = t.quickBooksLatchType,
    customerReference = { reference1 = t.reference1, salesTrackingCodes = t.codes or {} },
    customerAcquisition = { source = t.source },
    createdTimestamp = util.timestamp(created),
    modifiedTimestamp = util.timestamp(created + 600.64),
  }
  return c
end

local function code(id, n, c, name, status)
  return { id = id, type = "Sales Tracking Code " .. n, code = c, name = name, status = status,
           description = name .. " sales", email = nil, deletable = status ~= "Retired" and id ~= 1 }
end

local function item(st, id, kind, parent, reference, status)
  local created = BASE + 86400 + id * 60
  local it = { id = id, reference = reference, name = "Item " .. reference, description = nil,
               status = status, createdDate = util.timestamp(created),
               modifiedDate = util.timestamp(created + 1.5) }
  if kind == "purchase" then
    local p = st.purchases[parent]
    it.purchaseId, it.productId, it.customerId = p.id, p.productId, p.customerId
  else
    local sp = st.subscription_products[parent]
    it.subscriptionProductId, it.subscriptionId = sp.id, sp.subscriptionId
    it.productId, it.customerId = sp.productId, sp.customerId
  end
  st.items[id] = it
end

-- sizes: {customers=, codes=, items=} counts of generated records beyond the fixed ones
function M.generate(seed, sizes)
  sizes = sizes or {}
  local rnd = util.prng(seed or 1)
  local st = store.new()
  local na = { id = 1, type = "Sales Tracking Code 1", code = "NA" }
  local fixed = {
    customer(1, "Active", { firstName = "Ada", lastName = "Lovelace", primaryEmail = "ada@example.com",
      title = "Ms", reference = "CUST-1", mrr = 60, reference1 = "R1-1", source = "google",
      primaryPhone = "+1 555 0100", codes = { na }, quickBooksLatchType = "DoNothing" }),
    customer(2, "Draft", { firstName = "Grace", lastName = "Hopper", primaryEmail = "grace@example.com" }),
    customer(3, "Hold", { firstName = "Alan", lastName = "Turing", customerAccountStatus = "PoorStanding" }),
    customer(4, "Suspended", { firstName = "Edsger", lastName = "Dijkstra", customerAccountStatus = "Collection" }),
    customer(5, "Cancelled", { firstName = "Barbara", lastName = "Liskov" }),
    customer(6, "Active", { firstName = "Donald", lastName = "Knuth", companyName = "TAOCP Inc",
      primaryEmail = "don@example.com;knuth@example.org", currency = "CAD", mrr = 12.5 }),
    customer(7, "Active", {}),
    customer(8, "Active", { firstName = "Zoë", lastName = "Ünïcödé", primaryEmail = "zoe@example.com" }),
  }
  for _, c in ipairs(fixed) do st.customers[c.id] = c end
  local nfixed = #fixed
  for id = nfixed + 1, nfixed + (sizes.customers or M.DEFAULTS.customers) do
    local f, l = FIRST[rnd(#FIRST)], LAST[rnd(#LAST)]
    local email = ("%s.%s%d@example.com"):format(f:lower(), l:lower():gsub(" ", ""), id)
    -- every sixth one as typed by hand, so scripts/normalise_customers.lua has work to show
    local untidy = id % 6 == 0
    st.customers[id] = customer(id, STATUSES[rnd(#STATUSES)], {
      firstName = untidy and ("  " .. f .. " ") or f, lastName = l, reference = ("CUST-%d"):format(id),
      primaryEmail = untidy and email:gsub("^%a", string.upper):gsub("@.*", string.upper) or email,
      customerAccountStatus = ACCOUNT[rnd(#ACCOUNT)], mrr = rnd(0, 50000) / 100 })
  end
  st.next_id.customer = nfixed + (sizes.customers or M.DEFAULTS.customers) + 1

  local codes = { code(1, 1, "NA", "North America", "Active"), code(2, 1, "EU", "Europe", "Active"),
                  code(3, 1, "APAC", "Asia Pacific", "Retired"), code(4, 2, "WEB", "Web signup", "Active"),
                  code(5, 2, "PARTNER", "Partner referral", "Retired"), code(6, 3, "EU", "Events Europe", "Active") }
  for _, c in ipairs(codes) do st.codes[c.id] = c end
  local ncodes = sizes.codes or M.DEFAULTS.codes
  for id = #codes + 1, #codes + ncodes do
    st.codes[id] = code(id, (id - 1) % 5 + 1, ("G%03d"):format(id), ("Generated %d"):format(id),
                        id % 4 == 0 and "Retired" or "Active")
  end
  st.next_id.code = #codes + ncodes + 1

  st.purchases[1] = { id = 1, customerId = 1, productId = 100, status = "Draft" }
  st.purchases[2] = { id = 2, customerId = 1, productId = 100, status = "Purchased" }
  st.purchases[3] = { id = 3, customerId = 6, productId = 300, status = "Draft" }
  st.subscription_products[1] = { id = 1, subscriptionId = 1, customerId = 1, productId = 100 }
  st.subscription_products[2] = { id = 2, subscriptionId = 1, customerId = 1, productId = 200 }
  st.subscription_products[3] = { id = 3, subscriptionId = 2, customerId = 6, productId = 300 }
  item(st, 1, "purchase", 1, "LIC-1", "Active")
  item(st, 2, "purchase", 2, "LIC-2", "Active")
  item(st, 3, "purchase", 1, "LIC-OLD", "Deleted")
  item(st, 4, "subscription", 1, "SN-1", "Active")
  item(st, 5, "subscription", 1, "SN-2", "Active")
  item(st, 6, "subscription", 1, "SN-OLD", "Deleted")
  item(st, 7, "subscription", 2, "LIC-1", "Active")
  item(st, 8, "purchase", 3, "P3-1", "Active")
  local nitems = sizes.items or M.DEFAULTS.items
  for id = 9, 8 + nitems do
    item(st, id, id % 2 == 1 and "purchase" or "subscription", 3, ("GEN-%d"):format(id),
         id % 5 == 0 and "Deleted" or "Active")
  end
  st.next_id.item = 9 + nitems
  return st
end

return M
