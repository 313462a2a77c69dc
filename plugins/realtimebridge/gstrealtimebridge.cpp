/* realtimebridge: a phone call talking to the OpenAI Realtime API.
 *
 * Sink pad: the caller's audio, u-law 8 kHz (sent as "audio/pcmu", no
 * transcoding) or S16LE 24 kHz ("audio/pcm"). Src pad: the model's audio in
 * the same family. The socket is opened when the sink pad's caps arrive (the
 * session.update needs the format); caller audio that arrives while it is
 * still connecting is kept in order and sent once it opens.
 *
 *   gst-launch-1.0 twiliosrc port=8080 session=c1 \
 *       ! realtimebridge instructions="You are a helpful agent" \
 *       ! twiliosink session=c1
 *
 * Threads: the WebSockets of every bridge in the process run on a few shared
 * threads, one per processor, each with its GMainContext (realtime_socket).
 * Model audio is decoded there
 * (realtime_call), gathered to >= 50 ms (reply_tracker) and queued; a task
 * on the src pad pushes the queue, so a sink that blocks never stalls the
 * other calls' sockets, and barge-in is handled at once.
 *
 * Timestamps: a sample counter continuing across replies; a reply that
 * starts after a silence jumps forward to the caller's running time, so the
 * model's audio is aligned to the caller's stream.
 *
 * Barge-in: on input_audio_buffer.speech_started while the caller has not
 * heard all of the current assistant item (played position from the sink's
 * "callstream-played" events arriving on the src pad), send
 * conversation.item.truncate with audio_end_ms = what has played of that
 * item, push "callstream-clear" downstream out-of-band (acts at once) and
 * serialized (catches a buffer in flight), drop the queued audio, and ignore
 * the item's late deltas.
 *
 * Greeting: response.create whose response.instructions is the greeting,
 * sent right after session.update, so the model speaks first.
 *
 * Errors (refused, timeout, HTTP status, an `error` event, the socket closing
 * mid-call) are GST_ELEMENT_ERROR with the server's own words and the call id
 * in the details; the api key is never logged nor put in a message.
 */
#include "realtimebridge/gstrealtimebridge.h"

#include <memory>
#include <mutex>
#include <string>

#include "callstream-events.h"
#include "protocol/realtime.h"
#include "realtimebridge/realtime_call.h"
#include "realtimebridge/realtime_socket.h"

GST_DEBUG_CATEGORY_STATIC (gst_realtime_bridge_debug);
#define GST_CAT_DEFAULT gst_realtime_bridge_debug

namespace realtime = callstream::realtime;

namespace {

constexpr const char *kDefaultUrl = "wss://api.openai.com/v1/realtime";
constexpr const char *kDefaultModel = "gpt-realtime";
constexpr double kDefaultThreshold = 0.5;
constexpr guint kDefaultPrefixPaddingMs = 300;
constexpr guint kDefaultSilenceDurationMs = 500;
constexpr guint kDefaultConnectTimeoutMs = 10000;

enum {
  PROP_0,
  PROP_URL,
  PROP_MODEL,
  PROP_API_KEY,
  PROP_VOICE,
  PROP_INSTRUCTIONS,
  PROP_THRESHOLD,
  PROP_PREFIX_PADDING_MS,
  PROP_SILENCE_DURATION_MS,
  PROP_GREETING,
  PROP_TRANSCRIPTION_MODEL,
  PROP_CONNECT_TIMEOUT,
  PROP_TLS_CA_FILE,
  PROP_FRAMES_SENT,
  PROP_QUEUED_BEFORE_OPEN,
  PROP_TRUNCATIONS,
  PROP_LATE_DELTAS,
};

struct Settings {
  std::string url = kDefaultUrl;
  std::string model = kDefaultModel;
  std::string api_key;
  std::string voice;
  std::string instructions;
  double threshold = kDefaultThreshold;
  guint prefix_padding_ms = kDefaultPrefixPaddingMs;
  guint silence_duration_ms = kDefaultSilenceDurationMs;
  std::string greeting;
  std::string transcription_model;
  guint connect_timeout_ms = kDefaultConnectTimeoutMs;
  std::string tls_ca_file;
};

}  // namespace

// Lock order: settings_lock, then call.lock.
struct RealtimeBridgeImpl {
  RealtimeBridgeImpl (GstElement *element, GstPad *srcpad)
      : call (element, srcpad, gst_realtime_bridge_debug) {}

  std::mutex settings_lock;
  Settings settings;
  callstream::RealtimeCall call;
};

struct _GstRealtimeBridge {
  GstElement parent;
  GstPad *sinkpad;
  GstPad *srcpad;
  RealtimeBridgeImpl *impl;
};

G_DEFINE_TYPE (GstRealtimeBridge, gst_realtime_bridge, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (realtimebridge, "realtimebridge", GST_RANK_NONE,
    GST_TYPE_REALTIME_BRIDGE);

#define BRIDGE_CAPS \
  "audio/x-mulaw, rate = (int) 8000, channels = (int) 1; " \
  "audio/x-raw, format = (string) S16LE, rate = (int) 24000, channels = (int) 1, " \
  "layout = (string) interleaved"
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (BRIDGE_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (BRIDGE_CAPS));

/* ---- sink pad (caller's audio) ------------------------------------------ */

// What the socket connects to and sends first, from the properties.
static callstream::RealtimeSocket::Options
socket_options (const Settings & settings, realtime::AudioFormat format)
{
  realtime::SessionConfig config;
  config.model = settings.model;
  config.format = format;
  config.voice = settings.voice;
  config.instructions = settings.instructions;
  config.vad_threshold = settings.threshold;
  config.prefix_padding_ms = settings.prefix_padding_ms;
  config.silence_duration_ms = settings.silence_duration_ms;
  config.transcription_model = settings.transcription_model;

  callstream::RealtimeSocket::Options options;
  options.url = settings.url;
  options.model = settings.model;
  options.api_key = settings.api_key;
  options.connect_timeout_ms = settings.connect_timeout_ms;
  options.tls_ca_file = settings.tls_ca_file;
  options.opening.push_back (realtime::session_update (config));
  if (!settings.greeting.empty ())
    options.opening.push_back (realtime::response_create (settings.greeting));
  return options;
}

static gboolean
handle_caps (GstRealtimeBridge * self, GstCaps * caps)
{
  RealtimeBridgeImpl *impl = self->impl;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint rate = 0;
  gst_structure_get_int (s, "rate", &rate);
  const auto format = gst_structure_has_name (s, "audio/x-mulaw")
      ? realtime::AudioFormat::Pcmu : realtime::AudioFormat::Pcm24k;
  Settings settings;
  {
    std::lock_guard guard (impl->settings_lock);
    settings = impl->settings;
  }
  callstream::RealtimeCall &call = impl->call;
  std::lock_guard guard (call.lock);
  callstream::RealtimeCall::State &c = call.state;
  if (c.socket) {
    if (c.format != format) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Caller audio changed format mid-call"),
          ("now %" GST_PTR_FORMAT, caps));
      return FALSE;
    }
    return TRUE;
  }
  if (!c.stream_started) {
    g_autofree gchar *stream_id = gst_pad_create_stream_id (self->srcpad,
        GST_ELEMENT (self), "model");
    call.enqueue (GST_MINI_OBJECT (gst_event_new_stream_start (stream_id)));
    c.stream_started = true;
  }
  call.enqueue (GST_MINI_OBJECT (gst_event_new_caps (caps)));
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  call.enqueue (GST_MINI_OBJECT (gst_event_new_segment (&segment)));
  call.start (format, rate, socket_options (settings, format));
  return TRUE;
}

static gboolean
gst_realtime_bridge_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  auto *self = GST_REALTIME_BRIDGE (parent);
  callstream::RealtimeCall &call = self->impl->call;
  gboolean ret = TRUE;
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps = nullptr;
      gst_event_parse_caps (event, &caps);
      ret = handle_caps (self, caps);
      break;
    }
    case GST_EVENT_SEGMENT: {
      std::lock_guard guard (call.lock);
      gst_event_copy_segment (event, &call.state.caller_segment);
      break;
    }
    case GST_EVENT_EOS: {
      std::lock_guard guard (call.lock);
      call.enqueue (GST_MINI_OBJECT (gst_event_ref (event)));
      break;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY: {
      // Call info (the sink needs stream-sid) and DTMF go on in order.
      std::lock_guard guard (call.lock);
      if (const GstStructure *info = callstream_call_info_event_parse (event)) {
        if (const gchar *id = callstream_call_info_id (info))
          call.state.call_id = id;
      }
      call.enqueue (GST_MINI_OBJECT (gst_event_ref (event)));
      break;
    }
    default:
      // Stream-start, flushes, tags: the model's stream has its own.
      // (GST_EVENT_IS_SERIALIZED mixes enum types, which clang refuses in C++20.)
      if ((static_cast<guint> (GST_EVENT_TYPE (event))
              & static_cast<guint> (GST_EVENT_TYPE_SERIALIZED)) == 0)
        ret = gst_pad_event_default (pad, parent, event), event = nullptr;
      break;
  }
  if (event != nullptr)
    gst_event_unref (event);
  return ret;
}

static GstFlowReturn
gst_realtime_bridge_chain (GstPad *, GstObject * parent, GstBuffer * buffer)
{
  callstream::RealtimeCall &call = GST_REALTIME_BRIDGE (parent)->impl->call;
  std::lock_guard guard (call.lock);
  callstream::RealtimeCall::State &c = call.state;
  if (c.failed) {
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  if (!c.socket) {
    gst_buffer_unref (buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (GST_BUFFER_PTS_IS_VALID (buffer)) {
    GstClockTime end = GST_BUFFER_PTS (buffer);
    if (GST_BUFFER_DURATION_IS_VALID (buffer))
      end += GST_BUFFER_DURATION (buffer);
    const GstClockTime running = gst_segment_to_running_time (&c.caller_segment,
        GST_FORMAT_TIME, end);
    if (GST_CLOCK_TIME_IS_VALID (running))
      c.caller_position = std::max (c.caller_position, running);
  }
  GstMapInfo map;
  if (gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    c.socket->send (realtime::input_audio_append (map.data, map.size));
    gst_buffer_unmap (buffer, &map);
  }
  gst_buffer_unref (buffer);
  return GST_FLOW_OK;
}

/* ---- src pad (model's audio) -------------------------------------------- */

static void
gst_realtime_bridge_loop (GstRealtimeBridge * self)
{
  callstream::RealtimeCall &call = self->impl->call;
  GstMiniObject *item = nullptr;
  {
    std::unique_lock held (call.lock);
    call.changed.wait (held, [&call] { return call.flushing || !call.output.empty (); });
    if (call.flushing) {
      held.unlock ();
      gst_pad_pause_task (self->srcpad);
      return;
    }
    item = call.output.front ();
    call.output.pop_front ();
  }
  GstFlowReturn flow = GST_FLOW_OK;
  if (GST_IS_BUFFER (item)) {
    flow = gst_pad_push (self->srcpad, GST_BUFFER (item));
  } else {
    const bool eos = GST_EVENT_TYPE (GST_EVENT (item)) == GST_EVENT_EOS;
    gst_pad_push_event (self->srcpad, GST_EVENT (item));
    if (eos)
      flow = GST_FLOW_EOS;
  }
  if (flow == GST_FLOW_OK)
    return;
  GST_DEBUG_OBJECT (self, "pausing task: %s", gst_flow_get_name (flow));
  gst_pad_pause_task (self->srcpad);
  if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS)
    GST_ELEMENT_FLOW_ERROR (self, flow);
}

static gboolean
gst_realtime_bridge_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  auto *self = GST_REALTIME_BRIDGE (parent);
  callstream::RealtimeCall &call = self->impl->call;
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  {
    std::lock_guard guard (call.lock);
    call.flushing = !active;
    call.changed.notify_all ();
  }
  if (active)
    return gst_pad_start_task (pad, (GstTaskFunction) gst_realtime_bridge_loop, self,
        nullptr);
  return gst_pad_stop_task (pad);
}

static gboolean
gst_realtime_bridge_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  callstream::RealtimeCall &call = GST_REALTIME_BRIDGE (parent)->impl->call;
  guint64 played_ms = 0;
  if (callstream_played_event_parse (event, &played_ms, nullptr)) {
    // Ours: the sink's played position, not for the caller's side.
    std::lock_guard guard (call.lock);
    if (call.state.tracker)
      call.state.tracker->set_played_ms (played_ms);
    gst_event_unref (event);
    return TRUE;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* ---- GObject / GstElement ------------------------------------------------ */

static GstStateChangeReturn
gst_realtime_bridge_change_state (GstElement * element, GstStateChange transition)
{
  callstream::RealtimeCall &call = GST_REALTIME_BRIDGE (element)->impl->call;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    std::lock_guard guard (call.lock);
    call.drop_output ();
    call.state = callstream::RealtimeCall::State ();
    gst_segment_init (&call.state.caller_segment, GST_FORMAT_TIME);
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (gst_realtime_bridge_parent_class)
      ->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::unique_ptr<callstream::RealtimeSocket> socket;
    {
      std::lock_guard guard (call.lock);
      socket = std::move (call.state.socket);
    }
    // Joined without our lock: its handlers take it.
    socket.reset ();
    std::lock_guard guard (call.lock);
    call.drop_output ();
    call.state.tracker.reset ();
  }
  return ret;
}

static void
set_string (std::string & field, const GValue * value)
{
  const gchar *text = g_value_get_string (value);
  field = text != nullptr ? text : "";
}

static void
gst_realtime_bridge_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  auto *self = GST_REALTIME_BRIDGE (object);
  std::lock_guard guard (self->impl->settings_lock);
  Settings &s = self->impl->settings;
  switch (prop_id) {
    case PROP_URL: set_string (s.url, value); break;
    case PROP_MODEL: set_string (s.model, value); break;
    case PROP_API_KEY: set_string (s.api_key, value); break;
    case PROP_VOICE: set_string (s.voice, value); break;
    case PROP_INSTRUCTIONS: set_string (s.instructions, value); break;
    case PROP_THRESHOLD: s.threshold = g_value_get_double (value); break;
    case PROP_PREFIX_PADDING_MS: s.prefix_padding_ms = g_value_get_uint (value); break;
    case PROP_SILENCE_DURATION_MS: s.silence_duration_ms = g_value_get_uint (value); break;
    case PROP_GREETING: set_string (s.greeting, value); break;
    case PROP_TRANSCRIPTION_MODEL: set_string (s.transcription_model, value); break;
    case PROP_CONNECT_TIMEOUT: s.connect_timeout_ms = g_value_get_uint (value); break;
    case PROP_TLS_CA_FILE: set_string (s.tls_ca_file, value); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_realtime_bridge_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  auto *self = GST_REALTIME_BRIDGE (object);
  RealtimeBridgeImpl *impl = self->impl;
  if (prop_id >= PROP_FRAMES_SENT) {
    std::lock_guard guard (impl->call.lock);
    const callstream::RealtimeCall::State &c = impl->call.state;
    guint64 stat = 0;
    switch (prop_id) {
      case PROP_FRAMES_SENT: stat = c.socket ? c.socket->frames_sent () : 0; break;
      case PROP_QUEUED_BEFORE_OPEN:
        stat = c.socket ? c.socket->queued_before_open () : 0;
        break;
      case PROP_TRUNCATIONS: stat = c.truncations; break;
      case PROP_LATE_DELTAS: stat = c.late_deltas; break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        return;
    }
    g_value_set_uint64 (value, stat);
    return;
  }
  std::lock_guard guard (impl->settings_lock);
  const Settings &s = impl->settings;
  switch (prop_id) {
    case PROP_URL: g_value_set_string (value, s.url.c_str ()); break;
    case PROP_MODEL: g_value_set_string (value, s.model.c_str ()); break;
    // Never the key itself: only whether one is set.
    case PROP_API_KEY: g_value_set_string (value, s.api_key.empty ()? "" : "***"); break;
    case PROP_VOICE: g_value_set_string (value, s.voice.c_str ()); break;
    case PROP_INSTRUCTIONS: g_value_set_string (value, s.instructions.c_str ()); break;
    case PROP_THRESHOLD: g_value_set_double (value, s.threshold); break;
    case PROP_PREFIX_PADDING_MS: g_value_set_uint (value, s.prefix_padding_ms); break;
    case PROP_SILENCE_DURATION_MS: g_value_set_uint (value, s.silence_duration_ms); break;
    case PROP_GREETING: g_value_set_string (value, s.greeting.c_str ()); break;
    case PROP_TRANSCRIPTION_MODEL:
      g_value_set_string (value, s.transcription_model.c_str ());
      break;
    case PROP_CONNECT_TIMEOUT: g_value_set_uint (value, s.connect_timeout_ms); break;
    case PROP_TLS_CA_FILE: g_value_set_string (value, s.tls_ca_file.c_str ()); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_realtime_bridge_finalize (GObject * object)
{
  delete GST_REALTIME_BRIDGE (object)->impl;
  G_OBJECT_CLASS (gst_realtime_bridge_parent_class)->finalize (object);
}

static void
gst_realtime_bridge_init (GstRealtimeBridge * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_realtime_bridge_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_realtime_bridge_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_pad_set_activatemode_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_realtime_bridge_src_activate_mode));
  gst_pad_set_event_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_realtime_bridge_src_event));
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  // After the pads: the call pushes its clears out of srcpad.
  self->impl = new RealtimeBridgeImpl (GST_ELEMENT (self), self->srcpad);
  if (const gchar *key = g_getenv ("OPENAI_API_KEY"))
    self->impl->settings.api_key = key;
}

static GParamSpec *
string_param (const char *name, const char *nick, const char *blurb, const char *def)
{
  return g_param_spec_string (name, nick, blurb, def, GParamFlags (G_PARAM_READWRITE
          | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
}

static GParamSpec *
stat_param (const char *name, const char *nick, const char *blurb)
{
  return g_param_spec_uint64 (name, nick, blurb, 0, G_MAXUINT64, 0,
      GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_realtime_bridge_class_init (GstRealtimeBridgeClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const auto rw = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY);

  gobject_class->set_property = gst_realtime_bridge_set_property;
  gobject_class->get_property = gst_realtime_bridge_get_property;
  gobject_class->finalize = gst_realtime_bridge_finalize;

  g_object_class_install_property (gobject_class, PROP_URL, string_param ("url", "URL",
          "Realtime API WebSocket address (ws:// or wss://), without the model "
          "query; the daemon takes it from OPENAI_REALTIME_URL", kDefaultUrl));
  g_object_class_install_property (gobject_class, PROP_MODEL, string_param ("model",
          "Model", "Realtime model, sent as ?model= and in session.update",
          kDefaultModel));
  g_object_class_install_property (gobject_class, PROP_API_KEY, string_param ("api-key",
          "API key", "Bearer key (default: OPENAI_API_KEY); reads back as \"***\"",
          nullptr));
  g_object_class_install_property (gobject_class, PROP_VOICE, string_param ("voice",
          "Voice", "Output voice (\"marin\", \"alloy\", ...); empty: the server's default",
          nullptr));
  g_object_class_install_property (gobject_class, PROP_INSTRUCTIONS,
      string_param ("instructions", "Instructions", "System instructions for the session",
          nullptr));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "VAD threshold",
          "Server VAD activation threshold (higher needs louder speech)", 0.0, 1.0,
          kDefaultThreshold, rw));
  g_object_class_install_property (gobject_class, PROP_PREFIX_PADDING_MS,
      g_param_spec_uint ("prefix-padding-ms", "Prefix padding",
          "Server VAD: audio kept before detected speech, in ms", 0, 10000,
          kDefaultPrefixPaddingMs, rw));
  g_object_class_install_property (gobject_class, PROP_SILENCE_DURATION_MS,
      g_param_spec_uint ("silence-duration-ms", "Silence duration",
          "Server VAD: silence that ends the caller's turn, in ms", 0, 10000,
          kDefaultSilenceDurationMs, rw));
  g_object_class_install_property (gobject_class, PROP_GREETING,
      string_param ("greeting", "Greeting", "When set, the model speaks first, "
          "following this text as the first reply's instructions", nullptr));
  g_object_class_install_property (gobject_class, PROP_TRANSCRIPTION_MODEL,
      string_param ("transcription-model", "Transcription model",
          "When set (\"gpt-4o-mini-transcribe\"), the caller's speech is transcribed; "
          "transcripts are posted as \"callstream-transcript\" element messages", nullptr));
  g_object_class_install_property (gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint ("connect-timeout", "Connect timeout",
          "How long the WebSocket handshake may take, in ms", 1, 600000,
          kDefaultConnectTimeoutMs, rw));
  g_object_class_install_property (gobject_class, PROP_TLS_CA_FILE,
      g_param_spec_string ("tls-ca-file", "TLS CA file",
          "wss:// only: a PEM file of CA certificates the server's certificate may also "
          "chain to when the system's trust refuses it (a private CA, a TLS-inspecting "
          "proxy); empty: the system's trust only", "", rw));
  g_object_class_install_property (gobject_class, PROP_FRAMES_SENT,
      stat_param ("frames-sent", "Frames sent", "Messages sent to the Realtime API"));
  g_object_class_install_property (gobject_class, PROP_QUEUED_BEFORE_OPEN,
      stat_param ("queued-before-open", "Queued before open",
          "Messages kept while the socket was connecting (sent once it opened)"));
  g_object_class_install_property (gobject_class, PROP_TRUNCATIONS,
      stat_param ("truncations", "Truncations", "Barge-ins that cut the model's reply"));
  g_object_class_install_property (gobject_class, PROP_LATE_DELTAS,
      stat_param ("late-deltas", "Late deltas",
          "Audio deltas of truncated replies, ignored"));

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_realtime_bridge_change_state);
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "OpenAI Realtime bridge", "Filter/Network/Audio",
      "Talks a phone call's audio with the OpenAI Realtime API over a WebSocket, "
      "with barge-in (truncate + clear) and optional transcripts",
      "callstream developers");
  GST_DEBUG_CATEGORY_INIT (gst_realtime_bridge_debug, "realtimebridge", 0,
      "OpenAI Realtime bridge");
}
