-- The bulk-run journal: JSON Lines, appended as a run goes, so a rerun after a crash knows what
-- is done and `fusebill -m undo` can put every record back.
--
--   local j = assert(journal.open("run.journal", { secrets = { api_key }, scope = "1" }))
--   j:status(key, input)          -> "ok" | "unchanged" | "failed" | "skipped" | nil, same_input
--                                   (last record wins)
--   j:record(key, outcome, message, extra)          -> true | nil, err   (extra.input: input digest)
--   j:record_write(key, w)                          -> true | nil, err   (one write, see below)
--   j:write_done(key, resource, id, change)         -> after-state | nil (that change was made)
--   j:close()                                       -> true | nil, err
--   journal.load(path)          -> last item record by scoped key, info   (small journals: tests)
--   journal.records(path)       -> iterator over every decoded line
--   journal.write_offsets(path) -> byte offsets of the write lines, info, their line numbers
--   journal.read_at(file, offset) -> the decoded line at offset
--
-- Lines, each one JSON object ending in "ts" (the time it was written):
--   item   {"key":7,"scope":"2","outcome":"ok","input":"<digest>","error":"...","attempts":2,"ts":"..."}
--   write  {"key":7,"resource":"customers","id":7,"change":"<digest>","ok":true,
--           "before":{...},"body":{...},"after":{...},"error":"...","ts":"..."}
--   event  {"event":"start",...} (run start and end; ignored on load)
-- A write line is written when the server answers a PUT (ok false: it failed, and "after" is
-- null), before the item's own line. "before" is the record the write replaced; "change" names
-- what the item intended (a digest of update's changes or edit's body, see fusebill.canon), so
-- a rerun with other input does the write again instead of taking it as done. "recovered":true
-- marks a write a rerun found already made by a run killed before it could write the line.
--
-- Scope: a script that calls fusebill.each twice with one journal (phase 1 sets one field on
-- customers, phase 2 another) must not have phase 2 skip items because phase 1 finished the
-- same keys. Each call gets its own scope ("1", "2", ... in call order, or opts.name); a line
-- outside scope "1" carries it as "scope", and lookups only see their own scope's lines.
--
-- Memory. A journal of 300,000 customer writes is over a gigabyte: it is never read whole.
-- open() streams it 64 KB at a time and keeps an index of 64-bit integers only: per item,
-- hash(scope, key) -> its last status and input digest; per write, hash(scope, key, resource,
-- id) -> the line's offset and part of its change digest (the line, read back for the
-- after-state, confirms the rest). About 80 bytes an item with one write. The fields the
-- index needs come first on each line, so most lines are read with one anchored pattern.
-- The index holds what the file held at open(): a run's own lines are not added to it.
--
-- Durability. Each line is one write of the whole line followed by a flush, so once a record
-- call returns the line is in the kernel: a kill -9 of this process right after cannot lose it.
-- Only an OS crash or power cut could, and against that we fsync at most once per
-- `fsync_interval` seconds (default 1) and at close. Not per record: an fsync costs a disk
-- round trip (milliseconds), which per record would cap a run below the account's rate, and
-- a record lost that way only means an idempotent PUT is sent again.
-- A line cut short (a full disk, a file size limit) is ignored on load: a line counts only
-- when it ends in its "ts" field, or failing that decodes as JSON. open() ends such a line
-- with "\n" before appending, so the next record is never glued onto the fragment.
-- A write, flush or fsync that fails leaves the journal broken: that call and every later one
-- returns nil, err, and fusebill.each stops the run at once (a run that cannot record what it
-- did must not go on writing to the account).
--
-- The API key never reaches the file: messages and tracebacks go through journal.redact, and
-- the configured key is cut out of whole write lines too.
local journal = {}
journal.__index = journal

local cjson_safe = require "cjson.safe"
local canon = require "fusebill.canon"

local hash, quote = canon.hash, canon.quote
local find, match, sub, format, byte = string.find, string.match, string.sub, string.format, string.byte

-- Objects in write lines: a private lua-cjson, so nobody else's settings apply.
local encode_value = require("cjson").new().encode

-- Keys are compared as strings; 7 and 7.0 (and "7") are the same item.
function journal.key_string(key)
  if math.type(key) == "float" and key == math.floor(key) and math.abs(key) < 2 ^ 53 then
    return string.format("%d", key)
  end
  return tostring(key)
end
local key_string = journal.key_string

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

local function cut_secrets(s, secrets)
  for _, secret in ipairs(secrets or {}) do
    if type(secret) == "string" and #secret >= 4 and find(s, secret, 1, true) then
      s = plain_gsub(s, secret, "[redacted]")
    end
  end
  return s
end

-- Removes anything that looks like an API key from a message: the given secrets verbatim,
-- any "Basic <credential>" and any base64 of "0:<secret>" (how Fusebill keys look).
function journal.redact(s, secrets)
  if s == nil then return nil end
  s = cut_secrets(tostring(s), secrets)
  s = s:gsub("([Bb]asic%s+)[A-Za-z0-9+/=]+", "%1[redacted]")
  s = s:gsub("MD[A-Za-z0-9+/][A-Za-z0-9+/]+=*", function(m)
    if #m >= 16 then return "[redacted]" end
  end)
  return s
end

local function scoped(scope, key)
  if scope == nil or scope == "1" then return key_string(key) end
  return tostring(scope) .. "\0" .. key_string(key)
end
journal.scoped_key = scoped

-- Index slots, 64-bit integers: an item's (its scope and key) and a write's (the item's, the
-- resource, the record's id). Computed with integer arithmetic for the usual integer keys (7,
-- 7.0 and "7" are the same item), hashing the key's text otherwise.
local K1, K2, K3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
local function mix(h)
  h = (h ~ (h >> 30)) * K2
  h = (h ~ (h >> 27)) * K3
  return h ~ (h >> 31)
end

local function key_int(key)
  local mt = math.type(key)
  if mt == "integer" then return key end
  if mt == "float" then return key == math.floor(key) and math.abs(key) < 2 ^ 53 and math.tointeger(key) or nil end
  if type(key) == "string" and #key < 19 and (find(key, "^%-?[1-9]%d*$") or key == "0") then
    return math.tointeger(tonumber(key))
  end
  return nil
end

local text_hash = setmetatable({}, { __mode = "k" })   -- scope and resource names: few, hashed once
local function name_hash(name)
  if name == nil or name == "1" then return 0 end
  local h = text_hash[name]
  if not h then
    h = hash(tostring(name))
    text_hash[name] = h
  end
  return h
end

local function int_slot(k, scope_hash)
  local h = (k ~ scope_hash) + K1
  h = (h ~ (h >> 30)) * K2
  h = (h ~ (h >> 27)) * K3
  return h ~ (h >> 31)
end
local function item_slot(scope, key)
  local k = key_int(key)
  if k then return int_slot(k, name_hash(scope)) end
  return mix(hash(key_string(key)) ~ name_hash(scope) ~ K3)
end
local function write_slot_of(slot, resource, id)
  return mix(slot + name_hash(resource) * K1 + (key_int(id) or hash(tostring(id))) * K3)
end
local function write_slot(scope, key, resource, id)
  return write_slot_of(item_slot(scope, key), resource, id)
end

-- a digest as an integer (0: none)
local function digest_int(hex)
  return type(hex) == "string" and tonumber(hex, 16) or 0
end

-- A write's index value: its line's offset, and 24 bits of its change digest. A match is
-- confirmed against the whole digest on the line (read anyway, for the after-state), so the
-- two fit one integer: one entry per write.
local function write_value(offset, change)
  return (offset << 24) | (digest_int(change) & 0xFFFFFF)
end

-- two bits of an item's index value; an outcome this version does not know counts as failed
local STATUS = { unchanged = 0, ok = 1, skipped = 2, failed = 3 }
local STATUS_NAME = { [0] = "unchanged", "ok", "skipped", "failed" }

-- ---- reading ---------------------------------------------------------------------------

local BLOCK = 1 << 16

-- Blocks of 64 KB: larger ones, each a new string, outlived their use in the collector's
-- old generation and doubled a rerun's memory.
-- Calls fn(buf, s, e, offset, line) for each line ending in "\n" (buf:sub(s, e) is the line
-- without it; offset its position in the file, from 0; line its number, from 1). Returns info:
-- ends_with_newline, bytes.
-- A block of NUL bytes with no newline ends the scan: what a power cut can leave at the end of
-- a file, and all /dev/full ever returns.
local function scan(f, fn)
  local carry, base, lines, blocks = nil, 0, 0, 0   -- carry: a line's start from the block before
  local info = { ends_with_newline = true, bytes = 0 }
  while true do
    local chunk = f:read(BLOCK)
    if not chunk then break end
    -- the blocks and the strings cut from them are garbage at once, but the generational
    -- collector lets them pile up into its old generation: every 8 MB, a full collection
    -- (a few milliseconds) keeps a rerun's memory to its index
    blocks = blocks + 1
    if blocks % 128 == 0 then collectgarbage("collect") end
    if not find(chunk, "\n", 1, true) and not find(chunk, "[^%z]") then
      info.ends_with_newline = false
      info.nul = true
      break
    end
    local pos = 1
    if carry then
      -- the line that straddles two blocks, on its own (never the whole block glued to it)
      local nl = find(chunk, "\n", 1, true)
      if not nl then
        carry = carry .. chunk
        pos = #chunk + 1
      else
        local line = carry .. sub(chunk, 1, nl - 1)
        lines = lines + 1
        if #line > 0 then fn(line, 1, #line, base, lines) end
        base = base + #line + 1
        carry, pos = nil, nl + 1
      end
    end
    while true do
      local nl = find(chunk, "\n", pos, true)
      if not nl then break end
      lines = lines + 1
      if nl > pos then fn(chunk, pos, nl - 1, base, lines) end
      base = base + nl - pos + 1
      pos = nl + 1
    end
    if pos <= #chunk then carry = (carry or "") .. sub(chunk, pos) end
  end
  info.bytes = base + (carry and #carry or 0)
  if carry and #carry > 0 then info.ends_with_newline = false end
  return info
end

local function decode_any(s)
  local core = package.loaded["fusebill.core"]
  if core and core.decode then return core.decode(s) end
  return cjson_safe.decode(s)
end

-- One line's index fields without decoding it: kind ("item" | "write" | "event"), then for an
-- item key, scope, outcome, input; for a write key, scope, resource, id, change, ok. nil when
-- the line is not in the usual shape, or cut short: decode it to know.
local function head(buf, s, e)
  if byte(buf, s + 2) == 101 and find(buf, '^{"event":', s) then return "event" end
  -- complete: ends in ,"ts":"YYYY-MM-DDTHH:MM:SSZ"}
  if e - s < 40 or byte(buf, e) ~= 125 or byte(buf, e - 2) ~= 90 or find(buf, ',"ts":"', e - 28, true) ~= e - 28 then
    return nil
  end
  local key, outcome, resource, id, change, ok
  local p
  key, p = match(buf, '^{"key":(%-?%d+)()', s)
  if key then
    key = math.tointeger(tonumber(key)) or key
  else
    key, p = match(buf, '^{"key":"([^"\\]*)"()', s)
    if not key then return nil end
  end
  local scope, q = match(buf, '^,"scope":"([^"\\]*)"()', p)
  if scope then p = q end
  local r
  outcome, r = match(buf, '^,"outcome":"(%a+)"()', p)
  if outcome then
    return "item", key, scope, outcome, match(buf, '^,"input":"(%x+)"', r)
  end
  resource, id, change, ok = match(buf, '^,"resource":"([%w_]+)","id":(%d+),"change":"(%x*)","ok":(%a+)', p)
  if resource then return "write", key, scope, resource, math.tointeger(tonumber(id)), change, ok == "true" end
  return nil
end

-- The same fields from a decoded line (any key order: journals of earlier versions, keys
-- with escapes), or "torn".
local function head_of_record(rec)
  if type(rec) ~= "table" then return "torn" end
  if rec.event ~= nil then return "event" end
  if rec.key == nil then return "torn" end
  if type(rec.outcome) == "string" then return "item", rec.key, rec.scope, rec.outcome, rec.input end
  if type(rec.resource) == "string" then
    return "write", rec.key, rec.scope, rec.resource, rec.id, rec.change, rec.ok == true
  end
  return "torn"
end

-- fn(kind, key, scope, ..., offset[, line]) for every line of the file at path; returns info with
-- counts records (item lines), writes, torn, and exists. A missing file is an empty journal.
local function each_head(path, fn, fast)
  local counts = { records = 0, writes = 0, torn = 0, exists = false }
  local f = io.open(path, "rb")
  if not f then
    counts.ends_with_newline, counts.bytes = true, 0
    return counts
  end
  counts.exists = true
  local info = scan(f, function(buf, s, e, offset, line)
    if fast and fast(counts, buf, s, e, offset) then return end
    local kind, a, b, c, d, x, y = head(buf, s, e)
    if kind == nil then kind, a, b, c, d, x, y = head_of_record(decode_any(sub(buf, s, e))) end
    if kind == "item" then
      counts.records = counts.records + 1
      fn(kind, a, b, c, d, offset)
    elseif kind == "write" then
      counts.writes = counts.writes + 1
      fn(kind, a, b, c, d, x, y, offset, line)
    elseif kind == "torn" then
      counts.torn = counts.torn + 1
    end
  end)
  f:close()
  if not info.ends_with_newline then counts.torn = counts.torn + 1 end
  counts.ends_with_newline, counts.bytes = info.ends_with_newline, info.bytes
  return counts
end

-- The compact index open() keeps (see Memory above), and the counts. The lines this version
-- writes for an integer key in the first scope (nearly all of them) go through one pattern
-- each and straight into the index: a rerun over 300,000 items reads its journal in about a
-- second that way, against two with head() and its callbacks. Anything else takes head().
local function build_index(path)
  local items, writes = {}, {}
  local function fast(counts, buf, s, e, offset)
    if byte(buf, e) ~= 125 or find(buf, ',"ts":"', e - 28, true) ~= e - 28 then return false end
    local k, outcome, input = match(buf, '^{"key":(%d+),"outcome":"(%a+)","input":"(%x+)"', s)
    if k then
      counts.records = counts.records + 1
      items[int_slot(tonumber(k), 0)] = (tonumber(input, 16) & ~3) | (STATUS[outcome] or 3)
      return true
    end
    local id, change, ok
    k, outcome, id, change, ok = match(buf, '^{"key":(%d+),"resource":"([^"]+)","id":(%d+),"change":"(%x*)","ok":(%a)', s)
    if not k then return false end
    counts.writes = counts.writes + 1
    if ok == "t" then
      writes[write_slot_of(int_slot(tonumber(k), 0), outcome, tonumber(id))] = write_value(offset, change)
    end
    return true
  end
  local info = each_head(path, function(kind, key, scope, a, b, c, d, offset)
    if kind == "item" then
      items[item_slot(scope, key)] = (digest_int(b) & ~3) | (STATUS[a] or 3)
    elseif d then   -- a write that succeeded: resource a, id b, change c, at offset
      writes[write_slot(scope, key, a, b)] = write_value(offset, c)
    end
  end, fast)
  return items, writes, info
end

-- Every line decoded, in file order (events included); torn lines are left out.
function journal.records(path)
  local f = io.open(path, "rb")
  if not f then return function() return nil end end
  local list = {}
  scan(f, function(buf, s, e)
    local rec = decode_any(sub(buf, s, e))
    if type(rec) == "table" then list[#list + 1] = rec end
  end)
  f:close()
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

-- The last item record of each scoped key (for scope "1" just the key string, so
-- entries["7"] is item 7 of the first each() call), decoded; and the counts. Holds every
-- record in memory: for tests and small journals (open() does not use it).
function journal.load(path)
  local entries = {}
  local info = each_head(path, function() end)
  for rec in journal.records(path) do
    if rec.key ~= nil and type(rec.outcome) == "string" then entries[scoped(rec.scope, rec.key)] = rec end
  end
  return entries, info
end

-- The byte offsets of the write lines, in file order, their line numbers, and the counts.
function journal.write_offsets(path)
  local offsets, lines = {}, {}
  local info = each_head(path, function(kind, _, _, _, _, _, _, offset, line)
    if kind == "write" then
      offsets[#offsets + 1] = offset
      lines[#lines + 1] = line
    end
  end)
  return offsets, info, lines
end

function journal.read_at(f, offset)
  f:seek("set", offset)
  local line = f:read("l")
  if not line then return nil, "no line at offset " .. offset end
  local rec = decode_any(line)
  if type(rec) ~= "table" then return nil, "the line at offset " .. offset .. " is not JSON" end
  return rec, line
end

-- ---- writing ---------------------------------------------------------------------------

local function timestamp()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

-- opts: secrets (list of strings to redact), fsync (function(file) -> true | nil, err),
-- now (function() -> s), fsync_interval (seconds, default 1), read_only (load but never
-- write: dry runs), scope (string, default "1": see above).
function journal.open(path, opts)
  opts = opts or {}
  if type(path) ~= "string" or path == "" then
    error("journal.open: file name expected", 2)
  end
  local items, writes, info = build_index(path)
  local self = setmetatable({
    path = path, items = items, writes = writes, info = info, secrets = opts.secrets or {},
    fsync = opts.fsync, now = opts.now or os.time, fsync_interval = opts.fsync_interval or 1,
    read_only = opts.read_only, written = 0, unsynced = 0, scope = opts.scope and tostring(opts.scope) or "1",
    size = info.bytes,
  }, journal)
  if not opts.read_only then
    local f, err = io.open(path, "ab")
    if not f then return nil, err end
    f:setvbuf("full", 1 << 16)
    self.file = f
    self.last_sync = self.now()
    if not info.ends_with_newline then
      local ok, _, werr = self:_append("\n")
      if not ok then f:close(); self.file = nil; return nil, werr end
    end
  end
  return self
end

-- status of the item's last record in this scope, and whether that record was made from the
-- same input (a record without an input digest, from an earlier version, matches any)
function journal:status(key, input)
  local v = self.items[item_slot(self.scope, key)]
  if not v then return nil, false end
  local stored = v & ~3
  return STATUS_NAME[v & 3], stored == 0 or input == nil or stored == (digest_int(input) & ~3)
end

-- The after-state of this item's last write to (resource, id), if it made exactly `change`;
-- read back from the file. nil when the item has not made that change. Like status(), it
-- knows the lines that were in the file when it was opened: a run does not look up its own
-- lines (an item listed twice is done twice), so the index does not grow as the run goes.
function journal:write_done(key, resource, id, change)
  local v = self.writes[write_slot(self.scope, key, resource, id)]
  if v == nil or (v & 0xFFFFFF) ~= (digest_int(change) & 0xFFFFFF) then return nil end
  if not self.reader then
    if self.file then self.file:flush() end
    self.reader = io.open(self.path, "rb")
    if not self.reader then return nil end
  end
  local rec = journal.read_at(self.reader, v >> 24)
  if not rec or rec.change ~= change or type(rec.after) ~= "table" then return nil end
  return rec.after
end

local function put_line(f, line)
  local ok, err = f:write(line)
  if ok then ok, err = f:flush() end
  return ok, err
end

-- One line into the file: write, flush, and an fsync when one is due. Any failure breaks the
-- journal for good (see Durability); a closed handle is one (io raises on it: caught here).
function journal:_append(line)
  if self.broken then return nil, self.broken end
  local f = self.file
  if not f then return true end
  local done, ok, err = pcall(put_line, f, line)
  if not done then ok, err = nil, ok end
  if not ok then
    self.broken = "cannot write journal " .. self.path .. ": " .. tostring(err)
    return nil, self.broken, err
  end
  self.size = self.size + #line
  self.written, self.unsynced = self.written + 1, self.unsynced + 1
  return self:sync(false)
end

function journal:sync(force)
  if self.broken then return nil, self.broken end
  if not self.file or self.unsynced == 0 then return true end
  local now = self.now()
  if force or now - self.last_sync >= self.fsync_interval then
    if self.fsync then
      local ok, res, err = pcall(self.fsync, self.file)
      if not ok or not res then
        self.broken = "cannot sync journal " .. self.path .. ": " .. tostring(ok and err or res)
        return nil, self.broken
      end
    end
    self.last_sync, self.unsynced = now, 0
  end
  return true
end

local function key_json(key)
  if math.type(key) == "float" then key = math.tointeger(key) or key end
  if math.type(key) == "integer" then return format("%d", key) end
  return quote(type(key) == "string" and key or tostring(key))
end

local function line_head(self, key)
  local h = '{"key":' .. key_json(key)
  if self.scope ~= "1" then h = h .. ',"scope":' .. quote(self.scope) end
  return h
end

-- Writes an event line (run start or end); ignored by load().
function journal:event(name, fields)
  local parts = { '{"event":', quote(name) }
  local names = {}
  for k in pairs(fields or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    parts[#parts + 1] = "," .. quote(k) .. ":" .. canon.encode(fields[k])
  end
  parts[#parts + 1] = ',"ts":"' .. timestamp() .. '"}\n'
  return self:_append(table.concat(parts))
end

-- outcome: "ok" | "unchanged" | "failed" | "skipped". message: error text (redacted here). extra: input (the
-- item's digest), attempts, traceback (redacted), elapsed.
function journal:record(key, outcome, message, extra)
  extra = extra or {}
  local input = extra.input
  local parts = { line_head(self, key), ',"outcome":', quote(outcome) }
  if input then parts[#parts + 1] = ',"input":"' .. input .. '"' end
  if message ~= nil then parts[#parts + 1] = ',"error":' .. quote(journal.redact(message, self.secrets)) end
  if math.type(extra.attempts) == "integer" then parts[#parts + 1] = format(',"attempts":%d', extra.attempts) end
  if extra.traceback then
    parts[#parts + 1] = ',"traceback":' .. quote(journal.redact(extra.traceback, self.secrets))
  end
  parts[#parts + 1] = ',"ts":"' .. timestamp() .. '"}\n'
  return self:_append(table.concat(parts))
end

local function object_json(v)
  if type(v) ~= "table" then return "null" end
  local ok, s = pcall(encode_value, v)
  if not ok then return "null" end
  if find(s, "\\/", 1, true) then s = s:gsub("\\/", "/") end   -- lua-cjson escapes every "/"
  return s
end

-- w: resource, id, change (digest), ok (boolean), before, body, after (tables or nil), error
-- (message), recovered (boolean).
function journal:record_write(key, w)
  local id = math.tointeger(w.id) or w.id
  local parts = { line_head(self, key), ',"resource":', quote(w.resource), format(',"id":%d', id),
    ',"change":"', w.change or "", '","ok":', w.ok and "true" or "false" }
  if w.recovered then parts[#parts + 1] = ',"recovered":true' end
  parts[#parts + 1] = ',"before":' .. object_json(w.before)
  parts[#parts + 1] = ',"body":' .. object_json(w.body)
  parts[#parts + 1] = ',"after":' .. object_json(w.after)
  if w.error ~= nil then parts[#parts + 1] = ',"error":' .. quote(journal.redact(w.error, self.secrets)) end
  parts[#parts + 1] = ',"ts":"' .. timestamp() .. '"}\n'
  local line = cut_secrets(table.concat(parts), self.secrets)
  return self:_append(line)
end

function journal:close()
  if self.reader then self.reader:close(); self.reader = nil end
  if self.file then
    if not self.broken then
      local done, ok, err = pcall(self.file.flush, self.file)
      if not done then ok, err = nil, ok end
      if ok then ok, err = self:sync(true) end
      if not ok and not self.broken then self.broken = "cannot write journal " .. self.path .. ": " .. tostring(err) end
    end
    pcall(self.file.close, self.file)
    self.file = nil
  end
  if self.broken then return nil, self.broken end
  return true
end

return journal
