/* Pacing by the server's word.
 *
 * Every answer says how many requests are left in the account's current window
 * (X-Rate-Limit-Remaining-Minute) and when the window ends (-Reset-Minute, in
 * any of the forms fb_parse_time reads). The end is mapped onto our own clock
 * through the answer's Date header, so a server whose clock is off by minutes
 * paces the same as one that agrees with ours. What is left, less our own
 * requests sent since that answer and what other clients of the account are
 * spending (seen as the part of the count that is not ours), is spread evenly
 * until the window ends. Several processes sharing an account thereby slow down
 * together instead of colliding, and keep a small reserve when they do share.
 * A 429 nevertheless lowers our share of the limit, which then climbs back a
 * little each window. An explicit rate (rate_limit = N a minute) uses a plain
 * token bucket instead. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include "fb_loop.h"
#include "fb_rate.h"

#define MAX_MINUTE_RESET 3600.0       /* a "minute" window ending later than this is not one */
#define MAX_DAY_RESET (3 * 86400.0)
#define MAX_RETRY_AFTER 86400.0
#define PROBE_POLL 0.01               /* while the first request is out, others look again this often */
#define PROBE_HOLD 2.0                /* ... for at most this long (its answer may wait on a busy caller) */
#define SHARED_RESERVE 2              /* requests left unused at a window's end when others share it */
#define SLOW_DOWN 0.8                 /* a 429 multiplies our share of the limit by this */
#define SLOWEST 0.5
#define RECOVER 0.05                  /* ... and each new window adds this back */

enum { WARN_RESET_MINUTE = 1, WARN_RESET_DAY = 2, WARN_COUNT = 4, WARN_DATE = 8, WARN_RETRY = 16, WARN_429 = 32 };

/* One line on stderr, once per kind per client. Values the server sent are never
 * echoed: whatever a server puts in a header stays out of our output. */
static void warn(fb_rate *r, unsigned kind, const char *fmt, ...) {
  if (r->warned & kind) return;
  r->warned |= kind;
  va_list ap;
  va_start(ap, fmt);
  fputs("fusebill: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static double wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- the server's clock --------------------------------------------------------- */

/* A Date of second `date` was written between the request's send (t0) and its
 * answer (t1): the offset lies in [date - t1, date + 1 - t0]. Samples narrow the
 * interval; one that does not overlap it means a clock was stepped: start again. */
static void clock_sample(fb_clock *c, double date, double t0, double t1) {
  double lo = date - t1, hi = date + 1 - t0;
  if (c->known && lo <= c->hi && hi >= c->lo) {
    if (lo > c->lo) c->lo = lo;
    if (hi < c->hi) c->hi = hi;
    return;
  }
  c->known = 1;
  c->lo = lo;
  c->hi = hi;
}

/* When a server epoch time comes on our clock, taking the earliest the server's
 * clock can be: the answer is never early, at worst late by the interval's width. */
static double clock_local(const fb_clock *c, double server_t) {
  return server_t - (c->known ? c->lo : c->wall);
}

static void observe_date(fb_rate *r, const fb_answer *a) {
  const char *text = a->h->date;
  if (!text[0]) return;
  if (strcmp(text, r->date_text) != 0) {
    r->date_value = fb_parse_http_date(text);
    memcpy(r->date_text, text, sizeof r->date_text);
  }
  if (r->date_value < 0) {
    warn(r, WARN_DATE, "ignoring the server's Date header: not an HTTP date; resets are read against this machine's clock");
    return;
  }
  clock_sample(&r->clock, r->date_value, a->sent_at, a->now);
}

/* ---- reading times ---------------------------------------------------------------- */

static int read_time(fb_reset_memo *m, const char *text, double *value, double *res) {
  if (strcmp(m->text, text) != 0) {
    m->kind = fb_parse_time(text, &m->value, &m->res);
    memcpy(m->text, text, sizeof m->text);
  }
  *value = m->value;
  *res = m->res;
  return m->kind;
}

/* A reset header as read: when it falls on our clock, or at < 0 when it is
 * absent or unusable (then one warning says so). */
typedef struct reset_value {
  double at;          /* fb_now() time, never early */
  double value, res;  /* as written (epoch seconds, or seconds from now), and its resolution */
  int relative;       /* written as seconds from now */
} reset_value;

static reset_value reset_time(fb_rate *r, fb_reset_memo *m, const char *text, const fb_answer *a,
                              double max_ahead, unsigned kind_bit, const char *name) {
  reset_value rv = { -1, 0, 1, 0 };
  if (!text[0]) return rv;
  int kind = read_time(m, text, &rv.value, &rv.res);
  if (kind == FB_TIME_BAD) {
    warn(r, kind_bit, "ignoring %s: not a time fusebill can read; pacing without it", name);
    return rv;
  }
  rv.relative = kind == FB_TIME_DELTA;
  double at = rv.relative ? a->now + rv.value : clock_local(&r->clock, rv.value);
  double slack = rv.res + 1 + (r->clock.known ? r->clock.hi - r->clock.lo : 0);
  if (!(at - a->now >= -slack)) {
    warn(r, kind_bit, "ignoring %s: it names a time already past; pacing without it", name);
  } else if (!(at - a->now <= max_ahead)) {
    warn(r, kind_bit, "ignoring %s: it names a time more than %.0f s ahead; pacing without it", name, max_ahead);
  } else {
    rv.at = at < a->now ? a->now : at;
  }
  return rv;
}

static double read_retry_after(fb_rate *r, const fb_answer *a) {
  double v, res;
  if (!a->h->retry_after[0]) return -1;
  int kind = read_time(&r->memo_retry, a->h->retry_after, &v, &res);
  double in = kind == FB_TIME_DELTA ? v : clock_local(&r->clock, v) - a->now;
  if (kind == FB_TIME_BAD || !(in <= MAX_RETRY_AFTER)) {
    warn(r, WARN_RETRY, "ignoring Retry-After: not a delay fusebill can read or more than a day; backing off instead");
    return -1;
  }
  return in < 0 ? 0 : in;
}

/* ---- the day window ---------------------------------------------------------------- */

static void observe_day(fb_rate *r, const fb_answer *a) {
  const fb_limits *h = a->h;
  if (h->remaining_day == FB_COUNT_BAD)
    warn(r, WARN_COUNT, "ignoring an X-Rate-Limit count that is not a whole number of requests");
  if (h->remaining_day < 0) return;
  reset_value rv = reset_time(r, &r->memo_day, h->reset_day, a, MAX_DAY_RESET, WARN_RESET_DAY,
                              "X-Rate-Limit-Reset-Day");
  r->day_remaining = h->remaining_day;
  r->day_reset_at = rv.at >= 0 ? rv.at : a->now + 86400;
}

/* ---- the minute window ------------------------------------------------------------- */

static void slow_down(fb_rate *r) {
  r->factor = r->factor * SLOW_DOWN < SLOWEST ? SLOWEST : r->factor * SLOW_DOWN;
  warn(r, WARN_429, "the server answered 429 Too Many Requests: pacing at %.0f%% of its rate limit for now, "
       "and back up by %.0f%% a window", r->factor * 100, RECOVER * 100);
}

/* ---- what other clients of the account spend ---------------------------------- */

static double others_tau(const fb_rate *r) {
  return r->window > 0.15 ? r->window / 3 : 0.05;
}

/* Their rate now: the estimate as of the last report fades for want of news, since
 * a client that leaves them the whole limit sends nothing and would never hear
 * they stopped. */
static double others_now(const fb_rate *r, double now) {
  return r->others * exp(-(now - r->report_at) / others_tau(r));
}

/* A fresher report: since the last one the count fell by `fell`, `own` of it ours.
 * The rest is others', folded into an average over a third of a window, so a
 * client that joins or leaves is seen within the window. */
static void others_sample(fb_rate *r, long long fell, long long own, double now) {
  double dt = now - r->report_at > 1e-3 ? now - r->report_at : 1e-3;
  double theirs = fell > own ? (double)(fell - own) : 0;
  double d = exp(-dt / others_tau(r));
  r->others = r->others * d + theirs / dt * (1 - d);
  double w = r->window > 0 ? r->window : 60;
  if (r->others > (double)r->limit / w) r->others = (double)r->limit / w;   /* no more than all of it */
}

/* ---- windows ------------------------------------------------------------------- */

/* The caller sets report_at to now next: others' rate is carried over as of now. */
static void next_window(fb_rate *r, double now) {
  r->factor = r->factor + RECOVER > 1 ? 1 : r->factor + RECOVER;
  r->own_since = 0;
  r->others = others_now(r, now);
}

/* A window of which we have heard nothing yet: assumed full, as long as the last. */
static void roll_over(fb_rate *r, double now) {
  double w = r->window > 0 ? r->window : 60;
  next_window(r, now);
  r->reset_at += w;
  r->server_reset += w;
  if (r->reset_at <= now) r->reset_at = now + w;
  r->remaining = r->limit;
  r->report_seq = r->window_seq = r->sent;
  r->report_at = now;
}

static void begin_window(fb_rate *r, const fb_answer *a, const reset_value *rv) {
  if (r->known) next_window(r, a->now);
  /* Fixed windows end a whole number of windows apart: the shortest step is the length. */
  double step = rv->value - r->reported_reset;
  if (r->reported_reset > 0 && !rv->relative && step > 0 && step <= MAX_MINUTE_RESET && (r->gap == 0 || step < r->gap))
    r->gap = step;
  r->reported_reset = rv->relative ? 0 : rv->value;
  r->known = 1;
  r->reset_at = rv->at;
  r->relative = rv->relative;
  r->server_reset = rv->relative ? 0 : rv->value;
  r->remaining = a->h->remaining_minute;
  r->report_seq = a->seq;
  r->report_at = a->now;
  r->window_seq = a->seq ? a->seq - 1 : 0;
}

static void observe_minute(fb_rate *r, const fb_answer *a) {
  const fb_limits *h = a->h;
  if (h->remaining_minute == FB_COUNT_BAD || h->limit_minute == FB_COUNT_BAD)
    warn(r, WARN_COUNT, "ignoring an X-Rate-Limit count that is not a whole number of requests");
  if (h->remaining_minute < 0) return;
  reset_value rv = reset_time(r, &r->memo_minute, h->reset_minute, a, MAX_MINUTE_RESET, WARN_RESET_MINUTE,
                              "X-Rate-Limit-Reset-Minute");
  if (h->limit_minute > 0) r->limit = h->limit_minute;
  else if (r->limit < h->remaining_minute) r->limit = h->remaining_minute;
  if (rv.at < 0 && !r->known) return;
  /* Which window the answer describes: an absolute reset names it exactly; one
   * in seconds from now, within its resolution. */
  int newer = 0, older = 0;
  if (rv.at >= 0 && (!r->known || rv.relative != r->relative)) {
    newer = 1;
  } else if (rv.at >= 0 && rv.relative) {
    double tol = (rv.res > 0.05 ? rv.res : 0.05);
    newer = rv.at > r->reset_at + tol;
    older = rv.at < r->reset_at - tol;
  } else if (rv.at >= 0) {
    newer = rv.value > r->server_reset;
    older = rv.value < r->server_reset;
  }
  if (older && a->seq <= r->window_seq) return;   /* sent before this window began: about an older one */
  int ours = a->status != 429;                    /* a 429 is not counted */
  if (newer || older) {
    begin_window(r, a, &rv);                      /* older, yet sent since: the assumed window was wrong */
  } else {
    if (rv.at >= 0) r->reset_at = rv.relative && rv.at < r->reset_at ? r->reset_at : rv.at;
    if (h->remaining_minute < r->remaining || (h->remaining_minute == r->remaining && a->seq > r->report_seq)) {
      others_sample(r, r->remaining - h->remaining_minute, r->own_since + ours, a->now);
      r->own_since = ours = 0;
      r->remaining = h->remaining_minute;
      r->report_seq = a->seq;
      r->report_at = a->now;
    }
  }
  r->own_since += ours;
  double ahead = rv.at - a->now;
  if (r->gap > 0) r->window = r->gap;
  else if (rv.at >= 0 && ahead > r->window) r->window = ahead;
}

void fb_rate_observe(fb_rate *r, fb_answer *a) {
  a->retry_after = a->reset_in = -1;
  r->answered++;
  if (!a->h) return;
  observe_date(r, a);
  a->retry_after = read_retry_after(r, a);
  observe_day(r, a);
  if (r->mode == FB_RATE_AUTO && a->status == 429 && a->h->remaining_day != 0) slow_down(r);
  observe_minute(r, a);
  if (r->known) a->reset_in = r->reset_at > a->now ? r->reset_at - a->now : 0;
}

/* ---- pacing ---------------------------------------------------------------------------- */

void fb_rate_init(fb_rate *r, int mode, double per_minute) {
  memset(r, 0, sizeof *r);
  r->mode = mode;
  r->day_remaining = -1;
  r->factor = 1;
  r->clock.wall = wall_now() - fb_now();
  if (mode == FB_RATE_FIXED) {
    r->per_second = per_minute / 60.0;
    r->capacity = r->per_second < 1 ? 1 : r->per_second;  /* a second's worth of burst */
    r->tokens = r->capacity;
  }
}

/* Sending just after the server's window rolls over, never just before. */
static double margin(const fb_rate *r) {
  double m = r->window * 0.01;
  return (m > 0.02 ? 0.02 : m) + 0.002;
}

static double pace_fixed(fb_rate *r, double now) {
  if (r->refilled_at > 0) {
    r->tokens += (now - r->refilled_at) * r->per_second;
    if (r->tokens > r->capacity) r->tokens = r->capacity;
  }
  r->refilled_at = now;
  if (r->tokens < 1) return (1 - r->tokens) / r->per_second;
  r->tokens -= 1;
  return 0;
}

static double pace_auto(fb_rate *r, double now, int inflight) {
  if (!r->known) {
    /* The first request learns the window before others follow (they could all meet a
     * spent one). A server that sends no window at all is not paced. */
    int probing = r->answered == 0 && inflight > 0 && now - r->first_send < PROBE_HOLD;
    return probing ? PROBE_POLL : 0;
  }
  double m = margin(r);
  if (now >= r->reset_at + m) roll_over(r, now);
  double left = r->reset_at - now;
  if (left <= 0) return r->reset_at + m - now;
  double others = others_now(r, now);
  double avail = (double)r->remaining - (double)(r->sent - r->report_seq) - others * (now - r->report_at);
  double keep = (others * r->window >= 1 ? SHARED_RESERVE : 0) + (1 - r->factor) * (double)r->limit;
  /* Others' share of what is left is theirs, up to half: a client that started late
   * and found the window taken still gets a foothold, the other then sees it and
   * gives way, and the two settle on halves instead of one starving. */
  double room = avail - keep, theirs = others * left;
  double mine = room - (theirs < room / 2 ? theirs : room / 2);
  if (mine < 1) {
    /* Nothing for us until the window ends; answers still out may show more. */
    double poll = r->window * 0.05 > 0.005 ? r->window * 0.05 : 0.005;
    return left + m < poll ? left + m : poll;
  }
  double due = r->last_send + left / mine;
  return r->last_send > 0 && due > now ? due - now : 0;
}

double fb_rate_reserve(fb_rate *r, double now, int inflight, unsigned long long *seq) {
  double wait = 0;
  if (now < r->blocked_until) wait = r->blocked_until - now;
  else if (r->mode == FB_RATE_FIXED) wait = pace_fixed(r, now);
  else if (r->mode == FB_RATE_AUTO) wait = pace_auto(r, now, inflight);
  if (wait > 0) return wait < FB_MAX_WAIT ? wait : FB_MAX_WAIT;
  if (!r->sent) r->first_send = now;
  r->last_send = now;
  *seq = ++r->sent;
  return 0;
}

void fb_rate_block_until(fb_rate *r, double until) {
  if (until > r->blocked_until) r->blocked_until = until;
}

int fb_rate_day_spent(const fb_rate *r, double now, double *reset_in) {
  if (r->day_remaining != 0 || now >= r->day_reset_at) return 0;
  *reset_in = r->day_reset_at - now;
  return 1;
}
