#include "common/source_inputs.h"

#include "callstream-events.h"
#include "callstream-marshal.h"

namespace callstream {

namespace {

constexpr int kDefaultPort = -1;
constexpr const char *kDefaultAddress = "127.0.0.1";
constexpr gboolean kDefaultPace = TRUE;

enum Prop : guint {
  PROP_LOCATION,
  PROP_PORT,
  PROP_ADDRESS,
  PROP_PATH,
  PROP_CONNECTION,
  PROP_PACE,
  PROP_BOUND_PORT,
  PROP_SESSION,
  PROP_POST_MARKS,
};

struct GObjectUnref {
  void operator() (gpointer object) const { g_object_unref (object); }
};

// The class closure of push-message; @data is the class's InputsOf.
GstFlowReturn
push_message_handler (GstElement *element, SoupWebsocketDataType type,
    GBytes *message, gpointer data)
{
  const auto inputs_of = reinterpret_cast<SourceInputs::InputsOf> (data);
  return inputs_of (element)->receive_message (type, message);
}

// The same, without a signal emission (CallstreamMessageInput).
GstFlowReturn
push_message_direct (GstElement *element, gboolean text, const guint8 *data, gsize size,
    gconstpointer user_data)
{
  const auto inputs_of = reinterpret_cast<SourceInputs::InputsOf> (user_data);
  return inputs_of (element)->receive_bytes (text, data, size);
}

GstFlowReturn
end_of_stream_handler (GstElement *element, gpointer data)
{
  const auto inputs_of = reinterpret_cast<SourceInputs::InputsOf> (data);
  return inputs_of (element)->receive_end ("end-of-stream from the application");
}

}  // namespace

struct SourceInputs::Settings {
  std::string location;
  int port = kDefaultPort;
  std::string address = kDefaultAddress;
  std::string path;
  std::unique_ptr<SoupWebsocketConnection, GObjectUnref> connection;
  bool pace = kDefaultPace;
  std::string session;

  std::unique_ptr<Settings> copy () const
  {
    auto s = std::make_unique<Settings> ();
    s->location = location;
    s->port = port;
    s->address = address;
    s->path = path;
    if (connection)
      s->connection.reset (SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection.get ())));
    s->pace = pace;
    s->session = session;
    return s;
  }
};

void
SourceInputs::install_properties (GObjectClass *klass, guint first,
    const char *provider, const char *default_path)
{
  const auto settable = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY);
  g_autofree gchar *location_blurb = g_strdup_printf ("Replay this capture of "
      "a %s call: one WebSocket text message per line (JSON Lines)", provider);
  // Blurbs are kept for the life of the class, as G_PARAM_STATIC_STRINGS asks.
  g_object_class_install_property (klass, first + PROP_LOCATION,
      g_param_spec_string ("location", "Capture file",
          g_intern_string (location_blurb), nullptr, settable));
  g_object_class_install_property (klass, first + PROP_PORT,
      g_param_spec_int ("port", "Port",
          "Accept one call on this TCP port with a WebSocket server of its own "
          "(-1: no server, 0: any free port, see bound-port)", -1, 65535,
          kDefaultPort, settable));
  g_object_class_install_property (klass, first + PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "IP address the WebSocket server listens on", kDefaultAddress,
          settable));
  g_object_class_install_property (klass, first + PROP_PATH,
      g_param_spec_string ("path", "Path",
          "URL path the WebSocket server accepts calls on", default_path,
          settable));
  g_object_class_install_property (klass, first + PROP_CONNECTION,
      g_param_spec_object ("connection", "Connection",
          "A SoupWebsocketConnection already accepted by the application; its "
          "messages are handled on the connection's own thread",
          SOUP_TYPE_WEBSOCKET_CONNECTION, settable));
  g_object_class_install_property (klass, first + PROP_PACE,
      g_param_spec_boolean ("pace", "Pace",
          "Replay a capture in real time (FALSE: as fast as downstream takes it)",
          kDefaultPace, settable));
  g_object_class_install_property (klass, first + PROP_BOUND_PORT,
      g_param_spec_int ("bound-port", "Bound port",
          "The port the WebSocket server listens on (0 when not listening)",
          0, 65535, 0, GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property (klass, first + PROP_SESSION,
      g_param_spec_string ("session", "Session",
          "Name of the call session a sink on the same call (twiliosink, "
          "exotelsink with the same session) answers through; not needed "
          "when both get the same connection. Without location, port and "
          "connection, what the sinks send goes out through send-message",
          nullptr, settable));
  g_object_class_install_property (klass, first + PROP_POST_MARKS,
      g_param_spec_boolean ("post-marks", "Post marks",
          "Post a callstream-mark element message for each mark the provider "
          "echoes (the sinks on the call's session get the mark either way); "
          "FALSE saves the message when nothing reads it",
          TRUE, GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING)));
}

void
SourceInputs::install_application_signals (GObjectClass *klass, InputsOf inputs_of)
{
  /**
   * push-message:
   * @type: SOUP_WEBSOCKET_DATA_TEXT (a JSON message) or _BINARY (raw audio)
   * @message: the message payload
   *
   * Handles one WebSocket message read by the application; the audio is
   * pushed from the calling thread. Returns the flow of the push
   * (GST_FLOW_EOS once the call has ended).
   */
  // Typed marshallers (not the generic one): this runs for every message. The
  // bytes are only read during the emission, so they are not copied for it.
  // The class closure carries @inputs_of, so the handler finds the element's
  // SourceInputs without a qdata lookup per message.
  GType params[] = { SOUP_TYPE_WEBSOCKET_DATA_TYPE, G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE };
  const guint signal = g_signal_newv ("push-message", G_TYPE_FROM_CLASS (klass),
      GSignalFlags (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      g_cclosure_new (G_CALLBACK (push_message_handler),
          reinterpret_cast<gpointer> (inputs_of), nullptr),
      nullptr, nullptr, callstream_marshal_ENUM__ENUM_BOXED, GST_TYPE_FLOW_RETURN,
      G_N_ELEMENTS (params), params);
  g_signal_set_va_marshaller (signal, G_TYPE_FROM_CLASS (klass),
      callstream_marshal_ENUM__ENUM_BOXEDv);
  // Its handler for callers that skip the emission (callstream-events.h);
  // it lives as long as the class, i.e. for ever.
  g_type_set_qdata (G_TYPE_FROM_CLASS (klass),
      g_quark_from_static_string (CALLSTREAM_MESSAGE_INPUT_QDATA),
      new CallstreamMessageInput { push_message_direct,
          reinterpret_cast<gconstpointer> (inputs_of) });

  /**
   * end-of-stream:
   *
   * The application ends the call (its socket closed): EOS goes downstream
   * after the messages already pushed, and later pushes return
   * GST_FLOW_EOS. Returns GST_FLOW_EOS (GST_FLOW_FLUSHING when the element
   * is stopping: nothing is sent then). Unlike
   * gst_element_send_event(), it does not hold the element's state lock
   * while downstream takes the EOS, so a state change to NULL from another
   * thread meanwhile neither waits for it nor deadlocks with a sink that
   * holds the EOS for preroll.
   */
  g_signal_newv ("end-of-stream", G_TYPE_FROM_CLASS (klass),
      GSignalFlags (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      g_cclosure_new (G_CALLBACK (end_of_stream_handler),
          reinterpret_cast<gpointer> (inputs_of), nullptr),
      nullptr, nullptr, nullptr, GST_TYPE_FLOW_RETURN, 0, nullptr);

  /**
   * send-message:
   * @text: one text message for the caller (a provider media, mark or
   *   clear message), valid during the emission only
   *
   * For an application that pushes the messages (no location, port nor
   * connection) and sets a session: a sink on that session (twiliosink,
   * exotelsink) has a message for the caller's socket. Connect before the
   * element starts; sinks' messages wait for the first pushed message, then
   * go out in order. Emitted from any thread, with the session locked: the
   * handler must not block nor call back into the elements. Return FALSE
   * when the socket is gone: the sinks then stop sending.
   */
  const guint send = g_signal_new ("send-message", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, callstream_marshal_BOOLEAN__STRING,
      G_TYPE_BOOLEAN, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (send, G_TYPE_FROM_CLASS (klass),
      callstream_marshal_BOOLEAN__STRINGv);
}

SourceInputs::SourceInputs (GstElement *element, GstPad *srcpad,
    guint first_prop_id, const char *default_path, Handlers handlers)
    : element_ (element), srcpad_ (srcpad), handlers_ (std::move (handlers)),
      first_prop_id_ (first_prop_id), default_path_ (default_path),
      settings_ (std::make_unique<Settings> ())
{
  settings_->path = default_path_;
  send_signal_ = g_signal_lookup ("send-message", G_OBJECT_TYPE (element_));
}

SourceInputs::~SourceInputs () = default;

bool
SourceInputs::set_property (guint prop_id, const GValue *value)
{
  if (prop_id < first_prop_id_ || prop_id >= first_prop_id_ + kPropertyCount)
    return false;
  std::lock_guard lock (settings_lock_);
  Settings &s = *settings_;
  const gchar *text = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) : nullptr;
  switch (prop_id - first_prop_id_) {
    case PROP_LOCATION:
      s.location = text != nullptr ? text : "";
      break;
    case PROP_PORT:
      s.port = g_value_get_int (value);
      break;
    case PROP_ADDRESS:
      s.address = text != nullptr ? text : kDefaultAddress;
      break;
    case PROP_PATH:
      s.path = text != nullptr ? text : default_path_;
      break;
    case PROP_CONNECTION:
      s.connection.reset (static_cast<SoupWebsocketConnection *> (
              g_value_dup_object (value)));
      break;
    case PROP_PACE:
      s.pace = g_value_get_boolean (value);
      break;
    case PROP_SESSION:
      s.session = text != nullptr ? text : "";
      break;
    case PROP_POST_MARKS:
      post_marks_.store (g_value_get_boolean (value), std::memory_order_relaxed);
      break;
    default:
      return false;
  }
  return true;
}

bool
SourceInputs::get_property (guint prop_id, GValue *value)
{
  if (prop_id < first_prop_id_ || prop_id >= first_prop_id_ + kPropertyCount)
    return false;
  std::lock_guard lock (settings_lock_);
  const Settings &s = *settings_;
  switch (prop_id - first_prop_id_) {
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
      g_value_set_int (value, bound_port_);
      break;
    case PROP_SESSION:
      g_value_set_string (value, s.session.empty ()? nullptr : s.session.c_str ());
      break;
    case PROP_POST_MARKS:
      g_value_set_boolean (value, post_marks ());
      break;
    default:
      return false;
  }
  return true;
}

GstFlowReturn
SourceInputs::note (GstFlowReturn ret)
{
  if (ret == GST_FLOW_EOS || ret < GST_FLOW_FLUSHING)
    ended_ = true;
  return ret;
}

template <typename Handler>
GstFlowReturn
SourceInputs::locked (Handler &&handler)
{
  GST_PAD_STREAM_LOCK (srcpad_);
  GstFlowReturn ret;
  if (GST_PAD_IS_FLUSHING (srcpad_))
    ret = GST_FLOW_FLUSHING;
  else if (ended_)
    ret = GST_FLOW_EOS;
  else {
    ret = note (handler ());
    // After the first message's own handling (a start message names the
    // stream the sinks' first frames need).
    if (G_UNLIKELY (outlet_wanted_))
      attach_outlet ();
  }
  GST_PAD_STREAM_UNLOCK (srcpad_);
  return ret;
}

GstFlowReturn
SourceInputs::receive_text (std::string_view text)
{
  return locked ([&] {
        CallSession::Delivery delivery (session_.get ());
        return handlers_.text (text);
      });
}

GstFlowReturn
SourceInputs::receive_binary (const uint8_t *data, size_t size)
{
  return locked ([&] {
        CallSession::Delivery delivery (session_.get ());
        return handlers_.binary (data, size);
      });
}

GstFlowReturn
SourceInputs::receive_end (const char *why)
{
  return locked ([&] { return handlers_.end (why); });
}

GstFlowReturn
SourceInputs::receive_message (SoupWebsocketDataType type, GBytes *message)
{
  g_return_val_if_fail (message != nullptr, GST_FLOW_ERROR);
  gsize size = 0;
  const auto *data = static_cast<const uint8_t *> (g_bytes_get_data (message, &size));
  return receive_bytes (type == SOUP_WEBSOCKET_DATA_TEXT, data, size);
}

GstFlowReturn
SourceInputs::receive_bytes (bool text, const uint8_t *data, size_t size)
{
  if (text)
    return receive_text (std::string_view (reinterpret_cast<const char *> (data), size));
  return receive_binary (data, size);
}

GstStateChangeReturn
SourceInputs::change_state (GstStateChange transition,
    const std::function<GstStateChangeReturn (GstStateChange)> &chain_up)
{
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      set_playing (false);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      set_playing (true);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      set_stopping ();
      break;
    default:
      break;
  }
  const GstStateChangeReturn ret = chain_up (transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      // The pads are active now: a message may arrive as soon as we listen.
      if (!start ()) {
        set_stopping ();
        chain_up (GST_STATE_CHANGE_PAUSED_TO_READY);
        stop ();
        return GST_STATE_CHANGE_FAILURE;
      }
      return GST_STATE_CHANGE_NO_PREROLL;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      return GST_STATE_CHANGE_NO_PREROLL;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop ();
      break;
    default:
      break;
  }
  return ret;
}

// From the first pushed message on, the sinks' messages go to send-message.
// The outlet keeps the element alive until stop() closes the session.
void
SourceInputs::attach_outlet ()
{
  outlet_wanted_ = false;
  std::shared_ptr<GstElement> ref (GST_ELEMENT (gst_object_ref (element_)),
      gst_object_unref);
  session_->attach_outlet ([ref, signal = send_signal_] (const std::string &text) {
        gboolean accepted = FALSE;
        g_signal_emit (ref.get (), signal, 0, text.c_str (), &accepted);
        return accepted != FALSE;
      });
}

MessageCallbacks
SourceInputs::socket_callbacks ()
{
  // The callbacks keep the element (which owns this) alive while a socket
  // may still call them.
  std::shared_ptr<GstElement> ref (GST_ELEMENT (gst_object_ref (element_)),
      gst_object_unref);
  // The session too: the callbacks may outlive stop() by one message.
  std::shared_ptr<CallSession> session = session_;
  return {
    [ref, session, this] (std::string_view text) {
      if (session)
        session->note_connection_thread ();
      receive_text (text);
    },
    [ref, session, this] (const uint8_t *data, size_t size) {
      if (session)
        session->note_connection_thread ();
      receive_binary (data, size);
    },
    [ref, session, this] (int code, std::string_view reason) {
      if (session)
        session->closed ();
      g_autofree gchar *why = g_strdup_printf ("socket closed (%d %.*s)", code,
          static_cast<int> (reason.size ()), reason.data ());
      receive_end (why);
    },
    [session] (SoupWebsocketConnection *connection) {
      if (session)
        session->attach (connection, true);
    },
  };
}

void
SourceInputs::deliver_mark (const std::string &name)
{
  if (session_)
    session_->deliver_mark (name);
}

void
SourceInputs::set_stream_sid (const std::string &stream_sid)
{
  if (session_)
    session_->set_stream_sid (stream_sid);
}

// The pad task of a capture replay, STREAM_LOCK held: one line per iteration.
void
SourceInputs::replay_next (gpointer data)
{
  auto *self = static_cast<SourceInputs *> (data);
  std::string line;
  g_autoptr (GError) error = nullptr;
  GstFlowReturn ret;
  if (self->capture_->next_line (line, &error)) {
    ret = self->note (self->handlers_.text (line));
  } else {
    if (error != nullptr)
      GST_ELEMENT_ERROR (self->element_, RESOURCE, READ,
          ("Could not read capture \"%s\"", self->active_->location.c_str ()),
          ("%s", error->message));
    ret = self->note (self->handlers_.end ("end of capture"));
  }
  if (ret != GST_FLOW_OK)
    gst_pad_pause_task (self->srcpad_);
}

bool
SourceInputs::start ()
{
  {
    std::lock_guard lock (settings_lock_);
    active_ = settings_->copy ();
  }
  ended_ = false;
  const Settings &s = *active_;
  const int inputs = !s.location.empty () + (s.port >= 0) + (s.connection != nullptr);
  if (inputs > 1) {
    GST_ELEMENT_ERROR (element_, RESOURCE, SETTINGS,
        ("Set only one of location, port and connection"), (nullptr));
    return false;
  }
  g_autoptr (GError) error = nullptr;
  if (!s.location.empty ()) {
    capture_ = CaptureReader::open (s.location, &error);
    if (!capture_) {
      GST_ELEMENT_ERROR (element_, RESOURCE, OPEN_READ,
          ("Could not open capture \"%s\"", s.location.c_str ()), ("%s",
              error->message));
      return false;
    }
    pacer_.set_enabled (s.pace);
    return gst_pad_start_task (srcpad_, replay_next, this, nullptr);
  }
  if (!s.session.empty () || s.connection)
    session_ = CallSession::obtain (s.session, s.connection.get ());
  if (s.port >= 0) {
    server_ = SingleCallServer::start (s.address, s.port, s.path,
        socket_callbacks (), &error);
    if (!server_) {
      GST_ELEMENT_ERROR (element_, RESOURCE, OPEN_READ,
          ("Could not listen on %s port %d", s.address.c_str (), s.port),
          ("%s", error->message));
      return false;
    }
    bound_port_ = server_->port ();
    GST_INFO_OBJECT (element_, "waiting for a call on ws://%s:%d%s",
        s.address.c_str (), server_->port (), s.path.c_str ());
  } else if (s.connection) {
    // Attached before the reader exists; its context is recorded on the
    // connection's first message (we may not be on its thread here).
    session_->attach (s.connection.get (), false);
    reader_ = std::make_unique<WebSocketReader> (s.connection.get (),
        socket_callbacks ());
  } else if (session_ && send_signal_ != 0) {
    outlet_wanted_ = g_signal_has_handler_pending (element_, send_signal_, 0, FALSE);
  }
  return true;
}

void
SourceInputs::stop ()
{
  gst_pad_stop_task (srcpad_);
  pacer_.set_enabled (false);
  outlet_wanted_ = false;
  server_.reset ();
  reader_.reset ();
  capture_.reset ();
  if (session_) {
    session_->closed ();  // sinks stop sending: nobody reads the socket now
    session_.reset ();
  }
  active_.reset ();
  bound_port_ = 0;
}

void
SourceInputs::set_playing (bool playing)
{
  pacer_.set_state (playing, false);
}

void
SourceInputs::set_stopping ()
{
  pacer_.set_state (false, true);
}

}  // namespace callstream
