/* The engine API (see fusebill.h): a Lua state wrapped so that a C host can load
 * a user's Lua file and call its functions with JSON in and JSON out, without
 * touching the Lua C API. The fiddly parts (argument decoding, telling a fusebill
 * error object from a plain Lua error, flattening it to JSON) are done by a small
 * Lua driver, lua/fusebill/engine.lua, because they are a few lines of Lua and
 * many lines of C. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "fusebill.h"
#include "fb_embed.h"

struct fb_engine {
  lua_State *L;
  void (*log)(void *, const char *);
  void *log_userdata;
  int driver_ref;  /* registry ref of the driver's call function */
};

static char *dup_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static void set_msg(char **errmsg, const char *fmt, ...) {
  if (!errmsg) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  *errmsg = dup_str(buf);
}

/* Lua's print, routed to the engine's log so the library never writes stdout. */
static int engine_print(lua_State *L) {
  fb_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  luaL_Buffer b;
  int n = lua_gettop(L);
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  const char *line = lua_tostring(L, -1);
  if (e->log) e->log(e->log_userdata, line);
  else fprintf(stderr, "%s\n", line);
  return 0;
}

static int engine_exit(lua_State *L) {
  return luaL_error(L, "os.exit is not available inside an embedded fusebill engine");
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Builds the option table fb_set_host_options takes: the fusebill.new keys. */
static void push_options(lua_State *L, const fb_config *c) {
  lua_newtable(L);
  if (c->api_key) { lua_pushstring(L, c->api_key); lua_setfield(L, -2, "api_key"); }
  if (c->base_url) { lua_pushstring(L, c->base_url); lua_setfield(L, -2, "base_url"); }
  if (c->timeout > 0) { lua_pushnumber(L, c->timeout); lua_setfield(L, -2, "timeout"); }
  if (c->connect_timeout > 0) {
    lua_pushnumber(L, c->connect_timeout);
    lua_setfield(L, -2, "connect_timeout");
  }
  if (c->cacert) { lua_pushstring(L, c->cacert); lua_setfield(L, -2, "cacert"); }
  if (c->max_attempts > 0) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, c->max_attempts);
    lua_setfield(L, -2, "max_attempts");
    lua_setfield(L, -2, "retry");
  }
  if (c->rate_limit) {
    char *end;
    long n = strtol(c->rate_limit, &end, 10);
    if (end != c->rate_limit && *end == '\0') lua_pushinteger(L, n);
    else lua_pushstring(L, c->rate_limit);   /* "auto", "none"; anything else is refused by name */
    lua_setfield(L, -2, "rate_limit");
  }
  if (c->concurrency > 0) { lua_pushinteger(L, c->concurrency); lua_setfield(L, -2, "concurrency"); }
  if (c->dry_run) { lua_pushboolean(L, 1); lua_setfield(L, -2, "dry_run"); }
  if (c->journal) { lua_pushstring(L, c->journal); lua_setfield(L, -2, "journal"); }
  if (c->verbose) { lua_pushboolean(L, 1); lua_setfield(L, -2, "verbose"); }
}

static int engine_setup(lua_State *L) {
  fb_engine *e = lua_touserdata(L, 1);
  const fb_config *cfg = lua_touserdata(L, 2);
  luaL_openlibs(L);
  /* an embedding host must not have to know that the engine needs lua-cjson */
  fb_preload_cjson(L);
  fb_modules_install(L, fb_client_modules);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_fusebill);
  lua_setfield(L, -2, "fusebill");
  lua_pop(L, 1);

  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, engine_print, 1);
  lua_setglobal(L, "print");
  lua_getglobal(L, "os");
  lua_pushcfunction(L, engine_exit);
  lua_setfield(L, -2, "exit");
  lua_pop(L, 1);

  push_options(L, cfg);
  fb_set_host_options(L);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "fusebill.engine");
  lua_call(L, 1, 1);
  e->driver_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

void fb_config_init(fb_config *cfg) {
  if (cfg) memset(cfg, 0, sizeof *cfg);
}

fb_engine *fb_engine_new(const fb_config *cfg, char **errmsg) {
  fb_config defaults;
  if (errmsg) *errmsg = NULL;
  if (!cfg) { fb_config_init(&defaults); cfg = &defaults; }
  fb_engine *e = calloc(1, sizeof *e);
  if (!e) { set_msg(errmsg, "out of memory"); return NULL; }
  e->log = cfg->log;
  e->log_userdata = cfg->log_userdata;
  e->driver_ref = LUA_NOREF;
  e->L = luaL_newstate();
  if (!e->L) { free(e); set_msg(errmsg, "cannot create a Lua state (out of memory)"); return NULL; }
  lua_pushcfunction(e->L, engine_setup);
  lua_pushlightuserdata(e->L, e);
  lua_pushlightuserdata(e->L, (void *)cfg);
  if (lua_pcall(e->L, 2, 0, 0) != LUA_OK) {
    const char *m = lua_tostring(e->L, -1);
    set_msg(errmsg, "cannot set up the engine: %s", m ? m : "(error object)");
    lua_close(e->L);
    free(e);
    return NULL;
  }
  return e;
}

lua_State *fb_engine_lua(fb_engine *e) {
  return e ? e->L : NULL;
}

/* Runs the chunk on top of the stack (or reports why it did not load). */
static int run_loaded(fb_engine *e, int load_status, char **errmsg) {
  lua_State *L = e->L;
  if (load_status != LUA_OK) {
    int code = load_status == LUA_ERRSYNTAX ? FB_ERR_SYNTAX
             : load_status == LUA_ERRMEM ? FB_ERR_MEMORY : FB_ERR_FILE;
    const char *m = lua_tostring(L, -1);
    set_msg(errmsg, "%s", m ? m : "cannot load chunk");
    lua_pop(L, 1);
    return code;
  }
  int base = lua_gettop(L);
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  int st = lua_pcall(L, 0, 0, base);
  lua_remove(L, base);
  if (st != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    set_msg(errmsg, "%s", m ? m : "(error object is not a string)");
    lua_pop(L, 1);
    return st == LUA_ERRMEM ? FB_ERR_MEMORY : FB_ERR_RUNTIME;
  }
  return FB_OK;
}

int fb_engine_load_file(fb_engine *e, const char *path, char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (!e || !path) { set_msg(errmsg, "fb_engine_load_file: engine and path are required"); return FB_ERR_USAGE; }
  FILE *f = fopen(path, "r");  /* checked here so a missing file is FB_ERR_FILE, not a syntax error */
  if (!f) {
    set_msg(errmsg, "cannot open %s", path);
    return FB_ERR_FILE;
  }
  fclose(f);
  return run_loaded(e, luaL_loadfilex(e->L, path, "t"), errmsg);
}

int fb_engine_load_string(fb_engine *e, const char *code, const char *chunkname, char **errmsg) {
  if (errmsg) *errmsg = NULL;
  if (!e || !code) { set_msg(errmsg, "fb_engine_load_string: engine and code are required"); return FB_ERR_USAGE; }
  return run_loaded(e, luaL_loadbufferx(e->L, code, strlen(code), chunkname ? chunkname : "=(engine)", "t"),
                    errmsg);
}

static char *field_str(lua_State *L, int t, const char *k) {
  char *r = NULL;
  lua_getfield(L, t, k);
  if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) r = dup_str(lua_tostring(L, -1));
  lua_pop(L, 1);
  return r;
}

static int field_int(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  int r = lua_type(L, -1) == LUA_TBOOLEAN ? lua_toboolean(L, -1) : (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return r;
}

/* Turns the driver's plain error table at index t, and its JSON at t + 1, into a
 * C record. */
static fb_error_info *make_error(lua_State *L, int t) {
  fb_error_info *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  x->kind = field_str(L, t, "kind");
  x->message = field_str(L, t, "message");
  x->status = field_int(L, t, "status");
  x->method = field_str(L, t, "method");
  x->path = field_str(L, t, "path");
  x->field = field_str(L, t, "field");
  x->rule = field_str(L, t, "rule");
  x->error_id = field_str(L, t, "error_id");
  x->request_id = field_str(L, t, "request_id");
  x->retryable = field_int(L, t, "retryable");
  x->attempts = field_int(L, t, "attempts");
  x->traceback = field_str(L, t, "traceback");
  x->json = dup_str(lua_tostring(L, t + 1));
  if (!x->kind) x->kind = dup_str("runtime");
  if (!x->message) x->message = dup_str(x->kind ? x->kind : "error");
  return x;
}

static fb_error_info *simple_error(const char *kind, const char *message) {
  fb_error_info *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  x->kind = dup_str(kind);
  x->message = dup_str(message);
  return x;
}

int fb_engine_call(fb_engine *e, const char *function, const char *args_json,
                   char **result_json, fb_error_info **err) {
  if (result_json) *result_json = NULL;
  if (err) *err = NULL;
  if (!e || !function) {
    if (err) *err = simple_error("usage", "fb_engine_call: engine and function name are required");
    return FB_ERR_USAGE;
  }
  lua_State *L = e->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, e->driver_ref);
  lua_pushstring(L, function);
  if (args_json) lua_pushstring(L, args_json); else lua_pushnil(L);
  int st = lua_pcall(L, 2, 4, top + 1);
  int code;
  if (st != LUA_OK) {  /* only out-of-memory and driver bugs land here */
    const char *m = lua_tostring(L, -1);
    code = st == LUA_ERRMEM ? FB_ERR_MEMORY : FB_ERR_RUNTIME;
    if (err) *err = simple_error(code == FB_ERR_MEMORY ? "memory" : "runtime", m ? m : "engine error");
  } else if (lua_toboolean(L, -4)) {
    code = FB_OK;
    if (result_json) {
      *result_json = dup_str(lua_tostring(L, -3));
      if (!*result_json) code = FB_ERR_MEMORY;
    }
  } else {
    const char *c = lua_tostring(L, -3);
    code = !c ? FB_ERR_RUNTIME
         : strcmp(c, "api") == 0 ? FB_ERR_API
         : strcmp(c, "no_function") == 0 ? FB_ERR_NO_FUNCTION
         : strcmp(c, "bad_json") == 0 ? FB_ERR_BAD_JSON : FB_ERR_RUNTIME;
    if (err) *err = make_error(L, lua_gettop(L) - 1);
  }
  lua_settop(L, top);
  return code;
}

void fb_engine_free(fb_engine *e) {
  if (!e) return;
  if (e->L) lua_close(e->L);
  free(e);
}

void fb_error_free(fb_error_info *x) {
  if (!x) return;
  free(x->kind); free(x->message); free(x->method); free(x->path); free(x->field);
  free(x->rule); free(x->error_id); free(x->request_id); free(x->traceback); free(x->json);
  free(x);
}

void fb_free(void *p) {
  free(p);
}
