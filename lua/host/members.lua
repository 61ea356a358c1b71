-- What a value answers to (module "host.members"): its fields and its methods, found
-- through metatables, for the REPL's completion (host.repl) and its printer (host.pretty).
local members = {}

local function add_keys(t, into, methods_only, probe)
  for k, x in next, t do
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and not k:match("^__") then
      if probe then  -- a key seen through an __index function: does v[k] really answer?
        local ok, y = pcall(probe, k)
        x = ok and y or nil
      end
      local mt = getmetatable(x)
      if x ~= nil and (not methods_only or type(x) == "function" or (type(mt) == "table" and mt.__call)) then
        into[k] = type(x)
      end
    end
  end
end

--- Adds the string keys of v, then of its metatables' __index tables (how method
-- calls find fb.customers:edit), up to a few levels. An __index function cannot be
-- listed, so the tables it closes over are offered instead, each key checked by
-- really indexing v.
function members.collect(v, into, methods_only)
  local seen = {}
  local probe = function(k) return v[k] end
  local cur = v
  for _ = 1, 8 do
    if type(cur) == "table" and not seen[cur] then
      seen[cur] = true
      add_keys(cur, into, methods_only, cur ~= v and probe or nil)
    end
    local mt = (type(cur) == "string") and getmetatable("") or getmetatable(cur)
    if type(mt) ~= "table" then break end
    local index = rawget(mt, "__index")
    if type(index) == "function" then
      for i = 1, 16 do
        local name, up = debug.getupvalue(index, i)
        if not name then break end
        if type(up) == "table" and not seen[up] then
          seen[up] = true
          add_keys(up, into, methods_only, probe)
        end
      end
      break
    end
    if type(index) ~= "table" then break end
    cur = index
  end
end

--- The sorted names of v's methods (its functions, own or found through its
-- metatables, private "_" names left out), or an empty list.
function members.methods(v)
  local found = {}
  members.collect(v, found, true)
  local list = {}
  for name in pairs(found) do
    if name:sub(1, 1) ~= "_" then list[#list + 1] = name end
  end
  table.sort(list)
  return list
end

return members
