/* Slow and idle connections: three thousand clients that connect and then send nothing,
 * or half a request, neither keep a real client waiting nor stay open past
 * --idle-timeout. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sandbox.h"
#include "tap.h"
#include "http_get.h"

#define IDLE 3000

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Closed by the server: EOF or a reset when read without blocking. */
static int closed(int fd) {
  char b[256];
  ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
  while (n > 0) n = recv(fd, b, sizeof b, MSG_DONTWAIT);   /* an error page first, perhaps */
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int main(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2 * IDLE + 500) {
    printf("1..0 # SKIP this process may open only %lu files\n", (unsigned long)rl.rlim_cur);
    return 0;
  }
  curl_global_init(CURL_GLOBAL_ALL);
  sbx_options o;
  char err[256];
  sbx_options_init(&o);
  char *args[] = {"--idle-timeout", "2", "--quiet"};
  sbx_parse_args(&o, 3, args, err, sizeof err);
  sbx_server *s = sbx_start(&o, err, sizeof err);
  ok(s != NULL, "sandbox started (%s)", s ? "ok" : err);
  if (!s) return tap_done();

  static int fds[IDLE];
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sbx_port(s)) };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int connected = 0;
  for (int i = 0; i < IDLE; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0) break;
    if (i % 2) send(fds[i], "GET /v1/customers/1 HTTP/1.1\r\nHost: x\r\n", 39, 0);   /* and no more */
    connected++;
  }
  ok(connected == IDLE, "%d connections opened, half of them with half a request", connected);

  static buf b;
  double t0 = now();
  long status = get(sbx_port(s), "/v1/customers/1", sbx_key(s), &b);
  double took = now() - t0;
  ok(status == 200 && took < 4, "a real request is answered meanwhile: %ld in %.2f s", status, took);

  sleep(4);   /* two seconds of --idle-timeout, and room for a busy machine */
  int gone = 0;
  for (int i = 0; i < connected; i++) gone += closed(fds[i]);
  ok(gone == connected, "the server closed every idle or half-sent connection: %d of %d", gone, connected);
  for (int i = 0; i < connected; i++) close(fds[i]);

  ok(get(sbx_port(s), "/v1/customers/1", sbx_key(s), &b) == 200, "and keeps serving");
  sbx_stop(s);
  curl_global_cleanup();
  return tap_done();
}
