/* See fbh_plugin.h: finding and loading build/fusebill-host.so. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fusebill.h"
#include "fbh_plugin.h"

/* Set once, read by the SIGINT handler: a pointer store is atomic here, and the
 * table it points to never changes after the load. */
static const fbh_plugin *volatile loaded = NULL;

/* The directory of the running executable, with a trailing '/' ("" if unknown). */
static void exe_dir(char *dir, size_t size) {
  ssize_t n = readlink("/proc/self/exe", dir, size - 1);
  dir[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(dir, '/');
  if (slash) slash[1] = '\0'; else dir[0] = '\0';
}

static void *open_plugin(char *err, size_t errlen) {
  /* next to the program (the build tree), then where `make install` puts it */
  static const char *const places[] = { "", "../lib/fusebill/" };
  char dir[PATH_MAX], path[PATH_MAX + 64];
  exe_dir(dir, sizeof dir);
  snprintf(err, errlen, "cannot find %s next to the program or in ../lib/fusebill/", FBH_PLUGIN_FILE);
  for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
    snprintf(path, sizeof path, "%s%s%s", dir, places[i], FBH_PLUGIN_FILE);
    if (access(path, F_OK) != 0) continue;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    snprintf(err, errlen, "%s", dlerror());
    return NULL;
  }
  return NULL;
}

const fbh_plugin *fbh_plugin_load(char *err, size_t errlen) {
  if (loaded) return loaded;
  void *h = open_plugin(err, errlen);
  if (!h) return NULL;
  const fbh_plugin *p = dlsym(h, FBH_PLUGIN_SYMBOL);
  if (!p) {
    snprintf(err, errlen, "%s has no %s", FBH_PLUGIN_FILE, FBH_PLUGIN_SYMBOL);
    dlclose(h);
    return NULL;
  }
  if (strcmp(p->version, FB_VERSION) != 0) {
    snprintf(err, errlen, "%s is version %s, this program is %s", FBH_PLUGIN_FILE, p->version, FB_VERSION);
    dlclose(h);
    return NULL;
  }
  loaded = p;  /* never unloaded: curl and the sandbox threads live until exit */
  return p;
}

void fbh_plugin_interrupt(void) {
  const fbh_plugin *p = loaded;
  if (p) p->interrupt();
}
