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

local function usage(msg)
  io.stderr:write("normalise_customers: ", msg, "\n",
    "usage: normalise_customers.lua [--query Q] [--limit N] [--quiet]\n")
  os.exit(2)
end

local opts = { limit = math.huge }
local args = arg or {}
local i = 1
while i <= #args do
  local a = args[i]
  if a == "--query" then
    opts.query = args[i + 1] or usage("--query needs a value")
    i = i + 1
  elseif a == "--limit" then
    opts.limit = math.tointeger(tonumber(args[i + 1])) or usage("--limit needs a whole number")
    i = i + 1
  elseif a == "--quiet" then
    opts.quiet = true
  elseif a == "-h" or a == "--help" then
    usage("tidies customer names and emails")
  else
    usage("unknown argument " .. a)
  end
  i = i + 1
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
-- A non-zero exit status tells a calling job that some rows need attention.
if failed > 0 then os.exit(1) end
