/* Rate-header fuzz run: random and malformed X-Rate-Limit-*, Retry-After and Date
 * values, fed through the header parser and the pacer the way answers are, with a
 * fixed seed so a failure reproduces. Run under ASan/UBSan by `make asan`. Checks:
 * every parse is either refused or a finite time with a sane resolution, no wait
 * is negative, NaN or past FB_MAX_WAIT, and the values the issue names (negative,
 * NaN, inf, the year 2999, "Remaining: abc", Remaining 0 with a reset far away)
 * are refused or capped. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fb_limits.h"
#include "fb_loop.h"
#include "fb_rate.h"
#include "tap.h"

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void) {             /* xorshift64*: deterministic across runs */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (uint32_t)((state * 0x2545f4914f6cdd1dULL) >> 32);
}
static uint32_t below(uint32_t n) { return rnd() % n; }

static const char *const seeds[] = {
  "2026-12-03T10:00:06Z", "2026-12-03T10:00:06.250Z", "2026-12-03T10:00:06.1234567+05:30",
  "2026-12-03 10:00:06", "2026-02-29T00:00:00Z", "2024-02-29T23:59:60-0800",
  "Thu, 03 Dec 2026 10:00:06 GMT", "Thursday, 03-Dec-26 10:00:06 GMT", "Thu Dec  3 10:00:06 2026",
  "1796292006", "1796292006250", "6", "0.250", "59.999", "0", "-5", "NaN", "inf", "-inf", "1e9",
  "0x10", "2999-01-01T00:00:00Z", "Thu, 03 Dec 2999 10:00:06 GMT", "abc", "", " ", "9999999999999999999999",
  "1796292006.5", "12:00:00", "2026-13-01T00:00:00Z", "2026-12-32T00:00:00Z", "2026-12-03T24:00:00Z",
};
static const char alphabet[] = "0123456789-:.TZ+ ,GMTThuDecinfNa\t\x01\xff";

/* a seed, mutated a little, or random bytes */
static void random_value(char *buf, size_t cap) {
  size_t n;
  if (below(4) == 0) {
    n = below((uint32_t)cap);
    for (size_t i = 0; i < n; i++) buf[i] = alphabet[below(sizeof alphabet - 1)];
  } else {
    const char *s = seeds[below(sizeof seeds / sizeof *seeds)];
    n = strlen(s) < cap - 1 ? strlen(s) : cap - 1;
    memcpy(buf, s, n);
    for (int k = (int)below(3); k > 0 && n > 0; k--) buf[below((uint32_t)n)] = alphabet[below(sizeof alphabet - 1)];
  }
  buf[n] = '\0';
}

static int parse_ok(const char *s) {
  double v, res;
  int kind = fb_parse_time(s, &v, &res);
  if (kind == FB_TIME_BAD) return 1;
  return isfinite(v) && v >= 0 && res > 0 && res <= 1;
}

static void feed(fb_limits *h, const char *name, const char *value) {
  char line[256];
  int n = snprintf(line, sizeof line, "%s: %s\r\n", name, value);
  fb_limits_parse_header(h, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
}

/* The named values, one by one, each must be refused, or capped as a wait. */
static void named_cases(void) {
  const char *refused[] = { "-5", "NaN", "inf", "-inf", "1e9", "abc", "0x10", "9999999999999999999999" };
  int all = 1;
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    double v, res;
    all &= fb_parse_time(refused[i], &v, &res) == FB_TIME_BAD;
  }
  ok(all, "negative, NaN, inf, exponents, hex and overlong numbers are refused as times");
  ok(fb_parse_count("abc", 3) == FB_COUNT_BAD && fb_parse_count("-1", 2) == FB_COUNT_BAD &&
     fb_parse_count("99999999999", 11) == FB_COUNT_BAD && fb_parse_count("42", 2) == 42,
     "counts: 'abc', negative and absurd are refused, 42 is 42");

  const char *far[] = { "2999-01-01T00:00:00Z", "inf", "Thu, 03 Dec 2999 10:00:06 GMT", "99999999" };
  int capped = 1;
  for (size_t i = 0; i < sizeof far / sizeof *far; i++) {
    fb_rate r;
    fb_limits h;
    unsigned long long seq;
    double now = fb_now();
    fb_rate_init(&r, FB_RATE_AUTO, 0);
    fb_limits_clear(&h);
    feed(&h, "X-Rate-Limit-Remaining-Minute", "0");
    feed(&h, "X-Rate-Limit-Limit-Minute", "100");
    feed(&h, "X-Rate-Limit-Reset-Minute", far[i]);
    fb_answer a = { .h = &h, .seq = 0, .sent_at = now, .now = now, .status = 200 };
    fb_rate_observe(&r, &a);
    double wait = fb_rate_reserve(&r, now, 0, &seq);
    capped &= wait >= 0 && wait <= 60;
  }
  ok(capped, "Remaining-Minute 0 with a reset years away, or inf: no wait past a minute");
}

/* A server that keeps sending an unreadable reset: one warning, not one per answer,
 * and the count beside it is still used. */
static void warns_once(void) {
  char path[] = "/tmp/fusebill-fuzz-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || !freopen(path, "w", stderr)) { ok(0, "cannot capture stderr"); return; }
  fb_rate r;
  fb_rate_init(&r, FB_RATE_AUTO, 0);
  double now = fb_now();
  for (int i = 0; i < 100; i++) {
    fb_limits h;
    fb_limits_clear(&h);
    feed(&h, "X-Rate-Limit-Remaining-Minute", "50");
    feed(&h, "X-Rate-Limit-Reset-Minute", "Remaining: abc");
    fb_answer a = { .h = &h, .seq = (unsigned long long)i, .sent_at = now, .now = now, .status = 200 };
    fb_rate_observe(&r, &a);
  }
  fflush(stderr);
  FILE *f = fopen(path, "r");
  int lines = 0, c;
  while (f && (c = fgetc(f)) != EOF) lines += c == '\n';
  if (f) fclose(f);
  close(fd);
  unlink(path);
  ok(lines == 1, "an unreadable reset on 100 answers: one warning (%d lines)", lines);
}

int main(void) {
  warns_once();
  /* Every client warns once per kind of bad value, and there are thousands here. */
  if (!freopen("/dev/null", "w", stderr)) return 1;
  named_cases();
  int parses = 1, counts = 1, waits = 1;
  double worst = 0;
  for (int round = 0; round < 400; round++) {
    fb_rate r;
    fb_rate_init(&r, below(5) == 0 ? FB_RATE_FIXED : FB_RATE_AUTO, 1 + below(2000));
    double now = fb_now();
    unsigned long long seq = 0;
    for (int i = 0; i < 500; i++) {
      char v[80];
      fb_limits h;
      fb_limits_clear(&h);
      static const char *const names[] = {
        "X-Rate-Limit-Limit-Minute", "X-Rate-Limit-Remaining-Minute", "X-Rate-Limit-Reset-Minute",
        "X-Rate-Limit-Limit-Day", "X-Rate-Limit-Remaining-Day", "X-Rate-Limit-Reset-Day",
        "Retry-After", "Date", "x-rate-limit-reset-minute", "X-Other" };
      for (int k = (int)below(9); k > 0; k--) {
        random_value(v, sizeof v);
        parses &= parse_ok(v);
        long long c = fb_parse_count(v, strlen(v));
        counts &= c == FB_COUNT_BAD || (c >= 0 && c <= FB_COUNT_MAX);
        feed(&h, names[below(sizeof names / sizeof *names)], v);
      }
      now += below(100) / 1000.0;
      fb_answer a = { .h = &h, .seq = seq, .sent_at = now - below(50) / 1000.0, .now = now,
                      .status = below(6) == 0 ? 429 : 200, .inflight = (int)below(20) };
      fb_rate_observe(&r, &a);
      int sane = (a.retry_after == -1 || (a.retry_after >= 0 && a.retry_after <= 86400)) &&
                 (a.reset_in == -1 || (a.reset_in >= 0 && a.reset_in <= 3600));
      double wait = fb_rate_reserve(&r, now, (int)below(20), &seq);
      sane &= wait >= 0 && wait <= FB_MAX_WAIT && !isnan(wait);
      if (!sane && waits) printf("# first bad wait: retry_after %g reset_in %g wait %g\n", a.retry_after, a.reset_in, wait);
      waits &= sane;
      if (wait > worst) worst = wait;
    }
  }
  ok(parses, "200,000 random and mutated values: each refused, or a finite time with a sane resolution");
  ok(counts, "... each count refused or within 0..%lld", FB_COUNT_MAX);
  ok(waits, "... every wait and delay finite, non-negative and capped (longest %.1f s)", worst);
  return tap_done();
}
