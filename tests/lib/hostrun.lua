-- Test helper: run build/fusebill (scripts and -m tools) against a sandbox started with
-- tests/lib/sandbox.lua, the way a user runs it from a shell.
--
--   local hostrun = require "hostrun"
--   hostrun.available()                   -> true when build/fusebill and the sandbox are built
--   hostrun.cmd(sb, args[, exec])         -> shell command (the key goes in the environment)
--   hostrun.run(cmd)                      -> stdout and stderr together, exit status
--   hostrun.spawn(cmd, out_path)          -> pid, pipe: cmd in the background (pipe:close() waits)
--   hostrun.tmpdir(), hostrun.rmdir(dir), hostrun.write(path, text)
--   hostrun.script(text)                  -> a new folder and the path of a script holding text
--   hostrun.state(sb)                     -> the sandbox's records by kind and id, without the
--                                            modification times a PUT sets
--   hostrun.puts(sb, since)               -> PUTs the sandbox applied after log entry `since`
local sandbox = require "sandbox"

local M = {}

M.build = os.getenv("FUSEBILL_BUILD") or "build"
local q = sandbox.quote

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

function M.available()
  return pcall(require, "fusebill") and package.loaded["fusebill.core"] ~= nil
    and exists(M.build .. "/fusebill-sandbox") and exists(M.build .. "/fusebill")
end

function M.cmd(sb, args, exec)
  return "FUSEBILL_API_KEY=" .. q(sb.key) .. (exec and " exec " or " ") .. q(M.build .. "/fusebill") ..
    " --base-url " .. q(sb.url) .. " " .. args
end

function M.run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

function M.spawn(cmd, out_path)
  local p = io.popen("sh -c " .. q("echo $$; " .. cmd .. " >" .. q(out_path or "/dev/null") .. " 2>&1"))
  return assert(tonumber(p:read("l"))), p
end

function M.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p " .. q(p)))
  return p
end

function M.rmdir(dir)
  os.execute("rm -rf " .. q(dir))
end

M.write = sandbox.write_file
M.read = sandbox.read_file

function M.script(text)
  local dir = M.tmpdir()
  local path = dir .. "/script.lua"
  M.write(path, text)
  return dir, path
end

local KINDS = { customers = "customers", salesTrackingCodes = "codes", trackedItems = "items" }

function M.state(sb)
  local dump = sb:state()
  local out = {}
  for from, kind in pairs(KINDS) do
    local by_id = {}
    for _, rec in ipairs(dump[from] or {}) do
      rec.modifiedTimestamp, rec.modifiedDate = nil, nil
      by_id[math.tointeger(rec.id)] = rec
    end
    out[kind] = by_id
  end
  return out
end

function M.puts(sb, since)
  local n = 0
  for _, e in ipairs(sb:log(since)) do
    if e.method == "PUT" and e.applied then n = n + 1 end
  end
  return n
end

-- the newest request-log sequence number (log(since) returns the entries after it)
function M.log_mark(sb)
  local last = 0
  for _, e in ipairs(sb:log(0)) do last = e.seq end
  return last
end

return M
