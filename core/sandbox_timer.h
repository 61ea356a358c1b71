/* A timer thread that resumes suspended libmicrohttpd connections when they are due.
 * Latency and hang faults park a connection (MHD_suspend_connection) instead of
 * sleeping, so the single polling thread keeps serving everybody else. */
#ifndef FB_SANDBOX_TIMER_H
#define FB_SANDBOX_TIMER_H

#include <microhttpd.h>

typedef struct fb_sb_timer fb_sb_timer;

fb_sb_timer *fb_sb_timer_start(void);
/* Resume `c` after `delay_ms` milliseconds. Call right after MHD_suspend_connection. */
int fb_sb_timer_add(fb_sb_timer *t, double delay_ms, struct MHD_Connection *c);
/* Resumes every connection still waiting (the daemon must still run), joins, frees. */
void fb_sb_timer_stop(fb_sb_timer *t);
/* Monotonic clock in milliseconds. */
double fb_sb_now_ms(void);

#endif
