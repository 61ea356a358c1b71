-- A fake fusebill.core for unit-testing fusebill.each without the C engine: virtual time,
-- core.sleep/request yield core.WAIT inside managed coroutines, core.wait returns the ones
-- whose timer is due and advances the clock.
local fake = {}

local error_mt = { __name = "fusebill.error", __tostring = function(e)
  return string.format("fusebill: %s %s", e.kind, e.message or "")
end }

function fake.new(host)
  local core = { WAIT = setmetatable({}, { __name = "fake WAIT" }), t = 0, timers = {}, managed = {},
    counters = { requests = 0, attempts = 0, retries = 0, throttled = 0, writes = 0 }, host = host,
    synced = 0, seq = 0 }
  function core.manage(co) core.managed[co] = true end
  function core.now() return core.t end
  function core.isatty() return false end
  function core.host_options() return core.host end
  function core.fsync() core.synced = core.synced + 1 end
  function core.stats()
    local c = {}
    for k, v in pairs(core.counters) do c[k] = v end
    return c
  end
  function core.is_error(v) return getmetatable(v) == error_mt end
  function core.new_error(t) return setmetatable(t, error_mt) end
  function core.sleep(d)
    local co, main = coroutine.running()
    if main or not core.managed[co] then core.t = core.t + d; return end
    core.seq = core.seq + 1
    core.timers[#core.timers + 1] = { at = core.t + d, co = co, seq = core.seq }
    local v = coroutine.yield(core.WAIT)
    assert(v == nil, "resumed with a value")
  end
  -- a request that takes `d` seconds of virtual time
  function core.request(d)
    core.counters.requests = core.counters.requests + 1
    core.counters.attempts = core.counters.attempts + 1
    core.sleep(d or 0.1)
    return { ok = true }, { status = 200, attempts = 1 }
  end
  function core.wait(timeout)
    table.sort(core.timers, function(a, b)
      if a.at ~= b.at then return a.at < b.at end
      return a.seq < b.seq
    end)
    local first = core.timers[1]
    if not first or first.at > core.t + timeout then
      core.t = core.t + timeout
      return {}
    end
    if first.at > core.t then core.t = first.at end
    local ready, rest = {}, {}
    for _, tm in ipairs(core.timers) do
      if tm.at <= core.t then ready[#ready + 1] = tm.co else rest[#rest + 1] = tm end
    end
    core.timers = rest
    return ready
  end
  return core
end

return fake
