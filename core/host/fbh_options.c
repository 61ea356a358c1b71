/* See fbh_options.h. The key is handled with care: it is read from a file or the
 * environment (a command-line argument shows in `ps`), kept in one malloc'd
 * buffer that is wiped on exit, never printed, not even with --verbose, and
 * never in a core dump: a process holding one makes none. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <lua.h>
#include "fusebill.h"
#include "fbh_check.h"
#include "fbh_options.h"
#include "fbh_plugin.h"
#include "fbh_run.h"

void fbh_options_init(fbh_options *o) {
  memset(o, 0, sizeof *o);
  o->retries = -1;
}

void fbh_usage(FILE *out) {
  fprintf(out,
    "usage: %s [options] [script [args]]\n"
    "       %s [options] -m NAME [args]   (a tool: apply, undo, ...; -m alone lists them)\n"
    "Runs a Lua 5.4 script (or a REPL) with the fusebill module and a configured client.\n"
    "\n"
    "Lua options (as lua5.4):\n"
    "  -e stat           execute string 'stat'\n"
    "  -i                enter the REPL after running the script\n"
    "  -l mod            require library 'mod' into global 'mod'\n"
    "  -l g=mod          require library 'mod' into global 'g'\n"
    "  -v                show version information\n"
    "  -E                ignore environment variables (LUA_INIT, LUA_PATH, ...)\n"
    "  -W                turn warnings on\n"
    "  --                stop handling options\n"
    "  -                 run stdin and stop handling options\n"
    "\n"
    "Fusebill options (before the script name):\n"
    "  --base-url URL        API base URL (default %s)\n"
    "  --key-file FILE       read the API key from FILE (else $FUSEBILL_API_KEY)\n"
    "  --api-key KEY         the key on the command line (visible in ps: avoid)\n"
    "  --sandbox             run against an in-process sandbox on a free loopback port\n"
    "  --sandbox-opt 'ARGS'  options for the sandbox, e.g. '--latency 500 --faults ...'\n"
    "                        (repeatable; see fusebill-sandbox --help)\n"
    "  --dry-run             edits send no write; print a diff of what would change\n"
    "  --plan FILE           send no write; write each one the run would make to FILE\n"
    "                        (review it, then: fusebill -m apply FILE)\n"
    "  --journal FILE        journal for bulk runs (a rerun skips finished items)\n"
    "  --skip-failed         with --journal: a rerun leaves items that failed alone too\n"
    "  --concurrency N       requests in flight in fusebill.each (1 to 1000)\n"
    "  --rate-limit N|auto|none  requests per minute, or follow the API's headers\n"
    "  --retries N           attempts per call (max_attempts, 1 to 100)\n"
    "  --timeout S           seconds per attempt\n"
    "  --connect-timeout S   seconds to connect\n"
    "  --cacert FILE         CA bundle for TLS\n"
    "  -V, --verbose         log every request attempt on stderr (never the key)\n"
    "  -h, --help            this text\n"
    "  --version             version of fusebill, Lua and libcurl\n"
    "\n"
    "With neither a key nor --base-url, scripts and the REPL run against the\n"
    "in-process sandbox. Environment: FUSEBILL_API_KEY, FUSEBILL_HISTORY (REPL\n"
    "history file, default ~/.fusebill_history), LUA_INIT_5_4, LUA_INIT.\n"
    "Exit status: 0 success, 1 the script raised an error, 2 a command-line or\n"
    "environment mistake, 3 some item failed, 4 authentication failed, 5 the daily\n"
    "request quota is spent, 130 interrupted; os.exit(n) gives n.\n",
    fbh_progname, fbh_progname, FBH_DEFAULT_BASE_URL);
}

/* Splits a --sandbox-opt string on blanks (single or double quotes group words). */
static int add_sandbox_words(fbh_options *o, const char *s) {
  const char *all = s;
  while (*s) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) break;
    char *w = malloc(strlen(s) + 1), *p = w;
    if (!w) return fbh_usage_error("out of memory");
    char quote = 0;
    for (; *s && (quote || !isspace((unsigned char)*s)); s++) {
      if (quote && *s == quote) quote = 0;
      else if (!quote && (*s == '\'' || *s == '"')) quote = *s;
      else *p++ = *s;
    }
    *p = '\0';
    if (quote) {
      free(w);
      return fbh_usage_error("--sandbox-opt has an unclosed %c quote (got \"%s\")", quote, all);
    }
    if (o->sandbox_argc >= FBH_MAX_SANDBOX_ARGS) {
      free(w);
      return fbh_usage_error("--sandbox-opt: more than %d words in all", FBH_MAX_SANDBOX_ARGS);
    }
    o->sandbox_argv[o->sandbox_argc++] = w;
  }
  return 0;
}

static void print_version(void) {
  char err[256];
  const fbh_plugin *p = fbh_plugin_load(err, sizeof err);
  printf("fusebill %s (%s, libcurl %s)\n", FB_VERSION, LUA_RELEASE, p ? p->curl_version() : "not loaded");
  if (!p) fprintf(stderr, "%s: %s\n", fbh_progname, err);
}

/* ---- the flags: one setter each, checking the value in the flag's own words ---- */

static int set_help(fbh_options *o, const char *f, const char *v) { fbh_usage(stdout); exit(EXIT_SUCCESS); }
static int set_version(fbh_options *o, const char *f, const char *v) { print_version(); exit(EXIT_SUCCESS); }
static int set_verbose(fbh_options *o, const char *f, const char *v) { o->verbose = 1; return 0; }
static int set_sandbox(fbh_options *o, const char *f, const char *v) { o->sandbox = 1; return 0; }
static int set_dry_run(fbh_options *o, const char *f, const char *v) { o->dry_run = 1; return 0; }
static int set_skip_failed(fbh_options *o, const char *f, const char *v) { o->skip_failed = 1; return 0; }
static int set_key_file(fbh_options *o, const char *f, const char *v) { o->key_file = v; return 0; }
static int set_api_key(fbh_options *o, const char *f, const char *v) { o->api_key_arg = v; return 0; }
static int set_sandbox_opt(fbh_options *o, const char *f, const char *v) { return add_sandbox_words(o, v); }

static int set_base_url(fbh_options *o, const char *f, const char *v) {
  o->base_url = v;
  return fbh_check_url(f, v);
}

static int set_journal(fbh_options *o, const char *f, const char *v) {
  o->journal = v;
  return fbh_check_writable(f, v);
}

static int set_plan(fbh_options *o, const char *f, const char *v) {
  o->plan = v;
  return fbh_check_writable(f, v);
}

static int set_cacert(fbh_options *o, const char *f, const char *v) {
  o->cacert = v;
  return fbh_check_readable(f, v);
}

static int set_concurrency(fbh_options *o, const char *f, const char *v) {
  return fbh_check_count(f, v, 1, FBH_MAX_CONCURRENCY, &o->concurrency);
}

static int set_retries(fbh_options *o, const char *f, const char *v) {
  return fbh_check_count(f, v, 1, FBH_MAX_RETRIES, &o->retries);
}

static int set_rate_limit(fbh_options *o, const char *f, const char *v) {
  o->rate_limit = v;
  return fbh_check_rate(f, v);
}

static int set_timeout(fbh_options *o, const char *f, const char *v) {
  return fbh_check_seconds(f, v, &o->timeout);
}

static int set_connect_timeout(fbh_options *o, const char *f, const char *v) {
  return fbh_check_seconds(f, v, &o->connect_timeout);
}

typedef struct flag_def {
  const char *name;     /* --long-name */
  const char *alias;    /* -X, or NULL */
  const char *value;    /* what the value is, for "needs a value"; NULL: takes none */
  int (*set)(fbh_options *o, const char *flag, const char *value);
} flag_def;

static const flag_def flags[] = {
  { "--base-url", NULL, "URL", set_base_url },
  { "--key-file", NULL, "FILE", set_key_file },
  { "--api-key", NULL, "KEY", set_api_key },
  { "--sandbox", NULL, NULL, set_sandbox },
  { "--sandbox-opt", NULL, "'ARGS'", set_sandbox_opt },
  { "--dry-run", NULL, NULL, set_dry_run },
  { "--journal", NULL, "FILE", set_journal },
  { "--plan", NULL, "FILE", set_plan },
  { "--skip-failed", NULL, NULL, set_skip_failed },
  { "--concurrency", NULL, "N", set_concurrency },
  { "--rate-limit", NULL, "N|auto|none", set_rate_limit },
  { "--retries", NULL, "N", set_retries },
  { "--timeout", NULL, "SECONDS", set_timeout },
  { "--connect-timeout", NULL, "SECONDS", set_connect_timeout },
  { "--cacert", NULL, "FILE", set_cacert },
  { "--verbose", "-V", NULL, set_verbose },
  { "--help", "-h", NULL, set_help },
  { "--version", NULL, NULL, set_version },
};
#define NFLAGS (sizeof flags / sizeof flags[0])

int fbh_unknown_option(const char *typed) {
  const char *names[NFLAGS + 1];
  for (size_t k = 0; k < NFLAGS; k++) names[k] = flags[k].name;
  names[NFLAGS] = NULL;
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)strcspn(typed, "="), typed);
  if (name[0] == '-' && name[1] != '-' && strlen(name) > 2) {  /* -dry-run for --dry-run */
    snprintf(name, sizeof name, "-%.*s", (int)strcspn(typed, "="), typed);
  }
  const char *near = fbh_nearest(name, names);
  if (near) return fbh_usage_error("unknown option %s (did you mean %s?)", typed, near);
  return fbh_usage_error("unknown option %s (%s --help lists the options)", typed, fbh_progname);
}

static const flag_def *find_flag(const char *a) {
  size_t n = strcspn(a, "=");
  for (size_t k = 0; k < NFLAGS; k++) {
    const flag_def *d = &flags[k];
    if ((strlen(d->name) == n && strncmp(a, d->name, n) == 0) || (d->alias && strcmp(a, d->alias) == 0)) return d;
  }
  return NULL;
}

int fbh_option_parse(fbh_options *o, int argc, char **argv, int i) {
  const char *a = argv[i], *eq = strchr(a, '=');
  const flag_def *d = find_flag(a);
  if (!d) return fbh_unknown_option(a);
  if (!d->value) {
    if (eq) return fbh_usage_error("%s takes no value (got \"%s\")", d->name, a);
    return d->set(o, d->name, NULL) == 0 ? 1 : -1;
  }
  if (eq) return d->set(o, d->name, eq + 1) == 0 ? 1 : -1;
  /* the next argument is the value, unless it is missing or one of our flags
   * (`--journal --dry-run` forgot the file name) */
  if (i + 1 >= argc) return fbh_usage_error("%s needs a value (%s %s)", d->name, d->name, d->value);
  if (find_flag(argv[i + 1]))
    return fbh_usage_error("%s needs a value (%s %s), not the option %s", d->name, d->name, d->value, argv[i + 1]);
  return d->set(o, d->name, argv[i + 1]) == 0 ? 2 : -1;
}

/* The first line of the file, trimmed; NULL with errno set if it cannot be read. */
static char *read_key_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  int failed = ferror(f);
  fclose(f);
  if (failed) { errno = EIO; return NULL; }
  buf[n] = '\0';
  char *s = buf;
  while (isspace((unsigned char)*s)) s++;
  size_t len = strcspn(s, "\r\n");
  while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
  char *key = malloc(len + 1);
  if (key) { memcpy(key, s, len); key[len] = '\0'; }
  explicit_bzero(buf, sizeof buf);
  return key;
}

static int key_from_file(fbh_options *o) {
  if (fbh_check_readable("--key-file", o->key_file) != 0) return -1;
  o->api_key = read_key_file(o->key_file);
  if (!o->api_key) return fbh_usage_error("--key-file %s: cannot read it (%s)", o->key_file, strerror(errno));
  if (!*o->api_key) return fbh_usage_error("--key-file %s is empty; its first line should be the API key", o->key_file);
  char what[4200];
  snprintf(what, sizeof what, "the key in --key-file %s", o->key_file);
  o->key_source = "--key-file";
  return fbh_check_key(what, o->api_key);
}

/* Where the key comes from: --key-file, then --api-key, then FUSEBILL_API_KEY.
 * The variable is checked only when it is the source: it may hold anything
 * when a flag gives the key or --sandbox brings its own. */
static int resolve_key(fbh_options *o) {
  if (o->key_file && o->api_key_arg)
    return fbh_usage_error("--key-file and --api-key both give the API key; keep one of them");
  if (o->key_file) return key_from_file(o);
  if (o->api_key_arg) {
    o->key_source = "--api-key";
    if (fbh_check_key("--api-key", o->api_key_arg) != 0) return -1;
    fprintf(stderr, "%s: warning: --api-key makes the key visible to `ps` and shell history; "
                    "prefer --key-file or FUSEBILL_API_KEY\n", fbh_progname);
    o->api_key = strdup(o->api_key_arg);
    return 0;
  }
  const char *env = getenv("FUSEBILL_API_KEY");
  if (!env || o->sandbox) return 0;
  if (!*env)
    return fbh_usage_error("FUSEBILL_API_KEY is set but empty (unset it to run against the in-process sandbox)");
  o->key_source = "FUSEBILL_API_KEY";
  if (fbh_check_key("FUSEBILL_API_KEY", env) != 0) return -1;
  o->api_key = strdup(env);
  return 0;
}

int fbh_options_resolve(fbh_options *o) {
  if (o->sandbox && o->base_url)
    return fbh_usage_error("--sandbox and --base-url cannot go together (--sandbox brings its own URL)");
  if (o->plan && o->dry_run)   /* a dry run's edits stop before the write that --plan records */
    return fbh_usage_error("--plan and --dry-run do not go together (--plan already sends no write)");
  if (resolve_key(o) != 0) return -1;
  if (o->api_key && o->base_url && fbh_check_url_for_key("--base-url", o->base_url) != 0) return -1;
  if (o->api_key || getenv("FUSEBILL_API_KEY")) {
    /* The key stays until exit (and was in the environment since exec): no core file
     * may carry it. Only the soft limit, which the hard one lets anyone set back. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
      rl.rlim_cur = 0;
      setrlimit(RLIMIT_CORE, &rl);
    }
  }
  if (!o->sandbox && !o->api_key && !o->base_url) o->auto_sandbox = 1;
  if (o->sandbox_argc > 0 && !o->sandbox && !o->auto_sandbox)
    return fbh_usage_error("--sandbox-opt is for the sandbox, but %s points the program at %s; "
                           "add --sandbox to use the sandbox", o->base_url ? "--base-url" : o->key_source,
                           o->base_url ? o->base_url : "the live API");
  return 0;
}

void fbh_options_free(fbh_options *o) {
  if (o->api_key) {
    memset(o->api_key, 0, strlen(o->api_key));
    free(o->api_key);
    o->api_key = NULL;
  }
  for (int i = 0; i < o->sandbox_argc; i++) free(o->sandbox_argv[i]);
  o->sandbox_argc = 0;
}
