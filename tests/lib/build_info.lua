-- Facts about the build under test, for specs that must adapt to it.
local M = {}

M.dir = os.getenv("FUSEBILL_BUILD") or "build"

-- A sanitizer build (make asan) cannot be loaded into a stock, uninstrumented lua5.4,
-- and anything linked with it needs the same flags.
function M.sanitized()
  if M._sanitized == nil then
    local ok = os.execute("nm " .. M.dir .. "/libfusebill.a 2>/dev/null | grep -q __asan_report")
    M._sanitized = ok == true
  end
  return M._sanitized
end

return M
