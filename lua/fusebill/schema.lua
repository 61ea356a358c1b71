-- The one description of each resource the client edits: field types, limits, enums,
-- required fields, which fields a PUT writes, and the routes. validate.lua compiles these
-- tables into checkers once; resources.lua reads the routes and PUT semantics from here.
-- Limits come from Fusebill's API reference; lengths are UTF-8 characters, not bytes.
--
-- Field spec keys:
--   type      "string" | "integer" | "number" | "boolean" | "object" | "array"
--   max       maximum length in characters (strings)
--   enum      list of allowed values (strings, case-sensitive as the API returns them)
--   format    "currency" (3-letter ISO code) | "email" (';'-separated list, each with an '@')
--   fields    nested field specs (objects); items (arrays): spec of each element
--   max_items maximum number of elements (arrays)
--   read_only the server sets it; a PUT ignores it (used by update and by dry run)

local M = {}

local function str(max, extra)
  local s = { type = "string", max = max }
  if extra then for k, v in pairs(extra) do s[k] = v end end
  return s
end
local INT, NUM, BOOL = { type = "integer" }, { type = "number" }, { type = "boolean" }
local RO_INT = { type = "integer", read_only = true }
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
    id = { type = "integer", required = true },
    uri = RO_STR,
    status = { type = "string", required = true,
               enum = { "Draft", "Active", "Hold", "Suspended", "Cancelled" } },
    firstName = str(50), middleName = str(50), lastName = str(50),
    companyName = str(50), suffix = str(50),
    primaryEmail = str(255, { format = "email" }), secondaryEmail = str(255, { format = "email" }),
    primaryPhone = str(50), secondaryPhone = str(50),
    title = { type = "string", enum = { "Mr", "Mrs", "Ms", "Miss", "Dr" } },
    reference = str(255),
    customerAccountStatus = { type = "string", enum = { "Good", "PoorStanding", "Collection" } },
    -- Cannot change after creation; an omitted currency falls back instead of nulling.
    currency = { type = "string", format = "currency", read_only = true },
    canChangeCurrency = { type = "boolean", read_only = true },
    customerReference = {
      type = "object",
      fields = {
        reference1 = str(255), reference2 = str(255), reference3 = str(255),
        salesTrackingCodes = {
          type = "array", max_items = 5,
          items = { type = "object", fields = {
            type = str(255), code = str(255), name = str(255), description = str(1000),
            id = INT, uri = RO_STR, email = str(255), status = { type = "string" },
            deletable = BOOL,
          } },
        },
        id = RO_INT, uri = RO_STR,
      },
    },
    customerAcquisition = {
      type = "object",
      fields = {
        adContent = str(255), campaign = str(255), keyword = str(255),
        landingPage = str(255), medium = str(255), source = str(255),
        id = RO_INT, uri = RO_STR,
      },
    },
    monthlyRecurringRevenue = RO_NUM, netMonthlyRecurringRevenue = RO_NUM,
    salesforceId = str(255), salesforceAccountType = str(255), salesforceSynchStatus = str(255),
    netsuiteId = str(255), netsuiteSynchStatus = str(255), netsuiteCustomerType = str(255),
    portalUserName = str(255),
    parentId = INT, isParent = { type = "boolean", read_only = true },
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
    id = { type = "integer", required = true },
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
    id = { type = "integer", required = true },
    uri = RO_STR,
    reference = { type = "string", max = 255, required = true },
    name = str(100), description = str(255),
    productId = RO_INT, customerId = RO_INT,
    status = { type = "string", enum = { "Active", "Deleted" }, read_only = true },
    createdDate = RO_STR, modifiedDate = RO_STR,
    purchaseId = RO_INT, subscriptionProductId = RO_INT, subscriptionId = RO_INT,
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
