/* The Fusebill sandbox server: a local HTTP server (libmicrohttpd) whose behaviour
 * (routes, business rules, rate limits, faults) lives in Lua modules under
 * lua/sandbox/. One internal polling thread owns one Lua state, so no locks
 * guard the state; delayed responses are parked with MHD_suspend_connection and
 * woken by a timer thread, so latency and hangs never block the polling thread.
 *
 * The library never exit()s and never writes to stdout (only its main.c prints
 * the port line); diagnostics go to stderr unless `quiet` is set. */
#ifndef SBX_SANDBOX_H
#define SBX_SANDBOX_H

#include <stddef.h>

typedef struct sbx_server sbx_server;

/* String fields point at caller memory (e.g. argv); sbx_start copies what it
 * keeps, so they only have to live until it returns. NULL means "not given". */
typedef struct sbx_options {
  const char *host;          /* bind address, default "127.0.0.1" */
  unsigned port;             /* 0 = pick a free port (see sbx_port) */
  const char *api_key;       /* default "MDpzYW5kYm94" (base64 of "0:sandbox") */
  const char *data_file;     /* --data: load state from this JSON file instead of seeding */
  const char *save_file;     /* --save: dump state here on sbx_stop */
  long seed;                 /* --seed, default 1 */
  long customers, codes, items;  /* generated sizes beyond the fixed records; <0 = default */
  const char *rate_limit;    /* "N/WINDOW" (e.g. "1000/60s", "100/2s") or "none"; default 1000/60s */
  const char *daily_limit;   /* "N" or "N/WINDOW" or "none"; default 180000 per UTC day */
  const char *latency;       /* "MS" or "MS-MS", applied to every API request */
  const char *faults;        /* fault spec, see readme */
  long fault_seed;           /* default 1 */
  long hang_ms;              /* how long a "hang" fault holds a connection; default 30000 */
  const char *tls_cert;      /* PEM files: serve HTTPS when both are set */
  const char *tls_key;
  const char *log_file;      /* request log, one JSON line per request (never the key) */
  const char *public_url;    /* base for `uri` fields, e.g. "https://secure.fusebill.com/v1" */
  int status_via_put;        /* 1: PUT may move customers into/out of Hold and Cancelled */
  size_t max_body;           /* request body cap in bytes, default 1 MiB (413 above) */
  long max_query_length;     /* longest query string in bytes, as IIS's maxQueryString (default
                                2048; longer gets IIS's 404); 0 = no limit */
  const char *reset_format;  /* how X-Rate-Limit-Reset-* is written: iso, iso_ms (default), epoch,
                                epoch_ms, delta, rfc1123 */
  double clock_skew;         /* seconds the server's clock is ahead (negative: behind) */
  unsigned idle_timeout;     /* seconds a connection may sit idle or half-sent; default 15 */
  int quiet;                 /* 1: no diagnostics on stderr */
} sbx_options;

void sbx_options_init(sbx_options *o);
/* Parses options from argv[0..argc-1] (pass argv+1 from a main). Returns 0 on success,
 * 1 when --help was given (err then holds nothing; see sbx_usage), -1 on error
 * with a message in err. Strings in o point into argv. */
int sbx_parse_args(sbx_options *o, int argc, char **argv, char *err, size_t errlen);
const char *sbx_usage(void);

/* Starts the server threads and returns at once; NULL with a message in err on failure. */
sbx_server *sbx_start(const sbx_options *o, char *err, size_t errlen);
unsigned sbx_port(const sbx_server *s);
const char *sbx_key(const sbx_server *s);
/* Stops the server, drops parked connections, saves state if --save was given, frees s. */
void sbx_stop(sbx_server *s);

#endif
