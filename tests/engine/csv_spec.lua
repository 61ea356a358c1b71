-- fusebill.csv against Python's csv module (tests/lib/csv_python.py, standard library only):
-- what Python writes we read, what we write Python reads and writes identically; malformed
-- files fail naming line and column; a large file streams in bounded memory.
local csv = require "fusebill.csv"
local cjson = require "cjson"

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local dir
local function path(name) return dir .. "/" .. name end

local function write(p, s)
  local f = assert(io.open(p, "wb"))
  f:write(s)
  f:close()
  return p
end

local function read(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function python(...)
  local cmd = { "python3", "tests/lib/csv_python.py" }
  for _, a in ipairs{ ... } do cmd[#cmd + 1] = sh_quote(a) end
  local ok = os.execute(table.concat(cmd, " "))
  assert(ok, "python3 failed: " .. table.concat(cmd, " "))
end

-- rows Python's csv.writer wrote, as the bytes of the file
local function python_writes(rows, ...)
  write(path("rows.json"), cjson.encode(rows))
  python("write", path("rows.json"), path("py.csv"), ...)
  return read(path("py.csv"))
end

-- rows Python's csv.reader read from the bytes s
local function python_reads(s, ...)
  write(path("in.csv"), s)
  python("read", path("in.csv"), path("out.json"), ...)
  return cjson.decode(read(path("out.json")))
end

local function read_all(src, opts)
  local rows = {}
  for row in csv.rows(src, opts) do rows[#rows + 1] = row end
  return rows
end

local function write_all(rows, opts)
  local w = assert(csv.writer(path("ours.csv"), opts))
  for _, row in ipairs(rows) do assert(w:row(row)) end
  assert(w:close())
  return read(path("ours.csv"))
end

-- everything that needs quoting, and what does not
local ROWS = {
  { "id", "name", "note", "empty", "amount" },
  { "1", "Müller, GmbH", 'say "hi"', "", "12.50" },
  { "2", "Zoë Ångström", "two\nlines", "", "-3" },
  { "3", "O'Brien & Søn", "crlf\r\ninside", " lead and trail ", "0" },
  { "4", "", "lone\rcr", "", "" },
  { "5", '"quoted"', ",", '""', "x" },
  { "6", "日本語", "tab\there", "", "1e3" },
}
-- Python's writer with "\n" endings leaves a lone CR unquoted (and then cannot read it back
-- itself): the LF variant goes without that row.
local ROWS_LF = { ROWS[1], ROWS[2], ROWS[3], ROWS[4], ROWS[6], ROWS[7] }

local function as_maps(rows)
  local maps = {}
  for i = 2, #rows do
    local m = {}
    for j, name in ipairs(rows[1]) do m[name] = rows[i][j] end
    maps[#maps + 1] = m
  end
  return maps
end

describe("fusebill.csv", function()
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. sh_quote(dir)))
  end)
  teardown(function() os.execute("rm -rf " .. sh_quote(dir)) end)

  it("is fusebill.csv", function()
    assert.equal(csv, require("fusebill").csv)
  end)

  describe("reads what Python's csv module writes", function()
    it("CRLF, quotes, commas, line breaks, accents, empty fields", function()
      write(path("a.csv"), python_writes(ROWS))
      assert.same(ROWS, read_all(path("a.csv")))
      assert.same(as_maps(ROWS), read_all(path("a.csv"), { header = true }))
    end)

    it("LF line endings", function()
      local s = python_writes(ROWS_LF, "lf")
      assert.is_nil(s:find("\r\n", 1, true) and s:find("\r\n[^i]"))
      write(path("a.csv"), s)
      assert.same(ROWS_LF, read_all(path("a.csv")))
    end)

    it("a byte-order mark (utf-8-sig) that is not part of the first column's name", function()
      local s = python_writes(ROWS, "bom")
      assert.equal("\xEF\xBB\xBFid,", s:sub(1, 6))
      write(path("a.csv"), s)
      local rows = read_all(path("a.csv"), { header = true })
      assert.same(as_maps(ROWS), rows)
      assert.equal("1", rows[1].id)
      local r = assert(csv.reader(path("a.csv"), { header = true }))
      assert.same(ROWS[1], r:columns())
      r:close()
    end)

    it("a last line without a line break", function()
      local s = python_writes(ROWS):gsub("\r\n$", "")
      write(path("a.csv"), s)
      assert.same(ROWS, read_all(path("a.csv")))
      assert.same(python_reads(s), read_all(path("a.csv")))
    end)

    it("fields split across the reader's 64 KB buffer, at every offset around the edge", function()
      for pad = 65530, 65541 do
        local first = "x," .. ("p"):rep(pad - 3) .. "\n"
        local s = first .. '"q""r","a\r\nb",s\r\n"",t\n'
        write(path("edge.csv"), s)
        local rows = read_all(path("edge.csv"))
        assert.same(python_reads(s), rows)
        assert.same({ 'q"r', "a\r\nb", "s" }, rows[2])
      end
    end)

    it("blank lines as empty records, skipped with a header (as DictReader does)", function()
      local s = "a,b\r\n\r\n1,2\n\n"
      write(path("a.csv"), s)
      assert.same(python_reads(s), read_all(path("a.csv")))
      assert.same({ { a = "1", b = "2" } }, read_all(path("a.csv"), { header = true }))
    end)
  end)

  describe("writes what Python's csv module writes", function()
    it("byte for byte, from arrays and from tables keyed by columns", function()
      local expected = python_writes(ROWS)
      assert.equal(expected, write_all(ROWS))
      local maps = as_maps(ROWS)
      assert.equal(expected, write_all(maps, { columns = ROWS[1] }))
      assert.same(ROWS, python_reads(expected))
    end)

    it("a byte-order mark and LF endings, read back by Python", function()
      local s = write_all(ROWS, { bom = true, crlf = false })
      assert.equal("\xEF\xBB\xBFid,", s:sub(1, 6))
      assert.is_nil(s:find("\r\n5,", 1, true))
      assert.same(ROWS, python_reads(s, "bom"))
      assert.same(ROWS, read_all(path("ours.csv")))
    end)

    it("numbers without .0, nil and fusebill.null as empty cells, a lone empty field quoted", function()
      local null = require("fusebill").null
      local s = write_all({ { 1, 3.0, 0.1, -0.0, 2 ^ 53, 1e20, 1.5e-7 }, { true, false }, { null, "y" },
        { "" }, { nil } })
      assert.equal('1,3,0.1,0,9007199254740992,1e+20,1.5e-07\r\ntrue,false\r\n,y\r\n""\r\n\r\n', s)
      assert.equal(python_writes{ { "" } }, '""\r\n')
      local s2 = write_all({ { id = 1, name = "a", extra = "ignored" }, { id = 2 } }, { columns = { "id", "name" } })
      assert.equal("id,name\r\n1,a\r\n2,\r\n", s2)
      local s3 = write_all({ { id = 1, name = "a" } }, { columns = { "id", "name" }, header = false })
      assert.equal("1,a\r\n", s3)
    end)

    it("refuses values that have no cell form, naming the record and the column", function()
      local w = assert(csv.writer(path("bad.csv"), { columns = { "id", "address" }, name = "bad.csv" }))
      assert(w:row{ id = 1 })
      assert.has_error(function() w:row{ id = 2, address = { city = "Paris" } } end,
        'bad.csv: record 2, column "address": a table cannot go in a CSV cell ' ..
        '(strings, numbers, booleans, nil or fusebill.null can)')
      assert.error_matches(function() w:row{ id = 0 / 0 } end, 'record 2, column "id": not a finite number')
      assert(w:row{ id = 3 })
      assert(w:close())
      -- nothing of the refused records reached the file
      assert.equal("id,address\r\n1,\r\n3,\r\n", read(path("bad.csv")))
      local a = assert(csv.writer(path("bad.csv")))
      assert.error_matches(function() a:row{ 1, print } end, "record 1, field 2: a function cannot go")
      a:close()
    end)

    it("writes to an open handle and leaves it open, between the handle's own writes", function()
      local f = assert(io.open(path("h.csv"), "wb"))
      f:write("# exported\n")
      do
        local w <close> = assert(csv.writer(f, { crlf = false }))
        w:row{ "a,b", "c" }
      end
      assert.equal("file", io.type(f))
      f:write("# end\n")
      f:close()
      assert.equal('# exported\n"a,b",c\n# end\n', read(path("h.csv")))
    end)

    it("reports a full disk as nil and a message", function()
      local devfull = io.open("/dev/full", "wb")
      if not devfull then pending("no /dev/full") return end
      devfull:close()
      local w = assert(csv.writer("/dev/full"))
      local ok, err = true, nil
      for _ = 1, 10000 do
        ok, err = w:row{ "some text to fill the buffer" }
        if not ok then break end
      end
      if ok then ok, err = w:close() end
      assert.is_nil(ok)
      assert.matches("^/dev/full: No space left on device", err)
    end)
  end)

  it("random rows: what Python writes we read, what we write is Python's file (seeded, 8,000 rows)", function()
    local pieces = { "a", "b", "é", "日", " ", ",", '"', '""', "\r\n", "\n", "\r", "x,y", "", "\t" }
    math.randomseed(14)
    local rows = {}
    for i = 1, 8000 do
      local row = {}
      for j = 1, math.random(1, 6) do
        local cell = {}
        for k = 1, math.random(0, 12) do cell[k] = pieces[math.random(#pieces)] end
        row[j] = table.concat(cell)
      end
      -- a row of one empty field is [""], not a blank line: Python writes it "" as we do
      rows[i] = row
    end
    local expected = python_writes(rows)
    assert.is_true(#expected > 3 * 65536)   -- the reader refills its buffer mid-field, more than once
    write(path("random.csv"), expected)
    assert.same(rows, read_all(path("random.csv")))
    assert.equal(expected, write_all(rows))
  end)

  describe("malformed files", function()
    -- { bytes, header?, message } with line and column (characters) of the offending byte
    local BAD = {
      { 'id,name\n1,ab"c\n', false, 'bad.csv:2:5: field 2: a quote inside an unquoted field' },
      { 'id,name\n1,"abc"d\n', false, 'bad.csv:2:8: field 2: text after the closing quote' },
      { 'id,name\n1,"abc\n2,def\n', false,
        'bad.csv:2:3: field 2: the quoted field that starts here has no closing quote' },
      { 'é,"x"y\n', false, "bad.csv:1:6: field 2: text after the closing quote" },
      { 'a,"multi\nline",b"c\n', false, "bad.csv:2:8: field 3: a quote inside an unquoted field" },
      { 'a\r\nb,c"d\r\n', false, "bad.csv:2:4: field 2: a quote inside an unquoted field" },
      { '\xEF\xBB\xBFa"b\n', false, "bad.csv:1:2: field 1: a quote inside an unquoted field" },
      { 'a, "b"\n', false, "bad.csv:1:4: field 2: a quote inside an unquoted field" },
      { "id,,x\n", true, "bad.csv:1: column 2 of the header has no name" },
      { "id,name,id\n", true, 'bad.csv:1: column 3 of the header repeats the name "id" of column 1' },
      { "a,b\n1,2,3\n", true, "bad.csv:2:5: field 3: more fields than the header's 2 columns" },
      { "a,b\n1,2\n1\n", true, "bad.csv:3: 1 field where the header has 2 columns" },
      { "", true, "bad.csv:1: no header row (the file is empty)" },
    }

    it("raise from the iterator, naming the line and column", function()
      for _, case in ipairs(BAD) do
        write(path("bad.csv"), case[1])
        local ok, err = pcall(read_all, path("bad.csv"), { header = case[2], name = "bad.csv" })
        assert.is_false(ok, case[1])
        assert.equal(case[3], err:sub(1, #case[3]))
      end
    end)

    it("a bad header makes csv.reader return nil and the message", function()
      write(path("bad.csv"), "id,name,id\n1,2,3\n")
      local r, err = csv.reader(path("bad.csv"), { header = true })
      assert.is_nil(r)
      assert.equal(path("bad.csv") .. ':1: column 3 of the header repeats the name "id" of column 1', err)
    end)

    it("an unclosed quote far back: the error names where it opened", function()
      local rows = { "id,name\n" }
      for i = 1, 5000 do rows[#rows + 1] = i .. ",name " .. i .. "\n" end
      rows[#rows + 1] = '5001,"Zoë, never closed\n'
      for i = 5002, 20000 do rows[#rows + 1] = i .. ",x\n" end
      write(path("bad.csv"), table.concat(rows))
      local ok, err = pcall(read_all, path("bad.csv"), { header = true })
      assert.is_false(ok)
      assert.equal(path("bad.csv") .. ":5002:6: field 2: the quoted field that starts here has no closing quote", err)
    end)
  end)

  describe("the interface", function()
    it("reports a file that cannot be opened as io.open and io.lines do", function()
      local r, err = csv.reader(path("missing.csv"))
      assert.is_nil(r)
      assert.equal(path("missing.csv") .. ": No such file or directory", err)
      assert.error_matches(function() csv.rows(path("missing.csv")) end, "missing.csv: No such file or directory")
      local w, werr = csv.writer(dir .. "/no/such/dir/out.csv")
      assert.is_nil(w)
      assert.matches("No such file or directory", werr)
    end)

    it("rejects unknown options, wrong option types and wrong arguments", function()
      write(path("a.csv"), "a\n1\n")
      local _, msg = pcall(function() csv.rows(path("a.csv"), { hedaer = true }) end)   -- at this line
      assert.matches("csv_spec.lua:%d+: fusebill.csv.rows: unknown option hedaer %(did you mean header%?%)", msg)
      assert.error_matches(function() csv.reader(path("a.csv"), { header = "yes" }) end,
        'fusebill.csv.reader: header must be a boolean (got "yes")', 1, true)
      assert.error_matches(function() csv.writer(path("o.csv"), { colums = { "a" } }) end,
        "unknown option colums (did you mean columns?)", 1, true)
      assert.error_matches(function() csv.writer(path("o.csv"), { columns = { "a", "a" } }) end,
        'columns%[2%] repeats "a" %(columns%[1%]%)')
      assert.error_matches(function() csv.writer(path("o.csv"), { columns = { "a", "" } }) end,
        "columns%[2%] must be a non%-empty string")
      assert.error_matches(function() csv.writer(path("o.csv"), { columns = {} }) end, "non%-empty array")
      assert.error_matches(function() csv.writer(path("o.csv"), { header = false }) end, "header needs option columns")
      assert.error_matches(function() csv.rows(42) end, "file name or file handle expected, got number")
      local f = assert(io.open(path("a.csv")))
      f:close()
      assert.error_matches(function() csv.rows(f) end, "attempt to use a closed file")
    end)

    it("reads from an open handle (a pipe too) and leaves it open", function()
      local p = assert(io.popen("printf 'a,b\\r\\n1,\"x,y\"\\r\\n'"))
      local r = assert(csv.reader(p, { header = true }))
      assert.same({ a = "1", b = "x,y" }, r:read())
      assert.equal(2, r:line())
      assert.is_nil(r:read())
      r:close()
      assert.equal("file", io.type(p))
      p:close()
      assert.error_matches(function() r:read() end, "attempt to use a closed CSV reader")
    end)

    it("closes the reader when the loop ends early", function()
      write(path("a.csv"), "a\n1\n2\n3\n")
      local iter, state, init, reader = csv.rows(path("a.csv"))
      local seen = 0
      for row in iter, state, init, reader do
        seen = seen + 1
        if row[1] == "1" then break end
      end
      assert.equal(2, seen)
      assert.error_matches(function() reader:read() end, "attempt to use a closed CSV reader")
    end)

    it("counts lines across quoted line breaks", function()
      write(path("a.csv"), 'id,note\n1,"two\nlines"\n2,x\n')
      local r = assert(csv.reader(path("a.csv"), { header = true }))
      local lines = {}
      for row in r:rows() do lines[row.id] = r:line() end
      r:close()
      assert.same({ ["1"] = 2, ["2"] = 4 }, lines)
    end)
  end)

  it("streams a large file in bounded memory", function()
    local n = 300000
    local w = assert(csv.writer(path("big.csv"), { columns = { "id", "name", "email", "note" } }))
    for i = 1, n do
      w:row{ id = i, name = "Name, " .. i, email = "customer" .. i .. "@example.com", note = i % 7 == 0 and "two\nlines" or "" }
    end
    assert(w:close())
    local size = #read(path("big.csv"))
    assert.is_true(size > 8e6)
    -- What stays alive: collections until the count stops falling, since one full collection
    -- halves Lua's table of interned strings at most (each row interns new strings), and an
    -- unshrunk table of 32,768 slots is 256 KB that no row holds.
    local function live_kb()
      local kb = collectgarbage("count")
      for _ = 1, 20 do
        collectgarbage()
        local now = collectgarbage("count")
        if now >= kb then return now end
        kb = now
      end
      return kb
    end
    local base, live, count, last = live_kb(), {}, 0, nil
    for row in csv.rows(path("big.csv"), { header = true }) do
      count = count + 1
      last = row
      if count % 20000 == 0 then
        -- the reader holds no row it returned
        live[#live + 1] = live_kb() - base
      end
    end
    assert.equal(n, count)
    assert.same({ id = tostring(n), name = "Name, " .. n, email = "customer" .. n .. "@example.com", note = "" }, last)
    -- kilobytes: the reader (its 64 KB buffer) and the row in hand, never the file; the
    -- same after 20,000 rows as after 300,000
    local grown = math.max(table.unpack(live))
    assert.is_true(grown < 512, ("memory grew by %.0f KB reading a %d KB file"):format(grown, size // 1024))
    assert.is_true(live[#live] - live[1] < 16, ("memory grew from %.0f KB to %.0f KB"):format(live[1], live[#live]))
  end)
end)
