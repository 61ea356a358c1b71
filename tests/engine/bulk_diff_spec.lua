-- diff.compute / diff.format: the field-by-field differences a dry run prints.
package.path = "lua/?.lua;" .. package.path
local diff = require "fusebill.diff"
local cjson = require "cjson"

describe("diff.compute", function()
  it("reports changed, added and removed fields, sorted by field", function()
    local changes = diff.compute(
      { id = 7, firstName = "Ada", primaryEmail = "a@x", title = "Mr" },
      { id = 7, firstName = "Ada", primaryEmail = "ada@x", lastName = "Lovelace" })
    assert.same({
      { field = "lastName", before = nil, after = "Lovelace" },
      { field = "primaryEmail", before = "a@x", after = "ada@x" },
      { field = "title", before = "Mr", after = nil },
    }, changes)
  end)

  it("flattens nested objects to dotted paths", function()
    local changes = diff.compute(
      { id = 1, customerReference = { reference1 = "A", reference2 = "B", id = 1 } },
      { id = 1, customerReference = { reference1 = "Z", reference2 = "B", id = 1 } })
    assert.same({ { field = "customerReference.reference1", before = "A", after = "Z" } }, changes)
  end)

  it("treats JSON null and an absent field as equal", function()
    assert.same({}, diff.compute({ a = cjson.null, b = 1 }, { b = 1 }))
    assert.same({}, diff.compute({ b = 1 }, { a = cjson.null, b = 1 }))
    local changes = diff.compute({ a = cjson.null }, { a = "x" })
    assert.equal(1, #changes)
    assert.equal(cjson.null, changes[1].before)
  end)

  it("compares arrays as whole values", function()
    local codes = { { type = "Sales Tracking Code 1", code = "EU" } }
    local same = { { type = "Sales Tracking Code 1", code = "EU" } }
    assert.same({}, diff.compute({ r = { codes = codes } }, { r = { codes = same } }))
    local changes = diff.compute({ r = { codes = {} } }, { r = { codes = codes } })
    assert.equal(1, #changes)
    assert.equal("r.codes", changes[1].field)
  end)

  it("treats equal numbers as equal whatever their subtype", function()
    assert.same({}, diff.compute({ mrr = 60 }, { mrr = 60.0 }))
  end)

  it("leaves out ignored fields", function()
    local changes = diff.compute({ modifiedTimestamp = "a", name = "x" }, { modifiedTimestamp = "b", name = "y" },
      { "modifiedTimestamp" })
    assert.same({ { field = "name", before = "x", after = "y" } }, changes)
  end)

  it("rejects non-tables", function()
    assert.has_error(function() diff.compute("x", {}) end)
  end)
end)

describe("diff.format", function()
  it("shows one line per field with JSON-like values", function()
    local s = diff.format(diff.compute(
      { id = 7, primaryEmail = "a@x", customerReference = { reference1 = cjson.null } },
      { id = 7, primaryEmail = "ada@x", customerReference = { reference1 = "R1" } }), "customer 7")
    assert.equal('customer 7: 2 fields would change\n' ..
      '  customerReference.reference1: null -> "R1"\n' ..
      '  primaryEmail: "a@x" -> "ada@x"', s)
  end)

  it("says when nothing changes", function()
    assert.equal("customer 7: no changes", diff.format({}, "customer 7"))
  end)

  it("renders numbers, booleans and lists", function()
    local s = diff.format({ { field = "n", before = 1, after = 2.5 }, { field = "b", before = true, after = false },
      { field = "l", before = nil, after = { "a" } } }, "x")
    assert.matches('n: 1 %-> 2.5', s)
    assert.matches('b: true %-> false', s)
    assert.matches('l: null %-> %["a"%]', s)
  end)
end)

describe("diff.notify", function()
  it("tells each observer until it is removed", function()
    local seen = {}
    local remove = diff.observe(function(changes, label) seen[#seen + 1] = { #changes, label } end)
    assert.equal(1, diff.notify({ { field = "a" } }, "c 1"))
    remove()
    assert.equal(0, diff.notify({}, "c 2"))
    assert.same({ { 1, "c 1" } }, seen)
  end)
end)
