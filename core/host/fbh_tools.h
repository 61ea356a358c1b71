/* `fusebill -m NAME ARGS...`: runs a tool, a Lua module, the way `python -m` runs one;
 * `fusebill -m` alone lists the tools shipped in the program. */
#ifndef FBH_TOOLS_H
#define FBH_TOOLS_H

#include <lua.h>

/* Runs tool argv[name] with arguments argv[name+1 .. argc-1] (name 0: list the tools).
 * Returns the tool's exit status (0-255), or -1 after reporting a Lua error. */
int fbh_tool_run(lua_State *L, int argc, char **argv, int name);

#endif
