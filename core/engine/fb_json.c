/* JSON for the engine, on lua-cjson (the project's one JSON codec), with the
 * one set of rules every boundary follows (API responses and bodies, the engine
 * API's arguments and results, journals, reports, the sandbox's answers):
 *   - whole numbers decode as Lua integers (lua-cjson 2.1 reads every number
 *     as a float: an id of 7.0 would build the path "/customers/7.0");
 *   - a null field of an object decodes as absent (`c.middleName == nil`), and
 *     the names of those fields are kept in core.null_fields[object], so an
 *     object written back sends them as null again; a null inside an array
 *     stays core.null (removing it would leave a hole);
 *   - "/" is written as "/" (lua-cjson 2.1 always writes "\/"), and the marker
 *     FB_JSON_EMPTY_ARRAY is written as [] (lua-cjson 2.1 writes {} for an
 *     empty table, whatever it was meant to be).
 * The decoder is a private instance, so a script's own cjson settings cannot
 * change how API responses are read. */
#include <math.h>
#include <string.h>
#include <lauxlib.h>
#include "fb_json.h"
#include "fb_embed.h"

#define DECODE_KEY "fusebill.decode"
#define NULLS_KEY "fusebill.null_fields"
/* Integers beyond 2^53 cannot come out of a double exactly anyway. */
#define MAX_EXACT 9007199254740992.0

static int is_whole(double d) {
  return d == floor(d) && fabs(d) <= MAX_EXACT;
}

static int is_json_null(lua_State *L, int idx) {
  return lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == NULL;
}

/* Applies the decoding rules to table t, depth levels down; nulls is the
 * stack index of the weak table object -> set of null field names. */
static void tidy_decoded(lua_State *L, int t, int nulls, int depth) {
  if (depth > 200 || !lua_checkstack(L, 6)) return;
  lua_pushnil(L);                    /* the set of null fields, made on the first */
  int set = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int type = lua_type(L, -1);
    if (type == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      double d = lua_tonumber(L, -1);
      if (is_whole(d)) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)d);
        lua_rawset(L, t);            /* replacing an existing field is allowed mid-traversal */
      }
    } else if (type == LUA_TTABLE) {
      tidy_decoded(L, lua_gettop(L), nulls, depth + 1);
    } else if (lua_type(L, -2) == LUA_TSTRING && is_json_null(L, -1)) {
      if (lua_isnil(L, set)) {
        lua_newtable(L);
        lua_replace(L, set);
      }
      lua_pushvalue(L, -2);
      lua_pushboolean(L, 1);
      lua_rawset(L, set);
      lua_pushvalue(L, -2);
      lua_pushnil(L);
      lua_rawset(L, t);              /* clearing a field is allowed mid-traversal too */
    }
    lua_pop(L, 1);
  }
  if (!lua_isnil(L, set)) {
    lua_pushvalue(L, t);
    lua_pushvalue(L, set);
    lua_rawset(L, nulls);
  }
  lua_pop(L, 1);
}

void fb_json_decode(lua_State *L, const char *s, size_t len) {
  lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_pushlstring(L, s, len);
  lua_call(L, 1, 1);
  if (lua_istable(L, -1)) {
    int v = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, NULLS_KEY);
    tidy_decoded(L, v, v + 1, 0);
    lua_pop(L, 1);
  } else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
    double d = lua_tonumber(L, -1);
    if (is_whole(d)) {
      lua_pop(L, 1);
      lua_pushinteger(L, (lua_Integer)d);
    }
  }
}

/* Writes the JSON text src[0..n) to dst (which may be src itself) with "\/"
 * as "/" and every "\u0001[]" string as []. It walks escape by escape, so the
 * "\\" of an escaped backslash is never read as the start of "\/". */
size_t fb_json_tidy(char *dst, const char *src, size_t n) {
  static const char MARK[] = "\\u0001[]\"";     /* after its opening quote */
  const size_t mlen = sizeof MARK - 1;
  size_t r = 0, w = 0;
  while (r < n) {
    const char *b = memchr(src + r, '\\', n - r);
    size_t upto = b ? (size_t)(b - src) : n;
    /* a quote at the end of a run without escapes is a bare one, a string's start */
    int after_quote = upto > r && src[upto - 1] == '"';
    memmove(dst + w, src + r, upto - r);
    w += upto - r;
    r = upto;
    if (!b || r + 1 >= n) break;
    if (src[r + 1] == '/') {
      dst[w++] = '/';
      r += 2;
    } else if (after_quote && n - r >= mlen && memcmp(src + r, MARK, mlen) == 0) {
      dst[w - 1] = '[';              /* the opening quote becomes the bracket */
      dst[w++] = ']';
      r += mlen;
    } else {
      dst[w++] = src[r];
      dst[w++] = src[r + 1];
      r += 2;
    }
  }
  memmove(dst + w, src + r, n - r);  /* a lone trailing backslash (not JSON anyway) */
  return w + (n - r);

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

/* core.json_tidy(s) -> s as the rules above write it (s itself when unchanged) */
static int core_json_tidy(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!memchr(s, '\\', n)) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n);
  luaL_pushresultsize(&b, fb_json_tidy(p, s, n));
  return 1;
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
  /* object -> { name = true } of its null fields; weak keys, so the entry goes
   * with the object */
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, NULLS_KEY) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_setfield(L, core, "null_fields");
  lua_pushliteral(L, FB_JSON_EMPTY_ARRAY);
  lua_setfield(L, core, "EMPTY_ARRAY");
  lua_pushcfunction(L, core_decode);
  lua_setfield(L, core, "decode");
  lua_pushcfunction(L, core_json_tidy);
  lua_setfield(L, core, "json_tidy");
}
