/* Pacing: keep a client just under the account's rate limit. */
#ifndef FB_RATE_H
#define FB_RATE_H

/* What one response said about the limits; -1 where a header was absent. */
typedef struct fb_limits {
  long limit_minute, remaining_minute, limit_day, remaining_day;
  double reset_minute_in, reset_day_in;   /* seconds from when the response arrived */
  double retry_after;                     /* seconds */
} fb_limits;

enum { FB_RATE_AUTO, FB_RATE_FIXED, FB_RATE_OFF };

typedef struct fb_rate {
  int mode;
  /* FIXED: a token bucket of per_minute / 60 tokens a second */
  double per_second, tokens, capacity, refilled_at;
  /* AUTO: the window as the server last described it */
  int known;
  long limit, budget;          /* requests left in the window, in-flight ones deducted */
  double window, reset_at, last_send;
  long day_remaining;
  double day_reset_at;
  /* any mode: nothing is sent before this (set by a 429) */
  double blocked_until;
} fb_rate;

void fb_limits_clear(fb_limits *h);
/* Feeds one response header line ("Name: value\r\n") into h. */
void fb_limits_parse_header(fb_limits *h, const char *line, size_t len);

void fb_rate_init(fb_rate *r, int mode, double per_minute);
/* Seconds to wait before the next request may be sent; 0 means send now, and
 * the slot is taken. `inflight` counts this client's unanswered requests. */
double fb_rate_reserve(fb_rate *r, double now);
/* Learns from a response; `inflight` excludes the request just answered. */
void fb_rate_observe(fb_rate *r, const fb_limits *h, int inflight, double now);
void fb_rate_block_until(fb_rate *r, double until);
/* Non-zero when the daily quota is known to be spent; *reset_in says for how long. */
int fb_rate_day_spent(const fb_rate *r, double now, double *reset_in);

#endif
