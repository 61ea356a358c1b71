/* What the CSV reader and writer share, and their registration in fusebill.core. */
#include <lauxlib.h>
#include "fb_csv.h"

int fb_csv_close_file(lua_State *L, int ud) {
  lua_getiuservalue(L, ud, 1);
  luaL_Stream *s = lua_touserdata(L, -1);
  /* closef is NULL once the file is closed, by us, by its owner or by its own
   * __gc (which may run before ours when both become garbage together) */
  if (s == NULL || s->closef == NULL) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    return 1;
  }
  /* file:close, so io.popen handles and plain files each close their own way */
  lua_getfield(L, -1, "close");
  lua_insert(L, -2);
  lua_call(L, 1, 2);
  if (!lua_toboolean(L, -2)) return 2;
  lua_pop(L, 1);
  return 1;
}

const char *fb_csv_bind(lua_State *L, int ud, const char *tname,
                        const luaL_Reg *meta, const luaL_Reg *methods) {
  if (luaL_newmetatable(L, tname)) {
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_setmetatable(L, ud);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, ud, 1);
  lua_pushvalue(L, 2);
  const char *name = lua_tostring(L, -1);
  lua_setiuservalue(L, ud, 3);
  return name;
}

void fb_csv_open(lua_State *L) {
  lua_pushcfunction(L, fb_csv_reader_new);
  lua_setfield(L, -2, "csv_reader");
  lua_pushcfunction(L, fb_csv_writer_new);
  lua_setfield(L, -2, "csv_writer");
}
