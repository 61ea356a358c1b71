-- fusebill -m undo JOURNAL: puts back the record each write of a journaled run replaced (its
-- before-state, as fusebill.writable's PUT body: what the server computes is never written),
-- newest write first, through the same bulk runner as any run (pacing, retries, progress,
-- summary). A record that no longer holds what the journal says the write left (someone
-- changed it since) is left alone and named, and the exit status is 3; --force puts it back
-- anyway. Undo is journaled itself (JOURNAL.undo unless --journal): it resumes after a crash,
-- and undoing the undo puts the run's writes back.
local tools = require "host.tools"

local undo = {
  description = "put back the records a journaled run changed, newest first, leaving those changed since",
}

local HELP_EPILOG = [[
Every write in the journal is undone, newest first: a record written several times goes back
step by step to what it was before the first write. A record whose writable fields no longer
hold what the write left was changed by someone else since: it is left alone and named (exit
status 3), unless --force. Fields the server computes (uri, timestamps, recurring revenue, a
code's or item's status) are never written back.
Undo is journaled too: rerun the same command to finish an interrupted undo, and
  fusebill -m undo JOURNAL.undo
puts the run's writes back.
Exit status: 0 all put back, 3 some left alone or failed, 4 authentication, 5 daily quota.]]

local function parse_args(args)
  local p, parse = tools.parser("undo", "Put back every record a journaled run changed.", HELP_EPILOG)
  p:argument("journal", "the journal of the run to undo"):argname("JOURNAL")
  p:flag("--force", "put records back even if someone changed them since")
  tools.bulk_options(p, "write undone", "JOURNAL.undo")
  return parse(args)
end

-- The journal's write lines, newest first, as items { text, line, resource, id, key }.
local function newest_first(path)
  local journal = require "fusebill.journal"
  local offsets, _, lines = journal.write_offsets(path)
  local f = assert(io.open(path, "rb"))
  local i = #offsets + 1
  return function()
    i = i - 1
    if i < 1 then f:close(); return nil end
    local _, text = journal.read_at(f, offsets[i])
    local resource, id = text:match('"resource":"([%w_]+)","id":(%d+)')
    return { text = text, line = lines[i], resource = resource, id = math.tointeger(tonumber(id)),
      key = string.format("%s %s (line %d)", resource or "?", id or "?", lines[i]) }
  end, #offsets
end

local function undo_write(fb, lock, force, item)
  local writable, update = require "fusebill.writable", require "fusebill.update"
  local rec = require("fusebill.core").decode(item.text)
  if type(rec) ~= "table" or not fb[rec.resource] or not math.tointeger(rec.id) then
    return nil, "journal line " .. item.line .. " is not a write of a known resource"
  end
  local id = math.tointeger(rec.id)
  if type(rec.before) ~= "table" then
    return nil, string.format("%s %d cannot be undone: the journal has no before-state", rec.resource, id)
  end
  local _ <close> = lock(rec.resource .. "/" .. id)
  local r = fb[rec.resource]
  local current, err = r:get(id)
  if current == nil then return nil, err end
  local target = writable.body(r.schema, rec.before)
  target.id = id
  if writable.same(r.schema, current, rec.before) then
    -- already as before: nothing to send (a write that failed, or an undo killed after it
    -- sent this one); the undo's journal still gets it, so undoing the undo redoes it
    if rec.ok then require("fusebill.writes").recovered(r, id, rec.after, target, current, target) end
    return current
  end
  local left = type(rec.after) == "table" and rec.after or update.would_be(r.schema, rec.before, rec.body or {})
  local same, fields = writable.same(r.schema, current, left)
  if not same and not force then
    return nil, string.format("%s %d changed since the run (%s): left alone (--force puts it back anyway)",
      rec.resource, id, table.concat(fields, ", "))
  end
  return r:edit(target, current)
end

function undo.main(args)
  local o, status = parse_args(args)
  if not o then return status end
  local fusebill = require "fusebill"
  local own, jstatus = tools.journal_for("undo", o.journal, "journal", o.own_journal, ".undo")
  if not own then return jstatus end
  local fb, lock = fusebill.client(), tools.record_lock()
  local items, total = newest_first(o.journal)
  local s = fusebill.each(items, tools.each_options(o, own, total),
    function(item) return undo_write(fb, lock, o.force, item) end)
  return tools.status(s)
end

return undo
