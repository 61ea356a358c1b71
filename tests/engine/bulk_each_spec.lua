-- fusebill.each against a fake engine (virtual time): concurrency, errors, journal, keys,
-- limit, daily quota, dry-run summary, report, user coroutines.
package.path = "lua/?.lua;" .. package.path
local bulk = require "fusebill.bulk"
local diff = require "fusebill.diff"
local journal = require "fusebill.journal"
local cjson = require "cjson"

-- A fake fusebill.core for unit-testing fusebill.each without the C engine: virtual time,
-- core.sleep/request yield core.WAIT inside managed coroutines, core.wait returns the ones
-- whose timer is due and advances the clock.
local fake = {}

local error_mt = { __name = "fusebill.error", __tostring = function(e)
  return string.format("fusebill: %s %s", e.kind, e.message or "")
end }

function fake.new(host)
  local core = { WAIT = setmetatable({}, { __name = "fake WAIT" }), t = 0, timers = {}, managed = {},
    counters = { requests = 0, attempts = 0, retries = 0, throttled = 0, writes = 0 }, host = host,
    synced = 0, seq = 0 }
  function core.manage(co) core.managed[co] = true end
  function core.now() return core.t end
  function core.isatty() return false end
  function core.host_options() return core.host end
  function core.fsync() core.synced = core.synced + 1; return true end
  function core.stats()
    local c = {}
    for k, v in pairs(core.counters) do c[k] = v end
    return c
  end
  function core.is_error(v) return getmetatable(v) == error_mt end
  function core.new_error(t) return setmetatable(t, error_mt) end
  function core.sleep(d)
    local co, main = coroutine.running()
    if main or not core.managed[co] then core.t = core.t + d; return end
    core.seq = core.seq + 1
    core.timers[#core.timers + 1] = { at = core.t + d, co = co, seq = core.seq }
    local v = coroutine.yield(core.WAIT)
    assert(v == nil, "resumed with a value")
  end
  -- a request that takes `d` seconds of virtual time; its meta is the coroutine's last_meta
  local last = setmetatable({}, { __mode = "k" })
  function core.request(d)
    core.counters.requests = core.counters.requests + 1
    core.counters.attempts = core.counters.attempts + 1
    core.sleep(d or 0.1)
    last[coroutine.running()] = { status = 200, attempts = 1 }
    return { ok = true }
  end
  function core.last_meta(co) return last[co or coroutine.running()] end
  function core.wait(timeout)
    table.sort(core.timers, function(a, b)
      if a.at ~= b.at then return a.at < b.at end
      return a.seq < b.seq
    end)
    local first = core.timers[1]
    if not first or first.at > core.t + timeout then
      core.t = core.t + timeout
      return {}
    end
    if first.at > core.t then core.t = first.at end
    local ready, rest = {}, {}
    for _, tm in ipairs(core.timers) do
      if tm.at <= core.t then ready[#ready + 1] = tm.co else rest[#rest + 1] = tm end
    end
    core.timers = rest
    return ready
  end
  return core
end


local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function range(n)
  local t = {}
  for i = 1, n do t[i] = { id = i } end
  return t
end

local function read_lines(p)
  local out = {}
  for line in io.lines(p) do out[#out + 1] = line end
  return out
end

describe("fusebill.each (fake engine)", function()
  local core
  before_each(function()
    core = fake.new()
    bulk.core = core
    bulk._journal_uses = {}
  end)

  -- a rerun is a new process: each() calls are counted afresh (see the journal scopes)
  local function new_process() bulk._journal_uses = {} end
  after_each(function() bulk.core = nil end)

  it("runs every item with up to `concurrency` in flight", function()
    local seen, in_flight, max_in_flight = {}, 0, 0
    local s = bulk.each(range(20), { concurrency = 4, quiet = true }, function(item)
      in_flight = in_flight + 1
      max_in_flight = math.max(max_in_flight, in_flight)
      core.request(1)
      in_flight = in_flight - 1
      seen[#seen + 1] = item.id
    end)
    assert.equal(20, #seen)
    assert.equal(4, max_in_flight)
    assert.equal(20, s.succeeded)
    assert.equal(0, s.failed)
    assert.equal(20, s.requests)
    assert.is_true(s.ok)
    assert.near(5, s.elapsed, 0.01)        -- 20 items x 1 s / 4 workers
  end)

  it("takes its default concurrency from the host options, else 4", function()
    core.host = { concurrency = 8 }
    local max_in_flight, in_flight = 0, 0
    bulk.each(range(32), { quiet = true }, function()
      in_flight = in_flight + 1
      max_in_flight = math.max(max_in_flight, in_flight)
      core.sleep(1)
      in_flight = in_flight - 1
    end)
    assert.equal(8, max_in_flight)
    core.host = nil
    max_in_flight = 0
    bulk.each(range(32), { quiet = true }, function()
      in_flight = in_flight + 1
      max_in_flight = math.max(max_in_flight, in_flight)
      core.sleep(1)
      in_flight = in_flight - 1
    end)
    assert.equal(4, max_in_flight)
    max_in_flight = 0
    local s = bulk.each(range(32), { quiet = true, client = { options = { concurrency = 2 }, dry_run = true } },
      function()
        in_flight = in_flight + 1
        max_in_flight = math.max(max_in_flight, in_flight)
        core.sleep(1)
        in_flight = in_flight - 1
      end)
    assert.equal(2, max_in_flight)
    assert.is_true(s.dry_run)
  end)

  it("records a Lua error with its traceback and goes on", function()
    local s = bulk.each(range(10), { concurrency = 3, quiet = true }, function(item)
      core.sleep(0.1)
      if item.id == 4 then error("boom on four") end
      if item.id == 6 then return nil, core.new_error{ kind = "validation", message = "bad six", attempts = 1 } end
    end)
    assert.equal(8, s.succeeded)
    assert.equal(2, s.failed)
    assert.is_false(s.ok)
    table.sort(s.errors, function(a, b) return a.key < b.key end)
    assert.equal(4, s.errors[1].key)
    assert.matches("boom on four", s.errors[1].message)
    assert.matches("stack traceback", s.errors[1].traceback)
    assert.equal(6, s.errors[2].key)
    assert.matches("bad six", s.errors[2].message)
  end)

  it("stops at the first failure with stop_on_error", function()
    local ran = 0
    local s = bulk.each(range(100), { concurrency = 2, quiet = true, stop_on_error = true }, function(item)
      ran = ran + 1
      core.sleep(0.1)
      if item.id == 5 then error("stop here") end
    end)
    assert.equal(1, s.failed)
    assert.equal("error", s.stopped)
    assert.is_true(ran <= 7)
  end)

  it("pulls from an iterator that itself yields, one worker at a time", function()
    local n, inside, max_inside = 0, 0, 0
    local function items()
      inside = inside + 1
      max_inside = math.max(max_inside, inside)
      if n % 5 == 0 then core.sleep(0.5) end     -- "fetch the next page"
      inside = inside - 1
      n = n + 1
      if n <= 23 then return { id = n } end
    end
    local got = {}
    local s = bulk.each(items, { concurrency = 6, quiet = true }, function(item)
      core.sleep(0.2)
      got[#got + 1] = item.id
    end)
    assert.equal(1, max_inside)
    assert.equal(23, #got)
    table.sort(got)
    for i = 1, 23 do assert.equal(i, got[i]) end
    assert.equal(23, s.succeeded)
  end)

  it("stops when the items iterator raises, after finishing what it started", function()
    local n = 0
    local done = 0
    local s = bulk.each(function()
      n = n + 1
      if n == 6 then error("page 2 could not be read") end
      return { id = n }
    end, { concurrency = 3, quiet = true }, function() core.sleep(0.1); done = done + 1 end)
    assert.equal(5, done)
    assert.equal(5, s.succeeded)
    assert.equal("items_error", s.stopped)
    assert.matches("page 2 could not be read", s.items_error)
    assert.is_false(s.ok)
  end)

  it("fails an item whose key function raises", function()
    local s = bulk.each(range(3), { quiet = true, key = function(item)
      if item.id == 2 then error("no code") end
      return item.id
    end }, function() end)
    assert.equal(2, s.succeeded)
    assert.equal(1, s.failed)
    assert.matches("opts.key failed: .*no code", s.errors[1].message)
  end)

  it("draws progress (when asked) with the total a callable items table learns", function()
    local buf = {}
    local sink = { write = function(self, ...) for _, v in ipairs{ ... } do buf[#buf + 1] = v end return self end,
      flush = function() end }
    local n = 0
    local items = setmetatable({}, { __call = function(self)
      n = n + 1
      self.total = 10
      if n <= 10 then return { id = n } end
    end })
    local real = io.stderr
    rawset(io, "stderr", sink)
    local ok, err = pcall(bulk.each, items, { progress = true, quiet = true, concurrency = 1 },
      function() core.sleep(0.3) end)
    rawset(io, "stderr", real)
    assert(ok, err)
    local text = table.concat(buf)
    assert.matches("\r%d+/10 +%d+%%", text)
    assert.matches("ETA", text)
  end)

  it("runs an each() nested in fn inline, without losing the outer workers", function()
    local done, in_flight, max_in_flight = {}, 0, 0
    local s = bulk.each(range(6), { concurrency = 3, quiet = true }, function(outer)
      local inner = bulk.each({ 1, 2, 3 }, { concurrency = 8, quiet = true }, function(i)
        in_flight = in_flight + 1
        max_in_flight = math.max(max_in_flight, in_flight)
        core.sleep(0.5)
        in_flight = in_flight - 1
        done[#done + 1] = outer.id * 10 + i
      end)
      assert(inner.succeeded == 3)
    end)
    assert.equal(6, s.succeeded)
    assert.equal(18, #done)
    assert.equal(3, max_in_flight)     -- the outer concurrency; each inner run goes one at a time
    assert.near(3, s.elapsed, 0.01)    -- 6 outer items x 3 inner x 0.5 s / 3 workers
    assert.equal(0, bulk._active)
  end)

  it("keeps the user's own coroutines working, and resumes a yield that leaks out of fn", function()
    local results = {}
    local s = bulk.each(range(6), { concurrency = 3, quiet = true }, function(item)
      local gen = coroutine.wrap(function()
        for i = 1, 3 do coroutine.yield(item.id * 10 + i) end
      end)
      local sum = 0
      for _ = 1, 3 do sum = sum + gen() end
      core.sleep(0.1)
      local leaked = coroutine.yield("mine")   -- a stray yield: each() must resume it
      assert(leaked == nil)
      results[item.id] = sum
    end)
    assert.equal(6, s.succeeded)
    assert.equal(36, results[1])
    assert.equal(186, results[6])
  end)

  it("keys items by opts.key, else id, else position", function()
    local path = tmpname()
    bulk.each({ { id = 10 }, { id = 11 } }, { journal = path, quiet = true }, function() end)
    bulk.each({ "a,b", "c,d" }, { journal = path .. "2", quiet = true }, function() end)
    bulk.each({ { code = "X" } }, { journal = path .. "3", quiet = true, key = function(i) return i.code end },
      function() end)
    local j1 = journal.load(path)
    local j2 = journal.load(path .. "2")
    local j3 = journal.load(path .. "3")
    assert.truthy(j1["10"] and j1["11"])
    assert.truthy(j2["1"] and j2["2"])
    assert.truthy(j3["X"])
    os.remove(path); os.remove(path .. "2"); os.remove(path .. "3")
  end)

  it("resumes from its journal: skips done items, redoes failed ones unless skip_failed", function()
    local path = tmpname()
    local s1 = bulk.each(range(10), { journal = path, quiet = true, concurrency = 3 }, function(item)
      core.sleep(0.1)
      if item.id % 3 == 0 then error("fails: " .. item.id) end
    end)
    assert.equal(7, s1.succeeded)
    assert.equal(3, s1.failed)
    local ran = {}
    new_process()
    local s2 = bulk.each(range(12), { journal = path, quiet = true, skip_failed = true }, function(item)
      ran[#ran + 1] = item.id
    end)
    table.sort(ran)
    assert.same({ 11, 12 }, ran)
    assert.equal(10, s2.skipped_journal)
    assert.equal(3, s2.skipped_failed)
    ran = {}
    new_process()
    local s3 = bulk.each(range(12), { journal = path, quiet = true }, function(item)
      ran[#ran + 1] = item.id
    end)
    table.sort(ran)
    assert.same({ 3, 6, 9 }, ran)
    assert.equal(9, s3.skipped_journal)
    -- now everything is ok
    local entries = journal.load(path)
    for i = 1, 12 do assert.equal("ok", entries[tostring(i)].outcome) end
    os.remove(path)
  end)

  it("keeps the items of two each() calls sharing one journal apart (phases), by call order or name", function()
    local path = tmpname()
    local function script(log)
      bulk.each(range(5), { journal = path, quiet = true }, function(item) log[#log + 1] = "a" .. item.id end)
      bulk.each(range(5), { journal = path, quiet = true }, function(item)
        log[#log + 1] = "b" .. item.id
        if item.id == 3 then error("phase b fails on 3") end
      end)
      bulk.each(range(2), { journal = path, quiet = true, name = "final" }, function(item)
        log[#log + 1] = "c" .. item.id
      end)
    end
    local log = {}
    script(log)
    assert.equal(12, #log)            -- phase b was not skipped although phase a did the same keys
    new_process()
    log = {}
    script(log)
    assert.same({ "b3" }, log)        -- the rerun skips all done, and redoes the one that failed
    local entries = journal.load(path)
    assert.equal("ok", entries["1"].outcome)
    assert.equal("failed", entries[journal.scoped_key("2", 3)].outcome)
    assert.equal("ok", entries[journal.scoped_key("final", 2)].outcome)
    os.remove(path)
  end)

  it("journals a deliberate skip and does not redo it", function()
    local path = tmpname()
    local s = bulk.each(range(4), { journal = path, quiet = true }, function(item)
      if item.id == 2 then return bulk.SKIP end
    end)
    assert.equal(3, s.succeeded)
    assert.equal(1, s.skipped)
    assert.equal("skipped", journal.load(path)["2"].outcome)
    os.remove(path)
  end)

  it("counts an item that wrote nothing and found its record as asked as unchanged, apart", function()
    local cost = require "fusebill.cost"
    local path, csv = tmpname(), tmpname() .. ".csv"
    local function fn(item)
      core.sleep(0.1)
      if item.id ~= 4 then cost.note("unchanged") end      -- an update that sent nothing
      if item.id == 2 then cost.note("write") end          -- ... and another that did
      if item.id == 3 then return nil, core.new_error{ kind = "conflict", message = "no" } end
    end
    local s = bulk.each(range(4), { journal = path, report = csv, quiet = true }, fn)
    assert.equal(1, s.unchanged)
    assert.equal(2, s.succeeded)   -- 2 wrote; 4 made no update at all
    assert.equal(1, s.failed)      -- 3 failed, whatever else it found
    assert.equal("unchanged", journal.load(path)["1"].outcome)
    assert.matches("\n1,1,unchanged,", table.concat(read_lines(csv), "\n"))
    assert.matches("\n1,2,ok,[^\n]*,0,0,1,2", table.concat(read_lines(csv), "\n"))
    assert.matches("succeeded 2  unchanged 1  failed 1", require("fusebill.report").summary_text(s))
    -- a rerun leaves it alone, as it does an item that succeeded
    new_process()
    local ran = {}
    s = bulk.each(range(4), { journal = path, quiet = true }, function(item) ran[#ran + 1] = item.id end)
    assert.same({ 3 }, ran)
    assert.equal(3, s.skipped_journal)
    os.remove(path); os.remove(csv)
  end)

  it("runs only the first N items with limit (a canary), then the rest with the journal", function()
    local path = tmpname()
    local ran = {}
    local s = bulk.each(range(50), { journal = path, quiet = true, limit = 5, concurrency = 8 }, function(item)
      core.sleep(0.1)
      ran[#ran + 1] = item.id
    end)
    table.sort(ran)
    assert.same({ 1, 2, 3, 4, 5 }, ran)
    assert.equal("limit", s.stopped)
    assert.is_true(s.ok)
    ran = {}
    new_process()
    bulk.each(range(50), { journal = path, quiet = true }, function(item) ran[#ran + 1] = item.id end)
    assert.equal(45, #ran)
    os.remove(path)
  end)

  it("stops cleanly when the daily quota is gone, leaving unfinished items unjournaled", function()
    local path = tmpname()
    local budget = 7
    local s = bulk.each(range(30), { journal = path, quiet = true, concurrency = 3 }, function()
      core.sleep(0.1)
      if budget == 0 then
        return nil, core.new_error{ kind = "rate_limited", limit = "day", reset_in = 3600, message = "day" }
      end
      budget = budget - 1
    end)
    assert.equal("daily_quota", s.stopped)
    assert.equal(3600, s.reset_in)
    assert.equal(7, s.succeeded)
    assert.equal(0, s.failed)
    assert.is_false(s.ok)
    local entries, info = journal.load(path)
    assert.equal(7, info.records)
    for _, rec in pairs(entries) do assert.equal("ok", rec.outcome) end
    -- the rerun does exactly the rest
    new_process()
    local ran = 0
    bulk.each(range(30), { journal = path, quiet = true }, function() ran = ran + 1 end)
    assert.equal(23, ran)
    os.remove(path)
  end)

  it("gathers what a dry run would change, and writes no journal", function()
    local path = tmpname()
    local s = bulk.each(range(5), { journal = path, quiet = true, dry_run = true, concurrency = 2 }, function(item)
      core.sleep(0.1)
      if item.id ~= 3 then
        local changes = diff.compute({ id = item.id, primaryEmail = "old" }, { id = item.id, primaryEmail = "new" })
        diff.notify(changes, "customer " .. item.id)
        if item.id == 1 then
          diff.notify(diff.compute({ reference = "a" }, { reference = "b" }), "customer 1")
        end
      else
        diff.notify({}, "customer 3")
      end
    end)
    assert.is_true(s.dry_run)
    assert.equal(4, s.would_change.items)
    assert.equal(5, s.would_change.changes)
    assert.same({ { field = "primaryEmail", count = 4 }, { field = "reference", count = 1 } }, s.would_change.fields)
    assert.is_nil(io.open(path, "rb"))
  end)

  it("does not journal items whose edits were dry runs even without the dry_run option", function()
    local path = tmpname()
    bulk.each(range(2), { journal = path, quiet = true }, function(item)
      diff.notify({ { field = "x", before = 1, after = 2 } }, "c " .. item.id)
    end)
    local entries, info = journal.load(path)
    assert.equal(0, info.records)
    assert.is_nil(entries["1"])
    os.remove(path)
  end)

  it("writes a CSV or JSON-lines report, one row per item", function()
    local csv, jsonl = tmpname() .. ".csv", tmpname() .. ".jsonl"
    local function fn(item)
      core.sleep(0.25)
      if item.id == 2 then error('bad, "quoted"') end
    end
    bulk.each({ { id = 1.0 }, { id = 2.0 }, { id = 3.0 } }, { report = csv, quiet = true }, fn)
    bulk.each(range(3), { report = jsonl, quiet = true }, fn)
    local lines = read_lines(csv)
    assert.equal("run,key,outcome,attempts,error,elapsed,lists,reads,writes,id", lines[1])
    assert.equal(4, #lines)
    local text = table.concat(lines, "\n")
    assert.matches('\n1,1,ok,,,0%.250,0,0,0,1', text)
    assert.matches('\n1,2,failed,,"[^\n]*bad, ""quoted""[^\n]*,2', text)
    local rows = {}
    for _, l in ipairs(read_lines(jsonl)) do local r = cjson.decode(l); rows[r.key] = r end
    assert.equal("ok", rows[1].outcome)
    assert.equal("failed", rows[2].outcome)
    assert.matches("bad", rows[2].error)
    assert.near(0.25, rows[3].elapsed, 0.001)
    os.remove(csv); os.remove(jsonl)
  end)

  it("appends a rerun's rows to the report under the next run number, with each item's columns", function()
    local csv, jsonl = tmpname() .. ".csv", tmpname() .. ".jsonl"
    local rows = { { id = 1, email = "a@x", note = "x, y" }, { id = 2, email = "b@x", nested = { 1 } } }
    local function fn(item) if item.id == 2 then error("no") end end
    bulk.each(rows, { report = csv, quiet = true }, fn)
    bulk.each(rows, { report = csv, quiet = true }, fn)
    bulk.each(rows, { report = jsonl, quiet = true }, fn)
    bulk.each(rows, { report = jsonl, quiet = true }, fn)
    local lines = read_lines(csv)
    assert.equal("run,key,outcome,attempts,error,elapsed,lists,reads,writes,email,id,note", lines[1])
    assert.equal(5, #lines)
    assert.matches('^1,1,ok,,,[%d.]+,0,0,0,a@x,1,"x, y"$', lines[2])
    assert.matches('^2,2,failed,,[^,]*no,[%d.]+,0,0,0,b@x,2,$', lines[5])
    local runs = {}
    for _, l in ipairs(read_lines(jsonl)) do
      local r = cjson.decode(l)
      runs[#runs + 1] = r.run
      assert.equal(r.key == 1 and "a@x" or "b@x", r.email)
    end
    assert.same({ 1, 1, 2, 2 }, runs)
    -- another job's report under the same name is left alone: the rows go next to it
    local s = bulk.each({ "line one" }, { report = csv, quiet = true }, function() end)
    assert.equal(csv:gsub("%.csv$", "-2.csv"), s.report)
    assert.equal("run,key,outcome,attempts,error,elapsed,lists,reads,writes,item", read_lines(s.report)[1])
    assert.equal(5, #read_lines(csv))
    os.remove(csv); os.remove(jsonl); os.remove(s.report)
  end)

  it("numbers a rerun after a last row with line breaks, appends to a spreadsheet's save, skips a broken file", function()
    local csv = require "fusebill.csv"
    local path = tmpname() .. ".csv"
    local rows = { { id = 1, name = "a" }, { id = 2, name = "line\nbreak" } }
    local function fn(item) if item.id == 2 then error("bad\nthing", 0) end end
    local function runs(file)
      local out = {}
      for row in csv.rows(file, { header = true }) do out[#out + 1] = row.run .. ":" .. row.key end
      return table.concat(out, " ")
    end
    bulk.each(rows, { report = path, quiet = true }, fn)
    bulk.each(rows, { report = path, quiet = true }, fn)
    assert.equal("1:1 1:2 2:1 2:2", runs(path))
    -- the same report saved by a spreadsheet (byte-order mark, CRLF) is still this job's
    local saved = "\239\187\191run,key,outcome,attempts,error,elapsed,lists,reads,writes,id,name\r\n" ..
      "7,1,ok,,,0.000,0,0,0,1,a\r\n"
    local f = assert(io.open(path, "wb")); f:write(saved); f:close()
    local s = bulk.each(rows, { report = path, quiet = true }, fn)
    assert.equal(path, s.report)
    assert.equal("7:1 8:1 8:2", runs(path))
    -- a report cut off inside a quoted field is not appended to (its rows would be swallowed)
    f = assert(io.open(path, "ab")); f:write('9,1,failed,,"cut off'); f:close()
    s = bulk.each(rows, { report = path, quiet = true }, fn)
    assert.equal((path:gsub("%.csv$", "-2.csv")), s.report)
    assert.equal("1:1 1:2", runs(s.report))
    os.remove(path); os.remove(s.report)
  end)

  it("redoes an item whose input changed since its journal record, and skips it when it did not", function()
    local path = tmpname()
    local ran = {}
    local function run(items, opts)
      new_process()
      ran = {}
      opts = opts or {}
      opts.journal, opts.quiet = path, true
      return bulk.each(items, opts, function(item) ran[#ran + 1] = item.id .. ":" .. item.email end)
    end
    run({ { id = 1, email = "a" }, { id = 2, email = "b" } })
    run({ { id = 1, email = "a" }, { id = 2, email = "B" } })
    assert.same({ "2:B" }, ran)
    -- opts.input: the caller says what identifies an item's intent
    run({ { id = 1, email = "x" }, { id = 2, email = "y" } }, { input = function(item) return item.id end })
    assert.same({ "1:x", "2:y" }, ran)
    run({ { id = 1, email = "z" } }, { input = function(item) return item.id end })
    assert.same({}, ran)
    os.remove(path)
  end)

  it("refuses a report name it cannot write", function()
    assert.has_error(function() bulk.each({}, { report = "x.txt", quiet = true }, function() end) end)
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() bulk.each(42, {}, function() end) end)
    assert.has_error(function() bulk.each({}, { concurrency = "x" }, function() end) end)
    assert.has_error(function() bulk.each({}, {}, nil) end)
  end)

  it("accepts each(items, fn) and an empty list", function()
    local s = bulk.each({}, function() end)
    assert.equal(0, s.processed)
    assert.is_true(s.ok)
  end)

  it("on Ctrl-C (core.wait raises) closes the journal with every finished item and raises", function()
    local path = tmpname()
    local wait = core.wait
    core.wait = function(timeout)
      if core.t >= 1.05 then error("interrupted") end
      return wait(timeout)
    end
    assert.has_error(function()
      bulk.each(range(100), { journal = path, quiet = true, concurrency = 2 }, function() core.sleep(0.1) end)
    end, "interrupted")
    local entries, info = journal.load(path)
    assert.is_true(info.records >= 18 and info.records <= 22)
    local ran = 0
    core.wait = wait
    new_process()
    bulk.each(range(100), { journal = path, quiet = true }, function() ran = ran + 1 end)
    assert.equal(100 - info.records, ran)
    assert.truthy(entries["1"])
    os.remove(path)
  end)

  it("on Ctrl-C inside an item stops without recording it, and raises", function()
    local path = tmpname()
    assert.has_error(function()
      bulk.each(range(50), { journal = path, quiet = true, concurrency = 2 }, function(item)
        core.sleep(0.1)
        if item.id == 7 then error("fusebill/x.lua:12: interrupted!") end
      end)
    end, "interrupted")
    local entries, info = journal.load(path)
    assert.is_nil(entries["7"])
    assert.is_true(info.records >= 6 and info.records <= 8)
    for _, rec in pairs(entries) do assert.equal("ok", rec.outcome) end
    os.remove(path)
  end)

  it("counts the engine's retries and 429s in the summary", function()
    local s = bulk.each(range(3), { quiet = true }, function()
      core.counters.retries = core.counters.retries + 2
      core.counters.throttled = core.counters.throttled + 1
    end)
    assert.equal(6, s.retries)
    assert.equal(3, s.throttled)
  end)
end)
