/* The reference client for the engine benchmark: N sequential PUTs of one
 * prebuilt JSON body with plain libcurl (one easy handle, keep-alive), as lean
 * as a C program can be. Usage: raw_put URL KEY BODYFILE N.
 * Prints "cpu_seconds wall_seconds failures". */
#include "bench_put.h"

static size_t sink(char *d, size_t s, size_t n, void *u) { (void)d; (void)u; return s * n; }

int main(int argc, char **argv) {
  static bench_put b;
  bench_put_init(&b, argc, argv);
  curl_easy_setopt(b.easy, CURLOPT_WRITEFUNCTION, sink);

  double c0 = cpu_seconds(), w0 = wall_seconds();
  long failures = 0;
  for (long i = 0; i < b.n; i++) failures += bench_put_once(&b, b.body, b.body_len);
  printf("%.4f %.4f %ld\n", cpu_seconds() - c0, wall_seconds() - w0, failures);
  bench_put_cleanup(&b);
  return 0;
}
