/* lua-cjson for the states this project creates itself (host, engine, sandbox).
 * Not part of the Lua C module, which finds the system's cjson.so instead. */
#ifndef FB_CJSON_H
#define FB_CJSON_H

#include <lua.h>

int luaopen_cjson(lua_State *L);        /* from lua-cjson (no header of its own) */
int luaopen_cjson_safe(lua_State *L);

/* Puts "cjson" and "cjson.safe" into package.preload. */
void fb_preload_cjson(lua_State *L);

#endif
