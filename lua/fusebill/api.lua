-- The public `fusebill` table (luaopen_fusebill returns require "fusebill.api").
--
--   fusebill.new(opts) -> fb          a client; a wrong option type raises, naming the option
--   fusebill.client() -> fb           the host-configured client (cached); raises without a host
--   fusebill.is_error(v), fusebill.null, fusebill.retry(policy, fn, ...), fusebill.VERSION
--   fusebill.each(items, opts, fn)    bulk runner (lua/fusebill/bulk.lua), loaded on first use
--   fusebill.csv                      CSV reader and writer (lua/fusebill/csv.lua)
-- An fb has .customers, .sales_tracking_codes, .purchase_product_items,
-- .subscription_product_items (resources.lua), .options (effective options, never the key),
-- .dry_run, and :close().

local core = require "fusebill.core"
local resources = require "fusebill.resources"

local M = {}

M.VERSION = core.VERSION or "0.1.0"
M.null = core.null
M.is_error = core.is_error
M.retry = core.retry
M.sleep = core.sleep

-- option -> expected type; a function checks values that are not a plain type.
local function is_rate(v) return v == "auto" or v == false or (type(v) == "number" and v > 0) end
local function is_pos_int(v) return math.type(v) == "integer" and v > 0 end
local function is_nonneg(v) return type(v) == "number" and v >= 0 and v == v and v < math.huge end
local CORE_OPTIONS = {
  api_key = "string", base_url = "string", timeout = is_nonneg, connect_timeout = is_nonneg,
  cacert = "string", retry = "table", rate_limit = is_rate, verbose = "boolean", user_agent = "string",
}
local LUA_OPTIONS = {
  dry_run = "boolean", concurrency = is_pos_int,
  journal = function(v) return v == false or type(v) == "string" end, progress = "boolean",
}
local EXPECT = {
  timeout = "a number of seconds >= 0", connect_timeout = "a number of seconds >= 0",
  rate_limit = '"auto", false or a number of requests per minute', concurrency = "a positive integer",
  journal = "a file name or false",
}
local RETRY_OPTIONS = { max_attempts = is_pos_int, base_delay = is_nonneg, max_delay = is_nonneg,
                        budget = is_nonneg }

local function check(name, want, v, where)
  if v == nil then return end
  local ok
  if type(want) == "function" then ok = want(v) else ok = type(v) == want end
  if not ok then
    local what = EXPECT[name] or (type(want) == "string" and ("a " .. want)) or "a valid value"
    error(("%s: option %s must be %s, got %s"):format(where, name, what,
      type(v) == "string" and ("%q"):format(v) or tostring(v)), 4)
  end
end

-- strict: unknown option names raise (a typo such as dryrun=true must not pass silently).
local function check_options(opts, where, strict)
  if type(opts) ~= "table" then error(where .. ": options must be a table, got " .. type(opts), 3) end
  for k, v in pairs(opts) do
    local want = CORE_OPTIONS[k] or LUA_OPTIONS[k]
    if want then
      check(k, want, v, where)
    elseif strict then
      error(("%s: unknown option %s"):format(where, tostring(k)), 3)
    end
  end
  if type(opts.retry) == "table" then
    for k, v in pairs(opts.retry) do
      local want = RETRY_OPTIONS[k]
      if not want then error(("%s: unknown retry option %s"):format(where, tostring(k)), 3) end
      check("retry." .. k, want, v, where)
    end
  end
end

local Fb = {}
Fb.__index = Fb

function Fb:close()
  local c = self._client
  if c then
    self._client = nil
    c:close()
  end
end
Fb.__close = Fb.close

function Fb:__tostring()
  return "fusebill client (" .. tostring(self.options.base_url or "default URL") ..
    (self.dry_run and ", dry run" or "") .. ")"
end

local function url_path(url)
  if type(url) ~= "string" then return "/v1" end
  local p = url:match("^%a[%w+.-]*://[^/]*(/.*)$") or ""
  return (p:gsub("/+$", ""))
end

local function make(opts)
  local copts = {}
  for k in pairs(CORE_OPTIONS) do copts[k] = opts[k] end
  local client = core.client(copts)
  local eff = {}
  local ok, o = pcall(function() return client:options() end)
  if ok and type(o) == "table" then
    for k, v in pairs(o) do eff[k] = v end
  else
    for k, v in pairs(copts) do eff[k] = v end
  end
  eff.api_key = nil
  for k in pairs(LUA_OPTIONS) do
    if opts[k] ~= nil then eff[k] = opts[k] end
  end
  -- The host's --dry-run wins over a script's own options: a user who asked for a dry run
  -- on the command line must never get a write because the script called fusebill.new.
  local host = core.host_options and core.host_options()
  eff.dry_run = opts.dry_run == true or (type(host) == "table" and host.dry_run == true)
  local fb = setmetatable({ _client = client, options = eff, dry_run = eff.dry_run }, Fb)
  fb._base_path = url_path(eff.base_url or opts.base_url)
  fb.customers = resources.new(fb, "customers")
  fb.sales_tracking_codes = resources.new(fb, "sales_tracking_codes")
  fb.purchase_product_items = resources.new(fb, "purchase_product_items")
  fb.subscription_product_items = resources.new(fb, "subscription_product_items")
  return fb
end

function M.new(opts)
  check_options(opts or {}, "fusebill.new", true)
  return make(opts or {})
end

local host_fb
function M.client()
  if host_fb and host_fb._client then return host_fb end
  local opts = core.host_options and core.host_options()
  if opts == nil then
    error("fusebill.client: no host configuration (run the script with the fusebill program, " ..
      "e.g. `fusebill script.lua` or `fusebill --sandbox script.lua`, or use fusebill.new{...})", 2)
  end
  check_options(opts, "fusebill.client (host options)", false)
  host_fb = make(opts)
  return host_fb
end

function M.each(...)
  local bulk = require "fusebill.bulk"
  local f = type(bulk) == "table" and bulk.each or bulk
  return f(...)
end

M.schema = require "fusebill.schema"
M.csv = require "fusebill.csv"

return M
