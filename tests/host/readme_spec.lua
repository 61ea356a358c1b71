-- The README cannot drift from the program: every Lua and shell block in it runs here, and
-- it names no file outside the repository. The rules, which the README's blocks follow:
--
-- * A fence says what its block is. ```lua, ```sh and ```console blocks are run; anything
--   else (```text for REPL sessions and output samples, ```c for C an embedder writes) is
--   shown, not run. A fence with no info string fails the spec.
-- * A ```lua block runs as a script of its own: `fusebill --sandbox [FLAGS] block.lua`, FLAGS
--   being the rest of the info string (```lua --dry-run), in a scratch directory (files it
--   writes stay there; scripts/ is reachable), with the REPL's two globals already set:
--   fusebill = require "fusebill" and fb = fusebill.client(). It must exit 0.
-- * A ```sh block runs line by line (a trailing \ continues a line) in the same kind of
--   scratch directory, with build/ first on PATH, so `fusebill` is the program under test,
--   and no FUSEBILL_API_KEY (so `fusebill` uses its in-process sandbox). Each line must exit 0;
--   a curl line must print JSON that is not an error envelope.
--   - `make TARGET` lines are not run (make test would run this spec again): TARGET must be
--     one the Makefile defines.
--   - A line that starts fusebill-sandbox (a server) starts it in the background on a free
--     port; the README's example port 8080 then means that port in the lines that follow.
-- * A ```console block is a shell transcript: each "$ " line runs as a sh line does (it may
--   fail: transcripts show mistakes too), and must print exactly the lines that follow it up
--   to the next "$ " line (stdout and stderr together).
local sandbox = require "sandbox"
local cjson = require "cjson"
local cli = require "cli"

local q, sh = cli.q, cli.sh
local read_file, write_file = sandbox.read_file, sandbox.write_file

local root = (select(2, sh("pwd")):gsub("%s+$", ""))
local build = os.getenv("FUSEBILL_BUILD") or "build"
if build:sub(1, 1) ~= "/" then build = root .. "/" .. build end
local readme = read_file(root .. "/README.md")

-- { info =, lang =, flags =, text =, line = } for every fenced block, in order.
local function blocks()
  local list, cur, n = {}, nil, 0
  for line in (readme .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    local indent, fence, info = line:match("^(%s*)(```+)%s*(.-)%s*$")
    if cur and fence then
      list[#list + 1] = cur
      cur = nil
    elseif fence then
      cur = { info = info, lang = info:match("^(%S*)"), flags = info:match("^%S+%s+(.*)$") or "",
              line = n, lines = {}, indent = #indent }
    elseif cur then
      cur.lines[#cur.lines + 1] = line:sub(1, cur.indent):match("^%s*$") and line:sub(cur.indent + 1) or line
    end
  end
  for _, b in ipairs(list) do b.text = table.concat(b.lines, "\n") .. "\n" end
  return list
end

local function scratch()
  local _, dir = sh("mktemp -d")
  dir = dir:gsub("%s+$", "")
  assert(os.execute(("ln -s %s %s/scripts && ln -s %s %s/build"):format(q(root .. "/scripts"), q(dir),
    q(build), q(dir))))
  return dir
end

local ENV = ("env -u FUSEBILL_API_KEY -u LUA_INIT -u LUA_INIT_5_4 PATH=%s:\"$PATH\""):format(q(build))

describe("README", function()
  it("names no document outside the repository", function()
    for _, outside in ipairs{ "DESIGN.md", "FUSEBILL_API.md", "../shared", "/tmp/team" } do
      assert.is_nil(readme:find(outside, 1, true), "README names " .. outside)
    end
  end)

  it("names only files of the repository that exist", function()
    local checked = 0
    for path in readme:gmatch("`((%a+)/[^`%s]*)`") do
      local top = path:match("^(%a+)/")
      if top == "core" or top == "lua" or top == "tests" or top == "scripts" then
        local code = sh("cd " .. q(root) .. " && ls -d " .. path:gsub("%*%*", "*") .. " >/dev/null")
        assert.equal(0, code, "README names " .. path .. ", which is not in the repository")
        checked = checked + 1
      end
    end
    assert.is_true(checked > 20, "paths checked: " .. checked)
  end)

  it("says what every block is: each fence has an info string", function()
    for _, b in ipairs(blocks()) do
      assert.is_true(b.info ~= "", ("README line %d: a fence without an info string (```lua, ```sh, "
        .. "```text, ...)"):format(b.line))
    end
  end)
end)

describe("README's Lua blocks run", function()
  for _, b in ipairs(blocks()) do
    if b.lang == "lua" then
      local name = ("README line %d: ```%s"):format(b.line, b.info)
      do
        it(name, function()
          local dir = scratch()
          finally(function() os.execute("rm -rf " .. q(dir)) end)
          write_file(dir .. "/block.lua", b.text)
          local code, out = sh(("cd %s && %s fusebill --sandbox %s -e %s block.lua </dev/null"):format(q(dir), ENV,
            b.flags, q("fusebill = require 'fusebill' fb = fusebill.client()")))
          assert.equal(0, code, name .. " exits " .. tostring(code) .. ":\n" .. out)
        end)
      end
    end
  end
end)

describe("README's shell blocks run", function()
  local servers, port_for = {}, {}
  teardown(function()
    for _, sb in ipairs(servers) do sb:stop() end
  end)

  local function makefile_targets()
    local targets = {}
    for t in read_file(root .. "/Makefile"):gmatch("\n([%w%-]+):") do targets[t] = true end
    return targets
  end

  -- The words of a shell line, as sh splits them (quotes, comments).
  local function words(line)
    local _, out = sh("set -- " .. line .. "\nprintf '%s\\n' \"$@\"")   -- a newline ends a # comment
    local list = {}
    for w in out:gmatch("([^\n]*)\n") do list[#list + 1] = w end
    return list
  end

  local function start_server(line)
    local args, w = {}, words(line)
    local i, readme_port = 2, nil
    while i <= #w do
      if w[i] == "--port" then readme_port, i = w[i + 1], i + 2
      else args[#args + 1], i = w[i], i + 1 end
    end
    local sb = sandbox.start{ args = args }
    servers[#servers + 1] = sb
    if readme_port and readme_port ~= "0" then port_for[readme_port] = tostring(sb.port) end
    assert.is_true(sb.port > 0)
  end

  local function run_line(line, dir, where)
    for readme_port, port in pairs(port_for) do line = line:gsub(":" .. readme_port .. "([/%s])", ":" .. port .. "%1") end
    local code, out = sh(("cd %s && %s %s </dev/null"):format(q(dir), ENV, line))
    assert.equal(0, code, where .. ": `" .. line .. "` exits " .. tostring(code) .. ":\n" .. out)
    if line:match("^curl ") then
      local ok, v = pcall(cjson.decode, out)
      assert.is_true(ok, where .. ": `" .. line .. "` printed no JSON: " .. out)
      assert.is_true(type(v) ~= "table" or v.Errors == nil, where .. ": `" .. line .. "` got an error: " .. out)
    end
  end

  it("README's console transcripts print what they show", function()
    local n = 0
    for _, b in ipairs(blocks()) do
      if b.lang == "console" then
        local dir = scratch()
        finally(function() os.execute("rm -rf " .. q(dir)) end)
        local cmd, shown = nil, {}
        local function check()
          if not cmd then return end
          local _, out = sh(("cd %s && %s %s </dev/null"):format(q(dir), ENV, cmd))
          local want = #shown > 0 and (table.concat(shown, "\n") .. "\n") or ""
          assert.equal(want, out, ("README line %d: `%s`"):format(b.line, cmd))
          n = n + 1
        end
        for _, line in ipairs(b.lines) do
          local c = line:match("^%$ (.*)$")
          if c then check(); cmd, shown = c, {} else shown[#shown + 1] = line end
        end
        check()
      end
    end
    assert.is_true(n > 0, "no console transcript in the README")
  end)

  local function lines_of(b)
    local list, pending_line = {}, nil
    for _, l in ipairs(b.lines) do
      l = (pending_line and (pending_line .. " ") or "") .. l:gsub("^%s+", "")
      if l:match("\\$") then pending_line = l:sub(1, -2) else list[#list + 1], pending_line = l, nil end
    end
    return list
  end

  -- one test per block, in README order: a server one block starts serves the next blocks
  for _, b in ipairs(blocks()) do
    if b.lang == "sh" then
      local name = ("README line %d: ```sh"):format(b.line)
      it(name, function()
        local dir = scratch()
        finally(function() os.execute("rm -rf " .. q(dir)) end)
        local targets = makefile_targets()
        for _, line in ipairs(lines_of(b)) do
          local program = line:match("^(%S+)")
          if program == "make" then
            local target = words(line)[2]
            assert.truthy(targets[target], name .. ": `" .. line .. "` names no Makefile target")
          elseif program and program:match("fusebill%-sandbox$") then
            start_server(line)
          elseif program then
            run_line(line, dir, name)
          end
        end
      end)
    end
  end
end)
