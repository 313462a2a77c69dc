/* twiliosrc: a Twilio Media Streams call as a live source. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_TWILIO_SRC (gst_twilio_src_get_type ())
G_DECLARE_FINAL_TYPE (GstTwilioSrc, gst_twilio_src, GST, TWILIO_SRC, GstElement)

GST_ELEMENT_REGISTER_DECLARE (twiliosrc);

G_END_DECLS
