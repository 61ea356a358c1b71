/* See fbh_options.h. The key is handled with care: it is read from a file or the
 * environment (a command-line argument shows in `ps`), kept in one malloc'd
 * buffer that is wiped on exit, never printed, not even with --verbose, and
 * never in a core dump: a process holding one makes none. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <lauxlib.h>
#include <lualib.h>
#include "fusebill.h"
#include "fb_embed.h"
#include "fbh_options.h"
#include "fbh_plugin.h"
#include "fbh_run.h"


#define DEFAULT_BASE_URL "https://secure.fusebill.com/v1"

static sbx_server *sandbox = NULL;
static char sandbox_url[64];
static char label[512];
static fbh_options *current = NULL;  /* for the atexit sandbox stop */

void fbh_options_init(fbh_options *o) {
  memset(o, 0, sizeof *o);
  o->retries = -1;
}

void fbh_usage(FILE *out) {
  fprintf(out,
    "usage: %s [options] [script [args]]\n"
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
    "  --journal FILE        journal for bulk runs (a rerun skips finished items)\n"
    "  --concurrency N       requests in flight in fusebill.each\n"
    "  --rate-limit N|auto|none  requests per minute, or follow the API's headers\n"
    "  --retries N           attempts per call (max_attempts)\n"
    "  --timeout S           seconds per attempt\n"
    "  --connect-timeout S   seconds to connect\n"
    "  --cacert FILE         CA bundle for TLS\n"
    "  -V, --verbose         log every request attempt on stderr (never the key)\n"
    "  -h, --help            this text\n"
    "  --version             version of fusebill, Lua and libcurl\n"
    "\n"
    "With neither a key nor --base-url, scripts and the REPL run against the\n"
    "in-process sandbox. Environment: FUSEBILL_API_KEY, FUSEBILL_HISTORY (REPL\n"
    "history file, default ~/.fusebill_history), LUA_INIT_5_4, LUA_INIT.\n",
    fbh_progname, DEFAULT_BASE_URL);
}

/* Matches "--name" (value in the next argument) and "--name=value". */
static int match(const char *arg, const char *name, int argc, char **argv, int i,
                 const char **value, int *used) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return 0;
  if (arg[n] == '=') { *value = arg + n + 1; *used = 1; return 1; }
  if (arg[n] != '\0') return 0;
  if (i + 1 >= argc) {
    fprintf(stderr, "%s: option '%s' needs an argument\n", fbh_progname, name);
    *used = -1;
    return 1;
  }
  *value = argv[i + 1];
  *used = 2;
  return 1;
}

static int parse_long(const char *name, const char *v, long min, long *out) {
  char *end;
  long n = strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < min) {
    fprintf(stderr, "%s: %s wants a whole number >= %ld, not '%s'\n", fbh_progname, name, min, v);
    return -1;
  }
  *out = n;
  return 0;
}

static int parse_seconds(const char *name, const char *v, double *out) {
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || !(d > 0)) {
    fprintf(stderr, "%s: %s wants a number of seconds > 0, not '%s'\n", fbh_progname, name, v);
    return -1;
  }
  *out = d;
  return 0;
}

/* Splits a --sandbox-opt string on blanks (single or double quotes group words). */
static int add_sandbox_words(fbh_options *o, const char *s) {
  while (*s) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) break;
    char *w = malloc(strlen(s) + 1), *p = w;
    if (!w) return -1;
    char quote = 0;
    for (; *s && (quote || !isspace((unsigned char)*s)); s++) {
      if (quote && *s == quote) quote = 0;
      else if (!quote && (*s == '\'' || *s == '"')) quote = *s;
      else *p++ = *s;
    }
    *p = '\0';
    if (o->sandbox_argc >= FBH_MAX_SANDBOX_ARGS) {
      free(w);
      fprintf(stderr, "%s: too many --sandbox-opt words\n", fbh_progname);
      return -1;
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

int fbh_option_parse(fbh_options *o, int argc, char **argv, int i) {
  const char *a = argv[i], *v = NULL;
  int used = 0;
  if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { fbh_usage(stdout); exit(EXIT_SUCCESS); }
  if (strcmp(a, "--version") == 0) { print_version(); exit(EXIT_SUCCESS); }
  if (strcmp(a, "-V") == 0 || strcmp(a, "--verbose") == 0) { o->verbose = 1; return 1; }
  if (strcmp(a, "--sandbox") == 0) { o->sandbox = 1; return 1; }
  if (strcmp(a, "--dry-run") == 0) { o->dry_run = 1; return 1; }
  if (match(a, "--base-url", argc, argv, i, &v, &used)) { if (used > 0) o->base_url = v; return used; }
  if (match(a, "--key-file", argc, argv, i, &v, &used)) { if (used > 0) o->key_file = v; return used; }
  if (match(a, "--api-key", argc, argv, i, &v, &used)) {
    if (used > 0) {
      o->api_key_arg = v;
      fprintf(stderr, "%s: warning: --api-key makes the key visible to `ps` and shell history; "
                      "prefer --key-file or FUSEBILL_API_KEY\n", fbh_progname);
    }
    return used;
  }
  if (match(a, "--sandbox-opt", argc, argv, i, &v, &used)) {
    if (used > 0 && add_sandbox_words(o, v) != 0) return -1;
    return used;
  }
  if (match(a, "--journal", argc, argv, i, &v, &used)) { if (used > 0) o->journal = v; return used; }
  if (match(a, "--cacert", argc, argv, i, &v, &used)) { if (used > 0) o->cacert = v; return used; }
  if (match(a, "--concurrency", argc, argv, i, &v, &used)) {
    if (used > 0 && parse_long("--concurrency", v, 1, &o->concurrency) != 0) return -1;
    return used;
  }
  if (match(a, "--retries", argc, argv, i, &v, &used)) {
    if (used > 0 && parse_long("--retries", v, 1, &o->retries) != 0) return -1;
    return used;
  }
  if (match(a, "--rate-limit", argc, argv, i, &v, &used)) {
    if (used > 0) {
      long n;
      if (strcmp(v, "auto") != 0 && strcmp(v, "none") != 0 && parse_long("--rate-limit", v, 1, &n) != 0)
        return -1;
      o->rate_limit = v;
    }
    return used;
  }
  if (match(a, "--timeout", argc, argv, i, &v, &used)) {
    if (used > 0 && parse_seconds("--timeout", v, &o->timeout) != 0) return -1;
    return used;
  }
  if (match(a, "--connect-timeout", argc, argv, i, &v, &used)) {
    if (used > 0 && parse_seconds("--connect-timeout", v, &o->connect_timeout) != 0) return -1;
    return used;
  }
  return 0;
}

static char *read_key_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *s = buf;
  while (isspace((unsigned char)*s)) s++;
  size_t len = strcspn(s, "\r\n");  /* the first line is the key */
  while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
  char *key = malloc(len + 1);
  if (key) { memcpy(key, s, len); key[len] = '\0'; }
  memset(buf, 0, sizeof buf);
  return key;
}

static void stop_sandbox_at_exit(void) {
  if (sandbox) {
    fbh_plugin_load(NULL, 0)->sandbox_stop(sandbox);  /* loaded: it started the sandbox */
    sandbox = NULL;
  }
  if (current) fbh_options_free(current);
  current = NULL;
}

int fbh_options_resolve(fbh_options *o) {
  /* o lives until exit (main keeps it static); the handler stops the sandbox and
   * wipes the key however the process ends, os.exit included */
  current = o;
  atexit(stop_sandbox_at_exit);
  const char *env = getenv("FUSEBILL_API_KEY");
  if (o->key_file) {
    o->api_key = read_key_file(o->key_file);
    if (!o->api_key) {
      fprintf(stderr, "%s: cannot read key file %s\n", fbh_progname, o->key_file);
      return -1;
    }
    if (!*o->api_key) {
      fprintf(stderr, "%s: key file %s is empty\n", fbh_progname, o->key_file);
      return -1;
    }
    o->key_source = "--key-file";
  } else if (o->api_key_arg) {
    o->api_key = strdup(o->api_key_arg);
    o->key_source = "--api-key";
  } else if (env && *env) {
    o->api_key = strdup(env);
    o->key_source = "FUSEBILL_API_KEY";
  }
  if (o->api_key || (env && *env)) {
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
    fprintf(stderr, "%s: warning: --sandbox-opt has no effect without --sandbox\n", fbh_progname);
  return 0;
}

static int start_sandbox(fbh_options *o, char *err, size_t errlen) {
  if (sandbox) return 0;
  const fbh_plugin *p = fbh_plugin_load(err, errlen);
  if (!p) return -1;
  sbx_options so;
  p->sandbox_options_init(&so);
  so.port = 0;
  so.host = "127.0.0.1";
  int r = p->sandbox_parse_args(&so, o->sandbox_argc, o->sandbox_argv, err, errlen);
  if (r != 0) {
    if (r == 1) snprintf(err, errlen, "--sandbox-opt: see fusebill-sandbox --help for the options");
    return -1;
  }
  sandbox = p->sandbox_start(&so, err, errlen);
  if (!sandbox) return -1;
  snprintf(sandbox_url, sizeof sandbox_url, "http://127.0.0.1:%u/v1", p->sandbox_port(sandbox));
  if (o->verbose)
    fprintf(stderr, "%s: sandbox listening on %s\n", fbh_progname, sandbox_url);
  return 0;
}

int fbh_sandbox_start(fbh_options *o) {
  char err[512] = "";
  if (start_sandbox(o, err, sizeof err) != 0) {
    fprintf(stderr, "%s: cannot start the in-process sandbox: %s\n", fbh_progname, err);
    return -1;
  }
  return 0;
}

const char *fbh_connection_label(const fbh_options *o) {
  if (sandbox)
    snprintf(label, sizeof label, "sandbox at %s (in-process)", sandbox_url);
  else
    snprintf(label, sizeof label, "%s", o->base_url ? o->base_url : DEFAULT_BASE_URL);
  return label;
}

static void push_host_table(lua_State *L, const fbh_options *o) {
  lua_newtable(L);
  if (sandbox) {
    lua_pushstring(L, sandbox_url);
    lua_setfield(L, -2, "base_url");
    lua_pushstring(L, fbh_plugin_load(NULL, 0)->sandbox_key(sandbox));
    lua_setfield(L, -2, "api_key");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "sandbox");
  } else {
    if (o->base_url) { lua_pushstring(L, o->base_url); lua_setfield(L, -2, "base_url"); }
    if (o->api_key) { lua_pushstring(L, o->api_key); lua_setfield(L, -2, "api_key"); }
  }
  if (o->timeout > 0) { lua_pushnumber(L, o->timeout); lua_setfield(L, -2, "timeout"); }
  if (o->connect_timeout > 0) { lua_pushnumber(L, o->connect_timeout); lua_setfield(L, -2, "connect_timeout"); }
  if (o->cacert) { lua_pushstring(L, o->cacert); lua_setfield(L, -2, "cacert"); }
  if (o->retries > 0) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, o->retries);
    lua_setfield(L, -2, "max_attempts");
    lua_setfield(L, -2, "retry");
  }
  if (o->rate_limit) {
    if (strcmp(o->rate_limit, "none") == 0) lua_pushboolean(L, 0);
    else if (strcmp(o->rate_limit, "auto") == 0) lua_pushstring(L, "auto");
    else lua_pushinteger(L, strtol(o->rate_limit, NULL, 10));
    lua_setfield(L, -2, "rate_limit");
  }
  if (o->concurrency > 0) { lua_pushinteger(L, o->concurrency); lua_setfield(L, -2, "concurrency"); }
  if (o->dry_run) { lua_pushboolean(L, 1); lua_setfield(L, -2, "dry_run"); }
  if (o->journal) { lua_pushstring(L, o->journal); lua_setfield(L, -2, "journal"); }
  if (o->verbose) { lua_pushboolean(L, 1); lua_setfield(L, -2, "verbose"); }
}

/* package.preload.fusebill: the sandbox (if we run against it) starts on first
 * use, so plain Lua scripts and busted runs that never touch the API pay nothing. */
static int open_fusebill(lua_State *L) {
  fbh_options *o = lua_touserdata(L, lua_upvalueindex(1));
  char err[512] = "";
  const fbh_plugin *p = fbh_plugin_load(err, sizeof err);
  if (!p) return luaL_error(L, "cannot load the fusebill engine: %s", err);
  if (o->auto_sandbox && !sandbox) {
    if (start_sandbox(o, err, sizeof err) != 0)
      return luaL_error(L, "cannot start the in-process sandbox: %s", err);
    fprintf(stderr, "%s: no API key or --base-url given: using the in-process sandbox at %s\n",
            fbh_progname, sandbox_url);
  }
  int n = lua_gettop(L);
  push_host_table(L, o);
  p->set_host_options(L);
  lua_settop(L, n);
  lua_pushcfunction(L, p->open_fusebill);
  lua_insert(L, 1);
  lua_call(L, n, 1);
  return 1;
}

void fbh_options_install(lua_State *L, fbh_options *o) {
  /* the embedded modules (host.pretty, fusebill.diff, ...) are requireable from
   * the start, not only after require "fusebill" */
  fb_modules_install(L, fb_client_modules);
  fb_modules_install(L, fbh_modules);   /* host.repl, host.pretty: the program only */
  fb_preload_cjson(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushlightuserdata(L, o);
  lua_pushcclosure(L, open_fusebill, 1);
  lua_setfield(L, -2, "fusebill");
  lua_pop(L, 1);
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
