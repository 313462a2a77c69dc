/* redisstreamsink: a call's audio as entries of a Redis stream, the GStreamer
 * form of the ingest service's Redis Streams publisher.
 *
 *   ... ! redisstreamsink redis-url=redis://127.0.0.1:6379 stream=audio_stream
 *
 * A call is a call_start entry (the call-info metadata and the format), one
 * audio entry per buffer (seq 1, 2, 3, ...; a frame dropped for room leaves
 * its number unused), and a call_end entry at EOS. With index-stream set,
 * call_start and call_end are each followed by an entry in that stream naming
 * the call's stream (schemas/redis-index-entry.schema.json). The fields are in
 * schemas/redis-audio-entry.schema.json; the call bookkeeping is in
 * redis_call_publisher.h, the messages in sink_messages.h.
 *
 * render() formats the XADD and hands it to the process's connection for the
 * URL (common/redis_client.h): it never waits on the network. While Redis is
 * unreachable or slow, up to max-buffer-time of audio waits per sink; past
 * that the oldest frames are dropped, counted and reported. EOS waits (at
 * most flush-timeout) until Redis has acknowledged everything.
 *
 * Locks: GST_OBJECT_LOCK guards Settings and the writer pointer; the writer
 * and the connection have their own. None is taken while holding another. */
#include "redisstreamsink/gstredisstreamsink.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "callstream-events.h"
#include "common/redis_client.h"
#include "protocol/redis_entry.h"
#include "redisstreamsink/redis_call_publisher.h"
#include "redisstreamsink/sink_messages.h"

GST_DEBUG_CATEGORY (gst_redis_stream_sink_debug);
#define GST_CAT_DEFAULT gst_redis_stream_sink_debug

using callstream::RedisCallPublisher;
using callstream::RedisConnection;
using callstream::RedisRefusal;
using callstream::RedisSinkMessages;
using callstream::RedisStreamWriter;

typedef enum
{
  GST_REDIS_STREAM_SINK_PAYLOAD_BINARY,
  GST_REDIS_STREAM_SINK_PAYLOAD_BASE64,
} GstRedisStreamSinkPayload;

#define DEFAULT_REDIS_URL "redis://127.0.0.1:6379"
#define DEFAULT_STREAM "audio_stream"
#define DEFAULT_MAXLEN 0
#define DEFAULT_PAYLOAD GST_REDIS_STREAM_SINK_PAYLOAD_BINARY
#define DEFAULT_MAX_BUFFER_TIME_MS 30000
#define MAX_MAX_BUFFER_TIME_MS (3600 * 1000)
#define DEFAULT_FLUSH_TIMEOUT_MS 5000
#define MAX_FLUSH_TIMEOUT_MS (600 * 1000)
/* A short synchronous connection at start tells bad settings from a server
 * that is down; it never takes longer than this. */
#define PROBE_TIMEOUT_MS 1000

enum
{
  PROP_0,
  PROP_REDIS_URL,
  PROP_STREAM,
  PROP_INDEX_STREAM,
  PROP_MAXLEN,
  PROP_PAYLOAD,
  PROP_MAX_BUFFER_TIME,
  PROP_FLUSH_TIMEOUT,
  PROP_PUBLISHED,
  PROP_PENDING,
  PROP_DROPPED,
  PROP_RECONNECTS,
};

#define PCM_CAPS \
  "audio/x-raw, format = (string) S16LE, layout = (string) interleaved, " \
  "rate = (int) [ 1, MAX ], channels = (int) [ 1, 8 ]"
#define MULAW_CAPS \
  "audio/x-mulaw, rate = (int) [ 1, MAX ], channels = (int) [ 1, 8 ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (PCM_CAPS "; " MULAW_CAPS));

namespace {

struct Settings
{
  std::string redis_url = DEFAULT_REDIS_URL;
  std::string stream = DEFAULT_STREAM;
  std::string index_stream;     /* empty: none */
  guint64 maxlen = DEFAULT_MAXLEN;
  GstRedisStreamSinkPayload payload = DEFAULT_PAYLOAD;
  guint max_buffer_time_ms = DEFAULT_MAX_BUFFER_TIME_MS;
  guint flush_timeout_ms = DEFAULT_FLUSH_TIMEOUT_MS;
};

/* Owned by the streaming thread (and start/stop, when it is not running). */
struct State
{
  Settings settings;            /* copied in start() and for each call */
  std::optional<RedisCallPublisher> publisher;  /* from start() to stop() */
  bool format_known = false;
  callstream::RedisAudioFormat format;
  std::string stream_id;        /* from stream-start */
  std::shared_ptr<RedisSinkMessages> messages;  /* shared with the Redis thread */
};

}  // namespace

struct RedisStreamSinkImpl
{
  Settings settings;            /* GST_OBJECT_LOCK */
  std::shared_ptr<RedisStreamWriter> writer;    /* GST_OBJECT_LOCK; stats */
  std::shared_ptr<RedisConnection> connection;  /* start/stop */
  State state;
};

struct _GstRedisStreamSink
{
  GstBaseSink parent;
  RedisStreamSinkImpl *impl;
};

G_DEFINE_TYPE (GstRedisStreamSink, gst_redis_stream_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (redisstreamsink, "redisstreamsink", GST_RANK_NONE,
    GST_TYPE_REDIS_STREAM_SINK);

#define GST_TYPE_REDIS_STREAM_SINK_PAYLOAD \
  (gst_redis_stream_sink_payload_get_type ())
static GType
gst_redis_stream_sink_payload_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_REDIS_STREAM_SINK_PAYLOAD_BINARY, "Audio bytes as received",
        "binary"},
    {GST_REDIS_STREAM_SINK_PAYLOAD_BASE64, "Audio as base64 text", "base64"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstRedisStreamSinkPayload", values));
  return type;
}

/* ---- calls ---- */

static void
copy_settings (GstRedisStreamSink * self)
{
  GST_OBJECT_LOCK (self);
  self->impl->state.settings = self->impl->settings;
  GST_OBJECT_UNLOCK (self);
}

static void
begin_call (GstRedisStreamSink * self)
{
  State & state = self->impl->state;
  copy_settings (self);
  std::string fallback_id = state.stream_id;
  if (fallback_id.empty () && !state.publisher->has_call_id ()) {
    g_autofree gchar *uuid = g_uuid_string_random ();
    fallback_id = std::string ("call-") + uuid;
  }
  const Settings & settings = state.settings;
  state.publisher->begin_call ({settings.stream, settings.maxlen,
          settings.payload == GST_REDIS_STREAM_SINK_PAYLOAD_BASE64
          ? callstream::RedisPayload::kBase64
          : callstream::RedisPayload::kBinary, settings.index_stream},
      state.format, fallback_id);
  GST_INFO_OBJECT (self, "call %s to stream \"%s\"",
      state.publisher->call_id ().c_str (),
      state.publisher->stream_key ().c_str ());
}

static void
end_call (GstRedisStreamSink * self, const char *reason)
{
  RedisCallPublisher & publisher = *self->impl->state.publisher;
  if (!publisher.call_active ())
    return;
  GST_INFO_OBJECT (self, "call %s ends (%s) after %" G_GUINT64_FORMAT
      " frames", publisher.call_id ().c_str (), reason, publisher.frames ());
  publisher.end_call (reason);
}

static std::string
string_field (const GstStructure * s, const char *name)
{
  const gchar *value = gst_structure_get_string (s, name);
  return value != nullptr ? value : "";
}

static callstream::RedisCallInfo
parse_call_info (const GstStructure * s)
{
  callstream::RedisCallInfo info;
  info.call_sid = string_field (s, "call-sid");
  info.stream_sid = string_field (s, "stream-sid");
  info.metadata.provider = string_field (s, "provider");
  info.metadata.account_sid = string_field (s, "account-sid");
  info.metadata.from = string_field (s, "from");
  info.metadata.to = string_field (s, "to");
  const GValue *params = gst_structure_get_value (s, "custom-parameters");
  if (params != nullptr && GST_VALUE_HOLDS_STRUCTURE (params)) {
    const GstStructure *p = gst_value_get_structure (params);
    for (gint i = 0; i < gst_structure_n_fields (p); i++) {
      const gchar *name = gst_structure_nth_field_name (p, i);
      const GValue *v = gst_structure_get_value (p, name);
      g_autofree gchar *text = G_VALUE_HOLDS_STRING (v)
          ? g_value_dup_string (v) : gst_value_serialize (v);
      info.metadata.custom_parameters.emplace_back (name, text ? text : "");
    }
  }
  return info;
}

/* ---- GstBaseSink ---- */

static gboolean
gst_redis_stream_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  State & state = self->impl->state;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:{
      const gchar *stream_id = nullptr;
      gst_event_parse_stream_start (event, &stream_id);
      state.stream_id = stream_id != nullptr ? stream_id : "";
      break;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:{
      const GstStructure *info = callstream_call_info_event_parse (event);
      if (info != nullptr && state.publisher)
        state.publisher->set_call_info (parse_call_info (info));
      break;
    }
    case GST_EVENT_EOS:{
      if (!state.publisher)
        break;
      end_call (self, "eos");
      /* Every entry acknowledged before EOS goes on, within the timeout. */
      RedisStreamWriter & writer = state.publisher->writer ();
      writer.flush_now ();
      const auto result = writer.wait_acknowledged
          (std::chrono::milliseconds (state.settings.flush_timeout_ms));
      if (result == RedisStreamWriter::WaitResult::kTimedOut) {
        const guint64 left = writer.unacknowledged ();
        GST_ELEMENT_WARNING_WITH_DETAILS (self, RESOURCE, WRITE,
            ("Redis did not acknowledge %" G_GUINT64_FORMAT " entries of call "
                "%s within flush-timeout (%u ms) of EOS", left,
                state.publisher->call_id ().c_str (),
                state.settings.flush_timeout_ms),
            ("they stay queued and are sent if Redis comes back while the "
                "process runs"),
            ("call-id", G_TYPE_STRING,
                state.publisher->call_id ().c_str (), "unacknowledged",
                G_TYPE_UINT64, left, nullptr));
      } else if (result == RedisStreamWriter::WaitResult::kCancelled) {
        GST_DEBUG_OBJECT (self, "EOS wait interrupted by a flush");
      }
      break;
    }
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (gst_redis_stream_sink_parent_class)->event (sink,
      event);
}

static GstFlowReturn
gst_redis_stream_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  State & state = self->impl->state;

  if (!state.format_known) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (nullptr),
        ("received a buffer before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (nullptr),
        ("could not map a buffer"));
    return GST_FLOW_ERROR;
  }
  if (map.size == 0) {
    gst_buffer_unmap (buffer, &map);
    return GST_FLOW_OK;
  }
  if (!state.publisher->call_active ())
    begin_call (self);
  const guint64 dropped = state.publisher->publish_frame ({map.data, map.size},
      GST_BUFFER_PTS_IS_VALID (buffer) ? std::optional<guint64>
      (GST_BUFFER_PTS (buffer)) : std::nullopt, state.format);
  gst_buffer_unmap (buffer, &map);
  if (dropped > 0)
    state.messages->dropped (state.publisher->call_id (), dropped,
        state.publisher->writer ().dropped (),
        state.settings.max_buffer_time_ms);
  return GST_FLOW_OK;
}

static gboolean
gst_redis_stream_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  State & state = self->impl->state;
  const GstStructure *s = gst_caps_get_structure (caps, 0);

  callstream::RedisAudioFormat format;
  const bool mulaw = gst_structure_has_name (s, "audio/x-mulaw");
  format.encoding = mulaw ? callstream::RedisAudioEncoding::kMulaw
      : callstream::RedisAudioEncoding::kPcm16;
  if (!gst_structure_get_int (s, "rate", &format.sample_rate)
      || !gst_structure_get_int (s, "channels", &format.channels)
      || format.sample_rate <= 0 || format.channels <= 0) {
    GST_WARNING_OBJECT (self, "caps without rate or channels: %"
        GST_PTR_FORMAT, caps);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "format %" GST_PTR_FORMAT, caps);
  state.format = format;
  state.format_known = true;
  return TRUE;
}

static gboolean
gst_redis_stream_sink_start (GstBaseSink * sink)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  RedisStreamSinkImpl *impl = self->impl;

  impl->state = State ();
  copy_settings (self);
  const Settings & settings = impl->state.settings;
  auto parsed = callstream::parse_redis_url (settings.redis_url);
  if (auto *error = std::get_if<callstream::RedisUrlError> (&parsed)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid redis-url \"%s\": %s",
            callstream::redact_redis_url (settings.redis_url).c_str (),
            error->reason.c_str ()), (nullptr));
    return FALSE;
  }
  const auto & url = std::get<callstream::RedisUrl> (parsed);
  const std::string display = url.display ();
  auto connection = RedisConnection::get (url);

  if (!connection->ready ()) {
    if (auto refusal = connection->refusal ()) {
      RedisSinkMessages::post_refusal (GST_ELEMENT (self), display, *refusal);
      return FALSE;
    }
    const auto probe = callstream::probe_redis (url,
        std::chrono::milliseconds (PROBE_TIMEOUT_MS));
    if (probe.result == callstream::RedisProbe::Result::kRefused) {
      RedisSinkMessages::post_refusal (GST_ELEMENT (self), display,
          probe.refusal);
      return FALSE;
    }
    if (probe.result == callstream::RedisProbe::Result::kUnreachable)
      GST_INFO_OBJECT (self, "Redis at %s not reachable yet (%s): frames "
          "wait for it", display.c_str (), probe.reason.c_str ());
  }

  auto messages = std::make_shared<RedisSinkMessages> (GST_ELEMENT (self),
      display);
  callstream::RedisWriterListener listener;
  listener.refused = [messages] (const RedisRefusal & refusal) {
    messages->refused (refusal);
  };
  listener.rejected = [messages] (const std::string & error, bool audio) {
    messages->rejected (error, audio);
  };
  impl->state.messages = std::move (messages);
  auto writer = connection->create_writer (settings.max_buffer_time_ms
      * GST_MSECOND, std::move (listener));
  impl->state.publisher.emplace (writer);
  impl->connection = std::move (connection);
  GST_OBJECT_LOCK (self);
  impl->writer = std::move (writer);
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "publishing to %s", display.c_str ());
  return TRUE;
}

static gboolean
gst_redis_stream_sink_stop (GstBaseSink * sink)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  RedisStreamSinkImpl *impl = self->impl;
  State & state = impl->state;

  if (state.publisher) {
    /* No EOS: the call still ends, without waiting for Redis. */
    end_call (self, "stopped");
    RedisStreamWriter & writer = state.publisher->writer ();
    writer.flush_now ();
    writer.silence ();
    if (writer.unacknowledged () > 0)
      GST_INFO_OBJECT (self, "stopping with %" G_GUINT64_FORMAT " entries not "
          "yet acknowledged; they are sent while the connection lives",
          writer.unacknowledged ());
  }
  /* The writer stays for its counters; the connection goes (its thread with
   * it when this was the last sink using it). */
  state = State ();
  impl->connection.reset ();
  return TRUE;
}

static gboolean
gst_redis_stream_sink_unlock (GstBaseSink * sink)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  GST_OBJECT_LOCK (self);
  auto writer = self->impl->writer;
  GST_OBJECT_UNLOCK (self);
  if (writer)
    writer->set_wait_cancelled (true);
  return TRUE;
}

static gboolean
gst_redis_stream_sink_unlock_stop (GstBaseSink * sink)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (sink);
  GST_OBJECT_LOCK (self);
  auto writer = self->impl->writer;
  GST_OBJECT_UNLOCK (self);
  if (writer)
    writer->set_wait_cancelled (false);
  return TRUE;
}

static void
gst_redis_stream_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (object);
  Settings & settings = self->impl->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_REDIS_URL:{
      const gchar *url = g_value_get_string (value);
      settings.redis_url = url != nullptr ? url : DEFAULT_REDIS_URL;
      break;
    }
    case PROP_STREAM:{
      const gchar *stream = g_value_get_string (value);
      settings.stream = stream != nullptr ? stream : DEFAULT_STREAM;
      break;
    }
    case PROP_INDEX_STREAM:{
      const gchar *index = g_value_get_string (value);
      settings.index_stream = index != nullptr ? index : "";
      break;
    }
    case PROP_MAXLEN:
      settings.maxlen = g_value_get_uint64 (value);
      break;
    case PROP_PAYLOAD:
      settings.payload =
          static_cast<GstRedisStreamSinkPayload> (g_value_get_enum (value));
      break;
    case PROP_MAX_BUFFER_TIME:
      settings.max_buffer_time_ms = g_value_get_uint (value);
      break;
    case PROP_FLUSH_TIMEOUT:
      settings.flush_timeout_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_redis_stream_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (object);
  const Settings & settings = self->impl->settings;

  GST_OBJECT_LOCK (self);
  RedisStreamWriter *writer = self->impl->writer.get ();
  switch (prop_id) {
    case PROP_REDIS_URL:
      g_value_set_string (value, settings.redis_url.c_str ());
      break;
    case PROP_STREAM:
      g_value_set_string (value, settings.stream.c_str ());
      break;
    case PROP_INDEX_STREAM:
      g_value_set_string (value, settings.index_stream.c_str ());
      break;
    case PROP_MAXLEN:
      g_value_set_uint64 (value, settings.maxlen);
      break;
    case PROP_PAYLOAD:
      g_value_set_enum (value, settings.payload);
      break;
    case PROP_MAX_BUFFER_TIME:
      g_value_set_uint (value, settings.max_buffer_time_ms);
      break;
    case PROP_FLUSH_TIMEOUT:
      g_value_set_uint (value, settings.flush_timeout_ms);
      break;
    case PROP_PUBLISHED:
      g_value_set_uint64 (value, writer ? writer->published () : 0);
      break;
    case PROP_PENDING:
      g_value_set_uint64 (value, writer ? writer->pending () : 0);
      break;
    case PROP_DROPPED:
      g_value_set_uint64 (value, writer ? writer->dropped () : 0);
      break;
    case PROP_RECONNECTS:
      g_value_set_uint64 (value, writer ? writer->reconnects () : 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_redis_stream_sink_finalize (GObject * object)
{
  GstRedisStreamSink *self = GST_REDIS_STREAM_SINK (object);
  delete self->impl;
  G_OBJECT_CLASS (gst_redis_stream_sink_parent_class)->finalize (object);
}

static void
gst_redis_stream_sink_init (GstRedisStreamSink * self)
{
  self->impl = new RedisStreamSinkImpl ();
  /* A publisher, not a renderer: entries go out as fast as buffers come. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  /* A call pipeline is live: no preroll, so sinks after a tee without
   * queues never wait for each other (async=TRUE deadlocks there). */
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), FALSE);
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}

static GParamSpec *
stat_param (const char *name, const char *nick, const char *blurb)
{
  return g_param_spec_uint64 (name, nick, blurb, 0, G_MAXUINT64, 0,
      static_cast<GParamFlags> (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_redis_stream_sink_class_init (GstRedisStreamSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS (klass);
  const auto settable = static_cast<GParamFlags> (G_PARAM_READWRITE
      | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  GST_DEBUG_CATEGORY_INIT (gst_redis_stream_sink_debug, "redisstreamsink", 0,
      "Redis stream publisher");

  gobject_class->set_property = gst_redis_stream_sink_set_property;
  gobject_class->get_property = gst_redis_stream_sink_get_property;
  gobject_class->finalize = gst_redis_stream_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_REDIS_URL,
      g_param_spec_string ("redis-url", "Redis URL",
          "redis://[[user]:password@]host[:port][/db] or "
          "unix://[[user]:password@]/path/redis.sock[?db=N]; user and password "
          "percent-encoded. Every sink with the same URL shares one connection",
          DEFAULT_REDIS_URL, settable));
  g_object_class_install_property (gobject_class, PROP_STREAM,
      g_param_spec_string ("stream", "Stream",
          "Key of the Redis stream; {call_sid} becomes the call's id (call-sid, "
          "else stream-sid, else the stream id) and {stream_sid} the "
          "stream-sid, e.g. audio:{{call_sid}} for a Redis Cluster hash tag. "
          "Read again at the start of each call", DEFAULT_STREAM, settable));
  g_object_class_install_property (gobject_class, PROP_INDEX_STREAM,
      g_param_spec_string ("index-stream", "Index stream",
          "Key of a stream that gets, right after each call's call_start and "
          "call_end, an entry naming the call's stream (event, interaction_id, "
          "stream_sid, stream), so consumers can take whole calls through a "
          "consumer group (redisstreamsrc index-stream=...). Empty: none. "
          "Read again at the start of each call", "", settable));
  g_object_class_install_property (gobject_class, PROP_MAXLEN,
      g_param_spec_uint64 ("maxlen", "Maximum length",
          "Trim the stream to about this many entries (XADD MAXLEN ~); "
          "0 keeps every entry", 0, G_MAXUINT64, DEFAULT_MAXLEN, settable));
  g_object_class_install_property (gobject_class, PROP_PAYLOAD,
      g_param_spec_enum ("payload", "Payload",
          "How the audio field holds the audio",
          GST_TYPE_REDIS_STREAM_SINK_PAYLOAD, DEFAULT_PAYLOAD, settable));
  g_object_class_install_property (gobject_class, PROP_MAX_BUFFER_TIME,
      g_param_spec_uint ("max-buffer-time", "Maximum buffer time",
          "Milliseconds of audio kept while Redis is unreachable or slow; "
          "past that the oldest frames are dropped (counted in 'dropped', "
          "reported as a warning). The newest frame is always kept",
          0, MAX_MAX_BUFFER_TIME_MS, DEFAULT_MAX_BUFFER_TIME_MS, settable));
  g_object_class_install_property (gobject_class, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint ("flush-timeout", "Flush timeout",
          "Milliseconds EOS waits for Redis to acknowledge every entry before "
          "it goes on with a warning", 0, MAX_FLUSH_TIMEOUT_MS,
          DEFAULT_FLUSH_TIMEOUT_MS, settable));
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      stat_param ("published", "Published",
          "Audio frames acknowledged by Redis since start"));
  g_object_class_install_property (gobject_class, PROP_PENDING,
      stat_param ("pending", "Pending",
          "Audio frames waiting to be sent or acknowledged"));
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      stat_param ("dropped", "Dropped",
          "Audio frames given up since start: over max-buffer-time, or "
          "refused by Redis"));
  g_object_class_install_property (gobject_class, PROP_RECONNECTS,
      stat_param ("reconnects", "Reconnects",
          "Times the shared connection was made again after a loss since "
          "start"));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Redis stream publisher", "Sink/Network/Audio",
      "Publishes a call's audio to a Redis stream, one XADD per buffer, with "
      "call_start and call_end entries, on a connection shared per process",
      "callstream");

  base_sink_class->start = GST_DEBUG_FUNCPTR (gst_redis_stream_sink_start);
  base_sink_class->stop = GST_DEBUG_FUNCPTR (gst_redis_stream_sink_stop);
  base_sink_class->unlock = GST_DEBUG_FUNCPTR (gst_redis_stream_sink_unlock);
  base_sink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_redis_stream_sink_unlock_stop);
  base_sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_redis_stream_sink_set_caps);
  base_sink_class->event = GST_DEBUG_FUNCPTR (gst_redis_stream_sink_event);
  base_sink_class->render = GST_DEBUG_FUNCPTR (gst_redis_stream_sink_render);

  gst_type_mark_as_plugin_api (GST_TYPE_REDIS_STREAM_SINK_PAYLOAD,
      static_cast<GstPluginAPIFlags> (0));
}
