/* The engine API (fusebill.h) without a network: loading, calling, and every error
 * path a host meets (missing file, syntax error, runtime error, unknown function,
 * bad JSON in and out, fusebill error objects). Runs under ASan too, so everything
 * handed out is freed. */
#include <stdlib.h>
#include <string.h>
#include "fusebill.h"
#include "tap.h"

static const char *rules =
  "local fusebill = require 'fusebill'\n"
  "function add(a, b) return a + b end\n"
  "function echo(...) return { n = select('#', ...), args = { ... } } end\n"
  "function nothing() end\n"
  "function fails() error('rule failed on purpose') end\n"
  "function soft_fail() return nil, 'no such plan' end\n"
  "function bad_result() return { f = function() end } end\n"
  "function invalid_edit() return fusebill.client().customers:edit{ firstName = 'x' } end\n"
  "function raise_api() local _, err = fusebill.client().customers:edit{ firstName = 'x' } error(err) end\n"
  "function unreachable() return fusebill.client().customers:get(1) end\n"
  "function talk() print('hello', 42) return true end\n"
  "function leave() os.exit(3) end\n"
  "function customer_path(n, c) return { n = math.type(n), id = math.type(c.id), path = '/customers/' .. c.id } end\n"
  "function absent(t) return { a_is_nil = t.a == nil, b = t.b } end\n"
  "function backslash_slash() return 'C:\\\\/x/y' end\n"
  "rules = { nested = function(x) return x * 2 end }\n";

static char logged[256];
static void capture_log(void *ud, const char *line) {
  (void)ud;
  snprintf(logged, sizeof logged, "%s", line);
}

static int contains(const char *s, const char *needle) {
  return s && needle && strstr(s, needle) != NULL;
}

int main(void) {
  fb_config cfg;
  fb_config_init(&cfg);
  cfg.base_url = "http://127.0.0.1:9/v1";  /* discard port: nothing listens */
  cfg.api_key = "dGVzdDplbmdpbmU=";
  cfg.max_attempts = 1;
  cfg.connect_timeout = 2;
  cfg.timeout = 2;
  cfg.log = capture_log;

  char *msg = NULL;
  fb_engine *e = fb_engine_new(&cfg, &msg);
  ok(e != NULL && msg == NULL, "fb_engine_new succeeds (%s)", msg ? msg : "no message");
  if (!e) return tap_done();

  /* loading */
  int rc = fb_engine_load_file(e, "/nonexistent/rules.lua", &msg);
  ok(rc == FB_ERR_FILE && contains(msg, "/nonexistent/rules.lua"), "missing file: FB_ERR_FILE naming it (%s)", msg);
  fb_free(msg);

  rc = fb_engine_load_string(e, "function broken(\n  return 1\nend", "=broken.lua", &msg);
  ok(rc == FB_ERR_SYNTAX && contains(msg, "broken.lua:"), "syntax error: FB_ERR_SYNTAX with position (%s)", msg);
  fb_free(msg);

  rc = fb_engine_load_string(e, "error('top-level failure')", "=top.lua", &msg);
  ok(rc == FB_ERR_RUNTIME && contains(msg, "top-level failure") && contains(msg, "stack traceback"),
     "runtime error while loading: FB_ERR_RUNTIME with traceback");
  fb_free(msg);

  rc = fb_engine_load_string(e, rules, "=rules.lua", &msg);
  ok(rc == FB_OK && msg == NULL, "rules load");

  /* calls that work */
  char *out = NULL;
  fb_error_info *err = NULL;
  rc = fb_engine_call(e, "add", "[2, 40]", &out, &err);
  ok(rc == FB_OK && out && strcmp(out, "42") == 0 && err == NULL, "add(2, 40) -> 42 (%s)", out);
  fb_free(out);

  rc = fb_engine_call(e, "echo", "[\"a\", null, {\"k\": [1, 2]}]", &out, &err);
  ok(rc == FB_OK && contains(out, "\"n\":3") && contains(out, "\"k\":[1,2]"),
     "JSON array spread as arguments, top-level null as nil (%s)", out);
  fb_free(out);

  rc = fb_engine_call(e, "nothing", NULL, &out, &err);
  ok(rc == FB_OK && out && strcmp(out, "null") == 0, "no arguments, nil result -> null");
  fb_free(out);

  rc = fb_engine_call(e, "rules.nested", "[21]", &out, &err);
  ok(rc == FB_OK && out && strcmp(out, "42") == 0, "dotted function names");
  fb_free(out);

  /* one JSON rule at the boundary: whole numbers are integers, "/" stays "/" */
  rc = fb_engine_call(e, "customer_path", "[7, {\"id\": 42}]", &out, &err);
  ok(rc == FB_OK && contains(out, "\"n\":\"integer\"") && contains(out, "\"id\":\"integer\"") &&
     contains(out, "\"path\":\"/customers/42\"") && !contains(out, "\\/"),
     "whole numbers arrive as integers and the path comes back with plain slashes (%s)", out);
  fb_free(out);

  rc = fb_engine_call(e, "absent", "[{\"a\": null, \"b\": 2}]", &out, &err);
  ok(rc == FB_OK && contains(out, "\"a_is_nil\":true") && contains(out, "\"b\":2"),
     "a null field arrives as nil (%s)", out);
  fb_free(out);

  rc = fb_engine_call(e, "backslash_slash", "[]", &out, &err);
  ok(rc == FB_OK && out && strcmp(out, "\"C:\\\\/x/y\"") == 0,
     "a backslash before a slash stays escaped, the slash does not (%s)", out);
  fb_free(out);

  rc = fb_engine_call(e, "talk", "[]", NULL, &err);
  ok(rc == FB_OK && strcmp(logged, "hello\t42") == 0, "print goes to the log callback, not stdout");

  /* calls that fail */
  rc = fb_engine_call(e, "no_such_function", "[]", &out, &err);
  ok(rc == FB_ERR_NO_FUNCTION && err && strcmp(err->kind, "unknown_function") == 0 &&
     contains(err->message, "no_such_function") && out == NULL, "unknown function: FB_ERR_NO_FUNCTION");
  fb_error_free(err);

  rc = fb_engine_call(e, "add", "[1, ", &out, &err);
  ok(rc == FB_ERR_BAD_JSON && err && strcmp(err->kind, "bad_json") == 0 && contains(err->message, "JSON"),
     "malformed JSON arguments: FB_ERR_BAD_JSON (%s)", err ? err->message : "");
  fb_error_free(err);

  rc = fb_engine_call(e, "add", "{\"a\": 1}", &out, &err);
  ok(rc == FB_ERR_BAD_JSON && err && contains(err->message, "array"), "arguments not an array: FB_ERR_BAD_JSON");
  fb_error_free(err);

  rc = fb_engine_call(e, "bad_result", "[]", &out, &err);
  ok(rc == FB_ERR_BAD_JSON && err && contains(err->message, "result"), "unencodable result: FB_ERR_BAD_JSON");
  fb_error_free(err);

  rc = fb_engine_call(e, "fails", "[]", &out, &err);
  ok(rc == FB_ERR_RUNTIME && err && strcmp(err->kind, "runtime") == 0 &&
     contains(err->message, "rule failed on purpose") && contains(err->traceback, "fails"),
     "raised error: FB_ERR_RUNTIME with message and traceback");
  fb_error_free(err);

  rc = fb_engine_call(e, "soft_fail", "[]", &out, &err);
  ok(rc == FB_ERR_RUNTIME && err && strcmp(err->message, "no such plan") == 0, "nil, message: FB_ERR_RUNTIME");
  fb_error_free(err);

  rc = fb_engine_call(e, "add", "[1, \"x\"]", &out, &err);
  ok(rc == FB_ERR_RUNTIME && err && contains(err->message, "rules.lua:2"), "Lua type error: FB_ERR_RUNTIME (%s)",
     err ? err->message : "");
  fb_error_free(err);

  rc = fb_engine_call(e, "invalid_edit", "[]", &out, &err);
  ok(rc == FB_ERR_API && err && strcmp(err->kind, "validation") == 0 && err->field && err->json &&
     contains(err->json, "\"kind\":\"validation\""),
     "fusebill error returned: FB_ERR_API, kind validation, field %s", err && err->field ? err->field : "?");
  fb_error_free(err);

  rc = fb_engine_call(e, "raise_api", "[]", &out, &err);
  ok(rc == FB_ERR_API && err && strcmp(err->kind, "validation") == 0, "fusebill error raised: FB_ERR_API");
  fb_error_free(err);

  rc = fb_engine_call(e, "unreachable", "[]", &out, &err);
  ok(rc == FB_ERR_API && err && (strcmp(err->kind, "network") == 0 || strcmp(err->kind, "timeout") == 0) &&
     err->attempts >= 1 && contains(err->path, "/v1/customers/1") && !contains(err->json, cfg.api_key) &&
     contains(err->json, "\"path\":\"/v1/customers/1\""),
     "network failure: FB_ERR_API kind %s, the key nowhere in it", err ? err->kind : "?");
  fb_error_free(err);

  rc = fb_engine_call(e, "leave", "[]", &out, &err);
  ok(rc == FB_ERR_RUNTIME && err && contains(err->message, "os.exit"), "os.exit raises instead of exiting");
  fb_error_free(err);

  /* after all that the engine still works, and so does a second one */
  fb_engine *e2 = fb_engine_new(NULL, &msg);
  ok(e2 != NULL, "a second engine in the same process");
  rc = fb_engine_load_string(e2, "function add(a, b) return a .. b end", NULL, &msg);
  rc = fb_engine_call(e2, "add", "[\"x\", \"y\"]", &out, NULL);
  ok(rc == FB_OK && out && strcmp(out, "\"xy\"") == 0, "engines are independent (%s)", out);
  fb_free(out);
  rc = fb_engine_call(e, "add", "[1, 1]", &out, NULL);
  ok(rc == FB_OK && out && strcmp(out, "2") == 0, "the first engine still answers");
  fb_free(out);

  /* misuse */
  rc = fb_engine_call(NULL, "add", "[]", &out, &err);
  ok(rc == FB_ERR_USAGE && err && strcmp(err->kind, "usage") == 0, "NULL engine: FB_ERR_USAGE");
  fb_error_free(err);
  ok(fb_engine_load_file(e, NULL, NULL) == FB_ERR_USAGE, "NULL path, NULL errmsg: FB_ERR_USAGE");
  ok(fb_engine_lua(e) != NULL, "fb_engine_lua gives the state");

  fb_engine_free(e2);
  fb_engine_free(e);
  fb_engine_free(NULL);
  fb_error_free(NULL);
  return tap_done();
}
