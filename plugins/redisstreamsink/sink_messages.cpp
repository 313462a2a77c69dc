#include "redisstreamsink/sink_messages.h"

#include <utility>

GST_DEBUG_CATEGORY_EXTERN (gst_redis_stream_sink_debug);
#define GST_CAT_DEFAULT gst_redis_stream_sink_debug

namespace callstream {
namespace {

constexpr int64_t kWarningIntervalUs = 5 * G_USEC_PER_SEC;

}  // namespace

RedisSinkMessages::RedisSinkMessages (GstElement * element,
    std::string url_display)
    : url_display_ (std::move (url_display))
{
  g_weak_ref_init (&element_, element);
}

RedisSinkMessages::~RedisSinkMessages ()
{
  g_weak_ref_clear (&element_);
}

void
RedisSinkMessages::post_refusal (GstElement * element, const std::string & url,
    const RedisRefusal & refusal)
{
  const bool database = refusal.step == RedisHandshakeStep::kSelect;
  const char *what = database ? "the database"
      : refusal.step == RedisHandshakeStep::kAuth ? "the credentials"
      : "the connection without credentials";
  gst_element_message_full (element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      database ? GST_RESOURCE_ERROR_SETTINGS
      : GST_RESOURCE_ERROR_NOT_AUTHORIZED,
      g_strdup_printf ("Redis at %s refused %s (%s): %s", url.c_str (), what,
          redis_handshake_step_name (refusal.step), refusal.message.c_str ()),
      g_strdup ("fix redis-url"), __FILE__, GST_FUNCTION, __LINE__);
}

bool
RedisSinkMessages::due (std::atomic<int64_t> & last_us,
    std::atomic<uint64_t> & unreported, uint64_t n)
{
  unreported += n;
  const int64_t now = g_get_monotonic_time ();
  const int64_t last = last_us;
  if (last != 0 && now - last < kWarningIntervalUs)
    return false;
  last_us = now;
  return true;
}

void
RedisSinkMessages::refused (const RedisRefusal & refusal)
{
  g_autoptr (GstElement) element = GST_ELEMENT (g_weak_ref_get (&element_));
  if (element != nullptr)
    post_refusal (element, url_display_, refusal);
}

void
RedisSinkMessages::rejected (const std::string & error, bool audio)
{
  if (!due (last_rejected_us_, rejected_unreported_, 1))
    return;
  g_autoptr (GstElement) element = GST_ELEMENT (g_weak_ref_get (&element_));
  if (element == nullptr)
    return;
  GST_ELEMENT_WARNING (element, RESOURCE, WRITE,
      ("Redis at %s refused %" G_GUINT64_FORMAT " entries (the latest %s): %s",
          url_display_.c_str (), rejected_unreported_.exchange (0),
          audio ? "an audio frame" : "a call event", error.c_str ()),
      ("refused entries are dropped and counted in 'dropped'"));
}

void
RedisSinkMessages::dropped (const std::string & call_id, uint64_t dropped_now,
    uint64_t dropped_total, unsigned max_buffer_time_ms)
{
  if (!due (last_dropped_us_, dropped_unreported_, dropped_now))
    return;
  g_autoptr (GstElement) element = GST_ELEMENT (g_weak_ref_get (&element_));
  if (element == nullptr)
    return;
  const uint64_t count = dropped_unreported_.exchange (0);
  GST_ELEMENT_WARNING_WITH_DETAILS (element, RESOURCE, WRITE,
      ("Redis is not keeping up: dropped the oldest %" G_GUINT64_FORMAT
          " audio frame%s of call %s", count, count == 1 ? "" : "s",
          call_id.c_str ()),
      ("more than max-buffer-time (%u ms) of audio is waiting for Redis",
          max_buffer_time_ms),
      ("call-id", G_TYPE_STRING, call_id.c_str (), "dropped", G_TYPE_UINT64,
          dropped_total, nullptr));
}

}  // namespace callstream
