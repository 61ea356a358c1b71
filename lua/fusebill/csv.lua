-- fusebill.csv: RFC 4180 CSV files, read and written in C (core/engine/fb_csv_read.c and
-- fb_csv_write.c); this module checks arguments, opens paths and names things.
--
--   csv.rows(src [, opts]) -> iterator     for row in csv.rows("in.csv", { header = true }) do ... end
--       raises when src cannot be opened and on malformed data, as io.lines does; the loop
--       closes the reader (and a file it opened) however it ends
--   csv.reader(src [, opts]) -> reader | nil, err     err: cannot open, or a bad header
--       reader:read() -> row | nil at the end (malformed data raises), reader:rows(),
--       reader:columns(), reader:line(), reader:close() (also <close> and __gc)
--       opts: header (boolean: rows keyed by the first row's names), name (for messages)
--   csv.writer(dst [, opts]) -> writer | nil, err     err: cannot open or write
--       writer:row(t) -> writer | nil, err;  writer:close() -> true | nil, err (also <close>, __gc)
--       opts: columns (array of names: rows are keyed by them, a header is written),
--       header (default true with columns), bom (default false), crlf (default true), name
-- src and dst are a path (opened and closed here) or an open file handle (left open).
-- Error messages read "NAME:LINE:COLUMN: what is wrong"; README, "CSV", says more.
local options = require "fusebill.options"

local M = {}

-- The C half lives in fusebill.core, asked for on first use, not when this module loads.
-- fusebill.core alone, not the whole of `require "fusebill"`: a script that only reads or
-- writes CSV does not make the program start its in-process sandbox.
local function core()
  return require "fusebill.core"
end

-- opts against group ("csv.read", "csv.write") of the one checker; raises at the caller of
-- the public function that called this (not a tail call, so that this frame counts).
local function check_options(where, opts, group)
  opts = options.check(group, opts or {}, where, 3)
  return opts
end

-- -> file, name, owns | nil, message (a path that cannot be opened)
local function open(where, src, mode, opts, default_name)
  if type(src) == "string" then
    local f, err = io.open(src, mode)
    if not f then return nil, err end
    return f, opts.name or src, true
  end
  local kind = io.type(src)
  if kind == "file" then return src, opts.name or default_name, false end
  if kind == "closed file" then error(where .. ": attempt to use a closed file", 3) end
  error(("bad argument #1 to '%s' (file name or file handle expected, got %s)"):format(where, type(src)), 3)
end

-- the columns option, copied: an array of distinct, non-empty names
local function columns_of(where, cols)
  if cols == nil then return nil end
  local copy, seen = {}, {}
  for i, name in ipairs(cols) do
    if type(name) ~= "string" or name == "" then
      error(("%s: columns[%d] must be a non-empty string, got %s"):format(where, i, tostring(name)), 3)
    end
    if seen[name] then
      error(("%s: columns[%d] repeats %q (columns[%d])"):format(where, i, name, seen[name]), 3)
    end
    seen[name] = i
    copy[i] = name
  end
  if #copy == 0 then error(where .. ": columns must be a non-empty array of names", 3) end
  return copy
end

local function new_reader(f, name, owns, opts)
  local ok, r = pcall(core().csv_reader, f, name, owns, opts.header == true)
  if ok then return r end
  if owns then f:close() end
  return nil, r
end

function M.reader(src, opts)
  opts = check_options("fusebill.csv.reader", opts, "csv.read")
  local f, name, owns = open("fusebill.csv.reader", src, "rb", opts, "input")
  if not f then return nil, name end
  return new_reader(f, name, owns, opts)
end

function M.rows(src, opts)
  opts = check_options("fusebill.csv.rows", opts, "csv.read")
  local f, name, owns = open("fusebill.csv.rows", src, "rb", opts, "input")
  if not f then error(name, 2) end
  local r, err = new_reader(f, name, owns, opts)
  if not r then error(err, 0) end
  -- the fourth value is the generic for's to-be-closed variable
  return r.read, r, nil, r
end

function M.writer(dst, opts)
  opts = check_options("fusebill.csv.writer", opts, "csv.write")
  local columns = columns_of("fusebill.csv.writer", opts.columns)
  if opts.header ~= nil and not columns then
    error("fusebill.csv.writer: option header needs option columns", 2)
  end
  local f, name, owns = open("fusebill.csv.writer", dst, "wb", opts, "output")
  if not f then return nil, name end
  local w, err = core().csv_writer(f, name, owns, columns, opts.crlf ~= false, opts.bom == true,
    opts.header ~= false)
  if not w and owns then f:close() end
  return w, err
end

return M
