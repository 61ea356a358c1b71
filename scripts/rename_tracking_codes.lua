-- rename_tracking_codes.lua: give sales tracking codes new names from a CSV file.
--
-- The CSV has a header row naming (at least) three columns, in any order: type,code,new_name
--   type      the code's type, e.g. "Sales Tracking Code 1"
--   code      the code as it is today (codes are unique within a type)
--   new_name  the name it should have
-- The file is read with fusebill.csv, so it can come straight from a spreadsheet: quoted
-- fields ("Europe, West", "say ""hi"""), line breaks in names, a byte-order mark, CRLF.
-- The whole file is read (and a malformed one refused) before anything is renamed.
--
-- Each row looks the code up (sales_tracking_codes:list{type=, code=}) and renames it with
-- sales_tracking_codes:update(code, {name = ...}), given the code the lookup found: it writes
-- back the code's other fields as they were read, with no second read. Retired codes can be
-- renamed too. Rows already carrying the new name are skipped.
--
-- Usage:
--   fusebill --sandbox scripts/rename_tracking_codes.lua [file.csv]
--   fusebill --dry-run scripts/rename_tracking_codes.lua [file.csv]
-- Default file: rename_tracking_codes.csv beside this script.
local fusebill = require "fusebill"
local csv = require "fusebill.csv"
local argparse = require "argparse"

local script_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local parser = argparse("rename_tracking_codes.lua", "Give sales tracking codes new names from a CSV file.")
parser:argument("file", "CSV with the columns type,code,new_name"):default(script_dir .. "/rename_tracking_codes.csv")

local function fail(msg)
  io.stderr:write("rename_tracking_codes: ", msg, "\n")
  os.exit(2)
end

local parsed, args = parser:pparse(arg)
if not parsed then fail(args .. "\n" .. parser:get_usage()) end
local path = args.file

-- Every row, with the line it starts on, or the reason the file cannot be used.
local function read_rows()
  local reader, err = csv.reader(path, { header = true })
  if not reader then return nil, err end
  local have = {}
  for _, name in ipairs(reader:columns()) do have[name] = true end
  for _, name in ipairs{ "type", "code", "new_name" } do
    if not have[name] then
      reader:close()
      return nil, ("%s: no column %q (the header needs type,code,new_name)"):format(path, name)
    end
  end
  local rows = {}
  local read_ok, read_err = pcall(function()
    for row in reader:rows() do
      rows[#rows + 1] = { line = reader:line(), type = row.type, code = row.code, name = row.new_name }
    end
  end)
  reader:close()
  if not read_ok then return nil, read_err end
  return rows
end

local rows, rerr = read_rows()
if not rows then fail(rerr) end

local fb = fusebill.client()
local renamed, unchanged, failed = 0, 0, 0

-- Finds the one code with this type and code; nil, message when there is none.
local function find_code(row)
  local ok, found = pcall(function()
    for c in fb.sales_tracking_codes:list { type = row.type, code = row.code } do
      -- codes match case-insensitively, as the API's filter does
      if c.code:lower() == row.code:lower() and c.type == row.type then return c end
    end
  end)
  if not ok then return nil, tostring(found) end
  if not found then return nil, "no such code" end
  return found
end

for _, row in ipairs(rows) do
  local label = string.format("%s / %s", row.type, row.code)
  local code, err = find_code(row)
  if not code then
    failed = failed + 1
    print(string.format("line %d: %s: not renamed: %s", row.line, label, err))
  elseif code.name == row.name then
    unchanged = unchanged + 1
    print(string.format("line %d: %s: already named %q", row.line, label, row.name))
  else
    local ok, uerr = fb.sales_tracking_codes:update(code, { name = row.name })
    if ok then
      renamed = renamed + 1
      print(string.format("line %d: %s (id %d): %q -> %q", row.line, label, code.id,
        tostring(code.name), row.name))
    else
      failed = failed + 1
      print(string.format("line %d: %s: not renamed: %s", row.line, label, tostring(uerr)))
    end
  end
end

print(string.format("rename_tracking_codes: %d row(s), %s %d, already right %d, failed %d%s",
  #rows, fb.dry_run and "would rename" or "renamed", renamed, unchanged, failed,
  fb.dry_run and " (dry run: nothing was written)" or ""))
-- Status 3, as the program gives for a bulk run with a failed item: some rows need attention.
if failed > 0 then os.exit(3) end
