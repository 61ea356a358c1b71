-- fusebill -m update RESOURCE FILE.csv: one record per row, found by its id column, changed by
-- the other columns (host.sheet names and converts them). The whole sheet is read and checked
-- before anything is sent (--check stops there); then the rows are a journaled bulk run
-- (fusebill.each): the records are read ahead with get_many (customers by id ranges and sets,
-- one request per up to 1,000 rows), each row merged and written with resource:update(record,
-- changes), and a row that would change nothing is not written (--fresh: each row reads its
-- record just before writing it). Failed rows go to --report: the row's own cells, in the
-- sheet's order, plus an error column, so the fixed report is the next input.
local tools = require "host.tools"

local update = {
  description = "change records from a CSV sheet (one row per record, by id); failed rows to a report",
}

local HELP_EPILOG = [[
The sheet's first row names the columns: id (required), then fields, dotted for nested ones
(customerReference.reference1), as fusebill -m export writes them. In a row:
  an empty cell    leaves the field as it is
  #N/A             clears the field (sets it to null)
  anything else    the new value: text, a whole number, or true/false as the field wants
A column named error is ignored (a report fed back). Every row is checked before anything
is sent; --check stops there and lists each problem with its line and column.
The records are read ahead, customers a thousand to a request (--fresh: each just
before its write). Rows that hold what the record already holds are not written. The run is journaled
(FILE.journal unless --journal): rerun the same command to finish after a crash, and
fusebill -m undo FILE.journal takes it back.
Exit status: 0 all rows done, 2 usage, 3 some row failed (or --check found problems),
4 authentication, 5 daily quota.]]

local NA = "#N/A"

local function parse_args(args)
  local p, parse = tools.parser("update", "Change records from a CSV sheet.", HELP_EPILOG)
  p:argument("resource", "customers, sales_tracking_codes, purchase_product_items, ..."):argname("RESOURCE")
  p:argument("file", "the sheet (CSV, first row the column names)"):argname("FILE.csv")
  p:flag("--check", "check every row and list the problems; send nothing")
  p:flag("--fresh", "read each record just before writing it (a request more per row), not ahead")
  tools.bulk_options(p, "failed row (the row's own columns plus error)", "FILE.journal")
  return parse(args)
end

local function usage(fmt, ...)
  io.stderr:write("fusebill -m update: ", string.format(fmt, ...), "\n")
  return nil, tools.USAGE
end

-- The columns that change fields (all but id and error), or nil and the status.
local function field_columns(schema, file, header)
  local sheet = require "host.sheet"
  local cols, has_id = {}, false
  for _, c in ipairs(header) do
    if c == "id" then
      has_id = true
    elseif c ~= "error" then
      local ok, why = sheet.field(schema, c)
      if not ok then return usage("%s: column %s", file, why) end
      if not sheet.writable(schema, c) then
        return usage("%s: column %s is set by the system or not written by a PUT of %s: remove the column",
          file, c, schema.name)
      end
      cols[#cols + 1] = c
    end
  end
  if not has_id then return usage("%s: no id column (the first row must name the columns, one of them id)", file) end
  return cols
end

-- One row as an item: its id and changes, or its problems ({ column =, message = }).
local function item_of(r, cols, row, line)
  local sheet, options = require "host.sheet", require "fusebill.options"
  local null = require("fusebill.core").null
  local item = { row = row, line = line, changes = {}, problems = {} }
  local function problem(column, message) item.problems[#item.problems + 1] = { column = column, message = message } end
  local id = row.id or ""
  if options.is_id(id) then item.id = math.tointeger(tonumber(id)) else
    problem("id", id == "" and "is empty" or "wants a record id (a whole number >= 1), not '" .. id .. "'")
  end
  for _, c in ipairs(cols) do
    local text = row[c] or ""
    if text == NA then
      sheet.set(item.changes, c, null)
    elseif text ~= "" then
      local v, why = sheet.value(assert(sheet.field(r.schema, c)), text)
      if v == nil then problem(c, why) else sheet.set(item.changes, c, v) end
    end
  end
  for _, p in ipairs(r.check_changes(item.changes) or {}) do
    problem(p.field, (p.message:gsub("^" .. p.field:gsub("%p", "%%%0") .. ":? ?", "")))
  end
  item.key = string.format("%s %s (line %d)", r.name, id, line)
  return item
end

-- The sheet read and checked: its header, items and problem count, or nil and the status.
local function read_sheet(r, file)
  local csv = require "fusebill.csv"
  local reader, err = csv.reader(file, { header = true })
  if not reader then return usage("%s", err) end
  local _ <close> = reader
  local header = reader:columns()
  local cols, status = field_columns(r.schema, file, header)
  if not cols then return nil, status end
  local items, problems = {}, 0
  local ok, perr = pcall(function()
    for row in reader:rows() do
      items[#items + 1] = item_of(r, cols, row, reader:line())
      problems = problems + #items[#items].problems
    end
  end)
  if not ok then return usage("%s", tostring(perr)) end
  return { header = header, items = items, problems = problems }
end

local function problem_text(file, item)
  local out = {}
  for _, p in ipairs(item.problems) do
    out[#out + 1] = string.format("%s:%d: column %s: %s", file, item.line, p.column, p.message)
  end
  return table.concat(out, "\n")
end

local function check(file, s)
  for _, item in ipairs(s.items) do
    if #item.problems > 0 then io.stderr:write(problem_text(file, item), "\n") end
  end
  io.stderr:write(string.format("check: %d row%s, %d problem%s\n", #s.items, #s.items == 1 and "" or "s",
    s.problems, s.problems == 1 and "" or "s"))
  return s.problems > 0 and tools.FAILED or 0
end

-- The report of failed rows: the sheet's columns (less error), then error.
local function open_report(path, header)
  if not path then return function() end end
  local cols = {}
  for _, c in ipairs(header) do if c ~= "error" then cols[#cols + 1] = c end end
  cols[#cols + 1] = "error"
  local w, err = require("fusebill.csv").writer(path, { columns = cols })
  if not w then return nil, err end
  return function(item, message)
    local row = {}
    for _, c in ipairs(cols) do row[c] = item.row[c] end
    row.error = tostring(message):gsub("\n.*", "")
    assert(w:row(row))
  end, w
end

-- The rows as the run takes them. Unless fresh: first the rows whose records get_many reads
-- ahead, in the order the records come, each with its record (or the error object of an id
-- the API does not have); then the rows that get none: those with problems (they fail
-- without a request) and those whose id an earlier row has (read under the record's lock,
-- after that row's write, so neither change is lost).
local function rows_in(r, items, fresh)
  local function rest_of(list)
    local i = 0
    return function()
      i = i + 1
      return list[i]
    end
  end
  if fresh then return rest_of(items) end
  local ids, first, rest = {}, {}, {}
  for _, item in ipairs(items) do
    if #item.problems == 0 and not first[item.id] then
      first[item.id] = item
      ids[#ids + 1] = item.id
    else
      rest[#rest + 1] = item
    end
  end
  local records, next_rest = r:get_many(ids), rest_of(rest)
  return function()
    local rec = records and records()
    if rec == nil then
      records = nil
      return next_rest()
    end
    local item = first[rec.id]
    item.record = rec
    return item
  end
end

-- One row: merge, write (reading the record first when it was not read ahead); update sends
-- no write when the row changes nothing.
local function apply_row(r, lock, item)
  if #item.problems > 0 then
    local out = {}
    for _, p in ipairs(item.problems) do out[#out + 1] = "column " .. p.column .. ": " .. p.message end
    return nil, table.concat(out, "; ")
  end
  local _ <close> = lock(item.id)
  local record = item.record
  item.record = nil   -- the sheet's rows stay in memory until the run ends; their records need not
  return r:update(record or item.id, item.changes)
end

function update.main(args)
  local o, status = parse_args(args)
  if not o then return status end
  local fusebill = require "fusebill"
  local fb = fusebill.client()
  local schemas = require "fusebill.schema"
  if not (schemas[o.resource] and schemas[o.resource].fields) then
    return select(2, usage("unknown resource %s (%s)", o.resource, table.concat(schemas.names, ", ")))
  end
  local r = fb[o.resource]
  local s, sstatus = read_sheet(r, o.file)
  if not s then return sstatus end
  if o.check then return check(o.file, s) end
  local journal, jstatus = tools.journal_for("update", o.file, "sheet", o.own_journal, ".journal")
  if not journal then return jstatus end
  local report, w = open_report(o.report, s.header)
  if not report then return select(2, usage("cannot write report %s: %s", o.report, w)) end
  local lock, canon = tools.record_lock(), require "fusebill.canon"
  local summary = fusebill.each(rows_in(r, s.items, o.fresh), {
    journal = journal, concurrency = o.concurrency, total = #s.items, skip_failed = o.skip_failed or nil,
    key = function(item) return item.key end,
    input = function(item) return canon.encode({ id = item.id, changes = item.changes }) end,
  }, function(item)
    local v, err = apply_row(r, lock, item)
    if v == nil then report(item, err) end
    return v, err
  end)
  if w then w:close() end
  return tools.status(summary)
end

return update
