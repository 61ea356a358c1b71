/* Minimal TAP output for the C unit tests: tests/run counts "ok" / "not ok" lines. */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>

static int tap_count, tap_failures;

#define ok(cond, ...) do {                                              \
    int ok_ = !!(cond);                                                 \
    printf("%sok %d - ", ok_ ? "" : "not ", ++tap_count);               \
    printf(__VA_ARGS__);                                                \
    printf("\n");                                                       \
    if (!ok_) { tap_failures++;                                         \
      printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

static inline int tap_done(void) {
  printf("1..%d\n", tap_count);
  fflush(stdout);
  return tap_failures ? 1 : 0;
}
#endif
