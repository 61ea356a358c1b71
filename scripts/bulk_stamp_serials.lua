-- bulk_stamp_serials.lua: stamp serial numbers on tracked items from a warehouse export.
--
-- Input: a CSV with a header line and the columns item_id,serial (optionally a third, name).
-- For each row the script finds the item (a purchase product item or a subscription product
-- item: the export does not say which, so it asks for the purchase item first), skips it when
-- it is Deleted or already carries the serial, and otherwise PUTs it back with the serial as
-- its reference and its name and description unchanged.
-- A reference must be unique among the Active items of a catalog product; a clash is reported
-- as that row's failure and the run goes on.
--
-- Usage (host options apply: --dry-run, --journal FILE, --concurrency N, --sandbox):
--   fusebill --journal serials.journal scripts/bulk_stamp_serials.lua [FILE.csv] [--limit=N] [--report=F]
-- Default file: bulk_stamp_serials.csv beside this script. The journal key is the item id.
local fusebill = require "fusebill"

local positional, flags = {}, {}
for _, a in ipairs(arg or {}) do
  local k, v = a:match("^%-%-([%w_]+)=(.*)$")
  if k then flags[k] = v else positional[#positional + 1] = a end
end
local script_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local path = positional[1] or (script_dir .. "/bulk_stamp_serials.csv")

local fb = fusebill.client()

-- The rows, read lazily: an iterator over the file's lines, one table per data row.
local function rows(file)
  local f = assert(io.open(file, "r"))
  local lines = f:lines()
  local header = lines()
  assert(header and header:gsub("\r$", ""):match("^item_id,serial"), file .. ": expected a header item_id,serial")
  local n = 1
  return function()
    for line in lines do
      n = n + 1
      line = line:gsub("\r$", "")
      if line ~= "" and not line:match("^#") then
        local cols = {}
        for field in (line .. ","):gmatch("%s*([^,]-)%s*,") do cols[#cols + 1] = field end
        local id, serial, name = tonumber(cols[1]), cols[2], cols[3]
        if not id or not serial or serial == "" then
          error(string.format("%s:%d: expected item_id,serial[,name]", file, n))
        end
        return { id = id, serial = serial, name = name ~= "" and name or nil, line = n }
      end
    end
    f:close()
    return nil
  end
end

local function find_item(id)
  local item, err = fb.purchase_product_items:get(id)
  if item then return fb.purchase_product_items, item end
  if err.kind ~= "not_found" then return nil, err end
  item, err = fb.subscription_product_items:get(id)
  if item then return fb.subscription_product_items, item end
  return nil, err
end

local summary = fusebill.each(rows(path), {
  limit = tonumber(flags.limit),
  report = flags.report,
}, function(row)
  local resource, item = find_item(row.id)
  if not resource then return nil, item end
  if item.status == "Deleted" then return "skip" end
  local name = row.name or item.name
  if item.reference == row.serial and item.name == name then return "skip" end
  return resource:edit{ id = row.id, reference = row.serial, name = name, description = item.description }
end)

os.exit(summary.ok and 0 or 1)
