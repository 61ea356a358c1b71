/* Where the API key lives: the request header lists, in pages of their own that a
 * core dump leaves out, and a process that makes no core dump while a key is held.
 * Internal to libfusebill. */
#ifndef FB_SECRET_H
#define FB_SECRET_H

#include <stddef.h>
#include <curl/curl.h>

typedef struct fb_header_lists {
  void *mem;                        /* the pages: nodes and strings of both lists */
  size_t size;
  struct curl_slist *headers;       /* the lines given, then Authorization */
  struct curl_slist *json_headers;  /* the same, then the JSON line */
  const char *key;                  /* the key inside mem, for redaction; NULL without one */
  size_t key_len;
} fb_header_lists;

/* Lays out `lines` (n of them), "Authorization: Basic <key>" when key is not NULL,
 * and json_line for the second list. libcurl only reads the lists, so they need
 * not come from curl_slist_append. Returns 0, or -1 when out of memory. Holds
 * fb_nodump while a key is in there. */
int fb_header_lists_build(fb_header_lists *hl, const char *const *lines, int n, const char *json_line,
                          const char *key);
/* Wipes and unmaps; safe on a zeroed or already freed value. */
void fb_header_lists_free(fb_header_lists *hl);

/* While held at least once, the process makes no core dump (RLIMIT_CORE's soft
 * limit is 0); the last release restores it. libcurl copies the header into its
 * own buffer for every request, and the key's Lua string lives in the Lua heap:
 * no page flag reaches those. */
void fb_nodump_hold(void);
void fb_nodump_release(void);

#endif
