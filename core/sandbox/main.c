/* build/fusebill-sandbox: parse options, start the server, print the port on stdout
 * (first line, so tests can start it with --port 0), run until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include "sandbox.h"

/* Every connection is a file: take the hard limit, so thousands of clients fit. */
static void raise_file_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

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
  raise_file_limit();
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
