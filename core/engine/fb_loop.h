/* The per-lua_State event loop: one curl multi handle and a list of waits
 * (HTTP transfers and timers). A wait belongs either to a blocking caller,
 * who drives the loop until that wait is done, or to a scheduler-managed
 * coroutine, which yields and is handed back by core.wait() when it is ready. */
#ifndef FB_LOOP_H
#define FB_LOOP_H

#include <curl/curl.h>
#include <lua.h>

typedef struct fb_wait {
  struct fb_wait *prev, *next;  /* in the loop's pending or ready list */
  int list;                     /* which list: 0 none, 1 pending, 2 ready */
  double deadline;              /* timer: monotonic seconds; 0 for a transfer */
  CURL *easy;                   /* transfer, or NULL for a timer */
  CURLcode result;
  int done;
  lua_State *co;                /* managed coroutine, or NULL when blocking */
} fb_wait;

typedef struct fb_stats {
  lua_Integer requests, attempts, retries, throttled;
  lua_Integer reads, lists, writes;   /* requests by kind (first attempts only) */
  /* calls that ended with the key refused, or with the day's quota spent: the
   * fusebill program's exit status reports them (lua/fusebill/exit_status.lua) */
  lua_Integer auth_failures, quota_stops;
  lua_Integer buffered, buffered_peak;   /* bytes of answers being received, now and at most */
} fb_stats;

typedef struct fb_loop fb_loop;

/* Returns this state's loop, creating it on first use (kept in the registry). */
fb_loop *fb_loop_get(lua_State *L);
fb_stats *fb_loop_stats(fb_loop *loop);
int fb_loop_lent(const fb_loop *loop);     /* easy handles in use by calls now */
double fb_loop_random(fb_loop *loop);      /* uniform in [0, 1), for jitter */

/* An easy handle from the loop's pool and back. A handle released by an owner
 * goes back to that owner with its options as they were left (*fresh = 0), so
 * the owner sets only what changes per request instead of resetting the handle
 * and setting everything again; any other handle comes reset to libcurl's
 * defaults (*fresh = 1). Owner tags come from fb_loop_new_owner and are never
 * reused, so a handle set up for an owner that has gone cannot pass for one set
 * up for a new owner that happens to live at the same address. */
unsigned long fb_loop_new_owner(fb_loop *loop);
CURL *fb_loop_easy(fb_loop *loop, unsigned long owner, int *fresh);
void fb_loop_release_easy(fb_loop *loop, CURL *easy, unsigned long owner);

/* Starts a wait: adds the transfer to the multi handle, or arms the timer. */
int fb_loop_start(fb_loop *loop, fb_wait *w);
/* Cancels a wait that may still be pending (safe on finished waits). */
void fb_loop_cancel(fb_loop *loop, fb_wait *w);

/* Waiting for a started wait `w`, one of two ways. In a managed coroutine
 * (fb_loop_is_managed), `return fb_loop_yield(L, w, ctx, k)`: it yields core.WAIT
 * and k runs when the scheduler resumes the coroutine. Anywhere else,
 * fb_loop_block drives the loop until w is done; it raises "interrupted" if
 * fb_interrupt() was called meanwhile. */
int fb_loop_is_managed(lua_State *L);
void fb_loop_block(lua_State *L, fb_loop *loop, fb_wait *w);
int fb_loop_yield(lua_State *L, fb_wait *w, lua_KContext ctx, lua_KFunction k);

double fb_now(void);                       /* monotonic seconds */
int fb_interrupted(void);
void fb_clear_interrupt(void);

/* core.manage, core.wait, core.sleep, core.WAIT into the table on top. */
void fb_loop_open(lua_State *L);

#endif
