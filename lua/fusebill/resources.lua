-- The four resources on an fb object: fb.customers, fb.sales_tracking_codes,
-- fb.purchase_product_items, fb.subscription_product_items.
--
--   r:get(id)                -> object | nil, err
--   r:edit(body[, current[, opts]]) -> object | nil, err
--                                                     faithful PUT (id in the body); current: the
--                                                     record as read, if read; opts.skip_unchanged:
--                                                     no PUT if the record (current, else a GET)
--                                                     already holds the body
--   r:update(id|obj, changes[, opts]) -> object | nil, err
--                                                     merge changes into obj (an object already
--                                                     read) or into a GET of id, PUT back, or
--                                                     send nothing when nothing would change
--                                                     (fb:last_meta().unchanged); opts.fresh: GET
--                                                     even when given an object
--   r:get_many(ids[, opts])  -> iterator over the records (fusebill.get_many)
--   customers:list{...}, sales_tracking_codes:list{...}, subscription_product_items:list{...}
--                            -> iterator over every item of every page (raises err on failure);
--                               the next page is fetched while the current one is worked
--   r:list_page{...}         -> page | nil, err       one page: { items = {...}, page =, max_page =,
--                                                     total =, page_size =, count = }
-- A success returns the value alone; the request's metadata is fb:last_meta(). In dry run
-- (fb.dry_run) edit and update GET the current state (unless given the record: update(obj),
-- edit(body, current)), print a diff to stderr and return the would-be object; fb:last_meta()
-- then holds that GET's meta (or one for the PUT not sent, attempts = 0) with dry_run = true
-- and the changes list.
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
local cost = require "fusebill.cost"
local pager = require "fusebill.pager"
local get_many = require "fusebill.get_many"
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
  cost.note("read")
  return self.client:request("GET", self.get_prefix .. id)
end

function Resource:get(id)
  local n, err = self:_id(id, self.label_get, "GET", self.get_prefix .. "{id}", 2)
  if not n then return nil, err end
  return self:_get(n)
end

-- The meta of a call that sent no request (an update of an object already read, in a dry
-- run or with nothing to change): for the PUT it did not send, with attempts = 0. It becomes
-- fb:last_meta(), as a request's meta would.
function Resource:_unsent_meta()
  local meta = { method = "PUT", path = self:_path(self.put_path), attempts = 0, elapsed = 0, headers = {} }
  self.client:set_last_meta(meta)
  return meta
end

-- Dry run: the would-be object, the diff on stderr, the changes in fb:last_meta() (the GET's
-- meta when this call read current, read_now).
function Resource:_dry(current, body, label, id, read_now)
  local after = update.would_be(self.schema, current, json.prepare(self.compiled, body))
  local changes = update.report(current, after, "dry run: " .. label .. " " .. tostring(id),
    { resource = self.name, id = id, before = current, after = after })
  local meta = read_now and self.client:last_meta() or self:_unsent_meta()
  meta.dry_run, meta.changes = true, changes
  return after
end

-- PUTs a body that passed validation (or, in a dry run, predicts it), through
-- fusebill.writes. current: the record as read, if it was; intent: what the caller asked
-- (update's changes, edit's body); read_now: this call read current (a dry run reads it
-- when not given).
function Resource:_put(body, label, id, current, intent, read_now)
  if self.fb.dry_run then
    if not current then
      local err
      current, err = self:_get(id)
      if not current then return nil, err end
      read_now = true
    end
    return self:_dry(current, body, label, id, read_now)
  end
  local text, jerr = json.body(self.compiled, body)
  if not text then return nil, self:_encode_error(jerr, label) end
  return writes.put(self, id, current, body, text, intent)
end

-- Whether a PUT of body (validated) over current would leave the record as it is, field by
-- field as a dry run compares them (nested objects included; null and absent alike).
function Resource:_unchanged(current, body)
  return update.unchanged(current, update.would_be(self.schema, current, json.prepare(self.compiled, body)))
end

-- An edit or update that sends no PUT because nothing would change: the record as it is,
-- alone like every success; fb:last_meta() says unchanged = true (the GET's meta when this
-- call read the record, else one for the PUT not sent, with attempts = 0).
function Resource:_unchanged_result(current, read_now)
  local meta = read_now and self.client:last_meta() or self:_unsent_meta()
  meta.unchanged = true
  if self.fb.dry_run then meta.dry_run, meta.changes = true, {} end
  cost.note("unchanged")
  return current
end

local NO_OPTS = {}

-- A table made by hand ({ id = 7, firstName = "Ada" }) taken for a record as read would have
-- every field it lacks written back as null (update's base) or recorded as the state before
-- (edit's current): only a record as the API sent it, which has its uri, will do. Raises at
-- `level` (as error() counts, from here).
local function check_read(obj, label, what, hint, level)
  if type(obj) ~= "table" or rawget(obj, "uri") == nil then
    error(("%s: %s must be a record as read from the API (get, list, get_many or an earlier update); " ..
      "this %s has no uri. %s"):format(label, what, type(obj) == "table" and "table" or type(obj), hint), level)
  end
end

function Resource:edit(body, current, o)
  if type(body) ~= "table" then
    error(self.label_edit .. ": expected a table of fields, got " .. type(body), 2)
  end
  if current ~= nil then
    check_read(current, self.label_edit, "current (the second argument)",
      "Options go third: edit(body, nil, { skip_unchanged = true })", 3)
  end
  o = o == nil and NO_OPTS or options.check("edit", o, self.label_edit, 2)
  local probs = self.check(body)
  if probs then return nil, verror(probs, self.label_edit, "PUT", self:_path(self.put_path)) end
  local id = tointeger(tonumber(body.id))
  if not o.skip_unchanged then return self:_put(body, self.label_edit, id, current, body) end
  local read_now = current == nil
  if read_now then
    local err
    current, err = self:_get(id)
    if not current then return nil, err end
  end
  if self:_unchanged(current, body) then return self:_unchanged_result(current, read_now) end
  return self:_put(body, self.label_edit, id, current, body, read_now)
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

-- update's base: obj itself (an object already read), or a GET of its id or of the id given.
-- Returns id, base (nil: read it), or nil, err. Raises for an object that was not read.
function Resource:_update_target(target, o)
  local label = self.label_update
  if type(target) ~= "table" then
    local n, err = self:_id(target, label, "PUT", self.put_path, 3)
    return n, err                                           -- not a tail call: levels count
  end
  if core.is_error(target) then return nil, target end     -- get_many's not_found, passed on
  local n, err = self:_id(target.id, label, "PUT", self.put_path, 3)
  if not n then return nil, err end
  check_read(target, label, "the object", "Pass its id instead to read it first", 4)
  if o.fresh then return n end
  return n, target
end

function Resource:update(target, changes, o)
  local label = self.label_update
  o = o == nil and NO_OPTS or options.check("update", o, label, 2)
  local n, base = self:_update_target(target, o)
  if not n then return nil, base end
  if type(changes) ~= "table" then
    error(label .. ": changes must be a table, got " .. type(changes), 2)
  end
  local probs = self:_change_problems(n, changes, self.check_changes(changes))
  if probs then
    table.sort(probs, function(a, b) return a.field < b.field end)
    return nil, verror(probs, label, "PUT", self:_path(self.put_path))
  end
  local done = writes.done(self, n, changes)   -- a journaled rerun finds this change made
  if done ~= nil then return done end
  local read_now = base == nil
  if read_now then
    local err
    base, err = self:_get(n)
    if not base then return nil, err end
    if type(base) ~= "table" then
      return nil, core.new_error { kind = "bad_response", method = "GET",
        path = self:_path(self.get_prefix .. n), message = label .. ": GET returned no object" }
    end
  end
  local body = update.merge(self.schema, base, changes)
  body.id = n
  if self:_unchanged(base, body) then return self:_unchanged_result(base, read_now) end
  probs = self.check(body)
  if probs then return nil, verror(probs, label, "PUT", self:_path(self.put_path)) end
  return self:_put(body, label, n, base, changes, read_now)
end

-- ---- lists -----------------------------------------------------------------------------

-- The API's largest page (FUSEBILL_API's "maximum never below 1,000"): the fewest requests.
M.DEFAULT_PAGE_SIZE = 1000

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

-- The iterators list() and get_many() made, weakly, with their call's label: the REPL
-- prints one as an iterator and says how to take its items, rather than as a table.
M.iterators = setmetatable({}, { __mode = "k" })

-- Iterates every item of every page, fetching the next page while this one is worked
-- (fusebill.pager). A failing page request raises the error object (it has __tostring);
-- wrap the loop in pcall to handle it.
function Resource:list(o)
  local path, q, first = self:_list_args(o, 2)
  local client = self.client
  local iter = pager.new(function(i, it)
    local pq = {}
    for k, v in pairs(q) do pq[k] = v end
    local page = first + i - 1
    pq.pageNumber = tostring(page)
    it.lists = it.lists + 1
    local items, err = client:request("GET", path, nil, pq)
    if not items then return nil, err end
    if type(items) ~= "table" then items = {} end
    local h = client:last_meta().headers
    it.total = it.total or tointeger(tonumber(h["x-maxcount"]))
    local max_page = tonumber(h["x-maxpageindex"])
    -- No paging headers means the server sent everything it will send.
    if max_page == nil or #items == 0 then return items, i end
    return items, max_page - first + 1
  end)
  M.iterators[iter] = self.label_list
  return iter
end

function Resource:get_many(ids, o)
  if type(ids) ~= "table" then
    error(self.label_get_many .. ": ids must be a list of ids, got " .. type(ids), 2)
  end
  o = options.check("get_many", o or {}, self.label_get_many, 2)
  local it = get_many.iterate(self, ids, o)
  M.iterators[it] = self.label_get_many
  return it
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
    label_list = name .. ":list", label_get_many = name .. ":get_many",
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
