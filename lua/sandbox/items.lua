-- Tracked items: purchase product items and subscription product items are rows of
-- one table (one id sequence). No two Active items of the same product share a
-- reference, across purchases and subscriptions; a Deleted item's reference is free.
local util = require "sandbox.util"
local check = require "sandbox.check"
local paging = require "sandbox.paging"
local store = require "sandbox.store"

local null = util.null
local M = {}

local bind = util.binder({ "id", "reference", "name", "description", "purchaseId", "subscriptionProductId",
                           "productId", "customerId", "status", "uri" })
local FIELDS = paging.fields({ "id", "reference", "name", "description", "status", "productId",
                               "createdDate", "modifiedDate" })

local KIND = {
  purchase = { path = "/purchaseProductItems/", missing = "ProductItem with id %s not found.",
               deleted = "Cannot edit a deleted purchase product item" },
  subscription = { path = "/subscriptionProductItems/",
                   missing = "SubscriptionProductItem with id %s not found.",
                   deleted = "Cannot edit a deleted subscription product item" },
}

local function nz(v)
  if v == nil then return null end
  return v
end

local function kind_of(it)
  return it.purchaseId ~= nil and it.purchaseId ~= null and "purchase" or "subscription"
end

function M.render(it, ctx)
  return { id = it.id, reference = it.reference, name = nz(it.name), description = nz(it.description),
           productId = nz(it.productId), customerId = nz(it.customerId), status = it.status,
           purchaseId = nz(it.purchaseId), subscriptionProductId = nz(it.subscriptionProductId),
           subscriptionId = nz(it.subscriptionId), createdDate = nz(it.createdDate),
           modifiedDate = nz(it.modifiedDate), uri = ctx.base .. KIND[kind_of(it)].path .. it.id }
end

local function find(ctx, kind, id)
  local it = ctx.st.items[id]
  if it and kind_of(it) == kind then return it end
  return nil, 404, KIND[kind].missing:format(tostring(id))
end

local function in_use(ctx, product, reference, except)
  for _, it in pairs(ctx.st.items) do
    if it.id ~= except and it.status == "Active" and it.productId == product and it.reference == reference then
      return ("Reference %s is already in use for product %s."):format(reference, tostring(product))
    end
  end
end

local function fields(b, errs)
  if not check.present(b.reference) then errs[#errs + 1] = "reference is required." end
  local ref = check.string(errs, "reference", b.reference, 255)
  if ref == "" then errs[#errs + 1] = "reference is required." end
  return ref, check.string(errs, "name", b.name, 100), check.string(errs, "description", b.description, 255)
end

-- A PUT or POST body: the integer `key` field (id, purchaseId or
-- subscriptionProductId) and the item's own fields; or nil, status, message.
local function read_body(ctx, key)
  local b, errs, n = ctx:keyed_object(bind, key, key .. " is required.")
  if not b then return nil, errs, n end  -- the body is no object: status, message
  local ref, name, description = fields(b, errs)
  if #errs > 0 then return nil, 400, errs end
  return { key = n, reference = ref, name = name, description = description }
end

local function getter(kind)
  return function(ctx)
    local it, st, msg = find(ctx, kind, ctx.id)
    if not it then return st, msg end
    return 200, M.render(it, ctx)
  end
end

local function putter(kind)
  return function(ctx)
    local b, st, msg = read_body(ctx, "id")
    if not b then return st, msg end
    local it, fst, fmsg = find(ctx, kind, b.key)
    if not it then return fst, fmsg end
    if it.status == "Deleted" then return 400, KIND[kind].deleted end
    local dup = in_use(ctx, it.productId, b.reference, b.key)
    if dup then return 400, dup end
    it.reference, it.name, it.description = b.reference, b.name, b.description
    it.modifiedDate = util.timestamp(ctx.now)
    return 200, M.render(it, ctx)
  end
end

local function creator(kind)
  local parent_field = kind == "purchase" and "purchaseId" or "subscriptionProductId"
  return function(ctx)
    local b, st, msg = read_body(ctx, parent_field)
    if not b then return st, msg end
    local pid = b.key
    local it = { reference = b.reference, name = b.name, description = b.description, status = "Active",
                 createdDate = util.timestamp(ctx.now), modifiedDate = util.timestamp(ctx.now) }
    if kind == "purchase" then
      local p = ctx.st.purchases[pid]
      if not p then return 404, ("Purchase with id %d not found."):format(pid) end
      if p.status ~= "Draft" then return 409, ("Purchase %d is not in Draft status."):format(pid) end
      it.purchaseId, it.productId, it.customerId = p.id, p.productId, p.customerId
    else
      local sp = ctx.st.subscription_products[pid]
      if not sp then return 404, ("SubscriptionProduct with id %d not found."):format(pid) end
      it.subscriptionProductId, it.subscriptionId = sp.id, sp.subscriptionId
      it.productId, it.customerId = sp.productId, sp.customerId
    end
    local dup = in_use(ctx, it.productId, b.reference)
    if dup then return 400, dup end
    it.id = ctx.next_id("item")
    store.put(ctx.st.items, it)
    return 200, M.render(it, ctx)
  end
end

for _, kind in ipairs({ "purchase", "subscription" }) do
  M["get_" .. kind], M["put_" .. kind], M["create_" .. kind] = getter(kind), putter(kind), creator(kind)
end

function M.delete_purchase(ctx)
  local it, st, msg = find(ctx, "purchase", ctx.id)
  if not it then return st, msg end
  if it.status == "Deleted" then return 400, "Cannot delete a deleted purchase product item" end
  local p = ctx.st.purchases[it.purchaseId]
  if p and p.status ~= "Draft" then
    return 409, ("Cannot delete a product item of purchase %d: the purchase is not in Draft status."):format(p.id)
  end
  it.status = "Deleted"
  it.modifiedDate = util.timestamp(ctx.now)
  return 204, nil
end

function M.list_subscription(ctx)
  local sp = ctx.st.subscription_products[ctx.id]
  if not sp then return 404, ("SubscriptionProduct with id %s not found."):format(tostring(ctx.id)) end
  local all = {}
  for _, it in ipairs(ctx.sorted("items")) do
    if it.subscriptionProductId == sp.id then all[#all + 1] = it end
  end
  return paging.respond(ctx, all, FIELDS, M.render)
end

return M
