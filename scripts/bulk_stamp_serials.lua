-- bulk_stamp_serials.lua: stamp serial numbers on tracked items from a warehouse export.
--
-- Input: a CSV with a header row naming the columns item_id and serial, and optionally name
-- (any order, other columns ignored), read with fusebill.csv: quoted fields, a byte-order
-- mark and CRLF are fine, and rows stream into the run instead of being loaded first.
-- For each row the script finds the item (a purchase product item or a subscription product
-- item: the export does not say which, so it asks for the purchase item first), skips it when
-- it is Deleted or already carries the serial, and otherwise PUTs it back with the serial as
-- its reference and its name and description unchanged (or the name from the row, if given).
-- A reference must be unique among the Active items of a catalog product; a clash is reported
-- as that row's failure and the run goes on. A malformed row stops the run, naming its line.
--
-- Usage (host options apply: --dry-run, --journal FILE, --concurrency N, --sandbox):
--   fusebill --journal serials.journal scripts/bulk_stamp_serials.lua [FILE.csv] [--limit=N] [--report=F]
-- Default file: bulk_stamp_serials.csv beside this script. The journal key is the item id.
local fusebill = require "fusebill"
local csv = require "fusebill.csv"
local argparse = require "argparse"

local function positive(s)
  local n = math.tointeger(tonumber(s))
  if n and n > 0 then return n end
  return nil, "expected a positive whole number, got " .. s
end

local script_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local parser = argparse("bulk_stamp_serials.lua", "Stamp serial numbers on tracked items from a CSV file.")
parser:argument("file", "CSV with the columns item_id,serial[,name]"):default(script_dir .. "/bulk_stamp_serials.csv")
parser:option("--limit", "canary: do only the first N rows, then stop"):convert(positive)
parser:option("--report", "per-row report, F ending in .csv or .jsonl")

local function fail(msg)
  io.stderr:write("bulk_stamp_serials: ", msg, "\n")
  os.exit(2)
end

local parsed, args = parser:pparse(arg)
if not parsed then fail(args .. "\n" .. parser:get_usage()) end
local path = args.file

local reader, rerr = csv.reader(path, { header = true })
if not reader then fail(rerr) end
local has = {}
for _, name in ipairs(reader:columns()) do has[name] = true end
if not (has.item_id and has.serial) then fail(path .. ": the header needs the columns item_id and serial") end

local fb = fusebill.client()

-- The rows, read as the run asks for them: one table per data row.
local function next_row()
  local row = reader:read()
  if not row then return nil end
  local id = math.tointeger(tonumber(row.item_id))
  if not id or row.serial == "" then
    error(("%s:%d: expected a whole item_id and a serial, got %q and %q"):format(path, reader:line(),
      row.item_id, row.serial), 0)
  end
  return { id = id, serial = row.serial, name = row.name ~= "" and row.name or nil, line = reader:line() }
end

local function find_item(id)
  local item, err = fb.purchase_product_items:get(id)
  if item then return fb.purchase_product_items, item end
  if err.kind ~= "not_found" then return nil, err end
  item, err = fb.subscription_product_items:get(id)
  if item then return fb.subscription_product_items, item end
  return nil, err
end

-- the program's exit status says how the run went: 3 when a row failed (README, Exit status)
fusebill.each(next_row, {
  limit = args.limit,
  report = args.report,
}, function(row)
  local resource, item = find_item(row.id)
  if not resource then return nil, item end
  if item.status == "Deleted" then return "skip" end
  local name = row.name or item.name
  if item.reference == row.serial and item.name == name then return "skip" end
  return resource:edit{ id = row.id, reference = row.serial, name = name, description = item.description }
end)

