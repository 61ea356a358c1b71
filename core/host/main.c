/* fusebill: the host program. For scripts it behaves like lua5.4 (same options,
 * `arg` table, LUA_INIT, exit status, errors with a traceback on stderr), so tools
 * such as `busted --lua=fusebill` work; on top it preloads cjson and fusebill and
 * configures fusebill.client() from its own options (fbh_options.c). With no
 * script on a terminal it opens the REPL (fbh_repl.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "fusebill.h"
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
  int tool_status;   /* -m: the tool's exit status */
  unsigned char *host_arg;  /* host_arg[i]: argv[i] belongs to a host option */
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
      if (used == 0) {
        fprintf(stderr, "%s: unrecognized option '%s'\n", fbh_progname, s);
        return HAS_ERROR;
      }
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
            fprintf(stderr, "%s: '%s' needs argument\n", fbh_progname, s);
            return HAS_ERROR;
          }
        }
        break;
      default:
      bad:
        fprintf(stderr, "%s: unrecognized option '%s'\n", fbh_progname, s);
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

/* -l mod / -l g=mod: global g = require "mod" */
static int dolibrary(lua_State *L, char *spec) {
  char *eq = strchr(spec, '=');
  const char *global = spec, *mod = spec;
  if (eq) { *eq = '\0'; mod = eq + 1; }
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = fbh_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, global);
  if (eq) *eq = '=';
  return fbh_report(L, status);
}

/* -e, -l, -W in command-line order; the host options were handled already. */
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
    int status = s[1] == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
    if (status != LUA_OK) return 0;
  }
  return 1;
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

static int handle_script(lua_State *L, char **argv, int script) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && (script < 1 || strcmp(argv[script - 1], "--") != 0)) fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = push_script_args(L);
    status = fbh_docall(L, n, LUA_MULTRET);
  }
  return fbh_report(L, status);
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv("LUA_INIT_5_4");
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv("LUA_INIT");
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

static int protected_main(lua_State *L) {
  host_args *a = lua_touserdata(L, 1);
  luaL_checkversion(L);
  if (a->flags & HAS_BIG_E) {  /* package reads this before looking at LUA_PATH */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  fbh_options_install(L, &a->opts);
  create_arg_table(L, a->argv, a->argc, a->script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  fbh_signals_install(L);
  if (!(a->flags & HAS_BIG_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!run_args(L, a)) return 0;
  if (a->flags & HAS_M) {  /* a tool is the whole run */
    a->tool_status = fbh_tool_run(L, a->argc, a->argv, a->script);
    lua_pushboolean(L, a->tool_status >= 0);
    return 1;
  }
  if (a->script > 0 && handle_script(L, a->argv, a->script) != LUA_OK) return 0;
  if (a->flags & HAS_I) {
    fbh_repl_run(L, &a->opts);
  } else if (a->script == 0 && !(a->flags & (HAS_E | HAS_V))) {
    if (isatty(STDIN_FILENO)) {
      fbh_repl_run(L, &a->opts);
    } else if (dofile(L, NULL) != LUA_OK) {
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  static host_args a;  /* static: the atexit handler in fbh_options.c uses a.opts */
  a.argc = argc;
  a.argv = argv;
  if (argv[0] && argv[0][0]) fbh_progname = argv[0];
  fbh_options_init(&a.opts);
  a.host_arg = calloc((size_t)argc + 1, 1);
  if (!a.host_arg) return EXIT_FAILURE;
  a.flags |= collect_args(&a);
  if (a.flags & HAS_ERROR) {
    fprintf(stderr, "usage: %s [options] [script [args]] (try --help)\n", fbh_progname);
    return EXIT_FAILURE;
  }
  if (a.flags & HAS_V) print_version();
  if (fbh_options_resolve(&a.opts) != 0) return EXIT_FAILURE;
  if (a.opts.verbose) {
    if (a.opts.api_key) fprintf(stderr, "%s: API key from %s\n", fbh_progname, a.opts.key_source);
    if (a.opts.base_url) fprintf(stderr, "%s: base URL %s\n", fbh_progname, a.opts.base_url);
  }
  if (a.opts.sandbox && fbh_sandbox_start(&a.opts) != 0) return EXIT_FAILURE;

  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fbh_message("cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, protected_main);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 1, 1, 0);
  int ok = lua_toboolean(L, -1);
  fbh_report(L, status);
  lua_close(L);
  free(a.host_arg);
  if (ok && status == LUA_OK && a.tool_status > 0) return a.tool_status;
  return (ok && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
