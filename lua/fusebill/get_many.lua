-- r:get_many(ids[, opts]): the records of many ids, with as few requests as the API allows.
--
-- Customers can be listed by id: `query=id:1,2,3` (a set) or `query=id:9|1008` (a range,
-- both ends included), a page holding up to 1,000 records. Ids are unique whole numbers, so
-- a range no wider than a page can hold no more than a page: a dense run of ids costs one
-- request per 1,000. Scattered ids go in sets, as many as fit in one query string: the API
-- runs on IIS, which by default refuses a query string over 2,048 bytes (404.15), and each
-- id costs its digits plus 3 (the comma goes as %2C), so a set holds about 250 five-digit
-- ids. The other resources have no filter by id (codes list by type and code, purchase
-- items have no list, subscription items list per subscription product): one GET per id,
-- several ahead of the item being worked.
--
-- The iterator (fusebill.pager) yields each distinct id once: its record, or the error
-- object a get of it would have returned, with `id` set (kind not_found for an id the API
-- does not have, validation for a value that is not an id). Customers come in ascending
-- order within each request, the others in the order given. fusebill.each counts an item
-- that is an error object as failed without calling fn; update(err, ...) returns it.
--   opts.max_query_length: the server's limit in bytes (default 2048, IIS's default)
local core = require "fusebill.core"
local pager = require "fusebill.pager"

local M = {}

-- Records per page, and so the widest range one request reads whole.
M.PAGE = 1000
M.MAX_QUERY_LENGTH = 2048
-- GETs in flight ahead of the item being worked, for resources read one id at a time.
M.GETS_AHEAD = 8

local tointeger, tonumber, tostring = math.tointeger, tonumber, tostring

-- The query string of a customers list by id, as the engine sends it (curl escapes every
-- byte but letters, digits and -._~): "query=id%3A<ids>&pageSize=1000&pageNumber=0".
local FIXED = #"query=" + #"id%3A" + #"&pageSize=" + #tostring(M.PAGE) + #"&pageNumber=0"
local SEP = #"%2C"                  -- "," and "|" alike

local function query_params(value)
  return { query = value, pageSize = tostring(M.PAGE), pageNumber = "0" }
end

-- Splits sorted distinct ids into chunks of one request each: { query =, ids = {...} }.
-- A window of ids no wider than a page goes as a range when it holds more ids than a set
-- could; the rest go in sets filling the query string up to `limit` bytes.
function M.plan(ids, limit)
  local chunks, pool = {}, {}
  local n, j = #ids, 1
  local i = 1
  while i <= n do
    if j < i then j = i end
    while j < n and ids[j + 1] - ids[i] < M.PAGE do j = j + 1 end
    local per_id = #tostring(ids[j]) + SEP
    local fits = (limit - FIXED + SEP) // per_id
    if j - i + 1 > fits then
      local wanted = table.move(ids, i, j, 1, {})
      chunks[#chunks + 1] = { query = "id:" .. ids[i] .. "|" .. ids[j], ids = wanted }
      i = j + 1
    else
      pool[#pool + 1] = ids[i]
      i = i + 1
    end
  end
  local set, used = nil, 0
  for _, id in ipairs(pool) do
    local cost = #tostring(id) + (set and SEP or 0)
    if not set or FIXED + used + cost > limit then
      set, used = {}, 0
      chunks[#chunks + 1] = { ids = set }
      cost = #tostring(id)
    end
    set[#set + 1] = id
    used = used + cost
  end
  for _, c in ipairs(chunks) do
    if not c.query then c.query = "id:" .. table.concat(c.ids, ",") end
  end
  return chunks
end

-- An id the answer to a list by id did not hold (meta: that request's).
local function not_found(r, id, meta)
  return core.new_error {
    kind = "not_found", method = "GET", path = meta.path:match("^[^?]*"), id = id, attempts = meta.attempts,
    retryable = false, message = ("%s: id %d not found"):format(r.label_get_many, id),
  }
end

-- The distinct ids as integers, and the error objects of the values that are not ids.
local function sorted_ids(r, list, sort)
  local ids, errors, seen = {}, {}, {}
  for _, v in ipairs(list) do
    local n, err = r:_id(v, r.label_get_many, "GET", r.get_prefix .. "{id}", 4)
    if not n then
      err.id = v
      errors[#errors + 1] = err
    elseif not seen[n] then
      seen[n] = true
      ids[#ids + 1] = n
    end
  end
  if sort then table.sort(ids) end
  return ids, errors
end

-- Customers: one list request per chunk of ids.
local function by_query(r, ids, errors, limit)
  local chunks = M.plan(ids, limit)
  if #errors > 0 then table.insert(chunks, 1, { errors = errors }) end
  local client, path = r.client, r.list_path
  return pager.new(function(i, it)
    local chunk = chunks[i]
    if chunk.errors then return chunk.errors, #chunks end
    it.lists = it.lists + 1
    local page, err = client:request("GET", path, nil, query_params(chunk.query))
    if not page then return nil, err end
    local meta = client:last_meta()
    local max_page = tonumber(meta.headers["x-maxpageindex"])
    if max_page and max_page > 0 then   -- a server whose pages are smaller than the API's
      return nil, core.new_error { kind = "bad_response", method = "GET", path = r:_path(path),
        message = ("%s: the answer to %s came in %d pages, not one"):format(r.label_get_many, chunk.query,
          max_page + 1) }
    end
    local found = {}
    for _, rec in ipairs(type(page) == "table" and page or {}) do
      local id = type(rec) == "table" and tointeger(rec.id)
      if id then found[id] = rec end
    end
    local out = {}
    for k, id in ipairs(chunk.ids) do out[k] = found[id] or not_found(r, id, meta) end
    return out, #chunks
  end)
end

-- The other resources: one GET per id. A not_found is the id's outcome; any other failure
-- raises, as a list page's does.
local function by_get(r, ids, errors)
  local n = #ids + (#errors > 0 and 1 or 0)
  local first = #errors > 0 and 1 or 0
  return pager.new(function(i, it)
    if i == first then return errors, n end
    local id = ids[i - first]
    it.reads = it.reads + 1
    local rec, err = r:_get(id)
    if rec then return { rec }, n end
    if err.kind ~= "not_found" then return nil, err end
    err.id = id
    return { err }, n
  end, M.GETS_AHEAD)
end

function M.iterate(r, list, o)
  local query = r.list_opts and r.list_opts.query
  local ids, errors = sorted_ids(r, list, query)
  if #ids == 0 and #errors == 0 then return pager.new(function() return {}, 1 end) end
  if query then return by_query(r, ids, errors, o.max_query_length or M.MAX_QUERY_LENGTH) end
  return by_get(r, ids, errors)
end

return M
