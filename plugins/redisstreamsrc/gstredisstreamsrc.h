/* redisstreamsrc: reads calls back from Redis streams written by
 * redisstreamsink, through a consumer group, one sometimes src pad per call. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_REDIS_STREAM_SRC (gst_redis_stream_src_get_type ())
G_DECLARE_FINAL_TYPE (GstRedisStreamSrc, gst_redis_stream_src, GST,
    REDIS_STREAM_SRC, GstElement)

GST_ELEMENT_REGISTER_DECLARE (redisstreamsrc);

G_END_DECLS
