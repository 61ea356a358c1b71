-- What a bulk run costs in requests, read from the sandbox's request log: a list-driven run
-- sends one list request per 1,000 items, no per-item GET and one PUT per customer that
-- changes; the next page is asked for while the current one is worked; id-driven reads list
-- customers by sets and ranges of ids under the query-string limit (one GET per id for the
-- other resources); unchanged items are counted apart in the summary, report and journal.
local fusebill = require "fusebill"
local report_mod = require "fusebill.report"
local sandbox = require "sandbox"

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function read_lines(path)
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  return lines
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- the request-log entries after the first `from`, with each query's parameters decoded
local function log_after(sb, from)
  local out = {}
  for i, e in ipairs(sb:log()) do
    if i > from then
      e.q = {}
      for k, v in (e.query or ""):gmatch("([^&=]+)=([^&]*)") do e.q[k] = unescape(v) end
      out[#out + 1] = e
    end
  end
  return out
end

local function count(entries, pred)
  local n = 0
  for _, e in ipairs(entries) do if pred(e) then n = n + 1 end end
  return n
end

local function is_list(e) return e.method == "GET" and e.path == "/v1/customers" end
local function is_read(e) return e.method == "GET" and e.path:find("^/v1/customers/%d+$") ~= nil end
local function is_put(e) return e.method == "PUT" end

-- every customer of a state dump by id, without the fields a run may change
local function customers_of(state, ...)
  local drop = { modifiedTimestamp = true }
  for _, f in ipairs{ ... } do drop[f] = true end
  local by_id = {}
  for _, c in ipairs(state.customers) do
    for f in pairs(drop) do c[f] = nil end
    by_id[c.id] = c
  end
  return by_id
end

-- one customer in ten already called Acme; returns how many
local function preset_one_in_ten(fb, sb)
  local n = 0
  for _, c in ipairs(sb:state().customers) do
    if c.id % 10 == 3 then
      assert(fb.customers:update(c.id, { companyName = "Acme" }))
      n = n + 1
    end
  end
  return n
end

describe("a list-driven bulk update", function()
  local sb, fb
  setup(function()
    sb = sandbox.start{ args = { "--rate-limit", "none", "--customers", "342" } }   -- 350 in all
    fb = sb:client()
  end)
  teardown(function() sb:stop() end)

  it("sends one list request per 1,000 items, no GET per item, one PUT per customer that changes", function()
    local total = #sb:state().customers
    local preset = preset_one_in_ten(fb, sb)
    assert.is_true(total >= 300 and preset >= 30)
    local before = customers_of(sb:state(), "companyName")
    local journal, csv = tmpname(), tmpname() .. ".csv"
    local from = #sb:log()
    local s = fusebill.each(fb.customers:list{}, { concurrency = 8, quiet = true, journal = journal, report = csv },
      function(c) return fb.customers:update(c, { companyName = "Acme" }) end)
    local log = log_after(sb, from)
    local changed = total - preset

    assert.equal(1, count(log, is_list))
    assert.equal("1000", log[1].q.pageSize)
    assert.equal(0, count(log, is_read))
    assert.equal(changed, count(log, is_put))
    assert.equal(#log, 1 + changed)

    -- every field not asked to change kept its value, nested objects included
    local after = sb:state()
    for _, c in ipairs(after.customers) do assert.equal("Acme", c.companyName) end
    assert.same(before, customers_of(after, "companyName"))

    -- the summary counts the unchanged apart, and what the run cost
    assert.equal(preset, s.unchanged)
    assert.equal(changed, s.succeeded)
    assert.equal(0, s.failed)
    assert.is_true(s.ok)
    assert.same({ 1, 0, changed, 1 + changed }, { s.lists, s.reads, s.writes, s.requests })
    assert.near((1 + changed) / changed, s.requests_per_change, 1e-9)
    local text = report_mod.summary_text(s)
    assert.matches(("succeeded %d  unchanged %d  failed 0"):format(changed, preset), text)
    assert.matches(("requests %d: 1 list, 0 read, %d write; "):format(1 + changed, changed) ..
      "1%.%d+ per changed edit", text)

    -- the report: the unchanged rows, and columns that add up to the summary's figures
    local lines = read_lines(csv)
    assert.matches("^run,key,outcome,attempts,error,elapsed,lists,reads,writes,", lines[1])
    local unchanged, sums = 0, { 0, 0, 0 }
    for i = 2, #lines do
      local outcome, lists, reads, writes = lines[i]:match("^%d+,%d+,(%a+),[^,]*,[^,]*,[^,]*,(%d+),(%d+),(%d+),")
      if outcome == "unchanged" then unchanged = unchanged + 1 end
      sums[1], sums[2], sums[3] = sums[1] + lists, sums[2] + reads, sums[3] + writes
    end
    assert.equal(preset, unchanged)
    assert.same({ 1, 0, changed }, sums)

    -- the journal says unchanged too, and a rerun sends nothing but the list
    local in_journal = 0
    for _, l in ipairs(read_lines(journal)) do
      if l:find('"outcome":"unchanged"', 1, true) then in_journal = in_journal + 1 end
    end
    assert.equal(preset, in_journal)
    from = #sb:log()
    s = fusebill.each(fb.customers:list{}, { concurrency = 8, quiet = true, journal = journal },
      function(c) return fb.customers:update(c, { companyName = "Acme" }) end)
    log = log_after(sb, from)
    assert.equal(0, count(log, is_put))
    assert.equal(1, #log)
    assert.equal(0, s.failed)
    os.remove(journal); os.remove(csv)
  end)

  it("exits 0 when every item is unchanged, and says what the run cost (the example script, twice)", function()
    local cli = require "cli"
    local cmd = "--base-url " .. cli.q(sb.url) .. " scripts/bulk_retag_customers.lua COST-TEST"
    local code, _, err = cli.run(cmd, { FUSEBILL_API_KEY = sb.key })
    assert.equal(0, code, err)
    local tagged = tonumber(err:match("succeeded (%d+)"))
    assert.is_true(tagged > 0, err)
    assert.matches(("requests %d: 1 list, 0 read, %d write"):format(tagged + 1, tagged), err)
    code, _, err = cli.run(cmd, { FUSEBILL_API_KEY = sb.key })
    assert.equal(0, code, err)
    assert.matches(("succeeded 0  unchanged %d  failed 0"):format(tagged), err)
    assert.matches("requests 1: 1 list, 0 read, 0 write\n", err)
  end)

  it("reads 1,000 a page however many items there are", function()
    local sb2 = sandbox.start{ args = { "--rate-limit", "none", "--customers", "2450" } }   -- 2,458 in all
    finally(function() sb2:stop() end)
    local fb2 = sb2:client()
    local from = #sb2:log()
    local n = 0
    for _ in fb2.customers:list{} do n = n + 1 end
    local log = log_after(sb2, from)
    assert.equal(2458, n)
    assert.equal(3, #log)
    for i, e in ipairs(log) do
      assert.equal("1000", e.q.pageSize)
      assert.equal(tostring(i - 1), e.q.pageNumber)
    end
  end)
end)

describe("a list's next page", function()
  local sb, fb, page0_last
  setup(function()
    sb = sandbox.start{ args = { "--rate-limit", "none", "--latency", "40", "--customers", "142" } }   -- 150
    fb = sb:client()
    local page = assert(fb.customers:list_page{ page_size = 50 })
    page0_last = page.items[50].id
  end)
  teardown(function() sb:stop() end)

  -- whether the request for page 1 (of 50 items each) is in the sandbox's log
  local function page1_asked(from)
    return count(log_after(sb, from), function(e) return is_list(e) and e.q.pageNumber == "1" end) == 1
  end

  it("is asked for before the current page's last item is worked, in a plain loop", function()
    local from = #sb:log()
    local asked, n = nil, 0
    for c in fb.customers:list{ page_size = 50 } do
      n = n + 1
      if c.id == page0_last then asked = page1_asked(from) end
      assert(fb.customers:update(c, { reference = "R" .. c.id }))
    end
    assert.equal(150, n)
    assert.is_true(asked)
    assert.equal(3, count(log_after(sb, from), is_list))
  end)

  it("is asked for before the current page's last item is worked, inside fusebill.each", function()
    local from = #sb:log()
    local asked
    local s = fusebill.each(fb.customers:list{ page_size = 50 }, { concurrency = 4, quiet = true }, function(c)
      if c.id == page0_last then asked = page1_asked(from) end
      return fb.customers:update(c, { reference = "S" .. c.id })
    end)
    assert.equal(150, s.succeeded)
    assert.is_true(asked)
    assert.equal(3, s.lists)
  end)

  it("raises a page's failure from the loop, after the items before it", function()
    local from = #sb:log()
    sb:set_faults("GET /v1/customers:500=1")
    finally(function() sb:set_faults("") end)
    local few = sb:client()   -- one attempt: the fault is not retried
    local ok, err = pcall(function() for _ in few.customers:list{ page_size = 50 } do end end)
    assert.is_false(ok)
    assert.equal("server", err.kind)
    assert.equal(1, count(log_after(sb, from), is_list))
  end)
end)

describe("an id-driven bulk update", function()
  local sb, fb
  setup(function()
    sb = sandbox.start{ args = { "--rate-limit", "none", "--customers", "2492" } }   -- ids 1..2500
    fb = sb:client()
  end)
  teardown(function() sb:stop() end)

  local function ids_of(list)
    local ids = {}
    for v in fb.customers:get_many(list) do ids[#ids + 1] = fusebill.is_error(v) and -v.id or v.id end
    return ids
  end

  it("reads dense ids in ranges, 1,000 a request", function()
    local list = {}
    for i = 2500, 1, -1 do list[#list + 1] = tostring(i) end   -- from a CSV: strings, any order
    local from = #sb:log()
    local got = ids_of(list)
    local log = log_after(sb, from)
    assert.equal(2500, #got)
    for i = 1, 2500 do assert.equal(i, got[i]) end
    assert.same({ "id:1|1000", "id:1001|2000", "id:2001|2500" }, { log[1].q.query, log[2].q.query, log[3].q.query })
    assert.equal(3, #log)
  end)

  it("reads scattered ids in sets that fit the query-string limit, and says which are missing", function()
    local list = {}
    for i = 1, 2500, 7 do list[#list + 1] = i end
    for i = 100000, 100004 do list[#list + 1] = i end
    local from = #sb:log()
    local got = ids_of(list)
    local log = log_after(sb, from)
    assert.equal(#list, #got)
    assert.equal(-100004, got[#got])
    assert.equal(2, #log)                        -- 362 ids of 1 to 6 digits: two sets
    for _, e in ipairs(log) do
      assert.equal(200, e.status)
      assert.is_true(#e.query <= 2048, #e.query .. " bytes")
      assert.matches("^id:[%d,]+$", e.q.query)
    end
  end)

  it("keeps to a lower limit when told, and the sandbox refuses a longer query as IIS does", function()
    local tight = sandbox.start{ args = { "--rate-limit", "none", "--customers", "2992", "--max-query-length", "512" } }
    finally(function() tight:stop() end)
    local fbt = tight:client()
    local list = {}
    for i = 1, 3000, 20 do list[#list + 1] = i end   -- too sparse for ranges: sets
    local from = #tight:log()
    local n = 0
    for v in fbt.customers:get_many(list, { max_query_length = 512 }) do
      assert.is_false(fusebill.is_error(v))
      n = n + 1
    end
    local log = log_after(tight, from)
    assert.equal(#list, n)
    assert.is_true(#log > 1)
    for _, e in ipairs(log) do
      assert.equal(200, e.status)
      assert.is_true(#e.query <= 512)
    end
    -- a client that believes the limit is higher than the server's
    local ok, err = pcall(function() for _ in fbt.customers:get_many(list) do end end)
    assert.is_false(ok)
    assert.equal("not_found", err.kind)
    assert.equal(404, err.status)
    assert.matches("404 %- File or directory not found", err.message)
  end)

  it("costs one list request per 1,000 ids (and one for a stray id) and one PUT per change", function()
    local preset = preset_one_in_ten(fb, sb)
    local ids = {}
    for i = 1, 2500 do ids[i] = i end
    ids[#ids + 1] = 99999                         -- not a customer: fails as update(99999) would
    local from = #sb:log()
    local s = fusebill.each(fb.customers:get_many(ids), { concurrency = 8, quiet = true },
      function(c) return fb.customers:update(c, { companyName = "Acme" }) end)
    local log = log_after(sb, from)
    local changed = 2500 - preset
    assert.equal(4, count(log, is_list))         -- 3 ranges, and a set of the one id beyond them
    assert.equal(0, count(log, is_read))
    assert.equal(changed, count(log, is_put))
    assert.same({ changed, preset, 1 }, { s.succeeded, s.unchanged, s.failed })
    assert.equal(99999, s.errors[1].key)
    assert.equal("not_found", s.errors[1].kind)
    assert.equal(4 + changed, s.requests)
  end)

  it("reads the other resources one GET per id", function()
    local from = #sb:log()
    local got = {}
    for v in fb.sales_tracking_codes:get_many{ 3, "1", 999, 2, 1 } do
      got[#got + 1] = fusebill.is_error(v) and v.kind or v.code
    end
    assert.same({ "APAC", "NA", "not_found", "EU" }, got)
    local log = log_after(sb, from)
    assert.equal(4, #log)
    for _, e in ipairs(log) do assert.matches("^/v1/SalesTrackingCodes/%d+$", e.path) end
  end)
end)
