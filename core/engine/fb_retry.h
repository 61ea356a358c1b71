/* Retry policy: which failures are retried, and how long to wait before the next attempt. */
#ifndef FB_RETRY_H
#define FB_RETRY_H

#include <time.h>
#include <curl/curl.h>
#include <lua.h>

typedef struct fb_retry_policy {
  int max_attempts;     /* attempts per call, the first included */
  double base_delay;    /* seconds */
  double max_delay;     /* cap on one backoff delay, seconds */
  long budget;          /* retries left for the whole client */
} fb_retry_policy;

void fb_retry_defaults(fb_retry_policy *p);
/* Reads { max_attempts =, base_delay =, max_delay =, budget = } at idx over the
 * defaults already in p; raises naming the field on a wrong type or range. */
void fb_retry_read(lua_State *L, int idx, fb_retry_policy *p);

/* Full-jitter exponential backoff: uniform in [0, min(max_delay, base * 2^(attempt-1))]. */
double fb_retry_backoff(const fb_retry_policy *p, int attempt, double random01);

/* Classification of a finished attempt. */
const char *fb_kind_for_status(long status);
int fb_status_retryable(long status);
const char *fb_kind_for_curl(CURLcode code);
int fb_curl_retryable(CURLcode code);

/* core.backoff(policy, attempt) -> seconds, for fusebill.retry in Lua. */
void fb_retry_open(lua_State *L);

#endif
