/* Checks of what the user typed on the command line or set in the environment.
 * A check that fails prints one line on stderr in the user's own words (the flag
 * or variable, the rule, the value as typed: `--timeout must be a number of
 * seconds greater than 0 (got "soon")`) and returns -1; the program then exits
 * with FBH_EXIT_USAGE. None of them ever prints an API key. */
#ifndef FBH_CHECK_H
#define FBH_CHECK_H

/* Prints "PROGNAME: <message>" as one line; returns -1. */
int fbh_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* http(s)://host[...]; no blanks or control characters. */
int fbh_check_url(const char *flag, const char *v);
/* Plain http:// carries the key only to a loopback address (the engine's rule). */
int fbh_check_url_for_key(const char *flag, const char *v);
/* An API key: 1 to 1024 characters, no blanks or control characters (the
 * engine's rule). `what` names where it came from: "FUSEBILL_API_KEY",
 * "--api-key", "the key in --key-file F". */
int fbh_check_key(const char *what, const char *key);
/* A whole number in [min, max]. */
int fbh_check_count(const char *flag, const char *v, long min, long max, long *out);
/* Seconds: a number greater than 0 and at most a day. */
int fbh_check_seconds(const char *flag, const char *v, double *out);
/* A number of requests per minute (> 0), auto or none. */
int fbh_check_rate(const char *flag, const char *v);
/* A file the program will read. */
int fbh_check_readable(const char *flag, const char *path);
/* A file the program will create or append to (it need not exist yet). */
int fbh_check_writable(const char *flag, const char *path);

/* The name in `names` (NULL-terminated) closest to `typed`, or NULL when none is
 * close enough to be a plausible typo. */
const char *fbh_nearest(const char *typed, const char *const *names);

#endif
