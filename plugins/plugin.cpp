/* The callstream plugin: every element, one GST_ELEMENT_REGISTER each. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "callstream-events.h"
#include "chunkdumper/gstchunkdumper.h"
#include "exotelsink/gstexotelsink.h"
#include "exotelsrc/gstexotelsrc.h"
#include "redisstreamsink/gstredisstreamsink.h"
#include "redisstreamsrc/gstredisstreamsrc.h"
#include "twiliosink/gsttwiliosink.h"
#include "realtimebridge/gstrealtimebridge.h"
#include "twiliosrc/gsttwiliosrc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  callstream_register_tags ();
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER (exotelsrc, plugin);
  ok |= GST_ELEMENT_REGISTER (twiliosrc, plugin);
  ok |= GST_ELEMENT_REGISTER (chunkdumper, plugin);
  ok |= GST_ELEMENT_REGISTER (redisstreamsink, plugin);
  ok |= GST_ELEMENT_REGISTER (redisstreamsrc, plugin);
  ok |= GST_ELEMENT_REGISTER (twiliosink, plugin);
  ok |= GST_ELEMENT_REGISTER (realtimebridge, plugin);
  ok |= GST_ELEMENT_REGISTER (exotelsink, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, callstream,
    "Telephony media streams (Exotel, Twilio) for voice-AI pipelines",
    plugin_init, VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
