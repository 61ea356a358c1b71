/* What one response says about the rate limits, and the parsers for its values.
 *
 * The header callback only copies the raw values (it runs inside libcurl and must
 * stay cheap); they are read when the response is complete, by fb_rate_observe,
 * which knows the server's clock. Every parser decides by the value's shape and
 * refuses what it cannot read instead of guessing: a refused value is ignored,
 * never taken as 0. */
#ifndef FB_LIMITS_H
#define FB_LIMITS_H

#include <stddef.h>

#define FB_VALUE_MAX 48   /* the longest value kept; a longer one is unreadable */

enum { FB_COUNT_ABSENT = -1, FB_COUNT_BAD = -2 };

typedef struct fb_limits {
  /* counts as given, FB_COUNT_ABSENT or FB_COUNT_BAD */
  long long limit_minute, remaining_minute, limit_day, remaining_day;
  /* raw values; "" when absent, "\x01" when too long to keep */
  char reset_minute[FB_VALUE_MAX], reset_day[FB_VALUE_MAX], retry_after[FB_VALUE_MAX], date[FB_VALUE_MAX];
} fb_limits;

void fb_limits_clear(fb_limits *h);
/* Feeds one response header line ("Name: value\r\n") into h. */
void fb_limits_parse_header(fb_limits *h, const char *line, size_t len);

/* A whole number of requests: digits only, at most FB_COUNT_MAX; else FB_COUNT_BAD. */
#define FB_COUNT_MAX 1000000000LL
long long fb_parse_count(const char *s, size_t len);

/* A point in time as a server writes it. By shape:
 *   digits[.digits]      below 1e8: seconds from now (FB_TIME_DELTA); below 1e11:
 *                        epoch seconds; below 1e14: epoch milliseconds (FB_TIME_EPOCH)
 *   YYYY-MM-DD[T ]hh:mm:ss[.f][Z|+hh:mm|-hhmm]   ISO 8601, UTC unless an offset is given
 *   anything starting with a letter              an HTTP date (RFC 1123, RFC 850, asctime)
 * *res is the value's resolution in seconds (1 for whole seconds). Returns
 * FB_TIME_BAD for anything else: negative numbers, NaN, inf, exponents, bad fields. */
enum { FB_TIME_BAD, FB_TIME_DELTA, FB_TIME_EPOCH };
int fb_parse_time(const char *s, double *value, double *res);

/* An HTTP date (the Date header) as epoch seconds; -1 when unreadable. */
double fb_parse_http_date(const char *s);

#endif
