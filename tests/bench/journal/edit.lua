-- A phase of the journal benchmark: one edit per code in ITEMS (JSON Lines of codes as they
-- are, from the sandbox's state), naming it TAG .. id; the current state comes with the item,
-- so each edit is one PUT. Prints when the first item was taken (after the journal is read)
-- and the summary's counts.
local fusebill = require "fusebill"
local core = require "fusebill.core"
local items_path, tag = arg[1], arg[2]
local fb = fusebill.client()
local t0 = core.now()
local first
local lines = io.lines(items_path)
local s = fusebill.each(function()
  first = first or core.now()
  local line = lines()
  return line and core.decode(line)
end, { quiet = true, concurrency = 16 }, function(c)
  return fb.sales_tracking_codes:edit({ id = c.id, code = c.code, name = tag .. " " .. c.id }, c)
end)
io.stderr:write(string.format("BENCH-EDIT first=%.3f elapsed=%.3f ok=%d failed=%d done=%d\n",
  (first or core.now()) - t0, core.now() - t0, s.succeeded, s.failed, s.skipped_journal))
