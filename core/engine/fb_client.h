/* The client: connection settings, retry policy and pacing shared by every call
 * made through it. Internal to libfusebill. */
#ifndef FB_CLIENT_H
#define FB_CLIENT_H

#include <curl/curl.h>
#include <lua.h>
#include "fb_loop.h"
#include "fb_rate.h"
#include "fb_retry.h"
#include "fb_secret.h"

#define FB_CLIENT_MT "fusebill.client"
/* registry: coroutine -> meta of its last call through any client (weak keys) */
#define FB_LAST_META_KEY "fusebill.last_meta"

typedef struct fb_client {
  fb_loop *loop;
  unsigned long easy_owner;        /* the loop's tag for easy handles set up for this client */
  char *base_url;                  /* without a trailing slash */
  size_t origin_len;               /* length of "https://host:port" in base_url */
  fb_header_lists hl;              /* Authorization, Accept, User-Agent ...; the same plus
                                      Content-Type for bodies: in pages core dumps leave out */
  struct curl_slist *proxy_headers; /* User-Agent alone, for an https CONNECT */
  int loopback;                    /* base_url's host is this machine: never through a proxy */
  char *cacert;
  char *user_agent;
  long timeout_ms, connect_timeout_ms;
  double rate_per_minute;          /* 0 with rate_limit "auto" or off */
  fb_retry_policy retry;
  fb_rate rate;
  int verbose, closed;
  int inflight;                    /* transfers on the wire (pacing counts them) */
  int calls;                       /* calls begun and not over, waits included */
} fb_client;

fb_client *fb_client_check(lua_State *L, int idx);

/* Frees what a closed client holds, the key first, once no call still needs it.
 * close() calls it, and so does the last call to end after a close(). */
void fb_client_release(fb_client *cl);

/* Keeps the table at index meta as the running coroutine's last meta, for the
 * client at index client (client:last_meta()) and for any (core.last_meta(co)). */
void fb_client_keep_meta(lua_State *L, int client, int meta);
/* Pushes s[0..len) with every occurrence of the client's key replaced by
 * "[redacted]": what a server sends back can echo the key, and an error or a
 * message must never show it. */
void fb_client_push_redacted(lua_State *L, const fb_client *cl, const char *s, size_t len);

/* client:request(method, path, body, query) -> value | nil, err; the call's
 * metadata (status, attempts, headers, elapsed) is then client:last_meta() */
int fb_request(lua_State *L);

/* core.client(opts), core.last_meta(co) */
void fb_client_open(lua_State *L);

#endif
