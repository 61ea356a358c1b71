/* The CSV writer: records written to a Lua file handle, quoted as Python's csv
 * module quotes with its defaults (QUOTE_MINIMAL, CRLF): a field is quoted when it
 * holds a comma, a quote, CR or LF, with its quotes doubled; a record of a single
 * empty field is written "" so that it does not read back as a blank line.
 * (Python quotes CR and LF only when they are in its line terminator; we always
 * do, so a file written with LF endings still reads back exactly.)
 *
 * Each record is built whole, then written with one fwrite: a bad value raises
 * before anything of its record reaches the file. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "fb_csv.h"

#define CSV_WRITER "fusebill.csv.writer"
/* whole floats up to 2^53 are written as integers: 3.0 -> "3" */
#define MAX_EXACT 9007199254740992.0

typedef struct csv_writer {
  luaL_Stream *stream;   /* user value 1 holds the handle itself */
  const char *name;      /* for messages; the string is user value 3 */
  int owns;              /* opened from a path: closed with the writer */
  int closed;
  int crlf;
  int ncols;             /* > 0: records are tables keyed by these columns (user value 2) */
  lua_Integer records;   /* written after the header, for messages */
} csv_writer;

static const unsigned char must_quote[256] = { [','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1 };

static void add_string(luaL_Buffer *b, const char *s, size_t len, int alone) {
  if (len == 0) {
    if (alone) luaL_addstring(b, "\"\"");
    return;
  }
  size_t i = 0;
  while (i < len && !must_quote[(unsigned char)s[i]]) i++;
  if (i == len) {
    luaL_addlstring(b, s, len);
    return;
  }
  luaL_addchar(b, '"');
  const char *q;
  while ((q = memchr(s, '"', len)) != NULL) {
    size_t k = (size_t)(q - s) + 1;
    luaL_addlstring(b, s, k);
    luaL_addchar(b, '"');
    s += k;
    len -= k;
  }
  luaL_addlstring(b, s, len);
  luaL_addchar(b, '"');
}

/* Integers as integers, whole floats without ".0", other floats in the fewest
 * digits that read back as the same number (as Python's repr). -1 if not finite. */
static int format_number(lua_State *L, int idx, char *out, size_t size) {
  if (lua_isinteger(L, idx)) return snprintf(out, size, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
  double d = (double)lua_tonumber(L, idx);
  if (!isfinite(d)) return -1;
  if (d == floor(d) && fabs(d) < MAX_EXACT) return snprintf(out, size, "%.0f", d == 0 ? 0.0 : d);
  int n = 0;
  for (int digits = 15; digits <= 17; digits++) {
    n = snprintf(out, size, "%.*g", digits, d);
    if (strtod(out, NULL) == d) break;
  }
  return n;
}

static void bad_value(lua_State *L, csv_writer *w, int names, int i, const char *what) {
  if (names) {
    lua_rawgeti(L, names, i);
    luaL_error(L, "%s: record %I, column \"%s\": %s", w->name, w->records + 1, lua_tostring(L, -1), what);
  }
  luaL_error(L, "%s: record %I, field %d: %s", w->name, w->records + 1, i, what);
}

/* Appends the value at idx as field i of n. */
static void add_cell(lua_State *L, csv_writer *w, luaL_Buffer *b, int idx, int names, int i, int n) {
  char num[64];
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      add_string(b, s, len, n == 1);
      return;
    }
    case LUA_TNUMBER: {
      int len = format_number(L, idx, num, sizeof num);
      if (len < 0) bad_value(L, w, names, i, "not a finite number (nan or inf)");
      luaL_addlstring(b, num, (size_t)len);
      return;
    }
    case LUA_TBOOLEAN:
      luaL_addstring(b, lua_toboolean(L, idx) ? "true" : "false");
      return;
    case LUA_TLIGHTUSERDATA:   /* fusebill.null, JSON null: an empty cell, as nil */
      if (lua_touserdata(L, idx) != NULL) break;
      /* fallthrough */
    case LUA_TNIL:
      add_string(b, "", 0, n == 1);
      return;
    default:
      break;
  }
  lua_pushfstring(L, "a %s cannot go in a CSV cell (strings, numbers, booleans, nil or fusebill.null can)",
                  luaL_typename(L, idx));
  bad_value(L, w, names, i, lua_tostring(L, -1));
}

/* Writes the n fields of the table at t (by position, or by the names at names).
 * Returns 0, or an errno value when the file refused the bytes. */
static int write_record(lua_State *L, csv_writer *w, int t, int names, int n) {
  /* the values go on the stack first: the buffer below needs the stack's top
   * to itself, and the stack keeps values made by __index alive meanwhile */
  luaL_checkstack(L, n + LUA_MINSTACK, "too many columns");
  int base = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    if (names) {
      lua_rawgeti(L, names, i);
      lua_gettable(L, t);
    } else {
      lua_geti(L, t, i);
    }
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, ',');
    add_cell(L, w, &b, base + i, names, i, n);
  }
  luaL_addstring(&b, w->crlf ? "\r\n" : "\n");
  luaL_pushresult(&b);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (w->stream->closef == NULL) luaL_error(L, "%s: the file was closed while a CSV writer was writing it", w->name);
  errno = 0;
  int err = fwrite(s, 1, len, w->stream->f) == len ? 0 : (errno ? errno : EIO);
  lua_settop(L, base);
  return err;
}

static csv_writer *check_writer(lua_State *L) {
  csv_writer *w = luaL_checkudata(L, 1, CSV_WRITER);
  if (w->closed) luaL_error(L, "attempt to use a closed CSV writer");
  return w;
}

static int file_error(lua_State *L, csv_writer *w, int err) {
  errno = err;
  return luaL_fileresult(L, 0, w->name);
}

/* writer:row(t) -> writer, or nil and a message if the file refused it.
 * t is keyed by the writer's columns, or an array of fields 1..#t without columns. */
static int writer_row(lua_State *L) {
  csv_writer *w = check_writer(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  int names = 0, n = w->ncols;
  if (n) {
    lua_getiuservalue(L, 1, 2);
    names = 3;
  } else {
    lua_Integer len = luaL_len(L, 2);
    luaL_argcheck(L, len <= INT_MAX, 2, "too many fields");
    n = (int)len;
  }
  int err = write_record(L, w, 2, names, n);
  if (err) return file_error(L, w, err);
  w->records++;
  lua_settop(L, 1);
  return 1;
}

/* close(), __close and __gc: flushes; closes the file if the writer opened it.
 * Returns true, or nil and a message (a full disk shows here). */
static int writer_close(lua_State *L) {
  csv_writer *w = luaL_checkudata(L, 1, CSV_WRITER);
  if (w->closed) {
    lua_pushboolean(L, 1);
    return 1;
  }
  w->closed = 1;
  if (w->owns) return fb_csv_close_file(L, 1);
  if (w->stream->closef != NULL && fflush(w->stream->f) != 0) return file_error(L, w, errno);
  lua_pushboolean(L, 1);
  return 1;
}

static int writer_tostring(lua_State *L) {
  csv_writer *w = luaL_checkudata(L, 1, CSV_WRITER);
  lua_pushfstring(L, "CSV writer (%s%s)", w->name, w->closed ? ", closed" : "");
  return 1;
}

static const luaL_Reg writer_methods[] = {
  {"row", writer_row},
  {"close", writer_close},
  {NULL, NULL}
};

static const luaL_Reg writer_meta[] = {
  {"__gc", writer_close},
  {"__close", writer_close},
  {"__tostring", writer_tostring},
  {"__index", NULL},
  {NULL, NULL}
};

/* core.csv_writer(file, name, owns, columns, crlf, bom, header) -> writer, or nil
 * and a message if the BOM or the header could not be written. columns (an array
 * of distinct names, checked by csv.lua) or nil; header: write them as a first record. */
int fb_csv_writer_new(lua_State *L) {
  luaL_Stream *s = luaL_checkudata(L, 1, LUA_FILEHANDLE);
  luaL_checkstring(L, 2);
  if (!lua_isnil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  if (s->closef == NULL) return luaL_error(L, "attempt to use a closed file");
  lua_settop(L, 7);
  csv_writer *w = lua_newuserdatauv(L, sizeof *w, 3);
  memset(w, 0, sizeof *w);
  w->stream = s;
  w->owns = lua_toboolean(L, 3);
  w->crlf = lua_toboolean(L, 5);
  int ud = lua_gettop(L);
  w->name = fb_csv_bind(L, ud, CSV_WRITER, writer_meta, writer_methods);
  if (lua_istable(L, 4)) {
    lua_Integer n = luaL_len(L, 4);
    luaL_argcheck(L, n > 0 && n <= INT_MAX, 4, "columns must be a non-empty array");
    w->ncols = (int)n;
    lua_pushvalue(L, 4);
    lua_setiuservalue(L, ud, 2);
  }
  if (lua_toboolean(L, 6) && fwrite("\xEF\xBB\xBF", 1, 3, s->f) != 3) return file_error(L, w, errno);
  if (w->ncols && lua_toboolean(L, 7)) {
    int err = write_record(L, w, 4, 0, w->ncols);
    if (err) return file_error(L, w, err);
  }
  lua_settop(L, ud);
  return 1;
}
