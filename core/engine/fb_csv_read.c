/* The CSV reader: an RFC 4180 tokenizer over a buffer filled from a Lua file
 * handle, one record per call, so a file of any size is read in constant memory.
 *
 * Fields end at a comma; records at CRLF, LF or a lone CR (what spreadsheets on
 * every system save). A field that starts with a quote runs to the matching quote,
 * commas and line breaks included, and "" inside it stands for one quote. Anything
 * else is an error naming the line and column: a quote inside an unquoted field,
 * text after a closing quote, a quoted field still open at the end of the file.
 * A UTF-8 byte-order mark at the start is skipped. Lines are counted at LF (and at
 * a CR that ends a record), columns in characters, both from 1.
 *
 * With a header, the first record names the columns and each later record is a
 * table keyed by those names; blank lines are skipped (as Python's DictReader does)
 * and a record with more or fewer fields than the header is an error. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "fb_csv.h"

#define CSV_READER "fusebill.csv.reader"
#define CSV_BUFSIZE 65536

typedef struct csv_reader {
  luaL_Stream *stream;   /* user value 1 holds the handle itself */
  const char *name;      /* for messages; the string is user value 3 */
  int owns;              /* opened from a path: closed at the end of the file */
  int closed;
  int started;           /* the first buffer was read (and its BOM skipped) */
  int eof;               /* the file has no more bytes */
  int ncols;             /* > 0: records are keyed by the header (user value 2) */
  int last_n;            /* fields in the last record: a size hint for the next table */
  lua_Integer line;      /* line of buf[pos] */
  lua_Integer row_line;  /* line on which the last record began */
  lua_Integer cc;        /* characters of the current line before buf[cc_at] */
  size_t cc_at;
  size_t pos, len;       /* unread bytes are buf[pos, len) */
  char buf[CSV_BUFSIZE + 1];  /* + buf[len] = '\n', which stops every scan: see fill */
} csv_reader;

/* bytes that end an unquoted field, and the bytes a quoted field stops at; both
 * hold '\n', the sentinel after the buffer's last byte */
static const unsigned char plain_stop[256] = { [','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1 };
static const unsigned char quoted_stop[256] = { ['"'] = 1, ['\n'] = 1 };

static lua_Integer utf8_chars(const char *s, size_t n) {
  lua_Integer c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* The column (from 1) of buf[at] on the current line. Counting resumes where the
 * last call stopped, so a line costs its length once however often it is asked. */
static lua_Integer column_at(csv_reader *r, size_t at) {
  r->cc += utf8_chars(r->buf + r->cc_at, at - r->cc_at);
  r->cc_at = at;
  return r->cc + 1;
}

static void new_line(csv_reader *r, size_t at) {
  r->line++;
  r->cc = 0;
  r->cc_at = at;
}

/* Errors in the data raise a message that starts with the file's name, not with
 * the position of the Lua code that asked for the row (as luaL_error would). */
static void fail(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_error(L);
}

static void data_error(lua_State *L, csv_reader *r, lua_Integer line, lua_Integer col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  fail(L, "%s:%I:%I: %s", r->name, line, col, msg);
}

/* Called when buf[pos, len) is empty: refills it. Returns 0 at the end of the file. */
static int fill(lua_State *L, csv_reader *r) {
  if (r->eof) return 0;
  if (r->stream->closef == NULL) fail(L, "%s: the file was closed while a CSV reader was reading it", r->name);
  r->cc += utf8_chars(r->buf + r->cc_at, r->len - r->cc_at);
  r->cc_at = r->pos = 0;
  /* fread returns short only at the end of the file or on an error */
  r->len = fread(r->buf, 1, CSV_BUFSIZE, r->stream->f);
  /* scans then need no bounds check per byte, only one where they stop */
  r->buf[r->len] = '\n';
  if (r->len < CSV_BUFSIZE) {
    if (ferror(r->stream->f)) fail(L, "%s: %s", r->name, strerror(errno));
    r->eof = 1;
  }
  if (!r->started) {
    r->started = 1;
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) r->pos = r->cc_at = 3;
  }
  return r->pos < r->len;
}

/* The next byte, or -1 at the end of the file. */
static int peek(lua_State *L, csv_reader *r) {
  if (r->pos == r->len && !fill(L, r)) return -1;
  return (unsigned char)r->buf[r->pos];
}

/* A field's bytes: buf[start, ...) while they sit in one buffer and need no
 * unescaping (pushed with one lua_pushlstring), else gathered in b. */
typedef struct field {
  luaL_Buffer b;
  int buffered;
  size_t start;
} field;

static void keep(lua_State *L, csv_reader *r, field *f, size_t end) {
  if (!f->buffered) {
    luaL_buffinit(L, &f->b);
    f->buffered = 1;
  }
  luaL_addlstring(&f->b, r->buf + f->start, end - f->start);
}

static void push_field(lua_State *L, csv_reader *r, field *f, size_t end) {
  if (f->buffered) {
    keep(L, r, f, end);
    luaL_pushresult(&f->b);
  } else {
    lua_pushlstring(L, r->buf + f->start, end - f->start);
  }
}

/* Reads up to a comma, a line break or the end of the file, which it leaves unread. */
static void plain_field(lua_State *L, csv_reader *r, int nf) {
  field f;   /* not `= {...}`: that would clear the buffer's 1 KB for every field */
  f.buffered = 0;
  f.start = r->pos;
  for (;;) {
    const char *p = r->buf + r->pos, *end = r->buf + r->len;
    while (!plain_stop[(unsigned char)*p]) p++;
    r->pos = (size_t)(p - r->buf);
    if (p < end) {
      if (*p == '"')
        data_error(L, r, r->line, column_at(r, r->pos), "field %d: a quote inside an unquoted field "
                   "(a field with quotes must be quoted whole, its quotes doubled: \"say \"\"hi\"\"\")", nf);
      break;
    }
    keep(L, r, &f, r->pos);
    int more = fill(L, r);
    f.start = r->pos;
    if (!more) break;
  }
  push_field(L, r, &f, r->pos);
}

/* buf[pos] is the opening quote. Reads through the closing one and checks what follows. */
static void quoted_field(lua_State *L, csv_reader *r, int nf) {
  /* the opening quote's column is counted only when it is about to become
   * uncountable (a new line or a new buffer): most fields close first */
  size_t open_at = r->pos;
  lua_Integer open_line = r->line, open_col = 0;
  field f;
  f.buffered = 0;
  f.start = ++r->pos;
  for (;;) {
    const char *p = r->buf + r->pos, *end = r->buf + r->len;
    while (!quoted_stop[(unsigned char)*p]) p++;
    size_t at = (size_t)(p - r->buf);
    if (p == end) {   /* the field goes on in the next buffer */
      if (!open_col) open_col = column_at(r, open_at);
      keep(L, r, &f, at);
      r->pos = at;
      if (!fill(L, r))
        data_error(L, r, open_line, open_col, "field %d: the quoted field that starts here has no closing quote", nf);
      f.start = r->pos;
      continue;
    }
    r->pos = at + 1;
    if (*p == '\n') {
      if (!open_col) open_col = column_at(r, open_at);
      new_line(r, r->pos);
      continue;
    }
    /* a quote: doubled it stands for one, single it closes the field */
    size_t piece_end = at;
    if (r->pos == r->len) {
      if (!open_col) open_col = column_at(r, open_at);
      keep(L, r, &f, at);
      peek(L, r);
      f.start = piece_end = r->pos;
    }
    int next = r->pos < r->len ? (unsigned char)r->buf[r->pos] : -1;
    if (next == '"') {
      keep(L, r, &f, piece_end);
      luaL_addchar(&f.b, '"');
      f.start = ++r->pos;
      continue;
    }
    if (next >= 0 && next != ',' && next != '\r' && next != '\n')
      data_error(L, r, r->line, column_at(r, r->pos), "field %d: text after the closing quote "
                 "(a quoted field ends with its quote, then a comma or a line break)", nf);
    push_field(L, r, &f, piece_end);
    return;
  }
}

/* buf[pos] is CR or LF: consumes CRLF, LF or a lone CR. */
static void end_of_line(lua_State *L, csv_reader *r) {
  if (r->buf[r->pos++] == '\r' && peek(L, r) == '\n') r->pos++;
  new_line(r, r->pos);
}

/* Stores the field on top in the record at t: by position, or under the header's name. */
static void store(lua_State *L, int t, int names, int nf) {
  if (names) {
    lua_rawgeti(L, names, nf);
    lua_insert(L, -2);
    lua_rawset(L, t);
  } else {
    lua_rawseti(L, t, nf);
  }
}

/* Reads one record into the table at t. Returns its number of fields, 0 for a
 * blank line, -1 at the end of the file. */
static int read_record(lua_State *L, csv_reader *r, int t, int names) {
  int c = peek(L, r);
  if (c < 0) return -1;
  r->row_line = r->line;
  if (c == '\r' || c == '\n') {
    end_of_line(L, r);
    return 0;
  }
  for (int nf = 1;; nf++) {
    if (names && nf > r->ncols)
      data_error(L, r, r->line, column_at(r, r->pos), "field %d: more fields than the header's %d columns "
                 "(a comma in a field that should have been quoted?)", nf, r->ncols);
    if (peek(L, r) == '"') quoted_field(L, r, nf);
    else plain_field(L, r, nf);
    store(L, t, names, nf);
    c = peek(L, r);
    if (c == ',') {
      r->pos++;
      continue;
    }
    if (c >= 0) end_of_line(L, r);
    return nf;
  }
}

/* The header: the first record that is not a blank line. Every name must be
 * present and different, since they become the keys of every record. */
static void read_header(lua_State *L, csv_reader *r, int ud) {
  lua_newtable(L);
  int names = lua_gettop(L);
  int n;
  while ((n = read_record(L, r, names, 0)) == 0) {}
  if (n < 0) fail(L, "%s:%I: no header row (the file is empty)", r->name, r->line);
  lua_newtable(L);
  int seen = names + 1;
  for (int i = 1; i <= n; i++) {
    if (lua_rawgeti(L, names, i) == LUA_TSTRING && lua_rawlen(L, -1) == 0)
      fail(L, "%s:%I: column %d of the header has no name", r->name, r->row_line, i);
    if (lua_rawget(L, seen) != LUA_TNIL) {
      lua_rawgeti(L, names, i);
      fail(L, "%s:%I: column %d of the header repeats the name \"%s\" of column %I", r->name, r->row_line,
                 i, lua_tostring(L, -1), lua_tointeger(L, -2));
    }
    lua_pop(L, 1);
    lua_rawgeti(L, names, i);
    lua_pushinteger(L, i);
    lua_rawset(L, seen);
  }
  lua_settop(L, names);
  lua_setiuservalue(L, ud, 2);
  r->ncols = n;
}

static csv_reader *check_reader(lua_State *L) {
  csv_reader *r = luaL_checkudata(L, 1, CSV_READER);
  if (r->closed) luaL_error(L, "attempt to use a closed CSV reader");
  return r;
}

/* reader:read() -> the next record, or nil at the end of the file (where a file
 * the reader opened itself is closed at once). Malformed data raises. */
static int reader_read(lua_State *L) {
  csv_reader *r = check_reader(L);
  lua_settop(L, 1);
  int names = 0;
  if (r->ncols) {
    lua_getiuservalue(L, 1, 2);
    names = 2;
  }
  lua_createtable(L, r->ncols ? 0 : r->last_n, r->ncols);
  int t = lua_gettop(L), n;
  while ((n = read_record(L, r, t, names)) == 0 && names) {}
  if (n < 0) {
    if (r->owns) lua_pop(L, fb_csv_close_file(L, 1));
    lua_pushnil(L);
    return 1;
  }
  if (names && n < r->ncols)
    fail(L, "%s:%I: %d field%s where the header has %d columns", r->name, r->row_line, n,
               n == 1 ? "" : "s", r->ncols);
  r->last_n = n;
  return 1;
}

/* reader:rows() -> an iterator for a generic for (it leaves the reader open). */
static int reader_rows(lua_State *L) {
  check_reader(L);
  lua_pushcfunction(L, reader_read);
  lua_pushvalue(L, 1);
  return 2;
}

/* reader:columns() -> a copy of the header's names, or nil without a header. */
static int reader_columns(lua_State *L) {
  csv_reader *r = check_reader(L);
  if (!r->ncols) return 0;
  lua_settop(L, 1);
  lua_getiuservalue(L, 1, 2);
  lua_createtable(L, r->ncols, 0);
  for (int i = 1; i <= r->ncols; i++) {
    lua_rawgeti(L, 2, i);
    lua_rawseti(L, 3, i);
  }
  return 1;
}

/* reader:line() -> the line on which the last record returned began. */
static int reader_line(lua_State *L) {
  csv_reader *r = check_reader(L);
  lua_pushinteger(L, r->row_line);
  return 1;
}

/* close(), __close and __gc: closes the file if the reader opened it. */
static int reader_close(lua_State *L) {
  csv_reader *r = luaL_checkudata(L, 1, CSV_READER);
  if (r->closed) {
    lua_pushboolean(L, 1);
    return 1;
  }
  r->closed = 1;
  if (!r->owns) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return fb_csv_close_file(L, 1);
}

static int reader_tostring(lua_State *L) {
  csv_reader *r = luaL_checkudata(L, 1, CSV_READER);
  lua_pushfstring(L, "CSV reader (%s%s)", r->name, r->closed ? ", closed" : "");
  return 1;
}

static const luaL_Reg reader_methods[] = {
  {"read", reader_read},
  {"rows", reader_rows},
  {"columns", reader_columns},
  {"line", reader_line},
  {"close", reader_close},
  {NULL, NULL}
};

static const luaL_Reg reader_meta[] = {
  {"__gc", reader_close},
  {"__close", reader_close},
  {"__tostring", reader_tostring},
  {"__index", NULL},
  {NULL, NULL}
};

/* core.csv_reader(file, name, owns, header) -> reader. owns: close the file with
 * the reader. With header, reads the header now (and raises if it is bad). */
int fb_csv_reader_new(lua_State *L) {
  luaL_Stream *s = luaL_checkudata(L, 1, LUA_FILEHANDLE);
  luaL_checkstring(L, 2);
  if (s->closef == NULL) return luaL_error(L, "attempt to use a closed file");
  csv_reader *r = lua_newuserdatauv(L, sizeof *r, 3);
  memset(r, 0, offsetof(csv_reader, buf));
  r->stream = s;
  r->owns = lua_toboolean(L, 3);
  r->line = 1;
  r->buf[0] = '\n';
  int ud = lua_gettop(L);
  r->name = fb_csv_bind(L, ud, CSV_READER, reader_meta, reader_methods);
  if (lua_toboolean(L, 4)) read_header(L, r, ud);
  lua_settop(L, ud);
  return 1;
}
