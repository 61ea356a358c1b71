-- The public `fusebill` table (luaopen_fusebill returns require "fusebill.api").
--
--   fusebill.new(opts) -> fb          a client; options are checked by fusebill.options
--   fusebill.client() -> fb           the host-configured client (cached); raises without a host
--   fusebill.is_error(v), fusebill.null, fusebill.retry(policy, fn, ...), fusebill.VERSION
--   fusebill.each(items, opts, fn)    bulk runner (lua/fusebill/bulk.lua), loaded on first use
--   fusebill.csv                      CSV reader and writer (lua/fusebill/csv.lua)
-- An fb has .customers, .sales_tracking_codes, .purchase_product_items,
-- .subscription_product_items (resources.lua), .options (effective options, never the key),
-- .dry_run, :last_meta() and :close().

local core = require "fusebill.core"
local options = require "fusebill.options"
local resources = require "fusebill.resources"

local M = {}

M.VERSION = core.VERSION
M.null = core.null
M.is_error = core.is_error
M.retry = core.retry
M.sleep = core.sleep

-- What core.client reads; the rest are the library's own (dry_run, journal, ...).
local ENGINE_OPTIONS = { "api_key", "base_url", "timeout", "connect_timeout", "cacert", "retry",
                         "rate_limit", "verbose", "user_agent" }

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

-- The metadata of the last request this coroutine made through fb (nil before the
-- first): { method, path, status, attempts, elapsed, headers = { x-* }, request_id },
-- plus dry_run = true and changes after a dry-run edit or update. Kept per coroutine, so
-- inside fusebill.each each item sees its own calls.
function Fb:last_meta()
  return self._engine:last_meta()
end

function Fb:__tostring()
  return "fusebill client (" .. tostring(self.options.base_url or "default URL") ..
    (self.dry_run and ", dry run" or "") .. ")"
end

local function url_path(url)
  local p = url:match("^%a[%w+.-]*://[^/]*(/.*)$") or ""
  return (p:gsub("/+$", ""))
end

-- A client from checked options. level: where an error in core.client points (as error()).
local function make(opts, where, level)
  local copts = {}
  for _, k in ipairs(ENGINE_OPTIONS) do copts[k] = opts[k] end
  local ok, client = pcall(core.client, copts)
  if not ok then error(where .. ": " .. tostring(client):gsub("^core%.client: ", ""), level + 1) end
  local eff = client:options()
  for k, v in pairs(opts) do
    if eff[k] == nil and k ~= "api_key" then eff[k] = v end
  end
  -- The host's --dry-run wins over a script's own options: a user who asked for a dry run
  -- on the command line must never get a write because the script called fusebill.new.
  local host = core.host_options()
  eff.dry_run = opts.dry_run == true or (host ~= nil and host.dry_run == true)
  local fb = setmetatable({ _client = client, _engine = client, options = eff, dry_run = eff.dry_run }, Fb)
  fb._base_path = url_path(eff.base_url)
  fb.customers = resources.new(fb, "customers")
  fb.sales_tracking_codes = resources.new(fb, "sales_tracking_codes")
  fb.purchase_product_items = resources.new(fb, "purchase_product_items")
  fb.subscription_product_items = resources.new(fb, "subscription_product_items")
  return fb
end

function M.new(opts)
  options.check("client", opts or {}, "fusebill.new", 2)
  return make(opts or {}, "fusebill.new", 2)
end

local host_fb
function M.client()
  if host_fb and host_fb._client then return host_fb end
  local opts = core.host_options()
  if opts == nil then
    error("fusebill.client: no host configuration (run the script with the fusebill program, " ..
      "e.g. `fusebill script.lua` or `fusebill --sandbox script.lua`, or use fusebill.new{...})", 2)
  end
  options.check("host", opts, "fusebill.client", 2)
  host_fb = make(opts, "fusebill.client", 2)
  return host_fb
end

function M.each(...)
  return require("fusebill.bulk").each(...)
end

M.schema = require "fusebill.schema"
M.csv = require "fusebill.csv"

return M
