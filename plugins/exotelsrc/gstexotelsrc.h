/* exotelsrc: an Exotel AgentStream / Voicebot media stream as a live source. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_EXOTEL_SRC (gst_exotel_src_get_type ())
G_DECLARE_FINAL_TYPE (GstExotelSrc, gst_exotel_src, GST, EXOTEL_SRC, GstElement)

GST_ELEMENT_REGISTER_DECLARE (exotelsrc);

G_END_DECLS
