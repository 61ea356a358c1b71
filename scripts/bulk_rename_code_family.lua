-- bulk_rename_code_family.lua: rename a family of sales tracking codes in one go.
--
-- Every code of TYPE whose code matches PATTERN (a Lua pattern, default: all) gets the name
-- PREFIX .. code, e.g. "Region: EU". Retired codes are renamed too (the API allows it), so
-- reports on old sales read the same way. Codes already named so send nothing ("unchanged").
-- The job lists the codes first (one request), then renames them concurrently, each update
-- merging into the code as listed (one PUT per renamed code, no read).
--
-- Usage (host options apply: --dry-run, --journal FILE, --concurrency N, --sandbox):
--   fusebill scripts/bulk_rename_code_family.lua [TYPE] [PREFIX] [PATTERN] [--limit=N] [--report=F]
--   defaults: TYPE "Sales Tracking Code 1", PREFIX "Region: ", PATTERN ".*"
local fusebill = require "fusebill"

local argparse = require "argparse"

local parser = argparse("bulk_rename_code_family.lua", "Rename a family of sales tracking codes.")
parser:argument("type", "the codes' type"):default("Sales Tracking Code 1")
parser:argument("prefix", "the new name is PREFIX .. code"):default("Region: ")
parser:argument("pattern", "a Lua pattern the code must match whole"):default(".*")
parser:option("--limit", "canary: do only the first N codes, then stop"):convert(math.tointeger)
parser:option("--report", "per-code report, F ending in .csv or .jsonl")
local parsed, args = parser:pparse(arg)
if not parsed then
  io.stderr:write("bulk_rename_code_family: ", args, "\n", parser:get_usage(), "\n")
  os.exit(2)
end
local code_type, prefix, pattern = args.type, args.prefix, args.pattern

local fb = fusebill.client()

local family = {}
for code in fb.sales_tracking_codes:list{ type = code_type } do
  if code.code:match("^" .. pattern .. "$") then family[#family + 1] = code end
end
io.stderr:write(string.format("%d code(s) of type %q match %q\n", #family, code_type, pattern))

-- the program's exit status says how the run went: 3 when a code failed (README, Exit status)
fusebill.each(family, {
  limit = args.limit,
  report = args.report,
  key = function(code) return code.type .. "/" .. code.code end,
}, function(code)
  return fb.sales_tracking_codes:update(code, { name = prefix .. code.code })
end)
