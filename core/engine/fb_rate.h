/* Pacing: keep a client just under the account's rate limit, by the server's word. */
#ifndef FB_RATE_H
#define FB_RATE_H

#include "fb_limits.h"

#define FB_MAX_WAIT 600.0        /* no wait on a server's word is longer than this (seconds) */

enum { FB_RATE_AUTO, FB_RATE_FIXED, FB_RATE_OFF };

/* The server's clock against ours, from its Date header: server epoch time minus
 * fb_now() lies in [lo, hi]. Each answer narrows the interval (Date is whole
 * seconds, the answer came between the request's send and its arrival). */
typedef struct fb_clock {
  int known;
  double lo, hi;
  double wall;                   /* our own wall clock minus fb_now(): used until a Date is seen */
} fb_clock;

/* The last reset value read per window, with what it meant: a window's reset
 * changes once per window, and parsing it for every response would not. */
typedef struct fb_reset_memo {
  char text[FB_VALUE_MAX];
  int kind;
  double value, res;
} fb_reset_memo;

typedef struct fb_rate {
  int mode;
  /* FIXED: a token bucket of per_minute / 60 tokens a second */
  double per_second, tokens, capacity, refilled_at;
  /* AUTO: the current window as the server last described it */
  fb_clock clock;
  fb_reset_memo memo_minute, memo_day, memo_retry;
  char date_text[FB_VALUE_MAX];
  double date_value;
  int known;                     /* a window has been heard of */
  long long limit, remaining;    /* the freshest report: the lowest remaining of this window */
  unsigned long long report_seq; /* the request whose answer said it */
  double report_at;              /* when that answer arrived */
  unsigned long long window_seq; /* the last request sent before this window began */
  long long own_since;           /* our answers since that report (429s are not counted) */
  double reset_at;               /* when the window ends, on fb_now()'s clock (never early) */
  int relative;                  /* the reset came as seconds from now: keep the latest reading */
  double server_reset;           /* else the reset as the server wrote it: same value, same window */
  double reported_reset;         /* the last such value an answer gave (server_reset may be assumed) */
  double gap;                    /* the shortest step seen between two windows' resets */
  double window;                 /* the window's length: gap, else the longest time-to-reset seen */
  double others;                 /* requests per second other clients of the account spend, as of report_at */
  double factor;                 /* share of the limit used: lowered by a 429, raised per window */
  unsigned long long sent;       /* requests sent: the last one's sequence number */
  unsigned long long answered;   /* answers observed, headers or not */
  double first_send, last_send;
  unsigned warned;               /* warnings already given (one each per client) */
  long long day_remaining;
  double day_reset_at;
  /* any mode: nothing is sent before this (set by a 429) */
  double blocked_until;
} fb_rate;

/* One answer, for fb_rate_observe; it fills the two results. */
typedef struct fb_answer {
  const fb_limits *h;
  unsigned long long seq;        /* the request's number, from fb_rate_reserve */
  double sent_at, now;           /* fb_now() when it was sent and when the answer came */
  long status;
  int inflight;                  /* this client's requests still unanswered */
  double retry_after;            /* out: Retry-After in seconds from now, or -1 */
  double reset_in;               /* out: seconds until the minute window resets, or -1 */
} fb_answer;

void fb_rate_init(fb_rate *r, int mode, double per_minute);
/* Seconds to wait before the next request may be sent; 0 means send now: the
 * slot is taken and *seq numbers the request. `inflight` counts this client's
 * unanswered requests. Never more than FB_MAX_WAIT. */
double fb_rate_reserve(fb_rate *r, double now, int inflight, unsigned long long *seq);
/* Learns from an answer (any status, or none when a.h is NULL). */
void fb_rate_observe(fb_rate *r, fb_answer *a);
void fb_rate_block_until(fb_rate *r, double until);
/* Non-zero when the daily quota is known to be spent; *reset_in says for how long. */
int fb_rate_day_spent(const fb_rate *r, double now, double *reset_in);

#endif
