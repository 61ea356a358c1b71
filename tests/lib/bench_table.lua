-- Benchmarks print their figures as one table of aligned columns separated by " | ".
--   require("bench_table").print(head, rows)   head: the column titles; rows: lists of cells
local M = {}

function M.print(head, rows)
  local widths = {}
  for _, r in ipairs({ head, table.unpack(rows) }) do
    for i, v in ipairs(r) do widths[i] = math.max(widths[i] or 0, #v) end
  end
  local function line(r)
    local cells = {}
    for i = 1, #head do cells[i] = string.format("%-" .. widths[i] .. "s", r[i] or "") end
    print((table.concat(cells, " | "):gsub("%s+$", "")))
  end
  line(head)
  local sep = {}
  for i = 1, #head do sep[i] = string.rep("-", widths[i]) end
  line(sep)
  for _, r in ipairs(rows) do line(r) end
end

return M
