/* JSON in: a private lua-cjson instance, with whole numbers turned into integers. */
#ifndef FB_JSON_H
#define FB_JSON_H

#include <stddef.h>
#include <lua.h>

/* Pushes the decoded value, or nil when s is not JSON. Whole numbers become
 * Lua integers: lua-cjson 2.1 reads every number as a float, and an id of 7.0
 * would print as "7.0" and build the path "/customers/7.0". */
void fb_json_decode(lua_State *L, const char *s, size_t len);

/* About how many bytes decoding s would take: its length, plus a table for
 * every object or array and a slot for every value, counted outside strings. */
size_t fb_json_cost(const char *s, size_t len);

/* Sets up the decoder and core.decode, core.null in the table on top. */
void fb_json_open(lua_State *L);

#endif
