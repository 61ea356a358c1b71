/* One place that links lua-cjson into a state: the host, the engine API and the
 * sandbox all preload it the same way. */
#include <lauxlib.h>
#include "fb_embed.h"

void fb_preload_cjson(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  lua_pushcfunction(L, luaopen_cjson_safe);
  lua_setfield(L, -2, "cjson.safe");
  lua_pop(L, 1);
}
