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
      assert.matches("usage", out, 1, true)
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

    it("reports a code that does not exist and exits non-zero", function()
      if not has_host then pending("no " .. host) return end
      local csv = os.tmpname()
      local f = assert(io.open(csv, "w"))
      f:write("type,code,new_name\nSales Tracking Code 1,NOPE,Nothing\n")
      f:close()
      local out, status = run(sb, { "scripts/rename_tracking_codes.lua", csv })
      os.remove(csv)
      assert.equal(1, status, out)
      assert.matches("NOPE: not renamed: no such code", out, 1, true)
    end)
  end)
end)
