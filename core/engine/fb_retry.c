/* Retry policy. Retried: network errors, timeouts, 429 and 500/502/503/504.
 * Never retried: any other 4xx, because the same request would fail the same way.
 * Retrying a PUT after an ambiguous failure (the connection dropped after the
 * server applied it) is safe: a PUT carries the whole state and is idempotent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "fb_retry.h"
#include "fb_loop.h"

void fb_retry_defaults(fb_retry_policy *p) {
  p->max_attempts = 5;
  p->base_delay = 0.5;
  p->max_delay = 30;
  p->budget = 10000;
}

/* The policy was checked by lua/fusebill/options.lua (fusebill.new, fusebill.retry):
 * this only reads it. */
static double opt_number(lua_State *L, int t, const char *name, double def) {
  int type = lua_getfield(L, t, name);
  double v = def;
  if (type == LUA_TNUMBER) v = lua_tonumber(L, -1);
  else if (type != LUA_TNIL) luaL_error(L, "retry.%s has the wrong type (fusebill.new checks options)", name);
  lua_pop(L, 1);
  return v;
}

void fb_retry_read(lua_State *L, int idx, fb_retry_policy *p) {
  if (lua_isnoneornil(L, idx)) return;
  idx = lua_absindex(L, idx);
  luaL_argexpected(L, lua_istable(L, idx), idx, "retry policy table");
  p->max_attempts = (int)opt_number(L, idx, "max_attempts", p->max_attempts);
  p->base_delay = opt_number(L, idx, "base_delay", p->base_delay);
  p->max_delay = opt_number(L, idx, "max_delay", p->max_delay);
  p->budget = (long)opt_number(L, idx, "budget", (double)p->budget);
}

double fb_retry_backoff(const fb_retry_policy *p, int attempt, double random01) {
  double cap = p->base_delay * ldexp(1.0, attempt > 1 ? attempt - 1 : 0);
  if (cap > p->max_delay) cap = p->max_delay;
  return cap * random01;
}

const char *fb_kind_for_status(long status) {
  switch (status) {
  case 401: case 403: return "auth";
  case 404: return "not_found";
  case 409: return "conflict";
  case 429: return "rate_limited";
  default: return status >= 500 ? "server" : status >= 300 && status < 400 ? "redirect" : "validation";
  }
}

int fb_status_retryable(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

const char *fb_kind_for_curl(CURLcode code) {
  return code == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network";
}

int fb_curl_retryable(CURLcode code) {
  switch (code) {
  /* configuration problems: the next attempt would fail the same way */
  case CURLE_UNSUPPORTED_PROTOCOL: case CURLE_URL_MALFORMAT: case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CIPHER: case CURLE_OUT_OF_MEMORY: case CURLE_ABORTED_BY_CALLBACK:
  case CURLE_WRITE_ERROR:
    return 0;
  default:
    return 1;
  }
}

static int core_backoff(lua_State *L) {
  fb_retry_policy p;
  fb_retry_defaults(&p);
  fb_retry_read(L, 1, &p);
  int attempt = (int)luaL_checkinteger(L, 2);
  lua_pushnumber(L, fb_retry_backoff(&p, attempt, fb_loop_random(fb_loop_get(L))));
  return 1;
}

void fb_retry_open(lua_State *L) {
  lua_pushcfunction(L, core_backoff);
  lua_setfield(L, -2, "backoff");
}
