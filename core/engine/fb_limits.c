/* Rate-limit headers of one response, and the values in them (see fb_limits.h).
 * The parsers walk the bytes themselves instead of calling strtod, atol or
 * strptime: those accept "inf", "nan", "1e999", hex and locale-dependent names,
 * and atol's overflow is undefined. HTTP dates go to libcurl's own parser. */
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "fb_limits.h"

void fb_limits_clear(fb_limits *h) {
  h->limit_minute = h->remaining_minute = h->limit_day = h->remaining_day = FB_COUNT_ABSENT;
  h->reset_minute[0] = h->reset_day[0] = h->retry_after[0] = h->date[0] = '\0';
}

static void keep(char *dst, const char *v, size_t len) {
  if (len >= FB_VALUE_MAX) { dst[0] = '\x01'; dst[1] = '\0'; return; }
  memcpy(dst, v, len);
  dst[len] = '\0';
}

void fb_limits_parse_header(fb_limits *h, const char *line, size_t len) {
  static const char prefix[] = "x-rate-limit-";
  /* The names start with x, r or d: most lines are none of these, and leave here. */
  char first = len ? (char)(line[0] | 0x20) : 0;
  if (first != 'x' && first != 'r' && first != 'd') return;
  const char *colon = memchr(line, ':', len);
  if (!colon) return;
  size_t name_len = (size_t)(colon - line);
  const char *v = colon + 1;
  while (v < line + len && (*v == ' ' || *v == '\t')) v++;
  size_t vlen = (size_t)(line + len - v);
  while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
    vlen--;
#define NAMED(lit) (name_len == sizeof(lit) - 1 && strncasecmp(line, lit, name_len) == 0)
  if (NAMED("retry-after")) { keep(h->retry_after, v, vlen); return; }
  if (NAMED("date")) { keep(h->date, v, vlen); return; }
#undef NAMED
  if (name_len <= sizeof prefix - 1 || strncasecmp(line, prefix, sizeof prefix - 1) != 0) return;
  const char *name = line + sizeof prefix - 1;
  size_t n = name_len - (sizeof prefix - 1);
#define IS(lit) (n == sizeof(lit) - 1 && strncasecmp(name, lit, n) == 0)
  if (IS("limit-minute")) h->limit_minute = fb_parse_count(v, vlen);
  else if (IS("remaining-minute")) h->remaining_minute = fb_parse_count(v, vlen);
  else if (IS("reset-minute")) keep(h->reset_minute, v, vlen);
  else if (IS("limit-day")) h->limit_day = fb_parse_count(v, vlen);
  else if (IS("remaining-day")) h->remaining_day = fb_parse_count(v, vlen);
  else if (IS("reset-day")) keep(h->reset_day, v, vlen);
#undef IS
}

long long fb_parse_count(const char *s, size_t len) {
  if (len == 0 || len > 10) return FB_COUNT_BAD;
  long long n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return FB_COUNT_BAD;
    n = n * 10 + (s[i] - '0');       /* at most 10 digits: no overflow */
  }
  return n > FB_COUNT_MAX ? FB_COUNT_BAD : n;
}

/* ---- numbers and ISO 8601 ----------------------------------------------------- */

/* Exactly `width` digits at *p, advancing it; -1 if not. */
static int digits(const char **p, int width) {
  int v = 0;
  for (int i = 0; i < width; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  *p += width;
  return v;
}

/* ".ddd" at *p (if any): the fraction's value and resolution; 0 if malformed. */
static int fraction(const char **p, double *frac, double *res) {
  *frac = 0;
  *res = 1;
  if (**p != '.') return 1;
  (*p)++;
  int n = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
    if (n < 9) { *res /= 10; *frac += (**p - '0') * *res; }
  }
  return n > 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil), for years 0..9999: no overflow, no timegm. */
static long days_from_civil(long y, long m, long d) {
  y -= m <= 2;
  long era = y / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

static int parse_iso(const char *p, double *value, double *res) {
  int y = digits(&p, 4);
  if (y < 1970 || *p++ != '-') return FB_TIME_BAD;
  int mo = digits(&p, 2);
  if (mo < 1 || mo > 12 || *p++ != '-') return FB_TIME_BAD;
  int d = digits(&p, 2);
  if (d < 1 || d > days_in_month(y, mo) || (*p != 'T' && *p != 't' && *p != ' ')) return FB_TIME_BAD;
  p++;
  int hh = digits(&p, 2);
  if (hh < 0 || hh > 23 || *p++ != ':') return FB_TIME_BAD;
  int mi = digits(&p, 2);
  if (mi < 0 || mi > 59 || *p++ != ':') return FB_TIME_BAD;
  int ss = digits(&p, 2);
  double frac;
  if (ss < 0 || ss > 60 || !fraction(&p, &frac, res)) return FB_TIME_BAD;
  int offset = 0;                       /* seconds east of UTC */
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1;
    int oh = digits(&p, 2);
    if (*p == ':') p++;
    int om = digits(&p, 2);
    if (oh < 0 || oh > 14 || om < 0 || om > 59) return FB_TIME_BAD;
    offset = sign * (oh * 3600 + om * 60);
  }
  if (*p) return FB_TIME_BAD;
  *value = (double)days_from_civil(y, mo, d) * 86400.0 + hh * 3600 + mi * 60 + ss + frac - offset;
  return FB_TIME_EPOCH;
}

static int parse_number(const char *p, double *value, double *res) {
  double n = 0, frac;
  int count = 0;
  for (; *p >= '0' && *p <= '9'; p++, count++) {
    if (count >= 15) return FB_TIME_BAD;   /* past 1e14 nothing is a time */
    n = n * 10 + (*p - '0');
  }
  if (!count || !fraction(&p, &frac, res) || *p) return FB_TIME_BAD;
  n += frac;
  if (n < 1e8) { *value = n; return FB_TIME_DELTA; }
  if (n < 1e11) { *value = n; return FB_TIME_EPOCH; }
  if (n < 1e14) { *value = n / 1000; *res /= 1000; return FB_TIME_EPOCH; }
  return FB_TIME_BAD;
}

double fb_parse_http_date(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return -1;
  time_t t = curl_getdate(s, NULL);
  return t <= 0 ? -1 : (double)t;
}

int fb_parse_time(const char *s, double *value, double *res) {
  *res = 1;
  if (*s >= '0' && *s <= '9') {
    const char *p = s;
    int n = 0;
    while (*p >= '0' && *p <= '9') p++, n++;
    return n == 4 && *p == '-' ? parse_iso(s, value, res) : parse_number(s, value, res);
  }
  double t = fb_parse_http_date(s);
  if (t < 0) return FB_TIME_BAD;
  *value = t;
  return FB_TIME_EPOCH;
}
