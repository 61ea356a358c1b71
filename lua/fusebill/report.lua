-- Per-item report of a bulk run, and the end-of-run summary text.
--
--   local r = assert(report.open("out.csv"))   -- or "out.jsonl"
--   r:row{ key = 7, outcome = "failed", attempts = 3, error = "...", elapsed = 0.41,
--          lists = 0, reads = 1, writes = 0 }
--     lists, reads, writes: the requests the item cost (its fn's, and the list requests the
--     items iterator sent to produce it), which add up to the run's in the summary
--   r:close()
--   report.summary_text(summary) -> multi-line string for stderr
--
-- Rows are written as items finish (in completion order), so a report of a run that was
-- killed still holds every item that finished before.
local report = {}
report.__index = report

local json = require "fusebill.json"

report.columns = { "key", "outcome", "attempts", "error", "elapsed", "lists", "reads", "writes" }

local function csv_field(v)
  if v == nil then return "" end
  if math.type(v) == "float" then v = string.format("%.3f", v) end
  v = tostring(v)
  if v:find('[",\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end
report.csv_field = csv_field

-- path ends in .csv or .jsonl (.ndjson and .json lines are accepted as JSON lines).
function report.open(path)
  if type(path) ~= "string" or path == "" then error("report.open: file name expected", 2) end
  local format
  if path:lower():match("%.csv$") then
    format = "csv"
  elseif path:lower():match("%.jsonl$") or path:lower():match("%.ndjson$") or path:lower():match("%.json$") then
    format = "jsonl"
  else
    return nil, "report file must end in .csv or .jsonl: " .. path
  end
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:setvbuf("full", 1 << 16)
  local self = setmetatable({ path = path, format = format, file = f, rows = 0 }, report)
  if format == "csv" then f:write(table.concat(report.columns, ","), "\n") end
  return self
end

function report:row(r)
  local f = self.file
  if not f then return end
  if self.format == "csv" then
    local out = {}
    for i, c in ipairs(report.columns) do
      local v = r[c]
      if c ~= "elapsed" and math.type(v) == "float" then v = math.tointeger(v) or v end
      out[i] = csv_field(v)
    end
    f:write(table.concat(out, ","), "\n")
  else
    local rec = {}
    for _, c in ipairs(report.columns) do
      local v = r[c]
      if c == "elapsed" and v then v = math.floor(v * 1000 + 0.5) / 1000 end
      rec[c] = v
    end
    f:write(assert(json.encode(rec)), "\n")
  end
  self.rows = self.rows + 1
  -- flush now and then so a killed run's report is mostly there; not per row (cheap anyway)
  if self.rows % 100 == 0 then f:flush() end
end

function report:close()
  if self.file then self.file:close(); self.file = nil end
end

local function duration(s)
  if s < 60 then return string.format("%.1fs", s) end
  return string.format("%dm%02ds", math.floor(s / 60), math.floor(s % 60))
end

local function reset_text(seconds)
  local t = os.time() + math.floor(seconds + 0.5)
  return string.format("in %s (at %s UTC)", duration(seconds), os.date("!%H:%M", t))
end
report.reset_text = reset_text

-- summary: the table fusebill.each returns (see bulk.lua).
function report.summary_text(s)
  local lines = {}
  local label = s.dry_run and "dry run" or "bulk run"
  lines[#lines + 1] = string.format("%s: %d item%s in %s, %.1f items/s, %.1f requests/s",
    label, s.processed, s.processed == 1 and "" or "s", duration(s.elapsed), s.rate or 0, s.request_rate or 0)
  lines[#lines + 1] = string.format("  succeeded %d%s  failed %d  skipped %d  retries %d  429s %d",
    s.succeeded, (s.unchanged or 0) > 0 and string.format("  unchanged %d", s.unchanged) or "",
    s.failed, s.skipped, s.retries or 0, s.throttled or 0)
  if s.requests then
    lines[#lines + 1] = string.format("  requests %d: %d list, %d read, %d write%s", s.requests, s.lists or 0,
      s.reads or 0, s.writes or 0,
      s.requests_per_change and string.format("; %.3f per changed edit", s.requests_per_change) or "")
  end
  if (s.skipped_journal or 0) > 0 then
    lines[#lines + 1] = string.format("  skipped %d item%s already done in journal %s%s",
      s.skipped_journal, s.skipped_journal == 1 and "" or "s", s.journal or "?",
      (s.skipped_failed or 0) > 0 and string.format(
        " (%d failed before: rerun with retry_failed = true to redo them)", s.skipped_failed) or "")
  end
  if s.dry_run and s.would_change then
    local w = s.would_change
    lines[#lines + 1] = string.format("  would change %d item%s (%d field change%s)", w.items,
      w.items == 1 and "" or "s", w.changes, w.changes == 1 and "" or "s")
    for _, f in ipairs(w.fields) do
      lines[#lines + 1] = string.format("    %-40s %d", f.field, f.count)
    end
  end
  for i, e in ipairs(s.errors or {}) do
    if i > 5 then
      lines[#lines + 1] = string.format("  ... and %d more failures (see the report/journal)", #s.errors - 5)
      break
    end
    lines[#lines + 1] = string.format("  failed %s: %s", tostring(e.key), (tostring(e.message):gsub("\n.*", "")))
  end
  if s.stopped == "daily_quota" then
    lines[#lines + 1] = "  stopped: the account's daily request quota is used up; it resets " ..
      (s.reset_in and reset_text(s.reset_in) or "at the end of its day") ..
      ". Rerun with the same journal then to finish."
  elseif s.stopped == "error" then
    lines[#lines + 1] = "  stopped at the first failure (stop_on_error)"
  elseif s.stopped == "interrupted" then
    lines[#lines + 1] = "  stopped: interrupted. Rerun with the same journal to finish."
  elseif s.stopped == "items_error" then
    lines[#lines + 1] = "  stopped: reading the items failed: " .. tostring(s.items_error)
  elseif s.stopped == "limit" then
    lines[#lines + 1] = string.format("  stopped after %d item%s (limit)", s.limit, s.limit == 1 and "" or "s")
  end
  return table.concat(lines, "\n")
end

return report
