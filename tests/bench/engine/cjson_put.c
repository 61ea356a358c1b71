/* The floor for any client built on the project's parts: raw_put.c's loop plus
 * the two lua-cjson calls every such client must make per edit, encoding the
 * body from a Lua table and decoding the response into one. No validation, no
 * retries, no Lua code: what is left between this and raw_put is lua-cjson's
 * own cost, and what is left between fusebill and this is ours.
 * Prints "cpu_seconds wall_seconds failures" like raw_put. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int luaopen_cjson_safe(lua_State *L);

typedef struct { char *data; size_t len, cap; } buffer;

static size_t collect(char *d, size_t s, size_t n, void *u) {
  buffer *b = u;
  size_t add = s * n;
  if (b->len + add > b->cap) {
    size_t cap = (b->len + add) * 2;
    char *p = realloc(b->data, cap);
    if (!p) return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, d, add);
  b->len += add;
  return add;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: cjson_put URL KEY BODYFILE N\n"); return 2; }
  FILE *f = fopen(argv[3], "rb");
  if (!f) { perror(argv[3]); return 2; }
  static char file[1 << 16];
  size_t file_len = fread(file, 1, sizeof file, f);
  fclose(f);
  long n = atol(argv[4]);
  char auth[512];
  snprintf(auth, sizeof auth, "Authorization: Basic %s", argv[2]);

  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_gc(L, LUA_GCGEN, 0, 0);          /* as the fusebill host runs */
  luaopen_cjson_safe(L);               /* [cjson] */
  lua_getfield(L, 1, "encode");        /* [cjson encode] */
  lua_getfield(L, 1, "decode");        /* [cjson encode decode] */
  lua_pushvalue(L, 3);
  lua_pushlstring(L, file, file_len);
  lua_call(L, 1, 1);                   /* [cjson encode decode customer] */
  if (!lua_istable(L, 4)) { fprintf(stderr, "%s: not a JSON object\n", argv[3]); return 2; }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, auth);
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  buffer response = { NULL, 0, 0 };
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &response);

  double c0 = cpu_seconds(), w0 = wall_seconds();
  long failures = 0;
  for (long i = 0; i < n; i++) {
    size_t len;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 4);
    lua_call(L, 1, 1);
    const char *body = lua_tolstring(L, -1, &len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    response.len = 0;
    long status = 0;
    if (curl_easy_perform(e) != CURLE_OK) failures++;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    lua_pushvalue(L, 3);
    lua_pushlstring(L, response.data ? response.data : "", response.len);
    lua_call(L, 1, 1);
    if (status != 200 || !lua_istable(L, -1)) failures++;
    lua_settop(L, 4);
  }
  printf("%.4f %.4f %ld\n", cpu_seconds() - c0, wall_seconds() - w0, failures);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  curl_global_cleanup();
  free(response.data);
  lua_close(L);
  return 0;
}
