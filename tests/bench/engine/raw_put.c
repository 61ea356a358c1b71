/* The reference client for the engine benchmark: N sequential PUTs of one
 * prebuilt JSON body with plain libcurl (one easy handle, keep-alive), as lean
 * as a C program can be. Prints "cpu_seconds wall_seconds failures". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <curl/curl.h>

static size_t sink(char *d, size_t s, size_t n, void *u) { (void)d; (void)u; return s * n; }

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: raw_put URL KEY BODYFILE N\n"); return 2; }
  FILE *f = fopen(argv[3], "rb");
  if (!f) { perror(argv[3]); return 2; }
  static char body[1 << 16];
  size_t len = fread(body, 1, sizeof body, f);
  fclose(f);
  long n = atol(argv[4]);
  char auth[512];
  snprintf(auth, sizeof auth, "Authorization: Basic %s", argv[2]);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, auth);
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);

  double c0 = cpu_seconds(), w0 = wall_seconds();
  long failures = 0;
  for (long i = 0; i < n; i++) {
    long status = 0;
    if (curl_easy_perform(e) != CURLE_OK) failures++;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) failures++;
  }
  printf("%.4f %.4f %ld\n", cpu_seconds() - c0, wall_seconds() - w0, failures);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  curl_global_cleanup();
  return 0;
}
