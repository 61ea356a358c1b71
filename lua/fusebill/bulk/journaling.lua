-- What a journaled run does with its items' writes (see fusebill.writes and fusebill.journal):
-- each PUT an item makes is recorded with the record as it was before (read first when the
-- script did not read it), the body sent and the server's answer; and a rerun that reaches a
-- change the journal says this item already made returns the record as written instead of
-- sending it again (update asks before it even reads).
--
-- An item's input digest: what its journal line is matched against on a rerun. By default the
-- item itself plus the script (its file and arguments), so a rerun with other input or another
-- script runs the item again; its writes are then skipped or sent one by one by change.
--
-- The run table these functions take is built by fusebill.bulk (see there).
local writes = require "fusebill.writes"
local canon = require "fusebill.canon"

local journaling = {}

-- The script this each() runs in, as a digest: its file (arg[0]) and its arguments. "" in
-- the REPL or an embedding host, where there is no script.
function journaling.context()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" then return "" end
  local args, source = {}, ""
  for i = 1, #a do args[i] = tostring(a[i]) end
  if type(a[0]) == "string" and a[0] ~= "-" then
    local f = io.open(a[0], "rb")
    if f then source = f:read("a") or ""; f:close() end
  end
  return canon.digest({ args, string.format("%016x", canon.hash(source)) })
end

function journaling.input(run, item)
  local input = run.opts.input
  if input then return canon.digest(input(item)) end
  return canon.digest({ run.context, item })
end

-- the digest of an intent, computed once when update asks done() and then put()s
local function change_of(state, intent)
  if state.intent ~= intent then state.intent, state.change = intent, canon.digest(intent) end
  return state.change
end

local function fail_journal(err)
  -- not the item's fault: outcome.settle sees run.journal.broken and stops the run
  error(err, 0)
end

local function handler_for(run)
  local jn = run.journal
  local h = {}

  function h.done(r, id, intent)
    local state = run.in_flight[coroutine.running()]
    id = math.tointeger(tonumber(id)) or id
    local after = jn:write_done(state.key, r.name, id, change_of(state, intent))
    if after ~= nil then state.hits = state.hits + 1 end
    return after
  end

  function h.put(r, id, before, body, json, intent)
    local state = run.in_flight[coroutine.running()]
    local after = h.done(r, id, intent)
    if after ~= nil then return after end
    id = math.tointeger(tonumber(id)) or id
    local err
    before, err = writes.before(r, id, before)
    if before == nil then return nil, err end
    local res = table.pack(writes.send(r, json))
    state.sent = state.sent + 1
    local v = res[1]
    local ok, jerr = jn:record_write(state.key, { resource = r.name, id = id, change = state.change, ok = v ~= nil,
      before = before, body = body, after = v, error = v == nil and tostring(res[2]) or nil })
    if not ok then fail_journal(jerr) end
    return table.unpack(res, 1, res.n)
  end

  -- a write made by a run killed before its line: recorded once (a run killed after the write
  -- line but before the item's own line has it already)
  function h.recovered(r, id, before, body, after, intent)
    if h.done(r, id, intent) ~= nil then return end
    local state = run.in_flight[coroutine.running()]
    state.sent = state.sent + 1
    local ok, jerr = jn:record_write(state.key, { resource = r.name, id = math.tointeger(tonumber(id)) or id,
      change = change_of(state, intent), ok = true, recovered = true, before = before, body = body, after = after })
    if not ok then fail_journal(jerr) end
  end

  return h
end

-- Starts watching the run's writes; returns the function that stops.
function journaling.watch(run)
  local h = handler_for(run)
  return writes.observe(function(co)
    if run.in_flight[co] then return h end
    return nil
  end)
end

return journaling
