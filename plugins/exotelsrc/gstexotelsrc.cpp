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
#include <memory>
#include <mutex>
#include <string>

#include "common/call_output.h"
#include "common/message_transport.h"
#include "protocol/exotel.h"

GST_DEBUG_CATEGORY_STATIC (gst_exotel_src_debug);
#define GST_CAT_DEFAULT gst_exotel_src_debug

namespace exotel = callstream::exotel;

namespace {

constexpr int kDefaultPort = -1;
constexpr const char *kDefaultAddress = "127.0.0.1";
constexpr const char *kDefaultPath = "/v1/ingest";
constexpr gboolean kDefaultPace = TRUE;

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

callstream::CallDescription
describe_call (const exotel::Start & start)
{
  callstream::CallDescription call;
  call.call_sid = start.call_sid;
  call.stream_sid = start.stream_sid;
  call.account_sid = start.account_sid;
  call.from = start.from;
  call.to = start.to;
  call.custom_parameters = start.custom_parameters;
  call.encoding_name = start.media_format.encoding_name;
  call.encoding = start.media_format.encoding == exotel::Encoding::Mulaw
      ? callstream::AudioEncoding::Mulaw : callstream::AudioEncoding::Pcm16;
  call.sample_rate = start.media_format.sample_rate;
  call.bit_rate = start.media_format.bit_rate;
  return call;
}

}  // namespace

struct ExotelSrcImpl {
  ExotelSrcImpl (GstElement * element, GstPad * srcpad)
      : output (element, srcpad, "exotel") {}

  std::mutex settings_lock;  // lock order: STREAM_LOCK, then settings_lock
  Settings settings;
  Settings active;           // copied from settings at start
  callstream::CallOutput output;  // under the src pad's STREAM_LOCK
  callstream::ReplayPacer pacer;

  std::unique_ptr<callstream::CaptureReader> capture;
  std::unique_ptr<callstream::SingleCallServer> server;
  std::unique_ptr<callstream::WebSocketReader> reader;
  std::atomic<int> bound_port { 0 };
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

/* ---- input ------------------------------------------------------------- */

// Called with the src pad's STREAM_LOCK held.
static GstFlowReturn
handle_text_locked (GstExotelSrc * self, std::string_view text)
{
  callstream::CallOutput & output = self->impl->output;
  const exotel::Message message = exotel::parse_message (text);
  return std::visit ([&output] (const auto &m) -> GstFlowReturn {
        using T = std::decay_t<decltype (m)>;
        if constexpr (requires { m.sequence_number; })
          output.note_sequence (m.sequence_number);
        if constexpr (std::is_same_v<T, exotel::ParseError>) {
          output.report_malformed (m.reason);
        } else if constexpr (std::is_same_v<T, exotel::Start>) {
          output.begin_call (describe_call (m));
        } else if constexpr (std::is_same_v<T, exotel::Media>) {
          if (!output.started ())
            output.report_malformed ("media before start");
          else
            return output.push_base64_audio (m.payload);
        } else if constexpr (std::is_same_v<T, exotel::Dtmf>) {
          if (!output.started ())
            output.report_malformed ("dtmf before start");
          else
            output.push_dtmf (m.digit, m.duration_ms);
        } else if constexpr (std::is_same_v<T, exotel::Mark>) {
          output.post_mark (m.name);
        } else if constexpr (std::is_same_v<T, exotel::Stop>) {
          return output.end_call (m.reason.empty ()? "stop" : m.reason.c_str ());
        } else if constexpr (std::is_same_v<T, exotel::Unknown>) {
          GST_DEBUG ("ignoring Exotel event \"%s\"", m.event.c_str ());
        }
        return GST_FLOW_OK;
      }, message);
}

// Raw audio in the call's format; before any start, Exotel's default format.
static GstFlowReturn
handle_binary_locked (GstExotelSrc * self, const uint8_t * data, size_t size)
{
  callstream::CallOutput & output = self->impl->output;
  if (!output.started ()) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Binary audio before any start message: taking it as PCM16 8000 Hz "
            "mono, Exotel's default"), (nullptr));
    output.begin_call (describe_call (exotel::Start {}));
  }
  return output.push_audio (gst_buffer_new_memdup (data, size));
}

template <typename Handler>
static GstFlowReturn
with_stream_lock (GstExotelSrc * self, Handler && handler)
{
  GST_PAD_STREAM_LOCK (self->srcpad);
  GstFlowReturn ret;
  if (GST_PAD_IS_FLUSHING (self->srcpad))
    ret = GST_FLOW_FLUSHING;
  else if (self->impl->output.ended ())
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
  return with_stream_lock (self, [&] {
        return self->impl->output.end_call (why);
      });
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

// The pad task of a capture replay: one line per iteration.
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
    ret = self->impl->output.end_call ("end of capture");
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
    if (s.pace)
      impl->output.set_pacer (&impl->pacer);
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
stop_inputs (GstExotelSrc * self)
{
  ExotelSrcImpl *impl = self->impl;
  gst_pad_stop_task (self->srcpad);
  impl->server.reset ();
  impl->reader.reset ();
  impl->capture.reset ();
  impl->active = Settings ();
  impl->output.set_pacer (nullptr);
  impl->bound_port = 0;
}

static GstStateChangeReturn
gst_exotel_src_change_state (GstElement * element, GstStateChange transition)
{
  auto *self = GST_EXOTEL_SRC (element);
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      self->impl->pacer.set_state (false, false);
      self->impl->output.reset ();
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      self->impl->pacer.set_state (true, false);
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      self->impl->pacer.set_state (false, false);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      self->impl->pacer.set_state (false, true);
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
        self->impl->pacer.set_state (false, true);
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
      g_value_set_uint64 (value, impl->output.frames ());
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, impl->output.bytes ());
      break;
    case PROP_MALFORMED:
      g_value_set_uint64 (value, impl->output.malformed ());
      break;
    case PROP_GAPS:
      g_value_set_uint64 (value, impl->output.gaps ());
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
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  self->impl = new ExotelSrcImpl (GST_ELEMENT (self), self->srcpad);
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
