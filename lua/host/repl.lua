-- REPL helpers (module "host.repl"): tab completion, result display and the
-- .help text. The C side (core/host/fbh_repl.c) does the line editing and calls these.
local pretty = require "host.pretty"
local members = require "host.members"

local repl = {}

local lua_keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" }

local function resolve(path)
  local v = _G
  for part in path:gmatch("[^.:]+") do
    local ok, x = pcall(function() return v[part] end)  -- __index may raise
    if not ok or x == nil then return nil end
    v = x
  end
  return v
end

--- Completion candidates for `text`, the word before the cursor: "pri",
-- "fb.cus", "fb.customers:ed", "string.f". Returns full replacement strings.
function repl.complete(text)
  local base, sep, partial = text:match("^(.*)([.:])([%a_]?[%w_]*)$")
  local names = {}
  if base then
    if not base:match("^[%a_][%w_]*[%w_.:]*$") or base:find("[.:][.:]") then return {} end
    local v = resolve(base)
    if v == nil then return {} end
    members.collect(v, names, sep == ":")
  else
    base, sep, partial = "", "", text
    if not partial:match("^[%a_]?[%w_]*$") then return {} end
    members.collect(_G, names, false)
    for _, k in ipairs(lua_keywords) do names[k] = names[k] or "keyword" end
  end
  local out = {}
  for name, kind in pairs(names) do
    -- names starting with "_" are private by convention: offered only when asked for
    if name:sub(1, #partial) == partial and (name:sub(1, 1) ~= "_" or partial:sub(1, 1) == "_") then
      out[#out + 1] = base .. sep .. name .. (kind == "function" and sep == ":" and "(" or "")
    end
  end
  table.sort(out)
  return out
end

--- Prints results the REPL got back, one pretty-printed value per line.
function repl.show(...)
  pretty.print(...)
end

local commands = {
  { ".help", "this list" },
  { ".exit", "leave the REPL (Ctrl-D does too)" },
}

local bindings = {
  { "fb", "the client configured from the command line (fusebill.client())" },
  { "fusebill", "the module: new, client, is_error, null, retry, each, VERSION" },
  { "fb.customers", ":get(id) :list{query=,page_size=} :edit{...} :update(id, changes)" },
  { "fb.sales_tracking_codes", ":get(id) :list{type=,code=} :edit{id=,code=,name=}" },
  { "fb.purchase_product_items", ":get(id) :edit{id=,reference=,name=}" },
  { "fb.subscription_product_items", ":get(id) :list{subscription_product_id=} :edit{...}" },
}

--- Prints the commands and the main bindings with one line each.
function repl.help()
  local lines = { "Commands:" }
  for _, c in ipairs(commands) do lines[#lines + 1] = ("  %-30s %s"):format(c[1], c[2]) end
  lines[#lines + 1] = "Bindings:"
  for _, b in ipairs(bindings) do lines[#lines + 1] = ("  %-30s %s"):format(b[1], b[2]) end
  lines[#lines + 1] = "Keys: Tab completes names (fb.cus<Tab>, fb.customers:<Tab>), Up/Down walk the"
  lines[#lines + 1] = "history, Ctrl-C clears the line or interrupts a running call."
  lines[#lines + 1] = "Expressions print without `return`; unfinished statements continue on a >> line."
  io.stdout:write(table.concat(lines, "\n"), "\n")
end

return repl
