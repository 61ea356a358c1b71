-- fusebill -m export RESOURCE: every record of a resource as a CSV row (fusebill.csv), all
-- pages, to stdout or --out FILE (written whole, then renamed into place: never half a file).
-- Columns: the fields a PUT writes, nested ones dotted (host.sheet), or --columns.
local tools = require "host.tools"

local export = {
  description = "write every record of a resource as CSV (for a spreadsheet; -m update takes it back)",
}

local HELP_EPILOG = [[
RESOURCE: customers, sales_tracking_codes, subscription_product_items (with
--subscription-product-id). purchase_product_items cannot be exported: the Fusebill API has
no call that lists them.
Default columns: id, then every field a PUT writes that holds one value (nested fields
dotted, e.g. customerReference.reference1); lists such as a customer's sales tracking codes
are not columns. --columns may also name fields the system sets (status, uri, ...): they are
for reading; -m update refuses to take them.
A null or absent value is an empty cell. Edit the file, then: fusebill -m update RESOURCE FILE
Exit status: 0 written, 2 usage, 3 the listing failed, 4 authentication, 5 daily quota.]]

local LISTED = { customers = true, sales_tracking_codes = true, subscription_product_items = true }

local function parse_args(args)
  local p, parse = tools.parser("export", "Write every record of a resource as CSV.", HELP_EPILOG)
  p:argument("resource", "customers, sales_tracking_codes or subscription_product_items"):argname("RESOURCE")
  p:option("--query", "customers only: the search the list call takes"):argname("Q")
  p:option("--subscription-product-id", "subscription_product_items: whose items"):argname("ID")
    :convert(tools.positive("--subscription-product-id")):target("spid")
  p:option("--columns", "the columns, comma-separated (dotted for nested fields)"):argname("a,b,c.d")
  p:option("--out", "write to FILE instead of stdout"):argname("FILE")
  return parse(args)
end

local function usage(fmt, ...)
  io.stderr:write("fusebill -m export: ", string.format(fmt, ...), "\n")
  return nil, tools.USAGE
end

-- the list options for the resource, or nil and the status after saying what is wrong
local function list_options(o)
  local r = o.resource
  if r == "purchase_product_items" then
    return usage("purchase_product_items cannot be exported: the Fusebill API has no call that lists them")
  end
  if not LISTED[r] then
    return usage("unknown resource %s (customers, sales_tracking_codes, subscription_product_items)", r)
  end
  if o.query and r ~= "customers" then return usage("--query is for customers only") end
  if (o.spid ~= nil) ~= (r == "subscription_product_items") then
    return usage(o.spid and "--subscription-product-id is for subscription_product_items only"
      or "subscription_product_items needs --subscription-product-id ID (whose items to export)")
  end
  return { page_size = 1000, query = o.query, subscription_product_id = o.spid }
end

local function columns_of(o, schema)
  local sheet = require "host.sheet"
  if not o.columns then return sheet.columns(schema, true) end
  local cols, seen = sheet.split(o.columns), {}
  if #cols == 0 then return usage("--columns names no column") end
  for _, c in ipairs(cols) do
    local ok, why = sheet.field(schema, c)
    if not ok then return usage("--columns: %s", why) end
    if seen[c] then return usage("--columns names %s twice", c) end
    seen[c] = true
  end
  return cols
end

-- The exit status for a failed listing: its error's kind decides.
local function failed(err)
  io.stderr:write("fusebill -m export: ", tostring(err), "\n")
  local kind = type(err) == "table" and err.kind or nil
  if kind == "auth" then return tools.AUTH end
  if kind == "daily_quota" then return tools.QUOTA end
  return tools.FAILED
end

-- Writes every record to w; returns how many, or nil and the listing's error.
local function write_all(r, lopts, w, cols)
  local cell = require("host.sheet").cell
  return pcall(function()
    local n = 0
    for rec in r:list(lopts) do
      local row = {}
      for _, c in ipairs(cols) do row[c] = cell(rec, c) end
      assert(w:row(row))
      n = n + 1
    end
    return n
  end)
end

function export.main(args)
  local o, status = parse_args(args)
  if not o then return status end
  local lopts, lstatus = list_options(o)
  if not lopts then return lstatus end
  local fusebill = require "fusebill"
  local r = fusebill.client()[o.resource]
  local cols, cstatus = columns_of(o, r.schema)
  if not cols then return cstatus end
  local csv = require "fusebill.csv"
  local tmp = o.out and (o.out .. ".part")
  local w, err = csv.writer(tmp or io.stdout, { columns = cols, name = o.out })
  if not w then return usage("cannot write %s: %s", o.out, err) end
  local ok, n = write_all(r, lopts, w, cols)
  local closed, cerr = w:close()
  if not ok then
    if tmp then os.remove(tmp) end
    return failed(n)
  end
  if not closed then
    if tmp then os.remove(tmp) end
    return usage("cannot write %s: %s", o.out or "stdout", cerr)
  end
  if tmp then
    local renamed, rerr = os.rename(tmp, o.out)
    if not renamed then return usage("cannot write %s: %s", o.out, rerr) end
  end
  io.stderr:write(string.format("export: %d %s%s\n", n, o.resource, o.out and (" to " .. o.out) or ""))
  return 0
end

return export
