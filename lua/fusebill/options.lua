-- Every option table of the library, and the one checker they all go through:
-- fusebill.new and the host's configuration ("client"), retry policies ("retry"),
-- fusebill.each ("each"), the list calls ("list.customers", ...), the calls' own
-- options (update's "update", edit's "edit", get_many's "get_many") and fusebill.csv
-- ("csv.read", "csv.write").
--
--   options.check(group, t, where, level)   raises on the first problem; level as error()'s,
--                                           counted from the caller of check
--   options.problem(group, key, value, t, name, got) -> nil | "NAME must be ... (got ...)"
--   options.from_flag(flag, text) -> group, key, value | nil, message   (command-line words)
--   options.suggest(group, key) -> the nearest valid name, or nil
--
-- One spelling per option and per value across Lua, the C engine (core.client trusts a
-- table checked here) and the command line (each option's `flag`): rate_limit is
-- "auto" | "none" | N, timeouts are seconds > 0. Messages name the option the way the
-- caller spelled it: `name` is "timeout", "retry.max_attempts" or "--timeout".
-- Pure Lua, no engine: the host can load it before the engine is loaded.

local M = {}

local type, mtype, huge, format = type, math.type, math.huge, string.format

local function whole(v) return mtype(v) == "integer" or (mtype(v) == "float" and v == math.floor(v) and v < huge) end
local function positive_number(v) return type(v) == "number" and v > 0 and v < huge end
local function nonneg_number(v) return type(v) == "number" and v >= 0 and v < huge end
local function positive_whole(v) return whole(v) and v >= 1 end
local function nonneg_whole(v) return whole(v) and v >= 0 end
local function nonempty_string(v) return type(v) == "string" and v ~= "" end
-- Bounded above too: the engine turns seconds into a long of milliseconds, max_attempts
-- into an int and budget into a long; past these a conversion would overflow.
local function upto(rule, max) return function(v) return rule(v) and v <= max end end

-- An id: a positive whole number, or a string of digits (read from a CSV).
function M.is_id(v)
  if type(v) == "string" then return v:find("^%d+$") ~= nil and v:find("[1-9]") ~= nil end
  return positive_whole(v)
end

-- This machine, exactly (the engine's fb_client.c applies the same rule to the URL it is
-- given): localhost, an IPv4 literal in 127.0.0.0/8, or [::1]. 127.evil.example is not.
local function is_loopback(host)
  if host == "localhost" or host == "[::1]" then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return a == "127" and tonumber(b) <= 255 and tonumber(c) <= 255 and tonumber(d) <= 255
end

local function api_key_ok(v)
  return type(v) == "string" and #v >= 1 and #v <= 1024 and not v:find("[%c ]")
end

-- A URL's scheme and host ("[::1]" keeps its brackets).
local function url_parts(v)
  local scheme, rest = v:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  local host = rest:match("^(%[[^%]]*%])") or rest:match("^([^/:?#]*)")
  return scheme:lower(), host:lower()
end

-- base_url: https, or http to a loopback address (a local sandbox); never the key over
-- plain http to anywhere else.
local function base_url_ok(v, t)
  if type(v) ~= "string" then return false end
  local scheme, host = url_parts(v)
  if not scheme or host == "" or (scheme ~= "https" and scheme ~= "http") then return false end
  if scheme == "http" and not is_loopback(host) and t and t.api_key ~= nil then
    return false, "must not send the API key over plain http to " .. host .. "; use https://"
  end
  return true
end

local function rate_ok(v) return v == "auto" or v == "none" or positive_number(v) end

-- A rule is a type name or a function(value, whole table) -> ok[, message]. `expect` says
-- what the rule wants, in words; `flag` is the command line's spelling; `parse` turns the
-- command line's text into the value (a number unless "string" or "rate"); a `secret`'s
-- value is never shown.
local CLIENT = {
  api_key = { rule = api_key_ok, expect = "1 to 1024 characters without spaces or control characters",
              flag = "--api-key", parse = "string", secret = true },
  base_url = { rule = base_url_ok, expect = "a URL that starts with https:// (http:// only for a loopback "
               .. "address such as 127.0.0.1)", flag = "--base-url", parse = "string" },
  timeout = { rule = upto(positive_number, 86400), expect = "a number of seconds > 0, at most 86400",
              flag = "--timeout" },
  connect_timeout = { rule = upto(positive_number, 86400), expect = "a number of seconds > 0, at most 86400",
                      flag = "--connect-timeout" },
  cacert = { rule = nonempty_string, expect = "a file name", flag = "--cacert", parse = "string" },
  user_agent = { rule = "string" },
  retry = { group = "retry" },
  rate_limit = { rule = rate_ok, expect = '"auto", "none" or a number of requests per minute > 0',
                 flag = "--rate-limit", parse = "rate" },
  verbose = { rule = "boolean", flag = "--verbose" },
  concurrency = { rule = positive_whole, expect = "a whole number >= 1", flag = "--concurrency" },
  dry_run = { rule = "boolean", flag = "--dry-run" },
  journal = { rule = nonempty_string, expect = "a file name", flag = "--journal", parse = "string" },
  progress = { rule = "boolean" },
}

local HOST = { sandbox = { rule = "boolean", flag = "--sandbox" },
               skip_failed = { rule = "boolean", flag = "--skip-failed" },
               plan = { rule = nonempty_string, expect = "a file name", flag = "--plan", parse = "string" } }
for k, v in pairs(CLIENT) do HOST[k] = v end

local RETRY = {
  max_attempts = { rule = upto(positive_whole, 1000), expect = "a whole number from 1 to 1000", flag = "--retries" },
  base_delay = { rule = upto(nonneg_number, 3600), expect = "a number of seconds from 0 to 3600" },
  max_delay = { rule = upto(nonneg_number, 3600), expect = "a number of seconds from 0 to 3600" },
  budget = { rule = upto(nonneg_whole, 1e9), expect = "a whole number from 0 to 1000000000" },
}

local EACH = {
  concurrency = CLIENT.concurrency,
  journal = { rule = function(v) return v == false or nonempty_string(v) end,
              expect = "a file name, or false for none" },
  key = { rule = "function" },
  retry_failed = { rule = "boolean" },   -- the earlier spelling: false is skip_failed = true
  skip_failed = { rule = "boolean" },
  input = { rule = "function" },
  report_columns = { rule = function(v)
    if type(v) ~= "table" then return false end
    for _, c in ipairs(v) do if type(c) ~= "string" then return false end end
    return true
  end, expect = "a list of column names" },
  stop_on_error = { rule = "boolean" },
  limit = { rule = nonneg_whole, expect = "a whole number >= 0" },
  report = { rule = nonempty_string, expect = "a file name ending in .csv or .jsonl" },
  quiet = { rule = "boolean" },
  dry_run = { rule = "boolean" },
  total = { rule = nonneg_whole, expect = "a whole number >= 0" },
  progress = { rule = "boolean" },
  print_errors = { rule = nonneg_whole, expect = "a whole number >= 0" },
  name = { rule = nonempty_string, expect = "a non-empty string" },
  client = { rule = "table", expect = "a client made by fusebill.new" },
}

local PAGE_SIZE = { rule = positive_whole, expect = "a whole number >= 1" }
-- enough for one id in a customers query (about 60 bytes), with room to spare
local QUERY_LENGTH = { rule = function(v) return whole(v) and v >= 256 end, expect = "a whole number of bytes >= 256" }
local PAGE = { rule = nonneg_whole, expect = "a whole number >= 0 (the first page is 0)" }
local ID = { rule = M.is_id, expect = "an id (a positive whole number or a string of digits)" }

M.groups = {
  client = CLIENT, host = HOST, retry = RETRY, each = EACH,
  ["list.customers"] = {
    query = { rule = "string" }, page_size = PAGE_SIZE, page = PAGE, sort_expression = { rule = "string" },
    sort_order = { rule = function(v) return v == "Ascending" or v == "Descending" end,
                   expect = '"Ascending" or "Descending"' },
  },
  ["list.sales_tracking_codes"] = { type = { rule = "string" }, code = { rule = "string" },
                                    page_size = PAGE_SIZE, page = PAGE },
  ["list.subscription_product_items"] = { subscription_product_id = ID, page_size = PAGE_SIZE, page = PAGE },
  ["csv.read"] = { header = { rule = "boolean" }, name = { rule = "string" } },
  ["csv.write"] = { columns = { rule = "table", expect = "an array of column names" }, header = { rule = "boolean" },
                    bom = { rule = "boolean" }, crlf = { rule = "boolean" }, name = { rule = "string" } },
  update = { fresh = { rule = "boolean" } },
  edit = { skip_unchanged = { rule = "boolean" } },
  get_many = { max_query_length = QUERY_LENGTH },
}

local function shown(v)
  if type(v) == "string" then return format("%q", v) end
  if type(v) == "number" or type(v) == "boolean" or v == nil then return tostring(v) end
  return "a " .. type(v)
end

-- Edit distance between a and b, case and underscores aside (dryRun is dry_run).
local function distance(a, b)
  a, b = a:lower():gsub("_", ""), b:lower():gsub("_", "")
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

function M.suggest(group, key)
  if type(key) ~= "string" then return nil end
  local best, best_d
  for name in pairs(M.groups[group]) do
    local d = distance(key, name)
    if not best_d or d < best_d or (d == best_d and name < best) then best, best_d = name, d end
  end
  if best_d and best_d <= math.max(2, #key // 3) then return best end
  return nil
end

local function known_list(group)
  local names = {}
  for name in pairs(M.groups[group]) do names[#names + 1] = name end
  table.sort(names)
  return table.concat(names, ", ")
end

-- The message for an unknown option `key` of `group`, without the caller's prefix.
local function unknown(group, key, name)
  name = name or tostring(key)
  local near = M.suggest(group, key)
  if near and type(key) == "string" and name:sub(-#key) == key then
    near = name:sub(1, #name - #key) .. near          -- retry.max_attemps -> retry.max_attempts
  end
  return format("unknown option %s (%s)", name,
    near and ("did you mean " .. near .. "?") or ("options: " .. known_list(group)))
end

-- nil when value suits option key of group; else "NAME must be ... (got ...)".
-- t is the whole table (a rule may look at another option); name is the caller's spelling;
-- got, when given, is how to show the value (the command line's text as typed).
function M.problem(group, key, value, t, name, got)
  local spec = M.groups[group][key]
  name = name or key
  if spec == nil then return unknown(group, key, name) end
  if value == nil then return nil end
  if spec.group then
    if type(value) ~= "table" then return format("%s must be a table (got %s)", name, shown(value)) end
    return nil                       -- its fields are checked one by one
  end
  local ok, why
  if type(spec.rule) == "string" then ok = type(value) == spec.rule else ok, why = spec.rule(value, t) end
  if ok then return nil end
  local msg = format("%s %s", name, why or ("must be " .. (spec.expect or ("a " .. spec.rule))))
  if spec.secret then return msg end           -- never the key, not even a wrong one
  return format("%s (got %s)", msg, got or shown(value))
end

-- The first problem of table t against group (nested groups such as retry included), as
-- "NAME ..." with NAME from display(key path); nil when there is none. Keys are visited in
-- sorted order, so the same table always gives the same message.
local function first_problem(group, t, display, prefix)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local path = prefix and (prefix .. "." .. tostring(k)) or tostring(k)
    local msg = M.problem(group, k, t[k], t, display(path))
    if msg then return msg end
    local spec = M.groups[group][k]
    if spec.group then
      msg = first_problem(spec.group, t[k], display, path)
      if msg then return msg end
    end
  end
  return nil
end

local function by_flag(group)
  return function(path)
    local top, sub = path:match("^([^.]+)%.?(.*)$")
    local spec = M.groups[group][top]
    if spec and spec.group and sub ~= "" then spec = M.groups[spec.group][sub] end
    return spec and spec.flag or path
  end
end

local function as_is(path) return path end

-- Raises "WHERE: NAME must be ... (got ...)" at `level` above the caller of check (1: the
-- caller itself, 2: its caller, as error() counts). A non-table raises too. flags = true
-- names options by their command-line flag (the host's configuration).
function M.check(group, t, where, level, flags)
  level = (level or 1) + 1
  if type(t) ~= "table" then
    error(format("%s: options must be a table (got %s)", where, shown(t)), level)
  end
  local msg = first_problem(group, t, flags and by_flag(group) or as_is)
  if msg then error(where .. ": " .. msg, level) end
  return t
end

local function parse(spec, text)
  if spec.parse == "string" then return text end
  if spec.parse == "rate" and (text == "auto" or text == "none") then return text end
  local n = tonumber(text)
  return n ~= nil and n or text           -- the text as typed, for the message
end

-- The command line's "--flag TEXT" as group, key, value (key "retry" with value
-- { max_attempts = n } for --retries), or nil and a message in the user's own words.
function M.from_flag(flag, text)
  for _, group in ipairs { "host", "retry" } do
    for key, spec in pairs(M.groups[group]) do
      if spec.flag == flag then
        local value = parse(spec, text)
        local msg = M.problem(group, key, value, nil, flag, format("%q", text))
        if msg then return nil, msg end
        if group == "retry" then return "host", "retry", { [key] = value } end
        return group, key, value
      end
    end
  end
  return nil, "unknown option " .. tostring(flag)
end

return M
