-- LUA_INIT for the journal benchmark's phases: when the state closes (a script that ends, a
-- tool that returns), print the process's peak resident set (VmHWM) and its run time.
local t0 = os.clock()
local function report()
  local f = io.open("/proc/self/status")
  local hwm = f and f:read("a"):match("VmHWM:%s*(%d+) kB")
  if f then f:close() end
  io.stderr:write(string.format("BENCH-PHASE rss_kb=%s cpu=%.2f\n", hwm or "?", os.clock() - t0))
end
-- a global the GC reaches only at lua_close
rawset(_G, "BENCH_PHASE_EXIT", setmetatable({}, { __gc = report }))
