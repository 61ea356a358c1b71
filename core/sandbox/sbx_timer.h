/* A timer thread that resumes suspended libmicrohttpd connections when they are due.
 * Latency and hang faults park a connection (MHD_suspend_connection) instead of
 * sleeping, so the single polling thread keeps serving everybody else. */
#ifndef FB_SANDBOX_TIMER_H
#define FB_SANDBOX_TIMER_H

#include <microhttpd.h>

typedef struct sbx_timer sbx_timer;

sbx_timer *sbx_timer_start(void);
/* Resume `c` after `delay_ms` milliseconds. Call right after MHD_suspend_connection.
 * Returns -1 (the caller resumes `c` itself) when out of memory or once stopped. */
int sbx_timer_add(sbx_timer *t, double delay_ms, struct MHD_Connection *c);
/* Resumes every connection still waiting (the daemon must still run) and joins the
 * thread; later adds are refused. The timer stays allocated until sbx_timer_free, so
 * a request the daemon's thread handles meanwhile can still ask (and be refused). */
void sbx_timer_stop(sbx_timer *t);
/* After the daemon has stopped. */
void sbx_timer_free(sbx_timer *t);
/* Monotonic clock in milliseconds. */
double sbx_now_ms(void);

#endif
