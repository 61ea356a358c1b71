-- Crash and resume: a bulk run killed with SIGKILL part-way, rerun with its journal, ends with
-- every item done and none skipped. Also: the example scripts, run by the host against the
-- sandbox, and the progress display on a pseudo-terminal (and not on a pipe).
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("bulk runs in the host", function()
    pending("needs build/fusebill and build/fusebill-sandbox")
  end)
  return
end

local fusebill = require "fusebill"
local sandbox = require "sandbox"
local journal = require "fusebill.journal"

local sh_quote, tmpdir, write, read = sandbox.quote, hostrun.tmpdir, hostrun.write, hostrun.read
local host_cmd, run = hostrun.cmd, hostrun.run

local function sleep(s) os.execute("sleep " .. s) end

local RESUME_SCRIPT = [[
local fusebill = require "fusebill"
local fb = fusebill.client()
local codes = {}
for c in fb.sales_tracking_codes:list{ page_size = 1000 } do codes[#codes + 1] = c end
table.sort(codes, function(a, b) return a.id < b.id end)
local s = fusebill.each(codes, {}, function(c)
  return fb.sales_tracking_codes:edit{ id = c.id, code = c.code, name = "resumed " .. c.id }
end)
print("SUMMARY", s.succeeded, s.failed, s.skipped_journal)
os.exit(s.ok and 0 or 1)
]]

describe("bulk runs in the host", function()
  it("killed with SIGKILL part-way and rerun with its journal, does every item and skips none", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--codes", "400", "--latency", "10" } }
    finally(function() sb:stop() end)
    local N = 0
    for _ in fusebill.new{ api_key = sb.key, base_url = sb.url }.sales_tracking_codes:list{ page_size = 1000 } do
      N = N + 1
    end
    local dir = tmpdir()
    local script, jpath = dir .. "/resume.lua", dir .. "/run.journal"
    write(script, RESUME_SCRIPT)
    local args = "--journal " .. sh_quote(jpath) .. " --concurrency 4 " .. sh_quote(script)
    local cmd = host_cmd(sb, args)
    -- three runs in the background, each killed with SIGKILL once the journal holds a
    -- threshold; the journal may end in a torn line, and the next run must cope
    local n_before
    for _, threshold in ipairs{ 80, 180, 280 } do
      local p = io.popen("sh -c " .. sh_quote("echo $$; " .. host_cmd(sb, args, true) .. " >/dev/null 2>&1") ..
        " 2>/dev/null")
      local pid = assert(tonumber(p:read("l")))
      for _ = 1, 500 do
        local _, info = journal.write_offsets(jpath)
        if info.writes >= threshold then break end
        sleep(0.01)
      end
      os.execute("kill -9 " .. pid)
      p:close()
      -- an item is done once its write is journaled (killed before its own line, it is taken
      -- as done on the rerun without a request)
      local _, info = journal.write_offsets(jpath)
      n_before = info.writes
      assert.is_true(n_before >= threshold and n_before < N, "journaled before the kill: " .. n_before)
    end
    local _, _, lines = journal.write_offsets(jpath)
    local written = {}
    for rec in journal.records(jpath) do
      if rec.resource then
        assert.is_nil(written[rec.id], "code " .. tostring(rec.id) .. " written twice")   -- nothing was redone
        written[rec.id] = true
      end
    end
    assert.equal(n_before, #lines)

    local from = #sb:log()
    local out, code = run(cmd)
    assert.equal(0, code, out)
    local succeeded, failed, skipped = out:match("SUMMARY\t(%d+)\t(%d+)\t(%d+)")
    assert.equal(0, tonumber(failed))
    -- every item is done exactly once over the two runs' journals, none skipped without a record
    assert.equal(N, tonumber(succeeded) + tonumber(skipped), out)
    assert.is_true(tonumber(skipped) >= n_before)
    local entries = journal.load(jpath)
    local fb = fusebill.new{ api_key = sb.key, base_url = sb.url }
    for c in fb.sales_tracking_codes:list{ page_size = 1000 } do
      assert.equal("resumed " .. c.id, c.name)
      assert.equal("ok", entries[journal.key_string(c.id)].outcome)
    end
    -- the rerun wrote exactly the items the first run had not recorded: nothing recorded was
    -- redone, nothing unrecorded was skipped
    local puts = 0
    for i, e in ipairs(sb:log()) do
      if i > from and e.method == "PUT" and e.applied then puts = puts + 1 end
    end
    assert.equal(N - n_before, puts)
    -- over all four runs, exactly one write line per item
    local per_key = {}
    for rec in journal.records(jpath) do
      if rec.resource then
        local k = journal.key_string(rec.key)
        per_key[k] = (per_key[k] or 0) + 1
      end
    end
    for k, count in pairs(per_key) do assert.equal(1, count, "writes for item " .. k) end
    assert.is_nil(read(jpath):find(sb.key, 1, true))   -- the journal never holds the key
    os.execute("rm -rf " .. sh_quote(dir))
  end)

  it("on Ctrl-C (SIGINT) stops cleanly with its journal intact and says so", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--codes", "300", "--latency", "10" } }
    finally(function() sb:stop() end)
    local dir = tmpdir()
    local script, jpath, out_path = dir .. "/resume.lua", dir .. "/run.journal", dir .. "/out.txt"
    write(script, RESUME_SCRIPT)
    local args = "--journal " .. sh_quote(jpath) .. " --concurrency 4 " .. sh_quote(script)
    local p = io.popen("sh -c " .. sh_quote("echo $$; " .. host_cmd(sb, args, true) .. " >" .. sh_quote(out_path) ..
      " 2>&1"))
    local pid = assert(tonumber(p:read("l")))
    for _ = 1, 500 do
      local _, info = journal.load(jpath)
      if info.records >= 60 then break end
      sleep(0.01)
    end
    os.execute("kill -INT " .. pid)
    local _, _, code = p:close()
    assert.is_true(code ~= 0)
    local out = read(out_path)
    assert.matches("stopped: interrupted%. Rerun with the same journal to finish%.", out)
    local entries, info = journal.load(jpath)
    assert.is_true(info.records >= 60)
    for _, rec in pairs(entries) do assert.equal("ok", rec.outcome) end
    local rerun, rc = run(host_cmd(sb, args))
    assert.equal(0, rc, rerun)
    local succeeded, failed, skipped = rerun:match("SUMMARY\t(%d+)\t(%d+)\t(%d+)")
    assert.equal(0, tonumber(failed))
    assert.equal(info.records, tonumber(skipped))
    local n = 0
    for _ in fusebill.new{ api_key = sb.key, base_url = sb.url }.sales_tracking_codes:list{ page_size = 1000 } do
      n = n + 1
    end
    assert.equal(n, tonumber(succeeded) + tonumber(skipped))
    os.execute("rm -rf " .. sh_quote(dir))
  end)

  it("shows progress on a pseudo-terminal and not on a pipe", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none", "--codes", "60", "--latency", "20" } }
    finally(function() sb:stop() end)
    local dir = tmpdir()
    local script = dir .. "/slow.lua"
    write(script, RESUME_SCRIPT)
    local cmd = host_cmd(sb, "--concurrency 2 " .. sh_quote(script))
    local piped, code = run(cmd)
    assert.equal(0, code, piped)
    assert.is_nil(piped:find("\r", 1, true))
    assert.is_nil(piped:find("ETA", 1, true))
    assert.matches("succeeded %d+", piped)         -- the summary still comes
    write(dir .. "/pty.sh", cmd .. "\n")
    local tty = run("script -qefc " .. sh_quote("sh " .. sh_quote(dir .. "/pty.sh")) .. " /dev/null")
    assert.truthy(tty:find("\r", 1, true), tty)
    assert.matches("%d+/%d+%s+%d+%%", tty)
    assert.matches("ETA", tty)
    assert.matches("succeeded %d+", tty)
    os.execute("rm -rf " .. sh_quote(dir))
  end)

  it("runs the example scripts against the sandbox, dry run first", function()
    local sb = sandbox.start{ args = { "--rate-limit", "none" } }
    finally(function() sb:stop() end)
    local fb = fusebill.new{ api_key = sb.key, base_url = sb.url }
    local dir = tmpdir()

    -- retag: a dry run prints the diffs and sends no write
    local from = #sb:log()
    local out, code = run(host_cmd(sb, "--dry-run scripts/bulk_retag_customers.lua SPRING-TEST"))
    assert.equal(0, code, out)
    assert.matches('customerReference%.reference3: [^\n]* %-> "SPRING%-TEST"', out)
    assert.matches("would change %d+ items", out)
    for i, e in ipairs(sb:log()) do
      if i > from then assert.equal("GET", e.method) end
    end
    -- a canary of 2, then the whole run with a journal and a report
    local jpath, rpath = dir .. "/retag.journal", dir .. "/retag.csv"
    out, code = run(host_cmd(sb, "--journal " .. sh_quote(jpath) ..
      " scripts/bulk_retag_customers.lua SPRING-TEST --limit=2"))
    assert.equal(0, code, out)
    assert.matches("succeeded 2 ", out)
    out, code = run(host_cmd(sb, "--journal " .. sh_quote(jpath) ..
      " scripts/bulk_retag_customers.lua SPRING-TEST --report=" .. sh_quote(rpath)))
    assert.equal(0, code, out)
    assert.matches("succeeded %d+  failed 0  skipped 2 ", out)   -- the canary's two carry the tag
    for c in fb.customers:list{ query = "status:Active", page_size = 1000 } do
      assert.equal("SPRING-TEST", c.customerReference.reference3)
    end
    assert.matches("^run,key,outcome,attempts,error,elapsed,lists,reads,writes,", read(rpath))

    -- serials from the CSV
    out, code = run(host_cmd(sb, "--concurrency 8 scripts/bulk_stamp_serials.lua"))
    assert.equal(0, code, out)
    local item = assert(fb.purchase_product_items:get(1))
    assert.equal("SN-2026-00001", item.reference)
    item = assert(fb.subscription_product_items:get(4))
    assert.equal("SN-2026-00004", item.reference)

    -- a family of codes
    out, code = run(host_cmd(sb, "scripts/bulk_rename_code_family.lua 'Sales Tracking Code 1' 'Region: '"))
    assert.equal(0, code, out)
    for c in fb.sales_tracking_codes:list{ type = "Sales Tracking Code 1", page_size = 1000 } do
      assert.equal("Region: " .. c.code, c.name)
    end
    os.execute("rm -rf " .. sh_quote(dir))
  end)
end)
