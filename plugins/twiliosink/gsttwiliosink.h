/* twiliosink: audio back to a Twilio Media Streams call. */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_TWILIO_SINK (gst_twilio_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstTwilioSink, gst_twilio_sink, GST, TWILIO_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (twiliosink);

G_END_DECLS
