-- The example scripts, run as a user runs them: the host program against a sandbox,
-- the key in FUSEBILL_API_KEY. Checks their output and what they changed.
local sandbox = require "sandbox"
local cjson = require "cjson"

local build = os.getenv("FUSEBILL_BUILD") or "build"
local host = build .. "/fusebill"

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- runs the host with a script; returns combined output and exit status
local function run(sb, args)
  local cmd = { "FUSEBILL_API_KEY=" .. sh_quote(sb.key), sh_quote(host), "--base-url", sh_quote(sb.url),
                "--rate-limit", "none" }
  for _, a in ipairs(args) do cmd[#cmd + 1] = sh_quote(a) end
  local p = assert(io.popen(table.concat(cmd, " ") .. " 2>&1; echo \"EXIT:$?\""))
  local out = p:read("a")
  p:close()
  local status = tonumber(out:match("EXIT:(%d+)%s*$"))
  return out:gsub("EXIT:%d+%s*$", ""), status
end

local function write_tmp(content)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb"))
  f:write(content)
  f:close()
  return p
end

local function get(sb, path)
  local status, body = sb:request("GET", path)
  assert.equal(200, status, body)
  return cjson.decode(body)
end

local function put(sb, path, t)
  local status, body = sb:request("PUT", path, { body = cjson.encode(t) })
  assert.equal(200, status, body)
end

local function count_puts(sb)
  local n = 0
  for _, e in ipairs(sb:log()) do
    if e.method == "PUT" then n = n + 1 end
  end
  return n
end

local has_host = io.open(host, "rb")
if has_host then has_host:close() end

describe("example scripts", function()
  local sb

  setup(function()
    sb = sandbox.start { args = { "--rate-limit", "none" } }
  end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:control("POST", "/reset") end)

  it("refuse a mistyped flag with a suggestion, before any write (a canary --limt=2 is not a full run)", function()
    for _, script in ipairs{ "scripts/bulk_retag_customers.lua", "scripts/bulk_rename_code_family.lua" } do
      local out, status = run(sb, { script, "--limt=2" })
      assert.equal(2, status, out)
      assert.matches("Did you mean '%-%-limit'%?", out)
    end
    assert.equal(0, count_puts(sb))
  end)

  -- make two customers untidy with raw requests, as a careless import would
  local function mess_up()
    local c2 = get(sb, "/customers/2")
    c2.firstName = "  Grace  "
    c2.primaryEmail = " Grace@Example.COM "
    put(sb, "/customers", c2)
    local c6 = get(sb, "/customers/6")
    c6.companyName = "TAOCP   Inc"
    c6.primaryEmail = "DON@example.com; Knuth@Example.org"
    put(sb, "/customers", c6)
  end

  describe("normalise_customers.lua", function()
    it("tidies names and emails and leaves everything else alone", function()
      if not has_host then pending("no " .. host) return end
      mess_up()
      local before2 = get(sb, "/customers/2")
      local out, status = run(sb, { "scripts/normalise_customers.lua" })
      assert.equal(0, status, out)
      assert.matches('customer 2: firstName "  Grace  " -> "Grace"', out, 1, true)
      assert.matches('customer 2: primaryEmail " Grace@Example.COM " -> "grace@example.com"', out, 1, true)
      assert.matches('customer 6: companyName "TAOCP   Inc" -> "TAOCP Inc"', out, 1, true)
      -- the two made untidy above, and the seven the seed leaves untidy (every sixth generated one)
      assert.matches("changed 9, failed 0", out, 1, true)
      local c2 = get(sb, "/customers/2")
      assert.equal("Grace", c2.firstName)
      assert.equal("grace@example.com", c2.primaryEmail)
      assert.equal(before2.lastName, c2.lastName)
      assert.equal(before2.status, c2.status)
      local c6 = get(sb, "/customers/6")
      assert.equal("don@example.com;knuth@example.org", c6.primaryEmail)
      assert.equal("Knuth", c6.lastName)
      assert.equal("CAD", c6.currency)
    end)

    it("writes nothing with --dry-run", function()
      if not has_host then pending("no " .. host) return end
      mess_up()
      local puts = count_puts(sb)
      local out, status = run(sb, { "--dry-run", "scripts/normalise_customers.lua", "--quiet" })
      assert.equal(0, status, out)
      assert.matches("would change 9", out, 1, true)
      assert.equal(puts, count_puts(sb))
      assert.equal("  Grace  ", get(sb, "/customers/2").firstName)
    end)

    it("takes --query and --limit, and rejects unknown arguments", function()
      if not has_host then pending("no " .. host) return end
      local out, status = run(sb, { "scripts/normalise_customers.lua", "--query", "status:Draft", "--limit", "1" })
      assert.equal(0, status, out)
      assert.matches("checked 1 customers", out, 1, true)
      out, status = run(sb, { "scripts/normalise_customers.lua", "--bogus" })
      assert.equal(2, status, out)
      assert.matches("normalise_customers: unknown option '--bogus'", out, 1, true)
      assert.matches("Usage: normalise_customers.lua", out, 1, true)
      out, status = run(sb, { "scripts/normalise_customers.lua", "--limit", "0" })
      assert.equal(2, status, out)
      assert.matches("expected a positive whole number, got 0", out, 1, true)
    end)
  end)

  describe("stock lua5.4 with the C module", function()
    it("fusebill.client() explains that there is no host configuration", function()
      if require("build_info").sanitized() then pending("a sanitizer build cannot load into stock lua5.4") return end
      local so = io.open(build .. "/lua/fusebill.so", "rb")
      if not so then pending("no " .. build .. "/lua/fusebill.so") return end
      so:close()
      local code = "package.cpath = " .. ("%q"):format(build .. "/lua/?.so;") .. " .. package.cpath; " ..
        "local f = require 'fusebill'; local ok, e = pcall(f.client); print(ok, e); " ..
        "local fb = f.new{ api_key = 'k', base_url = 'http://127.0.0.1:1/v1' }; " ..
        "print(select(2, fb.customers:edit{ id = 1 }).rule)"
      local p = assert(io.popen("lua5.4 -e " .. sh_quote(code) .. " 2>&1"))
      local out = p:read("a")
      p:close()
      assert.matches("false\tfusebill.client: no host configuration", out)
      assert.matches("required", out, 1, true)
    end)
  end)

  describe("rename_tracking_codes.lua", function()
    it("renames the codes listed in the CSV (Retired ones too)", function()
      if not has_host then pending("no " .. host) return end
      local out, status = run(sb, { "scripts/rename_tracking_codes.lua" })
      assert.equal(0, status, out)
      assert.equal("Europe, Middle East and Africa", get(sb, "/SalesTrackingCodes/2").name)
      assert.equal("Partner programme (retired)", get(sb, "/SalesTrackingCodes/5").name)
      assert.equal("EU", get(sb, "/SalesTrackingCodes/2").code)
      assert.equal("Events Europe", get(sb, "/SalesTrackingCodes/6").name)
      assert.matches("renamed 2, already right 1, failed 0", out, 1, true)
    end)

    it("reads a CSV as a spreadsheet saves it: BOM, CRLF, quoted commas and quotes, any column order", function()
      if not has_host then pending("no " .. host) return end
      local csv = write_tmp("\xEF\xBB\xBFnew_name,type,code,comment\r\n" ..
        '"Europe, Middle East and Africa (""EMEA"")",Sales Tracking Code 1,EU,"checked, ok"\r\n' ..
        "\"Events, Europe\",Sales Tracking Code 3,EU,\r\n")
      local out, status = run(sb, { "scripts/rename_tracking_codes.lua", csv })
      os.remove(csv)
      assert.equal(0, status, out)
      assert.equal('Europe, Middle East and Africa ("EMEA")', get(sb, "/SalesTrackingCodes/2").name)
      assert.equal("Events, Europe", get(sb, "/SalesTrackingCodes/6").name)
      assert.matches("renamed 2, already right 0, failed 0", out, 1, true)
    end)

    it("refuses a malformed CSV before renaming anything, naming the line and column", function()
      if not has_host then pending("no " .. host) return end
      local csv = write_tmp('type,code,new_name\nSales Tracking Code 1,EU,Europe\nSales Tracking Code 3,EU,Events "Europe"\n')
      local puts = count_puts(sb)
      local out, status = run(sb, { "scripts/rename_tracking_codes.lua", csv })
      os.remove(csv)
      assert.equal(2, status, out)
      assert.matches(":3:33: field 3: a quote inside an unquoted field", out, 1, true)
      assert.equal(puts, count_puts(sb))
      assert.equal("EU", get(sb, "/SalesTrackingCodes/2").code)
    end)

    it("answers a mistake on its command line with the usage and status 2", function()
      if not has_host then pending("no " .. host) return end
      local out, status = run(sb, { "scripts/rename_tracking_codes.lua", "--bogus" })
      assert.equal(2, status, out)
      assert.matches("unknown option '--bogus'", out, 1, true)
      assert.matches("Usage: rename_tracking_codes.lua", out, 1, true)
      out, status = run(sb, { "scripts/rename_tracking_codes.lua", "/nonexistent/codes.csv" })
      assert.equal(2, status, out)
      assert.matches("rename_tracking_codes: /nonexistent/codes.csv: No such file or directory", out, 1, true)
    end)

    it("reports a code that does not exist and exits 3, as a bulk run with a failed item does", function()
      if not has_host then pending("no " .. host) return end
      local csv = write_tmp("type,code,new_name\nSales Tracking Code 1,NOPE,Nothing\n")
      local out, status = run(sb, { "scripts/rename_tracking_codes.lua", csv })
      os.remove(csv)
      assert.equal(3, status, out)
      assert.matches("NOPE: not renamed: no such code", out, 1, true)
    end)
  end)

  describe("bulk_stamp_serials.lua", function()
    it("takes the item's name from a quoted CSV field with a comma", function()
      if not has_host then pending("no " .. host) return end
      local csv = write_tmp('item_id,name,serial\r\n1,"Widget, large (""XL"")",SN-Q-1\r\n4,,SN-Q-4\r\n')
      local before4 = get(sb, "/subscriptionProductItems/4")
      local out, status = run(sb, { "scripts/bulk_stamp_serials.lua", csv, "--limit=5" })
      os.remove(csv)
      assert.equal(0, status, out)
      local item = get(sb, "/purchaseProductItems/1")
      assert.equal("SN-Q-1", item.reference)
      assert.equal('Widget, large ("XL")', item.name)
      local item4 = get(sb, "/subscriptionProductItems/4")
      assert.equal("SN-Q-4", item4.reference)
      assert.equal(before4.name, item4.name)
    end)

    it("stops at a row without a serial, naming its line", function()
      if not has_host then pending("no " .. host) return end
      local csv = write_tmp("item_id,serial\n1,SN-1\nabc,\n")
      local out, status = run(sb, { "scripts/bulk_stamp_serials.lua", csv })
      os.remove(csv)
      assert.are_not.equal(0, status, out)
      assert.matches(':3: expected a whole item_id and a serial, got "abc" and ""', out, 1, true)
      out, status = run(sb, { "scripts/bulk_stamp_serials.lua", "--limit=many" })
      assert.equal(2, status, out)
      assert.matches("expected a positive whole number, got many", out, 1, true)
    end)
  end)
end)
