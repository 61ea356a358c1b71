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

local positional, flags = {}, {}
for _, a in ipairs(arg or {}) do
  local k, v = a:match("^%-%-([%w_]+)=(.*)$")
  if k then flags[k] = v else positional[#positional + 1] = a end
end
local code_type = positional[1] or "Sales Tracking Code 1"
local prefix = positional[2] or "Region: "
local pattern = positional[3] or ".*"

local fb = fusebill.client()

local family = {}
for code in fb.sales_tracking_codes:list{ type = code_type } do
  if code.code:match("^" .. pattern .. "$") then family[#family + 1] = code end
end
io.stderr:write(string.format("%d code(s) of type %q match %q\n", #family, code_type, pattern))

local summary = fusebill.each(family, {
  limit = tonumber(flags.limit),
  report = flags.report,
  key = function(code) return code.type .. "/" .. code.code end,
}, function(code)
  return fb.sales_tracking_codes:update(code, { name = prefix .. code.code })
end)

os.exit(summary.ok and 0 or 1)
