/* What fusebill's own programs (the host and the sandbox) take from the engine
 * beyond the public fusebill.h: the Lua modules compiled into the binaries
 * (core/tools/gen_modules.lua) and lua-cjson linked into the states they create.
 * Embedders never need this header: luaopen_fusebill and fb_engine_new do both. */
#ifndef FB_EMBED_H
#define FB_EMBED_H

#include <stddef.h>
#include <lua.h>

typedef struct fb_module {
  const char *name;       /* "fusebill.schema" */
  const char *chunkname;  /* "@fusebill/schema.lua", so tracebacks stay readable */
  const char *source;
  size_t size;
} fb_module;

/* Tables generated at build time, each ending with a zeroed entry: one per part,
 * and each part embeds only its own (an embedder's state never sees the REPL's
 * or the sandbox's modules). */
extern const fb_module fb_client_modules[];   /* lua/fusebill: the library */
extern const fb_module fbh_modules[];         /* lua/host: the fusebill program only */
extern const fb_module sbx_modules[];         /* lua/sandbox: the sandbox only */

/* Adds a searcher for `list` to package.searchers, right after the preload
 * searcher, so `require` finds embedded modules before anything on disk.
 * Calling it again for the same list and state does nothing. */
void fb_modules_install(lua_State *L, const fb_module *list);

/* lua-cjson, linked statically into the states this project creates itself (host,
 * engine API, sandbox); the Lua C module finds the system's cjson.so instead. */
int luaopen_cjson(lua_State *L);        /* from lua-cjson (no header of its own) */
int luaopen_cjson_safe(lua_State *L);

/* Puts "cjson" and "cjson.safe" into package.preload. */
void fb_preload_cjson(lua_State *L);

/* A string value that an encoder puts where an empty JSON array belongs:
 * lua-cjson 2.1 writes every empty table as {}. */
#define FB_JSON_EMPTY_ARRAY "\001[]"

/* The one rewrite of lua-cjson's output (core/engine/fb_json.c): src[0..n) is
 * copied to dst (which may be src) with "\/" written as "/" and the string
 * FB_JSON_EMPTY_ARRAY as []. Returns the new length, never more than n. */
size_t fb_json_tidy(char *dst, const char *src, size_t n);

#endif
