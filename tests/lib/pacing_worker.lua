-- One process of a pacing run (tests/lib/pacing.lua starts it with build/fusebill against a
-- sandbox): N customer edits through fusebill.each at the given concurrency, then one line
-- of JSON with what it saw. Usage: fusebill --base-url URL pacing_worker.lua N CONCURRENCY
local fusebill = require "fusebill"
local core = package.loaded["fusebill.core"]
local cjson = require "cjson"

local n, concurrency = tonumber(arg[1]), tonumber(arg[2] or "8")
local fb = fusebill.client()
local t0 = core.now()
local stats0 = core.stats()
local customers = {}
for c in fb.customers:list{ query = "status:Active", page_size = 1000 } do customers[#customers + 1] = c end
local items = {}
for i = 1, n do items[i] = i end
local s = fusebill.each(items, { concurrency = concurrency, quiet = true }, function(i)
  local body = {}
  for k, v in pairs(customers[(i - 1) % #customers + 1]) do body[k] = v end
  body.firstName = "pace-" .. i
  return fb.customers:edit(body)
end)
local stats1 = core.stats()
io.write(cjson.encode{ start = t0, finish = core.now(), requests = stats1.requests - stats0.requests,
  attempts = stats1.attempts - stats0.attempts, throttled = stats1.throttled - stats0.throttled,
  failed = s.failed }, "\n")
