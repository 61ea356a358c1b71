/* Error objects: tables with the "fusebill.error" metatable. */
#ifndef FB_ERROR_H
#define FB_ERROR_H

#include <stddef.h>
#include <lua.h>

#define FB_ERROR_MT "fusebill.error"

/* Pushes a new error object with the common fields set; status 0 means none.
 * The caller may add more fields (errors, error_id, request_id, ...). */
void fb_error_push(lua_State *L, const char *kind, int status, const char *method,
                   const char *path, const char *message, int attempts, int retryable);

/* Fills message, errors and error_id of the error object at `err` from a
 * response body: the Fusebill envelope, {"Message": ...}, HTML, null, empty or
 * truncated bodies. `decoded` is the stack index of the decoded body (nil if it
 * did not parse). */
void fb_error_set_body(lua_State *L, int err, int decoded, int status, const char *body, size_t len);

int fb_is_error(lua_State *L, int idx);

/* core.new_error, core.is_error, and the metatable. */
void fb_error_open(lua_State *L);

#endif
