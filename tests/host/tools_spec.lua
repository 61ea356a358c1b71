-- fusebill -m: the list of tools, --help for each, usage mistakes (exit 2), a user's own tool
-- found on package.path, and a shipped name that a file in the current directory cannot take.
local hostrun = require "hostrun"
if not hostrun.available() then
  describe("fusebill -m", function() pending("needs build/fusebill") end)
  return
end
local sandbox = require "sandbox"
local q = sandbox.quote
local fusebill = hostrun.build .. "/fusebill"

local function run(args, env)
  return hostrun.run((env or "") .. " " .. q(fusebill) .. " " .. args)
end

describe("fusebill -m", function()
  it("alone lists the shipped tools, one line each", function()
    local out, code = run("-m")
    assert.equal(0, code, out)
    assert.matches("\n  apply +send the writes of a plan", out)
    assert.matches("\n  undo +put back the records a journaled run changed", out)
    assert.matches("Your own: any Lua module on package.path", out)
  end)

  it("gives --help for each tool, and exit status 0", function()
    for _, name in ipairs{ "apply", "undo" } do
      local out, code = run("-m " .. name .. " --help")
      assert.equal(0, code, out)
      assert.matches("^Usage: fusebill %-m " .. name, out)
      assert.matches("%-%-journal FILE", out)
      assert.matches("%-%-concurrency N", out)
      assert.matches("Exit status: 0", out)
    end
    assert.matches("%-%-force", (run("-m undo --help")))
  end)

  it("answers a mistake in a tool's arguments or name with one line and the usage, exit 2", function()
    local out, code = run("-m undo")
    assert.equal(2, code, out)
    assert.matches("fusebill %-m undo: missing argument 'journal'", out)
    assert.is_nil(out:find("traceback", 1, true))
    out, code = run("-m apply --concurrency many plan.jsonl")
    assert.equal(2, code, out)
    assert.matches("fusebill %-m apply: %-%-concurrency wants a whole number >= 1, not 'many'", out)
    out, code = run("-m nosuch")
    assert.equal(2, code, out)
    assert.matches("^fusebill: no tool nosuch %(fusebill %-m lists the tools", out)
  end)

  it("runs a user's tool from package.path, with its arguments and exit status; shipped names first", function()
    local dir = hostrun.tmpdir()
    finally(function() hostrun.rmdir(dir) end)
    hostrun.write(dir .. "/hello.lua", [[
return { description = "says hello", main = function(args)
  print("hello " .. table.concat(args, "+") .. " from " .. arg[0])
  return 7
end }]])
    hostrun.write(dir .. "/undo.lua", 'return { main = function() print("not the real undo") return 0 end }')
    hostrun.write(dir .. "/plain.lua", "return 42")
    local out, code = hostrun.run("cd " .. q(dir) .. " && " .. q(os.getenv("PWD") .. "/" .. fusebill) ..
      " -m hello a b --flag")
    assert.equal(7, code, out)
    assert.equal("hello a+b+--flag from hello\n", out)
    out, code = hostrun.run("cd " .. q(dir) .. " && " .. q(os.getenv("PWD") .. "/" .. fusebill) .. " -m undo")
    assert.equal(2, code, out)
    assert.is_nil(out:find("not the real undo", 1, true))
    out, code = run("-m plain", "LUA_PATH=" .. q(dir .. "/?.lua;;"))
    assert.equal(2, code, out)
    assert.matches("module plain is not a tool: it must return a table with a main%(args%) function", out)
  end)
end)
