/* The host program's own options (--base-url, --sandbox, ...): parsing, the API
 * key's sources, the in-process sandbox, and the option table handed to
 * fb_set_host_options. */
#ifndef HOST_OPTIONS_H
#define HOST_OPTIONS_H

#include <stdio.h>
#include <lua.h>

#define HOST_MAX_SANDBOX_ARGS 64

typedef struct host_options {
  const char *base_url;
  const char *key_file;
  const char *api_key_arg;      /* --api-key: allowed, with a warning */
  char *api_key;                /* resolved key (malloc'd), never printed */
  const char *key_source;       /* "--key-file", "FUSEBILL_API_KEY", "--api-key" */
  int sandbox;                  /* --sandbox given */
  int auto_sandbox;             /* neither key nor base URL: sandbox started on first use */
  int sandbox_argc;
  char *sandbox_argv[HOST_MAX_SANDBOX_ARGS];
  int dry_run;
  const char *journal;
  long concurrency;             /* 0 = not given */
  const char *rate_limit;
  long retries;                 /* -1 = not given */
  double timeout, connect_timeout;  /* 0 = not given */
  const char *cacert;
  int verbose;
} host_options;

void host_options_init(host_options *o);
/* Tries argv[i] as a host option. Returns the number of argv entries used (1 or
 * 2), 0 if argv[i] is not a host option, -1 after printing an error. --help and
 * --version print and exit. */
int host_option_parse(host_options *o, int argc, char **argv, int i);
/* After parsing: reads the key (key file, then $FUSEBILL_API_KEY, then --api-key)
 * and decides on the sandbox. Returns 0, or -1 after printing an error. */
int host_options_resolve(host_options *o);
/* Installs package.preload.fusebill (which starts the sandbox if needed and sets
 * the host options before opening the module), cjson and cjson.safe. */
void host_options_install(lua_State *L, host_options *o);
/* Starts the in-process sandbox now (for --sandbox). Returns 0 or -1 (printed). */
int host_sandbox_start(host_options *o);
/* One line for banners: "sandbox at http://127.0.0.1:PORT/v1 (in-process)" or the base URL. */
const char *host_connection_label(const host_options *o);
void host_usage(FILE *out);
void host_options_free(host_options *o);

#endif
