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

local argparse = require "argparse"

local parser = argparse("bulk_retag_customers.lua", "Stamp a campaign tag on every customer that matches a query.")
parser:argument("tag", "the tag to set in customerReference.reference3"):default("SPRING-2026")
parser:argument("query", "a Fusebill list query"):default("status:Active")
parser:option("--limit", "canary: do only the first N customers, then stop"):convert(math.tointeger)
parser:option("--report", "per-customer report, F ending in .csv or .jsonl")
local parsed, args = parser:pparse(arg)
if not parsed then
  io.stderr:write("bulk_retag_customers: ", args, "\n", parser:get_usage(), "\n")
  os.exit(2)
end

local fb = fusebill.client()

-- the program's exit status says how the run went: 3 when a customer failed (README, Exit status)
fusebill.each(fb.customers:list{ query = args.query }, {
  limit = args.limit,
  report = args.report,
}, function(customer)
  return fb.customers:update(customer, { customerReference = { reference3 = args.tag } })
end)
