-- The bulk-run journal: one JSON line per finished item, appended as each item finishes, so a
-- rerun after a crash knows what is done.
--
--   local j = assert(journal.open("run.journal", { secrets = { api_key }, scope = "1" }))
--   j:status(key)                  -> "ok" | "failed" | "skipped" | nil  (last record wins)
--   j:record(key, outcome, message, extra)
--   j:close()
--
-- Record: {"key":7,"outcome":"ok","ts":"2026-01-02T03:04:05Z", "error":"...", ...extra}
-- Other lines (run start/end markers) carry "event" instead of "key" and are ignored on load.
-- Scope: a script that calls fusebill.each twice with one journal (phase 1 sets one field on
-- customers, phase 2 another) must not have phase 2 skip items because phase 1 finished the
-- same keys. Each call gets its own scope ("1", "2", ... in call order, or opts.name); a record
-- outside scope "1" carries it as "scope", and lookups only see their own scope's records.
--
-- Durability. Each record is one write of a whole line followed by a flush, so once
-- record() returns the line is in the kernel: a kill -9 of this process right after cannot
-- lose it. Only an OS crash or power cut could, and against that we fsync at most once per
-- `fsync_interval` seconds (default 1) and at close. Not per record: an fsync costs a disk
-- round trip (milliseconds), which per record would cap a run below the account's rate, and
-- a record lost that way only means an idempotent PUT is sent again.
-- A kill -9 in the middle of a write can leave a torn last line: load() skips lines that are
-- not valid JSON, and open() ends such a line with "\n" before appending, so the next record
-- is never glued onto the fragment. An item whose record is torn is simply redone.
--
-- The API key never reaches the file: messages and tracebacks go through journal.redact.
local journal = {}
journal.__index = journal

local json = require "fusebill.json"

-- Keys are compared as strings; 7 and 7.0 (and "7") are the same item.
function journal.key_string(key)
  if math.type(key) == "float" and key == math.floor(key) and math.abs(key) < 2 ^ 53 then
    return string.format("%d", key)
  end
  return tostring(key)
end

local function plain_gsub(s, needle, repl)
  if needle == "" then return s end
  local out, i = {}, 1
  while true do
    local a, b = string.find(s, needle, i, true)
    if not a then break end
    out[#out + 1] = s:sub(i, a - 1)
    out[#out + 1] = repl
    i = b + 1
  end
  out[#out + 1] = s:sub(i)
  return table.concat(out)
end

-- Removes anything that looks like an API key from a message: the given secrets verbatim,
-- any "Basic <credential>" and any base64 of "0:<secret>" (how Fusebill keys look).
function journal.redact(s, secrets)
  if s == nil then return nil end
  s = tostring(s)
  for _, secret in ipairs(secrets or {}) do
    if type(secret) == "string" and #secret >= 4 then
      s = plain_gsub(s, secret, "[redacted]")
    end
  end
  s = s:gsub("([Bb]asic%s+)[A-Za-z0-9+/=]+", "%1[redacted]")
  s = s:gsub("MD[A-Za-z0-9+/][A-Za-z0-9+/]+=*", function(m)
    if #m >= 16 then return "[redacted]" end
  end)
  return s
end

local function scoped(scope, key)
  if scope == nil or scope == "1" then return journal.key_string(key) end
  return tostring(scope) .. "\0" .. journal.key_string(key)
end
journal.scoped_key = scoped

-- Reads a journal. Returns a map scoped key -> last record (for scope "1" just the key
-- string, so entries["7"] is item 7 of the first each() call), plus counts
-- { records = n, torn = n (unparseable lines), ends_with_newline = bool }.
-- A missing file is an empty journal.
function journal.load(path)
  local entries, info = {}, { records = 0, torn = 0, ends_with_newline = true, exists = false }
  local f = io.open(path, "rb")
  if not f then return entries, info end
  info.exists = true
  local data = f:read("a") or ""
  f:close()
  if #data > 0 and data:sub(-1) ~= "\n" then info.ends_with_newline = false end
  for line in data:gmatch("[^\n]+") do
    local rec = json.decode(line)
    if type(rec) == "table" and rec.key ~= nil and type(rec.outcome) == "string" then
      entries[scoped(rec.scope, rec.key)] = rec
      info.records = info.records + 1
    elseif type(rec) ~= "table" then
      info.torn = info.torn + 1
    end
  end
  return entries, info
end

local function timestamp()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

-- opts: secrets (list of strings to redact), fsync (function(file)), now (function() -> s),
-- fsync_interval (seconds, default 1), read_only (load but never write: dry runs),
-- scope (string, default "1": see above).
function journal.open(path, opts)
  opts = opts or {}
  if type(path) ~= "string" or path == "" then
    error("journal.open: file name expected", 2)
  end
  local entries, info = journal.load(path)
  local self = setmetatable({
    path = path, entries = entries, info = info, secrets = opts.secrets or {},
    fsync = opts.fsync, now = opts.now or os.time, fsync_interval = opts.fsync_interval or 1,
    read_only = opts.read_only, written = 0, unsynced = 0, scope = opts.scope and tostring(opts.scope) or "1",
  }, journal)
  if not opts.read_only then
    local f, err = io.open(path, "ab")
    if not f then return nil, err end
    f:setvbuf("full", 1 << 16)
    if not info.ends_with_newline then f:write("\n"); f:flush() end
    self.file = f
    self.last_sync = self.now()
  end
  return self
end

function journal:status(key)
  local rec = self.entries[scoped(self.scope, key)]
  return rec and rec.outcome or nil, rec
end

-- Writes an event line (run start or end); ignored by load().
function journal:event(name, fields)
  if not self.file then return end
  local rec = { event = name, ts = timestamp() }
  for k, v in pairs(fields or {}) do rec[k] = v end
  self.file:write(assert(json.encode(rec)), "\n")
  self.file:flush()
end

function journal:sync(force)
  if not self.file or self.unsynced == 0 then return end
  local now = self.now()
  if force or now - self.last_sync >= self.fsync_interval then
    if self.fsync then self.fsync(self.file) end
    self.last_sync, self.unsynced = now, 0
  end
end

-- outcome: "ok" | "failed" | "skipped". message: error text (redacted here). extra: more
-- fields (attempts, elapsed, traceback...), strings among them redacted too.
function journal:record(key, outcome, message, extra)
  local rec = { key = key, outcome = outcome, ts = timestamp() }
  if self.scope ~= "1" then rec.scope = self.scope end
  if math.type(key) == "float" then rec.key = math.tointeger(key) or key end
  if message ~= nil then rec.error = journal.redact(message, self.secrets) end
  for k, v in pairs(extra or {}) do
    if rec[k] == nil then
      rec[k] = type(v) == "string" and journal.redact(v, self.secrets) or v
    end
  end
  self.entries[scoped(self.scope, key)] = rec
  if not self.file then return rec end
  -- one write of the whole line, then flush: the line reaches the kernel in one piece
  self.file:write(assert(json.encode(rec)) .. "\n")
  self.file:flush()
  self.written, self.unsynced = self.written + 1, self.unsynced + 1
  self:sync(false)
  return rec
end

function journal:close()
  if self.file then
    self.file:flush()
    self:sync(true)
    self.file:close()
    self.file = nil
  end
end

return journal
