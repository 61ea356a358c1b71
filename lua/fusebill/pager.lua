-- An iterator over the items of numbered chunks (a list's pages, get_many's chunks of ids)
-- that fetches the next chunks while the current one is being worked, so a bulk run fed by
-- a list never waits for a page.
--
--   pager.new(fetch[, ahead]) -> it      a callable table: it() -> the next item, nil at the end
--     fetch(i, it) -> items, last | nil, err
--         chunk i (1, 2, ...): its items (a list), and the number of the last chunk as far as
--         it is known (a list learns it from its first page); a failure raises from it().
--     ahead: chunks fetched ahead of the one being worked (default 1)
--   it.total     set by fetch when it learns how many items there are (the progress line)
--   it.lists, it.reads   requests the fetches sent, counted by fetch (the bulk report)
--
-- Each fetch runs in a task (core.spawn): the engine's loop resumes it whenever its request
-- is answered, whoever is driving the loop at that moment. In a plain `for` loop that is the
-- loop body's own blocking calls; inside fusebill.each, the run's core.wait. When the items
-- of chunk i run out, it() joins chunk i+1's task: at once if it has finished, else it
-- blocks (or, in a managed coroutine, yields) until it does. Chunk i+1 is asked for as soon
-- as chunk i arrives, so a `break` leaves at most `ahead` chunks fetched for nothing.
local core = require "fusebill.core"

local pager = {}

local Pager = {}
Pager.__index = Pager

-- The chunks after `chunk` up to `ahead` of it (and not past the last), each in its task.
local function prefetch(self, chunk)
  for i = chunk + 1, chunk + self.ahead do
    if self.last and i > self.last then break end
    if not self.tasks[i] then self.tasks[i] = core.spawn(self.fetch, i, self) end
  end
end

-- Moves on to the next chunk: its items, or nil when there is none. Raises a failed fetch's
-- error (an error object, as a list page's failure always has).
local function next_chunk(self)
  while not self.finished do
    local i = self.chunk + 1
    local task = self.tasks[i] or core.spawn(self.fetch, i, self)
    self.tasks[i] = nil
    local ok, items, last = task:join()
    if not ok then error(items, 0) end
    if items == nil then error(last, 0) end
    self.chunk, self.last = i, last
    self.finished = last == nil or i >= last
    if not self.finished then prefetch(self, i) end
    if #items > 0 then
      self.items, self.i = items, 0
      return true
    end
  end
  return false
end

function Pager:__call()
  local i = self.i + 1
  local items = self.items
  if i > #items then
    if not next_chunk(self) then return nil end
    i, items = 1, self.items
  end
  self.i = i
  return items[i]
end

function pager.new(fetch, ahead)
  return setmetatable({ fetch = fetch, ahead = ahead or 1, tasks = {}, chunk = 0, items = {}, i = 0,
                        finished = false, lists = 0, reads = 0 }, Pager)
end

return pager
