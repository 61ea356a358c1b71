-- fusebill -m export and -m update against the sandbox: the spreadsheet workflow. Export equals
-- the sandbox's records row for row; a round trip sends no write; an edited sheet saved the way
-- a spreadsheet saves it applies its good rows exactly and reports the bad ones, whose fixed
-- report applies; the records are read ahead (one list request for the customers) unless
-- --fresh; --check lists problems and sends nothing.
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("fusebill -m export / -m update", function() pending("needs build/fusebill and build/fusebill-sandbox") end)
  return
end
local sandbox = require "sandbox"
local csv = require "fusebill.csv"
local q = sandbox.quote

local ARGS = { "--rate-limit", "none", "--customers", "30", "--codes", "12" }

local function read_rows(path)
  local rows = {}
  for row in csv.rows(path, { header = true }) do rows[#rows + 1] = row end
  return rows
end

local function cell(v)
  if v == nil or type(v) == "userdata" or type(v) == "table" then return "" end
  if math.type(v) == "float" and math.tointeger(v) then return tostring(math.tointeger(v)) end
  return tostring(v)
end

local function writes(sb, mark)
  local n = 0
  for _, e in ipairs(sb:log(mark)) do
    if e.method ~= "GET" then n = n + 1 end
  end
  return n
end

describe("fusebill -m export / -m update", function()
  local sb, dir
  before_each(function()
    sb = sandbox.start{ args = ARGS }
    dir = hostrun.tmpdir()
  end)
  after_each(function()
    sb:stop()
    hostrun.rmdir(dir)
  end)

  it("export equals the sandbox state row for row, and the round trip sends no write", function()
    local out = dir .. "/customers.csv"
    local text, code = hostrun.run(hostrun.cmd(sb, "-m export customers --out " .. q(out)))
    assert.equal(0, code, text)
    local state = hostrun.state(sb).customers
    local rows = read_rows(out)
    local n = 0
    for _ in pairs(state) do n = n + 1 end
    assert.equal(n, #rows)
    for _, row in ipairs(rows) do
      local rec = assert(state[math.tointeger(tonumber(row.id))], row.id)
      for col, v in pairs(row) do
        local top, sub = col:match("^([^.]+)%.(.+)$")
        local want = top and (rec[top] or {})[sub] or rec[col]
        assert.equal(cell(want), v, "customer " .. row.id .. " column " .. col)
      end
    end
    assert.is_nil(rows[1].salesTrackingCodes)
    assert.is_nil(rows[1].uri)      -- set by the system: not a default column

    local mark = hostrun.log_mark(sb)
    text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(out)))
    assert.equal(0, code, text)
    assert.equal(0, writes(sb, mark))
    assert.same(state, hostrun.state(sb).customers)
  end)

  it("applies a spreadsheet's edits exactly, reports the bad rows, and the fixed report applies", function()
    local before = hostrun.state(sb).customers
    local sheet = dir .. "/edited.csv"
    -- as a spreadsheet saves it: BOM, CRLF, quoted commas, quotes and line breaks, accents
    hostrun.write(sheet, "\239\187\191id,firstName,companyName,customerReference.reference1,title\r\n" ..
      '1,Zoë,"Acme, ""Big"" Inc",#N/A,\r\n' ..
      '2,,"Two\r\nlines",R-2,Dr\r\n' ..
      "3," .. string.rep("A", 51) .. ",Too Long Ltd,,\r\n" ..
      "999999,Nobody,,,Mr\r\n" ..
      "4,José,,,\r\n")
    local report = dir .. "/failed.csv"
    local mark = hostrun.log_mark(sb)
    local text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet) .. " --report " .. q(report)))
    assert.equal(3, code, text)
    assert.equal(3, writes(sb, mark))    -- rows 1, 2 and 4; no write for 3 (invalid) or 999999

    local after = hostrun.state(sb).customers
    local want = {
      [1] = { firstName = "Zoë", companyName = 'Acme, "Big" Inc', ref1 = nil, title = before[1].title },
      [2] = { firstName = before[2].firstName, companyName = "Two\r\nlines", ref1 = "R-2", title = "Dr" },
      [4] = { firstName = "José", companyName = before[4].companyName,
              ref1 = (before[4].customerReference or {}).reference1, title = before[4].title },
    }
    for id, w in pairs(want) do
      local a = after[id]
      assert.equal(w.firstName, a.firstName)
      assert.equal(w.companyName, a.companyName)
      assert.equal(w.ref1, (a.customerReference or {}).reference1)
      assert.equal(w.title, a.title)
      -- no other field changed
      for k, v in pairs(before[id]) do
        if k ~= "firstName" and k ~= "companyName" and k ~= "title" and k ~= "customerReference" then
          assert.same(v, a[k], "customer " .. id .. " field " .. k)
        end
      end
    end
    assert.same(before[3], after[3])

    -- the report: the two bad rows, their own cells in the sheet's order, plus error
    local r = assert(csv.reader(report, { header = true }))
    assert.same({ "id", "firstName", "companyName", "customerReference.reference1", "title", "error" }, r:columns())
    local bad = {}
    for row in r:rows() do bad[row.id] = row end
    r:close()
    assert.equal(string.rep("A", 51), bad["3"].firstName)
    assert.equal("Too Long Ltd", bad["3"].companyName)
    assert.matches("firstName", bad["3"].error)
    assert.equal("Nobody", bad["999999"].firstName)
    assert.matches("not found", bad["999999"].error)
    local n = 0
    for _ in pairs(bad) do n = n + 1 end
    assert.equal(2, n)

    -- fixed: the long name shortened, the missing customer's row made an existing one
    local fixed = hostrun.read(report):gsub(string.rep("A", 51), "Alan"):gsub("\n999999,", "\n5,")
    local fixed_path = dir .. "/fixed.csv"
    hostrun.write(fixed_path, fixed)
    text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(fixed_path)))
    assert.equal(0, code, text)
    after = hostrun.state(sb).customers
    assert.equal("Alan", after[3].firstName)
    assert.equal("Too Long Ltd", after[3].companyName)
    assert.equal("Nobody", after[5].firstName)
    assert.equal("Mr", after[5].title)
  end)

  it("exports codes with chosen columns, a subscription product's items, and customers by query", function()
    local text, code = hostrun.run(hostrun.cmd(sb, "-m export sales_tracking_codes --columns code,id,status"))
    assert.equal(0, code, text)
    local state = hostrun.state(sb)
    local want = { "code,id,status" }
    local ids = {}
    for id in pairs(state.codes) do ids[#ids + 1] = id end
    table.sort(ids)
    for _, id in ipairs(ids) do
      local c = state.codes[id]
      want[#want + 1] = ("%s,%d,%s"):format(c.code, id, c.status)
    end
    assert.equal(table.concat(want, "\r\n") .. "\r\n", text:match("^(code,id,status.-\r\n)export:"))

    local out = dir .. "/items.csv"
    text, code = hostrun.run(hostrun.cmd(sb, "-m export subscription_product_items --subscription-product-id 1 --out " ..
      q(out)))
    assert.equal(0, code, text)
    local got, expected = {}, {}
    for _, row in ipairs(read_rows(out)) do got[row.id] = row.reference end
    for id, it in pairs(state.items) do
      if it.subscriptionProductId == 1 then expected[tostring(id)] = it.reference end
    end
    assert.is_not_nil(next(expected))
    assert.same(expected, got)

    text, code = hostrun.run(hostrun.cmd(sb, "-m export customers --query firstName:Grace --columns id,firstName"))
    assert.equal(0, code, text)
    local grace = {}
    for id, c in pairs(state.customers) do
      if c.firstName == "Grace" then grace[#grace + 1] = id end
    end
    table.sort(grace)
    assert.equal("id,firstName\r\n" .. table.concat(grace, ",Grace\r\n") .. ",Grace\r\n", text:match("^(id,firstName\r\n.-)export:"))
  end)

  it("reads the sheet's customers a thousand to a request, and a repeated id after the first row's write", function()
    local sheet = dir .. "/many.csv"
    local lines = { "id,companyName,title" }
    for id = 1, 30 do lines[#lines + 1] = id .. ",Firm " .. id .. "," end
    lines[#lines + 1] = "7,,Dr"            -- the same customer again: both changes must land
    hostrun.write(sheet, table.concat(lines, "\n") .. "\n")
    local function requests(mark)
      local n = { list = 0, get = 0, put = 0 }
      for _, e in ipairs(sb:log(mark)) do
        if e.method == "PUT" then n.put = n.put + 1
        elseif e.path:match("/customers$") then n.list = n.list + 1
        else n.get = n.get + 1 end
      end
      return n
    end
    local mark = hostrun.log_mark(sb)
    local text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet)))
    assert.equal(0, code, text)
    -- one list for the 30 ids; the repeated row reads its customer again, after the first write
    assert.same({ list = 1, get = 1, put = 31 }, requests(mark))
    local after = hostrun.state(sb).customers
    assert.equal("Firm 7", after[7].companyName)
    assert.equal("Dr", after[7].title)
    assert.equal("Firm 30", after[30].companyName)
    -- --fresh: each row reads its record just before writing it
    for id = 1, 30 do lines[id + 1] = id .. ",New " .. id .. "," end
    hostrun.write(sheet, table.concat(lines, "\n") .. "\n")
    mark = hostrun.log_mark(sb)
    text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet) .. " --fresh --journal " ..
      q(dir .. "/fresh.journal")))
    assert.equal(0, code, text)
    assert.same({ list = 0, get = 31, put = 30 }, requests(mark))   -- the repeated row changes nothing now
  end)

  it("--check lists every problem with its line and column and sends nothing", function()
    local sheet = dir .. "/bad.csv"
    hostrun.write(sheet, "id,firstName,title,parentId\n1,Ok,Sir,\nx,,,\n2,\"multi\nline\",Dr,abc\n3,Fine,,\n")
    local mark = hostrun.log_mark(sb)
    local text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet) .. " --check"))
    assert.equal(3, code, text)
    assert.matches("bad.csv:2: column title: [^\n]*Sir", text)
    assert.matches("bad.csv:3: column id: [^\n]*'x'", text)
    assert.matches("bad.csv:4: column parentId: wants a whole number", text)
    assert.matches("4 rows, 3 problems", text)
    assert.equal(0, #sb:log(mark))

    hostrun.write(sheet, "id,firstName\n1,Ok\n")
    text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet) .. " --check"))
    assert.equal(0, code, text)
  end)

  it("answers mistakes as usage errors naming what is wrong", function()
    local sheet = dir .. "/s.csv"
    hostrun.write(sheet, "id,nickname\n1,x\n")
    local text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet)))
    assert.equal(2, code, text)
    assert.matches("column nickname is not a field of customers", text)
    hostrun.write(sheet, "id,uri\n1,x\n")
    text, code = hostrun.run(hostrun.cmd(sb, "-m update customers " .. q(sheet)))
    assert.equal(2, code, text)
    assert.matches("column uri is set by the system", text)
    text, code = hostrun.run(hostrun.cmd(sb, "-m update nosuch " .. q(sheet)))
    assert.equal(2, code, text)
    assert.matches("unknown resource nosuch", text)
    text, code = hostrun.run(hostrun.cmd(sb, "-m export customers --columns id,nickname"))
    assert.equal(2, code, text)
    assert.matches("nickname is not a field of customers", text)
    text, code = hostrun.run(hostrun.cmd(sb, "-m export purchase_product_items"))
    assert.equal(2, code, text)
    assert.matches("no call that lists them", text)
    text, code = hostrun.run(hostrun.cmd(sb, "-m export subscription_product_items"))
    assert.equal(2, code, text)
    assert.matches("needs %-%-subscription%-product%-id", text)
  end)
end)
