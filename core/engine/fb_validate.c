/* Request-body validation, run before anything is sent.
 *
 * lua/fusebill/validate.lua hands core.validator a resource's field specs (the
 * tables in lua/fusebill/schema.lua). They are compiled here once into a tree of
 * small userdata, and the function returned walks a body against that tree. The
 * walk is in C because it runs over every field of every edit: written in Lua (a
 * closure call and three library calls per field) it cost as much CPU as a
 * customer edit's whole HTTP exchange.
 *
 * Every problem is collected, up to MAX_PROBLEMS, as
 * { field = "customerReference.reference1", rule = "max_length",
 *   message = "customerReference.reference1 is 256 characters, the maximum is 255",
 *   length = 256 }; validate.lua sorts them and builds the error object.
 *
 * A walk that finds nothing allocates nothing: a field's name is only built for
 * a problem, from a chain of path frames that lives on the C stack.
 *
 * Tables are read raw (no __index, __pairs or __len), as lua-cjson reads them
 * when it encodes the body: what is checked is what is sent. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <lauxlib.h>
#include "fb_validate.h"

enum { T_STRING, T_INTEGER, T_NUMBER, T_BOOLEAN, T_OBJECT, T_ARRAY, T_ID };
enum { F_NONE, F_CURRENCY, F_EMAIL };

/* One compiled field spec. Its user values hold what is not a number:
 *   object: 1 = name -> spec, 2 = lower-case name -> name (to catch "FirstName")
 *   array:  1 = the spec of each item
 *   string: 1 = set of allowed values, 2 = their list as text (when there is an enum) */
typedef struct vspec {
  int type, format;
  int has_max, has_min, has_enum;
  int required;         /* a string must not be blank either */
  lua_Integer max;      /* characters (strings) or items (arrays) */
  lua_Integer min;
} vspec;

/* One step of a field's name: a key on the Lua stack, or a position in a list. */
typedef struct vpath {
  const struct vpath *up;
  int key;              /* stack index of the key; 0 for a list position */
  lua_Integer pos;
} vpath;

typedef struct vwalk {
  lua_State *L;
  int null;             /* index of core.null */
  int format;           /* index of string.format (problem messages quote with %q) */
  int probs;            /* stack slot of the problems table (nil until the first) */
  int n;                /* problems recorded */
} vwalk;

/* Problems collected per body before the walk stops (the error lists them all). */
#define MAX_PROBLEMS 20
/* Nesting allowed inside a field the schema does not know (cycles end here too). */
#define MAX_DEPTH 32

#define FULL(w) ((w)->n >= MAX_PROBLEMS)

/* core.null is a light userdata; asking the type first keeps the common case cheap */
static int is_null(const vwalk *w, int v) {
  return lua_type(w->L, v) == LUA_TLIGHTUSERDATA && lua_rawequal(w->L, v, w->null);
}

/* ---- text ------------------------------------------------------------------- */

/* Characters in s, or -1 when s is not UTF-8 as RFC 3629 has it (no overlong
 * forms, no surrogates, nothing past U+10FFFF): the rules of Lua's utf8.len. */
static lua_Integer utf8_chars(const unsigned char *s, size_t len) {
  lua_Integer n = 0;
  size_t i = 0;
  while (i < len) {
    uint64_t word;
    if (len - i >= 8 && (memcpy(&word, s + i, 8), (word & 0x8080808080808080u) == 0)) {
      i += 8;                 /* eight ASCII characters at once: most text is ASCII */
      n += 8;
      continue;
    }
    unsigned c = s[i];
    n++;
    if (c < 0x80) { i++; continue; }
    size_t more;
    unsigned cp, least;
    if (c >= 0xC2 && c <= 0xDF) { more = 1; cp = c & 0x1F; least = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { more = 2; cp = c & 0x0F; least = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { more = 3; cp = c & 0x07; least = 0x10000; }
    else return -1;
    if (len - i <= more) return -1;
    for (size_t k = 1; k <= more; k++) {
      unsigned cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += more + 1;
  }
  return n;
}

/* isspace() in the C locale, as Lua's %s */
static int is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* One item of an email list, p..q: blank, or `^%s*[^@%s]+@[^@%s]+%s*$`. */
static int address_ok(const char *p, const char *q) {
  while (p < q && is_space((unsigned char)*p)) p++;
  if (p == q) return 1;
  const char *local = p;
  while (p < q && *p != '@' && !is_space((unsigned char)*p)) p++;
  if (p == local || p == q || *p != '@') return 0;
  const char *domain = ++p;
  while (p < q && *p != '@' && !is_space((unsigned char)*p)) p++;
  if (p == domain) return 0;
  while (p < q && is_space((unsigned char)*p)) p++;
  return p == q;
}

/* ---- problems --------------------------------------------------------------- */

static void add_name(lua_State *L, luaL_Buffer *b, const vpath *p) {
  if (p->up) add_name(L, b, p->up);
  if (p->key && lua_type(L, p->key) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, p->key, &len);
    if (p->up && s[0] != '[') luaL_addchar(b, '.');
    luaL_addlstring(b, s, len);
  } else {
    luaL_addchar(b, '[');
    if (p->key) luaL_tolstring(L, p->key, NULL);
    else lua_pushinteger(L, p->pos);
    luaL_addvalue(b);
    luaL_addchar(b, ']');
  }
}

/* Records a problem with the field at `at`. The message (what follows the field's
 * name) is on top of the stack and is popped. length < 0: none. */
static void problem(vwalk *w, const vpath *at, const char *rule, lua_Integer length) {
  lua_State *L = w->L;
  int msg = lua_gettop(L);
  if (FULL(w)) { lua_pop(L, 1); return; }
  if (lua_isnil(L, w->probs)) {
    lua_createtable(L, 4, 0);
    lua_replace(L, w->probs);
  }
  lua_createtable(L, 0, 4);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  add_name(L, &b, at);
  luaL_pushresult(&b);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "field");
  lua_pushliteral(L, " ");
  lua_pushvalue(L, msg);
  lua_concat(L, 3);
  lua_setfield(L, -2, "message");
  lua_pushstring(L, rule);
  lua_setfield(L, -2, "rule");
  if (length >= 0) {
    lua_pushinteger(L, length);
    lua_setfield(L, -2, "length");
  }
  lua_rawseti(L, w->probs, ++w->n);
  lua_settop(L, msg - 1);
}

static const char *type_name(vwalk *w, int v) {
  lua_State *L = w->L;
  switch (lua_type(L, v)) {
    case LUA_TNUMBER: return lua_isinteger(L, v) ? "an integer" : "a number";
    case LUA_TSTRING: return "a string";
    case LUA_TTABLE: return "a table";
    case LUA_TBOOLEAN: return "a boolean";
    case LUA_TNIL: return "a nil";
    case LUA_TFUNCTION: return "a function";
    case LUA_TTHREAD: return "a thread";
    default: return is_null(w, v) ? "null" : "a userdata";
  }
}

/* A "type" problem whose message is fmt with the type of v for its %s. */
static void problem_type(vwalk *w, const vpath *at, const char *fmt, int v) {
  lua_pushfstring(w->L, fmt, type_name(w, v));
  problem(w, at, "type", -1);
}

/* Pushes tostring(v) cut at 40 bytes, quoted by string.format's own %q. */
static void push_shown(vwalk *w, int v) {
  lua_State *L = w->L;
  size_t len;
  luaL_tolstring(L, v, &len);
  if (len > 40) {
    lua_pushlstring(L, lua_tostring(L, -1), 40);
    lua_pushliteral(L, "...");
    lua_concat(L, 2);
    lua_remove(L, -2);
  }
  lua_pushvalue(L, w->format);
  lua_pushliteral(L, "%q");
  lua_rotate(L, -3, -1);       /* format, "%q", text */
  lua_call(L, 2, 1);
}

/* A problem whose message is fmt with tostring(v) (quoted when `quote`) for its %s. */
static void problem_value(vwalk *w, const vpath *at, const char *rule, const char *fmt, int v, int quote) {
  lua_State *L = w->L;
  if (quote) push_shown(w, v);
  else luaL_tolstring(L, v, NULL);
  lua_pushfstring(L, fmt, lua_tostring(L, -1));
  lua_remove(L, -2);
  problem(w, at, rule, -1);
}

/* ---- the walk --------------------------------------------------------------- */

/* Characters in the string at v, or -1 after recording why it cannot be sent. */
static lua_Integer text_chars(vwalk *w, int v, const vpath *at) {
  lua_State *L = w->L;
  size_t len;
  const char *s = lua_tolstring(L, v, &len);
  if (memchr(s, '\0', len)) {
    lua_pushliteral(L, "contains a NUL byte");
    problem(w, at, "nul", -1);
    return -1;
  }
  lua_Integer n = utf8_chars((const unsigned char *)s, len);
  if (n < 0) {
    lua_pushliteral(L, "is not valid UTF-8");
    problem(w, at, "utf8", -1);
  }
  return n;
}

static void check_finite(vwalk *w, int v, const vpath *at) {
  lua_Number d = lua_tonumber(w->L, v);
  if (isnan(d)) lua_pushliteral(w->L, "is NaN; numbers must be finite");
  else if (isinf(d)) lua_pushliteral(w->L, "is infinite; numbers must be finite");
  else return;
  problem(w, at, "finite", -1);
}

/* Any value in a field the schema does not know: it must be sendable as JSON.
 * root is the outermost table of this value, the field a depth problem names. */
static void check_any(vwalk *w, int v, const vpath *at, int depth, const vpath *root) {
  lua_State *L = w->L;
  switch (lua_type(L, v)) {
    case LUA_TSTRING: text_chars(w, v, at); break;
    case LUA_TNUMBER: if (!lua_isinteger(L, v)) check_finite(w, v, at); break;
    case LUA_TBOOLEAN: break;
    case LUA_TTABLE: {
      if (!root) root = at;
      if (depth >= MAX_DEPTH) {
        lua_pushfstring(L, "is nested more than %d levels deep (or refers to itself)", MAX_DEPTH);
        problem(w, root, "depth", -1);
        break;
      }
      luaL_checkstack(L, 8, "validating a body");
      int top = lua_gettop(L);
      lua_pushnil(L);
      while (!FULL(w) && lua_next(L, v)) {
        int k = lua_gettop(L) - 1;
        vpath p = { at, k, 0 };
        if (lua_type(L, k) != LUA_TSTRING && !lua_isinteger(L, k))
          problem_type(w, &p, "has a key that is %s; JSON keys are strings", k);
        else
          check_any(w, k + 1, &p, depth + 1, root);
        lua_settop(L, k);
      }
      lua_settop(L, top);
      break;
    }
    default:
      if (!is_null(w, v)) problem_type(w, at, "is %s, which cannot be sent as JSON", v);
  }
}

static void check_field(vwalk *w, int v, int spec, const vpath *at);

/* Pushes string.lower of the string at k. */
static void push_lower(lua_State *L, int k) {
  size_t len;
  const char *s = lua_tolstring(L, k, &len);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, len);
  for (size_t i = 0; i < len; i++) p[i] = (char)tolower((unsigned char)s[i]);
  luaL_pushresultsize(&b, len);
}

/* Pushes the field name that k (a string key) matches when case is ignored, or
 * returns 0 having pushed nothing. */
static int push_known_case(lua_State *L, int spec, int k) {
  push_lower(L, k);
  lua_getiuservalue(L, spec, 2);
  lua_insert(L, -2);
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

/* The fields of table t against the object spec at `spec`. depth: how deep a
 * field the schema does not know already is (1 at the top, 2 inside objects). */
static void check_members(vwalk *w, int t, int spec, const vpath *up, int depth) {
  lua_State *L = w->L;
  luaL_checkstack(L, 8, "validating a body");
  int top = lua_gettop(L);
  lua_getiuservalue(L, spec, 1);
  int fields = top + 1;
  lua_pushnil(L);
  while (!FULL(w) && lua_next(L, t)) {
    int k = lua_gettop(L) - 1, v = k + 1;
    vpath at = { up, k, 0 };
    lua_pushvalue(L, k);
    if (lua_rawget(L, fields) != LUA_TNIL) {
      if (!is_null(w, v)) check_field(w, v, v + 1, &at);
    } else if (lua_type(L, k) != LUA_TSTRING) {
      lua_pushliteral(L, "is not a field name; field names are strings");
      problem(w, &at, "type", -1);
    } else if (push_known_case(L, spec, k)) {
      lua_pushfstring(L, "is not a field; did you mean %s? (names are case-sensitive)", lua_tostring(L, -1));
      problem(w, &at, "unknown_field", -1);
    } else {
      check_any(w, v, &at, depth, NULL);
    }
    lua_settop(L, k);
  }
  lua_settop(L, top);
}

/* Whether the string at v is empty or only white space: what a required field
 * read from a blank CSV cell holds, and what the server would refuse. */
static int is_blank(vwalk *w, int v) {
  size_t len;
  const char *t = lua_tolstring(w->L, v, &len);
  for (size_t i = 0; i < len; i++)
    if (!is_space((unsigned char)t[i])) return 0;
  return 1;
}

static void check_string(vwalk *w, int v, int spec, const vspec *s, const vpath *at) {
  lua_State *L = w->L;
  if (lua_type(L, v) != LUA_TSTRING) {
    problem_type(w, at, "must be a string, got %s", v);
    return;
  }
  lua_Integer n = text_chars(w, v, at);
  if (n < 0) return;
  if (s->required && is_blank(w, v)) {
    lua_pushliteral(L, "is required and must not be empty");
    problem(w, at, "required", -1);
    return;
  }
  if (s->has_max && n > s->max) {
    lua_pushfstring(L, "is %I characters, the maximum is %I", (LUAI_UACINT)n, (LUAI_UACINT)s->max);
    problem(w, at, "max_length", n);
    return;
  }
  if (s->has_enum) {
    lua_getiuservalue(L, spec, 1);
    lua_pushvalue(L, v);
    int allowed = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (!allowed) {
      lua_getiuservalue(L, spec, 2);
      push_shown(w, v);
      lua_pushfstring(L, "must be one of %s, got %s", lua_tostring(L, -2), lua_tostring(L, -1));
      lua_replace(L, -3);
      lua_pop(L, 1);
      problem(w, at, "enum", -1);
      return;
    }
  }
  size_t len;
  const char *t = lua_tolstring(L, v, &len);
  if (s->format == F_CURRENCY) {
    int ok = len == 3;
    for (size_t i = 0; ok && i < 3; i++) ok = t[i] >= 'A' && t[i] <= 'Z';
    if (!ok) problem_value(w, at, "format", "must be a 3-letter ISO currency code such as USD, got %s", v, 1);
  } else if (s->format == F_EMAIL) {
    /* One plain address is the common case; only a list or an odd value is
     * checked item by item (blank items allowed). */
    if (n > 2 && memchr(t + 1, '@', len - 1) && !memchr(t, ';', len) && t[len - 1] != '@') return;
    const char *p = t, *end = t + len;
    while (p < end) {
      if (*p == ';') { p++; continue; }
      const char *q = memchr(p, ';', (size_t)(end - p));
      if (!q) q = end;
      if (!address_ok(p, q)) {
        lua_pushlstring(L, p, (size_t)(q - p));
        problem_value(w, at, "format", "must be an email address (several separated by ';'), got %s",
                      lua_gettop(L), 1);
        lua_pop(L, 1);
        return;
      }
      p = q;
    }
  }
}

static void check_integer(vwalk *w, int v, const vspec *s, const vpath *at) {
  lua_State *L = w->L;
  if (!lua_isinteger(L, v)) {
    if (lua_type(L, v) != LUA_TNUMBER) {
      problem_type(w, at, "must be an integer, got %s", v);
      return;
    }
    lua_Number d = lua_tonumber(L, v);
    if (isnan(d) || isinf(d)) {
      problem_value(w, at, "finite", "must be a finite integer, got %s", v, 0);
      return;
    }
    if (d != floor(d)) {
      problem_value(w, at, "type", "must be an integer, got %s", v, 0);
      return;
    }
  }
  if (s->has_min && (lua_isinteger(L, v) ? lua_tointeger(L, v) < s->min
                                         : lua_tonumber(L, v) < (lua_Number)s->min)) {
    luaL_tolstring(L, v, NULL);
    lua_pushfstring(L, "must be at least %I, got %s", (LUAI_UACINT)s->min, lua_tostring(L, -1));
    lua_remove(L, -2);
    problem(w, at, "range", -1);
  }
}

/* An id: a positive whole number, or a string of digits (read from a CSV) that the
 * encoder sends as a number. */
static void check_id(vwalk *w, int v, const vpath *at) {
  lua_State *L = w->L;
  if (lua_type(L, v) == LUA_TSTRING) {
    size_t len;
    const char *t = lua_tolstring(L, v, &len);
    int digits = len > 0 && len <= 18, nonzero = 0;
    for (size_t i = 0; digits && i < len; i++) {
      digits = t[i] >= '0' && t[i] <= '9';
      nonzero |= t[i] > '0';
    }
    if (digits && nonzero) return;
    problem_value(w, at, "type", "must be an id (a positive whole number or a string of digits), got %s", v, 1);
    return;
  }
  if (lua_type(L, v) != LUA_TNUMBER) {
    problem_type(w, at, "must be an id (a positive whole number or a string of digits), got %s", v);
    return;
  }
  static const vspec positive = { T_INTEGER, F_NONE, 0, 1, 0, 0, 0, 1 };
  check_integer(w, v, &positive, at);
}

static void check_array(vwalk *w, int v, int spec, const vspec *s, const vpath *at) {
  lua_State *L = w->L;
  if (!lua_istable(L, v)) {
    problem_type(w, at, "must be a list (JSON array), got %s", v);
    return;
  }
  luaL_checkstack(L, 8, "validating a body");
  int top = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, v);
  lua_pushnil(L);
  while (lua_next(L, v)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
      problem_value(w, at, "type", "must be a list (keys 1..n), has key %s", lua_gettop(L), 1);
      lua_settop(L, top);
      return;
    }
  }
  if (s->has_max && n > s->max) {
    lua_pushfstring(L, "has %I items, the maximum is %I", (LUAI_UACINT)n, (LUAI_UACINT)s->max);
    problem(w, at, "max_items", n);
    return;
  }
  lua_getiuservalue(L, spec, 1);
  int item = top + 1;
  for (lua_Integer i = 1; i <= n && !FULL(w); i++) {
    vpath p = { at, 0, i };
    lua_rawgeti(L, v, i);
    if (is_null(w, item + 1)) {
      lua_pushliteral(L, "must not be null");
      problem(w, &p, "type", -1);
    } else {
      check_field(w, item + 1, item, &p);
    }
    lua_settop(L, item);
  }
  lua_settop(L, top);
}

/* The value at v against the compiled spec at index `spec`. */
static void check_field(vwalk *w, int v, int spec, const vpath *at) {
  lua_State *L = w->L;
  const vspec *s = lua_touserdata(L, spec);
  switch (s->type) {
    case T_STRING: check_string(w, v, spec, s, at); break;
    case T_INTEGER: check_integer(w, v, s, at); break;
    case T_ID: check_id(w, v, at); break;
    case T_NUMBER:
      if (lua_type(L, v) != LUA_TNUMBER) problem_type(w, at, "must be a number, got %s", v);
      else check_finite(w, v, at);
      break;
    case T_BOOLEAN:
      if (!lua_isboolean(L, v)) problem_type(w, at, "must be a boolean, got %s", v);
      break;
    case T_OBJECT:
      if (!lua_istable(L, v)) problem_type(w, at, "must be a table (JSON object), got %s", v);
      else check_members(w, v, spec, at, 2);
      break;
    case T_ARRAY: check_array(w, v, spec, s, at); break;
  }
}

/* check(body, with_required) -> nil | problems
 * upvalues: the compiled top-level object, the list of required names, core.null,
 * string.format */
static int validator_check(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int with_required = lua_toboolean(L, 2);
  lua_settop(L, 1);
  lua_pushnil(L);                                   /* 2: the problems, once there are some */
  lua_pushvalue(L, lua_upvalueindex(1));            /* 3: the compiled schema */
  vwalk w = { L, lua_upvalueindex(3), lua_upvalueindex(4), 2, 0 };
  if (with_required) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, lua_upvalueindex(2));
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, lua_upvalueindex(2), i);       /* 4: the name */
      lua_pushvalue(L, 4);
      lua_rawget(L, 1);
      if (lua_isnil(L, 5) || is_null(&w, 5)) {
        vpath at = { NULL, 4, 0 };
        lua_pushliteral(L, "is required");
        problem(&w, &at, "required", -1);
      }
      lua_settop(L, 3);
    }
  }
  check_members(&w, 1, 3, NULL, 1);
  lua_settop(L, 2);
  return 1;
}

/* ---- compiling a schema ----------------------------------------------------- */

static void compile_spec(lua_State *L, int spec);

static lua_Integer spec_integer(lua_State *L, int spec, const char *key, int *has) {
  lua_getfield(L, spec, key);
  *has = !lua_isnil(L, -1);
  if (*has && !lua_isinteger(L, -1)) luaL_error(L, "schema: %s must be an integer", key);
  lua_Integer n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return n;
}

/* Gives the object spec userdata at ud its name -> spec and lower-case tables,
 * from the schema's fields table at index fields. */
static void compile_fields(lua_State *L, int ud, int fields) {
  luaL_checktype(L, fields, LUA_TTABLE);
  lua_newtable(L);
  lua_newtable(L);
  int by_name = lua_gettop(L) - 1, by_lower = by_name + 1;
  lua_pushnil(L);
  while (lua_next(L, fields)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "schema: field names must be strings");
    luaL_checktype(L, -1, LUA_TTABLE);
    compile_spec(L, lua_gettop(L));
    lua_pushvalue(L, -3);
    lua_insert(L, -2);
    lua_rawset(L, by_name);
    push_lower(L, lua_gettop(L) - 1);
    lua_pushvalue(L, -3);
    lua_rawset(L, by_lower);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, by_lower);
  lua_setiuservalue(L, ud, 2);
  lua_pushvalue(L, by_name);
  lua_setiuservalue(L, ud, 1);
  lua_pop(L, 2);
}

static void compile_spec(lua_State *L, int spec) {
  static const char *const types[] = { "string", "integer", "number", "boolean", "object", "array", "id", NULL };
  static const char *const formats[] = { "none", "currency", "email", NULL };
  vspec *s = lua_newuserdatauv(L, sizeof *s, 2);
  int ud = lua_gettop(L);
  memset(s, 0, sizeof *s);
  lua_getfield(L, spec, "type");
  s->type = luaL_checkoption(L, -1, NULL, types);
  lua_getfield(L, spec, "format");
  s->format = luaL_checkoption(L, -1, "none", formats);
  lua_pop(L, 2);
  s->min = spec_integer(L, spec, "min", &s->has_min);
  s->required = lua_getfield(L, spec, "required") == LUA_TBOOLEAN && lua_toboolean(L, -1);
  lua_pop(L, 1);
  s->max = spec_integer(L, spec, s->type == T_ARRAY ? "max_items" : "max", &s->has_max);
  if (s->type == T_OBJECT) {
    lua_getfield(L, spec, "fields");
    compile_fields(L, ud, lua_gettop(L));
    lua_pop(L, 1);
  } else if (s->type == T_ARRAY) {
    lua_getfield(L, spec, "items");
    luaL_checktype(L, -1, LUA_TTABLE);
    compile_spec(L, lua_gettop(L));
    lua_setiuservalue(L, ud, 1);
    lua_pop(L, 1);
  } else if (lua_getfield(L, spec, "enum") == LUA_TTABLE) {
    int list = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    lua_createtable(L, 0, (int)n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) luaL_addstring(&b, ", ");
      lua_rawgeti(L, list, i);
      lua_pushvalue(L, -1);
      lua_pushboolean(L, 1);
      lua_rawset(L, list + 1);
      luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_setiuservalue(L, ud, 2);
    lua_setiuservalue(L, ud, 1);
    s->has_enum = 1;
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
  }
}

/* core.validator(fields, required) -> check(body, with_required)
 * fields: name -> field spec (lua/fusebill/schema.lua); required: list of names. */
static int core_validator(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  vspec *s = lua_newuserdatauv(L, sizeof *s, 2);
  memset(s, 0, sizeof *s);
  s->type = T_OBJECT;
  compile_fields(L, 3, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushcclosure(L, validator_check, 4);
  return 1;
}

void fb_validate_open(lua_State *L) {
  lua_getfield(L, -1, "null");
  /* string.format as the string library loaded it, whatever a script later
   * does to the global `string` */
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "string");
  lua_getfield(L, -1, "format");
  lua_replace(L, -3);
  lua_pop(L, 1);
  lua_pushcclosure(L, core_validator, 2);
  lua_setfield(L, -2, "validator");
}
