/* Error objects. Plain tables with a shared metatable, so a script can read the
 * fields, pretty-print them and keep them, and `tostring(err)` gives one line a
 * person can act on. Nothing here ever sees the API key: errors are built from
 * the method, the URL path and the response, never from request headers. */
#include <string.h>
#include <lauxlib.h>
#include "fb_error.h"

static const char *const kinds[] = {
  "validation", "auth", "not_found", "conflict", "rate_limited", "server",
  "network", "timeout", "bad_response", "redirect", NULL
};

static const char *field_string(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  const char *s = lua_tostring(L, -1);  /* kept alive by the table */
  lua_pop(L, 1);
  return s;
}

static int error_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *kind = field_string(L, 1, "kind");
  const char *method = field_string(L, 1, "method");
  const char *path = field_string(L, 1, "path");
  const char *message = field_string(L, 1, "message");
  lua_getfield(L, 1, "status");
  lua_Integer status = lua_tointeger(L, -1);
  lua_getfield(L, 1, "attempts");
  lua_Integer attempts = lua_tointeger(L, -1);
  lua_pop(L, 2);

  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "fusebill: ");
  luaL_addstring(&b, kind ? kind : "error");
  if (status > 0) {
    lua_pushfstring(L, " (%d)", (int)status);
    luaL_addvalue(&b);
  }
  if (method && path) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, method);
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, path);
  }
  luaL_addstring(&b, ": ");
  luaL_addstring(&b, message ? message : "(no message)");
  if (attempts > 0) {
    lua_pushfstring(L, " (%d attempt%s)", (int)attempts, attempts == 1 ? "" : "s");
    luaL_addvalue(&b);
  } else {
    luaL_addstring(&b, " (not sent)");
  }
  luaL_pushresult(&b);
  return 1;
}

static void push_metatable(lua_State *L) {
  if (luaL_newmetatable(L, FB_ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
}

/* t[name] = value in the table on top, leaving the field absent for NULL */
static void set_string(lua_State *L, const char *name, const char *value) {
  if (value == NULL) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, name);
}

void fb_error_push(lua_State *L, const char *kind, int status, const char *method,
                   const char *path, const char *message, int attempts, int retryable) {
  lua_createtable(L, 0, 12);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (status > 0) {
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
  }
  set_string(L, "method", method);
  set_string(L, "path", path);
  set_string(L, "message", message);
  lua_pushinteger(L, attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushboolean(L, retryable);
  lua_setfield(L, -2, "retryable");
  push_metatable(L);
  lua_setmetatable(L, -2);
}

/* Reads a key in either spelling: the envelope is PascalCase, but ASP.NET
 * servers and proxies are not always consistent. */
static int get_either(lua_State *L, int t, const char *pascal, const char *camel) {
  if (lua_getfield(L, t, pascal) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  return lua_getfield(L, t, camel) != LUA_TNIL;
}

/* The <title> of an HTML error page, if any: proxies answer 502s with one. */
static void push_html_summary(lua_State *L, int status, const char *body, size_t len) {
  const char *start = NULL, *end = NULL;
  for (size_t i = 0; i + 7 <= len; i++) {
    if (!start && strncasecmp(body + i, "<title>", 7) == 0) start = body + i + 7;
    else if (start && strncasecmp(body + i, "</title>", 8) == 0) { end = body + i; break; }
  }
  if (start && end && end > start && end - start < 200)
    lua_pushfstring(L, "HTTP %d with an HTML body: %s", status, lua_pushlstring(L, start, (size_t)(end - start)));
  else
    lua_pushfstring(L, "HTTP %d with an HTML body (%d bytes)", status, (int)len);
}

void fb_error_set_body(lua_State *L, int err, int decoded, int status, const char *body, size_t len) {
  err = lua_absindex(L, err);
  decoded = lua_absindex(L, decoded);
  int top = lua_gettop(L);
  int have_message = 0;

  if (lua_istable(L, decoded)) {
    if (get_either(L, decoded, "Errors", "errors") && lua_istable(L, -1)) {
      int list = lua_gettop(L);
      lua_Integer n = (lua_Integer)lua_rawlen(L, list), kept = 0;
      lua_createtable(L, (int)n, 0);              /* err.errors: {key=, value=} */
      int out = lua_gettop(L);
      for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, list, i) == LUA_TTABLE) {
          int entry = lua_gettop(L);
          lua_createtable(L, 0, 2);
          get_either(L, entry, "Key", "key");
          lua_setfield(L, -2, "key");
          get_either(L, entry, "Value", "value");
          lua_setfield(L, -2, "value");
          lua_rawseti(L, out, ++kept);
        }
        lua_settop(L, out);
      }
      /* message: the entries' values joined, so no entry is lost in tostring */
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (lua_Integer i = 1; i <= kept; i++) {
        lua_rawgeti(L, out, i);
        int is_text = lua_getfield(L, -1, "value") == LUA_TSTRING;
        lua_pop(L, 2);
        if (!is_text) continue;
        if (have_message) luaL_addstring(&b, "; ");
        lua_rawgeti(L, out, i);       /* push, then addvalue: the balanced use */
        lua_getfield(L, -1, "value");
        lua_remove(L, -2);
        luaL_addvalue(&b);
        have_message = 1;
      }
      luaL_pushresult(&b);
      if (have_message) lua_setfield(L, err, "message");
      else lua_pop(L, 1);
      lua_setfield(L, err, "errors");
    }
    lua_settop(L, top);
    if (get_either(L, decoded, "ErrorId", "errorId") && lua_isnumber(L, -1))
      lua_setfield(L, err, "error_id");
    lua_settop(L, top);
    if (!have_message && get_either(L, decoded, "Message", "message") && lua_isstring(L, -1)) {
      lua_setfield(L, err, "message");
      have_message = 1;
    }
    lua_settop(L, top);
  }
  if (have_message) return;

  if (len == 0)
    lua_pushfstring(L, "HTTP %d with an empty body", status);
  else if (lua_islightuserdata(L, decoded))         /* cjson.null */
    lua_pushfstring(L, "HTTP %d with the body null", status);
  else if (body[0] == '<')
    push_html_summary(L, status, body, len);
  else if (lua_isnil(L, decoded))
    lua_pushfstring(L, "HTTP %d with a body that is not valid JSON (%d bytes)", status, (int)len);
  else
    lua_pushfstring(L, "HTTP %d with an unexpected body (%d bytes)", status, (int)len);
  lua_setfield(L, err, "message");
  lua_settop(L, top);
}

int fb_is_error(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, FB_ERROR_MT);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

/* core.new_error{ kind = ..., message = ..., ... }: for errors found in Lua,
 * such as validation, so they look exactly like the ones from the transport. */
static int core_new_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "kind");
  luaL_checkoption(L, -1, NULL, kinds);
  lua_getfield(L, 1, "message");
  luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "field 'message' must be a string");
  lua_pop(L, 2);
  fb_error_push(L, "validation", 0, NULL, NULL, NULL, 0, 0);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -4);
  }
  return 1;
}

static int core_is_error(lua_State *L) {
  lua_pushboolean(L, fb_is_error(L, 1));
  return 1;
}

void fb_error_open(lua_State *L) {
  push_metatable(L);
  lua_pop(L, 1);
  lua_pushcfunction(L, core_new_error);
  lua_setfield(L, -2, "new_error");
  lua_pushcfunction(L, core_is_error);
  lua_setfield(L, -2, "is_error");
}
