-- The sandbox answers list queries as the reference says the API does and no more
-- generously: pages of at most 1,000, ids by comma-separated sets or one from|to range (not
-- both in one clause), ranges of numbers and dates only; and, like IIS in front of the real
-- API, it refuses a query string over --max-query-length bytes (2,048 by default) with IIS's
-- 404 page, before the API counts the request against the rate limit.
local cjson = require "cjson"
local sandbox = require "sandbox"

describe("sandbox list queries", function()
  local sb
  -- a day-long window: an epoch-aligned minute could roll over between two requests that the
  -- test counts
  setup(function() sb = sandbox.start{ args = { "--customers", "1200", "--rate-limit", "100000/86400s" } } end)
  teardown(function() sb:stop() end)

  local function get(path)
    local status, raw, headers = sb:request("GET", path)
    local ok, v = pcall(cjson.decode, raw)
    return status, ok and v or raw, headers
  end
  local function ids(list)
    local out = {}
    for i, c in ipairs(list) do out[i] = c.id end
    return out
  end

  it("filters ids by a set and by a range, both ends included", function()
    local status, list = get("/customers?query=id%3A3%2C9%2C5")
    assert.equal(200, status)
    assert.same({ 3, 5, 9 }, ids(list))
    status, list = get("/customers?query=id%3A998%7C1002&pageSize=1000")
    assert.equal(200, status)
    assert.same({ 998, 999, 1000, 1001, 1002 }, ids(list))
  end)

  it("pages in id order both ways and by another field, and shows new and rewritten records at once", function()
    local status, list, headers = get("/customers?pageSize=5&pageNumber=2")
    assert.equal(200, status)
    assert.same({ 11, 12, 13, 14, 15 }, ids(list))
    local total = tonumber(headers["x-maxcount"])
    list = select(2, get("/customers?pageSize=3&sortOrder=Descending"))
    assert.same({ total, total - 1, total - 2 }, ids(list))
    -- a record rewritten by a PUT is listed as it is now; a new one is listed at once
    local c = select(2, get("/customers/12"))
    c.firstName = "Zzzz"
    assert.equal(200, (sb:request("PUT", "/customers", { body = cjson.encode(c) })))
    list = select(2, get("/customers?pageSize=5&pageNumber=2"))
    assert.equal("Zzzz", list[2].firstName)
    local created = select(2, sb:request("POST", "/customers", { body = '{"firstName":"New","lastName":"One"}' }))
    local new_id = cjson.decode(created).id
    list = select(2, get("/customers?pageSize=1&sortOrder=Descending"))
    assert.same({ new_id }, ids(list))
    -- by another field: a sort of its own, which leaves the id order of later pages alone
    list = select(2, get("/customers?pageSize=1&sortExpression=firstName&sortOrder=Descending"))
    assert.equal("Zzzz", list[1].firstName)
    list = select(2, get("/customers?pageSize=5&pageNumber=2"))
    assert.same({ 11, 12, 13, 14, 15 }, ids(list))
  end)

  it("refuses a range inside a set, and a range of anything but numbers or dates", function()
    local status, v = get("/customers?query=id%3A1%7C3%2C5")
    assert.equal(400, status)
    assert.matches("a range %(from|to%) cannot be one of a set of values", v.Errors[1].Value)
    status, v = get("/customers?query=firstName%3AA%7CC")
    assert.equal(400, status)
    assert.matches("a range %(from|to%) takes numbers or dates", v.Errors[1].Value)
    status = get("/customers?query=createdTimestamp%3A2019-01-01%7C2030-01-01")
    assert.equal(200, status)
  end)

  it("sends at most 1,000 a page, whatever pageSize asks", function()
    local status, list, h = get("/customers?pageSize=5000")
    assert.equal(200, status)
    assert.equal(1000, #list)
    assert.equal("1000", h["x-pagesize"])
    assert.equal("1", h["x-maxpageindex"])
  end)

  it("refuses a query string over 2,048 bytes as IIS does, without counting it", function()
    local function query_of(bytes)   -- "query=id%3A1%2C1%2C..." padded to exactly `bytes`
      local q = "query=id%3A1"
      while #q + 4 <= bytes do q = q .. "%2C1" end
      return q .. ("&x=" .. ("0"):rep(bytes - #q - 3)):sub(1, bytes - #q)
    end
    assert.equal(2048, #query_of(2048))
    local status, _, h = get("/customers?" .. query_of(2048))
    assert.equal(200, status)
    local left = tonumber(h["x-rate-limit-remaining-minute"])
    local raw
    status, raw, h = sb:request("GET", "/customers?" .. query_of(2049))
    assert.equal(404, status)
    assert.equal("text/html", h["content-type"])
    assert.equal("Microsoft-IIS/10.0", h["server"])
    assert.matches("<title>404 %- File or directory not found%.</title>", raw)
    assert.is_nil(h["x-rate-limit-remaining-minute"])
    status, _, h = get("/customers/1")
    assert.equal(200, status)
    assert.equal(left - 1, tonumber(h["x-rate-limit-remaining-minute"]))   -- only this GET counted
    local last = sb:log()
    last = last[#last - 1]
    assert.same({ 404, #query_of(2049) }, { last.status, #last.query })
  end)

  it("takes another limit from --max-query-length or /_sandbox/limits; 0 is none", function()
    local q = "query=id%3A" .. ("1%2C"):rep(40) .. "1"
    assert.equal(200, (get("/customers?" .. q)))
    sb:set_limits{ max_query_length = 100 }
    finally(function() sb:set_limits{ max_query_length = 2048 } end)
    assert.equal(100, sb:control("GET", "/config").max_query_length)
    assert.equal(404, (get("/customers?" .. q)))
    sb:set_limits{ max_query_length = 0 }
    assert.equal(200, (get("/customers?" .. q .. ("%2C1"):rep(1000))))
    local other = sandbox.start{ args = { "--max-query-length", "64" } }
    finally(function() other:stop() end)
    assert.equal(404, (other:request("GET", "/customers?" .. q)))
  end)
end)
