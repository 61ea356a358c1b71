-- fusebill.each(items, opts, fn): run fn(item) for many items, with up to opts.concurrency
-- API calls in flight, a journal to resume from, dry-run summaries, progress and a report.
--
-- This file sets a run up, starts it and closes it; the rest is split by job:
--   fusebill.bulk.options    checks opts and resolves the run's settings
--   fusebill.bulk.scheduler  the worker coroutines, the items iterator, the engine-driven loop
--   fusebill.bulk.item       one item: its key, the journal lookup, fn(item) under xpcall
--   fusebill.bulk.outcome    what came of an item: summary counts, journal, report, printing
--   fusebill.bulk.journaling a journaled run's writes: recorded with their before-state, and
--                            not made again on a rerun
-- They share one plain table, the run: the resolved settings, the open journal, report and
-- progress line, the summary being built, and the scheduler's state. A table rather than
-- upvalues, so that each step can live in its own module.
--
-- See README, "Bulk runs", for the options.
local bulk = {}

local journal_mod = require "fusebill.journal"
local progress_mod = require "fusebill.progress"
local report_mod = require "fusebill.report"
local options = require "fusebill.bulk.options"
local scheduler = require "fusebill.bulk.scheduler"
local outcome = require "fusebill.bulk.outcome"
local exit_status = require "fusebill.exit_status"
local journaling = require "fusebill.bulk.journaling"

-- Return this from fn to mark an item as deliberately skipped (journaled as "skipped").
bulk.SKIP = "skip"

-- how many each() runs are in progress (more than one: nested)
bulk._active = 0

-- journal path -> how many each() calls of this process used it (their scopes)
bulk._journal_uses = {}

-- Tests replace bulk.core with a fake engine; normally it is the host's fusebill.core.
local function get_core()
  if bulk.core then return bulk.core end
  if not package.loaded["fusebill.core"] then require "fusebill" end   -- it builds fusebill.core
  return package.loaded["fusebill.core"] or require("fusebill.core")
end

-- run.in_flight: each worker coroutine's item state (see item.lua), looked up by the
-- coroutine that makes a request, so the journal, the dry-run diffs and the request counts
-- land on the right item. A coroutine the script made inside fn (coroutine.wrap, a
-- generator) belongs to the worker resuming it: the one worker whose status is "normal"
-- (it resumed another coroutine); every other worker waits, suspended.
local function item_states()
  return setmetatable({}, { __index = function(states, co)
    for worker, state in next, states do
      if worker ~= co and coroutine.status(worker) == "normal" then return state end
    end
    return nil
  end })
end

-- The journal (read always; in a dry run never written: a dry run's "ok" must not make the
-- real run skip the item) and the report. Raises at level 3: called straight from each(), so
-- the message points at the script's call.
local function open_outputs(run)
  local opts, path = run.opts, run.journal_path
  if path then
    -- each call of each() in this process gets its own scope in a shared journal (see journal.lua)
    local uses = (bulk._journal_uses[path] or 0) + 1
    bulk._journal_uses[path] = uses
    local jn, err = journal_mod.open(path, {
      secrets = run.secrets, fsync = run.core.fsync, now = run.now, read_only = run.dry_run,
      scope = opts.name or tostring(uses),
    })
    if not jn then error("fusebill.each: cannot open journal " .. path .. ": " .. tostring(err), 3) end
    run.journal = jn
    run.context = journaling.context()
  end
  if opts.report then
    local rep, err = report_mod.open(opts.report, { columns = opts.report_columns })
    if not rep then
      if run.journal then run.journal:close() end
      error("fusebill.each: " .. tostring(err), 3)
    end
    run.report = rep
  end
end

-- The summary's remaining fields once the loop is over: the engine's counters for this run,
-- rates, what a dry run would change, and whether the run went well.
local function finish_summary(run)
  local s, core, stats0 = run.summary, run.core, run.stats0
  local stats1 = core.stats and core.stats() or {}
  s.elapsed = run.now() - run.t_start
  s.retries = (stats1.retries or 0) - (stats0.retries or 0)
  s.throttled = (stats1.throttled or 0) - (stats0.throttled or 0)
  s.requests = (stats1.requests or 0) - (stats0.requests or 0)
  s.attempts = (stats1.attempts or 0) - (stats0.attempts or 0)
  s.writes = (stats1.writes or 0) - (stats0.writes or 0)
  s.reads = (stats1.reads or 0) - (stats0.reads or 0)
  s.lists = (stats1.lists or 0) - (stats0.lists or 0)
  -- what the account paid for each change made (nil when none was made)
  s.requests_per_change = s.writes > 0 and s.requests / s.writes or nil
  s.rate = s.elapsed > 0 and s.processed / s.elapsed or 0
  s.request_rate = s.elapsed > 0 and s.requests / s.elapsed or 0
  if run.dry_run or run.would.items > 0 then
    s.dry_run = true
    s.would_change = outcome.would_change(run)
  end
  -- a limit the items ran out before reaching did not stop anything
  if s.stopped == "limit" and run.exhausted then s.stopped = nil end
  s.ok = s.failed == 0 and (s.stopped == nil or s.stopped == "limit")
  if run.report then s.report, s.report_error = run.report.path, run.report.broken end
  return s
end

-- The end line and the close; returns the journal's failure, if it had one.
local function close_journal(run, s)
  local jn = run.journal
  if not jn then return nil end
  if not jn.broken then
    jn:event("end", { succeeded = s.succeeded, failed = s.failed, skipped = s.skipped, stopped = s.stopped })
  end
  local _, err = jn:close()
  if err then
    s.stopped, s.ok = s.stopped or "journal", false
    s.journal_error = err
  end
  return err
end

local function print_summary(s)
  io.stderr:write(report_mod.summary_text(s), "\n")
  io.stderr:flush()
end

function bulk.each(items, opts, fn)
  if fn == nil and type(opts) == "function" then opts, fn = {}, opts end
  opts = opts or {}
  if type(opts) ~= "table" then error("fusebill.each: opts must be a table", 2) end
  if type(fn) ~= "function" then error("fusebill.each: fn must be a function", 2) end
  options.check(opts)
  local core = get_core()
  local nested = bulk._active > 0 and coroutine.isyieldable()
  local run = options.resolve(opts, core, nested)
  -- skip: bulk.SKIP, handed over because outcome.lua cannot require this module (a cycle)
  run.core, run.opts, run.items, run.fn, run.skip = core, opts, items, fn, bulk.SKIP
  run.now = core.now or os.clock
  local total
  run.next_item, total, run.is_iterator = scheduler.source(items)
  run.total = total or opts.total
  open_outputs(run)
  run.progress = progress_mod.new{ enabled = run.show_progress, now = run.now, stream = io.stderr }

  run.stats0 = core.stats and core.stats() or {}
  run.t_start = run.now()
  run.summary = {
    succeeded = 0, unchanged = 0, failed = 0, skipped = 0, skipped_journal = 0, skipped_failed = 0, processed = 0,
    errors = {}, dry_run = run.dry_run, journal = run.journal_path, report = opts.report, limit = opts.limit,
    plan = run.plan,
  }
  -- the scheduler's state (see scheduler.lua): items pulled, items started, whether no more
  -- start or the items ran out, the iterator lock, workers to resume, each running worker's
  -- item (for dry-run diffs); set later when needed: lock_waiters, fatal (a worker's crash)
  run.pos, run.started, run.printed = 0, 0, 0   -- printed: failures printed so far
  run.stopping, run.exhausted, run.iter_busy = false, false, false
  run.wake, run.in_flight = {}, item_states()
  run.would = { items = 0, changes = 0, fields = {} }   -- a dry run's diffs (see outcome.lua)

  if run.journal then
    local ok, err = run.journal:event("start", { dry_run = run.dry_run or nil, concurrency = run.concurrency })
    if not ok then
      run.journal:close()
      if run.report then run.report:close() end
      error("fusebill.each: " .. err, 2)
    end
  end
  local unobserve = outcome.watch_diffs(run)
  local unwatch_costs = outcome.watch_costs(run)
  local unwatch = run.journal and not run.dry_run and journaling.watch(run) or function() end

  -- Two pcalls, because of Ctrl-C: the engine's wait raises "interrupted", and the host's
  -- SIGINT hook raises "interrupted!" at the next Lua event of the main thread, which can be
  -- the return from the inner pcall. The outer one catches that second error too, so the
  -- journal and report are always closed and the summary printed.
  bulk._active = bulk._active + 1
  local ok_loop, loop_err = pcall(function()
    local ok, err
    if nested then
      ok, err = scheduler.run_inline(run)
    else
      ok, err = scheduler.run_workers(run)
    end
    if not ok then error(err, 0) end
  end)
  bulk._active = bulk._active - 1

  unobserve()
  unwatch_costs()
  unwatch()
  run.progress:finish()
  if run.report then run.report:close() end
  local s = finish_summary(run)
  exit_status.note_run(s)   -- the fusebill program's exit status: 3 if an item's latest outcome failed
  local journal_err = close_journal(run, s)
  if not ok_loop then
    -- Ctrl-C: core.wait raises "interrupted". The journal is closed with every finished item
    -- in it (the items in flight are redone by a rerun); say how far the run got, then let the
    -- interruption go on up so the script stops.
    if tostring(loop_err):find("interrupted", 1, true) and not run.quiet then
      s.stopped = "interrupted"
      print_summary(s)
    end
    error(loop_err, 0)
  end
  if run.fatal then error("fusebill.each: internal error: " .. run.fatal, 0) end
  if not run.quiet or journal_err then print_summary(s) end
  if journal_err then
    error("fusebill.each: " .. journal_err .. "; the run stopped at once (the items in flight have no " ..
      "record and are redone by a rerun once the journal can be written)", 0)
  end
  -- Ctrl-C inside an item: the run stopped cleanly; now let the interruption stop the script
  if s.stopped == "interrupted" then error("interrupted", 0) end
  return s
end

return bulk
