/* What the program hands the engine: the in-process sandbox when there is one,
 * the options table behind fusebill.client(), and package.preload.fusebill. */
#ifndef FBH_CONNECT_H
#define FBH_CONNECT_H

#include <lua.h>
#include "fbh_options.h"

/* Stops the sandbox and wipes o's key at exit, however the process ends. */
void fbh_connect_at_exit(fbh_options *o);
/* Starts the in-process sandbox now: for --sandbox, and for --sandbox-opt (so a
 * bad sandbox option is a usage error before any Lua runs). Returns 0 or -1
 * after printing one line in the flags' words. */
int fbh_sandbox_start(fbh_options *o);
/* One line for banners: "sandbox at http://127.0.0.1:PORT/v1 (in-process)" or the base URL. */
const char *fbh_connection_label(const fbh_options *o);
/* Installs package.preload.fusebill (which starts the sandbox if needed and sets
 * the host options before opening the module), cjson and cjson.safe. */
void fbh_connect_install(lua_State *L, fbh_options *o);

#endif
