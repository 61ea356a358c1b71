-- Embedding, the way a user does it: `make install` into a prefix, build the
-- example host against the INSTALLED header and library with pkg-config, run its
-- business rule against a sandbox; load the installed Lua C module from stock
-- lua5.4; `make uninstall` leaves nothing behind.
local sandbox = require "sandbox"
local cjson = require "cjson"

local build = os.getenv("FUSEBILL_BUILD") or "build"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out
end

local function run(cmd)   -- stdout and stderr apart
  local errf = os.tmpname()
  local p = io.popen(cmd .. " 2>" .. q(errf))
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(errf)
  local err = f:read("a")
  f:close()
  os.remove(errf)
  return code, out, err
end

-- A sanitizer build (make asan) needs the same flags on anything linked with it,
-- and its libraries cannot be loaded into a stock lua5.4.
local sanitized = sh("nm " .. q(build .. "/libfusebill.a") .. " 2>/dev/null | grep -q __asan_report") == 0

describe("embedding an installed fusebill", function()
  local prefix, sb, example

  setup(function()
    prefix = (select(2, sh("mktemp -d")):gsub("%s+$", ""))
    local code, out = sh(("make -s install PREFIX=%s BUILD=%s"):format(q(prefix), q(build)))
    assert(code == 0, "make install failed:\n" .. out)
    sb = sandbox.start{ args = { "--rate-limit", "none" } }
  end)

  teardown(function()
    if sb then sb:stop() end
    if prefix and prefix:match("^/tmp/") then os.execute("rm -rf " .. q(prefix)) end
  end)

  it("installs binaries, header, libraries, pkg-config file, Lua module and man page", function()
    for _, f in ipairs{ "bin/fusebill", "bin/fusebill-sandbox", "include/fusebill.h", "lib/libfusebill.a",
                        "lib/libfusebill.so", "lib/libfusebill.so.0", "lib/pkgconfig/fusebill.pc",
                        "lib/lua/5.4/fusebill.so", "lib/fusebill/fusebill-host.so", "share/man/man1/fusebill.1" } do
      assert.is_true(sh("test -e " .. q(prefix .. "/" .. f)) == 0, f .. " not installed")
    end
    local code, out = sh(("PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --modversion fusebill"):format(q(prefix)))
    assert.equal(0, code, out)
    assert.matches("^%d+%.%d+%.%d+\n$", out)
  end)

  it("runs the installed program, which loads its engine from lib/fusebill", function()
    local code, out = sh(("FUSEBILL_API_KEY=%s %s/bin/fusebill --base-url %s -e %s"):format(
      q(sb.key), q(prefix), q(sb.url),
      q("print(assert(require('fusebill').client().customers:get(1)).id)")))
    assert.equal(0, code, out)
    assert.equal("1\n", out)
  end)

  it("builds the example host with pkg-config against the installed files and runs a rule", function()
    local code, flags = sh(("PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs fusebill"):format(q(prefix)))
    assert.equal(0, code, flags)
    flags = flags:gsub("\n", " ")
    assert.matches("-I" .. prefix:gsub("%p", "%%%0") .. "/include", flags)
    example = prefix .. "/host_example"
    local out
    code, out = sh(("cc -std=c11 -Wall -Wextra -Werror %s -o %s tests/embed/host_example.c %s -Wl,-rpath,%s/lib")
      :format(sanitized and "-fsanitize=address,undefined" or "", q(example), flags, q(prefix)))
    assert.equal(0, code, out)

    -- give customer 1 no reference, so the rule has something to do
    local status, body = sb:request("GET", "/customers/1")
    assert.equal(200, status)
    local customer = cjson.decode(body)
    customer.reference = cjson.null
    status, body = sb:request("PUT", "/customers", { body = customer })
    assert.equal(200, status, body)

    local err
    code, out, err = run(("FUSEBILL_API_KEY=%s %s %s tests/embed/rule.lua fill_missing_references '[500]'")
      :format(q(sb.key), q(example), q(sb.url)))
    assert.equal(0, code, err)
    local result = cjson.decode(out)
    assert.is_true(result.seen >= 1)
    local changed = {}
    for _, id in ipairs(result.changed) do changed[id] = true end
    assert.is_true(changed[1], out)
    status, body = sb:request("GET", "/customers/1")
    assert.equal(200, status)
    assert.equal("CUST-1", cjson.decode(body).reference)
    assert.is_nil((out .. err):find(sb.key, 1, true))
  end)

  it("reports a failing rule's error object through the engine API", function()
    assert.is_not_nil(example, "needs the previous test's build")
    local code, out, err = run(("FUSEBILL_API_KEY=%s %s %s tests/embed/rule.lua customer_name '[987654321]'")
      :format(q(sb.key), q(example), q(sb.url)))
    assert.equal(1, code)
    assert.matches("kind=not_found status=404", err)
    local e = cjson.decode(out)
    assert.equal("not_found", e.kind)
    assert.equal(404, e.status)
    assert.equal("GET", e.method)
    local _
    code, _, err = run(("%s %s /nonexistent/rule.lua"):format(q(example), q(sb.url)))
    assert.equal(1, code)
    assert.matches("load: cannot open /nonexistent/rule.lua", err)
  end)

  local it_stock = sanitized and pending or it
  it_stock("loads the installed Lua C module into stock lua5.4", function()
    local script = [[
      package.cpath = arg[1] .. "/lib/lua/5.4/?.so;" .. package.cpath
      local fusebill = require "fusebill"
      local fb = fusebill.new{ base_url = arg[2], api_key = os.getenv("SB_KEY") }
      local c = assert(fb.customers:get(2))
      local _, err = fb.customers:get(987654321)
      print(math.tointeger(c.id), fusebill.is_error(err), err.kind, package.searchpath("fusebill", package.cpath))
    ]]
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(script)
    f:close()
    local code, out, err = run(("SB_KEY=%s lua5.4 %s %s %s"):format(q(sb.key), q(path), q(prefix), q(sb.url)))
    os.remove(path)
    assert.equal(0, code, err)
    assert.equal(("2\ttrue\tnot_found\t%s/lib/lua/5.4/fusebill.so\n"):format(prefix), out)
  end)

  it_stock("gives an embedder's state the library only: no REPL, no sandbox modules", function()
    local load = "package.cpath = '" .. prefix .. "/lib/lua/5.4/?.so;' .. package.cpath; require 'fusebill'; " ..
      "for _, m in ipairs{ 'fusebill.schema', 'host.repl', 'host.pretty', 'sandbox.server' } do " ..
      "print(m, (pcall(require, m))) end"
    local code, out = sh("lua5.4 -e " .. q(load))
    assert.equal(0, code, out)
    assert.equal("fusebill.schema\ttrue\nhost.repl\tfalse\nhost.pretty\tfalse\nsandbox.server\tfalse\n", out)
    -- the program has its own modules, and still not the sandbox's
    code, out = sh(q(build .. "/fusebill") .. " -e " ..
      q("for _, m in ipairs{ 'host.repl', 'host.pretty', 'sandbox.server' } do print(m, (pcall(require, m))) end"))
    assert.equal(0, code, out)
    assert.equal("host.repl\ttrue\nhost.pretty\ttrue\nsandbox.server\tfalse\n", out)
  end)

  it_stock("builds the same module with luarocks make from the rockspec", function()
    -- in a copy of the sources, so the rock's build cannot touch the build under test
    local dir = (select(2, sh("mktemp -d")):gsub("%s+$", ""))
    local code, out = sh(("cp -r core lua Makefile fusebill-scm-1.rockspec %s/ && cd %s && " ..
      "luarocks --lua-version 5.4 --tree %s/tree make --deps-mode=none fusebill-scm-1.rockspec " ..
      "CURL_INCDIR=/usr/include/$(gcc -print-multiarch) CURL_LIBDIR=/usr/lib/$(gcc -print-multiarch)")
      :format(q(dir), q(dir), q(dir)))
    assert.equal(0, code, out)
    local load = "package.cpath = '" .. dir .. "/tree/lib/lua/5.4/?.so;' .. package.cpath; " ..
      "local f = require 'fusebill'; print(f.VERSION, package.searchpath('fusebill', package.cpath))"
    local code2, out2 = sh("lua5.4 -e " .. q(load))
    sh("rm -rf " .. q(dir))
    assert.equal(0, code2, out2)
    assert.equal(("0.1.0\t%s/tree/lib/lua/5.4/fusebill.so\n"):format(dir), out2)
  end)

  it("uninstalls everything it installed", function()
    local code, out = sh(("make -s uninstall PREFIX=%s BUILD=%s"):format(q(prefix), q(build)))
    assert.equal(0, code, out)
    os.remove(prefix .. "/host_example")
    local _, left = sh("find " .. q(prefix) .. " -type f -o -type l")
    assert.equal("", left)
  end)
end)
