/* The in-process sandbox API (core/sandbox/sandbox.h) as the host uses it for --sandbox:
 * option parsing, start on a free port, a request through libcurl, stop. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sandbox.h"
#include "tap.h"
#include "http_get.h"


/* Sends a GET the sandbox will park (its latency is long), lets it park, and hangs up:
 * what a client interrupted mid-wait (Ctrl-C in fusebill) leaves behind. */
static int park_and_hang_up(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  const char req[] = "GET /v1/customers/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Basic MDpzYW5kYm94\r\n\r\n";
  ssize_t n = write(fd, req, sizeof req - 1);
  struct timespec park = { 0, 5 * 1000 * 1000 };
  nanosleep(&park, NULL);
  close(fd);
  return n == (ssize_t)(sizeof req - 1) ? 0 : -1;
}

/* Stopping a sandbox with a parked connection must not abort the process: MHD_stop_daemon
 * panics if it finds a connection suspended, and a resumed request whose answer could not
 * be queued (the daemon already stopping) used to be run, and parked, a second time. */
static void stop_with_parked_connections(void) {
  char err[256];
  int rounds = 0, stops = 0;
  for (; rounds < 200; rounds++) {
    sbx_options o;
    sbx_options_init(&o);
    char *args[] = {"--port", "0", "--quiet", "--latency", "30000"};
    if (sbx_parse_args(&o, 5, args, err, sizeof err) != 0) break;
    sbx_server *s = sbx_start(&o, err, sizeof err);
    if (!s) break;
    if (park_and_hang_up(sbx_port(s)) != 0) { sbx_stop(s); break; }
    sbx_stop(s);   /* an abort here ends the test program: tests/run reports it */
    stops++;
  }
  ok(stops == 200, "200 sandboxes stopped with a parked connection each, none aborted (%d)", stops);
}

int main(void) {
  sbx_options o;
  char err[256];
  static buf b;
  curl_global_init(CURL_GLOBAL_ALL);

  sbx_options_init(&o);
  char *bad[] = {"--port", "70000"};
  ok(sbx_parse_args(&o, 2, bad, err, sizeof err) == -1 && strstr(err, "port"), "bad port rejected: %s", err);
  char *unknown[] = {"--nope"};
  ok(sbx_parse_args(&o, 1, unknown, err, sizeof err) == -1, "unknown option rejected");
  char *help[] = {"--help"};
  ok(sbx_parse_args(&o, 1, help, err, sizeof err) == 1, "--help reported");
  /* the journal benchmark's account: 300,000 codes; a typo of three zeros more is refused */
  char *large[] = {"--codes", "300000", "--customers", "1000000"};
  err[0] = '\0';
  ok(sbx_parse_args(&o, 4, large, err, sizeof err) == 0 && o.codes == 300000, "a large account is allowed: %s", err);
  char *huge[] = {"--codes", "300000000"};
  ok(sbx_parse_args(&o, 2, huge, err, sizeof err) == -1 && strstr(err, "--codes: at most 1000000"),
     "a data set that would take the machine's memory is refused: %s", err);

  sbx_options_init(&o);
  char *badfaults[] = {"--faults", "PUT:explode=0.5", "--quiet"};
  ok(sbx_parse_args(&o, 3, badfaults, err, sizeof err) == 0, "fault spec parsed later");
  ok(sbx_start(&o, err, sizeof err) == NULL && strstr(err, "explode"), "bad fault spec fails start: %s", err);

  sbx_options_init(&o);
  char *args[] = {"--port", "0", "--rate-limit=none", "--quiet", "--seed", "7"};
  ok(sbx_parse_args(&o, 6, args, err, sizeof err) == 0, "options parse");
  sbx_server *s = sbx_start(&o, err, sizeof err);
  ok(s != NULL, "sandbox starts (%s)", s ? "ok" : err);
  if (!s) return tap_done();
  unsigned port = sbx_port(s);
  ok(port > 0, "picked a free port %u", port);
  ok(strcmp(sbx_key(s), "MDpzYW5kYm94") == 0, "default key");
  ok(get(port, "/_sandbox/ping", NULL, &b) == 200 && strcmp(b.data, "{\"ok\":true}") == 0, "static ping");
  ok(get(port, "/v1/customers/1", sbx_key(s), &b) == 200 && strstr(b.data, "\"Lovelace\""),
     "GET customer 1 through Lua");
  ok(get(port, "/v1/customers/1", NULL, &b) == 401, "no key: 401");
  ok(get(port, "/v1/customers/999999", sbx_key(s), &b) == 404 &&
         strstr(b.data, "Customer with id 999999 not found."), "unknown id: 404 envelope");
  sbx_stop(s);
  ok(1, "stopped");
  stop_with_parked_connections();
  curl_global_cleanup();
  return tap_done();
}
