/* See repl.h. The line reading and Lua plumbing are here; what to complete and how
 * to print values is Lua (lua/fusebill/repl.lua and pretty.lua), where it is short. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <editline/readline.h>
#include <lauxlib.h>
#include "fusebill.h"
#include "fbh_check.h"
#include "fbh_connect.h"
#include "fbh_run.h"
#include "fbh_repl.h"

#define PROMPT "fusebill> "
#define PROMPT2 "      >> "
#define HISTORY_MAX 1000

static lua_State *repl_L = NULL;
static int repl_ref = LUA_NOREF;  /* the host.repl module */
static char history_path[4096];

/* Output that ends mid-line (io.write("x")) must not run into the prompt. Lua,
 * print and C modules all write through stdio's stdout, so in a REPL session
 * stdout is a stream of our own (fbh_repl_track_output) that writes to fd 1 and
 * remembers whether the last byte was a newline; libedit keeps the original. */
static FILE *terminal = NULL;
static int mid_line = 0;

static ssize_t track_write(void *cookie, const char *buf, size_t n) {
  size_t done = 0;
  (void)cookie;
  while (done < n) {
    ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return done > 0 ? (ssize_t)done : -1;
    done += (size_t)w;
  }
  if (n > 0) mid_line = buf[n - 1] != '\n';
  return (ssize_t)n;
}

void fbh_repl_track_output(void) {
  cookie_io_functions_t io = { NULL, track_write, NULL, NULL };
  FILE *f = fopencookie(NULL, "w", io);
  if (!f) return;   /* then the prompt may follow output on its line, as in lua5.4 */
  setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
  fflush(stdout);
  terminal = stdout;
  stdout = f;
}

/* Ends the line that output left open, so a prompt, result or error starts a line. */
static void start_line(void) {
  fflush(stdout);
  if (mid_line) {
    fputc('\n', stdout);
    fflush(stdout);
  }
}

/* Completion candidates from the Lua side, handed out one by one to libedit. */
static char **cands = NULL;
static size_t ncands = 0;

static void free_cands(void) {
  for (size_t i = 0; i < ncands; i++) free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = 0;
}

static char *cand_generator(const char *text, int state) {
  static size_t next;
  (void)text;
  if (state == 0) next = 0;
  if (next < ncands) return strdup(cands[next++]);
  return NULL;
}

/* rl_attempted_completion_function: asks host.repl.complete(text). */
static char **complete(const char *text, int start, int end) {
  (void)start; (void)end;
  rl_attempted_completion_over = 1;  /* never fall back to file names */
  free_cands();
  lua_State *L = repl_L;
  if (!L || repl_ref == LUA_NOREF) return NULL;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, repl_ref);
  lua_getfield(L, -1, "complete");
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    size_t n = (size_t)luaL_len(L, -1);
    cands = calloc(n + 1, sizeof *cands);
    for (size_t i = 1; cands && i <= n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      const char *s = lua_tostring(L, -1);
      if (s) cands[ncands++] = strdup(s);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  if (ncands == 0) return NULL;
  return rl_completion_matches(text, cand_generator);
}

/* readline, with Ctrl-C clearing the line: the SIGINT handler jumps back here
 * while we sit in readline (libedit's own signal handling is off). */
static char *read_line(const char *prompt, int *interrupted) {
  *interrupted = 0;
  if (sigsetjmp(fbh_prompt_jmp, 1) != 0) {
    *interrupted = 1;
    fputs("^C\n", stdout);
    fflush(stdout);
    return NULL;
  }
  start_line();
  fbh_at_prompt = 1;
  char *line = readline(prompt);
  fbh_at_prompt = 0;
  mid_line = 0;   /* the Enter that ended the line moved the cursor to a new one */
  return line;
}

static void save_history_entry(const char *entry) {
  if (!*entry) return;
  add_history(entry);
  if (history_path[0]) write_history(history_path);  /* every entry: a killed session keeps its history */
}

/* Compiles `code`; 1 if the chunk is incomplete (more lines would finish it). */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    const char *eof = "<eof>";
    size_t el = strlen(eof);
    if (len >= el && strcmp(msg + len - el, eof) == 0) return 1;
  }
  return 0;
}

/* Reads one statement or expression (several lines if needed) and leaves the
 * compiled chunk on the stack. Returns LUA_OK / an error status, or -1 at end of
 * input, -2 after Ctrl-C, 1 for a dot command already handled, 2 for .exit. */
static int read_chunk(lua_State *L) {
  int intr;
  char *line = read_line(PROMPT, &intr);
  if (intr) return -2;
  if (!line) return -1;
  size_t len = strlen(line);
  while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = '\0';
  if (line[0] == '.' && (line[1] == '\0' || (line[1] >= 'a' && line[1] <= 'z'))) {
    save_history_entry(line);
    int r = 1;
    if (strcmp(line, ".exit") == 0 || strcmp(line, ".quit") == 0) {
      r = 2;
    } else if (strcmp(line, ".help") == 0) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, repl_ref);
      lua_getfield(L, -1, "help");
      lua_remove(L, -2);
      fbh_report(L, fbh_docall(L, 0, 0));
    } else {
      fprintf(stdout, "unknown command %s (try .help)\n", line);
    }
    free(line);
    return r;
  }
  /* an expression is shown without `return` or `=`: try "return <line>" first */
  const char *src = line[0] == '=' ? line + 1 : line;
  lua_pushfstring(L, "return %s;", src);
  const char *ret = lua_tostring(L, -1);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    save_history_entry(line);
    free(line);
    return LUA_OK;
  }
  lua_pop(L, 2);
  /* a statement, perhaps over several lines */
  lua_pushstring(L, line);
  free(line);
  for (;;) {
    const char *code = lua_tolstring(L, -1, &len);
    status = luaL_loadbuffer(L, code, len, "=stdin");
    if (!incomplete(L, status)) break;
    lua_pop(L, 1);  /* the "<eof>" syntax error */
    char *more = read_line(PROMPT2, &intr);
    if (intr) { lua_pop(L, 1); return -2; }
    if (!more) {  /* end of input: report the incomplete chunk's error */
      code = lua_tolstring(L, -1, &len);
      status = luaL_loadbuffer(L, code, len, "=stdin");
      break;
    }
    lua_pushfstring(L, "%s\n%s", lua_tostring(L, -1), more);
    lua_remove(L, -2);
    free(more);
  }
  save_history_entry(lua_tostring(L, -2));
  lua_remove(L, -2);  /* the source; leaves the chunk or the error */
  return status;
}

/* Prints what a chunk returned with host.pretty (via host.repl.show). */
static void show_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n <= 0) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, repl_ref);
  lua_getfield(L, -1, "show");
  lua_remove(L, -2);
  lua_insert(L, base + 1);
  fbh_report(L, fbh_docall(L, n, 0));
}

/* Loads fusebill, binds `fb`, and gets the helper module. Failures are reported
 * (the REPL is still useful as a plain Lua REPL). */
static void setup(lua_State *L) {
  const char *code =
    "fusebill = require 'fusebill'\n"
    "local ok, c = pcall(fusebill.client)\n"
    "if ok then fb = c else io.stderr:write('fusebill: no client: ', tostring(c), '\\n') end\n";
  if (luaL_loadbuffer(L, code, strlen(code), "=(repl setup)") == LUA_OK)
    fbh_report(L, fbh_docall(L, 0, 0));
  else
    fbh_report(L, LUA_ERRSYNTAX);
  lua_getglobal(L, "require");
  lua_pushstring(L, "host.repl");
  if (fbh_report(L, fbh_docall(L, 1, 1)) == LUA_OK) repl_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int fbh_repl_check_env(void) {
  const char *path = getenv("FUSEBILL_HISTORY");
  if (!path || !*path) return 0;   /* unset or empty: ~/.fusebill_history */
  return fbh_check_writable("FUSEBILL_HISTORY", path);
}

static void history_setup(void) {
  const char *path = getenv("FUSEBILL_HISTORY");
  const char *home = getenv("HOME");
  history_path[0] = '\0';
  if (path && *path) snprintf(history_path, sizeof history_path, "%s", path);
  else if (home && *home) snprintf(history_path, sizeof history_path, "%s/.fusebill_history", home);
  using_history();
  stifle_history(HISTORY_MAX);
  if (history_path[0]) read_history(history_path);
}

void fbh_repl_run(lua_State *L, fbh_options *opts) {
  repl_L = L;
  fbh_prefix_errors = 0;  /* as lua.c: errors at the prompt are not prefixed */
  fbh_signals_persistent(1);
  setup(L);
  fprintf(stdout, "fusebill %s (%s), connected to %s\n", FB_VERSION, LUA_RELEASE,
          fbh_connection_label(opts));
  fprintf(stdout, "`fb` is fusebill.client(). Tab completes, .help lists commands, .exit or Ctrl-D leaves.\n");
  fflush(stdout);

  if (terminal) rl_outstream = terminal;
  rl_readline_name = "fusebill";
  rl_catch_signals = 0;  /* our SIGINT handler clears the line (see read_line) */
  static char word_breaks[] = " \t\n\"'`@$><=;|&{(,+-*/%^#~[]})";  /* not . or : */
  rl_basic_word_break_characters = word_breaks;
  rl_completer_word_break_characters = word_breaks;
  rl_completion_append_character = '\0';
  rl_attempted_completion_function = complete;
  history_setup();

  for (;;) {
    int base = lua_gettop(L);
    int status = read_chunk(L);
    if (status == -1) { fputs("\n", stdout); break; }
    if (status == 2) break;
    if (status == -2 || status == 1) { lua_settop(L, base); continue; }
    if (status == LUA_OK) status = fbh_docall(L, 0, LUA_MULTRET);
    start_line();
    if (status == LUA_OK) show_results(L, base);
    else fbh_report(L, status);
    lua_settop(L, base);
  }
  free_cands();
  if (repl_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, repl_ref);
  repl_ref = LUA_NOREF;
  fbh_signals_persistent(0);
  fbh_prefix_errors = 1;
  fflush(stdout);
}
