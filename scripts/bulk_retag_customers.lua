-- bulk_retag_customers.lua: stamp a campaign tag on every customer that matches a query.
--
-- Sets customerReference.reference3 = TAG on each matching customer with customers:update,
-- which reads the customer and writes it back with only that field changed (a plain PUT would
-- null every field it does not mention). Customers already carrying the tag are skipped.
-- Customers are read page by page while the edits run (the list is an iterator), so a run over
-- 20,000 customers starts at once and never holds them all in memory.
--
-- Usage (any fusebill host options apply: --dry-run, --journal FILE, --concurrency N, --sandbox):
--   fusebill --journal retag.journal scripts/bulk_retag_customers.lua TAG [QUERY] [--limit=N] [--report=F]
--     TAG     the tag to set (default SPRING-2026)
--     QUERY   a Fusebill list query (default status:Active)
--     --limit=N     canary: do only the first N customers, then stop (rerun without it for the rest)
--     --report=F    per-customer report, F ending in .csv or .jsonl
-- Killed or stopped (daily quota)? Rerun the same command: the journal skips what is done.
local fusebill = require "fusebill"

local positional, flags = {}, {}
for _, a in ipairs(arg or {}) do
  local k, v = a:match("^%-%-([%w_]+)=(.*)$")
  if k then flags[k] = v else positional[#positional + 1] = a end
end
local tag = positional[1] or "SPRING-2026"
local query = positional[2] or "status:Active"

local fb = fusebill.client()

local summary = fusebill.each(fb.customers:list{ query = query, page_size = 200 }, {
  limit = tonumber(flags.limit),
  report = flags.report,
}, function(customer)
  local ref = customer.customerReference
  if type(ref) == "table" and ref.reference3 == tag then return "skip" end
  return fb.customers:update(customer.id, { customerReference = { reference3 = tag } })
end)

os.exit(summary.ok and 0 or 1)
