-- What came of a bulk run's items, and where it is written down: what fn returned or raised
-- becomes ok, unchanged, failed or skipped (or a reason to stop the whole run): unchanged when
-- fn returned normally having sent no write and found at least one record already as its
-- update asked (fusebill.cost tells). Each outcome goes into
-- the summary's counts, the journal and the report; failures are printed, and a dry run's
-- diffs are tallied into the summary's would_change.
--
-- The run table these functions take is built by fusebill.bulk (see there).
local journal_mod = require "fusebill.journal"
local diff = require "fusebill.diff"
local cost = require "fusebill.cost"

local outcome = {}

function outcome.message_of(e)
  if e == nil then return "unknown error" end
  return tostring(e)
end
local message_of = outcome.message_of

local function is_error(core, v)
  if core.is_error then return core.is_error(v) end
  return type(v) == "table" and v.kind ~= nil
end

-- fn's failure that means "stop the whole run now", with no record for this item:
-- the daily quota is gone, or the user interrupted.
local function stop_reason(e)
  -- Ctrl-C: the host's hook or a blocking wait raises "interrupted" (a string, with position)
  if type(e) == "string" then return e:match("interrupted!?$") and "interrupted" or nil end
  if type(e) ~= "table" and type(e) ~= "userdata" then return nil end
  local ok, kind = pcall(function() return e.kind end)
  if not ok then return nil end
  if kind == "rate_limited" and e.limit == "day" then return "daily_quota" end
  if kind == "interrupted" then return "interrupted" end
  return nil
end

-- Start no more items; the first reason given is the one the summary keeps.
function outcome.stop(run, reason)
  run.stopping = true
  run.summary.stopped = run.summary.stopped or reason
end

local function say(run, text)
  if run.quiet then return end
  run.progress:message(text)
end

-- the first max_printed failures (the first 3 with their traceback), then one line saying
-- the rest are only in the summary, report and journal
local function print_failure(run, key, msg, traceback)
  run.printed = run.printed + 1
  local max_printed = run.max_printed
  if run.printed <= max_printed then
    local text = string.format("fusebill.each: item %s failed: %s", tostring(key), msg)
    if traceback and run.printed <= 3 then
      -- a traceback starts with the message, which the line above has given already
      local head = tostring(msg) .. "\n"
      if traceback:sub(1, #head) == head then traceback = traceback:sub(#head + 1) end
      text = text .. "\n" .. traceback
    end
    say(run, journal_mod.redact(text, run.secrets))
  elseif run.printed == max_printed + 1 then
    say(run, "fusebill.each: further failures are not printed (see the summary, report or journal)")
  end
end

-- The journal could not take a line (a full disk, a file size limit): stop at once, since a
-- run that cannot record what it did must not go on writing. bulk.each raises the message.
local function journal_failed(run)
  local s = run.summary
  run.stopping = true
  s.stopped = "journal"
  s.journal_error = run.journal.broken
end

local function error_kind(core, e)
  if not is_error(core, e) then return nil end
  local ok, kind = pcall(function() return e.kind end)
  return ok and kind or nil
end

-- An item that ran (or whose key could not be computed): count it, journal it unless its
-- edits were dry (a dry run's "ok" must not make the real run skip it), report it.
-- extra: attempts, elapsed, dry, input (its digest, for the journal), item, err (the error value),
-- lists, reads, writes (the requests it cost, by kind, for the report).
function outcome.record(run, key, result, msg, extra, traceback)
  local s, secrets = run.summary, run.secrets
  if result == "ok" then
    s.succeeded = s.succeeded + 1
  elseif result == "unchanged" then
    s.unchanged = s.unchanged + 1
  elseif result == "failed" then
    s.failed = s.failed + 1
    if #s.errors < 100 then
      s.errors[#s.errors + 1] = { key = key, message = journal_mod.redact(msg, secrets),
        traceback = traceback and journal_mod.redact(traceback, secrets) or nil,
        kind = error_kind(run.core, extra.err) }
    end
    print_failure(run, key, msg, traceback)
  else
    s.skipped = s.skipped + 1
  end
  s.processed = s.processed + 1
  if run.journal and not extra.dry then
    local ok = run.journal:record(key, result, msg, { attempts = extra.attempts, traceback = traceback,
      input = extra.input })
    if not ok then journal_failed(run) end
  end
  if run.report then
    run.report:row({ key = key, outcome = result, attempts = extra.attempts, error = msg and
      journal_mod.redact(msg, secrets) or nil, elapsed = extra.elapsed,
      lists = extra.lists or 0, reads = extra.reads or 0, writes = extra.writes or 0 }, extra.item)
  end
end

-- An item the journal says is done (status: ok, skipped, or failed with skip_failed): not run,
-- or run and found to have made every one of its writes already; not journaled again.
function outcome.journal_skipped(run, key, status, item)
  local s = run.summary
  s.skipped_journal = s.skipped_journal + 1
  s.skipped = s.skipped + 1
  if status == "failed" then s.skipped_failed = s.skipped_failed + 1 end
  if run.report then
    run.report:row({ key = key, outcome = "skipped", error = "done in journal (" .. status .. ")" }, item)
  end
end

-- The items iterator raised: the run stops, with nothing to record against an item.
function outcome.items_failed(run, err)
  local s = run.summary
  run.stopping = true
  s.stopped = "items_error"
  s.items_error = journal_mod.redact(message_of(err), run.secrets)
  say(run, "fusebill.each: reading the items failed: " .. s.items_error)
end

-- fn(item) has finished: r is table.pack of its xpcall (a raised error comes as
-- { value, traceback }). Classifies it and records it, or stops the run.
-- extra: elapsed, dry, attempts of the item's last call, input, item, requests by kind (see
-- record), done_before (fn ran, and every write it made was found made: the journal's "ok"
-- stands), unchanged (fn wrote nothing and found a record already as asked); a failure's own
-- error object has the last word on attempts.
function outcome.settle(run, key, r, extra)
  local s = run.summary
  if run.journal and run.journal.broken then
    -- the item's write may have gone out without its line: no record, and a rerun redoes it
    journal_failed(run)
    s.unfinished = (s.unfinished or 0) + 1
    return
  end
  local result, err, traceback
  if not r[1] then
    err, traceback = r[2].value, r[2].traceback
    result = "failed"
  elseif r[2] == nil and r[3] ~= nil then
    err, result = r[3], "failed"
  elseif r[2] == run.skip or r[2] == "skipped" then
    result = "skipped"
  else
    result = extra.unchanged and "unchanged" or "ok"
  end
  if result == "failed" then
    local reason = stop_reason(err)
    if reason then
      -- not this item's fault and not done: no record, so a rerun does it
      run.stopping = true
      if s.stopped ~= "daily_quota" then s.stopped = reason end
      if reason == "daily_quota" then
        local ok_r, reset_in = pcall(function() return err.reset_in end)
        if ok_r and tonumber(reset_in) then s.reset_in = tonumber(reset_in) end
      end
      s.unfinished = (s.unfinished or 0) + 1
      return
    end
    if is_error(run.core, err) then
      local ok_a, attempts = pcall(function() return err.attempts end)
      if ok_a and math.type(attempts) == "integer" then extra.attempts = attempts end
    end
    if run.opts.stop_on_error then outcome.stop(run, "error") end
  elseif result == "ok" and extra.done_before then
    outcome.journal_skipped(run, key, "ok", extra.item)
    -- the journal learns the item as it is now, so the next rerun skips it without fn (and an
    -- item whose write line made it but not its own line, killed in between, gets one)
    if run.journal and not extra.dry and not run.journal:record(key, "ok", nil, { input = extra.input }) then
      journal_failed(run)
    end
    return
  end
  extra.err = err
  outcome.record(run, key, result, err ~= nil and message_of(err) or nil, extra, traceback)
end

-- Dry-run edits report their diff through diff.notify. Each diff is counted for the item whose
-- worker is running, so an item counts once however many edits it makes. Returns the function
-- that stops listening.
function outcome.watch_diffs(run)
  local would = run.would
  local function note_changes(changes, state)
    if type(changes) ~= "table" or #changes == 0 then return end
    if state then
      if not state.changed then state.changed = true; would.items = would.items + 1 end
    else
      would.items = would.items + 1
    end
    would.changes = would.changes + #changes
    for _, c in ipairs(changes) do
      if c.field then would.fields[c.field] = (would.fields[c.field] or 0) + 1 end
    end
  end
  return diff.observe(function(changes)
    local state = run.in_flight[coroutine.running()]
    if state then state.dry = true end
    run.progress:finish()   -- the edit prints its diff next: start it on a clean line
    note_changes(changes, state)
  end)
end

-- Counts each item's requests (reads, writes) and its edits that found nothing to change,
-- for the item whose worker made them. Returns the function that stops counting.
local COUNTER = { read = "reads", write = "writes", unchanged = "unchanged" }

function outcome.watch_costs(run)
  return cost.observe(function(kind)
    local state = run.in_flight[coroutine.running()]
    local field = COUNTER[kind]
    if state and field then state[field] = state[field] + 1 end
  end)
end

-- the summary's would_change: items, changes, and fields as { field, count }, most changed first
function outcome.would_change(run)
  local would = run.would
  local fields = {}
  for field, count in pairs(would.fields) do fields[#fields + 1] = { field = field, count = count } end
  table.sort(fields, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return a.field < b.field
  end)
  return { items = would.items, changes = would.changes, fields = fields }
end

return outcome
