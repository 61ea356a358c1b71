/* One API call: pace, send, classify, maybe back off and send again.
 *
 * The call is a small state machine kept in a userdata on the caller's stack,
 * so it survives a coroutine yield: a managed coroutine yields at every wait
 * (pacing, transfer, backoff) and continues in call_run when resumed; any other
 * caller drives the loop right here until the wait is over. Lua is never called
 * from inside a curl callback: the callbacks only copy bytes into C buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <lauxlib.h>
#include "fb_client.h"
#include "fb_error.h"
#include "fb_json.h"

/* Stack layout of a call: 1 client, 2 method, 3 path, 4 body, 5 query, 6 call. */
#define BODY_IDX 4
#define CALL_IDX 6
/* What a server can make us hold. A list page of 1,000 customers is about 1.5 MB,
 * so these stop only a broken or hostile answer: one body over MAX_BODY, bodies in
 * flight together over MAX_IN_FLIGHT (concurrency times a body adds up), or one
 * whose decoding lua-cjson would turn into more than MAX_DECODED of tables (a body
 * of "[{},{},...]" costs about 30 times its size). */
#define MAX_BODY (16u << 20)
#define MAX_IN_FLIGHT (64u << 20)
#define MAX_DECODED (64u << 20)
#define DECODE_CHECK (256u << 10)   /* below this, no body can decode past MAX_DECODED */

enum { ST_PACE, ST_SENT };
/* A GET with a query is a list page; any other GET reads one record; the rest write. */
enum { KIND_READ, KIND_LIST, KIND_WRITE };
enum { REFUSED_NOT, REFUSED_BODY, REFUSED_IN_FLIGHT, REFUSED_DECODE };

typedef struct fb_call {
  fb_wait wait;
  fb_client *client;
  CURL *easy;
  const char *method;
  char *url;
  size_t target_off;       /* where "/v1/..." starts in url: the path errors show */
  const char *body;        /* the Lua string at BODY_IDX, or NULL */
  size_t body_len;
  int state, attempt, in_flight;
  int kind;                /* what the request costs: KIND_READ, KIND_LIST or KIND_WRITE */
  unsigned long long seq;  /* the pacer's number for the attempt on the wire */
  int active;              /* counted in client->calls: begun and not yet over */
  double started, sent_at; /* the call began; the last attempt was sent */
  long status;
  char *resp;              /* response body; resp_cap counts in the loop's stats.buffered */
  size_t resp_len, resp_cap;
  int refused;             /* REFUSED_*: why the answer was not taken */
  char *xhdr;              /* x-* response headers as "name\0value\0" pairs */
  size_t xhdr_len, xhdr_cap;
  int xhdr_n;              /* pairs in xhdr */
  fb_limits limits;
  char errbuf[CURL_ERROR_SIZE];
} fb_call;

static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "PATCH", NULL };

/* ---- curl callbacks: bytes into buffers, nothing else --------------------- */

static int grow(char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 1;
  size_t n = *cap ? *cap : 1024;
  while (n < need) n *= 2;
  char *p = realloc(*buf, n);
  if (!p) return 0;
  *buf = p;
  *cap = n;
  return 1;
}

/* The body buffer grows within MAX_BODY and the loop's MAX_IN_FLIGHT. */
static int grow_body(fb_call *c, size_t need) {
  fb_stats *st = fb_loop_stats(c->client->loop);
  size_t old = c->resp_cap, n = old ? old : 1024;
  while (n < need) n *= 2;
  if (n > MAX_BODY + 1) n = MAX_BODY + 1;
  if ((size_t)st->buffered - old + n > MAX_IN_FLIGHT) {
    c->refused = REFUSED_IN_FLIGHT;
    return 0;
  }
  char *p = realloc(c->resp, n);
  if (!p) return 0;
  c->resp = p;
  c->resp_cap = n;
  st->buffered += (lua_Integer)(n - old);
  if (st->buffered > st->buffered_peak) st->buffered_peak = st->buffered;
  return 1;
}

static void free_body(fb_call *c) {
  if (c->resp_cap) fb_loop_stats(c->client->loop)->buffered -= (lua_Integer)c->resp_cap;
  free(c->resp);
  c->resp = NULL;
  c->resp_len = c->resp_cap = 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  fb_call *c = ud;
  size_t len = size * n;
  if (c->resp_len + len > MAX_BODY) {
    c->refused = REFUSED_BODY;
    return 0;  /* curl fails the transfer with CURLE_WRITE_ERROR */
  }
  if (c->resp_len + len + 1 > c->resp_cap && !grow_body(c, c->resp_len + len + 1)) return 0;
  memcpy(c->resp + c->resp_len, data, len);
  c->resp_len += len;
  return len;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud) {
  fb_call *c = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {   /* a new response: forget the last */
    c->xhdr_len = 0;
    c->xhdr_n = 0;
    fb_limits_clear(&c->limits);
    return len;
  }
  fb_limits_parse_header(&c->limits, line, len);
  const char *colon;
  if (len > 2 && (line[0] | 0x20) == 'x' && line[1] == '-' && (colon = memchr(line, ':', len))) {
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t vlen = (size_t)(end - v);
    if (grow(&c->xhdr, &c->xhdr_cap, c->xhdr_len + name_len + vlen + 2)) {
      char *p = c->xhdr + c->xhdr_len;   /* a local pointer: stores through c->xhdr reload it */
      for (size_t i = 0; i < name_len; i++)
        p[i] = (char)((line[i] >= 'A' && line[i] <= 'Z') ? line[i] + 32 : line[i]);
      p[name_len] = '\0';
      memcpy(p + name_len + 1, v, vlen);
      p[name_len + 1 + vlen] = '\0';
      c->xhdr_len += name_len + vlen + 2;
      c->xhdr_n++;
    }
  }
  return len;
}

/* ---- the call object -------------------------------------------------------- */

static void call_release_transfer(fb_call *c) {
  fb_loop_cancel(c->client->loop, &c->wait);
  if (c->in_flight) {
    c->client->inflight--;
    c->in_flight = 0;
  }
}

/* The call is over (answered, failed or abandoned): it no longer needs its
 * client's headers, so a close() that came meanwhile can now free them. */
static void call_end(fb_call *c) {
  if (!c->active) return;
  c->active = 0;
  c->client->calls--;
  fb_client_release(c->client);
}

/* Hands the easy handle back to the pool. It keeps its options for the next
 * call of this client, but not pointers into this call, which is about to go:
 * nothing may write into a freed error buffer. */
static void call_release_easy(fb_call *c) {
  if (!c->easy) return;
  curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, NULL);
  curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, NULL);
  fb_loop_release_easy(c->client->loop, c->easy, c->client->easy_owner);
  c->easy = c->wait.easy = NULL;
}

/* __gc and __close. The call sits in a to-be-closed slot of the coroutine that
 * made it, so a coroutine abandoned mid-call (coroutine.close, or an error or
 * interrupt unwinding through the call) hands its transfer, easy handle and
 * buffers back at once instead of whenever the collector finds the call. */
static int call_gc(lua_State *L) {
  fb_call *c = lua_touserdata(L, 1);
  if (!c->client) return 0;
  call_release_transfer(c);
  call_release_easy(c);
  free_body(c);
  call_end(c);
  free(c->url);
  free(c->xhdr);
  c->client = NULL;
  return 0;
}

/* What is the same for every request of a client: set once per easy handle. */
static void setup_easy(CURL *e, const fb_client *cl) {
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, cl->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cl->connect_timeout_ms);
  /* gzip is what Fusebill sends ("" would list every codec). The header line
   * itself is in the client's list; this makes libcurl decompress. */
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Refused up front when Content-Length says so; on_body enforces it otherwise. */
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_BODY);
  /* This machine is reached directly: an http_proxy from the environment must not
   * see a plain-http request, key and all. */
  if (cl->loopback) curl_easy_setopt(e, CURLOPT_PROXY, "");
  if (cl->cacert) curl_easy_setopt(e, CURLOPT_CAINFO, cl->cacert);
}

/* What changes per request. A reused handle still holds the last request's
 * method and body, so each branch sets all of them, leaving exactly what
 * curl_easy_reset and then that branch alone would leave. CURLOPT_POSTFIELDS
 * also makes the method POST, so it comes before CURLOPT_HTTPGET. */
static void setup_transfer(fb_call *c, int fresh) {
  fb_client *cl = c->client;
  CURL *e = c->easy;
  c->resp_len = c->xhdr_len = 0;
  c->xhdr_n = 0;
  c->refused = REFUSED_NOT;
  c->errbuf[0] = '\0';
  fb_limits_clear(&c->limits);
  if (fresh) setup_easy(e, cl);
  curl_easy_setopt(e, CURLOPT_URL, c->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->body ? cl->hl.json_headers : cl->hl.headers);
  curl_easy_setopt(e, CURLOPT_PROXYHEADER, cl->proxy_headers);
  int get = strcmp(c->method, "GET") == 0;
  if (get || (!c->body && strcmp(c->method, "DELETE") == 0)) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, get ? NULL : c->method);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body ? c->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, c->body ? (curl_off_t)c->body_len : (curl_off_t)-1);
  }
  curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
}

/* ---- results ---------------------------------------------------------------- */

/* Whether lua-cjson may decode the body: one of a few hundred KB or more is
 * costed first (see MAX_DECODED). */
static int decodable(fb_call *c) {
  if (c->resp_len < DECODE_CHECK || fb_json_cost(c->resp, c->resp_len) <= MAX_DECODED) return 1;
  c->refused = REFUSED_DECODE;
  return 0;
}

static void push_decoded(lua_State *L, const fb_call *c) {
  fb_json_decode(L, c->resp ? c->resp : "", c->resp_len);
}

static const char *refusal(const fb_call *c) {
  switch (c->refused) {
  case REFUSED_BODY: return "the answer is larger than the 16 MB fusebill accepts; it was not read";
  case REFUSED_IN_FLIGHT: return "the answers being received together passed 64 MB; this one was dropped "
                                 "(lower the concurrency)";
  default: return "the answer would take more than 64 MB of memory to decode; it was not read";
  }
}

static const char *find_xhdr(const fb_call *c, const char *want);

/* Pushes the call's metadata: { method, path, status, attempts, elapsed,
 * headers = { x-* headers, names in lower case }, request_id }. Header values
 * are the server's words, and an error carries them: the key is redacted. */
static void push_meta(lua_State *L, const fb_call *c) {
  lua_createtable(L, 0, 7);
  lua_pushstring(L, c->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, c->url + c->target_off);
  lua_setfield(L, -2, "path");
  if (c->status > 0) {
    lua_pushinteger(L, c->status);
    lua_setfield(L, -2, "status");
  }
  lua_pushinteger(L, c->attempt);
  lua_setfield(L, -2, "attempts");
  lua_pushnumber(L, fb_now() - c->started);
  lua_setfield(L, -2, "elapsed");
  lua_createtable(L, 0, c->xhdr_n);   /* sized once, not grown header by header */
  for (size_t i = 0; i < c->xhdr_len;) {
    const char *name = c->xhdr + i;
    size_t name_len = strlen(name);
    const char *value = name + name_len + 1;
    size_t value_len = strlen(value);
    lua_pushlstring(L, name, name_len);
    fb_client_push_redacted(L, c->client, value, value_len);
    lua_rawset(L, -3);
    i = (size_t)(value - c->xhdr) + value_len + 1;
  }
  lua_setfield(L, -2, "headers");
  const char *rid = find_xhdr(c, "x-request-id");
  if (rid) {
    fb_client_push_redacted(L, c->client, rid, strlen(rid));
    lua_setfield(L, -2, "request_id");
  }
}

/* Pops the meta table on top and keeps it as the last one of this coroutine,
 * for this client (client:last_meta()) and for any client (core.last_meta(co)).
 * Slot 1 is the client. Results, not a second return value: a success returns
 * the value alone, so `local v, err = ...; if err then` means what it says. */
static void keep_meta(lua_State *L) {
  int meta = lua_gettop(L);
  fb_client_keep_meta(L, 1, meta);
  lua_settop(L, meta - 1);
}

/* The error object on top gets the meta's headers; then the meta is kept. */
static void keep_failure_meta(lua_State *L, const fb_call *c) {
  int err = lua_gettop(L);
  push_meta(L, c);
  if (c->status > 0) {                 /* there was an answer: its x-* headers */
    lua_getfield(L, -1, "headers");
    lua_setfield(L, err, "headers");
  }
  keep_meta(L);
}

static const char *find_xhdr(const fb_call *c, const char *want) {
  for (size_t i = 0; i < c->xhdr_len;) {
    const char *name = c->xhdr + i;
    const char *value = name + strlen(name) + 1;
    if (strcmp(name, want) == 0) return value;
    i = (size_t)(value - c->xhdr) + strlen(value) + 1;
  }
  return NULL;
}

/* A 3xx: libcurl does not follow it (the key would go along), so say where it pointed. */
static void set_redirect(lua_State *L, int err, fb_call *c) {
  char *location = NULL;
  curl_easy_getinfo(c->easy, CURLINFO_REDIRECT_URL, &location);
  if (location) {
    fb_client_push_redacted(L, c->client, location, strlen(location));
    lua_pushvalue(L, -1);
    lua_setfield(L, err, "location");
  } else {
    lua_pushliteral(L, "(no Location header)");
  }
  lua_pushfstring(L, "the server redirects to %s; fusebill does not follow redirects (check base_url)",
                  lua_tostring(L, -1));
  lua_setfield(L, err, "message");
  lua_pop(L, 1);
}

/* message, errors and error_id from the body, with the key redacted wherever the
 * server echoed it. */
static void set_body(lua_State *L, int err, fb_call *c) {
  fb_client_push_redacted(L, c->client, c->resp ? c->resp : "", c->resp_len);
  size_t len;
  const char *body = lua_tolstring(L, -1, &len);
  if (decodable(c)) fb_json_decode(L, body, len);
  else lua_pushnil(L);
  fb_error_set_body(L, err, -1, (int)c->status, body, len);
  lua_pop(L, 2);
}

static int push_failure(lua_State *L, fb_call *c, const char *kind, int retryable, CURLcode rc) {
  const char *target = c->url + c->target_off;
  lua_pushnil(L);
  fb_error_push(L, kind, (int)c->status, c->method, target, NULL, c->attempt, retryable);
  int err = lua_gettop(L);
  if (c->refused) {
    lua_pushstring(L, refusal(c));
    lua_setfield(L, err, "message");
  } else if (rc != CURLE_OK) {
    const char *m = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    fb_client_push_redacted(L, c->client, m, strlen(m));
    lua_setfield(L, err, "message");
  } else if (c->status >= 300 && c->status < 400) {
    set_redirect(L, err, c);
  } else {
    set_body(L, err, c);
    /* A key that is not even base64 gets a 400, but it is still an auth problem. */
    lua_getfield(L, err, "message");
    const char *m = lua_tostring(L, -1);
    if (c->status == 400 && m && strncmp(m, "Authorization", 13) == 0) {
      lua_pushliteral(L, "auth");
      lua_setfield(L, err, "kind");
      kind = "auth";
    }
    lua_pop(L, 1);
    const char *rid = find_xhdr(c, "x-request-id");
    if (rid) {
      fb_client_push_redacted(L, c->client, rid, strlen(rid));
      lua_setfield(L, err, "request_id");
    }
  }
  if (strcmp(kind, "auth") == 0) fb_loop_stats(c->client->loop)->auth_failures++;
  keep_failure_meta(L, c);
  return 2;
}

static int push_day_spent(lua_State *L, fb_call *c, double reset_in) {
  fb_loop_stats(c->client->loop)->quota_stops++;
  lua_pushnil(L);
  fb_error_push(L, "rate_limited", c->status == 429 ? 429 : 0, c->method, c->url + c->target_off,
                NULL, c->attempt, 0);
  lua_pushfstring(L, "the daily request quota is spent; it resets in %d s", (int)(reset_in + 0.5));
  lua_setfield(L, -2, "message");
  lua_pushliteral(L, "day");
  lua_setfield(L, -2, "limit");
  lua_pushnumber(L, reset_in);
  lua_setfield(L, -2, "reset_in");
  keep_failure_meta(L, c);
  return 2;
}

static void log_attempt(const fb_call *c, const char *what, double retry_in) {
  double ms = (fb_now() - c->sent_at) * 1000;
  if (retry_in >= 0)
    fprintf(stderr, "fusebill: %s %s -> %s (%.1f ms, attempt %d of %d); retrying in %.2f s\n",
            c->method, c->url + c->target_off, what, ms, c->attempt,
            c->client->retry.max_attempts, retry_in);
  else
    fprintf(stderr, "fusebill: %s %s -> %s (%.1f ms, attempt %d)\n",
            c->method, c->url + c->target_off, what, ms, c->attempt);
}

/* How long to wait before retrying a 429: Retry-After when given, else until
 * the minute window resets, else ordinary backoff. */
static double wait_after_429(const fb_answer *a, double backoff) {
  if (a->retry_after >= 0) return a->retry_after > FB_MAX_WAIT ? FB_MAX_WAIT : a->retry_after;
  if (a->reset_in >= 0) return (a->reset_in > FB_MAX_WAIT ? FB_MAX_WAIT : a->reset_in) + 0.01;
  return backoff;
}

/* The transfer is over. Pushes the results and returns their count, or
 * returns 0 with a backoff timer armed when the call should be tried again. */
static int call_finish(lua_State *L, fb_call *c) {
  fb_client *cl = c->client;
  fb_stats *stats = fb_loop_stats(cl->loop);
  CURLcode rc = c->wait.result;
  double now = fb_now();
  char what[64];
  const char *kind;
  int retryable;

  c->in_flight = 0;
  cl->inflight--;
  c->status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
  fb_answer answer = { .h = &c->limits, .seq = c->seq, .sent_at = c->sent_at, .now = now,
                       .status = c->status, .inflight = cl->inflight };
  fb_rate_observe(&cl->rate, &answer);

  if (rc == CURLE_FILESIZE_EXCEEDED) c->refused = REFUSED_BODY;
  if (c->refused) {
    kind = "bad_response";
    retryable = c->refused == REFUSED_IN_FLIGHT;   /* the others in flight will have ended */
    snprintf(what, sizeof what, "an answer too large");
  } else if (rc != CURLE_OK) {
    kind = fb_kind_for_curl(rc);
    retryable = fb_curl_retryable(rc);
    snprintf(what, sizeof what, "%s (curl %d)", kind, (int)rc);
  } else if (c->status >= 200 && c->status < 300) {
    if (cl->verbose) { snprintf(what, sizeof what, "%ld", c->status); log_attempt(c, what, -1); }
    if (c->resp_len == 0) lua_pushboolean(L, 1);   /* 204 No Content */
    else if (decodable(c)) push_decoded(L, c);
    else lua_pushnil(L);
    if (!lua_isnil(L, -1)) {
      push_meta(L, c);
      keep_meta(L);
      return 1;
    }
    lua_pop(L, 1);
    kind = "bad_response";
    retryable = !c->refused;             /* safe: GETs and PUTs are idempotent */
    snprintf(what, sizeof what, "%ld with a body that is not JSON", c->status);
  } else {
    kind = fb_kind_for_status(c->status);
    retryable = fb_status_retryable(c->status);
    if (c->status == 429) stats->throttled++;
    snprintf(what, sizeof what, "%ld %s", c->status, kind);
  }

  double reset_in;
  if (c->status == 429 && c->limits.remaining_day == 0 && fb_rate_day_spent(&cl->rate, now, &reset_in)) {
    if (cl->verbose) log_attempt(c, what, -1);
    return push_day_spent(L, c, reset_in);
  }
  if (retryable && c->attempt < cl->retry.max_attempts && cl->retry.budget > 0) {
    double delay = fb_retry_backoff(&cl->retry, c->attempt, fb_loop_random(cl->loop));
    if (c->status == 429) {
      delay = wait_after_429(&answer, delay);
      fb_rate_block_until(&cl->rate, now + delay);   /* every call through this client waits */
    }
    cl->retry.budget--;
    stats->retries++;
    if (cl->verbose) log_attempt(c, what, delay);
    c->wait.easy = NULL;
    c->wait.deadline = now + delay;
    c->state = ST_PACE;
    fb_loop_start(cl->loop, &c->wait);
    return 0;
  }
  if (cl->verbose) log_attempt(c, what, -1);
  return push_failure(L, c, kind, retryable, rc);
}

/* Paces, then starts the transfer. Returns results pushed (the daily quota is
 * spent), or 0 with a wait armed. */
static int call_send(lua_State *L, fb_call *c) {
  fb_client *cl = c->client;
  double now = fb_now(), reset_in;
  if (fb_rate_day_spent(&cl->rate, now, &reset_in)) return push_day_spent(L, c, reset_in);
  double delay = fb_rate_reserve(&cl->rate, now, cl->inflight, &c->seq);
  if (delay > 0) {
    c->wait.easy = NULL;
    c->wait.deadline = now + delay;
    fb_loop_start(cl->loop, &c->wait);
    return 0;
  }
  int fresh = 0;
  if (!c->easy && !(c->easy = fb_loop_easy(cl->loop, cl->easy_owner, &fresh)))
    return luaL_error(L, "fusebill: out of memory");
  setup_transfer(c, fresh);
  c->attempt++;
  c->sent_at = now;
  c->state = ST_SENT;
  c->wait.easy = c->easy;
  c->wait.deadline = 0;
  c->in_flight = 1;
  cl->inflight++;
  fb_stats *stats = fb_loop_stats(cl->loop);
  stats->attempts++;
  if (c->attempt == 1) {
    stats->requests++;
    if (c->kind == KIND_WRITE) stats->writes++;
    else if (c->kind == KIND_LIST) stats->lists++;
    else stats->reads++;
  }
  if (fb_loop_start(cl->loop, &c->wait) != 0) return luaL_error(L, "fusebill: cannot start transfer");
  return 0;
}

enum { ENTERED, RESUMED };

static int call_run(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  lua_settop(L, CALL_IDX);           /* drop whatever a resume passed in */
  fb_call *c = lua_touserdata(L, CALL_IDX);
  /* A resume before the wait is over (a scheduler that resumes too eagerly, or
   * a stale wake-up meant for a collected coroutine at the same address) must
   * not advance the call: wait again. */
  if (ctx == RESUMED && !c->wait.done) return fb_loop_yield(L, &c->wait, RESUMED, call_run);
  for (;;) {
    int n = c->state == ST_SENT ? call_finish(L, c) : call_send(L, c);
    if (n) {
      /* Done: hand the easy handle back now rather than when the call is
       * collected, so the next call reuses it instead of making a new one,
       * and the body's memory with it. */
      call_release_easy(c);
      free_body(c);
      call_end(c);
      return n;
    }
    if (c->wait.done) continue;
    if (fb_loop_is_managed(L)) return fb_loop_yield(L, &c->wait, RESUMED, call_run);
    fb_loop_block(L, c->client->loop, &c->wait);
  }
}

/* Builds base_url .. path .. "?" .. query, each query key and value escaped. */
static char *build_url(lua_State *L, fb_client *cl, const char *path, int query) {
  int top = lua_gettop(L);
  lua_pushstring(L, cl->base_url);
  if (path[0] != '/') lua_pushliteral(L, "/");
  lua_pushstring(L, path);
  if (!lua_isnoneornil(L, query)) {
    lua_newtable(L);                               /* the "?k=v" pieces, in order */
    int pieces = lua_gettop(L), n = 0;
    char sep = strchr(path, '?') ? '&' : '?';
    lua_pushnil(L);
    while (lua_next(L, query)) {
      if (lua_type(L, -2) != LUA_TSTRING || !(lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER))
        luaL_error(L, "request query: keys must be strings, values strings or numbers");
      char *k = curl_easy_escape(NULL, lua_tostring(L, -2), 0);
      char *v = curl_easy_escape(NULL, lua_tostring(L, -1), 0);
      lua_pushfstring(L, "%c%s=%s", sep, k ? k : "", v ? v : "");
      curl_free(k);
      curl_free(v);
      lua_rawseti(L, pieces, ++n);
      lua_pop(L, 1);
      sep = '&';
    }
    luaL_checkstack(L, n, "too many query parameters");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, pieces, i);
    lua_remove(L, pieces);
  }
  lua_concat(L, lua_gettop(L) - top);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  char *url = malloc(len + 1);
  if (url) memcpy(url, s, len + 1);
  lua_settop(L, top);
  return url;
}

int fb_request(lua_State *L) {
  fb_client *cl = fb_client_check(L, 1);
  const char *method = methods[luaL_checkoption(L, 2, NULL, methods)];
  const char *path = luaL_checkstring(L, 3);
  size_t body_len = 0;
  const char *body = luaL_optlstring(L, BODY_IDX, NULL, &body_len);
  if (!lua_isnoneornil(L, 5)) luaL_checktype(L, 5, LUA_TTABLE);
  lua_settop(L, 5);
  if (cl->closed) return luaL_error(L, "fusebill: the client is closed");

  fb_call *c = lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  if (luaL_newmetatable(L, "fusebill.call")) {
    lua_pushcfunction(L, call_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, call_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  lua_pushvalue(L, 1);                 /* the call keeps its client alive */
  lua_setiuservalue(L, CALL_IDX, 1);
  lua_toclose(L, CALL_IDX);
  c->method = method;
  c->body = body;
  c->body_len = body_len;
  c->state = ST_PACE;
  c->target_off = cl->origin_len;
  c->kind = (body || strcmp(method, "GET") != 0) ? KIND_WRITE : lua_isnil(L, 5) ? KIND_READ : KIND_LIST;
  c->url = build_url(L, cl, path, 5);
  if (!c->url) return luaL_error(L, "fusebill: out of memory");
  c->client = cl;
  c->started = fb_now();
  fb_limits_clear(&c->limits);
  c->active = 1;
  cl->calls++;
  return call_run(L, LUA_OK, ENTERED);
}
