-- Each fault kind of the sandbox, checked over real HTTP, with the request log and the
-- state telling whether the write was applied.
-- luacheck: ignore 311 (calls are made for their effect; only some results are checked)
local cjson = require "cjson"
local sandbox = require "sandbox"

describe("sandbox faults", function()
  local sb
  setup(function() sb = sandbox.start{ args = { "--rate-limit", "none", "--hang", "1500" } } end)
  teardown(function() sb:stop() end)
  before_each(function()
    sb:set_faults("")
    sb:reset()
  end)

  local function put_item(ref)
    return sb:request("PUT", "/purchaseProductItems", { body = { id = 1, reference = ref }, timeout = 5 })
  end
  local function reference()
    return sb:state().trackedItems[1].reference
  end
  local function last_log()
    local l = sb:log()
    return l[#l]
  end

  it("reset-before: RST, write not applied", function()
    sb:set_faults("PUT:reset-before=1")
    local status, err, _, rc = put_item("RB")
    assert.is_nil(status)
    assert.equal(56, rc, err)
    assert.equal("LIC-1", reference())
    local e = last_log()
    assert.same({ "reset-before", false, 0 }, { e.fault, e.applied, e.status })
  end)

  it("reset-after: RST, write applied", function()
    sb:set_faults("PUT /v1/purchaseProductItems:reset-after=1")
    local status, err, _, rc = put_item("RA")
    assert.is_nil(status)
    assert.equal(56, rc, err)
    assert.equal("RA", reference())
    local e = last_log()
    assert.same({ "reset-after", true, 200 }, { e.fault, e.applied, e.status })
  end)

  it("empty reply, not applied", function()
    sb:set_faults("empty=1")
    local status, _, _, rc = put_item("E")
    assert.is_nil(status)
    assert.equal(52, rc)
    assert.equal("LIC-1", reference())
  end)

  it("truncated body, applied", function()
    sb:set_faults("truncated=1")
    local status, _, _, rc = put_item("T")
    assert.is_nil(status)
    assert.equal(18, rc)
    assert.equal("T", reference())
  end)

  it("malformed body with status 200, applied", function()
    sb:set_faults("malformed=1")
    local status, raw = put_item("M")
    assert.equal(200, status)
    assert.is_false((pcall(cjson.decode, raw)))
    assert.equal("M", reference())
  end)

  it("429 with and without Retry-After, not applied", function()
    sb:set_faults("429=1")
    local status, raw, h = put_item("X")
    assert.equal(429, status)
    assert.equal(429, cjson.decode(raw).HttpStatusCode)
    assert.is_nil(h["retry-after"])
    assert.truthy(h["x-rate-limit-limit-minute"] or h["x-rate-limit-limit-day"])
    sb:set_faults("429-retry-after(7)=1")
    status, raw, h = put_item("X")
    assert.equal(429, status)
    assert.equal("7", h["retry-after"])
    assert.equal("LIC-1", reference())
  end)

  it("5xx with a JSON envelope and with HTML, not applied", function()
    for _, code in ipairs({ 500, 502, 503, 504 }) do
      sb:set_faults(code .. "=1")
      local status, raw = put_item("X")
      assert.equal(code, status)
      assert.equal(code, cjson.decode(raw).HttpStatusCode)
      sb:set_faults(code .. "-html=1")
      local status2, raw2, h = put_item("X")
      assert.equal(code, status2)
      assert.matches("^text/html", h["content-type"])
      assert.truthy(raw2:find("<html>", 1, true))
    end
    assert.equal("LIC-1", reference())
  end)

  it("hang until the client gives up, not applied; the server keeps serving", function()
    sb:set_faults("PUT:hang=1")
    local status, _, _, rc = sb:request("PUT", "/purchaseProductItems", { body = { id = 1, reference = "H" }, timeout = 0.5 })
    assert.is_nil(status)
    assert.equal(28, rc)
    assert.equal(200, (sb:request("GET", "/customers/1")))
    assert.equal("LIC-1", reference())
  end)

  it("latency delays without blocking other requests", function()
    sb:set_faults("GET /v1/customers:latency(300)=1")
    local t = os.time()
    assert.equal(200, (sb:request("GET", "/customers/1")))
    assert.equal(200, (sb:request("GET", "/SalesTrackingCodes/1", { timeout = 0.25 })))  -- not delayed
    assert.equal("latency", last_log().fault == nil and sb:log()[1].fault)
    assert.truthy(os.time() - t < 5)
  end)

  it("stale keep-alive: the second request on a reused connection is refused or reconnects", function()
    sb:set_faults("GET:stale=1")
    -- two URLs in one curl run reuse the connection unless the server closed it
    local cmd = ("curl -s -o /dev/null -o /dev/null -w '%%{num_connects} ' -H 'Authorization: Basic %s' "
      .. "%s/customers/1 %s/customers/2"):format(sb.key, sb.url, sb.url)
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    assert.equal("1 1 ", out)  -- the server closed the idle connection: curl had to connect again
    sb:set_faults("")
    p = io.popen(cmd)
    out = p:read("a")
    p:close()
    assert.equal("1 0 ", out)  -- without the fault the connection is reused
  end)

  it("faults are selected per method and path, and reproducible with a seed", function()
    sb:set_faults("PUT:500=1")
    assert.equal(200, (sb:request("GET", "/customers/1")))
    assert.equal(500, (put_item("X")))
    local function run()
      sb:set_faults("GET:503=0.5", 42)
      local out = {}
      for i = 1, 12 do out[i] = (sb:request("GET", "/customers/1")) end
      return table.concat(out, ",")
    end
    local a, b = run(), run()
    assert.equal(a, b)
    assert.truthy(a:find("503", 1, true) and a:find("200", 1, true))
  end)

  it("control calls are never faulted or logged", function()
    sb:set_faults("*:500=1")
    local st, status = sb:control("GET", "/state")
    assert.equal(200, status)
    assert.truthy(st.customers)
    assert.equal(0, #sb:log())
  end)
end)
