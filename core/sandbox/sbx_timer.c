/* Min-heap of (due time, connection) guarded by one mutex; the thread sleeps on a
 * condition variable until the earliest entry is due or a new earlier one arrives. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "sbx_timer.h"

typedef struct entry {
  double due;
  struct MHD_Connection *conn;
} entry;

struct sbx_timer {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  entry *heap;
  size_t len, cap;
  int stopping;
};

double sbx_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void heap_up(entry *h, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (h[p].due <= h[i].due) break;
    entry tmp = h[p]; h[p] = h[i]; h[i] = tmp;
    i = p;
  }
}

static void heap_down(entry *h, size_t len, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < len && h[l].due < h[m].due) m = l;
    if (r < len && h[r].due < h[m].due) m = r;
    if (m == i) break;
    entry tmp = h[m]; h[m] = h[i]; h[i] = tmp;
    i = m;
  }
}

static entry heap_pop(sbx_timer *t) {
  entry top = t->heap[0];
  t->heap[0] = t->heap[--t->len];
  heap_down(t->heap, t->len, 0);
  return top;
}

static void *timer_main(void *arg) {
  sbx_timer *t = arg;
  pthread_mutex_lock(&t->mu);
  while (!t->stopping) {
    if (t->len == 0) {
      pthread_cond_wait(&t->cv, &t->mu);
      continue;
    }
    double now = sbx_now_ms();
    if (t->heap[0].due <= now) {
      entry e = heap_pop(t);
      /* MHD_resume_connection is thread-safe; call it unlocked anyway so a slow
       * wake-up of the polling thread never holds up sbx_timer_add. */
      pthread_mutex_unlock(&t->mu);
      MHD_resume_connection(e.conn);
      pthread_mutex_lock(&t->mu);
      continue;
    }
    double due = t->heap[0].due;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double wait_ms = due - now;
    long long ns = (long long)ts.tv_nsec + (long long)(wait_ms * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
  }
  /* Shutting down: wake everyone still parked so MHD can close them cleanly. */
  while (t->len > 0) {
    entry e = heap_pop(t);
    MHD_resume_connection(e.conn);
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

sbx_timer *sbx_timer_start(void) {
  sbx_timer *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&t->thread, NULL, timer_main, t) != 0) {
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return NULL;
  }
  return t;
}

int sbx_timer_add(sbx_timer *t, double delay_ms, struct MHD_Connection *c) {
  pthread_mutex_lock(&t->mu);
  if (t->stopping) {
    pthread_mutex_unlock(&t->mu);
    return -1;
  }
  if (t->len == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 64;
    entry *n = realloc(t->heap, ncap * sizeof *n);
    if (!n) {
      pthread_mutex_unlock(&t->mu);
      return -1;
    }
    t->heap = n;
    t->cap = ncap;
  }
  t->heap[t->len].due = sbx_now_ms() + delay_ms;
  t->heap[t->len].conn = c;
  heap_up(t->heap, t->len++);
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
  return 0;
}

void sbx_timer_stop(sbx_timer *t) {
  if (!t) return;
  pthread_mutex_lock(&t->mu);
  int joined = t->stopping;
  t->stopping = 1;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
  if (!joined) pthread_join(t->thread, NULL);
}

void sbx_timer_free(sbx_timer *t) {
  if (!t) return;
  sbx_timer_stop(t);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  free(t->heap);
  free(t);
}
