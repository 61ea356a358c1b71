-- One item of a bulk run, inside a worker: its key, the journal lookup, and fn(item) under
-- xpcall (a Lua error is kept with its traceback and the run goes on). What came of it is
-- fusebill.bulk.outcome's to classify and record.
--
-- With a journal, an item is skipped without calling fn when its last record is ok, unchanged
-- or skipped (or failed, with skip_failed) and was made from the same input (fusebill.bulk.journaling).
-- Otherwise fn runs; if every write it makes turns out to be made already (the journal has
-- that change for that record), nothing is sent and the item counts as done in the journal.
--
-- The run table these functions take is built by fusebill.bulk (see there).
local outcome = require "fusebill.bulk.outcome"
local journaling = require "fusebill.bulk.journaling"

local item_runner = {}

local function is_error(core, v)
  if core.is_error then return core.is_error(v) end
  return type(v) == "table" and v.kind ~= nil
end

local function traceback_handler(e)
  return { value = e, traceback = debug.traceback(outcome.message_of(e), 2) }
end

-- pos: the item's position in the sequence (its key when it has no other); pulled: the
-- requests the items iterator sent to produce it ({ lists =, reads = }, see scheduler.pull)
function item_runner.run(run, item, pos, pulled)
  local opts = run.opts
  local key = pos
  if opts.key then
    local ok, k = pcall(opts.key, item)
    if not ok then
      -- no key, no journal lookup: the item fails (under its position) rather than risk
      -- being taken for another item
      run.started = run.started + 1
      outcome.record(run, pos, "failed", "opts.key failed: " .. outcome.message_of(k), { item = item }, nil)
      if opts.stop_on_error then outcome.stop(run, "error") end
      return
    end
    if k ~= nil then key = k end
  elseif type(item) == "table" and item.id ~= nil then
    key = item.id
  end
  -- a whole float (7.0, from the script's own arithmetic) is shown and recorded as 7
  if math.type(key) == "float" then key = math.tointeger(key) or key end
  local input
  if run.journal then
    input = journaling.input(run, item)
    local st, same = run.journal:status(key, input)
    if same and (st == "ok" or st == "unchanged" or st == "skipped" or (st == "failed" and run.skip_failed)) then
      outcome.journal_skipped(run, key, st, item)
      return
    end
  end
  run.started = run.started + 1
  -- an id get_many could not read (not found, not an id): failed as update(id) would, no fn
  if is_error(run.core, item) then
    outcome.settle(run, key, { true, nil, item, n = 3 }, { elapsed = 0, input = input, item = item,
      lists = pulled and pulled.lists, reads = pulled and pulled.reads })
    return
  end
  local co = coroutine.running()
  -- what the dry-run diff watcher, the journal's write watcher and the cost watcher learn
  -- about this item (see outcome.watch_diffs, journaling.watch, outcome.watch_costs): dry,
  -- writes found made (hits) and sent, requests by kind, edits found unchanged
  local state = { key = key, hits = 0, sent = 0, reads = pulled and pulled.reads or 0, writes = 0, unchanged = 0 }
  run.in_flight[co] = state
  local t0 = run.now()
  local meta0 = run.core.last_meta(co)
  local r = table.pack(xpcall(run.fn, traceback_handler, item))
  run.in_flight[co] = nil
  -- the attempts of the item's last call: what this worker's last_meta became meanwhile
  local meta = run.core.last_meta(co)
  outcome.settle(run, key, r, { elapsed = run.now() - t0, dry = state.dry,
    attempts = meta ~= meta0 and meta.attempts or nil, input = input, item = item,
    done_before = state.hits > 0 and state.sent == 0,
    lists = pulled and pulled.lists, reads = state.reads, writes = state.writes,
    unchanged = state.unchanged > 0 and state.writes == 0 and not state.dry })
end

return item_runner
