-- `fusebill -m NAME ARGS...` (core/host/fbh_tools.c): finds the tool, runs it, returns its exit
-- status; `fusebill -m` lists the tools shipped in the program.
--
-- A tool is a Lua module that returns { description = "one line", main = function(args) ...
-- end }: main gets the arguments after NAME as a list of strings and returns the exit status
-- (0 when it returns nothing). Shipped tools are lua/host/tools/NAME.lua (module
-- host.tools.NAME, in the program only). Any other NAME is `require`d from package.path, so
-- `fusebill -m mytool` runs ./mytool.lua and `fusebill -m acme.export` runs acme/export.lua.
-- Shipped names are looked up first: package.path starts with ./?.lua, and a stray undo.lua
-- in the current directory must not stand in for `-m undo`, a tool that writes to the account.
--
-- Also what the tools share: an argument parser that answers mistakes as usage errors (exit 2),
-- the exit status of a bulk run, and a per-record lock.
local argparse = require "argparse"

local tools = {}

-- The exit statuses of the fusebill program (README, "The fusebill program").
tools.USAGE, tools.FAILED, tools.AUTH, tools.QUOTA, tools.INTERRUPTED = 2, 3, 4, 5, 130

local function say(fmt, ...)
  io.stderr:write(string.format(fmt, ...), "\n")
end

local function load_tool(shipped, name)
  for _, s in ipairs(shipped) do
    if s == name then return require("host.tools." .. name) end
  end
  local ok, mod = pcall(require, name)
  if not ok then
    if tostring(mod):find("module '" .. name .. "' not found", 1, true) then
      return nil, "no tool " .. name .. " (fusebill -m lists the tools; your own is any module on package.path)"
    end
    error(mod, 0)
  end
  if type(mod) ~= "table" or type(mod.main) ~= "function" then
    return nil, "module " .. name .. " is not a tool: it must return a table with a main(args) function"
  end
  return mod
end

local function list(shipped)
  local names = {}
  for _, n in ipairs(shipped) do names[#names + 1] = n end
  table.sort(names)
  print("Tools (fusebill -m NAME ARGS...; fusebill -m NAME --help for each):")
  for _, n in ipairs(names) do
    local ok, mod = pcall(require, "host.tools." .. n)
    local line = ok and type(mod) == "table" and mod.description or "(cannot load: " .. tostring(mod) .. ")"
    print(string.format("  %-10s %s", n, line))
  end
  print("Your own: any Lua module on package.path (LUA_PATH) that returns")
  print("  { description = \"...\", main = function(args) ... return status end }.")
  return 0
end

-- shipped: names of the tools embedded in the program; name: nil to list them.
function tools.main(shipped, name, args)
  if name == nil then return list(shipped) end
  local tool, err = load_tool(shipped, name)
  if not tool then
    say("fusebill: %s", err)
    return tools.USAGE
  end
  local ok, status = pcall(tool.main, args)
  if not ok then
    -- Ctrl-C: the bulk run has printed where it stopped
    if tostring(status):find("interrupted", 1, true) then return tools.INTERRUPTED end
    error(status, 0)
  end
  return math.tointeger(status) or 0
end

-- An argparse parser for `fusebill -m NAME`. parse(args) returns the options, or nil and the
-- exit status after printing the mistake with the usage line (argparse itself would exit 1).
function tools.parser(name, description, epilog)
  local p = argparse("fusebill -m " .. name, description, epilog)
  local parse = function(args)
    local ok, res = p:pparse(args)
    if ok then return res end
    io.stderr:write(p:get_usage(), "\n", "fusebill -m ", name, ": ", tostring(res), "\n")
    return nil, tools.USAGE
  end
  return p, parse
end

-- An argparse converter for a whole number >= 1, answering in the option's own name.
function tools.positive(option)
  return function(v)
    local n = math.tointeger(tonumber(v))
    if n and n >= 1 then return n end
    return nil, option .. " wants a whole number >= 1, not '" .. v .. "'"
  end
end

-- The options every tool that is a bulk run takes (what: "line of the plan", "write undone").
function tools.bulk_options(p, what, journal_default)
  p:option("--journal", "journal of this run (default: " .. journal_default .. ")"):argname("FILE"):target("own_journal")
  p:option("--concurrency", "requests in flight"):argname("N"):convert(tools.positive("--concurrency"))
  p:option("--report", "report file (.csv or .jsonl), one row per " .. what):argname("FILE")
  p:flag("--skip-failed", "on a rerun, leave alone what failed before")
end

-- The file such a tool reads (what: "plan", "journal") and the journal it writes: its own
-- --journal, else the host's, else the file's name plus suffix; never the file itself. Needs
-- fusebill loaded. Returns the journal, or nil and the exit status after saying what is wrong.
function tools.journal_for(name, input, what, own, suffix)
  local f = io.open(input, "rb")
  if not f then
    say("fusebill -m %s: cannot read %s %s", name, what, input)
    return nil, tools.USAGE
  end
  f:close()
  local host = require("fusebill.core").host_options() or {}
  local journal = own or host.journal or (input .. suffix)
  if journal == input then
    say("fusebill -m %s: the journal %s is the %s itself: give another file", name, journal, what)
    return nil, tools.USAGE
  end
  return journal
end

-- fusebill.each's options for such a tool: o from its parser; items are tables with the
-- fields key, text (a line: what identifies the item's intent), line, resource and id.
function tools.each_options(o, journal, total)
  return { journal = journal, concurrency = o.concurrency, report = o.report, total = total,
    skip_failed = o.skip_failed or nil, key = function(item) return item.key end,
    input = function(item) return item.text end, report_columns = { "line", "resource", "id" } }
end

-- The exit status a bulk run's summary calls for.
function tools.status(s)
  if s.stopped == "daily_quota" then return tools.QUOTA end
  for _, e in ipairs(s.errors or {}) do
    if e.kind == "auth" then return tools.AUTH end
  end
  if s.failed > 0 or not s.ok then return tools.FAILED end
  return 0
end

-- Items that touch one record are done one after the other, in the order they started (undo
-- puts a record's writes back newest first; each must see the state the previous one left).
-- lock(key) waits until no other item holds key and returns a to-be-closed value that frees it.
function tools.record_lock()
  local busy = {}
  local sleep = require("fusebill").sleep
  return function(key)
    while busy[key] do sleep(0.005) end
    busy[key] = true
    return setmetatable({}, { __close = function() busy[key] = nil end })
  end
end

return tools
