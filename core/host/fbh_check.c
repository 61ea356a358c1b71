/* See fbh_check.h. The rules mirror the engine's (fb_client.c) and the Lua
 * library's option checks, so a value that passes here is never refused later
 * with a traceback naming an internal option (base_url) instead of the flag. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fbh_check.h"
#include "fbh_run.h"

#define MAX_KEY 1024
#define MAX_SECONDS 86400.0

int fbh_usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", fbh_progname);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  return -1;
}

/* The value as typed, for "(got "...")": control characters escaped so the
 * message stays on one line, long values cut. */
static const char *shown(const char *v) {
  static char buf[200];
  size_t n = 0;
  const unsigned char *p = (const unsigned char *)v;
  for (; *p && n < sizeof buf - 8; p++) {
    if (*p == '\n') { buf[n++] = '\\'; buf[n++] = 'n'; }
    else if (*p == '"' || *p == '\\') { buf[n++] = '\\'; buf[n++] = (char)*p; }
    else if (iscntrl(*p)) n += (size_t)snprintf(buf + n, sizeof buf - n, "\\%03o", *p);
    else buf[n++] = (char)*p;
  }
  if (*p) { memcpy(buf + n, "...", 3); n += 3; }
  buf[n] = '\0';
  return buf;
}

static int blank_or_control(unsigned char c) { return isspace(c) || iscntrl(c); }

/* Where the host part of http(s)://host[:port][/path] starts, or NULL. */
static const char *url_host(const char *v, int *tls) {
  if (strncmp(v, "https://", 8) == 0) { *tls = 1; return v + 8; }
  if (strncmp(v, "http://", 7) == 0) { *tls = 0; return v + 7; }
  return NULL;
}

/* host[:port] up to the path: a name or IPv4 address, or [IPv6], and digits after ':'. */
static int host_port_ok(const char *host) {
  size_t n = host[0] == '[' ? strspn(host + 1, "0123456789abcdefABCDEF:.") + 1 : 0;
  if (n > 0 && host[n++] != ']') return 0;
  if (n == 0) n = strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
  if (n == 0) return 0;
  if (host[n] == ':') {
    size_t digits = strspn(host + n + 1, "0123456789");
    if (digits == 0 || digits > 5) return 0;
    n += 1 + digits;
  }
  return host[n] == '\0' || host[n] == '/';
}

int fbh_check_url(const char *flag, const char *v) {
  int tls;
  const char *host = url_host(v, &tls);
  if (!host) return fbh_usage_error("%s must start with https:// (got \"%s\")", flag, shown(v));
  if (*host == '\0' || *host == '/' || *host == ':')
    return fbh_usage_error("%s has no host name after the scheme (got \"%s\")", flag, shown(v));
  for (const char *p = v; *p; p++)
    if (blank_or_control((unsigned char)*p))
      return fbh_usage_error("%s must not contain blanks or control characters (got \"%s\")", flag, shown(v));
  if (!host_port_ok(host))
    return fbh_usage_error("%s must be https://HOST[:PORT]/PATH, HOST a name or an address (got \"%s\")",
                           flag, shown(v));
  return 0;
}

/* This machine, exactly, as the engine decides it (fb_client.c): localhost, an IPv4
 * literal in 127.0.0.0/8, or [::1]; 127.evil.example is somebody else. */
static int is_loopback(const char *host, size_t len) {
  static const char *const names[] = { "localhost", "[::1]", NULL };
  for (int i = 0; names[i]; i++)
    if (strlen(names[i]) == len && strncmp(host, names[i], len) == 0) return 1;
  char v4[16];
  struct in_addr a;
  if (len >= sizeof v4) return 0;
  memcpy(v4, host, len);
  v4[len] = '\0';
  return inet_pton(AF_INET, v4, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int fbh_check_url_for_key(const char *flag, const char *v) {
  int tls;
  const char *host = url_host(v, &tls);
  if (!host || tls) return 0;
  size_t len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/");
  if (is_loopback(host, len)) return 0;
  return fbh_usage_error("%s must start with https:// to carry the API key; http:// is for loopback "
                         "addresses only (got \"%s\")", flag, shown(v));
}

int fbh_check_key(const char *what, const char *key) {
  size_t len = strlen(key);
  if (len == 0) return fbh_usage_error("%s is empty", what);
  if (key[len - 1] == '\n' || key[len - 1] == '\r')
    return fbh_usage_error("%s ends with a newline; remove it (--key-file FILE reads the first line "
                           "of a file and needs no trimming)", what);
  if (blank_or_control((unsigned char)key[len - 1])) return fbh_usage_error("%s ends with a blank", what);
  if (blank_or_control((unsigned char)key[0])) return fbh_usage_error("%s starts with a blank", what);
  for (size_t i = 0; i < len; i++)
    if (blank_or_control((unsigned char)key[i]))
      return fbh_usage_error("%s contains a blank or control character at position %zu; "
                             "an API key has none", what, i + 1);
  if (len > MAX_KEY)
    return fbh_usage_error("%s is %zu characters long; an API key has at most %d", what, len, MAX_KEY);
  return 0;
}

int fbh_check_count(const char *flag, const char *v, long min, long max, long *out) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (end == v || *end != '\0' || errno == ERANGE || n < min || n > max || isspace((unsigned char)*v))
    return fbh_usage_error("%s must be a whole number from %ld to %ld (got \"%s\")", flag, min, max, shown(v));
  *out = n;
  return 0;
}

/* A finite number > 0 written as a number: strtod alone also takes "inf", "nan"
 * and hexadecimal. */
static int parse_positive(const char *v, double *out) {
  if (!isdigit((unsigned char)v[0]) && v[0] != '.') return -1;
  if (strpbrk(v, "xX")) return -1;
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || !(d > 0) || !isfinite(d)) return -1;
  *out = d;
  return 0;
}

int fbh_check_seconds(const char *flag, const char *v, double *out) {
  double d;
  if (parse_positive(v, &d) != 0 || d > MAX_SECONDS)
    return fbh_usage_error("%s must be a number of seconds greater than 0 and at most %.0f (got \"%s\")",
                           flag, MAX_SECONDS, shown(v));
  *out = d;
  return 0;
}

int fbh_check_rate(const char *flag, const char *v) {
  double d;
  if (strcmp(v, "auto") == 0 || strcmp(v, "none") == 0 || (parse_positive(v, &d) == 0 && d <= 1e9)) return 0;
  return fbh_usage_error("%s must be a number of requests per minute, auto or none (got \"%s\")", flag, shown(v));
}

int fbh_check_readable(const char *flag, const char *path) {
  struct stat st;
  if (*path == '\0') return fbh_usage_error("%s needs a file name (got \"\")", flag);
  if (stat(path, &st) != 0 || access(path, R_OK) != 0)
    return fbh_usage_error("%s %s: cannot read it (%s)", flag, path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return fbh_usage_error("%s %s is a directory, not a file", flag, path);
  return 0;
}

int fbh_check_writable(const char *flag, const char *path) {
  struct stat st;
  if (*path == '\0') return fbh_usage_error("%s needs a file name (got \"\")", flag);
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fbh_usage_error("%s %s is a directory, not a file", flag, path);
    if (access(path, R_OK | W_OK) != 0)
      return fbh_usage_error("%s %s: cannot read and write it (%s)", flag, path, strerror(errno));
    return 0;
  }
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return fbh_usage_error("%s %s: the directory %s does not exist", flag, path, dir);
  if (access(dir, W_OK | X_OK) != 0)
    return fbh_usage_error("%s %s: cannot create it in %s (%s)", flag, path, dir, strerror(errno));
  return 0;
}

/* Levenshtein distance; flag names are short, so a row on the stack will do. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 64;
  size_t row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *fbh_nearest(const char *typed, const char *const *names) {
  const char *best = NULL, *prefixed = NULL;
  size_t best_d = 3, len = strlen(typed), prefixes = 0;  /* up to 2 edits count as a typo */
  for (int i = 0; names[i]; i++) {
    size_t d = distance(typed, names[i]);
    if (d < best_d) { best_d = d; best = names[i]; }
    if (len > 3 && strncmp(names[i], typed, len) == 0) { prefixed = names[i]; prefixes++; }
  }
  if (best) return best;
  return prefixes == 1 ? prefixed : NULL;   /* --base for --base-url */
}
