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

/* Opens fusebill.core alone (once per state; then returns the same table): the
 * engine's C functions without the public API. `require "fusebill.core"` finds
 * it in the Lua C module, and fusebill.csv asks for no more, so a script that
 * only reads or writes CSV does not make the program start its sandbox. */
int luaopen_fusebill_core(lua_State *L);

/* Pops a table of client options (the same keys as fusebill.new) and makes it
 * what fusebill.client() uses in this state. The table may hold the API key; it
 * stays in the registry and is never printed. */
void fb_set_host_options(lua_State *L);

/* Asks every wait in progress (HTTP transfer, backoff sleep) to stop at once with
 * an "interrupted" error. Async-signal-safe: call it from a SIGINT handler. */
void fb_interrupt(void);


/* ---- engine API ------------------------------------------------------------
 * For C hosts that do not want to touch Lua: create an engine, load the user's
 * Lua file(s), call their global functions with JSON arguments, get JSON back.
 *
 * Ownership: every char * and fb_error_info * this API hands out belongs to the
 * caller; free strings with fb_free() and error records with fb_error_free().
 * Strings passed in are copied (the caller may free them once the call returns).
 * Threads: one thread at a time per engine; any number of engines per process.
 * Nothing here writes to stdout or exits: Lua's print() goes to cfg->log
 * (stderr when NULL), the request log of cfg->verbose to stderr, and os.exit
 * raises an error instead of ending the process. */

#include <stddef.h>

typedef struct fb_engine fb_engine;

/* Return codes of the fb_engine_* functions. */
enum {
  FB_OK = 0,
  FB_ERR_USAGE = 1,      /* a NULL engine/argument, or a bad config value */
  FB_ERR_FILE = 2,       /* the Lua file cannot be read */
  FB_ERR_SYNTAX = 3,     /* the Lua code does not compile */
  FB_ERR_RUNTIME = 4,    /* the Lua code raised an error (or returned nil, message) */
  FB_ERR_NO_FUNCTION = 5,/* fb_engine_call: no global function of that name */
  FB_ERR_BAD_JSON = 6,   /* fb_engine_call: arguments are not a JSON array, or the
                            result cannot be encoded as JSON */
  FB_ERR_API = 7,        /* the function failed with a fusebill error object
                            (kind validation, auth, not_found, ...) */
  FB_ERR_MEMORY = 8
};

/* Client configuration; the same settings as fusebill.new in Lua. Zero/NULL
 * fields take the engine defaults. Initialise with fb_config_init(). */
typedef struct fb_config {
  const char *base_url;        /* default "https://secure.fusebill.com/v1" */
  const char *api_key;         /* never logged, never part of an error */
  double timeout;              /* seconds per attempt, 0 = default */
  double connect_timeout;      /* seconds, 0 = default */
  int max_attempts;            /* retry.max_attempts, 0 = default */
  const char *rate_limit;      /* "auto", "none" or requests per minute ("600") */
  int concurrency;             /* requests in flight in fusebill.each, 0 = default */
  int dry_run;                 /* 1: edits send no write */
  const char *journal;         /* journal file for bulk runs, NULL = none */
  const char *cacert;          /* CA bundle for TLS, NULL = system default */
  int verbose;                 /* 1: log every request attempt (to `log`) */
  /* Where print() and diagnostics go: one call per line, without the newline.
   * NULL = stderr. Called on the thread that called into the engine. */
  void (*log)(void *userdata, const char *line);
  void *log_userdata;
} fb_config;

/* The error record of a failed fb_engine_* call. For FB_ERR_API it carries the
 * fields of the Lua error object; for engine errors kind is one of "usage",
 * "file", "syntax", "runtime", "unknown_function", "bad_json", "memory".
 * String fields are NULL when absent; numbers 0 when absent. */
typedef struct fb_error_info {
  char *kind;        /* always set */
  char *message;     /* always set: one readable line, never the key */
  int status;        /* HTTP status */
  char *method;      /* "PUT" */
  char *path;        /* "/v1/customers" */
  char *field;       /* validation: the offending field */
  char *rule;        /* validation: the rule that failed */
  char *error_id;    /* the API envelope's ErrorId */
  char *request_id;
  int retryable;     /* 1 when a retry could succeed */
  int attempts;      /* HTTP attempts made */
  char *traceback;   /* runtime errors: the Lua traceback */
  char *json;        /* every field above (and the API's `errors` list) as a JSON object */
} fb_error_info;

void fb_config_init(fb_config *cfg);

/* Creates an engine: a private Lua state with the standard libraries, cjson and
 * fusebill loaded, and fusebill.client() configured from cfg (cfg may be NULL).
 * Returns NULL on failure with *errmsg (if errmsg is not NULL) set to a message
 * the caller frees with fb_free(). */
fb_engine *fb_engine_new(const fb_config *cfg, char **errmsg);

/* Runs a Lua file (or a string; `chunkname` may be NULL) in the engine, so it can
 * define the global functions fb_engine_call calls. Returns FB_OK, or FB_ERR_FILE,
 * FB_ERR_SYNTAX, FB_ERR_RUNTIME, FB_ERR_USAGE with *errmsg set (caller frees with
 * fb_free; errmsg may be NULL). */
int fb_engine_load_file(fb_engine *e, const char *path, char **errmsg);
int fb_engine_load_string(fb_engine *e, const char *code, const char *chunkname, char **errmsg);

/* Calls the global function `function` (a dotted path like "rules.apply" works)
 * with the elements of the JSON array `args_json` as arguments (NULL or "" means
 * no arguments; top-level JSON nulls arrive as nil). On FB_OK, *result_json holds
 * the first result encoded as JSON ("null" for nil); the caller frees it with
 * fb_free. A function that raises, or returns nil plus an error, fails: the
 * return code says how, and *err (if err is not NULL) is set to a record the
 * caller frees with fb_error_free. result_json may be NULL to drop the result. */
int fb_engine_call(fb_engine *e, const char *function, const char *args_json,
                   char **result_json, fb_error_info **err);

/* The engine's Lua state, for hosts that want to add their own functions.
 * Owned by the engine: do not close it. */
lua_State *fb_engine_lua(fb_engine *e);

/* Closes the Lua state and frees everything. NULL is fine. */
void fb_engine_free(fb_engine *e);
void fb_error_free(fb_error_info *err);
void fb_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
