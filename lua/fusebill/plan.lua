-- A plan: the writes `fusebill --plan FILE script.lua` found the script would make, one per
-- line, sending none, for `fusebill -m apply FILE` to send once someone has read them.
--
--   {"resource":"customers","id":7,"changes":{"firstName":["Ada","ADA"]},"before":{...},"body":{...}}
--
-- before: the record as read when the plan was made (apply refuses a record that no longer
-- matches it); body: exactly what apply will PUT; changes: field -> [now, after the write],
-- the diff a dry run prints, for the reader (apply ignores it). resource, id and changes come
-- first so a line reads as a sentence and `sort` groups a plan by record; inside the objects
-- the keys are sorted and "/" is not escaped (fusebill.canon), so two plans of one script
-- compare line by line with diff. Lines come in the order the run made the writes.
--
--   plan.watcher(path) -> the fusebill.writes watcher that writes the plan (truncates path)
--   plan.entries(path) -> iterator over { n = line number, text = line }, streamed
--   plan.count(path)   -> number of lines
--   plan.parse(entry)  -> { resource, id, before, body } | nil, message naming the line
local plan = {}

local canon = require "fusebill.canon"
local schemas = require "fusebill.schema"
local update = require "fusebill.update"
local diff = require "fusebill.diff"
local null = require("cjson").null

local function or_null(v)
  if v == nil then return null end
  return v
end

-- the line for one write (without its newline)
function plan.line(resource, id, before, body, changes)
  local pairs_ = {}
  for _, c in ipairs(changes or {}) do pairs_[c.field] = { or_null(c.before), or_null(c.after) } end
  return '{"resource":' .. canon.quote(resource) .. ',"id":' .. string.format("%d", id) ..
    ',"changes":' .. (next(pairs_) and canon.encode(pairs_) or "{}") ..
    ',"before":' .. canon.encode(before) .. ',"body":' .. canon.encode(body) .. "}"
end

function plan.watcher(path)
  local f, err = io.open(path, "wb")
  if not f then error("--plan: cannot write " .. path .. ": " .. tostring(err), 0) end
  f:setvbuf("full", 1 << 16)
  local handler = {}
  function handler.put(r, id, before, body)
    id = math.tointeger(tonumber(id)) or id
    local gerr
    before, gerr = require("fusebill.writes").before(r, id, before)
    if before == nil then return nil, gerr end
    local after = update.would_be(r.schema, before, body)
    local changes = diff.compute(before, after)
    diff.notify(changes, "plan: " .. r.name .. " " .. tostring(id),
      { resource = r.name, id = id, before = before, after = after, body = body })
    local ok, werr = f:write(plan.line(r.name, id, before, body, changes), "\n")
    if ok then ok, werr = f:flush() end
    if not ok then error("--plan: cannot write " .. path .. ": " .. tostring(werr), 0) end
    return after
  end
  return function() return handler end
end

function plan.entries(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot read plan " .. path .. ": " .. tostring(err), 0) end
  local n = 0
  return function()
    while true do
      local line = f:read("l")
      if not line then f:close(); return nil end
      n = n + 1
      if line:find("%S") then return { n = n, text = line } end
    end
  end
end

function plan.count(path)
  local n = 0
  for _ in plan.entries(path) do n = n + 1 end
  return n
end

local function decode(s)
  local core = package.loaded["fusebill.core"]
  if core and core.decode then return core.decode(s) end
  return require("cjson.safe").decode(s)
end

function plan.parse(entry)
  local where = "plan line " .. entry.n
  local w = decode(entry.text)
  if type(w) ~= "table" then return nil, where .. " is not a JSON object" end
  if type(w.resource) ~= "string" or not schemas[w.resource] or type(schemas[w.resource]) ~= "table"
      or not schemas[w.resource].fields then
    return nil, where .. ": resource must be one of " .. table.concat(schemas.names, ", ") ..
      ", got " .. tostring(w.resource)
  end
  local id = math.tointeger(w.id)
  if not id or id < 1 then return nil, where .. ": id must be a positive integer, got " .. tostring(w.id) end
  if type(w.before) ~= "table" then return nil, where .. ": before must be an object" end
  if type(w.body) ~= "table" then return nil, where .. ": body must be an object" end
  if math.tointeger(w.body.id) ~= id then
    return nil, where .. ": body.id must be the line's id " .. id .. ", got " .. tostring(w.body.id)
  end
  return { resource = w.resource, id = id, before = w.before, body = w.body }
end

return plan
