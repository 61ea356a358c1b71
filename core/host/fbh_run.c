/* See fbh_run.h. The shape follows lua.c (msghandler, docall, report) so the host
 * behaves the way lua5.4 users and tools like busted expect. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include "fbh_plugin.h"
#include "fbh_run.h"

const char *fbh_progname = "fusebill";
int fbh_prefix_errors = 1;
volatile sig_atomic_t fbh_at_prompt = 0;
sigjmp_buf fbh_prompt_jmp;

static lua_State *signal_L = NULL;
static int persistent = 0;
static volatile sig_atomic_t interrupted = 0;  /* a script (not the REPL) got Ctrl-C */
static int raised_status = FBH_EXIT_ERROR;    /* what the last error raised means */

void fbh_signals_install(lua_State *L) {
  signal_L = L;
}

/* The hook raises the error at the next safe point in Lua code. */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
  if (fbh_at_prompt) {
    fbh_at_prompt = 0;
    siglongjmp(fbh_prompt_jmp, 1);
  }
  if (!persistent) {
    interrupted = 1;
    signal(sig, SIG_DFL);                /* a second Ctrl-C kills, as in lua.c */
  }
  else if (write(STDOUT_FILENO, "\n", 1) < 0) { /* REPL: the error starts on a line of its own */ }
  fbh_plugin_interrupt();                /* wake up curl and backoff sleeps */
  if (signal_L)
    lua_sethook(signal_L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

static void set_sigint(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  /* no SA_RESTART: a blocking read at the prompt must return */
  sigaction(SIGINT, &sa, NULL);
}

/* FBH_EXIT_AUTH or FBH_EXIT_QUOTA for a fusebill error object that says so;
 * read raw, so no metamethod runs inside the message handler. */
static int status_of_error(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return FBH_EXIT_ERROR;
  luaL_getmetatable(L, "fusebill.error");
  int is_fusebill = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  if (!is_fusebill) return FBH_EXIT_ERROR;
  lua_pushliteral(L, "kind");
  lua_rawget(L, idx);
  lua_pushliteral(L, "limit");
  lua_rawget(L, idx);
  const char *kind = lua_tostring(L, -2), *limit = lua_tostring(L, -1);
  int status = FBH_EXIT_ERROR;
  if (kind && strcmp(kind, "auth") == 0) status = FBH_EXIT_AUTH;
  else if (kind && limit && strcmp(kind, "rate_limited") == 0 && strcmp(limit, "day") == 0) status = FBH_EXIT_QUOTA;
  lua_pop(L, 2);
  return status;
}

static int msghandler(lua_State *L) {
  raised_status = status_of_error(L, 1);
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    /* error objects (fusebill errors included) print through __tostring, and
     * unlike lua.c we still add the traceback: it says which call failed */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int fbh_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  signal_L = L;
  set_sigint(on_sigint);
  int status = lua_pcall(L, narg, nres, base);
  if (persistent) set_sigint(on_sigint); else set_sigint(SIG_DFL);
  lua_remove(L, base);
  return status;
}

void fbh_message(const char *msg) {
  if (fbh_prefix_errors) fprintf(stderr, "%s: ", fbh_progname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

int fbh_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    fbh_message(msg);
    lua_pop(L, 1);
  }
  return status;
}

void fbh_signals_persistent(int on) {
  persistent = on;
  set_sigint(on ? on_sigint : SIG_DFL);
}


int fbh_failure_status(void) {
  return interrupted ? FBH_EXIT_INTERRUPTED : raised_status;
}

int fbh_outcome_status(lua_State *L) {
  if (interrupted) return FBH_EXIT_INTERRUPTED;
  int top = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_getfield(L, -1, "fusebill") != LUA_TNIL;
  lua_settop(L, top);
  if (!loaded) return FBH_EXIT_OK;   /* a plain Lua script: as lua5.4 */
  const char *code = "return require('fusebill.exit_status').status()";
  int status = luaL_loadstring(L, code);
  if (status == LUA_OK) status = fbh_docall(L, 0, 1);
  int result = FBH_EXIT_ERROR;
  if (status != LUA_OK) fbh_report(L, status);
  else if (lua_isinteger(L, -1)) result = (int)lua_tointeger(L, -1);
  lua_settop(L, top);
  return result;
}
