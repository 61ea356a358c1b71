-- The CSV benchmark proper (see tests/bench/bench_csv): fusebill.csv beside Python's csv
-- module on the same file of customer rows, in one run. Each figure is the best CPU time
-- (os.clock, Python's time.process_time) of BENCH_REPS runs; the table prints the ratios.
local csv = require "fusebill.csv"

local N = tonumber(os.getenv("BENCH_CSV_ROWS") or "") or 100000
local REPS = tonumber(os.getenv("BENCH_REPS") or "") or 3
local PY = "tests/bench/csv/customers.py"

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  assert(p:close(), cmd .. " failed")
  return out
end

local function best(fn)
  local t_best = math.huge
  for _ = 1, REPS do
    collectgarbage()
    local t = os.clock()
    fn()
    t_best = math.min(t_best, os.clock() - t)
  end
  return t_best
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. sh_quote(dir)))
local input, output = dir .. "/customers.csv", dir .. "/out.csv"
capture(("python3 %s generate %s %d"):format(PY, sh_quote(input), N))

-- reads first, with nothing else in memory (a large live heap would slow Lua's collector
-- while Python's reference counting would not notice it)
local ours = {
  dict_read = best(function() for _ in csv.rows(input, { header = true }) do end end),
  list_read = best(function() for _ in csv.rows(input) do end end),
}

-- then the rows in memory for the writes, as Python's side holds them
local reader = assert(csv.reader(input, { header = true }))
local columns, maps, arrays = reader:columns(), {}, {}
for row in reader:rows() do maps[#maps + 1] = row end
reader:close()
for i, m in ipairs(maps) do
  local a = {}
  for j, c in ipairs(columns) do a[j] = m[c] end
  arrays[i] = a
end

ours.dict_write = best(function()
  local w <close> = assert(csv.writer(output, { columns = columns }))
  for i = 1, #maps do w:row(maps[i]) end
end)
-- what we write is what Python's DictWriter wrote, byte for byte
local same_as_python = slurp(output) == slurp(input)
ours.list_write = best(function()
  local w <close> = assert(csv.writer(output))
  w:row(columns)
  for i = 1, #arrays do w:row(arrays[i]) end
end)
same_as_python = same_as_python and slurp(output) == slurp(input)

local size = #slurp(input)
local py = require("cjson").decode(capture(("python3 %s time %s %s %d"):format(PY, sh_quote(input),
  sh_quote(output), REPS)))
os.execute("rm -rf " .. sh_quote(dir))

print(("CSV: %d customer rows, %d columns, %.1f MB (quoted commas, quotes, line breaks, accents), best CPU time of %d")
  :format(N, #columns, size / 1e6, REPS))
print("| operation | fusebill.csv | Python csv | Python / fusebill |")
print("|---|---|---|---|")
local function line(label, key, pylabel)
  print(("| %s | %.3f s | %.3f s (%s) | %.1fx |"):format(label, ours[key], py[key], pylabel, py[key] / ours[key]))
end
line("read, header -> tables", "dict_read", "DictReader")
line("read, arrays of fields", "list_read", "reader")
line("write, tables by columns", "dict_write", "DictWriter")
line("write, arrays of fields", "list_write", "writer")
print(("output identical to Python's DictWriter and writer, byte for byte: %s"):format(same_as_python and "yes" or "NO"))
