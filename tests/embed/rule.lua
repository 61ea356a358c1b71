-- A business rule an embedding host runs through the engine API:
-- give every active customer without a reference the reference "CUST-<id>".
-- Called as fill_missing_references(limit) from tests/embed/host_example.c.
-- The functions are globals on purpose: the engine calls global functions by name.
-- luacheck: globals fill_missing_references customer_name
local fusebill = require "fusebill"

function fill_missing_references(limit)
  local fb = fusebill.client()
  local seen, changed = 0, {}
  for customer in fb.customers:list{ query = "status:Active", page_size = 100 } do
    seen = seen + 1
    if customer.reference == nil or customer.reference == "" then   -- JSON null reads as nil
      local updated, err = fb.customers:update(customer.id, { reference = "CUST-" .. math.tointeger(customer.id) })
      if not updated then return nil, err end
      changed[#changed + 1] = math.tointeger(customer.id)
    end
    if limit and seen >= limit then break end
  end
  return { seen = seen, changed = changed }
end

-- A rule that fails the way live calls fail: returns the fusebill error object.
function customer_name(id)
  local c, err = fusebill.client().customers:get(id)
  if not c then return nil, err end
  return c.firstName .. " " .. c.lastName
end
