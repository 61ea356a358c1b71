/* Running Lua code in the host program the way lua.c does: a message handler that
 * adds a traceback, SIGINT turned into a Lua error (and an abort of any HTTP wait),
 * errors reported on stderr prefixed with the program name. Shared by main.c and
 * the REPL. */
#ifndef FBH_RUN_H
#define FBH_RUN_H

#include <setjmp.h>
#include <signal.h>
#include <lua.h>

/* The program's exit status (README, "Exit status"); os.exit(n) gives n. */
enum {
  FBH_EXIT_OK = 0,
  FBH_EXIT_ERROR = 1,        /* the script raised an error, as in lua5.4 */
  FBH_EXIT_USAGE = 2,        /* a mistake on the command line or in the environment */
  FBH_EXIT_FAILED = 3,       /* some item's latest outcome is a failure */
  FBH_EXIT_AUTH = 4,         /* the API refused the key */
  FBH_EXIT_QUOTA = 5,        /* the daily request quota is spent */
  FBH_EXIT_INTERRUPTED = 130 /* Ctrl-C, as a shell reports a SIGINT death */
};

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

/* The exit status after a chunk raised: 130 once Ctrl-C interrupted the script,
 * 4 or 5 when the error raised was a fusebill error saying the key was refused
 * or the day's quota is spent (`assert(fb.customers:get(1))`), else 1. */
int fbh_failure_status(void);
/* The exit status of a script that ended normally: 130 once Ctrl-C interrupted
 * it, else what the fusebill.exit_status record says (0 when the script never
 * loaded fusebill). */
int fbh_outcome_status(lua_State *L);

#endif
