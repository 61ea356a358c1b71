-- bulk_retag_customers.lua: stamp a campaign tag on every customer that matches a query.
--
-- Sets customerReference.reference3 = TAG on each matching customer with customers:update,
-- given the customer the list just returned: it merges that one field into it and writes it
-- back whole (a plain PUT would null every field it does not mention), with no second read.
-- A customer already carrying the tag costs nothing: no request, outcome "unchanged".
-- Customers are read 1,000 a page, the next page while this one is worked, so a run over
-- 20,000 customers starts at once, never waits for a page and never holds them all in memory:
-- one request per changed customer, plus one per 1,000 listed.
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

local summary = fusebill.each(fb.customers:list{ query = query }, {
  limit = tonumber(flags.limit),
  report = flags.report,
}, function(customer)
  return fb.customers:update(customer, { customerReference = { reference3 = tag } })
end)

os.exit(summary.ok and 0 or 1)
