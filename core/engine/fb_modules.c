/* A package.searchers entry that serves the Lua modules embedded by
 * core/tools/gen_modules.lua. Modules load lazily: nothing is parsed until required,
 * which keeps `fusebill -e ''` close to the start-up time of plain lua5.4. */
#include <string.h>
#include <lauxlib.h>
#include "fb_embed.h"

static int searcher(lua_State *L) {
  const fb_module *m = lua_touserdata(L, lua_upvalueindex(1));
  const char *name = luaL_checkstring(L, 1);
  for (; m->name; m++) {
    if (strcmp(m->name, name) != 0) continue;
    if (luaL_loadbufferx(L, m->source, m->size, m->chunkname, "t") != LUA_OK)
      return lua_error(L);
    lua_pushstring(L, m->chunkname + 1);  /* second argument to the loader */
    return 2;
  }
  lua_pushfstring(L, "no embedded module '%s'", name);
  return 1;
}

void fb_modules_install(lua_State *L, const fb_module *list) {
  /* once per list and state: the host installs the client modules at start-up
   * and luaopen_fusebill does again for hosts that did not */
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, list) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, list);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  /* shift entries 2..n up one place, then put ours at 2 */
  for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushlightuserdata(L, (void *)list);
  lua_pushcclosure(L, searcher, 1);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
