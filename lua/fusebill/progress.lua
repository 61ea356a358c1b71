-- The one-line progress display of a bulk run, redrawn in place on a terminal.
--
--   local p = progress.new{ stream = io.stderr, enabled = core.isatty("stderr"), now = core.now }
--   p:update{ done = 120, total = 2000, processed = 120, retries = 2, errors = 1 }  -- throttled
--   p:finish()                                                                        -- erases it
--
-- Only when `enabled` (the caller passes isatty(stderr)): on a pipe or a log file a line
-- redrawn with \r is noise, so nothing is written at all there. Redraws at most every
-- `interval` seconds (default 0.1, i.e. 10 per second) so a fast run does not spend its time
-- writing to the terminal.
local progress = {}
progress.__index = progress

-- 75 -> "1:15", 3725 -> "1:02:05"
function progress.duration(seconds)
  if seconds == nil or seconds ~= seconds or seconds == math.huge then return "?" end
  seconds = math.max(0, math.floor(seconds + 0.5))
  local h, m, s = seconds // 3600, seconds % 3600 // 60, seconds % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, s) end
  return string.format("%d:%02d", m, s)
end

-- state: done (finished, incl. skipped), total (nil when unknown), processed (items actually
-- run, for the rate), elapsed (seconds), retries, errors, skipped, in_flight.
function progress.render(state)
  local done, total = state.done or 0, state.total
  local parts = {}
  if total then
    local pct = total > 0 and (100 * done / total) or 100
    parts[#parts + 1] = string.format("%d/%d %3d%%", done, total, math.floor(pct))
  else
    parts[#parts + 1] = string.format("%d done", done)
  end
  local elapsed = state.elapsed or 0
  local processed = state.processed or done
  local rate = elapsed > 0 and processed / elapsed or 0
  parts[#parts + 1] = string.format("%.1f/s", rate)
  if total then
    local left = total - done
    if left <= 0 then
      parts[#parts + 1] = "ETA 0:00"
    elseif rate > 0 then
      parts[#parts + 1] = "ETA " .. progress.duration(left / rate)
    else
      parts[#parts + 1] = "ETA ?"
    end
  end
  parts[#parts + 1] = string.format("retries %d", state.retries or 0)
  parts[#parts + 1] = string.format("errors %d", state.errors or 0)
  if (state.skipped or 0) > 0 then parts[#parts + 1] = string.format("skipped %d", state.skipped) end
  if (state.throttled or 0) > 0 then parts[#parts + 1] = string.format("429s %d", state.throttled) end
  return table.concat(parts, "  ")
end

-- opts: stream (default io.stderr), enabled (bool), now (clock function), interval (seconds),
-- width (terminal columns; default $COLUMNS, else 80).
function progress.new(opts)
  opts = opts or {}
  return setmetatable({
    stream = opts.stream or io.stderr, enabled = opts.enabled and true or false,
    now = opts.now or os.clock, interval = opts.interval or 0.1,
    last = nil, drawn = false, draws = 0,
    width = opts.width or tonumber(os.getenv("COLUMNS") or "") or 80,
  }, progress)
end

-- True when a redraw is due (cheap: lets the caller skip building the state).
function progress:due()
  return self.enabled and (self.last == nil or self.now() - self.last >= self.interval)
end

function progress:update(state, force)
  if not self.enabled then return false end
  local now = self.now()
  if not force and self.last and now - self.last < self.interval then return false end
  self.last = now
  -- \r back to column 0, the line, then erase whatever a longer previous line left behind
  local line = progress.render(state)
  -- a line longer than the terminal wraps, and \r would then redraw only its last part
  if #line > self.width - 1 then line = line:sub(1, self.width - 1) end
  self.stream:write("\r", line, "\27[K")
  self.stream:flush()
  self.drawn, self.draws = true, self.draws + 1
  return true
end

-- Erases the line so the summary (or an error message) starts on a clean line.
function progress:finish()
  if self.enabled and self.drawn then
    self.stream:write("\r\27[K")
    self.stream:flush()
    self.drawn = false
  end
end

-- Prints a message (an item's error, a dry-run diff) without mangling the progress line:
-- erase the line, print, and let the next update redraw it.
function progress:message(text)
  self:finish()
  self.stream:write(text, "\n")
  self.stream:flush()
  self.last = nil
end

return progress
