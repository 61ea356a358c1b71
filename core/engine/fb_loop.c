/* The event loop behind every call: one curl multi handle per lua_State.
 *
 * A blocking call starts its wait and drives this loop until that wait is done;
 * transfers of other (suspended) coroutines make progress meanwhile, and their
 * waits land on the ready list for core.wait() to hand back. A managed
 * coroutine starts its wait and yields core.WAIT instead, so a scheduler can
 * keep many requests in flight on one thread.
 *
 * A task (core.spawn) is a managed coroutine that no scheduler owns: the loop
 * resumes it itself whenever its wait is over, whoever is driving the loop at
 * that moment (a blocking call, a join, core.wait). That is how a list fetches
 * its next page while the current one is worked, in a plain loop of blocking
 * calls and inside fusebill.each alike. Tasks are resumed with lua_resume after
 * curl has returned, never from a curl callback, so an error in one ends that
 * task and unwinds through no C frame of ours or libcurl's. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include "fb_loop.h"
#include "fusebill.h"

#define LOOP_KEY    "fusebill.loop"
#define MANAGED_KEY "fusebill.managed"
#define TASKS_KEY   "fusebill.tasks"     /* running tasks: coroutine (light userdata) -> task */
#define TASK_MT     "fusebill.task"
#define POOL_MAX 32
/* Blocking waits wake at least this often to notice fb_interrupt(). */
#define INTERRUPT_POLL 0.2

struct fb_loop {
  CURLM *multi;
  fb_wait pending, ready;  /* list sentinels */
  int transfers;           /* transfers in the pending list */
  int lent;                /* easy handles handed out and not yet back */
  unsigned long finished;  /* waits finished so far: tells run_once not to sleep */
  struct { CURL *easy; unsigned long owner; } pool[POOL_MAX];
  int npool;
  unsigned long owners;    /* owner tags handed out so far */
  fb_stats stats;
  uint64_t rng;
  int tasks;               /* tasks running: none, and the loop skips looking for them */
};

static volatile sig_atomic_t interrupt_flag;

void fb_interrupt(void) { interrupt_flag = 1; }
int fb_interrupted(void) { return interrupt_flag != 0; }
void fb_clear_interrupt(void) { interrupt_flag = 0; }

double fb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- lists -------------------------------------------------------------- */

static void list_init(fb_wait *head) { head->prev = head->next = head; }

static void list_push(fb_wait *head, fb_wait *w, int which) {
  w->prev = head->prev;
  w->next = head;
  head->prev->next = w;
  head->prev = w;
  w->list = which;
}

static void list_unlink(fb_wait *w) {
  w->prev->next = w->next;
  w->next->prev = w->prev;
  w->prev = w->next = NULL;
  w->list = 0;
}

enum { IN_NONE, IN_PENDING, IN_READY };

/* ---- the loop object ---------------------------------------------------- */

static int loop_gc(lua_State *L) {
  fb_loop *loop = lua_touserdata(L, 1);
  /* Calls and sleeps are finalized before the loop (they were created later),
   * and each cancels its own wait, so only the pool is left to free here. */
  for (int i = 0; i < loop->npool; i++) curl_easy_cleanup(loop->pool[i].easy);
  loop->npool = 0;
  if (loop->multi) curl_multi_cleanup(loop->multi);
  loop->multi = NULL;
  return 0;
}

fb_loop *fb_loop_get(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LOOP_KEY) == LUA_TUSERDATA) {
    fb_loop *loop = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return loop;
  }
  lua_pop(L, 1);
  fb_loop *loop = lua_newuserdatauv(L, sizeof *loop, 0);
  *loop = (fb_loop){0};
  list_init(&loop->pending);
  list_init(&loop->ready);
  loop->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)loop;
  if (loop->rng == 0) loop->rng = 88172645463325252ULL;
  loop->multi = curl_multi_init();
  if (!loop->multi) luaL_error(L, "fusebill: curl_multi_init failed");
  /* Reuse connections generously: a bulk run keeps dozens in flight. */
  curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, 64L);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, loop_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LOOP_KEY);
  return loop;
}

fb_stats *fb_loop_stats(fb_loop *loop) { return &loop->stats; }
int fb_loop_lent(const fb_loop *loop) { return loop->lent; }

double fb_loop_random(fb_loop *loop) {
  /* xorshift64*: cheap, and good enough for jitter */
  uint64_t x = loop->rng;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  loop->rng = x;
  return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

unsigned long fb_loop_new_owner(fb_loop *loop) { return ++loop->owners; }

CURL *fb_loop_easy(fb_loop *loop, unsigned long owner, int *fresh) {
  loop->lent++;
  for (int i = loop->npool - 1; i >= 0; i--) {
    if (loop->pool[i].owner != owner) continue;
    CURL *easy = loop->pool[i].easy;
    loop->pool[i] = loop->pool[--loop->npool];
    *fresh = 0;
    return easy;
  }
  *fresh = 1;
  if (loop->npool > 0) {
    CURL *easy = loop->pool[--loop->npool].easy;
    curl_easy_reset(easy);
    return easy;
  }
  return curl_easy_init();
}

void fb_loop_release_easy(fb_loop *loop, CURL *easy, unsigned long owner) {
  if (!easy) return;
  loop->lent--;
  if (loop->multi && loop->npool < POOL_MAX) {
    loop->pool[loop->npool].easy = easy;
    loop->pool[loop->npool++].owner = owner;
  } else {
    curl_easy_cleanup(easy);
  }
}

/* ---- waits -------------------------------------------------------------- */

int fb_loop_start(fb_loop *loop, fb_wait *w) {
  w->done = 0;
  w->result = CURLE_OK;
  if (w->easy) {
    curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
    if (curl_multi_add_handle(loop->multi, w->easy) != CURLM_OK) return -1;
    loop->transfers++;
  }
  list_push(&loop->pending, w, IN_PENDING);
  return 0;
}

void fb_loop_cancel(fb_loop *loop, fb_wait *w) {
  if (w->list == IN_PENDING) {
    if (w->easy) {
      if (loop->multi) curl_multi_remove_handle(loop->multi, w->easy);
      loop->transfers--;
    }
    list_unlink(w);
  } else if (w->list == IN_READY) {
    list_unlink(w);
  }
}

static void finish(fb_loop *loop, fb_wait *w) {
  list_unlink(w);
  if (w->easy) loop->transfers--;
  w->done = 1;
  loop->finished++;
  if (w->co) list_push(&loop->ready, w, IN_READY);
}

static void collect_transfers(fb_loop *loop) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(loop->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    fb_wait *w = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
    w->result = msg->data.result;
    curl_multi_remove_handle(loop->multi, msg->easy_handle);
    finish(loop, w);
  }
}

/* One turn: run curl, sleep until the next event (at most max_wait seconds),
 * then fire due timers. */
static void run_once(fb_loop *loop, double max_wait) {
  double now = fb_now(), timeout = max_wait;
  for (fb_wait *w = loop->pending.next; w != &loop->pending; w = w->next)
    if (!w->easy && w->deadline - now < timeout) timeout = w->deadline - now;
  if (timeout < 0) timeout = 0;

  if (loop->transfers > 0) {
    int running;
    unsigned long before = loop->finished;
    curl_multi_perform(loop->multi, &running);
    collect_transfers(loop);
    if (timeout > 0 && loop->finished == before) {
      curl_multi_poll(loop->multi, NULL, 0, (int)ceil(timeout * 1000), NULL);
      curl_multi_perform(loop->multi, &running);
      collect_transfers(loop);
    }
  } else if (timeout > 0) {
    struct timespec ts = { (time_t)timeout, (long)((timeout - floor(timeout)) * 1e9) };
    nanosleep(&ts, NULL);  /* EINTR is fine: the caller loops */
  }

  now = fb_now();
  for (fb_wait *w = loop->pending.next, *next; w != &loop->pending; w = next) {
    next = w->next;
    if (!w->easy && w->deadline <= now) finish(loop, w);
  }
}

static void resume_tasks(lua_State *L, fb_loop *loop);

void fb_loop_block(lua_State *L, fb_loop *loop, fb_wait *w) {
  while (!w->done) {
    if (fb_interrupted()) {
      fb_clear_interrupt();
      fb_loop_cancel(loop, w);
      luaL_error(L, "interrupted");
    }
    run_once(loop, INTERRUPT_POLL);
    resume_tasks(L, loop);
  }
}

int fb_loop_is_managed(lua_State *L) {
  if (!lua_isyieldable(L)) return 0;
  lua_getfield(L, LUA_REGISTRYINDEX, MANAGED_KEY);
  lua_rawgetp(L, -1, L);
  int managed = !lua_isnil(L, -1);
  lua_pop(L, 2);
  return managed;
}

static char wait_token;  /* its address is core.WAIT */

int fb_loop_yield(lua_State *L, fb_wait *w, lua_KContext ctx, lua_KFunction k) {
  w->co = L;
  lua_pushlightuserdata(L, &wait_token);
  return lua_yieldk(L, 1, ctx, k);
}

/* ---- Lua: core.manage, core.wait, core.sleep ---------------------------- */

static int core_manage(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  lua_getfield(L, LUA_REGISTRYINDEX, MANAGED_KEY);
  lua_pushvalue(L, 1);
  lua_rawsetp(L, -2, lua_tothread(L, 1));
  return 0;
}

/* core.wait(timeout) -> { coroutine, ... } whose waits have finished. */
static int core_wait(lua_State *L) {
  fb_loop *loop = fb_loop_get(L);
  double timeout = luaL_optnumber(L, 1, 1.0);
  double deadline = fb_now() + timeout;
  for (;;) {
    resume_tasks(L, loop);
    if (loop->ready.next != &loop->ready) break;
    if (fb_interrupted()) {
      fb_clear_interrupt();
      return luaL_error(L, "interrupted");
    }
    double left = deadline - fb_now();
    if (left <= 0) break;
    run_once(loop, left < INTERRUPT_POLL ? left : INTERRUPT_POLL);
  }
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, MANAGED_KEY);
  lua_Integer n = 0;
  while (loop->ready.next != &loop->ready) {
    fb_wait *w = loop->ready.next;
    list_unlink(w);
    if (lua_rawgetp(L, -1, w->co) == LUA_TTHREAD) lua_rawseti(L, -3, ++n);
    else lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 1;
}

typedef struct sleeper { fb_wait wait; fb_loop *loop; } sleeper;

static int sleeper_gc(lua_State *L) {
  sleeper *s = lua_touserdata(L, 1);
  fb_loop_cancel(s->loop, &s->wait);
  return 0;
}

static int sleep_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status; (void)ctx;
  sleeper *s = lua_touserdata(L, 2);
  if (!s->wait.done) return fb_loop_yield(L, &s->wait, 0, sleep_done);  /* resumed too early */
  return 0;
}

/* core.sleep(seconds): yields when managed, else blocks (interruptible). */
static int core_sleep(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  if (!(seconds > 0)) return 0;
  fb_loop *loop = fb_loop_get(L);
  sleeper *s = lua_newuserdatauv(L, sizeof *s, 0);
  *s = (sleeper){ .loop = loop };
  s->wait.deadline = fb_now() + seconds;
  if (luaL_newmetatable(L, "fusebill.sleeper")) {
    lua_pushcfunction(L, sleeper_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  fb_loop_start(loop, &s->wait);
  if (fb_loop_is_managed(L)) return fb_loop_yield(L, &s->wait, 0, sleep_done);
  fb_loop_block(L, loop, &s->wait);
  return 0;
}

/* ---- Lua: core.spawn, task:join ------------------------------------------ */

/* A task: uservalue 1 is its coroutine, 2 its results once it has ended
 * ({ n =, true, values... } or { n = 2, false, error }). */
typedef struct fb_task {
  fb_wait join;  /* the joiner's wait, finished when the task ends */
  fb_loop *loop;
  lua_State *co;
  int done;
} fb_task;

/* Forgets a task that has ended: it is no longer managed nor looked for. */
static void task_unregister(lua_State *L, fb_task *task) {
  lua_getfield(L, LUA_REGISTRYINDEX, MANAGED_KEY);
  lua_pushnil(L);
  lua_rawsetp(L, -2, task->co);
  lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
  lua_pushnil(L);
  lua_rawsetp(L, -2, task->co);
  lua_pop(L, 2);
  task->loop->tasks--;
}

/* The task at index t has ended with status st and nres values (or the error)
 * on its coroutine's stack: keep them for join, and wake the joiner. */
static void task_end(lua_State *L, int t, int st, int nres) {
  fb_task *task = lua_touserdata(L, t);
  lua_State *co = task->co;
  if (st != LUA_OK) nres = 1;       /* the error object */
  luaL_checkstack(L, nres + 3, "task results");
  lua_createtable(L, nres + 1, 1);
  int res = lua_gettop(L);
  lua_pushboolean(L, st == LUA_OK);
  lua_rawseti(L, res, 1);
  lua_xmove(co, L, nres);
  for (int i = nres; i >= 1; i--) lua_rawseti(L, res, i + 1);
  lua_pushinteger(L, nres + 1);
  lua_setfield(L, res, "n");
  lua_setiuservalue(L, t, 2);
  /* An error leaves the coroutine's to-be-closed values (a call in flight)
   * open: close them now rather than when the collector finds them. */
  if (st != LUA_OK) lua_resetthread(co);
  task->done = 1;
  task_unregister(L, task);
  if (task->join.list == IN_PENDING) finish(task->loop, &task->join);
}

/* Resumes the task at index t until it waits (yields core.WAIT) or ends. */
static void task_resume(lua_State *L, int t, int nargs) {
  fb_task *task = lua_touserdata(L, t);
  lua_State *co = task->co;
  for (;;) {
    int nres;
    int st = lua_resume(co, L, nargs, &nres);
    nargs = 0;
    if (st != LUA_YIELD) {
      task_end(L, t, st, nres);
      return;
    }
    int waiting = nres == 1 && lua_touserdata(co, -1) == &wait_token;
    lua_pop(co, nres);
    if (waiting) return;
    /* any other yield (a stray coroutine.yield): nobody else would resume it */
  }
}

/* Resumes every task whose wait is over. Called by whoever drives the loop,
 * after run_once, with curl idle. */
static void resume_tasks(lua_State *L, fb_loop *loop) {
  if (loop->tasks == 0 || loop->ready.next == &loop->ready) return;
  luaL_checkstack(L, 4, "resuming tasks");
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
  int tasks = lua_gettop(L);
  fb_wait *w = loop->ready.next;
  while (w != &loop->ready) {
    if (lua_rawgetp(L, tasks, w->co) != LUA_TUSERDATA) {
      lua_pop(L, 1);
      w = w->next;
      continue;
    }
    list_unlink(w);
    if (lua_status(w->co) == LUA_YIELD) task_resume(L, lua_gettop(L), 0);
    lua_settop(L, tasks);
    w = loop->ready.next;   /* the task may have changed the list: start again */
  }
  lua_settop(L, top);
}

/* core.spawn(fn, ...) -> task: runs fn(...) in a new managed coroutine at once,
 * up to its first wait; from then on the loop resumes it. */
static int core_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 1;
  fb_loop *loop = fb_loop_get(L);
  luaL_checkstack(L, nargs + 4, "spawn");
  fb_task *task = lua_newuserdatauv(L, sizeof *task, 2);
  memset(task, 0, sizeof *task);
  task->loop = loop;
  luaL_setmetatable(L, TASK_MT);
  int t = lua_gettop(L);
  lua_State *co = lua_newthread(L);
  task->co = co;
  lua_getfield(L, LUA_REGISTRYINDEX, MANAGED_KEY);
  lua_pushvalue(L, -2);
  lua_rawsetp(L, -2, co);
  lua_pop(L, 1);
  lua_setiuservalue(L, t, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
  lua_pushvalue(L, t);
  lua_rawsetp(L, -2, co);
  lua_pop(L, 1);
  loop->tasks++;
  for (int i = 1; i <= nargs + 1; i++) lua_pushvalue(L, i);
  lua_xmove(L, co, nargs + 1);
  task_resume(L, t, nargs);
  lua_settop(L, t);
  return 1;
}

static int task_results(lua_State *L, int t) {
  lua_getiuservalue(L, t, 2);
  int res = lua_gettop(L);
  lua_getfield(L, res, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n, "task results");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, res, i);
  return n;
}

static int join_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status; (void)ctx;
  lua_settop(L, 1);
  fb_task *task = lua_touserdata(L, 1);
  if (!task->done) return fb_loop_yield(L, &task->join, 0, join_done);  /* resumed too early */
  return task_results(L, 1);
}

/* task:join() -> true, fn's results | false, error: waits for the task to end
 * (yields when managed, else drives the loop, interruptibly). */
static int task_join(lua_State *L) {
  fb_task *task = luaL_checkudata(L, 1, TASK_MT);
  lua_settop(L, 1);
  if (task->done) return task_results(L, 1);
  if (task->join.list != 0) return luaL_error(L, "fusebill: a task is already being joined");
  task->join.easy = NULL;
  task->join.co = NULL;
  task->join.deadline = fb_now() + 1e9;  /* no timeout: task_end finishes it */
  fb_loop_start(task->loop, &task->join);
  if (fb_loop_is_managed(L)) return fb_loop_yield(L, &task->join, 0, join_done);
  fb_loop_block(L, task->loop, &task->join);
  return task_results(L, 1);
}

static int task_is_done(lua_State *L) {
  fb_task *task = luaL_checkudata(L, 1, TASK_MT);
  lua_pushboolean(L, task->done);
  return 1;
}

static int task_gc(lua_State *L) {
  fb_task *task = lua_touserdata(L, 1);
  fb_loop_cancel(task->loop, &task->join);
  return 0;
}

static void task_open(lua_State *L) {
  if (luaL_newmetatable(L, TASK_MT)) {
    static const luaL_Reg methods[] = { {"join", task_join}, {"done", task_is_done}, {NULL, NULL} };
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, task_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) != LUA_TTABLE) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
  }
  lua_pop(L, 1);
}

void fb_loop_open(lua_State *L) {
  fb_loop_get(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, MANAGED_KEY) != LUA_TTABLE) {
    lua_newtable(L);                       /* managed coroutines, weak values */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, MANAGED_KEY);
  }
  lua_pop(L, 1);

  static const luaL_Reg funcs[] = {
    {"manage", core_manage}, {"wait", core_wait}, {"sleep", core_sleep}, {"spawn", core_spawn},
    {NULL, NULL}
  };
  luaL_setfuncs(L, funcs, 0);
  task_open(L);
  lua_pushlightuserdata(L, &wait_token);
  lua_setfield(L, -2, "WAIT");
}
