/* realtimebridge: a phone call talking to the OpenAI Realtime API. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_REALTIME_BRIDGE (gst_realtime_bridge_get_type ())
G_DECLARE_FINAL_TYPE (GstRealtimeBridge, gst_realtime_bridge, GST, REALTIME_BRIDGE,
    GstElement)

GST_ELEMENT_REGISTER_DECLARE (realtimebridge);

G_END_DECLS
