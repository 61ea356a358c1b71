-- How a bulk run's items get run: N worker coroutines handed to the engine with core.manage(),
-- and the loop that resumes them. Inside a worker every client:request and core.sleep yields
-- the single value core.WAIT while curl (or a pacing/backoff timer) works, instead of
-- blocking; the loop resumes the runnable workers, then calls core.wait(timeout), which drives
-- every transfer and timer and returns the workers whose wait is over. Pacing, 429s and
-- retries all happen inside request, so nothing here sleeps or paces on its own.
--
-- Only one worker advances the items iterator at a time: an iterator such as customers:list
-- may itself make HTTP calls (and so yield); the others wait for it on a private lock, woken
-- by this loop rather than by the engine.
--
-- The run table these functions take is built by fusebill.bulk (see there).
local item_runner = require "fusebill.bulk.item"
local outcome = require "fusebill.bulk.outcome"

local scheduler = {}

-- Our own yield value: a worker waiting for the items iterator lock. Never seen by the engine.
local LOCK = setmetatable({}, { __name = "fusebill.bulk.lock" })

-- Items: a list (array table) or an iterator function returning one item per call, nil at the end.
-- A callable table counts as an iterator; if it has an integer `total` field (a paged list that
-- read X-MaxCount from its first page), the progress line uses it.
-- Returns next_item, total (a list's length, else nil), is_iterator. Raises at level 3: called
-- straight from each(), so the message points at the script's call.
function scheduler.source(items)
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

-- What the items iterator has sent so far, when it says (a list, get_many: fusebill.pager).
local function items_requests(run)
  local it = run.items
  if type(it) ~= "table" or math.type(it.lists) ~= "integer" then return nil end
  return it.lists, it.reads or 0
end

-- the next item, its position and the requests the iterator sent to produce it ({ lists =,
-- reads = }, or nil), or nil when there is none (or the run is stopping)
local function pull(run)
  while run.iter_busy do
    run.lock_waiters = run.lock_waiters or {}
    run.lock_waiters[#run.lock_waiters + 1] = coroutine.running()
    coroutine.yield(LOCK)
  end
  if run.exhausted or run.stopping then return nil end
  local limit = run.opts.limit
  if limit and run.started >= limit then
    outcome.stop(run, "limit")
    return nil
  end
  local ok, item, pulled
  if run.is_iterator then
    run.iter_busy = true
    local lists0, reads0 = items_requests(run)
    ok, item = pcall(run.next_item)
    if lists0 then
      local lists1, reads1 = items_requests(run)
      pulled = { lists = lists1 - lists0, reads = reads1 - reads0 }
    end
    run.iter_busy = false
    for _, co in ipairs(run.lock_waiters or {}) do run.wake[#run.wake + 1] = co end
    run.lock_waiters = nil
  else
    ok, item = true, run.next_item()
  end
  if not ok then
    outcome.items_failed(run, item)
    return nil
  end
  if item == nil then run.exhausted = true; return nil end
  run.pos = run.pos + 1
  return item, run.pos, pulled
end

-- A worker's body, bound to its run: the coroutine's own function, so a traceback from fn
-- ends at it rather than at a wrapper's tail call.
local function worker_for(run)
  return function()
    while not run.stopping do
      local item, pos, pulled = pull(run)
      if item == nil then break end
      item_runner.run(run, item, pos, pulled)
    end
  end
end

-- the numbers the progress line shows (see fusebill.progress.render)
local function progress_state(run)
  local core, s, limit, stats0 = run.core, run.summary, run.opts.limit, run.stats0
  -- a callable items table (a list iterator) may learn its total from the first page
  if not run.total and type(run.items) == "table" and math.type(run.items.total) == "integer" then
    run.total = run.items.total
  end
  local total = run.total
  return {
    done = s.processed + s.skipped_journal,
    total = total and limit and math.min(total, limit + s.skipped_journal) or total,
    processed = s.processed,
    elapsed = run.now() - run.t_start,
    retries = ((core.stats and core.stats().retries) or 0) - (stats0.retries or 0),
    errors = s.failed, skipped = s.skipped,
    throttled = ((core.stats and core.stats().throttled) or 0) - (stats0.throttled or 0),
  }
end

-- The top-level run: run.concurrency managed workers, resumed when the engine says their wait
-- is over. Returns pcall's results (false, err when the loop itself raised, e.g. on Ctrl-C).
function scheduler.run_workers(run)
  local core = run.core
  local workers, waiting, live = {}, {}, 0
  local runnable = {}
  for i = 1, run.concurrency do
    local co = coroutine.create(worker_for(run))
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
        run.fatal = run.fatal or debug.traceback(co, outcome.message_of(v))
        run.stopping = true
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
      local wake = run.wake
      run.wake = {}
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
      if run.show_progress and run.progress:due() then run.progress:update(progress_state(run), true) end
    end
  end)
end

-- each() inside fn of another each(): one worker, inline in the calling worker's coroutine; its
-- waits yield to the outer run's loop (a second loop here would swallow the outer workers'
-- wake-ups). Returns pcall's results.
function scheduler.run_inline(run)
  return pcall(worker_for(run))
end

return scheduler
