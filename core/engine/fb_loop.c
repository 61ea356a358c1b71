/* The event loop behind every call: one curl multi handle per lua_State.
 *
 * A blocking call starts its wait and drives this loop until that wait is done;
 * transfers of other (suspended) coroutines make progress meanwhile, and their
 * waits land on the ready list for core.wait() to hand back. A managed
 * coroutine starts its wait and yields core.WAIT instead, so a scheduler can
 * keep many requests in flight on one thread. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include "fb_loop.h"
#include "fusebill.h"

#define LOOP_KEY    "fusebill.loop"
#define MANAGED_KEY "fusebill.managed"
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

void fb_loop_block(lua_State *L, fb_loop *loop, fb_wait *w) {
  while (!w->done) {
    if (fb_interrupted()) {
      fb_clear_interrupt();
      fb_loop_cancel(loop, w);
      luaL_error(L, "interrupted");
    }
    run_once(loop, INTERRUPT_POLL);
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

  lua_pushcfunction(L, core_manage);
  lua_setfield(L, -2, "manage");
  lua_pushcfunction(L, core_wait);
  lua_setfield(L, -2, "wait");
  lua_pushcfunction(L, core_sleep);
  lua_setfield(L, -2, "sleep");
  lua_pushlightuserdata(L, &wait_token);
  lua_setfield(L, -2, "WAIT");
}
