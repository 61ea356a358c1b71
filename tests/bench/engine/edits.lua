-- fusebill side of the engine benchmark: N sequential customers:edit calls,
-- validated and encoded each time like a user's script would.
-- Usage: fusebill edits.lua URL BODYFILE N  (key from FUSEBILL_API_KEY)
-- Prints "cpu_seconds wall_seconds failures rss_kb_after_100 rss_kb_after_n".
local fusebill = require "fusebill"
local core = require "fusebill.core"
local url, body_file, n = arg[1], arg[2], tonumber(arg[3])

local function rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

local f = assert(io.open(body_file, "rb"))
local customer = assert(core.decode(f:read("a")))
f:close()
local fb = fusebill.new{ api_key = os.getenv("FUSEBILL_API_KEY"), base_url = url, rate_limit = "none" }

local failures, rss_100 = 0, 0
local c0, w0 = os.clock(), core.now()
for i = 1, n do
  local ok = fb.customers:edit(customer)
  if not ok then failures = failures + 1 end
  if i == 100 then collectgarbage(); rss_100 = rss_kb() end
end
local cpu, wall = os.clock() - c0, core.now() - w0
collectgarbage()
print(("%.4f %.4f %d %d %d"):format(cpu, wall, failures, rss_100, rss_kb()))
