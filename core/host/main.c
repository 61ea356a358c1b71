/* fusebill: the host program. For scripts it behaves like lua5.4 (same options,
 * `arg` table, LUA_INIT, errors with a traceback on stderr), so tools such as
 * `busted --lua=fusebill` work; on top it preloads cjson and fusebill and
 * configures fusebill.client() from its own options (fbh_options.c). With no
 * script on a terminal it opens the REPL (fbh_repl.c). Its exit status says more
 * than lua5.4's (fbh_run.h): mistakes on the command line and in the environment
 * are one line and status 2, and a script that ends normally exits with what its
 * API calls and bulk runs came to (lua/fusebill/exit_status.lua). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "fusebill.h"
#include "fbh_check.h"
#include "fbh_connect.h"
#include "fbh_options.h"
#include "fbh_run.h"
#include "fbh_repl.h"
#include "fbh_tools.h"

/* Flags collected from the command line. */
#define HAS_ERROR 1   /* bad option */
#define HAS_I 2       /* -i */
#define HAS_V 4       /* -v */
#define HAS_E 8       /* -e */
#define HAS_BIG_E 16  /* -E */
#define HAS_M 32      /* -m NAME: a tool (script is then NAME's index, 0 for none) */

typedef struct host_args {
  int argc;
  char **argv;
  int script;        /* index of the script name in argv, or 0 */
  int first_lua;     /* options are argv[1 .. script-1] (or argc-1) */
  int flags;
  unsigned char *host_arg;  /* host_arg[i]: argv[i] belongs to a host option */
  int status;               /* the exit status protected_main decided on */
  fbh_options opts;
} host_args;

static void print_version(void) {
  printf("fusebill %s  %s\n", FB_VERSION, LUA_COPYRIGHT);
  fflush(stdout);
}

/* lua.c's collectargs plus the fusebill options. Options with a value (-e, -l)
 * take it attached or from the next argument. Sets args->script. */
static int collect_args(host_args *a) {
  char **argv = a->argv;
  int i;
  for (i = 1; i < a->argc && argv[i] != NULL; i++) {
    const char *s = argv[i];
    a->script = i;
    if (s[0] != '-') return 0;            /* the script name */
    if (strcmp(s, "-") == 0) return 0;    /* stdin is the script */
    if (strcmp(s, "--") == 0) {
      a->script = (i + 1 < a->argc) ? i + 1 : 0;
      return 0;
    }
    if (s[1] == '-' || strcmp(s, "-V") == 0 || strcmp(s, "-h") == 0) {
      int used = fbh_option_parse(&a->opts, a->argc, argv, i);
      if (used < 0) return HAS_ERROR;
      for (int k = 0; k < used; k++) a->host_arg[i + k] = 1;
      i += used - 1;
      continue;
    }
    switch (s[1]) {
      case 'E': if (s[2]) goto bad; a->flags |= HAS_BIG_E; break;
      case 'W': if (s[2]) goto bad; break;
      case 'i': if (s[2]) goto bad; a->flags |= HAS_I; break;  /* the REPL's banner names the version */
      case 'v': if (s[2]) goto bad; a->flags |= HAS_V; break;
      case 'm':  /* like python -m: NAME and everything after it belong to the tool */
        if (s[2]) goto bad;
        a->flags |= HAS_M;
        a->script = (i + 1 < a->argc) ? i + 1 : 0;
        return 0;
      case 'e': a->flags |= HAS_E; /* fall through */
      case 'l':
        if (s[2] == '\0') {
          i++;
          if (i >= a->argc || argv[i] == NULL || argv[i][0] == '-') {
            fbh_usage_error("%s needs %s", s, s[1] == 'e' ? "a Lua statement to run (-e 'print(1)')"
                                                         : "a module name (-l mod or -l name=mod)");
            return HAS_ERROR;
          }
        }
        break;
      default:
      bad:
        fbh_unknown_option(s);
        return HAS_ERROR;
    }
  }
  a->script = 0;
  return 0;
}

/* arg[0] is the script, arg[1..] its arguments, arg[-n..-1] what came before. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  int narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = fbh_docall(L, 0, 0);
  return fbh_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

/* -l mod / -l g=mod: global g = require "mod". A module that is nowhere to be
 * found is a mistake on the command line (2), not an error of the module (1). */
static int dolibrary(lua_State *L, char *spec) {
  char *eq = strchr(spec, '=');
  const char *global = spec, *mod = spec;
  if (eq) { *eq = '\0'; mod = eq + 1; }
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = fbh_docall(L, 1, 1), result = FBH_EXIT_OK;
  if (status == LUA_OK) {
    lua_setglobal(L, global);
  } else {
    char missing[300];
    snprintf(missing, sizeof missing, "module '%s' not found:", mod);
    const char *msg = lua_tostring(L, -1);
    if (msg && strncmp(msg, missing, strlen(missing)) == 0) {
      fbh_usage_error("-l %s: no module '%s' on package.path or package.cpath", spec, mod);
      lua_pop(L, 1);
      result = FBH_EXIT_USAGE;
    } else {
      fbh_report(L, status);
      result = fbh_failure_status();
    }
  }
  if (eq) *eq = '=';
  return result;
}

/* -e, -l, -W in command-line order; the host options were handled already.
 * Returns 0, or the exit status after a failure. */
static int run_args(lua_State *L, host_args *a) {
  int last = a->script ? a->script : a->argc;
  char **argv = a->argv;
  for (int i = 1; i < last; i++) {
    if (a->host_arg[i]) continue;  /* handled in collect_args (values included) */
    const char *s = argv[i];
    if (s[0] != '-' || strcmp(s, "--") == 0 || strcmp(s, "-") == 0) break;
    if (s[1] == 'W') { lua_warning(L, "@on", 0); continue; }
    if (s[1] != 'e' && s[1] != 'l') continue;
    char *extra = (char *)s + 2;
    if (*extra == '\0') extra = argv[++i];
    if (s[1] == 'l') {
      int status = dolibrary(L, extra);
      if (status != FBH_EXIT_OK) return status;
    } else if (dostring(L, extra, "=(command line)") != LUA_OK) {
      return fbh_failure_status();
    }
  }
  return 0;
}

static int push_script_args(lua_State *L) {
  lua_getglobal(L, "arg");
  if (!lua_istable(L, -1)) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

/* Returns 0, or the exit status after a failure (2 for a script that cannot be read). */
static int handle_script(lua_State *L, char **argv, int script) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && (script < 1 || strcmp(argv[script - 1], "--") != 0)) fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_ERRFILE) {
    fbh_report(L, status);
    return FBH_EXIT_USAGE;
  }
  if (status == LUA_OK) {
    int n = push_script_args(L);
    status = fbh_docall(L, n, LUA_MULTRET);
  }
  if (fbh_report(L, status) == LUA_OK) return 0;
  return status == LUA_ERRSYNTAX ? FBH_EXIT_ERROR : fbh_failure_status();
}

/* Returns 0, or the exit status after a failure: LUA_INIT=@file naming a file that
 * cannot be read is a mistake in the environment (2); its code failing is 1. */
static int handle_luainit(lua_State *L) {
  const char *name = "LUA_INIT_5_4";
  const char *init = getenv(name);
  if (init == NULL) {
    name = "LUA_INIT";
    init = getenv(name);
  }
  if (init == NULL) return 0;
  if (init[0] == '@' && access(init + 1, R_OK) != 0) {
    fbh_usage_error("%s=%s: cannot read %s (%s)", name, init, init + 1, strerror(errno));
    return FBH_EXIT_USAGE;
  }
  char chunkname[32];
  snprintf(chunkname, sizeof chunkname, "=%s", name);
  int status = init[0] == '@' ? dofile(L, init + 1) : dostring(L, init, chunkname);
  return status == LUA_OK ? 0 : fbh_failure_status();
}

/* The REPL starts after -i, or with nothing to run and a terminal on stdin. */
static int wants_repl(const host_args *a) {
  if (a->flags & HAS_I) return 1;
  return a->script == 0 && !(a->flags & (HAS_E | HAS_V)) && isatty(STDIN_FILENO);
}

/* Sets a->status: the first failure's, else what the script came to. */
static int protected_main(lua_State *L) {
  host_args *a = lua_touserdata(L, 1);
  luaL_checkversion(L);
  if (a->flags & HAS_BIG_E) {  /* package reads this before looking at LUA_PATH */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  fbh_connect_install(L, &a->opts);
  create_arg_table(L, a->argv, a->argc, a->script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  fbh_signals_install(L);
  if (!(a->flags & HAS_BIG_E) && (a->status = handle_luainit(L)) != 0) return 0;
  if ((a->status = run_args(L, a)) != 0) return 0;
  if (a->flags & HAS_M) {  /* a tool is the whole run, and its status is the program's */
    int st = fbh_tool_run(L, a->argc, a->argv, a->script);
    a->status = st >= 0 ? st : fbh_failure_status();
    return 0;
  }
  if (a->script > 0 && (a->status = handle_script(L, a->argv, a->script)) != 0) return 0;
  if (wants_repl(a)) {
    fbh_repl_run(L, &a->opts);   /* an interactive session ends with 0 */
    return 0;
  }
  if (a->script == 0 && !(a->flags & (HAS_E | HAS_V)) && dofile(L, NULL) != LUA_OK) {
    a->status = fbh_failure_status();
    return 0;
  }
  a->status = fbh_outcome_status(L);
  return 0;
}

int main(int argc, char **argv) {
  static host_args a;  /* static: the atexit handler in fbh_connect.c uses a.opts */
  a.argc = argc;
  a.argv = argv;
  if (argv[0] && argv[0][0]) fbh_progname = argv[0];
  fbh_options_init(&a.opts);
  /* from the start, so no way out leaves a key unwiped or a sandbox running
   * (os.exit included); a.opts lives until exit */
  fbh_connect_at_exit(&a.opts);
  a.host_arg = calloc((size_t)argc + 1, 1);
  if (!a.host_arg) return FBH_EXIT_ERROR;
  a.flags |= collect_args(&a);
  if (a.flags & HAS_ERROR) return FBH_EXIT_USAGE;
  if (a.flags & HAS_V) print_version();
  if (fbh_options_resolve(&a.opts) != 0) return FBH_EXIT_USAGE;
  if (wants_repl(&a)) {
    if (fbh_repl_check_env() != 0) return FBH_EXIT_USAGE;
    fbh_repl_track_output();
  }
  if (a.opts.verbose) {
    if (a.opts.api_key) fprintf(stderr, "%s: API key from %s\n", fbh_progname, a.opts.key_source);
    if (a.opts.base_url) fprintf(stderr, "%s: base URL %s\n", fbh_progname, a.opts.base_url);
  }
  /* --sandbox-opt starts the sandbox at once too: its options are checked before any Lua runs */
  if ((a.opts.sandbox || a.opts.sandbox_argc > 0) && fbh_sandbox_start(&a.opts) != 0) return FBH_EXIT_USAGE;

  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fbh_message("cannot create state: not enough memory");
    return FBH_EXIT_ERROR;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, protected_main);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 1, 0, 0);
  if (status != LUA_OK) a.status = FBH_EXIT_ERROR;  /* out of memory before any script ran */
  fbh_report(L, status);
  lua_close(L);
  free(a.host_arg);
  return a.status;
}
