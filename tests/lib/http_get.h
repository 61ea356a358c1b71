/* A GET through libcurl for the C tests of the sandbox: status, and the body kept in a
 * buffer (cut at 64 KB). Returns 0 when no answer came within ten seconds. */
#ifndef HTTP_GET_H
#define HTTP_GET_H
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

typedef struct buf {
  char data[65536];
  size_t len;
} buf;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  buf *b = ud;
  size_t len = size * n;
  if (b->len + len >= sizeof b->data) len = sizeof b->data - 1 - b->len;
  memcpy(b->data + b->len, p, len);
  b->len += len;
  b->data[b->len] = 0;
  return size * n;
}

static long get(unsigned port, const char *path, const char *key, buf *b) {
  char url[256], auth[256];
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  if (key) {
    snprintf(auth, sizeof auth, "Authorization: Basic %s", key);
    h = curl_slist_append(h, auth);
  }
  b->len = 0;
  b->data[0] = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return status;
}

#endif
