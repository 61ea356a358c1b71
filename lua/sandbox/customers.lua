-- Customers: GET by id, list, POST (new customers start as Draft), PUT (the body
-- replaces the customer: omitted fields become null, currency excepted), and the
-- dedicated status calls (activation, hold, unhold, cancellation).
local util = require "sandbox.util"
local check = require "sandbox.check"
local paging = require "sandbox.paging"
local store = require "sandbox.store"
local tracking_codes = require "sandbox.tracking_codes"

local null = util.null
local M = {}

local STATUSES = { "Draft", "Active", "Hold", "Suspended", "Cancelled" }
local ACCOUNT_STATUSES = { "Good", "PoorStanding", "Collection" }
local TITLES = { "Mr", "Mrs", "Ms", "Miss", "Dr" }
local LATCH = { "CreateNew", "LatchExisting", "DoNothing" }

-- writable top-level strings and their maximum lengths (nil: no documented maximum)
local STRINGS = {
  { "firstName", 50 }, { "middleName", 50 }, { "lastName", 50 }, { "companyName", 50 }, { "suffix", 50 },
  { "primaryPhone", 50 }, { "secondaryPhone", 50 }, { "reference", 255 },
  { "salesforceId" }, { "salesforceAccountType" }, { "salesforceSynchStatus" }, { "netsuiteId" },
  { "netsuiteSynchStatus" }, { "netsuiteCustomerType" }, { "portalUserName" }, { "quickBooksId" },
  { "quickBooksSyncToken" }, { "hubSpotId" }, { "hubSpotCompanyId" }, { "geotabId" }, { "digitalRiverId" },
}
local EMAILS = { "primaryEmail", "secondaryEmail" }
local ACQ = { "adContent", "campaign", "keyword", "landingPage", "medium", "source" }
local REFS = { "reference1", "reference2", "reference3" }

-- every scalar field of the object, in rendering order
local SCALARS = { "id", "status", "customerAccountStatus", "currency", "canChangeCurrency", "title",
  "primaryEmail", "secondaryEmail", "parentId", "isParent", "quickBooksLatchType",
  "createdTimestamp", "modifiedTimestamp" }
for _, s in ipairs(STRINGS) do SCALARS[#SCALARS + 1] = s[1] end

local ALL = util.shallow_copy(SCALARS)
for _, n in ipairs({ "monthlyRecurringRevenue", "netMonthlyRecurringRevenue", "customerReference",
                     "customerAcquisition", "uri" }) do ALL[#ALL + 1] = n end
local bind = util.binder(ALL)
local bind_ref = util.binder({ "reference1", "reference2", "reference3", "salesTrackingCodes", "id", "uri" })
local bind_acq = util.binder({ "adContent", "campaign", "keyword", "landingPage", "medium", "source", "id", "uri" })
local bind_code = util.binder({ "id", "type", "code", "name", "uri" })

local LIST_FIELDS = paging.fields(
  (function()
    local t = util.shallow_copy(SCALARS)
    t[#t + 1] = "monthlyRecurringRevenue"
    t[#t + 1] = "netMonthlyRecurringRevenue"
    return t
  end)(),
  { reference1 = function(c) return c.customerReference and c.customerReference.reference1 end,
    reference2 = function(c) return c.customerReference and c.customerReference.reference2 end,
    reference3 = function(c) return c.customerReference and c.customerReference.reference3 end })

-- the strings of a sub-object as { name, max, label } ("customerReference.reference1")
local function sub_strings(prefix, names)
  local t = {}
  for i, n in ipairs(names) do t[i] = { n, 255, prefix .. n } end
  return t
end
local REF_STRINGS = sub_strings("customerReference.", REFS)
local ACQ_STRINGS = sub_strings("customerAcquisition.", ACQ)

-- dst[f] = src[f], null when absent, for each name f: one call per group of fields
-- (a call per field showed in render's profile)
local function fill(dst, src, names)
  for i = 1, #names do
    local f = names[i]
    local v = src[f]
    if v == nil then v = null end
    dst[f] = v
  end
end

-- The uri of customer `id` under `base` and those of its two sub-objects, made once per
-- customer while clients send the same Host (the concatenations showed in render's profile).
local uri_base, uris = nil, {}
local function customer_uris(base, id)
  if base ~= uri_base then uri_base, uris = base, {} end
  local u = uris[id]
  if not u then
    local uri = base .. "/customers/" .. id
    u = { uri, uri .. "/customerReference", uri .. "/customerAcquisition" }
    uris[id] = u
  end
  return u
end

-- the i-th (1-based) code of a request, for messages only (formatted when one is needed)
local function code_name(i)
  return ("customerReference.salesTrackingCodes[%d]"):format(i - 1)
end

function M.render(c, ctx)
  local o = util.new_table(#ALL)  -- a rendered customer has exactly the fields of ALL
  fill(o, c, SCALARS)
  o.monthlyRecurringRevenue = util.money(c.monthlyRecurringRevenue)
  o.netMonthlyRecurringRevenue = util.money(c.netMonthlyRecurringRevenue)
  local u = customer_uris(ctx.base, c.id)
  o.uri = u[1]
  local r = c.customerReference or {}
  local codes = {}
  for i, sc in ipairs(r.salesTrackingCodes or {}) do
    local rec = ctx.st.codes[sc.id]
    codes[i] = { id = sc.id, type = sc.type, code = sc.code, name = rec and rec.name or null,
                 uri = ctx.base .. "/SalesTrackingCodes/" .. sc.id }
  end
  local ref = util.new_table(#REFS + 3)
  fill(ref, r, REFS)
  ref.salesTrackingCodes, ref.id, ref.uri = util.array(codes), c.id, u[2]
  o.customerReference = ref
  local acq = util.new_table(#ACQ + 2)
  fill(acq, c.customerAcquisition or {}, ACQ)
  acq.id, acq.uri = c.id, u[3]
  o.customerAcquisition = acq
  return o
end

local function not_found(id)
  return 404, ("Customer with id %s not found."):format(tostring(id))
end

-- Checks the string fields `fields` ({ name, max, label }) of src into dst. Absent and
-- null stay nil without a call to check.string: most of a customer's strings are null.
local function strings(errs, src, fields, dst)
  for i = 1, #fields do
    local f = fields[i]
    local name = f[1]
    local v = src[name]
    if v ~= nil and v ~= null then dst[name] = check.string(errs, f[3] or name, v, f[2]) end
  end
end

-- Validates the writable fields of body `b` (already bound) into a fresh record
-- (omitted = nil). Appends messages to errs.
local function writable(ctx, b, errs)
  local rec = util.new_table(#ALL)  -- a stored customer has the fields of ALL but uri
  strings(errs, b, STRINGS, rec)
  for i = 1, #EMAILS do
    local f = EMAILS[i]
    rec[f] = check.emails(errs, f, b[f])
  end
  rec.title = check.enum(errs, "title", b.title, TITLES)
  rec.quickBooksLatchType = check.enum(errs, "quickBooksLatchType", b.quickBooksLatchType, LATCH)
  rec.parentId = check.integer(errs, "parentId", b.parentId)
  local ref = { salesTrackingCodes = {} }
  local rb = check.object(errs, "customerReference", b.customerReference)
  if rb then
    rb = bind_ref(rb)
    strings(errs, rb, REF_STRINGS, ref)
    local codes = rb.salesTrackingCodes
    if check.present(codes) then
      if type(codes) ~= "table" then
        errs[#errs + 1] = "customerReference.salesTrackingCodes: must be an array."
      elseif #codes > 5 then
        errs[#errs + 1] = "customerReference.salesTrackingCodes: at most 5 sales tracking codes are allowed."
      else
        for i, sc in ipairs(codes) do
          if type(sc) ~= "table" then
            errs[#errs + 1] = code_name(i) .. ": must be an object with type and code."
          else
            sc = bind_code(sc)
            local found
            local id = util.to_int(sc.id)
            if type(sc.code) == "string" and type(sc.type) == "string" then
              found = tracking_codes.find(ctx.st, sc.type, sc.code)
              if not found then
                errs[#errs + 1] = ("%s: sales tracking code %s does not exist under type %s."):format(
                  code_name(i), sc.code, sc.type)
              end
            elseif id then
              found = ctx.st.codes[id]
              if not found then
                errs[#errs + 1] = ("%s: sales tracking code %d does not exist."):format(code_name(i), id)
              end
            else
              errs[#errs + 1] = code_name(i) .. ": type and code are required."
            end
            if found then ref.salesTrackingCodes[#ref.salesTrackingCodes + 1] =
              { id = found.id, type = found.type, code = found.code } end
          end
        end
      end
    end
  end
  rec.customerReference = ref
  local acq = {}
  local ab = check.object(errs, "customerAcquisition", b.customerAcquisition)
  if ab then
    ab = bind_acq(ab)
    strings(errs, ab, ACQ_STRINGS, acq)
  end
  rec.customerAcquisition = acq
  return rec
end

local function currency(errs, v)
  if not check.present(v) then return nil end
  if type(v) ~= "string" or not v:match("^%a%a%a$") then
    errs[#errs + 1] = "currency: must be a 3-letter ISO 4217 code."
    return nil
  end
  return v:upper()
end

M.get = util.getter("customers", M.render, not_found)

function M.list(ctx)
  return paging.respond(ctx, ctx.sorted("customers"), LIST_FIELDS, M.render)
end

function M.create(ctx)
  local b, st, msg = ctx:object(bind)
  if not b then return st, msg end
  local errs = {}
  local rec = writable(ctx, b, errs)
  rec.currency = currency(errs, b.currency) or "USD"
  rec.customerAccountStatus = check.enum(errs, "customerAccountStatus", b.customerAccountStatus,
                                         ACCOUNT_STATUSES) or "Good"
  if #errs > 0 then return 400, errs end
  local id = ctx.next_id("customer")
  rec.id, rec.status, rec.canChangeCurrency, rec.isParent = id, "Draft", true, false
  rec.monthlyRecurringRevenue, rec.netMonthlyRecurringRevenue = 0, 0
  rec.createdTimestamp = util.timestamp(ctx.now)
  rec.modifiedTimestamp = util.timestamp7(ctx.now)
  store.put(ctx.st.customers, rec)
  return 200, M.render(rec, ctx)
end

-- the status rule of a PUT; returns nil when allowed, else status, message
local function transition(ctx, c, new)
  local old = c.status
  if old == new then return nil end
  if new == "Suspended" then
    return 400, "Cannot manually suspend customer, the system is in charge of suspending customers."
  end
  if old == "Suspended" then
    return 409, "Cannot manually unsuspend customer, the system is in charge of suspending customers."
  end
  if new == "Draft" then
    return 409, ("Customer %d cannot return to Draft: it has already been activated."):format(c.id)
  end
  if not ctx.cfg.status_via_put and (new == "Hold" or new == "Cancelled" or old == "Hold" or old == "Cancelled") then
    return 409, ("Customer status cannot change from %s to %s through PUT /v1/customers; use the dedicated "
                 .. "hold, unhold or cancellation call."):format(old, new)
  end
  return nil
end

function M.put(ctx)
  local b, errs, id = ctx:keyed_object(bind, "id", "Customer id is required.")
  if not b then return errs, id end  -- the body is no object: status, message
  local status = check.required(errs, "Customer status is required.", check.enum, "status", b.status, STATUSES)
  local rec = writable(ctx, b, errs)
  local cur = currency(errs, b.currency)
  local account = check.enum(errs, "customerAccountStatus", b.customerAccountStatus, ACCOUNT_STATUSES)
  if #errs > 0 then return 400, errs end
  local c = ctx.st.customers[id]
  if not c then return not_found(id) end
  if cur and cur ~= (c.currency or "USD") and not c.canChangeCurrency then
    return 400, "currency: cannot be changed after the customer is created."
  end
  local ts, tmsg = transition(ctx, c, status)
  if ts then return ts, tmsg end
  rec.id, rec.status = id, status
  rec.currency = cur or c.currency
  rec.canChangeCurrency = c.canChangeCurrency
  rec.customerAccountStatus = account or c.customerAccountStatus
  rec.monthlyRecurringRevenue, rec.netMonthlyRecurringRevenue = c.monthlyRecurringRevenue, c.netMonthlyRecurringRevenue
  rec.isParent, rec.createdTimestamp = c.isParent, c.createdTimestamp
  rec.modifiedTimestamp = util.timestamp7(ctx.now)
  store.put(ctx.st.customers, rec)
  return 200, M.render(rec, ctx)
end

-- dedicated status calls ---------------------------------------------------------------

local bind_customer_id = util.binder({ "customerId" })

local function customer_id(ctx)
  if ctx.id then return ctx.id end
  local b, st, msg = ctx:object(bind_customer_id)
  if not b then return nil, st, msg end
  local errs = {}
  if not check.present(b.customerId) then return nil, 400, "customerId is required." end
  local id = check.integer(errs, "customerId", b.customerId)
  if not id then return nil, 400, errs end
  return id
end

local function move(from, to, verb)
  return function(ctx)
    local id, st, msg = customer_id(ctx)
    if not id then return st, msg end
    local c = ctx.st.customers[id]
    if not c then return not_found(id) end
    local ok = false
    for _, f in ipairs(from) do if c.status == f then ok = true end end
    if not ok then
      return 409, ("Cannot %s customer %d: its status is %s."):format(verb, id, c.status)
    end
    c.status = to
    c.modifiedTimestamp = util.timestamp7(ctx.now)
    return 200, M.render(c, ctx)
  end
end

M.activate = move({ "Draft" }, "Active", "activate")
M.hold = move({ "Active" }, "Hold", "hold")
M.unhold = move({ "Hold" }, "Active", "unhold")
M.cancel = move({ "Draft", "Active", "Hold", "Suspended" }, "Cancelled", "cancel")

return M
