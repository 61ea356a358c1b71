-- The bulk-run journal: append, reload, torn lines, redaction.
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
    local _, rec = j2:status("abc")
    assert.equal("fusebill: validation (400) PUT /v1/customers: bad", rec.error)
    assert.truthy(rec.ts:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
    j2:close()
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
    local j = assert(journal.open(path, { now = function() return t end, fsync = function() syncs = syncs + 1 end,
      fsync_interval = 1 }))
    for i = 1, 100 do j:record(i, "ok"); t = t + 0.05 end   -- 5 seconds of records
    assert.is_true(syncs >= 4 and syncs <= 6)
    j:close()
    assert.is_true(syncs >= 5 and syncs <= 7)
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
end)
