/* The one symbol of build/fusebill-host.so (see fbh_plugin.h): the engine and
 * sandbox entry points the host program calls once it has loaded the plugin. */
#include <curl/curl.h>
#include "fusebill.h"
#include "fbh_plugin.h"

static const char *curl_version_number(void) {
  return curl_version_info(CURLVERSION_NOW)->version;
}

const fbh_plugin fbh_plugin_table = {
  FB_VERSION,
  curl_version_number,
  luaopen_fusebill,
  luaopen_fusebill_core,
  fb_set_host_options,
  fb_interrupt,
  sbx_options_init,
  sbx_parse_args,
  sbx_start,
  sbx_port,
  sbx_key,
  sbx_stop,
};
