/* Pacing from the X-Rate-Limit-* headers.
 *
 * Each response says how many requests are left in the current window and when
 * it resets. Requests still in flight will spend some of that, so they are
 * deducted; what is left is spread evenly over the time to the reset. A run
 * therefore goes at the account's limit without bursting into a 429, and a
 * window that has passed without news is assumed to be full again. An explicit
 * rate (rate_limit = N per minute) uses a plain token bucket instead. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include "fb_rate.h"
#include "fb_retry.h"

void fb_limits_clear(fb_limits *h) {
  h->limit_minute = h->remaining_minute = h->limit_day = h->remaining_day = -1;
  h->reset_minute_in = h->reset_day_in = h->retry_after = -1;
}

static double wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The last ISO-8601 reset value seen per window (minute, day), with its epoch
 * time: a window's reset time changes once per window, and strptime plus timegm
 * for every response cost more than the rest of the header handling. */
typedef struct reset_memo { char value[64]; double t; } reset_memo;
static _Thread_local reset_memo memo[2];

/* A reset value as seconds from now: an ISO-8601 UTC time (fractions allowed),
 * epoch seconds, or a small number taken as seconds from now. */
static double parse_reset(const char *v, reset_memo *m) {
  if (m->value[0] && strcmp(v, m->value) == 0) return m->t - wall_now();
  char *end;
  double n = strtod(v, &end);
  if (end != v && (*end == '\0' || isspace((unsigned char)*end)))
    return n > 1e9 ? n - wall_now() : n;
  struct tm tm = {0};
  const char *rest = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  double t = (double)timegm(&tm);
  if (*rest == '.') t += strtod(rest, NULL);
  strcpy(m->value, v);       /* fits: the caller's buffer is as long */
  m->t = t;
  return t - wall_now();
}

void fb_limits_parse_header(fb_limits *h, const char *line, size_t len) {
  static const char prefix[] = "x-rate-limit-";
  char value[64];
  /* Both names start with x or r: most lines are neither, and leave here. */
  char first = len ? (char)(line[0] | 0x20) : 0;
  if (first != 'x' && first != 'r') return;
  const char *colon = memchr(line, ':', len);
  if (!colon) return;
  size_t name_len = (size_t)(colon - line);
  int retry = name_len == 11 && strncasecmp(line, "retry-after", 11) == 0;
  if (!retry && (name_len <= sizeof prefix - 1 || strncasecmp(line, prefix, sizeof prefix - 1) != 0)) return;
  const char *v = colon + 1;
  while (v < line + len && (*v == ' ' || *v == '\t')) v++;
  size_t vlen = (size_t)(line + len - v);
  while (vlen > 0 && isspace((unsigned char)v[vlen - 1])) vlen--;
  if (vlen >= sizeof value) return;
  memcpy(value, v, vlen);
  value[vlen] = '\0';

  if (retry) {
    h->retry_after = fb_retry_after_seconds(value, time(NULL));
    return;
  }
  const char *name = line + sizeof prefix - 1;
  size_t n = name_len - (sizeof prefix - 1);
#define IS(lit) (n == sizeof(lit) - 1 && strncasecmp(name, lit, n) == 0)
  if (IS("limit-minute")) h->limit_minute = atol(value);
  else if (IS("remaining-minute")) h->remaining_minute = atol(value);
  else if (IS("reset-minute")) h->reset_minute_in = parse_reset(value, &memo[0]);
  else if (IS("limit-day")) h->limit_day = atol(value);
  else if (IS("remaining-day")) h->remaining_day = atol(value);
  else if (IS("reset-day")) h->reset_day_in = parse_reset(value, &memo[1]);
#undef IS
}

void fb_rate_init(fb_rate *r, int mode, double per_minute) {
  memset(r, 0, sizeof *r);
  r->mode = mode;
  r->day_remaining = -1;
  if (mode == FB_RATE_FIXED) {
    r->per_second = per_minute / 60.0;
    r->capacity = r->per_second < 1 ? 1 : r->per_second;  /* a second's worth of burst */
    r->tokens = r->capacity;
  }
}

/* Sending just after the server's window rolls over, never just before. */
static double margin(const fb_rate *r) {
  double m = r->window * 0.01;
  return (m > 0.05 ? 0.05 : m) + 0.002;
}

double fb_rate_reserve(fb_rate *r, double now) {
  if (now < r->blocked_until) return r->blocked_until - now;
  if (r->mode == FB_RATE_OFF) return 0;
  if (r->mode == FB_RATE_FIXED) {
    if (r->refilled_at > 0) {
      r->tokens += (now - r->refilled_at) * r->per_second;
      if (r->tokens > r->capacity) r->tokens = r->capacity;
    }
    r->refilled_at = now;
    if (r->tokens < 1) return (1 - r->tokens) / r->per_second;
    r->tokens -= 1;
    return 0;
  }
  if (!r->known) return 0;                 /* nothing heard yet: the first request learns */
  if (now >= r->reset_at) {                /* a new window the server has not described yet */
    r->budget = r->limit;
    r->reset_at += r->window > 0 ? r->window : 60;
    if (r->reset_at <= now) r->reset_at = now + (r->window > 0 ? r->window : 60);
  }
  if (r->budget <= 0) return r->reset_at + margin(r) - now;
  double spacing = (r->reset_at - now) / (double)r->budget;
  double due = r->last_send + spacing;
  if (r->last_send > 0 && due > now) return due - now;
  r->budget--;
  r->last_send = now;
  return 0;
}

void fb_rate_observe(fb_rate *r, const fb_limits *h, int inflight, double now) {
  if (h->remaining_day >= 0) {
    r->day_remaining = h->remaining_day - inflight;
    r->day_reset_at = h->reset_day_in >= 0 ? now + h->reset_day_in : now + 86400;
  }
  if (r->mode != FB_RATE_AUTO || h->remaining_minute < 0 || h->reset_minute_in < 0) return;
  double reset_at = now + h->reset_minute_in;
  /* With many requests in flight, a response from a window that has already
   * rolled over can arrive late; it says nothing about the current one. */
  if (r->known && reset_at < r->reset_at - r->window * 0.25) return;
  /* The window length is not in the headers; the longest time-to-reset seen is
   * a good estimate (the first response of a window shows nearly all of it). */
  if (h->reset_minute_in > r->window) r->window = h->reset_minute_in;
  r->limit = h->limit_minute > 0 ? h->limit_minute : r->limit;
  r->reset_at = reset_at;
  r->budget = h->remaining_minute - inflight;
  r->known = 1;
}

void fb_rate_block_until(fb_rate *r, double until) {
  if (until > r->blocked_until) r->blocked_until = until;
}

int fb_rate_day_spent(const fb_rate *r, double now, double *reset_in) {
  if (r->day_remaining < 0 || r->day_remaining > 0 || now >= r->day_reset_at) return 0;
  *reset_in = r->day_reset_at - now;
  return 1;
}
