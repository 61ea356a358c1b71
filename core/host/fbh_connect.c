/* See fbh_connect.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "fb_embed.h"
#include "fbh_connect.h"
#include "fbh_check.h"
#include "fbh_plugin.h"
#include "fbh_run.h"

static sbx_server *sandbox = NULL;
static char sandbox_url[64];
static char label[512];
static fbh_options *current = NULL;  /* for the atexit handler */

static void stop_at_exit(void) {
  if (sandbox) {
    fbh_plugin_load(NULL, 0)->sandbox_stop(sandbox);  /* loaded: it started the sandbox */
    sandbox = NULL;
  }
  if (current) fbh_options_free(current);
  current = NULL;
}

void fbh_connect_at_exit(fbh_options *o) {
  current = o;
  atexit(stop_at_exit);
}

static int start_sandbox(fbh_options *o, char *err, size_t errlen) {
  if (sandbox) return 0;
  const fbh_plugin *p = fbh_plugin_load(err, errlen);
  if (!p) return -1;
  sbx_options so;
  p->sandbox_options_init(&so);
  so.port = 0;
  so.host = "127.0.0.1";
  int r = p->sandbox_parse_args(&so, o->sandbox_argc, o->sandbox_argv, err, errlen);
  if (r != 0) {
    if (r == 1) snprintf(err, errlen, "fusebill-sandbox --help lists the sandbox's options");
    return -1;
  }
  sandbox = p->sandbox_start(&so, err, errlen);
  if (!sandbox) return -1;
  snprintf(sandbox_url, sizeof sandbox_url, "http://127.0.0.1:%u/v1", p->sandbox_port(sandbox));
  if (o->verbose)
    fprintf(stderr, "%s: sandbox listening on %s\n", fbh_progname, sandbox_url);
  return 0;
}

int fbh_sandbox_start(fbh_options *o) {
  char err[512] = "";
  if (start_sandbox(o, err, sizeof err) == 0) return 0;
  if (o->sandbox_argc > 0) return fbh_usage_error("--sandbox-opt: %s", err);
  return fbh_usage_error("cannot start the in-process sandbox: %s", err);
}

const char *fbh_connection_label(const fbh_options *o) {
  if (sandbox)
    snprintf(label, sizeof label, "sandbox at %s (in-process)", sandbox_url);
  else
    snprintf(label, sizeof label, "%s", o->base_url ? o->base_url : FBH_DEFAULT_BASE_URL);
  return label;
}

static void set_string(lua_State *L, const char *name, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, name);
}

static void set_true(lua_State *L, const char *name) {
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, name);
}

/* The table fusebill.client() is made from, under fusebill.new's option names. */
static void push_host_table(lua_State *L, const fbh_options *o) {
  lua_newtable(L);
  if (sandbox) {
    set_string(L, "base_url", sandbox_url);
    set_string(L, "api_key", fbh_plugin_load(NULL, 0)->sandbox_key(sandbox));
    set_true(L, "sandbox");
  } else {
    if (o->base_url) set_string(L, "base_url", o->base_url);
    if (o->api_key) set_string(L, "api_key", o->api_key);
  }
  if (o->timeout > 0) { lua_pushnumber(L, o->timeout); lua_setfield(L, -2, "timeout"); }
  if (o->connect_timeout > 0) { lua_pushnumber(L, o->connect_timeout); lua_setfield(L, -2, "connect_timeout"); }
  if (o->cacert) set_string(L, "cacert", o->cacert);
  if (o->retries > 0) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, o->retries);
    lua_setfield(L, -2, "max_attempts");
    lua_setfield(L, -2, "retry");
  }
  if (o->rate_limit) {
    double per_minute = strtod(o->rate_limit, NULL);  /* checked: auto, none or a number > 0 */
    /* the same words as in Lua: "auto", "none" or a number (lua/fusebill/options.lua) */
    if (strcmp(o->rate_limit, "none") == 0 || strcmp(o->rate_limit, "auto") == 0) lua_pushstring(L, o->rate_limit);
    else if (per_minute == (lua_Integer)per_minute) lua_pushinteger(L, (lua_Integer)per_minute);
    else lua_pushnumber(L, per_minute);
    lua_setfield(L, -2, "rate_limit");
  }
  if (o->concurrency > 0) { lua_pushinteger(L, o->concurrency); lua_setfield(L, -2, "concurrency"); }
  if (o->dry_run) set_true(L, "dry_run");
  if (o->journal) set_string(L, "journal", o->journal);
  if (o->plan) set_string(L, "plan", o->plan);
  if (o->skip_failed) set_true(L, "skip_failed");
  if (o->verbose) set_true(L, "verbose");
}

/* package.preload.fusebill: the sandbox (if we run against it) starts on first
 * use, so plain Lua scripts and busted runs that never touch the API pay nothing. */
static int open_fusebill(lua_State *L) {
  static int told;
  fbh_options *o = lua_touserdata(L, lua_upvalueindex(1));
  char err[512] = "";
  const fbh_plugin *p = fbh_plugin_load(err, sizeof err);
  if (!p) return luaL_error(L, "cannot load the fusebill engine: %s", err);
  if (o->auto_sandbox && !told) {
    if (start_sandbox(o, err, sizeof err) != 0)
      return luaL_error(L, "cannot start the in-process sandbox: %s", err);
    fprintf(stderr, "%s: no API key or --base-url given: using the in-process sandbox at %s\n",
            fbh_progname, sandbox_url);
    told = 1;
  }
  int n = lua_gettop(L);
  push_host_table(L, o);
  p->set_host_options(L);
  lua_settop(L, n);
  lua_pushcfunction(L, p->open_fusebill);
  lua_insert(L, 1);
  lua_call(L, n, 1);
  return 1;
}

/* package.preload["fusebill.core"]: the engine alone, for fusebill.csv: no
 * sandbox starts for a script that only reads or writes CSV. The command line's
 * options are the host options already (the sandbox's URL joins them when
 * `require "fusebill"` starts it). */
static int open_core(lua_State *L) {
  fbh_options *o = lua_touserdata(L, lua_upvalueindex(1));
  char err[512] = "";
  const fbh_plugin *p = fbh_plugin_load(err, sizeof err);
  if (!p) return luaL_error(L, "cannot load the fusebill engine: %s", err);
  push_host_table(L, o);
  p->set_host_options(L);
  return p->open_core(L);
}

void fbh_connect_install(lua_State *L, fbh_options *o) {
  /* the embedded modules (host.pretty, fusebill.diff, ...) are requireable from
   * the start, not only after require "fusebill" */
  fb_modules_install(L, fb_client_modules);
  fb_modules_install(L, fbh_modules);   /* host.repl, host.pretty: the program only */
  fb_preload_cjson(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushlightuserdata(L, o);
  lua_pushcclosure(L, open_fusebill, 1);
  lua_setfield(L, -2, "fusebill");
  lua_pushlightuserdata(L, o);
  lua_pushcclosure(L, open_core, 1);
  lua_setfield(L, -2, "fusebill.core");
  lua_pop(L, 1);
}
