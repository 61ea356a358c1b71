/* The host program's own options (--base-url, --sandbox, ...): parsing, with
 * every value checked in the flag's words (fbh_check.h), and the API key's
 * sources. What they are handed to is in fbh_connect.h. */
#ifndef FBH_OPTIONS_H
#define FBH_OPTIONS_H

#include <stdio.h>
#include <lua.h>

#define FBH_MAX_SANDBOX_ARGS 64
#define FBH_MAX_CONCURRENCY 1000   /* a typo such as 1600 for 16 must not start 1600 workers */
#define FBH_MAX_RETRIES 100
#define FBH_DEFAULT_BASE_URL "https://secure.fusebill.com/v1"

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
  int skip_failed;              /* --skip-failed: a journaled rerun leaves failed items alone */
  long concurrency;             /* 0 = not given */
  const char *rate_limit;
  long retries;                 /* -1 = not given */
  double timeout, connect_timeout;  /* 0 = not given */
  const char *cacert;
  int verbose;
} fbh_options;

void fbh_options_init(fbh_options *o);
/* Tries argv[i] (a "--name", "--name=value", -V or -h) as a host option. Returns
 * the number of argv entries used (1 or 2), or -1 after printing one line (an
 * unknown option gets the nearest known one suggested). --help and --version
 * print and exit. */
int fbh_option_parse(fbh_options *o, int argc, char **argv, int i);
/* "unknown option -x (...)": prints one line, returns -1. */
int fbh_unknown_option(const char *typed);
/* After parsing: reads the key (--key-file, then --api-key, then
 * $FUSEBILL_API_KEY), checks the combination, and decides on the sandbox.
 * Returns 0, or -1 after printing one line. */
int fbh_options_resolve(fbh_options *o);
void fbh_usage(FILE *out);
void fbh_options_free(fbh_options *o);

#endif
