/* exotelsrc: an Exotel AgentStream / Voicebot media stream as a live source.
 *
 * Messages come from one of three inputs, all producing the same output:
 * a capture replayed from `location` (JSON Lines, on a pad task), the
 * element's own WebSocket server (`port`), or a SoupWebsocketConnection
 * accepted by an application (`connection`), plus the `push-message` action
 * signal for applications that read their sockets themselves. Except for the
 * replay, buffers are pushed on the caller's thread: no thread per call.
 *
 * Example:
 *   gst-launch-1.0 exotelsrc port=8443 ! chunkdumper location=audio-dumps
 */
#include "exotelsrc/gstexotelsrc.h"

#include <libsoup/soup.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "callstream-events.h"
#include "common/message_transport.h"
#include "protocol/base64.h"
#include "protocol/exotel.h"

GST_DEBUG_CATEGORY_STATIC (gst_exotel_src_debug);
#define GST_CAT_DEFAULT gst_exotel_src_debug

namespace exotel = callstream::exotel;

namespace {

constexpr int kDefaultPort = -1;
constexpr const char *kDefaultAddress = "127.0.0.1";
constexpr const char *kDefaultPath = "/v1/ingest";
constexpr gboolean kDefaultPace = TRUE;
// A broken peer may send thousands of bad messages: warn for the first ones,
// then once every kWarningEvery; the counter stays exact.
constexpr guint64 kWarningsInFull = 10;
constexpr guint64 kWarningEvery = 100;

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_PORT,
  PROP_ADDRESS,
  PROP_PATH,
  PROP_CONNECTION,
  PROP_PACE,
  PROP_BOUND_PORT,
  PROP_FRAMES,
  PROP_BYTES,
  PROP_MALFORMED,
  PROP_GAPS,
};

enum {
  SIGNAL_PUSH_MESSAGE,
  N_SIGNALS,
};
guint signals[N_SIGNALS];

struct GObjectUnref {
  void operator() (gpointer object) const { g_object_unref (object); }
};

struct Settings {
  std::string location;
  int port = kDefaultPort;
  std::string address = kDefaultAddress;
  std::string path = kDefaultPath;
  std::unique_ptr<SoupWebsocketConnection, GObjectUnref> connection;
  bool pace = kDefaultPace;

  Settings copy () const
  {
    Settings s;
    s.location = location;
    s.port = port;
    s.address = address;
    s.path = path;
    if (connection)
      s.connection.reset (SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection.get ())));
    s.pace = pace;
    return s;
  }
};

// The call as seen so far; touched only under the src pad's STREAM_LOCK.
struct CallState {
  bool started = false;         // stream-start, caps and segment are out
  bool ended = false;           // EOS is out
  bool format_assumed = false;  // audio came before any start message
  exotel::MediaFormat format;
  std::string call_id;
  guint64 samples = 0;
  GstClockTime base = GST_CLOCK_TIME_NONE;  // running time of sample 0 in this format
  std::optional<int64_t> last_sequence;
  bool discont = true;
};

// Replay pacing: the task waits on the clock between PLAYING and a stop.
struct Pacing {
  std::mutex lock;
  std::condition_variable changed;
  bool playing = false;
  bool stopping = false;
  GstClockID wait = nullptr;

  void unschedule_locked ()
  {
    if (wait != nullptr)
      gst_clock_id_unschedule (wait);
  }
};

}  // namespace

struct ExotelSrcImpl {
  std::mutex settings_lock;  // lock order: STREAM_LOCK, then settings_lock
  Settings settings;
  Settings active;           // copied from settings at start
  CallState call;
  Pacing pacing;

  std::unique_ptr<callstream::CaptureReader> capture;
  std::unique_ptr<callstream::SingleCallServer> server;
  std::unique_ptr<callstream::WebSocketReader> reader;

  std::atomic<int> bound_port { 0 };
  std::atomic<guint64> frames { 0 };
  std::atomic<guint64> bytes { 0 };
  std::atomic<guint64> malformed { 0 };
  std::atomic<guint64> gaps { 0 };
};

struct _GstExotelSrc {
  GstElement parent;
  GstPad *srcpad;
  ExotelSrcImpl *impl;
};

G_DEFINE_TYPE (GstExotelSrc, gst_exotel_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (exotelsrc, "exotelsrc", GST_RANK_NONE,
    GST_TYPE_EXOTEL_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) S16LE, "
        "layout = (string) interleaved, rate = (int) [ 1, MAX ], "
        "channels = (int) 1; "
        "audio/x-mulaw, rate = (int) [ 1, MAX ], channels = (int) 1"));

/* ---- output ------------------------------------------------------------ */

static void
report_malformed (GstExotelSrc * self, const std::string & reason)
{
  const guint64 count = ++self->impl->malformed;
  GST_DEBUG_OBJECT (self, "malformed message #%" G_GUINT64_FORMAT ": %s",
      count, reason.c_str ());
  if (count > kWarningsInFull && count % kWarningEvery != 0)
    return;
  GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECODE,
      ("Ignored a malformed Exotel message: %s", reason.c_str ()),
      ("%" G_GUINT64_FORMAT " malformed messages so far in call %s", count,
          self->impl->call.call_id.c_str ()),
      ("call-sid", G_TYPE_STRING, self->impl->call.call_id.c_str (),
          "malformed", G_TYPE_UINT64, count, nullptr));
}

static GstCaps *
caps_for_format (const exotel::MediaFormat & format)
{
  if (format.encoding == exotel::Encoding::Mulaw)
    return gst_caps_new_simple ("audio/x-mulaw", "rate", G_TYPE_INT,
        format.sample_rate, "channels", G_TYPE_INT, 1, nullptr);
  return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
      "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT,
      format.sample_rate, "channels", G_TYPE_INT, 1, nullptr);
}

static void
push_stream_start (GstExotelSrc * self, const std::string & stream_name)
{
  CallState & call = self->impl->call;
  g_autofree gchar *stream_id = gst_pad_create_stream_id (self->srcpad,
      GST_ELEMENT (self), stream_name.empty ()? nullptr : stream_name.c_str ());
  GstEvent *event = gst_event_new_stream_start (stream_id);
  gst_event_set_group_id (event, gst_util_group_id_next ());
  gst_pad_push_event (self->srcpad, event);
  call.started = true;
}

static void
push_segment (GstExotelSrc * self)
{
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&segment));
}

static GstStructure *
call_info_structure (const exotel::Start & start)
{
  GstStructure *info = gst_structure_new (CALLSTREAM_CALL_INFO_NAME,
      "provider", G_TYPE_STRING, "exotel",
      "encoding", G_TYPE_STRING, start.media_format.encoding_name.c_str (),
      "sample-rate", G_TYPE_INT, start.media_format.sample_rate,
      "bit-rate", G_TYPE_INT, start.media_format.bit_rate, nullptr);
  const std::pair<const char *, const std::string *> ids[] = {
    {"call-sid", &start.call_sid}, {"stream-sid", &start.stream_sid},
    {"account-sid", &start.account_sid}, {"from", &start.from},
    {"to", &start.to},
  };
  for (const auto &[field, value] : ids)
    if (!value->empty ())
      gst_structure_set (info, field, G_TYPE_STRING, value->c_str (), nullptr);
  GstStructure *params = gst_structure_new_empty ("custom-parameters");
  for (const auto &[key, value] : start.custom_parameters)
    gst_structure_set (params, key.c_str (), G_TYPE_STRING, value.c_str (),
        nullptr);
  gst_structure_set (info, "custom-parameters", GST_TYPE_STRUCTURE, params,
      nullptr);
  gst_structure_free (params);
  return info;
}

static GstTagList *
call_tags (const exotel::Start & start)
{
  GstTagList *tags = gst_tag_list_new_empty ();
  const std::pair<const char *, const std::string *> ids[] = {
    {CALLSTREAM_TAG_CALL_SID, &start.call_sid},
    {CALLSTREAM_TAG_STREAM_SID, &start.stream_sid},
    {CALLSTREAM_TAG_ACCOUNT_SID, &start.account_sid},
    {CALLSTREAM_TAG_CALLER, &start.from}, {CALLSTREAM_TAG_CALLEE, &start.to},
  };
  for (const auto &[tag, value] : ids)
    if (!value->empty ())
      gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, tag, value->c_str (),
          nullptr);
  gst_tag_list_set_scope (tags, GST_TAG_SCOPE_STREAM);
  return tags;
}

// Announces a call (or a new format for it): stream-start and segment once,
// then caps, call info and tags.
static void
begin_call (GstExotelSrc * self, const exotel::Start & start)
{
  CallState & call = self->impl->call;
  const bool first = !call.started;
  const bool format_changed = first
      || call.format.encoding != start.media_format.encoding
      || call.format.sample_rate != start.media_format.sample_rate;
  if (!start.call_sid.empty ())
    call.call_id = start.call_sid;
  else if (!start.stream_sid.empty ())
    call.call_id = start.stream_sid;
  if (!first && format_changed && GST_CLOCK_TIME_IS_VALID (call.base)) {
    // Time so far stays; samples (and offsets) count anew at the new rate.
    call.base += gst_util_uint64_scale_int (call.samples, GST_SECOND,
        call.format.sample_rate);
    call.samples = 0;
  }
  call.format = start.media_format;
  if (first)
    push_stream_start (self, call.call_id);
  if (format_changed) {
    g_autoptr (GstCaps) caps = caps_for_format (call.format);
    GST_INFO_OBJECT (self, "call %s: %" GST_PTR_FORMAT, call.call_id.c_str (),
        caps);
    gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
  }
  if (first)
    push_segment (self);
  gst_pad_push_event (self->srcpad,
      callstream_call_info_event_new (call_info_structure (start)));
  gst_pad_push_event (self->srcpad, gst_event_new_tag (call_tags (start)));
}

static void
ensure_stream (GstExotelSrc * self)
{
  if (self->impl->call.started)
    return;
  push_stream_start (self, "");
  push_segment (self);
}

static GstFlowReturn
end_call (GstExotelSrc * self, const char *why)
{
  CallState & call = self->impl->call;
  if (call.ended)
    return GST_FLOW_EOS;
  GST_INFO_OBJECT (self, "call %s ends: %s", call.call_id.c_str (), why);
  ensure_stream (self);
  call.ended = true;
  gst_pad_push_event (self->srcpad, gst_event_new_eos ());
  return GST_FLOW_EOS;
}

static GstClockTime
running_time_now (GstExotelSrc * self)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (GST_ELEMENT (self));
  if (clock == nullptr || GST_STATE (self) != GST_STATE_PLAYING)
    return 0;
  const GstClockTime now = gst_clock_get_time (clock);
  const GstClockTime base_time = gst_element_get_base_time (GST_ELEMENT (self));
  return now > base_time ? now - base_time : 0;
}

// Replay pacing: blocks until @running_time, across pauses; FLUSHING on stop.
static GstFlowReturn
wait_until (GstExotelSrc * self, GstClockTime running_time)
{
  Pacing & pacing = self->impl->pacing;
  for (;;) {
    std::unique_lock lock (pacing.lock);
    pacing.changed.wait (lock, [&] { return pacing.playing || pacing.stopping; });
    if (pacing.stopping)
      return GST_FLOW_FLUSHING;
    g_autoptr (GstClock) clock = gst_element_get_clock (GST_ELEMENT (self));
    if (clock == nullptr)
      return GST_FLOW_OK;
    pacing.wait = gst_clock_new_single_shot_id (clock,
        gst_element_get_base_time (GST_ELEMENT (self)) + running_time);
    GstClockID id = pacing.wait;
    lock.unlock ();
    const GstClockReturn result = gst_clock_id_wait (id, nullptr);
    lock.lock ();
    pacing.wait = nullptr;
    gst_clock_id_unref (id);
    if (result != GST_CLOCK_UNSCHEDULED)
      return GST_FLOW_OK;
    // Unscheduled by a pause or a stop: look at the flags again.
  }
}

static GstFlowReturn
handle_flow (GstExotelSrc * self, GstFlowReturn ret)
{
  if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING)
    return ret;
  if (ret == GST_FLOW_EOS) {
    self->impl->call.ended = true;
    return ret;
  }
  GST_ELEMENT_FLOW_ERROR (self, ret);
  end_call (self, "downstream flow error");
  return ret;
}

// Timestamps come from the sample count, so lost time never shifts them.
static GstFlowReturn
push_audio (GstExotelSrc * self, GstBuffer * buffer)
{
  ExotelSrcImpl *impl = self->impl;
  CallState & call = impl->call;
  const gsize size = gst_buffer_get_size (buffer);
  const guint sample_size = call.format.encoding == exotel::Encoding::Pcm16 ? 2 : 1;
  if (size % sample_size != 0) {
    gst_buffer_unref (buffer);
    report_malformed (self, "odd byte count " + std::to_string (size)
        + " for PCM16 audio");
    return GST_FLOW_OK;
  }
  if (size == 0) {
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }
  const guint64 samples = size / sample_size;
  const int rate = call.format.sample_rate;
  if (!GST_CLOCK_TIME_IS_VALID (call.base))
    call.base = running_time_now (self);
  const GstClockTime pts = call.base
      + gst_util_uint64_scale_int (call.samples, GST_SECOND, rate);
  const GstClockTime end = call.base
      + gst_util_uint64_scale_int (call.samples + samples, GST_SECOND, rate);
  if (impl->capture && impl->active.pace) {
    const GstFlowReturn waited = wait_until (self, pts);
    if (waited != GST_FLOW_OK) {
      gst_buffer_unref (buffer);
      return waited;
    }
  }
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = end - pts;
  GST_BUFFER_OFFSET (buffer) = call.samples;
  GST_BUFFER_OFFSET_END (buffer) = call.samples + samples;
  if (call.discont) {
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    call.discont = false;
  }
  call.samples += samples;
  impl->frames++;
  impl->bytes += size;
  return handle_flow (self, gst_pad_push (self->srcpad, buffer));
}

/* ---- input ------------------------------------------------------------- */

static void
check_sequence (GstExotelSrc * self, const std::optional<int64_t> & sequence)
{
  CallState & call = self->impl->call;
  if (!sequence)
    return;
  if (call.last_sequence && *sequence > *call.last_sequence + 1) {
    const guint64 gaps = ++self->impl->gaps;
    GST_INFO_OBJECT (self, "call %s: sequence jumps from %" G_GINT64_FORMAT
        " to %" G_GINT64_FORMAT " (gap %" G_GUINT64_FORMAT ")",
        call.call_id.c_str (), *call.last_sequence, *sequence, gaps);
    call.discont = true;
  } else if (call.last_sequence && *sequence <= *call.last_sequence) {
    GST_DEBUG_OBJECT (self, "sequence %" G_GINT64_FORMAT " after %"
        G_GINT64_FORMAT ": late or repeated", *sequence, *call.last_sequence);
    return;
  }
  call.last_sequence = sequence;
}

static GstFlowReturn
handle_media (GstExotelSrc * self, const exotel::Media & media)
{
  if (!self->impl->call.started) {
    report_malformed (self, "media before start");
    return GST_FLOW_OK;
  }
  GstBuffer *buffer = gst_buffer_new_allocate (nullptr,
      callstream::base64_decoded_max (media.payload.size ()), nullptr);
  GstMapInfo map;
  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  const auto decoded = callstream::base64_decode_into (media.payload, map.data);
  gst_buffer_unmap (buffer, &map);
  if (!decoded) {
    gst_buffer_unref (buffer);
    report_malformed (self, "media payload is not valid base64");
    return GST_FLOW_OK;
  }
  gst_buffer_set_size (buffer, *decoded);
  return push_audio (self, buffer);
}

static GstFlowReturn
handle_dtmf (GstExotelSrc * self, const exotel::Dtmf & dtmf)
{
  if (!self->impl->call.started) {
    report_malformed (self, "dtmf before start");
    return GST_FLOW_OK;
  }
  const gint duration = dtmf.duration_ms ? static_cast<gint> (*dtmf.duration_ms) : -1;
  GstEvent *start = dtmf.digit.size () == 1
      ? callstream_dtmf_event_new (dtmf.digit[0], TRUE, duration) : nullptr;
  if (start == nullptr) {
    report_malformed (self, "unknown DTMF digit \"" + dtmf.digit + "\"");
    return GST_FLOW_OK;
  }
  gst_pad_push_event (self->srcpad, start);
  gst_pad_push_event (self->srcpad,
      callstream_dtmf_event_new (dtmf.digit[0], FALSE, -1));
  return GST_FLOW_OK;
}

static void
post_mark (GstExotelSrc * self, const exotel::Mark & mark)
{
  GstStructure *s = gst_structure_new (CALLSTREAM_MARK_MESSAGE_NAME,
      "name", G_TYPE_STRING, mark.name.c_str (),
      "call-sid", G_TYPE_STRING, self->impl->call.call_id.c_str (), nullptr);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

// Called with the src pad's STREAM_LOCK held.
static GstFlowReturn
handle_text_locked (GstExotelSrc * self, std::string_view text)
{
  const exotel::Message message = exotel::parse_message (text);
  return std::visit ([self] (const auto &m) -> GstFlowReturn {
        using T = std::decay_t<decltype (m)>;
        if constexpr (requires { m.sequence_number; })
          check_sequence (self, m.sequence_number);
        if constexpr (std::is_same_v<T, exotel::ParseError>) {
          report_malformed (self, m.reason);
        } else if constexpr (std::is_same_v<T, exotel::Start>) {
          begin_call (self, m);
        } else if constexpr (std::is_same_v<T, exotel::Media>) {
          return handle_media (self, m);
        } else if constexpr (std::is_same_v<T, exotel::Dtmf>) {
          return handle_dtmf (self, m);
        } else if constexpr (std::is_same_v<T, exotel::Mark>) {
          post_mark (self, m);
        } else if constexpr (std::is_same_v<T, exotel::Stop>) {
          return end_call (self, m.reason.empty ()? "stop" : m.reason.c_str ());
        } else if constexpr (std::is_same_v<T, exotel::Unknown>) {
          GST_DEBUG_OBJECT (self, "ignoring event \"%s\"", m.event.c_str ());
        }
        return GST_FLOW_OK;
      }, message);
}

// Raw audio in the call's format; before any start, Exotel's default format.
static GstFlowReturn
handle_binary_locked (GstExotelSrc * self, const uint8_t * data, size_t size)
{
  CallState & call = self->impl->call;
  if (!call.started) {
    call.format_assumed = true;
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Binary audio before any start message: taking it as PCM16 8000 Hz "
            "mono, Exotel's default"), (nullptr));
    begin_call (self, exotel::Start {});
  }
  return push_audio (self, gst_buffer_new_memdup (data, size));
}

template <typename Handler>
static GstFlowReturn
with_stream_lock (GstExotelSrc * self, Handler && handler)
{
  GST_PAD_STREAM_LOCK (self->srcpad);
  GstFlowReturn ret;
  if (GST_PAD_IS_FLUSHING (self->srcpad))
    ret = GST_FLOW_FLUSHING;
  else if (self->impl->call.ended)
    ret = GST_FLOW_EOS;
  else
    ret = handler ();
  GST_PAD_STREAM_UNLOCK (self->srcpad);
  return ret;
}

static GstFlowReturn
receive_text (GstExotelSrc * self, std::string_view text)
{
  return with_stream_lock (self, [&] { return handle_text_locked (self, text); });
}

static GstFlowReturn
receive_binary (GstExotelSrc * self, const uint8_t * data, size_t size)
{
  return with_stream_lock (self, [&] {
        return handle_binary_locked (self, data, size);
      });
}

static GstFlowReturn
receive_end (GstExotelSrc * self, const char *why)
{
  return with_stream_lock (self, [&] { return end_call (self, why); });
}

static GstFlowReturn
gst_exotel_src_push_message (GstExotelSrc * self, SoupWebsocketDataType type,
    GBytes * message)
{
  g_return_val_if_fail (message != nullptr, GST_FLOW_ERROR);
  gsize size = 0;
  const auto *data = static_cast<const uint8_t *> (g_bytes_get_data (message, &size));
  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    return receive_text (self, std::string_view (reinterpret_cast<const char *> (data), size));
  return receive_binary (self, data, size);
}

static callstream::MessageCallbacks
make_callbacks (GstExotelSrc * self)
{
  // The callbacks keep the element alive while a socket may still call them.
  std::shared_ptr<GstExotelSrc> ref (GST_EXOTEL_SRC (gst_object_ref (self)),
      gst_object_unref);
  return {
    [ref] (std::string_view text) { receive_text (ref.get (), text); },
    [ref] (const uint8_t *data, size_t size) {
      receive_binary (ref.get (), data, size);
    },
    [ref] (int code, std::string_view reason) {
      g_autofree gchar *why = g_strdup_printf ("socket closed (%d %.*s)", code,
          static_cast<int> (reason.size ()), reason.data ());
      receive_end (ref.get (), why);
    },
  };
}

static void
replay_next (gpointer data)
{
  auto *self = GST_EXOTEL_SRC (data);
  std::string line;
  g_autoptr (GError) error = nullptr;
  GstFlowReturn ret;
  if (self->impl->capture->next_line (line, &error)) {
    ret = handle_text_locked (self, line);
  } else {
    if (error != nullptr)
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("Could not read capture \"%s\"", self->impl->active.location.c_str ()),
          ("%s", error->message));
    ret = end_call (self, "end of capture");
  }
  if (ret != GST_FLOW_OK)
    gst_pad_pause_task (self->srcpad);
}

/* ---- life cycle -------------------------------------------------------- */

static bool
start_inputs (GstExotelSrc * self)
{
  ExotelSrcImpl *impl = self->impl;
  {
    std::lock_guard lock (impl->settings_lock);
    impl->active = impl->settings.copy ();
  }
  const Settings & s = impl->active;
  const int inputs = !s.location.empty () + (s.port >= 0) + (s.connection != nullptr);
  if (inputs > 1) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Set only one of location, port and connection"), (nullptr));
    return false;
  }
  g_autoptr (GError) error = nullptr;
  if (!s.location.empty ()) {
    impl->capture = callstream::CaptureReader::open (s.location, &error);
    if (!impl->capture) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not open capture \"%s\"", s.location.c_str ()), ("%s",
              error->message));
      return false;
    }
    return gst_pad_start_task (self->srcpad, replay_next, self, nullptr);
  }
  if (s.port >= 0) {
    impl->server = callstream::SingleCallServer::start (s.address, s.port,
        s.path, make_callbacks (self), &error);
    if (!impl->server) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not listen on %s port %d", s.address.c_str (), s.port),
          ("%s", error->message));
      return false;
    }
    impl->bound_port = impl->server->port ();
    GST_INFO_OBJECT (self, "waiting for a call on ws://%s:%d%s",
        s.address.c_str (), impl->server->port (), s.path.c_str ());
  } else if (s.connection) {
    impl->reader = std::make_unique<callstream::WebSocketReader> (
        s.connection.get (), make_callbacks (self));
  }
  return true;
}

static void
set_pacing (GstExotelSrc * self, bool playing, bool stopping)
{
  Pacing & pacing = self->impl->pacing;
  std::lock_guard lock (pacing.lock);
  pacing.playing = playing;
  pacing.stopping = stopping;
  pacing.unschedule_locked ();
  pacing.changed.notify_all ();
}

static void
stop_inputs (GstExotelSrc * self)
{
  ExotelSrcImpl *impl = self->impl;
  gst_pad_stop_task (self->srcpad);
  impl->server.reset ();
  impl->reader.reset ();
  impl->capture.reset ();
  impl->active = Settings ();
  impl->call = CallState ();
  impl->bound_port = 0;
}

static GstStateChangeReturn
gst_exotel_src_change_state (GstElement * element, GstStateChange transition)
{
  auto *self = GST_EXOTEL_SRC (element);
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      set_pacing (self, false, false);
      self->impl->frames = self->impl->bytes = 0;
      self->impl->malformed = self->impl->gaps = 0;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      set_pacing (self, true, false);
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      set_pacing (self, false, false);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      set_pacing (self, false, true);
      break;
    default:
      break;
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_exotel_src_parent_class)->change_state (element,
      transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!start_inputs (self)) {
        set_pacing (self, false, true);
        stop_inputs (self);
        GST_ELEMENT_CLASS (gst_exotel_src_parent_class)->change_state (element,
            GST_STATE_CHANGE_PAUSED_TO_READY);
        return GST_STATE_CHANGE_FAILURE;
      }
      return GST_STATE_CHANGE_NO_PREROLL;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      return GST_STATE_CHANGE_NO_PREROLL;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop_inputs (self);
      break;
    default:
      break;
  }
  return ret;
}

static gboolean
gst_exotel_src_send_event (GstElement * element, GstEvent * event)
{
  auto *self = GST_EXOTEL_SRC (element);
  // An application that reads the socket itself ends the call with EOS.
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    gst_event_unref (event);
    receive_end (self, "EOS sent by the application");
    return TRUE;
  }
  return GST_ELEMENT_CLASS (gst_exotel_src_parent_class)->send_event (element,
      event);
}

/* ---- GObject ----------------------------------------------------------- */

static void
gst_exotel_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  auto *self = GST_EXOTEL_SRC (object);
  std::lock_guard lock (self->impl->settings_lock);
  Settings & s = self->impl->settings;
  switch (prop_id) {
    case PROP_LOCATION:{
      const gchar *location = g_value_get_string (value);
      s.location = location != nullptr ? location : "";
      break;
    }
    case PROP_PORT:
      s.port = g_value_get_int (value);
      break;
    case PROP_ADDRESS:{
      const gchar *address = g_value_get_string (value);
      s.address = address != nullptr ? address : kDefaultAddress;
      break;
    }
    case PROP_PATH:{
      const gchar *path = g_value_get_string (value);
      s.path = path != nullptr ? path : kDefaultPath;
      break;
    }
    case PROP_CONNECTION:{
      gpointer connection = g_value_dup_object (value);
      s.connection.reset (static_cast<SoupWebsocketConnection *> (connection));
      break;
    }
    case PROP_PACE:
      s.pace = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_exotel_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  auto *self = GST_EXOTEL_SRC (object);
  ExotelSrcImpl *impl = self->impl;
  std::lock_guard lock (impl->settings_lock);
  const Settings & s = impl->settings;
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, s.location.empty ()? nullptr : s.location.c_str ());
      break;
    case PROP_PORT:
      g_value_set_int (value, s.port);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, s.address.c_str ());
      break;
    case PROP_PATH:
      g_value_set_string (value, s.path.c_str ());
      break;
    case PROP_CONNECTION:
      g_value_set_object (value, s.connection.get ());
      break;
    case PROP_PACE:
      g_value_set_boolean (value, s.pace);
      break;
    case PROP_BOUND_PORT:
      g_value_set_int (value, impl->bound_port);
      break;
    case PROP_FRAMES:
      g_value_set_uint64 (value, impl->frames);
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, impl->bytes);
      break;
    case PROP_MALFORMED:
      g_value_set_uint64 (value, impl->malformed);
      break;
    case PROP_GAPS:
      g_value_set_uint64 (value, impl->gaps);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_exotel_src_finalize (GObject * object)
{
  auto *self = GST_EXOTEL_SRC (object);
  delete self->impl;
  G_OBJECT_CLASS (gst_exotel_src_parent_class)->finalize (object);
}

static void
gst_exotel_src_init (GstExotelSrc * self)
{
  self->impl = new ExotelSrcImpl ();
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}

static GParamSpec *
stat_param (const char *name, const char *nick, const char *blurb)
{
  return g_param_spec_uint64 (name, nick, blurb, 0, G_MAXUINT64, 0,
      GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_exotel_src_class_init (GstExotelSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const auto settable = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY);

  gobject_class->set_property = gst_exotel_src_set_property;
  gobject_class->get_property = gst_exotel_src_get_property;
  gobject_class->finalize = gst_exotel_src_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Capture file",
          "Replay this capture of an Exotel call: one WebSocket text message "
          "per line (JSON Lines)", nullptr, settable));
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_int ("port", "Port",
          "Accept one call on this TCP port with a WebSocket server of its own "
          "(-1: no server, 0: any free port, see bound-port)", -1, 65535,
          kDefaultPort, settable));
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "IP address the WebSocket server listens on", kDefaultAddress,
          settable));
  g_object_class_install_property (gobject_class, PROP_PATH,
      g_param_spec_string ("path", "Path",
          "URL path the WebSocket server accepts calls on", kDefaultPath,
          settable));
  g_object_class_install_property (gobject_class, PROP_CONNECTION,
      g_param_spec_object ("connection", "Connection",
          "A SoupWebsocketConnection already accepted by the application; its "
          "messages are handled on the connection's own thread",
          SOUP_TYPE_WEBSOCKET_CONNECTION, settable));
  g_object_class_install_property (gobject_class, PROP_PACE,
      g_param_spec_boolean ("pace", "Pace",
          "Replay a capture in real time (FALSE: as fast as downstream takes it)",
          kDefaultPace, settable));
  g_object_class_install_property (gobject_class, PROP_BOUND_PORT,
      g_param_spec_int ("bound-port", "Bound port",
          "The port the WebSocket server listens on (0 when not listening)",
          0, 65535, 0, GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property (gobject_class, PROP_FRAMES,
      stat_param ("frames", "Frames", "Audio buffers pushed in this call"));
  g_object_class_install_property (gobject_class, PROP_BYTES,
      stat_param ("bytes", "Bytes", "Audio bytes pushed in this call"));
  g_object_class_install_property (gobject_class, PROP_MALFORMED,
      stat_param ("malformed", "Malformed",
          "Messages ignored as malformed (bad JSON, bad base64, odd PCM16 "
          "byte count, media before start, ...)"));
  g_object_class_install_property (gobject_class, PROP_GAPS,
      stat_param ("gaps", "Gaps",
          "Jumps in the message sequence numbers (lost messages)"));

  /**
   * GstExotelSrc::push-message:
   * @type: SOUP_WEBSOCKET_DATA_TEXT (a JSON message) or _BINARY (raw audio)
   * @message: the message payload
   *
   * Handles one WebSocket message read by the application; the audio is pushed
   * from the calling thread. Returns the flow of the push (GST_FLOW_EOS once
   * the call has ended).
   */
  signals[SIGNAL_PUSH_MESSAGE] = g_signal_new_class_handler ("push-message",
      G_TYPE_FROM_CLASS (klass), GSignalFlags (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK (gst_exotel_src_push_message), nullptr, nullptr, nullptr,
      GST_TYPE_FLOW_RETURN, 2, SOUP_TYPE_WEBSOCKET_DATA_TYPE, G_TYPE_BYTES);

  element_class->change_state = gst_exotel_src_change_state;
  element_class->send_event = gst_exotel_src_send_event;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Exotel media stream source", "Source/Network/Audio",
      "Receives an Exotel AgentStream/Voicebot call (WebSocket JSON with "
      "base64 audio) and outputs its audio with the call's metadata",
      "callstream developers");
  GST_DEBUG_CATEGORY_INIT (gst_exotel_src_debug, "exotelsrc", 0,
      "Exotel media stream source");
}
