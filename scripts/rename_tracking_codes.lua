-- rename_tracking_codes.lua: give sales tracking codes new names from a CSV file.
--
-- The CSV has a header line and three columns: type,code,new_name
--   type      the code's type, e.g. "Sales Tracking Code 1"
--   code      the code as it is today (codes are unique within a type)
--   new_name  the name it should have
-- Fields may be double-quoted ("Europe, West"); "" inside quotes is a literal quote.
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

local script_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local path = (arg and arg[1]) or (script_dir .. "/rename_tracking_codes.csv")

-- One CSV line -> list of fields (RFC 4180 quoting, no newlines inside fields).
local function parse_csv_line(line)
  local fields, pos = {}, 1
  line = line:gsub("\r$", "")
  while true do
    if line:sub(pos, pos) == '"' then
      local value, i = {}, pos + 1
      while true do
        local q = line:find('"', i, true)
        if not q then return nil, "unterminated quote" end
        value[#value + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          value[#value + 1] = '"'
          i = q + 2
        else
          pos = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(value)
      local c = line:sub(pos, pos)
      if c == "" then return fields end
      if c ~= "," then return nil, "text after a closing quote" end
      pos = pos + 1
    else
      local comma = line:find(",", pos, true)
      if not comma then
        fields[#fields + 1] = line:sub(pos)
        return fields
      end
      fields[#fields + 1] = line:sub(pos, comma - 1)
      pos = comma + 1
    end
  end
end

local f, ferr = io.open(path, "r")
if not f then
  io.stderr:write("rename_tracking_codes: ", ferr, "\n")
  os.exit(2)
end
local rows, lineno = {}, 0
for line in f:lines() do
  lineno = lineno + 1
  if lineno > 1 and line:find("%S") then
    local cols, perr = parse_csv_line(line)
    if not cols or #cols ~= 3 then
      io.stderr:write(string.format("rename_tracking_codes: %s:%d: %s\n", path, lineno,
        perr or "expected 3 columns: type,code,new_name"))
      os.exit(2)
    end
    rows[#rows + 1] = { line = lineno, type = cols[1], code = cols[2], name = cols[3] }
  end
end
f:close()

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
-- A non-zero exit status tells a calling job that some rows need attention.
if failed > 0 then os.exit(1) end
