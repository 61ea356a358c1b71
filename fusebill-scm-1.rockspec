-- Builds the Lua C module `fusebill` (the same engine as the host program) with
-- `luarocks make`. Needs libcurl's headers; cjson comes from the lua-cjson rock.
rockspec_format = "3.0"
package = "fusebill"
version = "scm-1"
source = {
  url = "git+https://example.invalid/fusebill.git",
}
description = {
  summary = "Lua bindings for the Fusebill billing API: retries, rate limiting, bulk runs, dry run",
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson >= 2.1",
}
external_dependencies = {
  CURL = { header = "curl/curl.h", library = "curl" },
}
build = {
  -- The make backend: the Lua modules are compiled into the C module by the
  -- Makefile (core/tools/gen_modules.lua), which the builtin backend cannot do.
  type = "make",
  build_target = "lua-module",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA = "$(LUA)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)",
    CURL_LIBDIR = "$(CURL_LIBDIR)",
  },
  install_target = "install-lua-module",
  install_variables = {
    LUA_CMOD_DIR = "$(LIBDIR)",
  },
}
