/* Command-line options of the sandbox, shared by build/fusebill-sandbox and the
 * host's in-process `fusebill --sandbox`. Values are checked here only for shape;
 * the Lua side parses limit and fault specs and reports their errors at start. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sandbox.h"

/* Generated records per kind: enough for a large account (the journal benchmark
 * uses 300,000 codes), while a typo of a few zeros must not take the machine's
 * memory (about 2 KB per customer; the control API has the same cap). */
#define MAX_RECORDS 1000000

void sbx_options_init(sbx_options *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  o->api_key = "MDpzYW5kYm94";
  o->seed = 1;
  o->customers = o->codes = o->items = -1;
  o->fault_seed = 1;
  o->hang_ms = 30000;
  o->max_body = 1024 * 1024;
  o->max_query_length = 2048;
  o->idle_timeout = 15;
}

const char *sbx_usage(void) {
  return
    "usage: fusebill-sandbox [options]\n"
    "  --port N              listen port; 0 picks a free one (printed as the first stdout line)\n"
    "  --host ADDR           bind address (default 127.0.0.1)\n"
    "  --api-key KEY         the key clients must send as 'Authorization: Basic KEY'\n"
    "  --data FILE           load state from a JSON file (the shape of GET /_sandbox/state)\n"
    "  --seed N              seed of the generated data set (default 1)\n"
    "  --customers N --codes N --items N   sizes of the generated part of the data set\n"
    "  --save FILE           dump state to FILE on exit\n"
    "  --rate-limit N/WINDOW requests per window, e.g. 1000/60s (default), 100/2s, none\n"
    "  --daily-limit N[/WINDOW]  daily limit (default 180000 per UTC day), or none\n"
    "  --latency MS[-MS]     added to every API response, fixed or uniform in a range\n"
    "  --faults SPEC         fault injection, e.g. 'PUT:500=0.1,reset-after=0.05;GET /v1/customers:latency(20-50)=0.3'\n"
    "  --fault-seed N        seed of the fault dice (default 1)\n"
    "  --hang MS             how long a 'hang' fault holds the connection (default 30000)\n"
    "  --tls-cert FILE --tls-key FILE   serve HTTPS with these PEM files\n"
    "  --log FILE            append one JSON line per API request (the key is never logged)\n"
    "  --public-url URL      base of `uri` fields (default: scheme://Host-header/v1)\n"
    "  --status-via-put      allow PUT /v1/customers to move customers into/out of Hold and Cancelled\n"
    "  --max-body BYTES      request body cap (default 1048576; larger gets 413)\n"
    "  --max-query-length BYTES  longest query string, as IIS's default (2048; longer gets IIS's 404); 0 = no limit\n"
    "  --reset-format F      X-Rate-Limit-Reset-* as iso, iso_ms (default), epoch, epoch_ms,\n"
    "                        delta (seconds from now) or rfc1123\n"
    "  --clock-skew SECONDS  run the server's clock ahead (or behind, negative) of this machine's:\n"
    "                        windows, resets and the Date header follow it\n"
    "  --idle-timeout S      close a connection idle or half-sent for S seconds (default 15)\n"
    "  --quiet               no diagnostics on stderr\n";
}

static int parse_long(const char *s, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end) return -1;
  *out = v;
  return 0;
}

static int parse_seconds(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v) || fabs(v) > 86400) return -1;
  *out = v;
  return 0;
}

int sbx_parse_args(sbx_options *o, int argc, char **argv, char *err, size_t errlen) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    char name[64];
    /* accept both "--opt value" and "--opt=value" */
    const char *eq = strchr(a, '=');
    if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof name) {
      memcpy(name, a, (size_t)(eq - a));
      name[eq - a] = 0;
      v = eq + 1;
      a = name;
    }
#define FLAG(n) (strcmp(a, n) == 0)
#define NEED()                                                            \
  do {                                                                    \
    if (!v) {                                                             \
      if (i + 1 >= argc) {                                                \
        snprintf(err, errlen, "option %s needs a value", a);              \
        return -1;                                                        \
      }                                                                   \
      v = argv[++i];                                                      \
    }                                                                     \
  } while (0)
#define NUM(field)                                                        \
  do {                                                                    \
    long n_;                                                              \
    NEED();                                                               \
    if (parse_long(v, &n_) != 0 || n_ < 0) {                              \
      snprintf(err, errlen, "option %s: not a non-negative number: %s", a, v); \
      return -1;                                                          \
    }                                                                     \
    field = n_;                                                           \
  } while (0)
#define RECORDS(field)                                                    \
  do {                                                                    \
    if ((field) > MAX_RECORDS) {                                          \
      snprintf(err, errlen, "option %s: at most %d, got %s", a, MAX_RECORDS, v); \
      return -1;                                                          \
    }                                                                     \
  } while (0)
    if (FLAG("--help") || FLAG("-h")) return 1;
    else if (FLAG("--port")) { long p; NUM(p); if (p > 65535) { snprintf(err, errlen, "bad port %ld", p); return -1; } o->port = (unsigned)p; }
    else if (FLAG("--host")) { NEED(); o->host = v; }
    else if (FLAG("--api-key")) { NEED(); o->api_key = v; }
    else if (FLAG("--data")) { NEED(); o->data_file = v; }
    else if (FLAG("--save")) { NEED(); o->save_file = v; }
    else if (FLAG("--seed")) NUM(o->seed);
    else if (FLAG("--customers")) { NUM(o->customers); RECORDS(o->customers); }
    else if (FLAG("--codes")) { NUM(o->codes); RECORDS(o->codes); }
    else if (FLAG("--items")) { NUM(o->items); RECORDS(o->items); }
    else if (FLAG("--rate-limit")) { NEED(); o->rate_limit = v; }
    else if (FLAG("--daily-limit")) { NEED(); o->daily_limit = v; }
    else if (FLAG("--latency")) { NEED(); o->latency = v; }
    else if (FLAG("--faults")) { NEED(); o->faults = v; }
    else if (FLAG("--fault-seed")) NUM(o->fault_seed);
    else if (FLAG("--hang")) NUM(o->hang_ms);
    else if (FLAG("--tls-cert")) { NEED(); o->tls_cert = v; }
    else if (FLAG("--tls-key")) { NEED(); o->tls_key = v; }
    else if (FLAG("--log")) { NEED(); o->log_file = v; }
    else if (FLAG("--public-url")) { NEED(); o->public_url = v; }
    else if (FLAG("--status-via-put")) o->status_via_put = 1;
    else if (FLAG("--max-body")) { long n; NUM(n); o->max_body = (size_t)n; }
    else if (FLAG("--max-query-length")) NUM(o->max_query_length);
    else if (FLAG("--quiet")) o->quiet = 1;
    else if (FLAG("--reset-format")) { NEED(); o->reset_format = v; }
    else if (FLAG("--clock-skew")) {
      NEED();
      if (parse_seconds(v, &o->clock_skew) != 0) {
        snprintf(err, errlen, "option %s: not a number of seconds between -86400 and 86400: %s", a, v);
        return -1;
      }
    }
    else if (FLAG("--idle-timeout")) {
      long n;
      NUM(n);
      if (n < 1 || n > 3600) { snprintf(err, errlen, "option %s: want 1 to 3600 seconds, got %s", a, v); return -1; }
      o->idle_timeout = (unsigned)n;
    }
    else {
      snprintf(err, errlen, "unknown option %s (fusebill-sandbox --help lists the options)", argv[i]);
      return -1;
    }
#undef FLAG
#undef NEED
#undef NUM
#undef RECORDS
  }
  if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
    snprintf(err, errlen, "--tls-cert and --tls-key go together");
    return -1;
  }
  return 0;
}
