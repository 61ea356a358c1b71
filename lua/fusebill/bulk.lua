-- fusebill.each(items, opts, fn): run fn(item) for many items, with up to opts.concurrency
-- API calls in flight, a journal to resume from, dry-run summaries, progress and a report.
--
-- How it runs. N worker coroutines are created and handed to the engine with core.manage();
-- inside them every client:request and core.sleep yields the single value core.WAIT while curl
-- (or a pacing/backoff timer) works, instead of blocking. The loop below resumes the runnable
-- workers, then calls core.wait(timeout), which drives every transfer and timer and returns the
-- workers whose wait is over. Pacing from the X-Rate-Limit-* headers, 429s and retries all
-- happen inside request, so this file never sleeps or paces on its own.
--
-- Each worker pulls the next item, looks its key up in the journal, runs fn(item) under xpcall
-- (a Lua error is recorded with its traceback and the run goes on), records the outcome, and
-- pulls again. Only one worker advances the items iterator at a time: an iterator such as
-- customers:list may itself make HTTP calls (and so yield); the others wait for it on a
-- private lock, woken by this loop rather than by the engine.
--
-- See /tmp/team/readme_bulk.md (README "Bulk runs") for the options.
local bulk = {}

local journal_mod = require "fusebill.journal"
local progress_mod = require "fusebill.progress"
local report_mod = require "fusebill.report"
local diff = require "fusebill.diff"

-- Return this from fn to mark an item as deliberately skipped (journaled as "skipped").
bulk.SKIP = "skip"

-- how many each() runs are in progress (more than one: nested)
bulk._active = 0

-- journal path -> how many each() calls of this process used it (their scopes)
bulk._journal_uses = {}

-- Our own yield value: a worker waiting for the items iterator lock. Never seen by the engine.
local LOCK = setmetatable({}, { __name = "fusebill.bulk.lock" })

-- Tests replace bulk.core with a fake engine; normally it is the host's fusebill.core.
local function get_core()
  if bulk.core then return bulk.core end
  if not package.loaded["fusebill.core"] then require "fusebill" end   -- it builds fusebill.core
  return package.loaded["fusebill.core"] or require("fusebill.core")
end

local function is_error(core, v)
  if core.is_error then return core.is_error(v) end
  return type(v) == "table" and v.kind ~= nil
end

local function message_of(e)
  if e == nil then return "unknown error" end
  return tostring(e)
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

-- Items: a list (array table) or an iterator function returning one item per call, nil at the end.
-- A callable table counts as an iterator; if it has an integer `total` field (a paged list that
-- read X-MaxCount from its first page), the progress line uses it.
local function make_source(items)
  if type(items) == "table" then
    local mt = getmetatable(items)
    if mt and mt.__call then
      return function() return items() end, nil, true
    end
    local i, n = 0, #items
    return function()
      i = i + 1
      if i <= n then return items[i] end
      return nil
    end, n, false
  elseif type(items) == "function" then
    return items, nil, true
  end
  error("fusebill.each: items must be a list or an iterator function, got " .. type(items), 3)
end

local function secrets_list(host)
  local list = {}
  if host and type(host.api_key) == "string" then list[#list + 1] = host.api_key end
  local env = os.getenv("FUSEBILL_API_KEY")
  if env and env ~= "" then list[#list + 1] = env end
  return list
end

local function check_opts(opts)
  local types = { concurrency = "number", journal = "string", key = "function", retry_failed = "boolean",
    stop_on_error = "boolean", limit = "number", report = "string", quiet = "boolean", dry_run = "boolean",
    total = "number", progress = "boolean", print_errors = "number", name = "string", client = "table" }
  for k, t in pairs(types) do
    local v = opts[k]
    if v ~= nil and type(v) ~= t and not (k == "journal" and v == false) then
      error(string.format("fusebill.each: opts.%s must be a %s, got %s", k, t, type(v)), 3)
    end
  end
  if opts.concurrency and (opts.concurrency < 1 or opts.concurrency ~= math.floor(opts.concurrency)) then
    error("fusebill.each: opts.concurrency must be a positive integer", 3)
  end
  if opts.limit and opts.limit < 0 then error("fusebill.each: opts.limit must be >= 0", 3) end
end

local function sorted_fields(counts)
  local list = {}
  for field, count in pairs(counts) do list[#list + 1] = { field = field, count = count } end
  table.sort(list, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return a.field < b.field
  end)
  return list
end

function bulk.each(items, opts, fn)
  if fn == nil and type(opts) == "function" then opts, fn = {}, opts end
  opts = opts or {}
  if type(opts) ~= "table" then error("fusebill.each: opts must be a table", 2) end
  if type(fn) ~= "function" then error("fusebill.each: fn must be a function", 2) end
  check_opts(opts)
  local core = get_core()
  local host = core.host_options and core.host_options() or nil
  host = type(host) == "table" and host or {}
  local now = core.now or os.clock

  -- opts.client (an fb from fusebill.new): its concurrency hint and dry-run flag count too
  local fb_opts = type(opts.client) == "table" and type(opts.client.options) == "table" and opts.client.options or {}
  local concurrency = opts.concurrency or tonumber(fb_opts.concurrency) or tonumber(host.concurrency) or 4
  local nested = bulk._active > 0 and coroutine.isyieldable()
  local journal_path = opts.journal
  if journal_path == nil then journal_path = host.journal end
  if journal_path == false or journal_path == "" then journal_path = nil end
  local dry_run = opts.dry_run
  if dry_run == nil then
    dry_run = (host.dry_run or (type(opts.client) == "table" and opts.client.dry_run)) and true or false
  end
  local quiet = opts.quiet
  local max_printed = opts.print_errors or 10

  local next_raw, total, is_iterator = make_source(items)
  total = total or opts.total

  -- journal: read always; in a dry run never written (a dry run's "ok" must not make the real
  -- run skip the item)
  local jn
  if journal_path then
    -- each call of each() in this process gets its own scope in a shared journal (see journal.lua)
    local uses = (bulk._journal_uses[journal_path] or 0) + 1
    bulk._journal_uses[journal_path] = uses
    local err
    jn, err = journal_mod.open(journal_path, {
      secrets = secrets_list(host), fsync = core.fsync, now = now, read_only = dry_run,
      scope = opts.name or tostring(uses),
    })
    if not jn then error("fusebill.each: cannot open journal " .. journal_path .. ": " .. tostring(err), 2) end
  end
  local rep
  if opts.report then
    local err
    rep, err = report_mod.open(opts.report)
    if not rep then
      if jn then jn:close() end
      error("fusebill.each: " .. tostring(err), 2)
    end
  end

  local show_progress = opts.progress
  if nested then show_progress = false end   -- the outer run owns the progress line
  if show_progress == nil then
    show_progress = not quiet and core.isatty ~= nil and core.isatty("stderr") and true or false
  end
  local prog = progress_mod.new{ enabled = show_progress, now = now, stream = io.stderr }

  local stats0 = core.stats and core.stats() or {}
  local t_start = now()
  local s = {
    succeeded = 0, failed = 0, skipped = 0, skipped_journal = 0, skipped_failed = 0, processed = 0,
    errors = {}, dry_run = dry_run, journal = journal_path, report = opts.report, limit = opts.limit,
  }
  local ctx = {
    pos = 0, started = 0, stopping = false, exhausted = false, iter_busy = false,
    wake = {}, in_flight = {}, printed = 0,
  }
  local would = { items = 0, changes = 0, fields = {} }
  local secrets = secrets_list(host)

  if jn then jn:event("start", { dry_run = dry_run or nil, concurrency = concurrency }) end

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

  -- dry-run edits report their diff here (diff.notify); attributed to the item whose worker is
  -- running, so an item counts once however many edits it makes
  local unobserve = diff.observe(function(changes)
    local state = ctx.in_flight[coroutine.running()]
    if state then state.dry = true end
    prog:finish()   -- the edit prints its diff next: start it on a clean line
    note_changes(changes, state)
  end)

  local function say(text)
    if quiet then return end
    prog:message(text)
  end

  local function print_failure(key, msg, traceback)
    ctx.printed = ctx.printed + 1
    if ctx.printed <= max_printed then
      local text = string.format("fusebill.each: item %s failed: %s", tostring(key), msg)
      if traceback and ctx.printed <= 3 then text = text .. "\n" .. traceback end
      say(journal_mod.redact(text, secrets))
    elseif ctx.printed == max_printed + 1 then
      say("fusebill.each: further failures are not printed (see the summary, report or journal)")
    end
  end

  local function finish_item(key, outcome, msg, extra, traceback)
    if outcome == "ok" then
      s.succeeded = s.succeeded + 1
    elseif outcome == "failed" then
      s.failed = s.failed + 1
      if #s.errors < 100 then
        s.errors[#s.errors + 1] = { key = key, message = journal_mod.redact(msg, secrets),
          traceback = traceback and journal_mod.redact(traceback, secrets) or nil }
      end
      print_failure(key, msg, traceback)
    else
      s.skipped = s.skipped + 1
    end
    s.processed = s.processed + 1
    if jn and not extra.dry then
      jn:record(key, outcome, msg, { attempts = extra.attempts, traceback = traceback })
    end
    if rep then
      rep:row{ key = key, outcome = outcome, attempts = extra.attempts, error = msg and
        journal_mod.redact(msg, secrets) or nil, elapsed = extra.elapsed }
    end
  end

  -- the next item, or nil when there is none (or the run is stopping)
  local function pull()
    while ctx.iter_busy do
      ctx.lock_waiters = ctx.lock_waiters or {}
      ctx.lock_waiters[#ctx.lock_waiters + 1] = coroutine.running()
      coroutine.yield(LOCK)
    end
    if ctx.exhausted or ctx.stopping then return nil end
    if opts.limit and ctx.started >= opts.limit then
      ctx.stopping = true
      if not s.stopped then s.stopped = "limit" end
      return nil
    end
    local ok, item
    if is_iterator then
      ctx.iter_busy = true
      ok, item = pcall(next_raw)
      ctx.iter_busy = false
      for _, co in ipairs(ctx.lock_waiters or {}) do ctx.wake[#ctx.wake + 1] = co end
      ctx.lock_waiters = nil
    else
      ok, item = true, next_raw()
    end
    if not ok then
      ctx.stopping = true
      s.stopped = "items_error"
      s.items_error = journal_mod.redact(message_of(item), secrets)
      say("fusebill.each: reading the items failed: " .. s.items_error)
      return nil
    end
    if item == nil then ctx.exhausted = true; return nil end
    ctx.pos = ctx.pos + 1
    return item, ctx.pos
  end

  local function traceback_handler(e)
    return { value = e, traceback = debug.traceback(message_of(e), 2) }
  end

  local function run_one(item, pos)
    local key = pos
    if opts.key then
      local ok, k = pcall(opts.key, item)
      if not ok then
        -- no key, no journal lookup: the item fails (under its position) rather than risk
        -- being taken for another item
        ctx.started = ctx.started + 1
        finish_item(pos, "failed", "opts.key failed: " .. message_of(k), {}, nil)
        if opts.stop_on_error then ctx.stopping = true; s.stopped = s.stopped or "error" end
        return
      end
      if k ~= nil then key = k end
    elseif type(item) == "table" and item.id ~= nil then
      key = item.id
    end
    -- JSON numbers decode as floats: show and record id 7.0 as 7
    if math.type(key) == "float" then key = math.tointeger(key) or key end
    if jn then
      local st = jn:status(key)
      if st == "ok" or st == "skipped" or (st == "failed" and not opts.retry_failed) then
        s.skipped_journal = s.skipped_journal + 1
        s.skipped = s.skipped + 1
        if st == "failed" then s.skipped_failed = s.skipped_failed + 1 end
        if rep then rep:row{ key = key, outcome = "skipped", error = "done in journal (" .. st .. ")" } end
        return
      end
    end
    ctx.started = ctx.started + 1
    local co = coroutine.running()
    local state = { key = key }
    ctx.in_flight[co] = state
    local t0 = now()
    local r = table.pack(xpcall(fn, traceback_handler, item))
    ctx.in_flight[co] = nil
    local extra = { elapsed = now() - t0, dry = state.dry }
    local outcome, err, traceback
    if not r[1] then
      err, traceback = r[2].value, r[2].traceback
      outcome = "failed"
    elseif r[2] == nil and r[3] ~= nil then
      err, outcome = r[3], "failed"
    elseif r[2] == bulk.SKIP or r[2] == "skipped" then
      outcome = "skipped"
    else
      outcome = "ok"
      local meta = r[3]
      if type(meta) == "table" and math.type(meta.attempts) == "integer" then extra.attempts = meta.attempts end
    end
    if outcome == "failed" then
      local reason = stop_reason(err)
      if reason then
        -- not this item's fault and not done: no record, so a rerun does it
        ctx.stopping = true
        if s.stopped ~= "daily_quota" then s.stopped = reason end
        if reason == "daily_quota" then
          local ok_r, reset_in = pcall(function() return err.reset_in end)
          if ok_r and tonumber(reset_in) then s.reset_in = tonumber(reset_in) end
        end
        s.unfinished = (s.unfinished or 0) + 1
        return
      end
      if is_error(core, err) then
        local ok_a, attempts = pcall(function() return err.attempts end)
        if ok_a and math.type(attempts) == "integer" then extra.attempts = attempts end
      end
      if opts.stop_on_error then
        ctx.stopping = true
        s.stopped = s.stopped or "error"
      end
    end
    finish_item(key, outcome, err ~= nil and message_of(err) or nil, extra, traceback)
  end

  local function worker()
    while not ctx.stopping do
      local item, pos = pull()
      if item == nil then break end
      run_one(item, pos)
    end
  end

  -- the scheduler loop
  local state_for_progress = function()
    -- a callable items table (a list iterator) may learn its total from the first page
    if not total and type(items) == "table" and math.type(items.total) == "integer" then total = items.total end
    return { done = s.processed + s.skipped_journal, total = total and opts.limit and
      math.min(total, opts.limit + s.skipped_journal) or total, processed = s.processed,
      elapsed = now() - t_start, retries = ((core.stats and core.stats().retries) or 0) - (stats0.retries or 0),
      errors = s.failed, skipped = s.skipped, throttled = ((core.stats and core.stats().throttled) or 0) -
      (stats0.throttled or 0) }
  end

  -- the scheduler: N managed workers, resumed when the engine says their wait is over
  local function run_scheduler()
    local workers, waiting, live = {}, {}, 0
    local runnable = {}
    for i = 1, concurrency do
      local co = coroutine.create(worker)
      if core.manage then core.manage(co) end
      workers[co] = i
      runnable[#runnable + 1] = co
      live = live + 1
    end
    local WAIT = core.WAIT
    local n_waiting = 0

    local function step(co)
      while true do
        local ok, v = coroutine.resume(co)
        if not ok then
          ctx.fatal = ctx.fatal or debug.traceback(co, message_of(v))
          ctx.stopping = true
          live = live - 1
          return
        end
        if coroutine.status(co) == "dead" then live = live - 1; return end
        if v == WAIT and WAIT ~= nil then
          waiting[co] = true
          n_waiting = n_waiting + 1
          return
        end
        if v == LOCK then return end
        -- anything else is the user's own coroutine.yield leaking out of fn: resume again
      end
    end

    return pcall(function()
      while live > 0 do
        for i = 1, #runnable do
          local co = runnable[i]
          if coroutine.status(co) == "suspended" then step(co) end
        end
        if live == 0 then break end
        local wake = ctx.wake
        ctx.wake = {}
        if n_waiting == 0 and #wake == 0 then
          error("fusebill.each: scheduler stuck: no worker is waiting for anything (bug)")
        end
        local ready = {}
        if n_waiting > 0 then
          ready = core.wait(#wake > 0 and 0 or 0.1) or {}
        end
        runnable = wake
        for _, co in ipairs(ready) do
          if workers[co] and waiting[co] then
            waiting[co] = nil
            n_waiting = n_waiting - 1
            runnable[#runnable + 1] = co
          end
        end
        if show_progress and prog:due() then prog:update(state_for_progress(), true) end
      end
    end)
  end

  -- each() inside fn of another each(): run inline, one item at a time, in the calling worker;
  -- its waits yield to the outer run's loop (a second loop here would swallow the outer
  -- workers' wake-ups)
  --
  -- Two pcalls, because of Ctrl-C: the engine's wait raises "interrupted", and the host's
  -- SIGINT hook raises "interrupted!" at the next Lua event of the main thread, which can be
  -- the return from the inner pcall. The outer one catches that second error too, so the
  -- journal and report are always closed and the summary printed.
  bulk._active = bulk._active + 1
  local ok_loop, loop_err = pcall(function()
    local ok, err
    if nested then
      ok, err = pcall(worker)
    else
      ok, err = run_scheduler()
    end
    if not ok then error(err, 0) end
  end)
  bulk._active = bulk._active - 1

  unobserve()
  prog:finish()
  if rep then rep:close() end
  local stats1 = core.stats and core.stats() or {}
  s.elapsed = now() - t_start
  s.retries = (stats1.retries or 0) - (stats0.retries or 0)
  s.throttled = (stats1.throttled or 0) - (stats0.throttled or 0)
  s.requests = (stats1.requests or 0) - (stats0.requests or 0)
  s.attempts = (stats1.attempts or 0) - (stats0.attempts or 0)
  s.writes = (stats1.writes or 0) - (stats0.writes or 0)
  s.rate = s.elapsed > 0 and s.processed / s.elapsed or 0
  s.request_rate = s.elapsed > 0 and s.requests / s.elapsed or 0
  if dry_run or would.items > 0 then
    s.dry_run = true
    s.would_change = { items = would.items, changes = would.changes, fields = sorted_fields(would.fields) }
  end
  if s.stopped == "limit" and ctx.exhausted then s.stopped = nil end
  s.ok = s.failed == 0 and (s.stopped == nil or s.stopped == "limit")
  if jn then
    jn:event("end", { succeeded = s.succeeded, failed = s.failed, skipped = s.skipped, stopped = s.stopped })
    jn:close()
  end
  if not ok_loop then
    -- Ctrl-C: core.wait raises "interrupted". The journal is closed with every finished item
    -- in it (the items in flight are redone by a rerun); say how far the run got, then let the
    -- interruption go on up so the script stops.
    if tostring(loop_err):find("interrupted", 1, true) and not quiet then
      s.stopped = "interrupted"
      io.stderr:write(report_mod.summary_text(s), "\n")
      io.stderr:flush()
    end
    error(loop_err, 0)
  end
  if ctx.fatal then error("fusebill.each: internal error: " .. ctx.fatal, 0) end
  if not quiet then
    io.stderr:write(report_mod.summary_text(s), "\n")
    io.stderr:flush()
  end
  -- Ctrl-C inside an item: the run stopped cleanly; now let the interruption stop the script
  if s.stopped == "interrupted" then error("interrupted", 0) end
  return s
end

return bulk
