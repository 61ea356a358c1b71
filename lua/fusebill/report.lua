-- Per-item report of a bulk run, and the end-of-run summary text.
--
--   local r = assert(report.open("out.csv"))   -- or "out.jsonl"; opts.columns: the input's columns
--   r:row({ key = 7, outcome = "failed", attempts = 3, error = "...", elapsed = 0.41,
--           lists = 0, reads = 1, writes = 0 }, item)
--     lists, reads, writes: the requests the item cost (its fn's, and the list requests the
--     items iterator sent to produce it), which add up to the run's in the summary
--   r:close()
--   report.summary_text(summary) -> multi-line string for stderr
--
-- A row is the run's number, our columns (key, outcome, attempts, error, elapsed, lists, reads, writes), then the
-- item's own columns (a CSV row's fields, a record's scalar fields: the first item's, sorted,
-- or opts.columns; an item that is not a table is one column, "item"), so a report of failures
-- can be fixed and fed back as input. Rows are written as items finish (in completion order),
-- so a report of a run that was killed still holds every item that finished before.
--
-- Reports are appended to, never overwritten: a rerun adds its rows with the next run number.
-- A CSV whose header differs (another job's report), or that is not well-formed CSV, is left
-- alone: the rows go to NAME-2.csv (or -3, ...), and the summary names the file. The run
-- number is read as CSV, so a last row whose fields hold line breaks still counts.
local report = {}
report.__index = report

local json = require "fusebill.json"
local csv = require "fusebill.csv"

report.columns = { "run", "key", "outcome", "attempts", "error", "elapsed", "lists", "reads", "writes" }
local OURS = {}
for _, c in ipairs(report.columns) do OURS[c] = true end

local function is_scalar(v)
  local t = type(v)
  return t == "string" or t == "number" or t == "boolean"
end

-- the input columns of an item: its scalar fields, sorted (ours win a clash: a report fed
-- back as input brings its own run, key, outcome... columns)
local function item_columns(item)
  if type(item) ~= "table" then return { "item" } end
  local cols = {}
  for k, v in pairs(item) do
    if type(k) == "string" and is_scalar(v) and not OURS[k] then cols[#cols + 1] = k end
  end
  table.sort(cols)
  return cols
end

-- The last line of a JSON-lines report (a line is a record: JSON text holds no raw line
-- break), read from the file's end.
local function last_line(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local size = f:seek("end")
  local from = math.max(0, size - 65536)
  f:seek("set", from)
  local tail = f:read("a") or ""
  f:close()
  return tail:match("([^\n]+)\n?$")
end

-- An existing CSV report's first record and last record, read as CSV: a field may hold
-- line breaks (an error's message, a name), so the last line need not be the last record.
-- nil for a file that is missing or empty; false for one that is not well-formed CSV.
local function csv_ends(path)
  local r = csv.reader(path)
  if not r then return nil end
  local ok, first, last = pcall(function()
    local first = r:read()
    local last = first
    for row in r.read, r do last = row end
    return first, last
  end)
  r:close()
  if not ok then return false end
  return first, last
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- path ends in .csv or .jsonl (.ndjson and .json lines are accepted as JSON lines).
-- opts.columns: the input columns (default: the first item's).
function report.open(path, opts)
  if type(path) ~= "string" or path == "" then error("report.open: file name expected", 2) end
  local format
  local lower = path:lower()
  if lower:match("%.csv$") then
    format = "csv"
  elseif lower:match("%.jsonl$") or lower:match("%.ndjson$") or lower:match("%.json$") then
    format = "jsonl"
  else
    return nil, "report file must end in .csv or .jsonl: " .. path
  end
  -- the file is opened at the first row, once the input columns are known; check now that
  -- it can be written, so a bad name fails before the run starts
  local f, err = io.open(path, "ab")
  if not f then return nil, err end
  f:close()
  return setmetatable({ path = path, format = format, input_columns = opts and opts.columns }, report)
end

-- The CSV file to append to: the asked one, or NAME-2.csv... when that one is another's
-- (another header, or not CSV at all). Returns it, the run number and whether it is new.
local function pick_csv(self, header)
  local base, ext = self.path:match("^(.-)(%.[^.]*)$")
  local path, n = self.path, 1
  while true do
    local first, last = csv_ends(path)
    if first == nil then return path, 1, true end
    if first and same_list(first, header) then return path, (math.tointeger(tonumber(last[1])) or 0) + 1, false end
    n = n + 1
    path = base .. "-" .. n .. ext
  end
end

local function pick_jsonl(self)
  local last = last_line(self.path)
  local ok, rec = pcall(json.decode, last or "")
  return self.path, (ok and type(rec) == "table" and math.tointeger(tonumber(rec.run)) or 0) + 1
end

-- Picks the file and the run number and opens it (a new CSV gets the header).
function report:_start(item)
  local cols = {}
  for _, c in ipairs(self.input_columns or item_columns(item)) do
    if not OURS[c] then cols[#cols + 1] = c end
  end
  self.input_columns = cols
  local header = table.move(report.columns, 1, #report.columns, 1, {})   -- ours, then the input's
  table.move(cols, 1, #cols, #header + 1, header)
  local path, run, new
  if self.format == "csv" then path, run, new = pick_csv(self, header) else path, run = pick_jsonl(self) end
  local f, err = io.open(path, "ab")
  if not f then error("fusebill.each: cannot write report " .. path .. ": " .. tostring(err), 0) end
  -- a row is one write(2), so a run that is killed leaves whole rows, never half of one
  f:setvbuf("no")
  self.file, self.path, self.run = f, path, run
  if self.format == "csv" then
    self.csv = csv.writer(f, { columns = header, header = new, crlf = false, name = path })
  end
end

-- Writes one row, or remembers why the file refused it and writes no more.
function report:_put(values)
  local ok, err
  if self.csv then
    ok, err = self.csv:row(values)
  else
    ok, err = self.file:write(assert(json.encode(values)) .. "\n")
  end
  if not ok then
    self.broken = tostring(err)
    self:close()
  end
end

-- One row as { column = value }: the item's input columns, then ours (which win a clash).
local function record(self, r, item)
  local inputs = type(item) == "table" and item or { item = item }
  local rec = { run = self.run }
  for _, c in ipairs(self.input_columns) do
    local v = inputs[c]
    if is_scalar(v) then rec[c] = v end
  end
  for i = 2, #report.columns do
    local c = report.columns[i]
    local v = r[c]
    if v ~= nil and not is_scalar(v) then v = tostring(v) end
    rec[c] = v
  end
  local t = rec.elapsed
  if t then rec.elapsed = self.csv and string.format("%.3f", t) or math.floor(t * 1000 + 0.5) / 1000 end
  return rec
end

function report:row(r, item)
  if self.closed then return end
  if not self.file then self:_start(item) end
  self:_put(record(self, r, item))
end

function report:close()
  if self.csv then self.csv:close(); self.csv = nil end
  if self.file then self.file:close(); self.file = nil end
  self.closed = true
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
  local label = s.plan and "plan" or s.dry_run and "dry run" or "bulk run"
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
        " (%d failed before, left alone by skip_failed)", s.skipped_failed) or "")
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
  elseif s.stopped == "journal" then
    lines[#lines + 1] = "  stopped: " .. tostring(s.journal_error)
  elseif s.stopped == "limit" then
    lines[#lines + 1] = string.format("  stopped after %d item%s (limit)", s.limit, s.limit == 1 and "" or "s")
  end
  if s.plan then
    lines[#lines + 1] = "  plan written to " .. s.plan .. "; once reviewed: fusebill -m apply " .. s.plan
  elseif s.journal and not s.dry_run and (s.writes or 0) > 0 then
    lines[#lines + 1] = "  every write is in the journal; to put them back: fusebill -m undo " .. s.journal
  end
  if s.report then
    lines[#lines + 1] = "  report: " .. s.report .. (s.report_error and " (incomplete: " .. s.report_error .. ")" or "")
  end
  return table.concat(lines, "\n")
end

return report
