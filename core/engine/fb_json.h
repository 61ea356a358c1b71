/* JSON in the engine: a private lua-cjson decoder and the project's JSON rules
 * (fb_json.c). fb_json_tidy, the rewrite of encoded text, is in fb_embed.h: the
 * sandbox uses it too. */
#ifndef FB_JSON_H
#define FB_JSON_H

#include <stddef.h>
#include <lua.h>

/* Pushes the decoded value, or nil when s is not JSON. Whole numbers become
 * Lua integers and null object fields are absent (see fb_json.c). */
void fb_json_decode(lua_State *L, const char *s, size_t len);

/* About how many bytes decoding s would take: its length, plus a table for
 * every object or array and a slot for every value, counted outside strings. */
size_t fb_json_cost(const char *s, size_t len);

/* Sets up the decoder and core.decode, core.json_tidy, core.null,
 * core.null_fields and core.EMPTY_ARRAY in the table on top. */
void fb_json_open(lua_State *L);

#endif
