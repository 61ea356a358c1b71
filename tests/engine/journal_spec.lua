-- The bulk-run journal: append, reload, torn lines, redaction, write lines and their index,
-- input digests, and what happens when the file cannot be written.
package.path = "lua/?.lua;" .. package.path
local journal = require "fusebill.journal"

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function read(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("journal", function()
  local path
  before_each(function() path = tmpname() end)
  after_each(function() os.remove(path) end)

  it("records finished items and finds them on reopen (last record wins)", function()
    local j = assert(journal.open(path))
    j:record(7, "ok")
    j:record("abc", "failed", "fusebill: validation (400) PUT /v1/customers: bad")
    j:record(8, "failed", "boom")
    j:record(8, "ok")
    j:close()
    local j2 = assert(journal.open(path))
    assert.equal("ok", j2:status(7))
    assert.equal("ok", j2:status(7.0))
    assert.equal("ok", j2:status("7"))
    assert.equal("failed", j2:status("abc"))
    assert.equal("ok", j2:status(8))
    assert.is_nil(j2:status(9))
    j2:close()
    local rec = journal.load(path)["abc"]
    assert.equal("fusebill: validation (400) PUT /v1/customers: bad", rec.error)
    assert.truthy(rec.ts:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
  end)

  it("writes JSON as every file the project writes: / as /, whole numbers as integers", function()
    local j = assert(journal.open(path))
    j:record(7, "failed", "fusebill: not_found (404) GET /v1/customers/7: gone", { attempts = 2 })
    j:close()
    local s = read(path)
    assert.truthy(s:find("GET /v1/customers/7", 1, true), s)
    assert.falsy(s:find("\\/", 1, true), s)
    local rec = require("fusebill.json").decode(s:match("[^\n]*\"key\"[^\n]*"))
    assert.equal("integer", math.type(rec.key))
    assert.equal("integer", math.type(rec.attempts))
  end)

  it("writes one JSON line per record, flushed at once", function()
    local j = assert(journal.open(path))
    j:record(1, "ok")
    -- not closed yet: the line must already be in the file (a kill -9 now keeps it)
    local s = read(path)
    assert.truthy(s:match('^{.*"key":1.*}\n$'))
    j:record(2, "skipped")
    assert.equal(2, select(2, read(path):gsub("\n", "")))
    j:close()
  end)

  it("tolerates a torn last line and appends after it on a fresh line", function()
    local f = assert(io.open(path, "wb"))
    f:write('{"key":1,"outcome":"ok","ts":"x"}\n{"key":2,"outc')
    f:close()
    local entries, info = journal.load(path)
    assert.equal(1, info.records)
    assert.equal(1, info.torn)
    assert.is_false(info.ends_with_newline)
    assert.equal("ok", entries["1"].outcome)
    local j = assert(journal.open(path))
    assert.is_nil(j:status(2))         -- the torn item is redone, never skipped
    j:record(2, "ok")
    j:close()
    local j2 = assert(journal.open(path, { read_only = true }))
    assert.equal("ok", j2:status(1))
    assert.equal("ok", j2:status(2))
    assert.equal(1, j2.info.torn)
  end)

  it("never writes the API key", function()
    local key = "MDp" .. string.rep("k3Y", 8)
    local j = assert(journal.open(path, { secrets = { key } }))
    j:record(1, "failed", "request with key " .. key .. " failed",
      { traceback = "Authorization: Basic " .. key .. "\nstack" })
    j:record(2, "failed", "other key " .. "MDp" .. string.rep("A", 20) .. " seen")
    j:close()
    local s = read(path)
    assert.is_nil(s:find(key, 1, true))
    assert.is_nil(s:find("MDpAAAA", 1, true))
    assert.truthy(s:find("[redacted]", 1, true))
  end)

  it("does not write in read-only mode (dry runs)", function()
    local j = assert(journal.open(path, { read_only = true }))
    j:record(1, "ok")
    j:close()
    assert.is_nil(io.open(path, "rb"))
  end)

  it("fsyncs at most once per interval, and at close", function()
    local t, syncs = 0, 0
    local j = assert(journal.open(path, { now = function() return t end, fsync = function() syncs = syncs + 1; return true end,
      fsync_interval = 1 }))
    for i = 1, 100 do j:record(i, "ok"); t = t + 0.05 end   -- 5 seconds of records
    assert.is_true(syncs >= 4 and syncs <= 6)
    j:close()
    assert.is_true(syncs >= 5 and syncs <= 7)
  end)

  it("keeps scopes apart", function()
    local j = assert(journal.open(path))
    j:record(1, "ok")
    j:close()
    local j2 = assert(journal.open(path, { scope = "2" }))
    assert.is_nil(j2:status(1))
    j2:record(1, "failed", "x")
    j2:close()
    local j3 = assert(journal.open(path, { read_only = true }))
    assert.equal("ok", j3:status(1))
    local j4 = assert(journal.open(path, { read_only = true, scope = "2" }))
    assert.equal("failed", j4:status(1))
  end)

  it("ignores event lines when loading", function()
    local j = assert(journal.open(path))
    j:event("start", { script = "x.lua" })
    j:record(1, "ok")
    j:close()
    local entries, info = journal.load(path)
    assert.equal(1, info.records)
    assert.equal(0, info.torn)
    assert.truthy(entries["1"])
  end)

  it("tells an item's record made from the same input from one made from other input", function()
    local j = assert(journal.open(path))
    j:record(7, "ok", nil, { input = "00000000000000a4" })
    j:record(8, "failed", "boom", { input = "00000000000000b0" })
    j:close()
    local j2 = assert(journal.open(path, { read_only = true }))
    assert.same({ "ok", true }, { j2:status(7, "00000000000000a4") })
    assert.same({ "ok", false }, { j2:status(7, "00000000000000a8") })
    assert.same({ "failed", true }, { j2:status(8, "00000000000000b0") })
  end)

  it("records writes with their before, body and after, and finds a change made by its digest", function()
    local j = assert(journal.open(path, { scope = "2" }))
    local before = { id = 7, firstName = "Ada", uri = "https://x/v1/customers/7" }
    local after = { id = 7, firstName = "ADA", uri = "https://x/v1/customers/7" }
    assert.is_true(j:record_write(7, { resource = "customers", id = 7, change = "1234abcd1234abcd", ok = true,
      before = before, body = { id = 7, firstName = "ADA" }, after = after }))
    assert.is_true(j:record_write(8, { resource = "customers", id = 8, change = "00000000000000ff", ok = false,
      before = { id = 8 }, body = { id = 8 }, error = "fusebill: server (500)" }))
    j:record(7, "ok")
    j:close()
    local text = read(path)
    assert.truthy(text:find('"uri":"https://x/v1/customers/7"', 1, true))   -- "/" not escaped
    local j2 = assert(journal.open(path, { scope = "2", read_only = true }))
    assert.same(after, j2:write_done(7, "customers", 7, "1234abcd1234abcd"))
    assert.is_nil(j2:write_done(7, "customers", 7, "1234abcd1234abce"))   -- another change
    assert.is_nil(j2:write_done(8, "customers", 8, "00000000000000ff"))   -- a failed write is not made
    assert.is_nil(j2:write_done(7, "sales_tracking_codes", 7, "1234abcd1234abcd"))
    j2:close()
    local j3 = assert(journal.open(path, { read_only = true }))        -- another scope
    assert.is_nil(j3:write_done(7, "customers", 7, "1234abcd1234abcd"))
    local offsets, info = journal.write_offsets(path)
    assert.equal(2, #offsets)
    assert.equal(2, info.writes)
    assert.equal(1, info.records)
    local f = assert(io.open(path, "rb"))
    local w = journal.read_at(f, offsets[2])
    f:close()
    assert.equal("customers", w.resource)
    assert.is_false(w.ok)
    assert.equal("fusebill: server (500)", w.error)
  end)

  it("reads journals whose lines are in another key order (earlier versions)", function()
    local f = assert(io.open(path, "wb"))
    f:write('{"outcome":"ok","ts":"2026-01-02T03:04:05Z","key":3}\n{"ts":"x","outcome":"failed","key":"a\\"b"}\n')
    f:close()
    local j = assert(journal.open(path, { read_only = true }))
    assert.equal("ok", (j:status(3, "0000000000000000")))
    assert.equal("failed", (j:status('a"b')))
  end)

  it("does not take a line cut short for a record, even once more lines follow it", function()
    local j = assert(journal.open(path))
    j:record_write(1, { resource = "customers", id = 1, change = "00000000000000aa", ok = true,
      before = { id = 1 }, body = { id = 1 }, after = { firstName = "x" } })
    j:close()
    local whole = read(path)
    -- cut inside the after-state, just after a "}" (the worst place)
    local cut = whole:find('"firstName":"x"}', 1, true) + #'"firstName":"x"}' - 1
    local f = assert(io.open(path, "wb"))
    f:write(whole:sub(1, cut))
    f:close()
    local j2 = assert(journal.open(path))
    assert.is_nil(j2:write_done(1, "customers", 1, "00000000000000aa"))
    j2:record(2, "ok")
    j2:close()
    local j3 = assert(journal.open(path, { read_only = true }))
    assert.is_nil(j3:write_done(1, "customers", 1, "00000000000000aa"))
    assert.equal("ok", (j3:status(2)))
    assert.equal(1, j3.info.torn)
  end)

  it("keeps only integers in memory: 20,000 items and writes cost well under 100 bytes each", function()
    local j = assert(journal.open(path))
    for i = 1, 20000 do
      j:record_write(i, { resource = "customers", id = i, change = "00000000000000aa", ok = true,
        before = { id = i, firstName = string.rep("b", 400) }, body = { id = i }, after = { id = i } })
      j:record(i, "ok", nil, { input = "0000000000000abc" })
    end
    j:close()
    collectgarbage("collect")
    local kb0 = collectgarbage("count")
    local j2 = assert(journal.open(path, { read_only = true }))
    collectgarbage("collect")
    local per = (collectgarbage("count") - kb0) * 1024 / 40000
    assert.is_true(per < 100, ("%.0f bytes per index entry"):format(per))
    assert.equal("ok", (j2:status(12345, "0000000000000abc")))
    assert.truthy(j2:write_done(12345, "customers", 12345, "00000000000000aa"))
  end)

  it("breaks for good when a write, flush or fsync fails, and says which file", function()
    local j = assert(journal.open(path, { fsync = function() return nil, "Input/output error" end,
      fsync_interval = 0 }))
    local ok, err = j:record(1, "ok")
    assert.is_nil(ok)
    assert.matches("cannot sync journal .*: Input/output error", err)
    assert.is_nil((j:record(2, "ok")))            -- and it stays broken
    assert.is_nil((j:close()))
    -- a closed file handle: the write fails and says so
    local j2 = assert(journal.open(path))
    j2.file:close()
    local ok2, err2 = j2:record(3, "ok")
    assert.is_nil(ok2)
    assert.matches("cannot write journal", err2)
  end)

  it("refuses nothing it cannot read: /dev/full reads as an empty journal, and writing to it fails", function()
    local f = io.open("/dev/full", "rb")
    if not f then return end
    f:close()
    local j, err = journal.open("/dev/full")
    assert.is_nil(j)
    assert.matches("No space left on device", err)
  end)
end)
