-- normalise_customers.lua: tidy customer names and email addresses, safely.
--
--   * names (first, middle, last, company, suffix): leading/trailing spaces trimmed,
--     runs of spaces inside collapsed to one;
--   * emails (primary, secondary): trimmed and lowercased, each address of a ';' list.
--
-- Uses customers:update with the customer as the list returned it: it changes only the fields
-- named and writes the rest back as they were read (no second read), so a PUT never nulls a
-- field this script did not mean to touch.
--
-- Usage:
--   fusebill --sandbox scripts/normalise_customers.lua              (built-in sandbox)
--   FUSEBILL_API_KEY=... fusebill scripts/normalise_customers.lua [options]
--   fusebill --dry-run scripts/normalise_customers.lua             (show the diffs, write nothing)
-- Options:
--   --query Q      Fusebill list filter, e.g. 'status:Active' (default: every customer)
--   --limit N      look at the first N customers only
--   --quiet        print only the summary line
local fusebill = require "fusebill"

local argparse = require "argparse"

local function positive(v)
  local n = math.tointeger(tonumber(v))
  if n and n > 0 then return n end
  return nil, "expected a positive whole number, got " .. v
end

local parser = argparse("normalise_customers.lua", "Tidy customer names and email addresses.")
parser:option("--query", "a Fusebill list query, e.g. status:Active (default: every customer)")
parser:option("--limit", "look at the first N customers only", math.huge):convert(positive)
parser:flag("--quiet", "print only the summary line")
local parsed, opts = parser:pparse(arg)
if not parsed then
  io.stderr:write("normalise_customers: ", opts, "\n", parser:get_usage(), "\n")
  os.exit(2)
end

local NAME_FIELDS = { "firstName", "middleName", "lastName", "companyName", "suffix" }
local EMAIL_FIELDS = { "primaryEmail", "secondaryEmail" }

local function clean_name(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s%s+", " "))
end

local function clean_emails(s)
  local parts = {}
  for p in s:gmatch("[^;]+") do
    p = p:match("^%s*(.-)%s*$"):lower()
    if p ~= "" then parts[#parts + 1] = p end
  end
  return table.concat(parts, ";")
end

-- The changes one customer needs: { field = new value }, or nil when it is already tidy.
local function changes_for(c)
  local changes
  local function set(field, clean)
    local v = c[field]
    if type(v) == "string" then
      local new = clean(v)
      if new ~= v then
        changes = changes or {}
        changes[field] = new
      end
    end
  end
  for _, f in ipairs(NAME_FIELDS) do set(f, clean_name) end
  for _, f in ipairs(EMAIL_FIELDS) do set(f, clean_emails) end
  return changes
end

local fb = fusebill.client()
if not opts.quiet then
  print(string.format("normalise_customers: customers%s at %s%s", opts.query and (" matching " .. opts.query) or "",
    tostring(fb.options.base_url), fb.dry_run and " (dry run)" or ""))
end

-- First collect what needs doing, then write: updating while paging through a list that is
-- sorted by a field we change could skip or repeat customers.
local todo, checked = {}, 0
for c in fb.customers:list { query = opts.query } do
  if checked >= opts.limit then break end
  checked = checked + 1
  local changes = changes_for(c)
  if changes then todo[#todo + 1] = { customer = c, changes = changes } end
end

local function show(v) return string.format("%q", v) end

local changed, failed = 0, 0
for _, t in ipairs(todo) do
  local c = t.customer
  local fields = {}
  for f in pairs(t.changes) do fields[#fields + 1] = f end
  table.sort(fields)
  local result, err = fb.customers:update(c, t.changes)
  if result then
    changed = changed + 1
    if not opts.quiet then
      for _, f in ipairs(fields) do
        print(string.format("customer %d: %s %s -> %s", c.id, f, show(c[f]), show(t.changes[f])))
      end
    end
  else
    failed = failed + 1
    print(string.format("customer %d: not changed: %s", c.id, tostring(err)))
  end
end

print(string.format("normalise_customers: checked %d customers, %s %d, failed %d%s",
  checked, fb.dry_run and "would change" or "changed", changed, failed,
  fb.dry_run and " (dry run: nothing was written)" or ""))
-- Status 3, as the program gives for a bulk run with a failed item: some customers need attention.
if failed > 0 then os.exit(3) end
