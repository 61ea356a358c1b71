/* See fb_secret.h. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "fb_secret.h"

static const char AUTH[] = "Authorization: Basic ";

static pthread_mutex_t nodump_lock = PTHREAD_MUTEX_INITIALIZER;
static int nodump_holders;
static struct rlimit nodump_saved;
static int nodump_saved_ok;

void fb_nodump_hold(void) {
  pthread_mutex_lock(&nodump_lock);
  if (nodump_holders++ == 0) {
    nodump_saved_ok = getrlimit(RLIMIT_CORE, &nodump_saved) == 0;
    if (nodump_saved_ok) {
      struct rlimit none = nodump_saved;
      none.rlim_cur = 0;
      setrlimit(RLIMIT_CORE, &none);
    }
  }
  pthread_mutex_unlock(&nodump_lock);
}

void fb_nodump_release(void) {
  pthread_mutex_lock(&nodump_lock);
  if (nodump_holders > 0 && --nodump_holders == 0 && nodump_saved_ok) setrlimit(RLIMIT_CORE, &nodump_saved);
  pthread_mutex_unlock(&nodump_lock);
}

/* A bump allocator over the mapped pages, whose size is counted first. */
typedef struct arena { char *p; } arena;

static size_t rounded(size_t n) {
  return (n + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
}

static void *take(arena *a, size_t n) {
  void *r = a->p;
  a->p += rounded(n);
  return r;
}

static char *copy(arena *a, const char *s, const char *s2) {
  size_t n = strlen(s), n2 = s2 ? strlen(s2) : 0;
  char *d = take(a, n + n2 + 1);
  memcpy(d, s, n);
  if (s2) memcpy(d + n, s2, n2);
  d[n + n2] = '\0';
  return d;
}

/* Chains `count` nodes over `strings`, the last one pointing at `tail`. */
static struct curl_slist *chain(arena *a, char **strings, int count, struct curl_slist *tail) {
  struct curl_slist *head = tail;
  for (int i = count - 1; i >= 0; i--) {
    struct curl_slist *node = take(a, sizeof *node);
    node->data = strings[i];
    node->next = head;
    head = node;
  }
  return head;
}

int fb_header_lists_build(fb_header_lists *hl, const char *const *lines, int n, const char *json_line,
                          const char *key) {
  memset(hl, 0, sizeof *hl);
  /* the string table, the strings, and 2n + 3 nodes: n lines and the key twice, the JSON line once */
  size_t need = rounded((size_t)(n + 2) * sizeof(char *)) + (size_t)(2 * n + 3) * rounded(sizeof(struct curl_slist));
  for (int i = 0; i < n; i++) need += rounded(strlen(lines[i]) + 1);
  need += rounded(strlen(json_line) + 1) + (key ? rounded(sizeof AUTH + strlen(key)) : 0);
  size_t page = 4096;
  hl->size = (need + page - 1) / page * page;
  hl->mem = mmap(NULL, hl->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (hl->mem == MAP_FAILED) {
    hl->mem = NULL;
    return -1;
  }
#ifdef MADV_DONTDUMP
  madvise(hl->mem, hl->size, MADV_DONTDUMP);
#endif
  mlock(hl->mem, hl->size);          /* kept out of swap where the memlock limit allows */
  arena a = { hl->mem };
  char **strings = take(&a, (size_t)(n + 2) * sizeof(char *));
  for (int i = 0; i < n; i++) strings[i] = copy(&a, lines[i], NULL);
  int count = n;
  if (key) {
    strings[count] = copy(&a, AUTH, key);
    hl->key = strings[count] + sizeof AUTH - 1;
    hl->key_len = strlen(key);
    count++;
    fb_nodump_hold();
  }
  char *json = copy(&a, json_line, NULL);
  hl->headers = chain(&a, strings, count, NULL);
  hl->json_headers = chain(&a, strings, count, chain(&a, &json, 1, NULL));
  return 0;
}

void fb_header_lists_free(fb_header_lists *hl) {
  if (!hl->mem) return;
  explicit_bzero(hl->mem, hl->size);
  munlock(hl->mem, hl->size);
  munmap(hl->mem, hl->size);
  if (hl->key) fb_nodump_release();
  memset(hl, 0, sizeof *hl);
}
