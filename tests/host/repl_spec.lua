-- The REPL as a person uses it: the real binary in a tmux pane, keys sent with
-- send-keys, assertions on what the screen shows (capture-pane). Each test uses a
-- fresh session name and kills its session however the test ends.
local build = os.getenv("FUSEBILL_BUILD") or "build"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  return (sh("pwd"):gsub("%s+$", "")) .. "/" .. p
end

local have_tmux = select(2, sh("command -v tmux >/dev/null"))
local binary = abspath(build .. "/fusebill")
local counter = 0

local Pane = {}
Pane.__index = Pane

-- Starts `fusebill ARGS` in a new detached session (80 columns is what people have).
local function open_pane(args, env)
  counter = counter + 1
  local name = ("fbrepl_%s_%d"):format(os.tmpname():match("[^/]+$"):gsub("%W", ""), counter)
  local envs = { "env -u FUSEBILL_API_KEY TERM=xterm" }
  for k, v in pairs(env or {}) do envs[#envs + 1] = k .. "=" .. q(v) end
  local cmd = table.concat(envs, " ") .. " " .. q(binary) .. " " .. (args or "")
  local out, ok = sh(("tmux new-session -d -s %s -x 110 -y 50 %s"):format(name, q(cmd)))
  assert(ok, "tmux new-session failed: " .. out)
  return setmetatable({ name = name }, Pane)
end

function Pane:screen()
  return (sh("tmux capture-pane -p -J -S -200 -t " .. self.name))
end

function Pane:keys(...)   -- key names: Enter, Tab, C-c, Up
  sh("tmux send-keys -t " .. self.name .. " " .. table.concat({ ... }, " "))
end

function Pane:type(text)  -- literal text (so "end" is not the End key)
  sh("tmux send-keys -t " .. self.name .. " -l " .. q(text))
end

function Pane:line(text)
  self:type(text)
  self:keys("Enter")
end

-- Waits (bounded) until the screen matches a plain-text needle; returns the screen.
function Pane:wait_for(needle, count, seconds)
  count = count or 1
  local screen
  for _ = 1, (seconds or 15) * 10 do
    screen = self:screen()
    local n, from = 0, 1
    while true do
      local s, e = screen:find(needle, from, true)
      if not s then break end
      n, from = n + 1, e + 1
    end
    if n >= count then return screen end
    os.execute("sleep 0.1")
  end
  error(("screen never showed %q (x%d); it shows:\n%s"):format(needle, count, screen), 2)
end

function Pane:kill()
  sh("tmux kill-session -t " .. self.name)
end

local function with_pane(args, env, fn)
  local pane = open_pane(args, env)
  local ok, err = pcall(fn, pane)
  pane:kill()
  if not ok then error(err, 0) end
end

local describe_tmux = have_tmux and describe or pending

describe_tmux("the REPL in a terminal", function()
  local tmpdir

  before_each(function()
    tmpdir = (sh("mktemp -d"):gsub("%s+$", ""))
  end)

  after_each(function()
    if tmpdir and tmpdir:match("^/tmp/") then os.execute("rm -rf " .. q(tmpdir)) end
  end)

  local function env() return { FUSEBILL_HISTORY = tmpdir .. "/history" } end

  it("shows a banner naming the sandbox and never the key", function()
    with_pane("--sandbox", env(), function(p)
      local screen = p:wait_for("fusebill> ")
      assert.matches("connected to sandbox at http://127%.0%.0%.1:%d+/v1", screen)
      assert.not_matches("MDpzYW5kYm94", screen)
    end)
  end)

  it("completes globals, fields and methods with Tab", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:type("fb.cus")
      p:keys("Tab")
      p:wait_for("fusebill> fb.customers")
      p:type(":")
      p:keys("Tab", "Tab")
      local screen = p:wait_for("fb.customers:get(")
      assert.truthy(screen:find("fb.customers:edit(", 1, true))
      assert.truthy(screen:find("fb.customers:update(", 1, true))
      p:keys("C-u")
      p:type("strin")
      p:keys("Tab")
      p:wait_for("fusebill> string")
    end)
  end)

  it("keeps history across two sessions", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:line("history_marker_4711 = 6 * 7")
      p:wait_for("fusebill> ", 2)
      p:line(".exit")
    end)
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:keys("Up", "Up")  -- the last entry is ".exit"
      p:wait_for("fusebill> history_marker_4711 = 6 * 7")
      p:keys("Enter")
      p:line("history_marker_4711")
      p:wait_for("\n42")
    end)
  end)

  it("pretty-prints a customer from the sandbox, expressions without return", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:line("fb.customers:get(1)")
      local screen = p:wait_for("uri = \"http://127.0.0.1:")
      assert.matches("\n{\n  [%w_]+ = ", screen)             -- one field per line, indented
      assert.matches("\n  id = 1,\n", screen)                  -- keys sorted, ids shown as integers
      assert.matches("\n  customerReference = {\n    id = 1,", screen)   -- nested table indented
      assert.matches("firstName = \"", screen)
    end)
  end)

  it("shows an error object as its summary line plus its fields", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:line("fb.customers:get(987654321)")
      local screen = p:wait_for("kind = \"not_found\"")
      assert.matches("not_found %(404%) GET /v1/customers/987654321", screen)
      assert.matches("status = 404", screen)
    end)
  end)

  it("continues an unfinished statement on a >> line", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:line("for i = 1, 3 do")
      p:wait_for(">> ")
      p:line("io.write(i * 11, ' ')")
      p:line("end")
      p:wait_for("11 22 33")
    end)
  end)

  it("starts the prompt on a line of its own after output that did not end one", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:line("for i = 1, 3 do io.write(i * 11, ' ') end")
      local screen = p:wait_for("fusebill> ", 2)
      assert.matches("\n11 22 33 *\nfusebill> ", screen)
      p:line("io.write('no newline') error('after it')")
      screen = p:wait_for("fusebill> ", 3)
      assert.matches("\nno newline\nstdin:1: after it\n", screen)   -- the error starts a line too
    end)
  end)

  it("shows a list as an iterator that says how to take its items", function()
    with_pane("--sandbox", env(), function(p)
      p:wait_for("fusebill> ")
      p:line("fb.customers:list{}")
      p:wait_for("<iterator from customers:list: for item in fb.customers:list{...} do ... end>")
      p:line("n = 0 for c in fb.customers:list{ page_size = 5 } do n = n + 1 end print(n)")
      p:wait_for("\n50\n")
    end)
  end)

  it("Ctrl-C clears the line at the prompt and interrupts a slow call", function()
    with_pane("--sandbox --sandbox-opt '--latency 60000'", env(), function(p)
      p:wait_for("fusebill> ")
      p:type("this line is abandoned")
      p:keys("C-c")
      p:wait_for("fusebill> ", 2)
      p:keys("Enter")                       -- the cleared line is not run
      p:wait_for("fusebill> ", 3)
      p:line("slow = fb.customers:get(1)")
      p:wait_for("slow = fb.customers:get(1)\n")
      os.execute("sleep 0.5")
      p:keys("C-c")
      local screen = p:wait_for("interrupted")
      assert.not_matches("syntax error", screen)
      p:wait_for("fusebill> ", 4)
      p:line("'still here ' .. tostring(slow)")
      p:wait_for('"still here nil"')
    end)
  end)
end)
