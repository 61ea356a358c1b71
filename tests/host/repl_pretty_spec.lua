-- host.pretty (the REPL's printer) and host.repl.complete, as units.
local pretty = require "host.pretty"
local repl = require "host.repl"
local fusebill = require "fusebill"

describe("host.pretty", function()
  it("prints scalars the way Lua source writes them", function()
    assert.equal('"a\\"b\\n"', pretty.format('a"b\n'))
    assert.equal("42", pretty.format(42))
    assert.equal("7", pretty.format(7.0))          -- JSON ids decode as floats
    assert.equal("1.5", pretty.format(1.5))
    assert.equal("nil", pretty.format(nil))
    assert.equal("null", pretty.format(fusebill.null))
    assert.equal("{}", pretty.format({}))
  end)

  it("shows the fields an API answer had as null (they read as nil)", function()
    local c = require("fusebill.core").decode('{"id": 7, "middleName": null, "tags": [1, null]}')
    assert.is_nil(c.middleName)
    assert.equal("{ id = 7, middleName = nil, tags = { 1, null } }", pretty.format(c))
  end)

  it("sorts keys and keeps short tables on one line", function()
    assert.equal('{ 1, 2, a_long = "x", b = true }', pretty.format({ 1, 2, b = true, a_long = "x" }))
    assert.equal('{ a = 1, b = 2, c = 3 }', pretty.format({ c = 3, a = 1, b = 2 }))
    assert.equal('{ [1.5] = 1, ["two words"] = 2 }', pretty.format({ ["two words"] = 2, [1.5] = 1 }))
  end)

  it("indents nested tables that do not fit a line", function()
    local s = pretty.format({ name = ("x"):rep(60), inner = { list = { 1, 2, 3 }, deeper = { ok = true } } })
    assert.equal(table.concat({
      "{",
      "  inner = { deeper = { ok = true }, list = { 1, 2, 3 } },",
      '  name = "' .. ("x"):rep(60) .. '"',
      "}" }, "\n"), s)
  end)

  it("cuts long lists with a count", function()
    local t = {}
    for i = 1, 100 do t[i] = i end
    local s = pretty.format(t, { max_items = 5 })
    assert.matches("^{ 1, 2, 3, 4, 5, %.%.%. %(95 more, 100 in all%) }$", s)
  end)

  it("survives cycles", function()
    local t = { name = "loop" }
    t.self = t
    t.list = { t }
    local s = pretty.format(t)
    assert.matches("self = <cycle: table: 0x%x+>", s)
    assert.matches("list = { <cycle", s)
  end)

  it("shows an error object as its summary line, then its fields", function()
    local err = package.loaded["fusebill.core"].new_error{ kind = "not_found", message = "Customer 9 not found.",
      method = "GET", path = "/v1/customers/9", status = 404 }
    local s = pretty.format(err)
    local first, rest = s:match("^([^\n]*)\n(.*)$")
    assert.equal(tostring(err), first)
    assert.matches('kind = "not_found"', rest)
    assert.matches("status = 404", rest)
  end)
end)

describe("host.pretty: every type says what it is and how to use it", function()
  local fb
  setup(function() fb = fusebill.new{ base_url = "http://127.0.0.1:9/v1", api_key = "dGVzdDp0ZXN0" } end)
  teardown(function() fb:close() end)

  it("shows a list as an iterator and how to take its items (nothing is fetched)", function()
    assert.equal("<iterator from customers:list: for item in fb.customers:list{...} do ... end>",
      pretty.format(fb.customers:list{}))
    assert.equal("<iterator from sales_tracking_codes:list: for item in fb.sales_tracking_codes:list{...} do ... end>",
      pretty.format(fb.sales_tracking_codes:list{ type = "Sales Tracking Code 1" }))
    assert.equal("<iterator from customers:get_many: for item in fb.customers:get_many(ids) do ... end>",
      pretty.format(fb.customers:get_many{ 1, 2 }))
  end)

  it("shows a function's parameters and where it is defined, a library function by name", function()
    local function add(a, b, ...) return a + b, ... end
    assert.matches("^<function %(a, b, %.%.%.%) .*repl_pretty_spec%.lua:%d+>$", pretty.format(add))
    assert.equal("<C function print>", pretty.format(print))
    assert.equal("<C function string.format>", pretty.format(string.format))
    assert.matches("^<function fusebill%.new%(opts%) ", pretty.format(fusebill.new))
  end)

  it("shows a coroutine's status and a userdata's name", function()
    local co = coroutine.create(function() coroutine.yield() end)
    assert.matches("^<coroutine suspended: 0x%x+>$", pretty.format(co))
    coroutine.resume(co)
    coroutine.resume(co)
    assert.matches("^<coroutine dead: 0x%x+>$", pretty.format(co))
    assert.matches("^<file %(0x%x+%)>$", pretty.format(io.stdout))
  end)

  it("shows an object's methods and its own fields one level deep, not its internals", function()
    local s = pretty.format(fb.customers)
    assert.matches("^<object with methods [%w_, ]*edit, get, get_many, list, list_page, update> {\n", s)
    assert.matches('\n  name = "customers",\n', s)
    assert.matches("\n  schema = {...}", s)
    assert.is_nil(s:find("max = 50", 1, true), "the schema's field rules are not listed")
  end)
end)

describe("host.repl.complete", function()
  it("completes globals, keywords and library fields", function()
    assert.same({ "string" }, repl.complete("strin"))
    assert.same({ "string.format" }, repl.complete("string.form"))
    local kw = repl.complete("whil")
    assert.same({ "while" }, kw)
  end)

  it("completes methods through metatables (fb.customers:<Tab>)", function()
    _G.fb_for_completion = fusebill.new{ base_url = "http://127.0.0.1:9/v1", api_key = "dGVzdDp0ZXN0" }
    local got = {}
    for _, c in ipairs(repl.complete("fb_for_completion.customers:")) do got[c] = true end
    assert.is_true(got["fb_for_completion.customers:get("])
    assert.is_true(got["fb_for_completion.customers:edit("])
    assert.is_true(got["fb_for_completion.customers:update("])
    assert.same({ "fb_for_completion.customers" }, repl.complete("fb_for_completion.cus"))
    for c in pairs(got) do assert.is_nil(c:match(":_"), "private names stay hidden: " .. c) end
    _G.fb_for_completion = nil
  end)

  it("offers nothing for unknown paths", function()
    assert.same({}, repl.complete("no_such_global.x"))
    assert.same({}, repl.complete("string..x"))
  end)
end)
