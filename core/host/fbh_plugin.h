/* The host program's plugin: the engine (libcurl) and the sandbox (libmicrohttpd)
 * in one shared object, build/fusebill-host.so, that the host dlopens the first
 * time a script needs one of them.
 *
 * Why: libcurl and libmicrohttpd pull in some thirty-five libraries (TLS, IDN,
 * LDAP, Kerberos, compression...), and mapping and relocating them took several
 * times the whole start-up of lua5.4. A script that never touches
 * the API (busted's helpers, `fusebill -e ''`, a plain Lua script) should start
 * as fast as lua5.4 does, so the host program itself links only Lua, lua-cjson
 * and libedit, and exports the Lua API (-Wl,-E) for the plugin, exactly as
 * lua5.4 does for C modules.
 *
 * The plugin exports one symbol, the table below; the host finds it next to the
 * executable (build tree) or in ../lib/fusebill/ (installed tree). */
#ifndef FBH_PLUGIN_H
#define FBH_PLUGIN_H

#include <stddef.h>
#include <lua.h>
#include "sandbox.h"

#define FBH_PLUGIN_FILE "fusebill-host.so"
#define FBH_PLUGIN_SYMBOL "fbh_plugin_table"

typedef struct fbh_plugin {
  const char *version;   /* FB_VERSION the plugin was built with; must match the host's */
  const char *(*curl_version)(void);
  int (*open_fusebill)(lua_State *L);         /* luaopen_fusebill */
  int (*open_core)(lua_State *L);             /* luaopen_fusebill_core */
  void (*set_host_options)(lua_State *L);     /* fb_set_host_options */
  void (*interrupt)(void);                    /* fb_interrupt: async-signal-safe */
  void (*sandbox_options_init)(sbx_options *o);
  int (*sandbox_parse_args)(sbx_options *o, int argc, char **argv, char *err, size_t errlen);
  sbx_server *(*sandbox_start)(const sbx_options *o, char *err, size_t errlen);
  unsigned (*sandbox_port)(const sbx_server *s);
  const char *(*sandbox_key)(const sbx_server *s);
  void (*sandbox_stop)(sbx_server *s);
} fbh_plugin;

/* Plugin side (fbh_plugin_table.c): the table FBH_PLUGIN_SYMBOL names. */
extern const fbh_plugin fbh_plugin_table;

/* Host side (fbh_plugin.c). Loads the plugin once per process and returns its
 * table, or NULL with a message in err (which file, and why it did not load). */
const fbh_plugin *fbh_plugin_load(char *err, size_t errlen);
/* fb_interrupt() if the plugin is loaded (nothing to interrupt otherwise).
 * Async-signal-safe: the SIGINT handler calls it. */
void fbh_plugin_interrupt(void);

#endif
