/* core.client(opts): the userdata behind a `fusebill.new{...}` object.
 *
 * The API key goes into the Authorization header list when the client is made
 * and nowhere else: it is not kept as a field, not returned by options(), kept
 * out of core dumps (fb_secret.c), and wiped from memory when the client is
 * closed. It is only ever sent over TLS, or in the clear to this machine itself,
 * never through a proxy. */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <lauxlib.h>
#include "fb_client.h"
#include "fusebill.h"

fb_client *fb_client_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, FB_CLIENT_MT);
}

void fb_client_push_redacted(lua_State *L, const fb_client *cl, const char *s, size_t len) {
  const char *key = cl->hl.key;
  size_t klen = cl->hl.key_len;
  const char *hit = key && klen ? memmem(s, len, key, klen) : NULL;
  if (!hit) {
    lua_pushlstring(L, s, len);
    return;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (hit) {
    luaL_addlstring(&b, s, (size_t)(hit - s));
    luaL_addstring(&b, "[redacted]");
    len -= (size_t)(hit - s) + klen;
    s = hit + klen;
    hit = memmem(s, len, key, klen);
  }
  luaL_addlstring(&b, s, len);
  luaL_pushresult(&b);
}

void fb_client_release(fb_client *cl) {
  if (!cl->closed || cl->calls > 0 || !cl->base_url) return;
  fb_header_lists_free(&cl->hl);
  curl_slist_free_all(cl->proxy_headers);
  cl->proxy_headers = NULL;
  free(cl->base_url);
  free(cl->cacert);
  free(cl->user_agent);
  cl->base_url = cl->cacert = cl->user_agent = NULL;
}

/* One cleanup for close(), __close and __gc, as liolib does for files. Calls not
 * yet over hold a reference to the client, so __gc never runs under them; an
 * explicit close() while some are (a transfer, or a wait before a retry) only
 * marks the client closed, and the last of them to end frees it. */
static int client_close(lua_State *L) {
  fb_client *cl = fb_client_check(L, 1);
  cl->closed = 1;
  fb_client_release(cl);
  return 0;
}

/* ---- options -----------------------------------------------------------------
 * The table comes from fusebill.new, which checked it against lua/fusebill/options.lua
 * (the one checker: Lua, the engine and the command line spell and bound options alike).
 * These readers only take values out; a value of the wrong type, which only a direct
 * call of this internal function can pass, is an error without further rules. */

static void bad_option(lua_State *L, const char *name) {
  luaL_error(L, "core.client: option '%s' has the wrong type (fusebill.new checks options)", name);
}

static const char *opt_string(lua_State *L, const char *name, const char *def) {
  int t = lua_getfield(L, 1, name);
  const char *s = def;
  if (t == LUA_TSTRING) s = lua_tostring(L, -1);
  else if (t != LUA_TNIL) bad_option(L, name);
  lua_pop(L, 1);   /* the string stays alive in the options table */
  return s;
}

/* At most a day: the value becomes a long number of milliseconds for libcurl. */
static double opt_seconds(lua_State *L, const char *name, double def) {
  int t = lua_getfield(L, 1, name);
  double v = def;
  if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL) bad_option(L, name);
  if (v > 86400) v = 86400;   /* options.lua bounds it; a direct caller must not overflow the cast */
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, const char *name) {
  int t = lua_getfield(L, 1, name);
  if (t != LUA_TNIL && t != LUA_TBOOLEAN) bad_option(L, name);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* rate_limit: "auto" (follow the headers; the default), "none", or requests per minute. */
static void opt_rate(lua_State *L, fb_client *cl) {
  int t = lua_getfield(L, 1, "rate_limit");
  if (t == LUA_TNUMBER) {
    cl->rate_per_minute = lua_tonumber(L, -1);
    fb_rate_init(&cl->rate, FB_RATE_FIXED, cl->rate_per_minute);
  } else if (t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "none") == 0) {
    fb_rate_init(&cl->rate, FB_RATE_OFF, 0);
  } else if (t == LUA_TNIL || (t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "auto") == 0)) {
    fb_rate_init(&cl->rate, FB_RATE_AUTO, 0);
  } else {
    bad_option(L, "rate_limit");
  }
  lua_pop(L, 1);
}

/* This machine, exactly: "localhost" (which libcurl resolves to loopback itself),
 * an IPv4 literal in 127.0.0.0/8, or the IPv6 loopback literal. A name that only
 * starts like one (127.evil.example, localhost.example) is somebody else. */
static int is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0) return 1;
  struct in_addr v4;
  if (inet_pton(AF_INET, host, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  char v6text[INET6_ADDRSTRLEN + 2];
  size_t n = strlen(host);
  if (n < 3 || n > sizeof v6text || host[0] != '[' || host[n - 1] != ']') return 0;
  memcpy(v6text, host + 1, n - 2);
  v6text[n - 2] = '\0';
  struct in6_addr v6;
  return inet_pton(AF_INET6, v6text, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* Records where the base URL's path starts, so error messages can show
 * "PUT /v1/customers" without the scheme and host, and whether its host is this
 * machine (never through a proxy); returns whether it is https. fusebill.new
 * refuses a URL that would carry the key over plain http to another machine
 * (lua/fusebill/options.lua); this refuses it again, for any direct caller. */
static int parse_base_url(lua_State *L, fb_client *cl, int has_key) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  if (!u || curl_url_set(u, CURLUPART_URL, cl->base_url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    curl_free(scheme);
    curl_url_cleanup(u);
    luaL_error(L, "core.client: base_url is not a URL (fusebill.new checks options)");
  }
  int tls = strcmp(scheme, "https") == 0;
  cl->loopback = is_loopback(host);
  curl_free(host);
  curl_free(scheme);
  curl_url_cleanup(u);
  if (has_key && !tls && !cl->loopback)
    luaL_error(L, "core.client: refusing to send the API key over plain http to another machine; use https");
  const char *after_scheme = strstr(cl->base_url, "://") + 3;
  const char *slash = strchr(after_scheme, '/');
  cl->origin_len = slash ? (size_t)(slash - cl->base_url) : strlen(cl->base_url);
  return tls;
}

/* User-Agent and Accept-Encoding are lines of the list rather than
 * CURLOPT_USERAGENT and CURLOPT_ACCEPT_ENCODING's header: libcurl formats those
 * two into fresh strings for every request (a visible share of a call's CPU), and
 * copies list lines as they are. First in the list, they go out where libcurl
 * put its own, so a request's bytes are unchanged. CURLOPT_ACCEPT_ENCODING is
 * still set, since it is what makes libcurl decompress a gzip answer; with
 * the line in the list it no longer adds a header of its own.
 *
 * The CONNECT that takes an https request through a proxy carried the
 * User-Agent too, and sees none of these lines (CURLHEADER_SEPARATE, so the
 * key never reaches a proxy): proxy_headers gives it the User-Agent alone. A
 * plain http request through a proxy would go to the proxy as it is, list and
 * all; with a key that only happens to loopback, which never uses a proxy, and
 * without one proxy_headers stays empty rather than doubling the line. */
static void build_headers(lua_State *L, fb_client *cl, const char *key, int tls) {
  lua_pushfstring(L, "User-Agent: %s", cl->user_agent);
  const char *ua = lua_tostring(L, -1);
  /* no 100-continue round trip before a PUT body: "Expect:" */
  const char *lines[] = { ua, "Accept-Encoding: gzip", "Accept: application/json", "Expect:" };
  if (tls && !(cl->proxy_headers = curl_slist_append(NULL, ua))) luaL_error(L, "fusebill.new: out of memory");
  if (fb_header_lists_build(&cl->hl, lines, 4, "Content-Type: application/json", key) != 0)
    luaL_error(L, "fusebill.new: out of memory");
  lua_pop(L, 1);
}

static char *dup_or_fail(lua_State *L, const char *s) {
  char *d = strdup(s);
  if (!d) luaL_error(L, "fusebill.new: out of memory");
  return d;
}

/* Pushes a table with weak keys: its entries go with their coroutines. */
static void new_weak_table(lua_State *L) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
}

static int core_client(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  fb_client *cl = lua_newuserdatauv(L, sizeof *cl, 1);
  memset(cl, 0, sizeof *cl);
  luaL_setmetatable(L, FB_CLIENT_MT);
  new_weak_table(L);                 /* coroutine -> meta of its last call (fb_request.c) */
  lua_setiuservalue(L, -2, 1);
  cl->loop = fb_loop_get(L);
  cl->easy_owner = fb_loop_new_owner(cl->loop);

  const char *key = opt_string(L, "api_key", NULL);
  cl->base_url = dup_or_fail(L, opt_string(L, "base_url", "https://secure.fusebill.com/v1"));
  size_t n = strlen(cl->base_url);
  while (n > 0 && cl->base_url[n - 1] == '/') cl->base_url[--n] = '\0';
  int tls = parse_base_url(L, cl, key != NULL);
  cl->timeout_ms = (long)(opt_seconds(L, "timeout", 30) * 1000);
  cl->connect_timeout_ms = (long)(opt_seconds(L, "connect_timeout", 10) * 1000);
  const char *cacert = opt_string(L, "cacert", NULL);
  if (cacert) cl->cacert = dup_or_fail(L, cacert);
  const char *extra = opt_string(L, "user_agent", NULL);
  /* Short on purpose: curl formats the User-Agent into every request byte by byte,
   * and curl_version()'s full list of TLS, compression and IDN libraries would cost
   * more CPU per call than validating the whole body. */
  lua_pushfstring(L, "fusebill/%s libcurl/%s %s%s%s", FB_VERSION, curl_version_info(CURLVERSION_NOW)->version,
                  LUA_RELEASE, extra ? " " : "", extra ? extra : "");
  cl->user_agent = dup_or_fail(L, lua_tostring(L, -1));
  lua_pop(L, 1);
  fb_retry_defaults(&cl->retry);
  lua_getfield(L, 1, "retry");
  fb_retry_read(L, -1, &cl->retry);
  lua_pop(L, 1);
  opt_rate(L, cl);
  cl->verbose = opt_bool(L, "verbose");
  build_headers(L, cl, key, tls);
  return 1;
}

/* client:options(): the effective settings, for display. Never the key. */
static int client_options(lua_State *L) {
  fb_client *cl = fb_client_check(L, 1);
  lua_createtable(L, 0, 10);
  lua_pushstring(L, cl->base_url ? cl->base_url : "");
  lua_setfield(L, -2, "base_url");
  lua_pushnumber(L, cl->timeout_ms / 1000.0);
  lua_setfield(L, -2, "timeout");
  lua_pushnumber(L, cl->connect_timeout_ms / 1000.0);
  lua_setfield(L, -2, "connect_timeout");
  if (cl->cacert) {
    lua_pushstring(L, cl->cacert);
    lua_setfield(L, -2, "cacert");
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, cl->retry.max_attempts);
  lua_setfield(L, -2, "max_attempts");
  lua_pushnumber(L, cl->retry.base_delay);
  lua_setfield(L, -2, "base_delay");
  lua_pushnumber(L, cl->retry.max_delay);
  lua_setfield(L, -2, "max_delay");
  lua_pushinteger(L, cl->retry.budget);
  lua_setfield(L, -2, "budget");
  lua_setfield(L, -2, "retry");
  if (cl->rate.mode == FB_RATE_FIXED) lua_pushnumber(L, cl->rate_per_minute);
  else lua_pushstring(L, cl->rate.mode == FB_RATE_AUTO ? "auto" : "none");
  lua_setfield(L, -2, "rate_limit");
  lua_pushboolean(L, cl->verbose);
  lua_setfield(L, -2, "verbose");
  lua_pushstring(L, cl->user_agent ? cl->user_agent : "");
  lua_setfield(L, -2, "user_agent");
  return 1;
}

/* client:last_meta([co]) -> the meta of the last call co (default: the running
 * coroutine) finished through this client, or nil */
static int client_last_meta(lua_State *L) {
  fb_client_check(L, 1);
  if (lua_isnoneornil(L, 2)) { lua_settop(L, 1); lua_pushthread(L); }
  else luaL_checktype(L, 2, LUA_TTHREAD);
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

void fb_client_keep_meta(lua_State *L, int client, int meta) {
  client = lua_absindex(L, client);
  meta = lua_absindex(L, meta);
  lua_getiuservalue(L, client, 1);
  lua_pushthread(L);
  lua_pushvalue(L, meta);
  lua_rawset(L, -3);
  lua_getfield(L, LUA_REGISTRYINDEX, FB_LAST_META_KEY);
  lua_pushthread(L);
  lua_pushvalue(L, meta);
  lua_rawset(L, -3);
  lua_pop(L, 2);
}

/* client:set_last_meta(meta): meta becomes the running coroutine's last, as a
 * request's would; for a call answered without one (an update that changes
 * nothing sends nothing, and says so in its meta). */
static int client_set_last_meta(lua_State *L) {
  fb_client_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  fb_client_keep_meta(L, 1, 2);
  return 0;
}

/* core.last_meta([co]): the same for the last call of co through any client (the
 * bulk runner reads an item's attempts from it) */
static int core_last_meta(lua_State *L) {
  if (lua_isnoneornil(L, 1)) { lua_settop(L, 0); lua_pushthread(L); }
  else luaL_checktype(L, 1, LUA_TTHREAD);
  lua_getfield(L, LUA_REGISTRYINDEX, FB_LAST_META_KEY);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  return 1;
}

static int client_tostring(lua_State *L) {
  fb_client *cl = fb_client_check(L, 1);
  if (cl->closed) lua_pushliteral(L, "fusebill.client (closed)");
  else lua_pushfstring(L, "fusebill.client (%s)", cl->base_url);
  return 1;
}

static const luaL_Reg client_methods[] = {
  {"request", fb_request},
  {"options", client_options},
  {"last_meta", client_last_meta},
  {"set_last_meta", client_set_last_meta},
  {"close", client_close},
  {NULL, NULL}
};

void fb_client_open(lua_State *L) {
  if (luaL_newmetatable(L, FB_CLIENT_MT)) {
    luaL_newlib(L, client_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, client_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, client_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, client_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, LUA_REGISTRYINDEX, FB_LAST_META_KEY) == LUA_TNIL) {
    new_weak_table(L);
    lua_setfield(L, LUA_REGISTRYINDEX, FB_LAST_META_KEY);
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, core_client);
  lua_setfield(L, -2, "client");
  lua_pushcfunction(L, core_last_meta);
  lua_setfield(L, -2, "last_meta");
}
