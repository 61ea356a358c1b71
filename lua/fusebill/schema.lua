-- The one description of each resource the client edits: field types, limits, enums,
-- required fields, which fields a PUT writes, and the routes. validate.lua compiles these
-- tables into checkers once; resources.lua reads the routes and PUT semantics from here.
-- Limits are the API's documented ones; lengths are UTF-8 characters, not bytes.
--
-- Field spec keys:
--   type      "string" | "integer" | "number" | "boolean" | "object" | "array"
--             | "id" (a positive whole number, or a string of digits sent as a number)
--   required  must be present, not null and, for a string, not blank
--   max       maximum length in characters (strings)
--   enum      list of allowed values (strings, case-sensitive as the API returns them)
--   format    "currency" (3-letter ISO code) | "email" (';'-separated list, each with an '@')
--   fields    nested field specs (objects); items (arrays): spec of each element
--   max_items maximum number of elements (arrays)
--   match     (arrays of objects) how the server recognises an item it already has: a list
--             of keys or key lists ({ "id", { "type", "code" } }); dry run predicts such an
--             item as the server renders it
--   read_only a system field: the server computes it and a PUT ignores it. update neither
--             sends nor changes it, and dry-run diffs never show it
--   keep_if_omitted  a PUT that omits it keeps the current value instead of nulling it

local M = {}

local function str(max, extra)
  local s = { type = "string", max = max }
  if extra then for k, v in pairs(extra) do s[k] = v end end
  return s
end
local NUM, ID = { type = "number" }, { type = "id" }
local RO_ID = { type = "id", read_only = true }
local RO_STR = { type = "string", read_only = true }
local RO_NUM = { type = "number", read_only = true }

M.customers = {
  name = "customers",
  path = "/customers",                -- PUT path; GET is path .. "/" .. id
  list_path = "/customers",
  required = { "id", "status" },
  -- PUT replaces the customer: every writable field that is omitted becomes null.
  omitted_become_null = true,
  fields = {
    id = { type = "id", required = true },
    uri = RO_STR,
    status = { type = "string", required = true,
               enum = { "Draft", "Active", "Hold", "Suspended", "Cancelled" } },
    firstName = str(50), middleName = str(50), lastName = str(50),
    companyName = str(50), suffix = str(50),
    primaryEmail = str(255, { format = "email" }), secondaryEmail = str(255, { format = "email" }),
    primaryPhone = str(50), secondaryPhone = str(50),
    title = { type = "string", enum = { "Mr", "Mrs", "Ms", "Miss", "Dr" } },
    reference = str(255),
    -- Collections' standing, set by the system.
    customerAccountStatus = { type = "string", enum = { "Good", "PoorStanding", "Collection" }, read_only = true },
    -- Cannot change after creation; an omitted currency falls back instead of nulling.
    currency = { type = "string", format = "currency", keep_if_omitted = true },
    canChangeCurrency = { type = "boolean", read_only = true },
    customerReference = {
      type = "object",
      fields = {
        reference1 = str(255), reference2 = str(255), reference3 = str(255),
        -- A code is given by id or by type and code; the rest is the code's own record.
        salesTrackingCodes = {
          type = "array", max_items = 5, match = { "id", { "type", "code" } },
          items = { type = "object", fields = {
            type = str(255), code = str(255), id = ID,
            name = { type = "string", read_only = true }, description = { type = "string", read_only = true },
            uri = RO_STR, email = { type = "string", read_only = true },
            status = { type = "string", read_only = true }, deletable = { type = "boolean", read_only = true },
          } },
        },
        id = RO_ID, uri = RO_STR,
      },
    },
    customerAcquisition = {
      type = "object",
      fields = {
        adContent = str(255), campaign = str(255), keyword = str(255),
        landingPage = str(255), medium = str(255), source = str(255),
        id = RO_ID, uri = RO_STR,
      },
    },
    monthlyRecurringRevenue = RO_NUM, netMonthlyRecurringRevenue = RO_NUM,
    salesforceId = str(255), salesforceAccountType = str(255), salesforceSynchStatus = str(255),
    netsuiteId = str(255), netsuiteSynchStatus = str(255), netsuiteCustomerType = str(255),
    portalUserName = str(255),
    parentId = ID, isParent = { type = "boolean", read_only = true },
    quickBooksLatchType = { type = "string", enum = { "CreateNew", "LatchExisting", "DoNothing" } },
    quickBooksId = NUM, quickBooksSyncToken = NUM,
    hubSpotId = str(255), hubSpotCompanyId = str(255), geotabId = str(255), digitalRiverId = str(255),
    modifiedTimestamp = RO_STR, createdTimestamp = RO_STR,
  },
}

M.sales_tracking_codes = {
  name = "sales_tracking_codes",
  path = "/SalesTrackingCodes",
  list_path = "/SalesTrackingCodes",
  required = { "id" },
  -- The documented PUT parameters; type, status, deletable and uri are ignored by the server.
  put_fields = { "id", "code", "name", "description", "email" },
  omitted_become_null = true,         -- a PUT field left out is cleared (dry run shows it)
  fields = {
    id = { type = "id", required = true },
    uri = RO_STR,
    type = { type = "string", max = 255, read_only = true },
    code = str(255), name = str(255), description = str(1000),
    email = str(255, { format = "email" }),
    status = { type = "string", enum = { "Active", "Retired" }, read_only = true },
    deletable = { type = "boolean", read_only = true },
  },
}

local function tracked_item(name, path, extra)
  local fields = {
    id = { type = "id", required = true },
    uri = RO_STR,
    reference = { type = "string", max = 255, required = true },
    name = str(100), description = str(255),
    productId = RO_ID, customerId = RO_ID,
    status = { type = "string", enum = { "Active", "Deleted" }, read_only = true },
    createdDate = RO_STR, modifiedDate = RO_STR,
    purchaseId = RO_ID, subscriptionProductId = RO_ID, subscriptionId = RO_ID,
  }
  local s = {
    name = name, path = path, required = { "id", "reference" },
    put_fields = { "id", "reference", "name", "description" },
    omitted_become_null = true,
    fields = fields,
  }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

M.purchase_product_items = tracked_item("purchase_product_items", "/purchaseProductItems")
M.subscription_product_items = tracked_item("subscription_product_items", "/SubscriptionProductItems",
  { get_path = "/subscriptionProductItems" })

M.names = { "customers", "sales_tracking_codes", "purchase_product_items", "subscription_product_items" }

return M
