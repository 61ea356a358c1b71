/* The host program's own options (--base-url, --sandbox, ...): parsing, the API
 * key's sources, the in-process sandbox, and the option table handed to
 * fb_set_host_options. */
#ifndef FBH_OPTIONS_H
#define FBH_OPTIONS_H

#include <stdio.h>
#include <lua.h>

#define FBH_MAX_SANDBOX_ARGS 64

typedef struct fbh_options {
  const char *base_url;
  const char *key_file;
  const char *api_key_arg;      /* --api-key: allowed, with a warning */
  char *api_key;                /* resolved key (malloc'd), never printed */
  const char *key_source;       /* "--key-file", "FUSEBILL_API_KEY", "--api-key" */
  int sandbox;                  /* --sandbox given */
  int auto_sandbox;             /* neither key nor base URL: sandbox started on first use */
  int sandbox_argc;
  char *sandbox_argv[FBH_MAX_SANDBOX_ARGS];
  int dry_run;
  const char *plan;             /* --plan FILE: no write sent, each one written to FILE */
  const char *journal;
  long concurrency;             /* 0 = not given */
  const char *rate_limit;
  long retries;                 /* -1 = not given */
  double timeout, connect_timeout;  /* 0 = not given */
  const char *cacert;
  int verbose;
} fbh_options;

void fbh_options_init(fbh_options *o);
/* Tries argv[i] as a host option. Returns the number of argv entries used (1 or
 * 2), 0 if argv[i] is not a host option, -1 after printing an error. --help and
 * --version print and exit. */
int fbh_option_parse(fbh_options *o, int argc, char **argv, int i);
/* After parsing: reads the key (key file, then $FUSEBILL_API_KEY, then --api-key)
 * and decides on the sandbox. Returns 0, or -1 after printing an error. */
int fbh_options_resolve(fbh_options *o);
/* Installs package.preload.fusebill (which starts the sandbox if needed and sets
 * the host options before opening the module), cjson and cjson.safe. */
void fbh_options_install(lua_State *L, fbh_options *o);
/* Starts the in-process sandbox now (for --sandbox). Returns 0 or -1 (printed). */
int fbh_sandbox_start(fbh_options *o);
/* One line for banners: "sandbox at http://127.0.0.1:PORT/v1 (in-process)" or the base URL. */
const char *fbh_connection_label(const fbh_options *o);
void fbh_usage(FILE *out);
void fbh_options_free(fbh_options *o);

#endif
