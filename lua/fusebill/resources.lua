-- The four resources on an fb object: fb.customers, fb.sales_tracking_codes,
-- fb.purchase_product_items, fb.subscription_product_items.
--
--   r:get(id)                -> object, meta | nil, err
--   r:edit(body[, current])  -> object, meta | nil, err     faithful PUT (id in the body);
--                                                          current: the record as read, if read
--   r:update(id, changes)    -> object, meta | nil, err     GET, merge, PUT back
--   customers:list{...}, sales_tracking_codes:list{...}, subscription_product_items:list{...}
--                            -> iterator over every item of every page (raises err on failure)
--   r:list_page{...}         -> items, info | nil, err      one page, for callers who page by hand
-- In dry run (fb.dry_run) edit and update GET the current state, print a diff to stderr and
-- return the would-be object and the changes list instead of writing.
-- Every PUT goes through fusebill.writes, which a journaled run or a plan watches.
-- Wrong argument types raise; anything that goes wrong at run time returns nil, err.

local core = require "fusebill.core"
local schemas = require "fusebill.schema"
local validate = require "fusebill.validate"
local codec = require "fusebill.json"
local update = require "fusebill.update"
local writes = require "fusebill.writes"

local M = {}

local type, error, tostring, setmetatable = type, error, tostring, setmetatable
local mtype, tointeger = math.type, math.tointeger
local encode = codec.encode
local verror = validate.error

local Resource = {}

-- ids: integers (or integral floats); a string of digits is accepted too (CSV input).
local function check_id(id, label)
  if mtype(id) == "integer" and id > 0 then return id end
  local n = id
  if type(n) == "string" and n:find("^%d+$") then n = tonumber(n) end
  if type(n) == "number" and validate.is_id(n) then
    local i = tointeger(n)
    if i then return i end
  end
  error(label .. ": id must be a positive integer, got " .. (type(id) == "string" and ("%q"):format(id)
    or tostring(id)), 3)
end

function Resource:_path(rel) return self.fb._base_path .. rel end

function Resource:_encode_error(msg, label)
  return core.new_error {
    kind = "validation", rule = "json", message = label .. ": cannot encode the body as JSON: " .. tostring(msg),
    method = "PUT", path = self:_path(self.put_path), attempts = 0, retryable = false,
  }
end

function Resource:get(id)
  id = check_id(id, self.label_get)
  return self.client:request("GET", self.get_prefix .. id)
end

local function dry(self, current, body, label, id)
  local after = update.would_be(self.schema, current, body)
  local changes = update.report(current, after, "dry run: " .. label .. " " .. tostring(id),
    { resource = self.name, id = id, before = current, after = after })
  return after, changes
end

function Resource:edit(body, current)
  if type(body) ~= "table" then
    error(self.label_edit .. ": expected a table of fields, got " .. type(body), 2)
  end
  local probs = self.check(body)
  if probs then return nil, verror(probs, self.label_edit, "PUT", self:_path(self.put_path)) end
  if self.fb.dry_run then
    local err
    if current == nil then current, err = self:get(body.id) end
    if not current then return nil, err end
    return dry(self, current, body, self.label_edit, body.id)
  end
  local json, jerr = encode(self.compiled, body)
  if not json then return nil, self:_encode_error(jerr, self.label_edit) end
  return writes.put(self, body.id, current, body, json, body)
end

function Resource:update(id, changes)
  id = check_id(id, self.label_update)
  if type(changes) ~= "table" then
    error(self.label_update .. ": changes must be a table, got " .. type(changes), 2)
  end
  local probs = self.check_changes(changes)
  local cid = changes.id
  if cid ~= nil and cid ~= id then
    probs = probs or {}
    probs[#probs + 1] = { field = "id", rule = "read_only",
      message = "id cannot be changed (update(" .. id .. ", ...) was given id " .. tostring(cid) .. ")" }
  end
  -- An unknown name in changes would be sent, ignored by the server, and "succeed" having
  -- changed nothing: for update that is always a mistake (a typo, a snake_case name).
  local fields = self.schema.fields
  for k, v in pairs(changes) do
    local spec = fields[k]
    if spec == nil and type(k) == "string" then
      probs = probs or {}
      probs[#probs + 1] = { field = k, rule = "unknown_field",
        message = k .. " is not a field of " .. self.name .. " (update would change nothing)" }
    elseif spec and spec.type == "object" and type(v) == "table" then
      for k2 in pairs(v) do
        if type(k2) == "string" and not spec.fields[k2] then
          probs = probs or {}
          probs[#probs + 1] = { field = k .. "." .. k2, rule = "unknown_field",
            message = k .. "." .. k2 .. " is not a field of " .. self.name .. " (update would change nothing)" }
        end
      end
    end
  end
  if self.put_set then
    for k in pairs(changes) do
      if self.schema.fields[k] and not self.put_set[k] then
        probs = probs or {}
        probs[#probs + 1] = { field = k, rule = "read_only",
          message = k .. " cannot be changed by a PUT (writable: " .. self.put_list .. ")" }
      end
    end
  end
  if probs then
    table.sort(probs, function(a, b) return a.field < b.field end)
    return nil, verror(probs, self.label_update, "PUT", self:_path(self.put_path))
  end
  local done = writes.done(self, id, changes)
  if done ~= nil then return done end
  local current, err = self:get(id)
  if not current then return nil, err end
  if type(current) ~= "table" then
    return nil, core.new_error { kind = "bad_response", method = "GET",
      path = self:_path(self.get_prefix .. id), message = self.label_update .. ": GET returned no object" }
  end
  local body = update.merge(self.schema, current, changes)
  body.id = id
  probs = self.check(body)
  if probs then return nil, verror(probs, self.label_update, "PUT", self:_path(self.put_path)) end
  if self.fb.dry_run then return dry(self, current, body, self.label_update, id) end
  local json, jerr = encode(self.compiled, body)
  if not json then return nil, self:_encode_error(jerr, self.label_update) end
  return writes.put(self, id, current, body, json, changes)
end

-- ---- lists -----------------------------------------------------------------------------

local function opt(o, key, want, label)
  local v = o[key]
  if v == nil then return nil end
  if want == "integer" then
    if type(v) ~= "number" or v ~= math.floor(v) or v < 0 or v == math.huge then
      error(label .. ": option " .. key .. " must be an integer, got " .. tostring(v), 4)
    end
    return tostring(tointeger(v))
  end
  if type(v) ~= want then
    error(label .. ": option " .. key .. " must be a " .. want .. ", got " .. type(v), 4)
  end
  return v
end

-- Builds {path, query, start page} from list options; raises on wrong types.
function Resource:_list_args(o)
  local label = self.label_list
  if o == nil then o = {} end
  if type(o) ~= "table" then error(label .. ": expected a table of options, got " .. type(o), 3) end
  local q = {}
  local path = self.list_path
  for key in pairs(o) do
    if not self.list_opts[key] then
      error(label .. ": unknown option " .. tostring(key) .. " (known: " .. self.list_known .. ")", 3)
    end
  end
  local size = opt(o, "page_size", "integer", label) or tostring(M.DEFAULT_PAGE_SIZE)
  if tonumber(size) < 1 then error(label .. ": page_size must be at least 1", 3) end
  q.pageSize = size
  local page = tonumber(opt(o, "page", "integer", label) or "0")
  for key, qname in pairs(self.list_opts) do
    if qname ~= true and key ~= "page_size" and key ~= "page" then q[qname] = opt(o, key, "string", label) end
  end
  if q.sortOrder and q.sortOrder ~= "Ascending" and q.sortOrder ~= "Descending" then
    error(label .. ": sort_order must be \"Ascending\" or \"Descending\", got " .. ("%q"):format(q.sortOrder), 3)
  end
  if self.list_path_fn then path = self.list_path_fn(o, label) end
  return path, q, page
end

local function page_info(meta, page, n)
  local h = meta and meta.headers or {}
  return {
    page = page, count = n,
    max_page = tonumber(h["x-maxpageindex"]),
    total = tonumber(h["x-maxcount"]),
    page_size = tonumber(h["x-pagesize"]),
  }
end

function Resource:list_page(o)
  local path, q, page = self:_list_args(o)
  q.pageNumber = tostring(page)
  local items, meta = self.client:request("GET", path, nil, q)
  if not items then return nil, meta end
  if type(items) ~= "table" then items = {} end
  return items, page_info(meta, page, #items)
end

-- Iterates every item of every page. A failing page request raises the error object
-- (it has __tostring); wrap the loop in pcall to handle it. Pages are fetched lazily.
function Resource:list(o)
  local path, q, page = self:_list_args(o)
  local client = self.client
  local items, i, n, done = nil, 0, 0, false
  return function()
    while true do
      if i < n then
        i = i + 1
        return items[i]
      end
      if done then return nil end
      q.pageNumber = tostring(page)
      local v, meta = client:request("GET", path, nil, q)
      if not v then error(meta, 2) end
      if type(v) ~= "table" then v = {} end
      items, i, n = v, 0, #v
      local h = meta and meta.headers
      local max_page = h and tonumber(h["x-maxpageindex"])
      -- No paging headers means the server sent everything it will send.
      if max_page == nil or page >= max_page or n == 0 then done = true end
      page = page + 1
    end
  end
end

M.DEFAULT_PAGE_SIZE = 100

local LIST = {
  customers = { query = "query", page_size = true, page = true, sort_order = "sortOrder",
                sort_expression = "sortExpression" },
  sales_tracking_codes = { type = "type", code = "code", page_size = true, page = true },
  subscription_product_items = { subscription_product_id = true, page_size = true, page = true },
}

local function sub_items_path(o, label)
  local sp = o.subscription_product_id
  if sp == nil then error(label .. ": subscription_product_id is required", 4) end
  return "/subscriptionProducts/" .. check_id(sp, label) .. "/items"
end

local compiled_cache = {}

function M.new(fb, name)
  local schema = assert(schemas[name], name)
  local compiled = compiled_cache[name]
  if not compiled then
    compiled = validate.compile(schema)
    compiled_cache[name] = compiled
  end
  local r = setmetatable({
    fb = fb, client = fb._client, name = name, schema = schema, compiled = compiled,
    check = compiled.check, check_changes = compiled.check_changes,
    put_path = schema.path, get_prefix = (schema.get_path or schema.path) .. "/",
    list_path = schema.list_path,
    label_get = name .. ":get", label_edit = name .. ":edit", label_update = name .. ":update",
    label_list = name .. ":list",
  }, Resource)
  if schema.put_fields then
    r.put_set = {}
    for _, f in ipairs(schema.put_fields) do r.put_set[f] = true end
    r.put_list = table.concat(schema.put_fields, ", ")
  end
  local lo = LIST[name]
  if lo then
    r.list_opts = lo
    local known = {}
    for k in pairs(lo) do known[#known + 1] = k end
    table.sort(known)
    r.list_known = table.concat(known, ", ")
    if name == "subscription_product_items" then r.list_path_fn = sub_items_path end
  end
  return r
end

-- Resources without a list call have no list method (rather than one that fails).
function Resource.__index(t, k)
  if (k == "list" or k == "list_page") and not rawget(t, "list_opts") then return nil end
  return Resource[k]
end

M.Resource = Resource
return M
