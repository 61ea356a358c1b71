/* The in-process sandbox API (core/sandbox/sandbox.h) as the host uses it for --sandbox:
 * option parsing, start on a free port, a request through libcurl, stop. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include "sandbox.h"
#include "tap.h"
#include "http_get.h"


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
  curl_global_cleanup();
  return tap_done();
}
