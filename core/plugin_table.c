/* The one symbol of build/fusebill-host.so (see host_plugin.h): the engine and
 * sandbox entry points the host program calls once it has loaded the plugin. */
#include <curl/curl.h>
#include "fusebill.h"
#include "host_plugin.h"

static const char *curl_version_number(void) {
  return curl_version_info(CURLVERSION_NOW)->version;
}

const fb_host_plugin fb_host_plugin_table = {
  FB_VERSION,
  curl_version_number,
  luaopen_fusebill,
  fb_set_host_options,
  fb_interrupt,
  fb_sandbox_options_init,
  fb_sandbox_parse_args,
  fb_sandbox_start,
  fb_sandbox_port,
  fb_sandbox_key,
  fb_sandbox_stop,
};
