-- A list of observers, as fusebill.diff, fusebill.cost and fusebill.writes keep one: a bulk
-- run adds its own for the length of the run and removes it at the end.
--
--   local list, observe = observers.new("diff.observe")
--   observe(fn) -> a function that removes fn   (raises, naming `name`, when fn is not a function)
--   list: the observers, oldest first (a plain array, read by the module that notifies)
local observers = {}

function observers.new(name)
  local list = {}
  local function observe(fn)
    if type(fn) ~= "function" then error(name .. ": function expected", 2) end
    list[#list + 1] = fn
    return function()
      for i = #list, 1, -1 do
        if list[i] == fn then table.remove(list, i) end
      end
    end
  end
  return list, observe
end

return observers
