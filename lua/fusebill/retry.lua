--- fusebill.retry(policy, fn, ...): the engine's retry machinery for any Lua function.
-- Calls fn(...) again while it raises an error or returns nil plus a retryable
-- error object, sleeping a full-jitter exponential backoff between attempts
-- (the same core.backoff the HTTP calls use; inside fusebill.each the sleep
-- yields to the scheduler). A non-retryable error object stops it at once.
-- policy: { max_attempts = 5, base_delay = 0.5, max_delay = 30 }, checked like every
-- option table (fusebill.options: an unknown name raises).
local core = require "fusebill.core"
local options = require "fusebill.options"

local function retry(policy, fn, ...)
  policy = options.check("retry", policy or {}, "fusebill.retry", 2)
  if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
    error("fusebill.retry: bad argument #2 (function expected, got " .. type(fn) .. ")", 2)
  end
  local max_attempts = policy.max_attempts or 5
  for attempt = 1, max_attempts do
    local r = table.pack(pcall(fn, ...))
    if r[1] then
      local err = r[3]
      if r[2] ~= nil or not core.is_error(err) then
        return table.unpack(r, 2, r.n)
      end
      if not err.retryable or attempt == max_attempts then return nil, err end
    else
      local err = r[2]
      if attempt == max_attempts or (core.is_error(err) and not err.retryable) then
        error(err, 0)
      end
    end
    core.sleep(core.backoff(policy, attempt))
  end
end

return retry
