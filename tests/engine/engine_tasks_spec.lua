-- Tasks (core.spawn): managed coroutines the loop resumes by itself, whoever drives it.
-- A list fetches its next page in one while the current page is worked, both in a plain
-- loop of blocking calls and inside a scheduler (fusebill.each), so both are tested here.
local sandbox = require "sandbox"
require "fusebill"   -- registers fusebill.core
local core = require "fusebill.core"

describe("core.spawn", function()
  local sb, c
  setup(function()
    sb = sandbox.start{ args = { "--rate-limit", "none", "--latency", "150" } }
    c = core.client{ api_key = sb.key, base_url = sb.url }
  end)
  teardown(function() sb:stop() end)

  it("runs up to the task's first wait at once, and hands back its results on join", function()
    local before = core.stats().attempts
    local task = core.spawn(function(id)
      local v = assert(c:request("GET", "/customers/" .. id))
      return v.id, "second"
    end, 3)
    assert.are.equal(1, core.stats().attempts - before)   -- sent before spawn returned
    assert.is_false(task:done())
    assert.are.same({ true, 3, "second" }, { task:join() })
    assert.is_true(task:done())
    assert.are.same({ true, 3, "second" }, { task:join() })   -- again: the same results
  end)

  it("is finished by the caller's own blocking calls, so a join afterwards does not wait", function()
    local task = core.spawn(function() return assert(c:request("GET", "/customers/1")).id end)
    -- a blocking call of the caller (one latency long) drives the loop; the task's answer
    -- comes in meanwhile and the loop resumes the task to the end
    assert(c:request("GET", "/customers/2"))
    assert(c:request("GET", "/customers/4"))
    assert.is_true(task:done())
    assert.are.same({ true, 1 }, { task:join() })
  end)

  it("inside a scheduler: a joining coroutine is handed back by core.wait, the task never", function()
    local task
    local co = coroutine.create(function()
      task = core.spawn(function() return assert(c:request("GET", "/customers/5")).id end)
      return task:join()
    end)
    core.manage(co)
    local ok, token = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal(core.WAIT, token)
    local seen_task, results = false, nil
    while coroutine.status(co) ~= "dead" do
      for _, ready in ipairs(core.wait(5)) do
        if ready ~= co then seen_task = true end
        results = { select(2, assert(coroutine.resume(ready))) }
      end
    end
    assert.is_false(seen_task)
    assert.are.same({ true, 5 }, results)
  end)

  it("keeps an error to its task: join returns false and the error, the caller goes on", function()
    local task = core.spawn(function()
      assert(c:request("GET", "/customers/1"))
      error({ why = "boom" })
    end)
    assert.are.equal(6, assert(c:request("GET", "/customers/6")).id)
    local ok, err = task:join()
    assert.is_false(ok)
    assert.are.same({ why = "boom" }, err)
  end)

  it("finishes a task nobody joins and gives its curl handle back", function()
    core.spawn(function() return c:request("GET", "/customers/7") end)
    core.sleep(0.4)     -- a blocking sleep drives the loop too
    assert.are.equal(0, core.stats().handles)
  end)

  it("lets several tasks run at once: every request is sent before any answer", function()
    local before = core.stats().attempts
    local tasks = {}
    for i = 1, 6 do
      tasks[i] = core.spawn(function() return assert(c:request("GET", "/customers/" .. i)).id end)
    end
    assert.are.equal(6, core.stats().attempts - before)
    for i = 1, 6 do assert.is_false(tasks[i]:done()) end
    for i = 1, 6 do assert.are.same({ true, i }, { tasks[i]:join() }) end
  end)

  it("raises for a join of a task another coroutine is already joining", function()
    local task = core.spawn(function() return c:request("GET", "/customers/1") end)
    local co = coroutine.create(function() return task:join() end)
    core.manage(co)
    assert.are.equal(core.WAIT, select(2, coroutine.resume(co)))
    assert.has_error(function() task:join() end, "fusebill: a task is already being joined")
    while coroutine.status(co) ~= "dead" do
      for _, ready in ipairs(core.wait(5)) do assert(coroutine.resume(ready)) end
    end
    assert.is_true(task:done())
  end)
end)
