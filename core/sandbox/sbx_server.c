/* libmicrohttpd glue of the sandbox: one internal polling thread owns one Lua state
 * (sandbox.server decides everything about a request); this file only moves
 * bytes, parks delayed connections with the timer thread and carries out the fault
 * actions that need the socket (reset, empty reply, truncated body, stale keep-alive). */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include <microhttpd.h>
#include "fb_embed.h"
#include "sandbox.h"
#include "sbx_timer.h"


enum action { ACT_NONE, ACT_RESET, ACT_EMPTY, ACT_TRUNCATED, ACT_STALE };

struct sbx_server {
  struct MHD_Daemon *daemon;
  sbx_timer *timer;
  lua_State *L;
  int handler_ref, server_ref;
  unsigned port;
  char *key, *save_file, *tls_cert, *tls_key;
  size_t max_body;
  int quiet;
  struct MHD_Response *ping;
};

typedef struct req {
  char *body;
  size_t len, cap;
  char *query;   /* the query string as sent (after '?'), or NULL */
  int started;   /* on_request has seen it */
  int too_big;
  int handled;   /* run_handler ran: a later call only answers (see on_request) */
  enum action action;
  unsigned status;
  struct MHD_Response *resp;
} req;

static const char PING_BODY[] = "{\"ok\":true}";
/* The con_cls of every GET /_sandbox/ping: it needs no state of its own. A ping is
 * PING_SEEN from its URI until on_request's first call, then PING_REQUEST. */
static req PING_SEEN, PING_REQUEST;

static void diag(const sbx_server *s, const char *msg) {
  if (!s->quiet) fprintf(stderr, "fusebill-sandbox: %s\n", msg);
}

/* ---- Lua state ---------------------------------------------------------------------- */

static int native_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int native_mono(lua_State *L) {
  lua_pushnumber(L, sbx_now_ms() / 1000.0);
  return 1;
}

/* The first occurrence of `needle`, which holds a backslash, in s[0..n), like memmem:
 * memchr (vectorised) jumps from backslash to backslash, which are rare in JSON text,
 * where glibc's memmem walks short needles byte by byte. */
static const char *find_escaped(const char *s, size_t n, const char *needle) {
  size_t len = strlen(needle), k = (size_t)(strchr(needle, '\\') - needle);
  for (size_t q = k; q < n; q++) {
    const char *b = memchr(s + q, '\\', n - q);
    if (!b) return NULL;
    q = (size_t)(b - s);
    if (q - k + len <= n && memcmp(b - k, needle, len) == 0) return b - k;
  }
  return NULL;
}

/* In place: every "\u0001m:NUMBER" (NUMBER as the Lua pattern %-?[%d%.]+) becomes
 * NUMBER, as s:gsub('"\\u0001m:(%-?[%d%.]+)"', "%1") does; returns the new length. */
static size_t unquote_money(char *s, size_t n) {
  static const char MARK[] = "\"\\u0001m:";
  const size_t mlen = sizeof MARK - 1;
  size_t r = 0, w = 0;
  while (r < n) {
    const char *hit = find_escaped(s + r, n - r, MARK);
    size_t upto = hit ? (size_t)(hit - s) : n;
    memmove(s + w, s + r, upto - r);
    w += upto - r;
    if (!hit) break;
    size_t num = upto + mlen, end = num;
    if (end < n && s[end] == '-') end++;
    size_t digits = end;
    while (end < n && ((s[end] >= '0' && s[end] <= '9') || s[end] == '.')) end++;
    if (end > digits && end < n && s[end] == '"') {
      memmove(s + w, s + num, end - num);
      w += end - num;
      r = end + 1;
    } else {  /* not a marker after all: keep the quote and scan on after it */
      s[w++] = s[upto];
      r = upto + 1;
    }
  }
  return w;
}

/* A scratch buffer of at least n bytes: json_tidy's upvalue, a full userdata replaced
 * by a bigger one when a body outgrows it (cheaper than a luaL_Buffer per call). */
static char *scratch(lua_State *L, size_t n) {
  if (lua_rawlen(L, lua_upvalueindex(1)) < n) {
    lua_newuserdatauv(L, n + n / 2, 0);
    lua_replace(L, lua_upvalueindex(1));
  }
  return lua_touserdata(L, lua_upvalueindex(1));
}

/* native.json_tidy(s): the engine's rewrite of cjson's output (fb_json_tidy: "\/"
 * as "/", the empty-array marker as []), then the sandbox's own money markers. In C
 * because string.gsub copies a whole body byte by byte per pattern. Returns s
 * itself when there is nothing to do. */
static int native_json_tidy(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_settop(L, 1);
  if (!memchr(s, '\\', n)) return 1;  /* neither \/ nor a marker */
  char *buf = scratch(L, n);
  n = fb_json_tidy(buf, s, n);
  if (find_escaped(buf, n, "\\u0001m:")) n = unquote_money(buf, n);
  lua_pushlstring(L, buf, n);
  return 1;
}

/* native.new_table(nrec): an empty table with room for nrec fields. Lua 5.4 has no
 * table.create, and a 40-field record grown one key at a time is rehashed six times. */
static int native_new_table(lua_State *L) {
  lua_createtable(L, 0, (int)luaL_checkinteger(L, 1));
  return 1;
}

/* native.canonical(map, t): whether map[k] == k for every key k of t (no metamethods:
 * both are plain tables). The binder's test that a body needs no renaming; a pairs()
 * loop in Lua pays a call to `next` per key, and a customer has forty. */
static int native_canonical(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, 1);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
    if (!same) {
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int luaopen_native(lua_State *L) {
  static const luaL_Reg fns[] = {{"now", native_now},
                                 {"mono", native_mono},
                                 {"new_table", native_new_table},
                                 {"canonical", native_canonical},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_newuserdatauv(L, 4096, 0);
  lua_pushcclosure(L, native_json_tidy, 1);
  lua_setfield(L, -2, "json_tidy");
  lua_pushliteral(L, FB_JSON_EMPTY_ARRAY);
  lua_setfield(L, -2, "EMPTY_ARRAY");
  return 1;
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, long v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* Loads the behaviour modules and calls server.init(config); returns 0 or -1 with err. */
static int lua_setup(sbx_server *s, const sbx_options *o, char *err, size_t errlen) {
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(err, errlen, "cannot create a Lua state");
    return -1;
  }
  s->L = L;
  /* The heap is a long-lived data set plus a few KB of garbage per request (the decoded
   * body, the rendered reply): generational collection frees that young garbage without
   * marking and sweeping the whole data set each cycle (in cache misses more than in
   * instructions, the largest share of the sandbox's CPU time per PUT). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  luaL_openlibs(L);
  fb_preload_cjson(L);
  luaL_requiref(L, "sandbox.native", luaopen_native, 0);
  lua_pop(L, 1);
  fb_modules_install(L, sbx_modules);

  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushstring(L, "sandbox.server");
  if (lua_pcall(L, 1, 1, -3) != LUA_OK) goto fail;
  lua_pushvalue(L, -1);
  s->server_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "init");
  lua_newtable(L);
  set_str(L, "api_key", o->api_key);
  set_str(L, "data_file", o->data_file);
  set_int(L, "seed", o->seed);
  if (o->customers >= 0) set_int(L, "customers", o->customers);
  if (o->codes >= 0) set_int(L, "codes", o->codes);
  if (o->items >= 0) set_int(L, "items", o->items);
  set_str(L, "rate_limit", o->rate_limit);
  set_str(L, "daily_limit", o->daily_limit);
  set_str(L, "latency", o->latency);
  set_str(L, "faults", o->faults);
  set_int(L, "fault_seed", o->fault_seed);
  set_int(L, "hang_ms", o->hang_ms);
  set_int(L, "max_query_length", o->max_query_length);
  set_str(L, "log_file", o->log_file);
  set_str(L, "public_url", o->public_url);
  set_str(L, "scheme", o->tls_cert ? "https" : "http");
  set_str(L, "reset_format", o->reset_format);
  lua_pushnumber(L, o->clock_skew);
  lua_setfield(L, -2, "clock_skew");
  lua_pushboolean(L, o->status_via_put);
  lua_setfield(L, -2, "status_via_put");
  lua_pushboolean(L, o->quiet);
  lua_setfield(L, -2, "quiet");
  if (lua_pcall(L, 1, 1, -4) != LUA_OK) goto fail;
  if (!lua_isfunction(L, -1)) {
    snprintf(err, errlen, "server.init did not return a handler");
    return -1;
  }
  s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  return 0;
fail:
  snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "Lua error");
  /* keep only the first line: the traceback is noise for an option error */
  char *nl = strchr(err, '\n');
  if (nl) *nl = 0;
  return -1;
}

/* ---- responses ---------------------------------------------------------------------- */

typedef struct trunc_body {
  char *data;
  size_t cut;
} trunc_body;

static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max) {
  trunc_body *t = cls;
  if (pos >= t->cut) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = t->cut - (size_t)pos;
  if (n > max) n = max;
  memcpy(buf, t->data + pos, n);
  return (ssize_t)n;
}

static void trunc_free(void *cls) {
  trunc_body *t = cls;
  free(t->data);
  free(t);
}

/* A response whose Content-Length promises `len` bytes but the stream ends after half. */
static struct MHD_Response *truncated_response(const char *body, size_t len) {
  trunc_body *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->data = malloc(len ? len : 1);
  if (!t->data) {
    free(t);
    return NULL;
  }
  memcpy(t->data, body, len);
  t->cut = len / 2;
  struct MHD_Response *r = MHD_create_response_from_callback(len, 4096, trunc_read, t, trunc_free);
  if (!r) trunc_free(t);
  return r;
}

static const char ERR500[] =
    "{\"ErrorId\":0,\"HttpStatusCode\":500,\"Errors\":[{\"Key\":\"Api Error\",\"Value\":\"Internal sandbox error.\"}]}";

static struct MHD_Response *plain_error(void) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(sizeof ERR500 - 1, (void *)ERR500, MHD_RESPMEM_PERSISTENT);
  if (r) MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
  return r;
}

static int is_loopback(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return 0;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return 0;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  lua_State *L = cls;
  (void)kind;
  lua_pushstring(L, value ? value : "");
  lua_setfield(L, -2, key);
  return MHD_YES;
}

/* Runs the Lua handler for a complete request and fills r (response, action); returns
 * the delay in milliseconds before the response may go out. */
static double run_handler(sbx_server *s, struct MHD_Connection *c, const char *url, const char *method,
                          req *r) {
  lua_State *L = s->L;
  double delay = 0;
  lua_settop(L, 0);
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->handler_ref);
  lua_pushstring(L, method);
  lua_pushstring(L, url);
  lua_newtable(L);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, L);
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (auth) lua_pushstring(L, auth); else lua_pushnil(L);
  if (r->too_big) lua_pushboolean(L, 0);
  else if (r->body) lua_pushlstring(L, r->body, r->len);
  else lua_pushnil(L);
  const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  if (host) lua_pushstring(L, host); else lua_pushnil(L);
  lua_pushboolean(L, is_loopback(c));
  if (r->query) lua_pushstring(L, r->query); else lua_pushnil(L);
  if (lua_pcall(L, 8, 5, 1) != LUA_OK) {
    diag(s, lua_tostring(L, -1) ? lua_tostring(L, -1) : "Lua error");
    r->status = 500;
    r->resp = plain_error();
    lua_settop(L, 0);
    return 0;
  }
  /* stack: 1 traceback, 2 status, 3 body, 4 headers, 5 action, 6 delay */
  r->status = (unsigned)luaL_optinteger(L, 2, 500);
  size_t blen = 0;
  const char *body = lua_tolstring(L, 3, &blen);
  if (!body) body = "", blen = 0;
  const char *act = lua_tostring(L, 5);
  r->action = ACT_NONE;
  if (act) {
    if (strcmp(act, "reset") == 0) r->action = ACT_RESET;
    else if (strcmp(act, "empty") == 0) r->action = ACT_EMPTY;
    else if (strcmp(act, "truncated") == 0) r->action = ACT_TRUNCATED;
    else if (strcmp(act, "stale") == 0) r->action = ACT_STALE;
  }
  delay = lua_tonumber(L, 6);
  if (r->action == ACT_RESET || r->action == ACT_EMPTY) {
    lua_settop(L, 0);
    return delay;
  }
  r->resp = r->action == ACT_TRUNCATED
                ? truncated_response(body, blen)
                : MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (r->resp && lua_istable(L, 4)) {
    lua_pushnil(L);
    while (lua_next(L, 4)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        const char *name = lua_tostring(L, -2);
        const char *value = luaL_tolstring(L, -1, NULL);  /* numbers become strings */
        MHD_add_response_header(r->resp, name, value);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 0);
  return delay;
}

static enum MHD_Result finish(struct MHD_Connection *c, req *r) {
  if (r->action == ACT_RESET) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
      /* linger {1,0} makes close() send an RST instead of a FIN, but MHD shuts the
       * socket down for writing (a FIN) before closing it, so also disconnect it now:
       * on Linux connect(AF_UNSPEC) aborts a TCP connection with an RST while the fd
       * stays valid for MHD to close. */
      struct linger lg = {1, 0};
      struct sockaddr sa;
      setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      memset(&sa, 0, sizeof sa);
      sa.sa_family = AF_UNSPEC;
      (void)connect(ci->connect_fd, &sa, sizeof sa);
    }
    return MHD_NO;
  }
  if (r->action == ACT_EMPTY || !r->resp) return MHD_NO;  /* close without a response */
  return MHD_queue_response(c, r->status, r->resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size,
                                  void **con_cls) {
  sbx_server *s = cls;
  req *r = *con_cls;
  (void)version;
  if (!r) return MHD_NO;   /* on_uri could not allocate it */
  if (r == &PING_SEEN) {
    /* The benchmark baseline: a fixed body straight from C, no Lua, no allocation.
     * Answered on the next call, once the request is read: a response queued on the
     * first call makes MHD close the connection, and wrk would measure reconnecting. */
    if (strcmp(method, "GET") == 0) {
      *con_cls = &PING_REQUEST;
      return MHD_YES;
    }
    if (!(r = calloc(1, sizeof *r))) return MHD_NO;   /* another method: Lua answers */
    *con_cls = r;
  }
  if (r == &PING_REQUEST) {
    if (*upload_size) {  /* a body nobody asked for: drop it */
      *upload_size = 0;
      return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, s->ping);
  }
  if (!r->started) {
    r->started = 1;
    return MHD_YES;
  }
  /* Resumed by the timer, or called again because the answer could not be queued:
   * MHD_queue_response during MHD_stop_daemon returns MHD_YES without queueing, and
   * running the request a second time would park it again, which MHD_stop_daemon
   * answers by aborting the process (a Ctrl-C'd fusebill with a slow sandbox). */
  if (r->handled) return finish(c, r);
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (r->too_big || r->len + n > s->max_body) {
      /* keep reading (and dropping) so the 413 goes out on a healthy connection */
      r->too_big = 1;
      free(r->body);
      r->body = NULL;
      r->len = r->cap = 0;
      return MHD_YES;
    }
    if (r->len + n > r->cap) {
      size_t ncap = r->cap ? r->cap : 1024;
      while (ncap < r->len + n) ncap *= 2;
      char *nb = realloc(r->body, ncap);
      if (!nb) return MHD_NO;
      r->body = nb;
      r->cap = ncap;
    }
    memcpy(r->body + r->len, upload, n);
    r->len += n;
    return MHD_YES;
  }
  double delay = run_handler(s, c, url, method, r);
  r->handled = 1;
  if (delay > 0) {
    MHD_suspend_connection(c);
    if (sbx_timer_add(s->timer, delay, c) != 0) {
      MHD_resume_connection(c);
      return finish(c, r);
    }
    return MHD_YES;
  }
  return finish(c, r);
}

/* MHD's first sight of a request: its URI as sent, query included, which is what IIS
 * measures against its maxQueryString. The value returned becomes the request's con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  (void)cls; (void)c;
  if (strcmp(uri, "/_sandbox/ping") == 0) return &PING_SEEN;
  req *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  const char *q = strchr(uri, '?');
  if (q && !(r->query = strdup(q + 1))) {
    free(r);
    return NULL;
  }
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
  req *r = *con_cls;
  (void)cls;
  if (!r || r == &PING_REQUEST || r == &PING_SEEN) {
    *con_cls = NULL;
    return;
  }
  if (r->action == ACT_STALE && code == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
    /* The response went out with keep-alive; now close the socket under the client's
     * feet so its next reuse of this idle connection fails. */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) shutdown(ci->connect_fd, SHUT_RDWR);
  }
  if (r->resp) MHD_destroy_response(r->resp);
  free(r->body);
  free(r->query);
  free(r);
  *con_cls = NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static char *read_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    snprintf(err, errlen, "cannot read %s", path);
    free(buf);
    fclose(f);
    return NULL;
  }
  buf[n] = 0;
  fclose(f);
  return buf;
}

static char *dupstr(const char *s) {
  return s ? strdup(s) : NULL;
}

static void free_sandbox(sbx_server *s) {
  if (s->L) lua_close(s->L);
  if (s->ping) MHD_destroy_response(s->ping);
  free(s->key);
  free(s->save_file);
  free(s->tls_cert);
  free(s->tls_key);
  free(s);
}

/* As many connections as this process may open files, less a reserve for the rest of
 * it (the host's own files and transfers, when the sandbox runs in-process): the
 * default (FD_SETSIZE) let a thousand idle clients keep every later one waiting. Idle
 * and half-sent connections are closed after --idle-timeout, so none is held forever. */
static unsigned connection_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1000;
  if (rl.rlim_cur < 256) return 64;
  return rl.rlim_cur > 1000000 ? 1000000 - 128 : (unsigned)rl.rlim_cur - 128;
}

sbx_server *sbx_start(const sbx_options *o, char *err, size_t errlen) {
  sbx_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->quiet = o->quiet;
  s->max_body = o->max_body ? o->max_body : 1024 * 1024;
  s->key = dupstr(o->api_key ? o->api_key : "MDpzYW5kYm94");
  s->save_file = dupstr(o->save_file);
  if (o->tls_cert) {
    if (!(s->tls_cert = read_file(o->tls_cert, err, errlen)) ||
        !(s->tls_key = read_file(o->tls_key, err, errlen))) {
      free_sandbox(s);
      return NULL;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      snprintf(err, errlen, "this libmicrohttpd has no TLS support");
      free_sandbox(s);
      return NULL;
    }
  }
  if (lua_setup(s, o, err, errlen) != 0) {
    free_sandbox(s);
    return NULL;
  }
  s->ping = MHD_create_response_from_buffer(sizeof PING_BODY - 1, (void *)PING_BODY, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(s->ping, "Content-Type", "application/json; charset=utf-8");

  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%u", o->port);
  int gai = getaddrinfo(o->host ? o->host : "127.0.0.1", portstr, &hints, &ai);
  if (gai != 0 || !ai) {
    snprintf(err, errlen, "cannot resolve %s: %s", o->host, gai_strerror(gai));
    free_sandbox(s);
    return NULL;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
  if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) flags |= MHD_USE_EPOLL;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (s->tls_cert) flags |= MHD_USE_TLS;
  if (!s->quiet) flags |= MHD_USE_ERROR_LOG;
  s->timer = sbx_timer_start();
  if (!s->timer) {
    freeaddrinfo(ai);
    snprintf(err, errlen, "cannot start the timer thread");
    free_sandbox(s);
    return NULL;
  }
  struct MHD_OptionItem tls_opts[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
      {MHD_OPTION_END, 0, NULL},
  };
  s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
                               MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                               MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                               MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout ? o->idle_timeout : 15u,
                               MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
                               MHD_OPTION_ARRAY, s->tls_cert ? tls_opts : tls_opts + 2,
                               MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!s->daemon) {
    snprintf(err, errlen, "cannot listen on %s:%u", o->host, o->port);
    sbx_timer_free(s->timer);
    s->timer = NULL;
    free_sandbox(s);
    return NULL;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? di->port : o->port;
  return s;
}

unsigned sbx_port(const sbx_server *s) {
  return s->port;
}

const char *sbx_key(const sbx_server *s) {
  return s->key;
}

void sbx_stop(sbx_server *s) {
  if (!s) return;
  sbx_timer_stop(s->timer);  /* resumes parked connections first, and parks no more */
  MHD_stop_daemon(s->daemon);
  sbx_timer_free(s->timer);
  s->timer = NULL;
  if (s->save_file) {
    lua_State *L = s->L;
    lua_settop(L, 0);
    lua_pushcfunction(L, traceback);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->server_ref);
    lua_getfield(L, -1, "save");
    lua_pushstring(L, s->save_file);
    if (lua_pcall(L, 1, 0, 1) != LUA_OK) diag(s, lua_tostring(L, -1));
  }
  free_sandbox(s);
}
