/* JSON decoding for the engine, on lua-cjson (the project's one JSON codec).
 * A private instance, so a script's own cjson settings cannot change how API
 * responses are read. */
#include <math.h>
#include <lauxlib.h>
#include "fb_json.h"

#define DECODE_KEY "fusebill.decode"
/* Integers beyond 2^53 cannot come out of a double exactly anyway. */
#define MAX_EXACT 9007199254740992.0

static void integers(lua_State *L, int t, int depth) {
  if (depth > 200 || !lua_checkstack(L, 3)) return;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int type = lua_type(L, -1);
    if (type == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      double d = lua_tonumber(L, -1);
      if (d == floor(d) && fabs(d) <= MAX_EXACT) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)d);
        lua_rawset(L, t);        /* replacing an existing field is allowed mid-traversal */
      }
    } else if (type == LUA_TTABLE) {
      integers(L, lua_gettop(L), depth + 1);
    }
    lua_pop(L, 1);
  }
}

void fb_json_decode(lua_State *L, const char *s, size_t len) {
  lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_pushlstring(L, s, len);
  lua_call(L, 1, 1);
  if (lua_istable(L, -1)) {
    integers(L, lua_gettop(L), 0);
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    double d = lua_tonumber(L, -1);
    if (d == floor(d) && fabs(d) <= MAX_EXACT) {
      lua_pop(L, 1);
      lua_pushinteger(L, (lua_Integer)d);
    }
  }
}

size_t fb_json_cost(const char *s, size_t len) {
  size_t tables = 0, values = 0;
  for (size_t i = 0; i < len; i++) {
    switch (s[i]) {
    case '"':                          /* skip the string, escapes included */
      for (i++; i < len && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
      values++;
      break;
    case '{': case '[': tables++; break;
    case ',': values++; break;
    default: break;
    }
  }
  return len + tables * 80 + values * 24;
}

/* core.decode(s) -> value | nil, message */
static int core_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  fb_json_decode(L, s, len);
  if (!lua_isnil(L, -1)) return 1;
  lua_pushliteral(L, "not valid JSON");
  return 2;
}

void fb_json_open(lua_State *L) {
  int core = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson.safe");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new");
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "decode");
  lua_setfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_getfield(L, -1, "null");
  lua_setfield(L, core, "null");
  lua_settop(L, core);
  lua_pushcfunction(L, core_decode);
  lua_setfield(L, core, "decode");
}
