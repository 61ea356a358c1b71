/* The floor for any client built on the project's parts: raw_put.c's loop plus
 * the two lua-cjson calls every such client must make per edit, encoding the
 * body from a Lua table and decoding the answer into one. No validation, no
 * retries, no Lua code: what lies between this and raw_put is lua-cjson's own
 * cost, and what lies between fusebill and this is ours.
 * Usage: cjson_put URL KEY BODYFILE N. Prints "cpu_seconds wall_seconds failures". */
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "bench_put.h"
#include "fb_embed.h"

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

int main(int argc, char **argv) {
  static bench_put b;
  bench_put_init(&b, argc, argv);
  buffer answer = { NULL, 0, 0 };
  curl_easy_setopt(b.easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(b.easy, CURLOPT_WRITEDATA, &answer);

  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_gc(L, LUA_GCGEN, 0, 0);          /* as the fusebill host runs */
  luaopen_cjson_safe(L);               /* [cjson] */
  lua_getfield(L, 1, "encode");        /* [cjson encode] */
  lua_getfield(L, 1, "decode");        /* [cjson encode decode] */
  lua_pushvalue(L, 3);
  lua_pushlstring(L, b.body, b.body_len);
  lua_call(L, 1, 1);                   /* [cjson encode decode customer] */
  if (!lua_istable(L, 4)) { fprintf(stderr, "%s: not a JSON object\n", argv[3]); return 2; }

  double c0 = cpu_seconds(), w0 = wall_seconds();
  long failures = 0;
  for (long i = 0; i < b.n; i++) {
    size_t len;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 4);
    lua_call(L, 1, 1);
    const char *body = lua_tolstring(L, -1, &len);
    answer.len = 0;
    failures += bench_put_once(&b, body, len);
    lua_pushvalue(L, 3);
    lua_pushlstring(L, answer.data ? answer.data : "", answer.len);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1)) failures++;
    lua_settop(L, 4);
  }
  printf("%.4f %.4f %ld\n", cpu_seconds() - c0, wall_seconds() - w0, failures);
  bench_put_cleanup(&b);
  free(answer.data);
  lua_close(L);
  return 0;
}
