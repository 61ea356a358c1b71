-- The fusebill program as a shell user meets it: a mistake on the command line or in the
-- environment is answered in one line, in the words the user typed, with status 2 (never a
-- traceback naming an internal option); the exit status says what a run came to.
local sandbox = require "sandbox"
local cli = require "cli"

local q, run = cli.q, cli.run
local write_file = sandbox.write_file

local function tmpdir()
  local p = io.popen("mktemp -d")
  local dir = p:read("l")
  p:close()
  return dir
end

-- A usage error: status 2, nothing on stdout, exactly one line on stderr: "PROGRAM: message".
local function assert_usage(expected, code, out, err)
  assert.equal(2, code, err)
  assert.equal("", out)
  assert.equal(cli.bin .. ": " .. expected .. "\n", err)
end

describe("the command line: a mistake is answered in the user's words, one line, status 2", function()
  local dir, key_with_blank, empty_key
  setup(function()
    dir = tmpdir()
    key_with_blank, empty_key = dir .. "/blank.key", dir .. "/empty.key"
    write_file(key_with_blank, "MDpz YW5kYm94\n")
    write_file(empty_key, "\n\n")
  end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  it("--base-url without https://, without a host, with blanks; http:// with a key to a remote host", function()
    assert_usage('--base-url must start with https:// (got "secure.fusebill.com/v1")',
      run("--base-url secure.fusebill.com/v1 -e 'print(1)'"))
    assert_usage('--base-url has no host name after the scheme (got "https:///v1")',
      run("--base-url https:///v1 -e 1"))
    assert_usage('--base-url must not contain blanks or control characters (got "https://secure.fusebill.com /v1")',
      run("--base-url 'https://secure.fusebill.com /v1' -e 1"))
    assert_usage('--base-url must be https://HOST[:PORT]/PATH, HOST a name or an address '
      .. '(got "https://secure.fusebill.com:443x/v1")', run("--base-url https://secure.fusebill.com:443x/v1 -e 1"))
    assert_usage("--base-url must start with https:// to carry the API key; http:// is for loopback addresses "
      .. 'only (got "http://billing.example.com/v1")',
      run("--base-url http://billing.example.com/v1 -e 1", { FUSEBILL_API_KEY = "MDpzYW5kYm94" }))
  end)

  it("FUSEBILL_API_KEY with a newline, a blank, nothing at all, or far too long, never echoing it", function()
    assert_usage("FUSEBILL_API_KEY ends with a newline; remove it (--key-file FILE reads the first line of a "
      .. "file and needs no trimming)", run("-e 1", { FUSEBILL_API_KEY = "c2VjcmV0OnRlc3Q=\n" }))
    local code, out, err = run("-e 1", { FUSEBILL_API_KEY = "c2VjcmV0 OnRlc3Q=" })
    assert_usage("FUSEBILL_API_KEY contains a blank or control character at position 9; an API key has none",
      code, out, err)
    assert.is_nil(err:find("c2VjcmV0", 1, true))
    assert_usage("FUSEBILL_API_KEY is set but empty (unset it to run against the in-process sandbox)",
      run("-e 1", { FUSEBILL_API_KEY = "" }))
    assert_usage("FUSEBILL_API_KEY is 2000 characters long; an API key has at most 1024",
      run("-e 1", { FUSEBILL_API_KEY = ("A"):rep(2000) }))
  end)

  it("--api-key and --key-file: unreadable, empty, a bad key inside, both at once", function()
    assert_usage("--api-key ends with a newline; remove it (--key-file FILE reads the first line of a file "
      .. "and needs no trimming)", run("--api-key " .. q("c2VjcmV0OnRlc3Q=\n") .. " -e 1"))
    assert_usage("--key-file /nonexistent/fusebill.key: cannot read it (No such file or directory)",
      run("--key-file /nonexistent/fusebill.key -e 1"))
    assert_usage("--key-file " .. empty_key .. " is empty; its first line should be the API key",
      run("--key-file " .. q(empty_key) .. " -e 1"))
    local code, out, err = run("--key-file " .. q(key_with_blank) .. " -e 1")
    assert_usage("the key in --key-file " .. key_with_blank .. " contains a blank or control character at "
      .. "position 5; an API key has none", code, out, err)
    assert.is_nil(err:find("YW5kYm94", 1, true))
    assert_usage("--key-file and --api-key both give the API key; keep one of them",
      run("--key-file " .. q(key_with_blank) .. " --api-key MDpzYW5kYm94 -e 1"))
  end)

  it("numbers, seconds and rate limits name the flag, the rule and the value typed", function()
    assert_usage('--rate-limit must be a number of requests per minute, auto or none (got "fast")',
      run("--rate-limit fast -e 1"))
    assert_usage('--timeout must be a number of seconds greater than 0 and at most 86400 (got "soon")',
      run("--timeout soon -e 1"))
    assert_usage('--connect-timeout must be a number of seconds greater than 0 and at most 86400 (got "0")',
      run("--connect-timeout=0 -e 1"))
    assert_usage('--concurrency must be a whole number from 1 to 1000 (got "zero")', run("--concurrency zero -e 1"))
    assert_usage('--concurrency must be a whole number from 1 to 1000 (got "1600")', run("--concurrency 1600 -e 1"))
    assert_usage('--retries must be a whole number from 1 to 100 (got "0")', run("--retries 0 -e 1"))
  end)

  it("files: a journal where it cannot be written, a CA bundle that is not there", function()
    assert_usage("--journal /nonexistent/dir/run.journal: the directory /nonexistent/dir does not exist",
      run("--journal /nonexistent/dir/run.journal -e 1"))
    assert_usage("--journal " .. dir .. " is a directory, not a file", run("--journal " .. q(dir) .. " -e 1"))
    assert_usage("--cacert /nonexistent/ca.pem: cannot read it (No such file or directory)",
      run("--cacert /nonexistent/ca.pem -e 1"))
  end)

  it("--sandbox-opt: the sandbox's own complaint, an unclosed quote, no sandbox to pass it to", function()
    assert_usage("--sandbox-opt: unknown option --no-such (fusebill-sandbox --help lists the options)",
      run("--sandbox --sandbox-opt '--no-such' -e 1"))
    assert_usage("--sandbox-opt: bad limit 'fast' (want N/WINDOW, e.g. 1000/60s, or none)",
      run("--sandbox-opt '--rate-limit fast' -e 1"))
    assert_usage([[--sandbox-opt has an unclosed ' quote (got "--latency 'abc")]],
      run([[--sandbox-opt "--latency 'abc" -e 1]]))
    assert_usage("--sandbox-opt is for the sandbox, but FUSEBILL_API_KEY points the program at the live API; "
      .. "add --sandbox to use the sandbox", run("--sandbox-opt '--latency 5' -e 1", { FUSEBILL_API_KEY = "MDpzYW5kYm94" }))
    assert_usage("--sandbox and --base-url cannot go together (--sandbox brings its own URL)",
      run("--sandbox --base-url https://secure.fusebill.com/v1 -e 1"))
  end)

  it("an unknown flag gets the nearest one suggested; values missing, misplaced or not wanted", function()
    assert_usage("unknown option --dryrun (did you mean --dry-run?)", run("--dryrun script.lua"))
    assert_usage("unknown option --base-ur (did you mean --base-url?)", run("--base-ur https://x/v1 -e 1"))
    assert_usage("unknown option -dry-run (did you mean --dry-run?)", run("-dry-run -e 1"))
    assert_usage("unknown option --concurrent=4 (did you mean --concurrency?)", run("--concurrent=4 -e 1"))
    assert_usage("unknown option --frobnicate (" .. cli.bin .. " --help lists the options)", run("--frobnicate"))
    assert_usage("unknown option -x (" .. cli.bin .. " --help lists the options)", run("-x"))
    assert_usage('--dry-run takes no value (got "--dry-run=yes")', run("--dry-run=yes -e 1"))
    assert_usage("--timeout needs a value (--timeout SECONDS)", run("--timeout"))
    assert_usage("--journal needs a value (--journal FILE), not the option --dry-run",
      run("--journal --dry-run script.lua"))
    assert_usage("-e needs a Lua statement to run (-e 'print(1)')", run("-e"))
    assert_usage("-l needs a module name (-l mod or -l name=mod)", run("-l"))
  end)

  it("the Lua side: LUA_INIT naming a missing file, -l of a missing module, a missing script", function()
    assert_usage("LUA_INIT=@/nonexistent/init.lua: cannot read /nonexistent/init.lua (No such file or directory)",
      run("-e 1", { LUA_INIT = "@/nonexistent/init.lua" }))
    assert_usage("LUA_INIT_5_4=@/nonexistent/init.lua: cannot read /nonexistent/init.lua (No such file or directory)",
      run("-e 1", { LUA_INIT_5_4 = "@/nonexistent/init.lua" }))
    assert_usage("-l no_such_module_17: no module 'no_such_module_17' on package.path or package.cpath",
      run("-l no_such_module_17 -e 1"))
    assert_usage("cannot open /nonexistent/script.lua: No such file or directory", run("/nonexistent/script.lua"))
  end)

  it("FUSEBILL_HISTORY in a directory that does not exist, when the REPL starts", function()
    assert_usage("FUSEBILL_HISTORY /nonexistent/dir/history: the directory /nonexistent/dir does not exist",
      run("-i", { FUSEBILL_HISTORY = "/nonexistent/dir/history" }, "print(1)\n"))
    local code, out = run("-e 'print(1)'", { FUSEBILL_HISTORY = "/nonexistent/dir/history" })
    assert.equal(0, code)                                     -- scripts never read it
    assert.equal("1\n", out)
  end)

  it("every flag in --help answers a bad value (or a value it does not take) in one line naming it", function()
    local _, help = run("--help")
    local seen = 0
    for flag, value in help:gmatch("\n  [%-%w, ]-(%-%-[%w%-]+) ?(%S*)") do
      local arg
      if value == "" or value:match("^%(") then
        arg = flag .. "=x"                                   -- takes no value
      else
        arg = flag .. "=" .. q("/nonexistent/dir/\1bad")     -- no number, URL, file, key or option
      end
      local code, out, err = run(arg .. " -e 1")
      assert.equal(2, code, arg .. ": " .. err)
      assert.equal("", out, arg)
      assert.matches("^[^\n]+\n$", err, nil, arg)
      assert.truthy(err:find(flag, 1, true), arg .. ": " .. err)
      seen = seen + 1
    end
    assert.is_true(seen >= 17, "flags found in --help: " .. seen)
  end)
end)
