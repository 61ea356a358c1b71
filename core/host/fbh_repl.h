/* The interactive REPL: libedit line editing, history, completion, pretty-printed
 * results, Ctrl-C handling. Lives in the host program only, never in libfusebill. */
#ifndef FBH_REPL_H
#define FBH_REPL_H

#include <lua.h>
#include "fbh_options.h"

/* Before the Lua state exists, when a REPL will run: stdout becomes a stream that
 * knows whether output ended mid-line (so the prompt starts a line of its own). */
void fbh_repl_track_output(void);
/* Checks FUSEBILL_HISTORY before the REPL starts: 0, or -1 after one line. */
int fbh_repl_check_env(void);
/* Runs until end of input or .exit; errors are reported and the loop goes on. */
void fbh_repl_run(lua_State *L, fbh_options *opts);

#endif
