-- What a call costs, told to whoever is counting. fusebill.each counts, for each item, the
-- reads and writes its fn sends and the edits that sent nothing because nothing would
-- change, so that an item that wrote nothing and found its record already as asked is
-- "unchanged", and the report can say what each item cost. (The run's totals come from the
-- engine's own counters, core.stats.)
--
--   cost.note(kind)       kind: "read" (a GET of one record), "write" (a PUT sent),
--                         "unchanged" (an update or edit that sent no PUT: nothing to change)
--   cost.observe(fn) -> a function that stops fn; fn(kind) runs in the coroutine that made
--                       the call, so a bulk run finds the item by its worker
local cost = {}

local observers
observers, cost.observe = require("fusebill.observers").new("cost.observe")

function cost.note(kind)
  for i = 1, #observers do observers[i](kind) end
end

return cost
