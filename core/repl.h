/* The interactive REPL: libedit line editing, history, completion, pretty-printed
 * results, Ctrl-C handling. Lives in the host program only, never in libfusebill. */
#ifndef REPL_H
#define REPL_H

#include <lua.h>
#include "host_options.h"

/* Runs until end of input or .exit; errors are reported and the loop goes on. */
void repl_run(lua_State *L, host_options *opts);

#endif
