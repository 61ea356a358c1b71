/* fusebill: Lua bindings and an embeddable engine for the Fusebill billing API.
 *
 * Two ways in:
 *  - luaopen_fusebill(L) adds the bindings to a lua_State you own
 *    (luaL_requiref(L, "fusebill", luaopen_fusebill, 0)).
 *  - the engine API below (fb_engine_*) for hosts that do not want to touch Lua.
 */
#ifndef FUSEBILL_H
#define FUSEBILL_H

#include <lua.h>

#define FB_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the module: returns the `fusebill` table on the stack. Needs the `cjson`
 * module to be loadable (the host preloads it; stock lua5.4 finds lua-cjson). */
int luaopen_fusebill(lua_State *L);

/* Pops a table of client options (the same keys as fusebill.new) and makes it
 * what fusebill.client() uses in this state. The table may hold the API key; it
 * stays in the registry and is never printed. */
void fb_set_host_options(lua_State *L);

/* Asks every wait in progress (HTTP transfer, backoff sleep) to stop at once with
 * an "interrupted" error. Async-signal-safe: call it from a SIGINT handler. */
void fb_interrupt(void);

#ifdef __cplusplus
}
#endif
#endif
