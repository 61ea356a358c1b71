/* Lua modules compiled into the binary (see core/gen_modules.lua). */
#ifndef FB_MODULES_H
#define FB_MODULES_H

#include <stddef.h>
#include <lua.h>

typedef struct fb_module {
  const char *name;       /* "fusebill.schema" */
  const char *chunkname;  /* "@fusebill/schema.lua", so tracebacks stay readable */
  const char *source;
  size_t size;
} fb_module;

/* Tables generated at build time, each ending with a zeroed entry. */
extern const fb_module fb_client_modules[];
extern const fb_module fb_sandbox_modules[];

/* Adds a searcher for `list` to package.searchers, right after the preload
 * searcher, so `require` finds embedded modules before anything on disk.
 * Calling it again for the same list and state does nothing. */
void fb_modules_install(lua_State *L, const fb_module *list);

#endif
