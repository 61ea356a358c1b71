/* luaopen_fusebill: the C half of `require "fusebill"`.
 *
 * It builds package.loaded["fusebill.core"] (the engine: clients, the loop,
 * error objects, retry and pacing, the CSV reader and writer live in C;
 * luaopen_fusebill_core) and then returns the Lua half, the embedded module
 * "fusebill.api", which shapes that core into the public interface (resources,
 * validation, update helpers, bulk runs). */
#include <stdio.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include <curl/curl.h>
#include "fusebill.h"
#include "fb_client.h"
#include "fb_csv.h"
#include "fb_error.h"
#include "fb_json.h"
#include "fb_loop.h"
#include "fb_embed.h"
#include "fb_retry.h"
#include "fb_validate.h"

#define HOST_OPTIONS_KEY "fusebill.host_options"

void fb_set_host_options(lua_State *L) {
  luaL_checktype(L, -1, LUA_TTABLE);
  lua_setfield(L, LUA_REGISTRYINDEX, HOST_OPTIONS_KEY);
}

static int core_host_options(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, HOST_OPTIONS_KEY);
  return 1;
}

static int core_stats(lua_State *L) {
  fb_loop *loop = fb_loop_get(L);
  const fb_stats *s = fb_loop_stats(loop);
  lua_createtable(L, 0, 12);
  lua_pushinteger(L, fb_loop_lent(loop));
  lua_setfield(L, -2, "handles");
  lua_pushinteger(L, s->requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, s->attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushinteger(L, s->retries);
  lua_setfield(L, -2, "retries");
  lua_pushinteger(L, s->throttled);
  lua_setfield(L, -2, "throttled");
  lua_pushinteger(L, s->writes);
  lua_setfield(L, -2, "writes");
  lua_pushinteger(L, s->reads);
  lua_setfield(L, -2, "reads");
  lua_pushinteger(L, s->lists);
  lua_setfield(L, -2, "lists");
  lua_pushinteger(L, s->auth_failures);
  lua_setfield(L, -2, "auth_failures");
  lua_pushinteger(L, s->quota_stops);
  lua_setfield(L, -2, "quota_stops");
  lua_pushinteger(L, s->buffered);
  lua_setfield(L, -2, "buffered");
  lua_pushinteger(L, s->buffered_peak);
  lua_setfield(L, -2, "buffered_peak");
  return 1;
}

static int core_now(lua_State *L) {
  lua_pushnumber(L, fb_now());
  return 1;
}

static int core_isatty(lua_State *L) {
  static const char *const names[] = { "stdin", "stdout", "stderr", NULL };
  int fd = luaL_checkoption(L, 1, NULL, names);
  lua_pushboolean(L, isatty(fd));
  return 1;
}

/* core.fsync(file): flush a Lua file handle and force it to disk (journals). */
static int core_fsync(lua_State *L) {
  luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
  if (!p->closef) return luaL_error(L, "attempt to use a closed file");
  if (fflush(p->f) != 0 || fsync(fileno(p->f)) != 0) return luaL_fileresult(L, 0, NULL);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg core_funcs[] = {
  {"host_options", core_host_options},
  {"stats", core_stats},
  {"now", core_now},
  {"isatty", core_isatty},
  {"fsync", core_fsync},
  {NULL, NULL}
};

static void require_module(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
}

int luaopen_fusebill_core(lua_State *L) {
  static int curl_ready;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "fusebill.core") == LUA_TTABLE) return 1;   /* built already */
  lua_pop(L, 2);
  if (!curl_ready) {
    /* Done once per process; libcurl asks that it not race with other threads. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "fusebill: curl_global_init failed");
    curl_ready = 1;
  }
  fb_modules_install(L, fb_client_modules);

  luaL_newlib(L, core_funcs);
  int core = lua_gettop(L);
  lua_pushliteral(L, FB_VERSION);
  lua_setfield(L, core, "VERSION");
  fb_json_open(L);
  fb_validate_open(L);   /* after fb_json_open: it needs core.null */
  fb_loop_open(L);
  fb_error_open(L);
  fb_client_open(L);
  fb_retry_open(L);
  fb_csv_open(L);
  /* registered before the Lua modules below load: they require it */
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, core);
  lua_setfield(L, -2, "fusebill.core");
  lua_pop(L, 1);

  require_module(L, "fusebill.retry");
  lua_setfield(L, core, "retry");
  return 1;
}

int luaopen_fusebill(lua_State *L) {
  luaopen_fusebill_core(L);
  require_module(L, "fusebill.api");
  return 1;
}
