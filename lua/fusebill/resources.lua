-- The four resources on an fb object: fb.customers, fb.sales_tracking_codes,
-- fb.purchase_product_items, fb.subscription_product_items.
--
--   r:get(id)                -> object | nil, err
--   r:edit(body[, current])  -> object | nil, err     faithful PUT (id in the body);
--                                                     current: the record as read, if read
--   r:update(id, changes)    -> object | nil, err     GET, merge, PUT back
--   customers:list{...}, sales_tracking_codes:list{...}, subscription_product_items:list{...}
--                            -> iterator over every item of every page (raises err on failure)
--   r:list_page{...}         -> page | nil, err       one page: { items = {...}, page =, max_page =,
--                                                     total =, page_size =, count = }
-- A success returns the value alone; the request's metadata is fb:last_meta(). In dry run
-- (fb.dry_run) edit and update GET the current state, print a diff to stderr and return the
-- would-be object; fb:last_meta() then holds that GET's meta with dry_run = true and the
-- changes list.
-- Every PUT goes through fusebill.writes, which a journaled run or a plan watches.
-- Ids are positive whole numbers or strings of digits. Any other string or number is a
-- run-time validation error (nil, err: a CSV cell is data); an id of another type, or a
-- body or changes that are not tables, is a programming error and raises.

local core = require "fusebill.core"
local schemas = require "fusebill.schema"
local validate = require "fusebill.validate"
local options = require "fusebill.options"
local json = require "fusebill.json"
local update = require "fusebill.update"
local writes = require "fusebill.writes"

local M = {}

local type, error, tostring, setmetatable, pairs = type, error, tostring, setmetatable, pairs
local tointeger, tonumber = math.tointeger, tonumber
local verror = validate.error

local Resource = {}

function Resource:_path(rel) return self.fb._base_path .. rel end

-- id as an integer, or nil and a validation error naming `name` for a call to method path.
-- Raises (at the user's line: `level` above this function's caller) for a wrong type.
function Resource:_id(id, label, method, path, level)
  if options.is_id(id) then return tointeger(tonumber(id)) end
  if type(id) ~= "number" and type(id) ~= "string" then
    error(("%s: id must be a positive whole number or a string of digits, got %s"):format(label,
      id == nil and "nil" or type(id)), level + 1)
  end
  local shown = type(id) == "string" and ("%q"):format(id) or tostring(id)
  return nil, verror({ { field = "id", rule = type(id) == "number" and id == id // 1 and "range" or "type",
    message = "id must be a positive whole number or a string of digits, got " .. shown } },
    label, method, self:_path(path))
end

function Resource:_encode_error(msg, label)
  return core.new_error {
    kind = "validation", rule = "json", message = label .. ": cannot encode the body as JSON: " .. tostring(msg),
    method = "PUT", path = self:_path(self.put_path), attempts = 0, retryable = false,
  }
end

function Resource:_get(id)
  return self.client:request("GET", self.get_prefix .. id)
end

function Resource:get(id)
  local n, err = self:_id(id, self.label_get, "GET", self.get_prefix .. "{id}", 2)
  if not n then return nil, err end
  return self:_get(n)
end

-- Dry run: the would-be object, the diff on stderr, the changes in fb:last_meta().
function Resource:_dry(current, body, label, id)
  local after = update.would_be(self.schema, current, json.prepare(self.compiled, body))
  local changes = update.report(current, after, "dry run: " .. label .. " " .. tostring(id),
    { resource = self.name, id = id, before = current, after = after })
  local meta = self.client:last_meta()
  meta.dry_run, meta.changes = true, changes
  return after
end

-- PUTs a body that passed validation (or, in a dry run, predicts it).
function Resource:_put(body, label, id, current, intent)
  if self.fb.dry_run then
    if not current then
      local err
      current, err = self:_get(id)
      if not current then return nil, err end
    end
    return self:_dry(current, body, label, id)
  end
  local text, jerr = json.body(self.compiled, body)
  if not text then return nil, self:_encode_error(jerr, label) end
  return writes.put(self, id, current, body, text, intent)
end

function Resource:edit(body, current)
  if type(body) ~= "table" then
    error(self.label_edit .. ": expected a table of fields, got " .. type(body), 2)
  end
  local probs = self.check(body)
  if probs then return nil, verror(probs, self.label_edit, "PUT", self:_path(self.put_path)) end
  return self:_put(body, self.label_edit, tointeger(tonumber(body.id)), current, body)
end

-- The problems of update's changes that validation of a body cannot see: names that are
-- not fields (the server would ignore them and the update would "succeed" having changed
-- nothing), fields a PUT does not write, and a different id.
function Resource:_change_problems(id, changes, probs)
  local function add(field, rule, message)
    probs = probs or {}
    probs[#probs + 1] = { field = field, rule = rule, message = message }
  end
  local cid = changes.id
  if cid ~= nil and not (options.is_id(cid) and tointeger(tonumber(cid)) == id) then
    add("id", "read_only", "id cannot be changed (update(" .. id .. ", ...) was given id " .. tostring(cid) .. ")")
  end
  local fields = self.schema.fields
  for k, v in pairs(changes) do
    local spec = fields[k]
    if spec == nil and type(k) == "string" then
      add(k, "unknown_field", k .. " is not a field of " .. self.name .. " (update would change nothing)")
    elseif spec and spec.read_only then
      add(k, "read_only", k .. " is set by the system; a PUT does not change it")
    elseif spec and self.put_set and not self.put_set[k] then
      add(k, "read_only", k .. " cannot be changed by a PUT (writable: " .. self.put_list .. ")")
    elseif spec and spec.type == "object" and type(v) == "table" then
      for k2 in pairs(v) do
        local s2 = type(k2) == "string" and spec.fields[k2]
        if not s2 then
          add(k .. "." .. tostring(k2), "unknown_field",
            k .. "." .. tostring(k2) .. " is not a field of " .. self.name .. " (update would change nothing)")
        elseif s2.read_only then
          add(k .. "." .. k2, "read_only", k .. "." .. k2 .. " is set by the system; a PUT does not change it")
        end
      end
    end
  end
  return probs
end

function Resource:update(id, changes)
  local n, err = self:_id(id, self.label_update, "PUT", self.put_path, 2)
  if not n then return nil, err end
  if type(changes) ~= "table" then
    error(self.label_update .. ": changes must be a table, got " .. type(changes), 2)
  end
  local probs = self:_change_problems(n, changes, self.check_changes(changes))
  if probs then
    table.sort(probs, function(a, b) return a.field < b.field end)
    return nil, verror(probs, self.label_update, "PUT", self:_path(self.put_path))
  end
  local done = writes.done(self, n, changes)   -- a journaled rerun finds this change made
  if done ~= nil then return done end
  local current
  current, err = self:_get(n)
  if not current then return nil, err end
  if type(current) ~= "table" then
    return nil, core.new_error { kind = "bad_response", method = "GET",
      path = self:_path(self.get_prefix .. n), message = self.label_update .. ": GET returned no object" }
  end
  local body = update.merge(self.schema, current, changes)
  body.id = n
  probs = self.check(body)
  if probs then return nil, verror(probs, self.label_update, "PUT", self:_path(self.put_path)) end
  return self:_put(body, self.label_update, n, current, changes)
end

-- ---- lists -----------------------------------------------------------------------------

M.DEFAULT_PAGE_SIZE = 100

-- list option -> query parameter (true: handled apart)
local LIST = {
  customers = { query = "query", page_size = true, page = true, sort_order = "sortOrder",
                sort_expression = "sortExpression" },
  sales_tracking_codes = { type = "type", code = "code", page_size = true, page = true },
  subscription_product_items = { subscription_product_id = true, page_size = true, page = true },
}

-- Builds {path, query, start page} from list options; raises (at `level` above the
-- caller) on a wrong one.
function Resource:_list_args(o, level)
  o = options.check("list." .. self.name, o or {}, self.label_list, level + 1)
  local q = { pageSize = tostring(tointeger(o.page_size) or M.DEFAULT_PAGE_SIZE) }
  for key, qname in pairs(self.list_opts) do
    if qname ~= true then q[qname] = o[key] end
  end
  local path = self.list_path
  if self.name == "subscription_product_items" then
    local sp = o.subscription_product_id
    if sp == nil then error(self.label_list .. ": option subscription_product_id is required", level + 1) end
    path = "/subscriptionProducts/" .. tointeger(tonumber(sp)) .. "/items"
  end
  return path, q, tointeger(o.page) or 0
end

local function page_info(meta, page, items)
  local h = meta and meta.headers or {}
  return {
    items = items, page = page, count = #items,
    max_page = tonumber(h["x-maxpageindex"]),
    total = tonumber(h["x-maxcount"]),
    page_size = tonumber(h["x-pagesize"]),
  }
end

function Resource:list_page(o)
  local path, q, page = self:_list_args(o, 2)
  q.pageNumber = tostring(page)
  local items, err = self.client:request("GET", path, nil, q)
  if not items then return nil, err end
  if type(items) ~= "table" then items = {} end
  return page_info(self.client:last_meta(), page, items)
end

-- The iterators list() made, weakly, with their call's label: the REPL prints one as
-- an iterator and says how to take its items, rather than as a bare function.
M.iterators = setmetatable({}, { __mode = "k" })

-- Iterates every item of every page. A failing page request raises the error object
-- (it has __tostring); wrap the loop in pcall to handle it. Pages are fetched lazily.
function Resource:list(o)
  local path, q, page = self:_list_args(o, 2)
  local client = self.client
  local items, i, n, done = nil, 0, 0, false
  local function iterator()
    while true do
      if i < n then
        i = i + 1
        return items[i]
      end
      if done then return nil end
      q.pageNumber = tostring(page)
      local v, err = client:request("GET", path, nil, q)
      if not v then error(err, 2) end
      if type(v) ~= "table" then v = {} end
      items, i, n = v, 0, #v
      local h = client:last_meta().headers
      local max_page = tonumber(h["x-maxpageindex"])
      -- No paging headers means the server sent everything it will send.
      if max_page == nil or page >= max_page or n == 0 then done = true end
      page = page + 1
    end
  end
  M.iterators[iterator] = self.label_list
  return iterator
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
    list_path = schema.list_path, list_opts = LIST[name],
    label_get = name .. ":get", label_edit = name .. ":edit", label_update = name .. ":update",
    label_list = name .. ":list",
  }, Resource)
  if schema.put_fields then
    r.put_set = {}
    for _, f in ipairs(schema.put_fields) do r.put_set[f] = true end
    r.put_list = table.concat(schema.put_fields, ", ")
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
