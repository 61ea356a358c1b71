/* See fbh_tools.h. Finding, listing and running tools is Lua's work (lua/host/tools.lua);
 * here: the names of the tools embedded in the program (host.tools.NAME), which only the C
 * side can enumerate, and the tool's exit status. */
#include <string.h>
#include <lauxlib.h>
#include "fb_embed.h"
#include "fbh_run.h"
#include "fbh_tools.h"

#define TOOL_PREFIX "host.tools."

static void push_shipped_names(lua_State *L) {
  size_t n = strlen(TOOL_PREFIX);
  int i = 0;
  lua_newtable(L);
  for (const fb_module *m = fbh_modules; m->name; m++) {
    if (strncmp(m->name, TOOL_PREFIX, n) != 0 || strchr(m->name + n, '.')) continue;
    lua_pushstring(L, m->name + n);
    lua_rawseti(L, -2, ++i);
  }
}

int fbh_tool_run(lua_State *L, int argc, char **argv, int name) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "host.tools");
  int status = fbh_docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    push_shipped_names(L);
    if (name > 0) lua_pushstring(L, argv[name]); else lua_pushnil(L);
    lua_createtable(L, name > 0 ? argc - name - 1 : 0, 0);
    for (int i = name + 1; name > 0 && i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i - name);
    }
    status = fbh_docall(L, 3, 1);
  }
  if (status != LUA_OK) {
    fbh_report(L, status);
    return -1;
  }
  int isnum;
  lua_Integer code = lua_tointegerx(L, -1, &isnum);
  lua_pop(L, 1);
  if (!isnum) return 0;   /* main returned nothing: success, as a script that ends */
  return code < 0 || code > 255 ? 1 : (int)code;
}
