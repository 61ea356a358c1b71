-- Every write the resources make passes through here (edit and update call writes.put instead
-- of sending their PUT themselves), so whatever watches a run sees each one:
--   a journaled fusebill.each records every write (the record before, the body, the server's
--   answer) and does not make again a change its journal says is made (fusebill.bulk.journaling);
--   `fusebill --plan FILE` sends no write at all and writes each one to FILE (fusebill.plan).
-- With nobody watching, put is the PUT and nothing more.
--
--   writes.put(r, id, before, body, json, intent) -> what the PUT returns
--       r: the resource (fusebill.resources); before: the record as read, nil when the caller
--       did not read it (a plain edit); body: the table sent, json: its encoding; intent: what
--       the caller asked for (update's changes, edit's body), by which a journal names the change
--   writes.done(r, id, intent) -> the record as written, when a journaled rerun finds that this
--       item already made this change (update asks before it reads)
--   writes.recovered(r, id, before, body, after, intent): a write found made, by a run killed
--       before it could say so (apply and undo, see host/tools)
--   writes.send(r, json) -> what the PUT returns: the request itself, counted by fusebill.cost;
--       put sends through it, and so do handlers that send
--   writes.observe(watch) -> a function that stops watching
--       watch(co) -> the handler for writes made in coroutine co, or nil (not mine). A handler
--       is a table of functions put, and optionally done and recovered, taking the arguments
--       above. The last watcher to start is asked first (an each() inside another's item).
local cost = require "fusebill.cost"

local writes = {}

local watchers
watchers, writes.observe = require("fusebill.observers").new("writes.observe")

local function handler()
  local co = coroutine.running()
  for i = #watchers, 1, -1 do
    local h = watchers[i](co)
    if h then return h end
  end
  return nil
end

-- For handlers: the record before the write, as given, or read now (a plain edit).
function writes.before(r, id, before)
  if before ~= nil then return before end
  return r:get(id)
end

function writes.send(r, json)
  cost.note("write")
  return r.client:request("PUT", r.put_path, json)
end

function writes.put(r, id, before, body, json, intent)
  local h = watchers[1] and handler()
  if h then return h.put(r, id, before, body, json, intent) end
  return writes.send(r, json)
end

function writes.done(r, id, intent)
  local h = watchers[1] and handler()
  if h and h.done then return h.done(r, id, intent) end
  return nil
end

function writes.recovered(r, id, before, body, after, intent)
  local h = watchers[1] and handler()
  if h and h.recovered then h.recovered(r, id, before, body, after, intent) end
end

-- `fusebill --plan FILE`: the host's option turns every write of this process into a line of
-- the plan (the plan starts empty, so a script that writes nothing leaves an empty plan).
-- fusebill.core is there whenever resources are (a bulk run on a test's fake engine has none).
local core = package.loaded["fusebill.core"]
local host = core and core.host_options and core.host_options()
if type(host) == "table" and type(host.plan) == "string" then
  writes.observe(require("fusebill.plan").watcher(host.plan))
end

return writes
