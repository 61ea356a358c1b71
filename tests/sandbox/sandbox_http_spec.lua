-- The sandbox's HTTP surface: auth, rate-limit headers and 429, bad requests that must
-- get clean errors (the server stays up), the control API, TLS, --data/--save, --log.
local cjson = require "cjson"
local sandbox = require "sandbox"

local function msg(raw) return cjson.decode(raw).Errors[1].Value end

describe("sandbox http", function()
  local sb
  setup(function() sb = sandbox.start{ args = { "--rate-limit", "none" } } end)
  teardown(function() sb:stop() end)

  it("auth: missing or unknown key 401, not base64 400, with the envelope", function()
    local status, raw, h = sb:request("GET", "/customers/1", { key = false })
    assert.equal(401, status)
    assert.equal(401, cjson.decode(raw).HttpStatusCode)
    assert.truthy(h["x-rate-limit-limit-day"])
    status = sb:request("GET", "/customers/1", { key = "MDpvdGhlcg==" })
    assert.equal(401, status)
    status, raw = sb:request("GET", "/customers/1", { key = "not base64!" })
    assert.equal(400, status)
    assert.equal("Authorization key is not in the correct format.", msg(raw))
  end)

  -- the real API's first message stays first; the sandbox's hint is a second entry
  local function hint(raw) return cjson.decode(raw).Errors[2].Value end

  it("says what a request lacks: the key, the Basic scheme, the right key, base64", function()
    local status, raw = sb:request("GET", "/customers/1", { key = false })
    assert.equal(401, status)
    assert.equal("Authorization has been denied for this request.", msg(raw))
    assert.matches("no Authorization header; send 'Authorization: Basic <key>'", hint(raw), 1, true)
    assert.matches("MDpzYW5kYm94", hint(raw), 1, true)
    status, raw = sb:request("GET", "/customers/1", { key = false, headers = { Authorization = "Bearer abc" } })
    assert.equal(401, status)
    assert.matches("must read 'Basic <key>', not 'Bearer ...'", hint(raw), 1, true)
    status, raw = sb:request("GET", "/customers/1", { key = "MDpvdGhlcg==" })
    assert.equal(401, status)
    assert.matches("the key sent is not this sandbox's", hint(raw), 1, true)
    status, raw = sb:request("GET", "/customers/1", { key = "not base64!" })
    assert.equal(400, status)
    assert.matches("a key is base64", hint(raw), 1, true)
  end)

  it("answers a path without /v1 with 404 and the path it meant, before asking for the key", function()
    for _, key in ipairs{ false, sb.key } do
      local status, raw = sb:request("GET", sb.base .. "/customers/1", { key = key })
      assert.equal(404, status)
      assert.equal(404, cjson.decode(raw).HttpStatusCode)
      assert.equal("No HTTP resource was found that matches the request URI '/customers/1'.", msg(raw))
      assert.equal("Sandbox: API paths start with /v1 (did you mean /v1/customers/1?).", hint(raw))
    end
    local status, raw = sb:request("GET", sb.base .. "/nowhere/7")
    assert.equal(404, status)
    assert.equal("Sandbox: API paths start with /v1.", hint(raw))
  end)

  it("bad requests get clean errors and the server stays up", function()
    local cases = {
      { "PUT", "/customers", "{not json", 400, "The request body is not valid JSON" },
      { "PUT", "/customers", "[1,2]", 400, "The request body must be a JSON object." },
      { "PUT", "/customers", "", 400, "The request body is empty." },
      { "PUT", "/customers", '{"id":"seven","status":1}', 400, "id: must be an integer." },
      { "GET", "/nowhere", nil, 404, "No HTTP resource was found" },
      { "GET", "/customers/abc", nil, 404, "No HTTP resource was found" },
      { "DELETE", "/customers/1", nil, 405, "does not support http method 'DELETE'" },
      { "PATCH", "/SalesTrackingCodes", "{}", 405, "does not support" },
      { "PUT", "/customers", '{"id":1e999,"status":"Active"}', 400, "" },
    }
    for _, c in ipairs(cases) do
      local status, raw = sb:request(c[1], c[2], { body = c[3] })
      assert.equal(c[4], status, c[1] .. " " .. c[2])
      assert.equal(c[4], cjson.decode(raw).HttpStatusCode)
      assert.truthy(msg(raw):find(c[5], 1, true), msg(raw))
    end
    local huge = '{"id":1,"status":"Active","firstName":"' .. string.rep("x", 1100 * 1024) .. '"}'
    local status, raw = sb:request("PUT", "/customers", { body = huge })
    assert.equal(413, status)
    assert.equal(413, cjson.decode(raw).HttpStatusCode)
    -- JavaScript-style bodies as in Fusebill's own samples
    status = sb:request("PUT", "/customers", { body = "{id: 2, status: 'Draft', firstName: 'Js'}" })
    assert.equal(200, status)
    assert.equal(200, (sb:request("GET", "/customers/1")))
  end)

  it("rate limit: headers on every response, 429 over the limit, window resets", function()
    sb:set_limits{ rate_limit = "5/2s", daily_limit = "1000" }
    finally(function() sb:set_limits{ rate_limit = "none", daily_limit = "180000" } end)
    -- start just after a window boundary so the burst fits in one window
    local _, _, h0 = sb:request("GET", "/customers/1")
    local wait = tonumber(h0["x-rate-limit-reset-minute-seconds"])
    os.execute(("sleep %.3f"):format(wait + 0.05))
    local statuses, last = {}, nil
    for i = 1, 6 do
      local status, raw, h = sb:request("GET", "/customers/1")
      statuses[i], last = status, { raw = raw, h = h }
      assert.equal("5", h["x-rate-limit-limit-minute"])
      assert.equal("1000", h["x-rate-limit-limit-day"])
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", h["x-rate-limit-reset-minute"])
      assert.truthy(h["x-rate-limit-remaining-day"] and h["x-rate-limit-reset-day"])
    end
    assert.same({ 200, 200, 200, 200, 200, 429 }, statuses)
    assert.equal("0", last.h["x-rate-limit-remaining-minute"])
    assert.is_nil(last.h["retry-after"])
    assert.equal("Rate limit exceeded: 5 requests per 2 seconds.", msg(last.raw))
    os.execute(("sleep %.3f"):format(tonumber(last.h["x-rate-limit-reset-minute-seconds"]) + 0.05))
    assert.equal(200, (sb:request("GET", "/customers/1")))
  end)

  it("daily limit gives its own 429 message", function()
    sb:set_limits{ rate_limit = "none", daily_limit = "2/1h" }
    finally(function() sb:set_limits{ daily_limit = "180000" } end)
    sb:request("GET", "/customers/1")
    sb:request("GET", "/customers/1")
    local status, raw, h = sb:request("GET", "/customers/1")
    assert.equal(429, status)
    assert.equal("Daily rate limit exceeded: 2 requests per 3600 seconds.", msg(raw))
    assert.is_nil(h["x-rate-limit-limit-minute"])
  end)

  it("control API: state, log, reset, load", function()
    sb:reset()
    sb:request("PUT", "/customers", { body = { id = 1, status = "Active", firstName = "Log" } })
    sb:request("GET", "/customers/2")
    local log = sb:log()
    assert.equal(2, #log)
    assert.same({ "PUT", "/v1/customers", 200, true }, { log[1].method, log[1].path, log[1].status, log[1].applied })
    assert.is_nil(log[2].applied)
    assert.equal(1, #sb:log(log[1].seq))
    local st = sb:state()
    assert.equal(50, #st.customers)
    assert.equal("Log", st.customers[1].firstName)
    assert.truthy(st.summary.customers)
    st.customers = { st.customers[2] }
    sb:control("POST", "/load", st)
    assert.equal(404, (sb:request("GET", "/customers/1")))
    assert.equal(200, (sb:request("GET", "/customers/2")))
    sb:reset{ customers = 2 }
    assert.equal(10, #sb:state().customers)
    sb:reset()
  end)

  it("control API: absurd sizes, wrong types and unknown fields get a 400 naming the field, and change nothing", function()
    sb:reset()
    local function refused(path, body, pattern)
      local v, status = sb:control("POST", path, body)
      assert.equal(400, status, path .. " " .. cjson.encode(body))
      assert.matches(pattern, v.Errors[1].Value)
    end
    refused("/reset", { customers = 1e8 }, "customers must be a whole number from 0 to 1000000, got 1")
    refused("/reset", { customers = "many" }, "customers must be a whole number")
    refused("/reset", { customers = 2.5 }, "customers must be a whole number")
    refused("/reset", { seed = {} }, "seed must be a whole number")
    refused("/reset", { costumers = 2 }, "Unknown field 'costumers'")
    refused("/limits", { hang_ms = "soon" }, "hang_ms must be a whole number")
    refused("/limits", { status_via_put = "yes" }, "status_via_put must be true or false")
    refused("/limits", { reset_format = "julian" }, "reset format must be one of iso, iso_ms")
    refused("/limits", { clock_skew = 1e9 }, "clock skew")
    refused("/limits", { rate_limit = "100/2s", clock_skew = "x" }, "clock_skew must be a number")
    refused("/faults", { spec = 42 }, "spec must be a string or null")
    assert.equal(50, #sb:state().customers)
    assert.equal("none", sb:control("GET", "/config").rate_limit)   -- the limits call above changed nothing
  end)

  it("reset format and clock skew: the Date header and every reset follow the server's clock", function()
    finally(function() sb:set_limits{ rate_limit = "none", reset_format = "iso_ms", clock_skew = 0 } end)
    local function headers(format, skew)
      local v = sb:set_limits{ rate_limit = "10/2s", reset_format = format, clock_skew = skew }
      assert.equal(format, v.reset_format)
      local status, _, h = sb:request("GET", "/customers/1")
      assert.equal(200, status)
      return h, os.time()
    end
    local shapes = {
      iso = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", iso_ms = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$",
      epoch = "^%d+$", epoch_ms = "^%d+$", delta = "^%d%.%d%d%d$", rfc1123 = "^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$",
    }
    for format, shape in pairs(shapes) do
      local h = headers(format, 0)
      assert.matches(shape, h["x-rate-limit-reset-minute"], nil, false)
    end
    local h, now = headers("epoch", 3600)
    local function http_date_epoch(d)
      local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
                       Nov = 11, Dec = 12 }
      local day, mon, year, hh, mm, ss = d:match("^%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT$")
      local t = os.time{ year = tonumber(year), month = months[mon], day = tonumber(day), hour = tonumber(hh),
                         min = tonumber(mm), sec = tonumber(ss) }
      return t - (os.time(os.date("*t", t)) - os.time(os.date("!*t", t)))   -- the broken-down time was UTC
    end
    local date = http_date_epoch(h.date)
    assert.is_true(math.abs(date - now - 3600) <= 2, h.date)
    local reset = tonumber(h["x-rate-limit-reset-minute"])
    assert.is_true(reset > date - 1 and reset <= date + 2, h["x-rate-limit-reset-minute"] .. " vs " .. h.date)
  end)

  it("a loaded state keeps whole numbers whole (ids in uris read 1, not 1.0)", function()
    sb:reset()
    local function first_code_uri()
      local status, body = sb:request("GET", "/customers/1")
      assert.equal(200, status)
      return cjson.decode(body).customerReference.salesTrackingCodes[1].uri
    end
    local before = first_code_uri()
    assert.matches("/SalesTrackingCodes/%d+$", before)
    sb:control("POST", "/load", sb:state())
    assert.equal(before, first_code_uri())
    sb:reset()
    local _, status = sb:control("POST", "/faults", { spec = "bogus=1" })
    assert.equal(400, status)
  end)

  it("--data, --save and --log", function()
    local dir = os.tmpname()
    local data, save, logf = dir .. ".in.json", dir .. ".out.json", dir .. ".log"
    local st = sb:state()
    st.customers = { st.customers[1] }
    local f = assert(io.open(data, "w"))
    f:write(cjson.encode(st))
    f:close()
    local other = sandbox.start{ args = { "--data", data, "--save", save, "--log", logf } }
    assert.equal(404, (other:request("GET", "/customers/2")))
    assert.equal(200, (other:request("PUT", "/customers", { body = { id = 1, status = "Active", firstName = "Saved" } })))
    other:stop()
    local saved = cjson.decode(io.open(save):read("a"))
    assert.equal("Saved", saved.customers[1].firstName)
    local lines = io.open(logf):read("a")
    assert.truthy(lines:find('"method":"PUT"', 1, true))
    assert.falsy(lines:find(sb.key, 1, true))
    for _, p in ipairs({ dir, data, save, logf }) do os.remove(p) end
  end)

  it("TLS: HTTPS with the certificate, and a client check fails without it", function()
    local tls = sandbox.start{ tls = true }
    finally(function() tls:stop() end)
    assert.matches("^https://", tls.url)
    assert.equal(200, (tls:request("GET", "/customers/1")))
    local status, err, _, rc = tls:request("GET", "/customers/1", { cacert = false })
    assert.is_nil(status)
    assert.equal(60, rc, err)
  end)
end)
