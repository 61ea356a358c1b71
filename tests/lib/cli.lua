-- Test helper: run build/fusebill as a shell user does and see what they see.
--
--   local cli = require "cli"
--   local code, out, err = cli.run("--dry-run -e 'print(1)'", { FUSEBILL_API_KEY = "..." }, stdin_text)
--     args: already shell-quoted (cli.q quotes one word); FUSEBILL_API_KEY, LUA_INIT and
--     LUA_INIT_5_4 are cleared unless env sets them; stdin is /dev/null unless given.
--   cli.q(s) -> s quoted for sh; cli.bin: the program under test
--   cli.sh(cmd) -> exit code, stdout and stderr together
local sandbox = require "sandbox"

local cli = {}

cli.bin = (os.getenv("FUSEBILL_BUILD") or "build") .. "/fusebill"

function cli.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local q = cli.q

function cli.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out
end

function cli.run(args, env, stdin)
  local errf = os.tmpname()
  local prefix = "env -u FUSEBILL_API_KEY -u LUA_INIT -u LUA_INIT_5_4"
  for k, v in pairs(env or {}) do prefix = prefix .. " " .. k .. "=" .. q(v) end
  local cmd = ("%s %s %s 2>%s"):format(prefix, q(cli.bin), args, q(errf))
  local inf
  if stdin then
    inf = os.tmpname()
    sandbox.write_file(inf, stdin)
    cmd = cmd .. " <" .. q(inf)
  else
    cmd = cmd .. " </dev/null"
  end
  local p = io.popen(cmd)
  local out = p:read("a")
  local _, _, code = p:close()
  local err = sandbox.read_file(errf)
  os.remove(errf)
  if inf then os.remove(inf) end
  return code, out, err
end

return cli
