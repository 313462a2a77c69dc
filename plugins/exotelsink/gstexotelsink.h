/* exotelsink: audio back to an Exotel Voicebot call. */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_EXOTEL_SINK (gst_exotel_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstExotelSink, gst_exotel_sink, GST, EXOTEL_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (exotelsink);

G_END_DECLS
