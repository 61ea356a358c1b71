-- Sales tracking codes: GET by id, list by type/code, POST, PUT (code, name,
-- description, email; type/status/deletable/uri sent back from a read are ignored;
-- works on Retired codes too), and POST retire/{id}.
local util = require "sandbox.util"
local check = require "sandbox.check"
local paging = require "sandbox.paging"
local store = require "sandbox.store"

local null = util.null
local M = {}

M.TYPES = { "Sales Tracking Code 1", "Sales Tracking Code 2", "Sales Tracking Code 3",
            "Sales Tracking Code 4", "Sales Tracking Code 5" }
local bind = util.binder({ "id", "type", "code", "name", "description", "email", "status", "deletable", "uri" })
local FIELDS = paging.fields({ "id", "type", "code", "name", "description", "email", "status" })

local function nz(v)
  if v == nil then return null end
  return v
end

function M.render(c, ctx)
  return { id = c.id, type = c.type, code = c.code, name = nz(c.name), description = nz(c.description),
           email = nz(c.email), status = c.status, deletable = c.deletable == true,
           uri = ctx.base .. "/SalesTrackingCodes/" .. c.id }
end

local function not_found(id)
  return 404, ("SalesTrackingCode with id %s not found."):format(tostring(id))
end

local function canonical_type(t)
  for _, v in ipairs(M.TYPES) do
    if v:lower() == t:lower() then return v end
  end
  return nil, ("Unknown sales tracking code type %s. Valid types are: %s."):format(t, table.concat(M.TYPES, ", "))
end

-- codes table -> { [code] = the records with that code, in pairs() order }, so a lookup
-- by type and code tries a record or two instead of every code. Dropped whenever a code
-- is added or edited (a new data set is a new codes table), so the first match is the
-- one a pairs() scan of the current table would find.
local by_code = setmetatable({}, { __mode = "k" })

local function code_index(codes)
  local idx = by_code[codes]
  if not idx then
    idx = {}
    for _, c in pairs(codes) do
      local code = c.code
      if code ~= nil then
        local list = idx[code]
        if list then list[#list + 1] = c else idx[code] = { c } end
      end
    end
    by_code[codes] = idx
  end
  return idx
end

-- The code `code` under type `type_` (case-insensitive, as ASP.NET compares them), or nil.
function M.find(st, type_, code)
  local list = code_index(st.codes)[code]
  if not list then return nil end
  for i = 1, #list do
    local c = list[i]
    if c.type == type_ or c.type:lower() == type_:lower() then return c end  -- the same spelling needs no lower()
  end
  return nil
end

local function duplicate(ctx, type_, code, except)
  for _, c in ipairs(code_index(ctx.st.codes)[code] or {}) do
    if c.id ~= except and c.type == type_ then
      return ("Code %s is already in use for type %s."):format(code, type_)
    end
  end
end

M.get = util.getter("codes", M.render, not_found)

function M.list(ctx)
  local q = ctx.q
  local type_ = q.type
  if type_ and type_ ~= "" then
    local t, err = canonical_type(type_)
    if not t then return 400, err end
    type_ = t
  else
    type_ = nil
  end
  local code = q.code ~= "" and q.code or nil
  local all = {}
  for _, c in ipairs(ctx.sorted("codes")) do
    if (not type_ or c.type == type_) and (not code or c.code:lower() == code:lower()) then all[#all + 1] = c end
  end
  return paging.respond(ctx, all, FIELDS, M.render)
end

local function fields(b, errs)
  return check.string(errs, "code", b.code, 255), check.string(errs, "name", b.name, 255),
         check.string(errs, "description", b.description, 1000), check.emails(errs, "email", b.email)
end

function M.create(ctx)
  local b, st, msg = ctx:object(bind)
  if not b then return st, msg end
  local errs = {}
  for _, f in ipairs({ "type", "code", "name" }) do
    if not check.present(b[f]) then errs[#errs + 1] = f .. " is required." end
  end
  local type_ = check.string(errs, "type", b.type, 255)
  local code, name, description, email = fields(b, errs)
  if #errs > 0 then return 400, errs end
  local t, terr = canonical_type(type_)
  if not t then return 400, terr end
  local dup = duplicate(ctx, t, code)
  if dup then return 400, dup end
  local id = ctx.next_id("code")
  local rec = { id = id, type = t, code = code, name = name, description = description, email = email,
                status = "Active", deletable = true }
  store.put(ctx.st.codes, rec)
  by_code[ctx.st.codes] = nil
  return 200, M.render(rec, ctx)
end

function M.put(ctx)
  local b, errs, id = ctx:keyed_object(bind, "id", "id is required.")
  if not b then return errs, id end  -- the body is no object: status, message
  for _, f in ipairs({ "code", "name" }) do
    if not check.present(b[f]) then errs[#errs + 1] = f .. " is required." end
  end
  local code, name, description, email = fields(b, errs)
  if #errs > 0 then return 400, errs end
  local c = ctx.st.codes[id]
  if not c then return not_found(id) end
  local dup = duplicate(ctx, c.type, code, id)
  if dup then return 400, dup end
  -- the index holds the records themselves: only a new code moves one (a rename keeps it, so
  -- a run over 300,000 codes does not rebuild it at every PUT)
  if c.code ~= code then by_code[ctx.st.codes] = nil end
  c.code, c.name, c.description, c.email = code, name, description, email
  return 200, M.render(c, ctx)
end

function M.retire(ctx)
  local c = ctx.st.codes[ctx.id]
  if not c then return not_found(ctx.id) end
  c.status = "Retired"
  return 200, M.render(c, ctx)
end

return M
