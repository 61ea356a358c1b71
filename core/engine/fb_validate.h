/* Request-body validation: the walk over a body, against a schema compiled once. */
#ifndef FB_VALIDATE_H
#define FB_VALIDATE_H

#include <lua.h>

/* Sets core.validator in the table on top (see fb_validate.c). */
void fb_validate_open(lua_State *L);

#endif
