/* chunkdumper: writes a call's audio to numbered WAV/FLAC/raw files under
 * location/<call id>/, off the streaming thread. */
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_CHUNK_DUMPER (gst_chunk_dumper_get_type ())
G_DECLARE_FINAL_TYPE (GstChunkDumper, gst_chunk_dumper, GST, CHUNK_DUMPER,
    GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (chunkdumper);

G_END_DECLS
