/* Request-body validation: the walk over a body, against a schema compiled once. */
#ifndef FB_VALIDATE_H
#define FB_VALIDATE_H

#include <lua.h>

/* Problems collected per body before the walk stops (the error lists them all). */
#define FB_VALIDATE_MAX_PROBLEMS 20
/* Nesting allowed inside a field the schema does not know (cycles end here too). */
#define FB_VALIDATE_MAX_DEPTH 32

/* Sets core.validator in the table on top (see fb_validate.c). */
void fb_validate_open(lua_State *L);

#endif
