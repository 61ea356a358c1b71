/* build/fusebill-sandbox: parse options, start the server, print the port on stdout
 * (first line, so tests can start it with --port 0), run until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include "sandbox.h"

int main(int argc, char **argv) {
  sbx_options o;
  char err[512];
  sbx_options_init(&o);
  int rc = sbx_parse_args(&o, argc - 1, argv + 1, err, sizeof err);
  if (rc == 1) {
    fputs(sbx_usage(), stdout);
    return 0;
  }
  if (rc != 0) {
    fprintf(stderr, "fusebill-sandbox: %s\n", err);
    return 2;
  }
  /* Block the signals before any thread starts so only sigwait below sees them. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  sbx_server *s = sbx_start(&o, err, sizeof err);
  if (!s) {
    fprintf(stderr, "fusebill-sandbox: %s\n", err);
    return 1;
  }
  printf("%u\n", sbx_port(s));
  fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  sbx_stop(s);
  return 0;
}
