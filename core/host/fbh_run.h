/* Running Lua code in the host program the way lua.c does: a message handler that
 * adds a traceback, SIGINT turned into a Lua error (and an abort of any HTTP wait),
 * errors reported on stderr prefixed with the program name. Shared by main.c and
 * the REPL. */
#ifndef FBH_RUN_H
#define FBH_RUN_H

#include <setjmp.h>
#include <signal.h>
#include <lua.h>

extern const char *fbh_progname;
/* 0 while the REPL runs: like lua.c, errors at the prompt print without the
 * program name (messages about the program itself keep it). */
extern int fbh_prefix_errors;

/* Set by the REPL while it waits in readline: SIGINT then jumps back to the
 * prompt (clearing the line) instead of interrupting Lua. */
extern volatile sig_atomic_t fbh_at_prompt;
extern sigjmp_buf fbh_prompt_jmp;

/* 1: SIGINT stays handled after the first one (the REPL); 0: the first Ctrl-C
 * interrupts, a second one kills the process (lua.c's behaviour for scripts). */
void fbh_signals_persistent(int on);
void fbh_signals_install(lua_State *L);

/* Calls the function below `narg` arguments on the stack in protected mode, with
 * a traceback handler and SIGINT handling. Returns the lua_pcall status. */
int fbh_docall(lua_State *L, int narg, int nres);
/* Prints the error on top of the stack (if status != LUA_OK) and pops it. */
int fbh_report(lua_State *L, int status);
void fbh_message(const char *msg);

#endif
