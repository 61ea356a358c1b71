-- luacheck configuration: `luacheck lua scripts tests` (make lint).
std = "lua54"
max_line_length = 140
-- `_`-prefixed names are deliberately unused.
ignore = { "212/_.*", "213/_.*" }

-- Busted specs and test helpers: busted's globals (describe, it, assert, spy, ...).
files["tests"] = { std = "+busted" }

-- Generated code and build output are not ours to lint.
exclude_files = { "build/**", "build-asan/**", "**/gen/**" }
