/* redisstreamsink: publishes a call's audio to a Redis stream, one XADD per
 * buffer, on a connection shared by every sink in the process. */
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_REDIS_STREAM_SINK (gst_redis_stream_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstRedisStreamSink, gst_redis_stream_sink, GST,
    REDIS_STREAM_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (redisstreamsink);

G_END_DECLS
