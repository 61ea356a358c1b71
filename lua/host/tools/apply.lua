-- fusebill -m apply PLAN: sends exactly the writes of a plan made by `fusebill --plan PLAN
-- script.lua` (see fusebill.plan), and nothing else: no script runs. Each line's record is read
-- first; one that no longer matches the plan's before-state (on the fields a PUT writes, see
-- fusebill.writable) is refused and named, and the exit status is 3. Apply is a journaled bulk
-- run (PLAN.journal unless --journal), so it resumes after a crash and `fusebill -m undo` can
-- take it back.
local tools = require "host.tools"

local apply = {
  description = "send the writes of a plan (fusebill --plan FILE script.lua), refusing records changed since",
}

local HELP_EPILOG = [[
Each line of the plan is one write: the record as it was when the plan was made ("before")
and the body to send. A record whose writable fields no longer match "before" was changed by
someone else since: it is left alone and named, and the exit status is 3. A record that already
holds what the line would write (a run killed after sending it) is taken as done.
The journal makes apply resumable (rerun the same command) and undoable:
  fusebill -m undo PLAN.journal
Exit status: 0 all written, 3 some refused or failed, 4 authentication, 5 daily quota.]]

local function parse_args(args)
  local p, parse = tools.parser("apply", "Send exactly the writes of a plan made with --plan.", HELP_EPILOG)
  p:argument("plan", "the plan file (JSON Lines, one write per line)"):argname("PLAN")
  tools.bulk_options(p, "line of the plan", "PLAN.journal")
  return parse(args)
end

-- the item for one line: what the summary and report name it by, read from the line's head
local function item_of(entry)
  local resource, id = entry.text:match('^{"resource":"([%w_]+)","id":(%d+)')
  entry.resource, entry.id, entry.line = resource, math.tointeger(tonumber(id)), entry.n
  entry.key = string.format("%s %s (line %d)", resource or "?", id or "?", entry.n)
  return entry
end

-- One line: read the record, then write, take as done, or refuse.
local function apply_line(fb, lock, entry)
  local plan, writable = require "fusebill.plan", require "fusebill.writable"
  local w, perr = plan.parse(entry)
  if not w then return nil, perr end
  local _ <close> = lock(w.resource .. "/" .. w.id)
  local r = fb[w.resource]
  local current, err = r:get(w.id)
  if current == nil then return nil, err end
  if writable.same(r.schema, current, w.before) then return r:edit(w.body, current) end
  if writable.same(r.schema, current, require("fusebill.update").would_be(r.schema, w.before, w.body)) then
    require("fusebill.writes").recovered(r, w.id, w.before, w.body, current, w.body)
    return current
  end
  local _, fields = writable.same(r.schema, current, w.before)
  return nil, string.format("%s %d changed since the plan was made (%s): not written", w.resource, w.id,
    table.concat(fields, ", "))
end

function apply.main(args)
  local o, status = parse_args(args)
  if not o then return status end
  local fusebill = require "fusebill"   -- first: it builds fusebill.core, which the rest needs
  local plan = require "fusebill.plan"
  local journal, jstatus = tools.journal_for("apply", o.plan, "plan", o.own_journal, ".journal")
  if not journal then return jstatus end
  local fb, lock = fusebill.client(), tools.record_lock()
  local entries = plan.entries(o.plan)
  local s = fusebill.each(function()
    local e = entries()
    return e and item_of(e)
  end, tools.each_options(o, journal, plan.count(o.plan)), function(e) return apply_line(fb, lock, e) end)
  return tools.status(s)
end

return apply
