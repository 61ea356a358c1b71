-- The request log: what happened to every API request (never its headers, so never
-- the key). Kept in memory (the newest MAX entries) and optionally appended to a file
-- as JSON lines. Entry: {seq, time, method, path, query, status, fault, applied}
-- query: the query string as sent (still escaped), absent when there was none.
-- status 0 = no HTTP response was sent (reset, empty reply, hang);
-- applied = true/false for writes (POST/PUT/DELETE), absent for reads.
-- add() takes `time` as epoch seconds; it becomes ISO-8601 text (util.timestamp_ms) when
-- the entry is first read or written to the file: most entries are never read.
local util = require "sandbox.util"

local M = {}
local MAX = 100000

local function formatted(e)
  if type(e.time) == "number" then e.time = util.timestamp_ms(e.time) end
  return e
end

function M.new(path)
  local log = { entries = {}, first = 1, seq = 0 }
  if path then
    log.file = assert(io.open(path, "a"))
    log.file:setvbuf("line")
  end
  return log
end

function M.add(log, e)
  log.seq = log.seq + 1
  e.seq = log.seq
  log.entries[log.seq] = e
  if log.seq - log.first >= MAX then
    log.entries[log.first] = nil
    log.first = log.first + 1
  end
  if log.file then log.file:write(util.encode(formatted(e)), "\n") end
end

function M.since(log, n)
  local out = {}
  for i = math.max(n + 1, log.first), log.seq do
    local e = log.entries[i]
    if e then out[#out + 1] = formatted(e) end
  end
  return out
end

function M.clear(log)
  log.entries, log.first = {}, log.seq + 1
end

return M
