/* An example C host that knows nothing about Lua: it loads a business rule and
 * calls it with JSON through the fusebill engine API.
 *   cc host_example.c $(pkg-config --cflags --libs fusebill) -o host_example
 *   FUSEBILL_API_KEY=... ./host_example https://secure.fusebill.com/v1 rule.lua */
#include <stdio.h>
#include <stdlib.h>
#include <fusebill.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BASE_URL RULE.lua [FUNCTION [ARGS_JSON]]\n", argv[0]);
    return 2;
  }
  fb_config cfg;
  fb_config_init(&cfg);
  cfg.base_url = argv[1];
  cfg.api_key = getenv("FUSEBILL_API_KEY");  /* the engine copies it and never logs it */

  char *msg = NULL;
  fb_engine *engine = fb_engine_new(&cfg, &msg);
  if (!engine) {
    fprintf(stderr, "engine: %s\n", msg);
    fb_free(msg);
    return 1;
  }
  if (fb_engine_load_file(engine, argv[2], &msg) != FB_OK) {
    fprintf(stderr, "load: %s\n", msg);
    fb_free(msg);
    fb_engine_free(engine);
    return 1;
  }

  const char *function = argc > 3 ? argv[3] : "fill_missing_references";
  const char *args = argc > 4 ? argv[4] : "[]";
  char *result = NULL;
  fb_error_info *err = NULL;
  int rc = fb_engine_call(engine, function, args, &result, &err);
  if (rc == FB_OK) {
    printf("%s\n", result);
    fb_free(result);
  } else {
    fprintf(stderr, "%s failed (%d): kind=%s status=%d message=%s\n", function, rc, err->kind,
            err->status, err->message);
    if (err->json) printf("%s\n", err->json);
    fb_error_free(err);
  }
  fb_engine_free(engine);
  return rc == FB_OK ? 0 : 1;
}
