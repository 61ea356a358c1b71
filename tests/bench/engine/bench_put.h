/* What the engine benchmark's two C clients (raw_put.c, cjson_put.c) share, so
 * they differ only in what the comparison is about: the command line, the two
 * clocks they report, and one keep-alive easy handle set up for the PUTs. */
#ifndef BENCH_PUT_H
#define BENCH_PUT_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <curl/curl.h>

/* CPU is user plus system time, as os.clock() counts it in fusebill. */
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

typedef struct bench_put {
  CURL *easy;
  struct curl_slist *headers;
  char body[1 << 16];   /* BODYFILE as read */
  size_t body_len;
  long n;               /* PUTs to make */
} bench_put;

/* argv: NAME URL KEY BODYFILE N. Exits with a message when they are not usable. */
static void bench_put_init(bench_put *b, int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: %s URL KEY BODYFILE N\n", argv[0]); exit(2); }
  FILE *f = fopen(argv[3], "rb");
  if (!f) { perror(argv[3]); exit(2); }
  b->body_len = fread(b->body, 1, sizeof b->body, f);
  fclose(f);
  b->n = atol(argv[4]);
  char auth[512];
  snprintf(auth, sizeof auth, "Authorization: Basic %s", argv[2]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  b->easy = curl_easy_init();
  b->headers = curl_slist_append(NULL, auth);
  b->headers = curl_slist_append(b->headers, "Content-Type: application/json");
  b->headers = curl_slist_append(b->headers, "Expect:");
  curl_easy_setopt(b->easy, CURLOPT_URL, argv[1]);
  curl_easy_setopt(b->easy, CURLOPT_HTTPHEADER, b->headers);
  curl_easy_setopt(b->easy, CURLOPT_CUSTOMREQUEST, "PUT");
}

/* One PUT of body; returns 1 when it failed or did not answer 200. */
static int bench_put_once(bench_put *b, const char *body, size_t len) {
  long status = 0;
  curl_easy_setopt(b->easy, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(b->easy, CURLOPT_POSTFIELDSIZE, (long)len);
  if (curl_easy_perform(b->easy) != CURLE_OK) return 1;
  curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
  return status != 200;
}

static void bench_put_cleanup(bench_put *b) {
  curl_slist_free_all(b->headers);
  curl_easy_cleanup(b->easy);
  curl_global_cleanup();
}

#endif
