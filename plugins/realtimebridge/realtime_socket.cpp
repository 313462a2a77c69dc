// libsoup 3 objects are not thread-safe: every one of them is created, used
// and dropped on the socket's own thread, inside its thread-default context.
#include "realtimebridge/realtime_socket.h"

#include <libsoup/soup.h>

namespace callstream {
namespace {

// Model replies can be large; libsoup's default limit (128 KiB) is not.
constexpr guint64 kMaxIncomingPayload = 16 * 1024 * 1024;
// How long a normal close may take before the thread ends anyway.
constexpr guint kCloseGraceMs = 1000;

std::string
url_with_model (const std::string &url, const std::string &model)
{
  if (model.empty ())
    return url;
  g_autofree gchar *escaped = g_uri_escape_string (model.c_str (), nullptr, FALSE);
  return url + (url.find ('?') == std::string::npos ? "?" : "&") + "model=" + escaped;
}

// A GSource callback running a std::function once.
gboolean
run_once (gpointer data)
{
  (*static_cast<std::function<void ()> *> (data)) ();
  return G_SOURCE_REMOVE;
}

void
delete_function (gpointer data)
{
  delete static_cast<std::function<void ()> *> (data);
}

}  // namespace

struct RealtimeSocket::Connection {
  RealtimeSocket::Options options;
  SoupSession *session = nullptr;
  SoupMessage *handshake = nullptr;
  SoupWebsocketConnection *socket = nullptr;
  GCancellable *cancellable = g_cancellable_new ();
  GSource *timeout = nullptr;
  bool closing = false;  // stop() asked: a close is no failure

  ~Connection ()
  {
    if (timeout != nullptr) {
      g_source_destroy (timeout);
      g_source_unref (timeout);
    }
    g_clear_object (&socket);
    g_clear_object (&handshake);
    g_clear_object (&session);
    g_object_unref (cancellable);
  }
};

RealtimeSocket::RealtimeSocket (Handlers handlers)
    : handlers_ (std::move (handlers))
{
}

RealtimeSocket::~RealtimeSocket ()
{
  stop ();
}

void
RealtimeSocket::invoke (std::function<void ()> fn)
{
  GSource *source = g_idle_source_new ();
  g_source_set_callback (source, run_once, new std::function<void ()> (std::move (fn)),
      delete_function);
  g_source_attach (source, context_);
  g_source_unref (source);
}

void
RealtimeSocket::start (Options options)
{
  if (thread_.joinable ())
    return;
  context_ = g_main_context_new ();
  loop_ = g_main_loop_new (context_, FALSE);
  thread_ = std::thread ([this, options = std::move (options)] () mutable {
    run (std::move (options));
  });
}

void
RealtimeSocket::run (Options options)
{
  g_main_context_push_thread_default (context_);
  connection_ = new Connection;
  connection_->options = std::move (options);
  connect ();
  g_main_loop_run (loop_);

  // Callbacks of what was cancelled run now, while connection_ lives.
  connection_->closing = true;
  g_cancellable_cancel (connection_->cancellable);
  while (g_main_context_iteration (context_, FALSE)) {
  }
  if (connection_->socket != nullptr)
    g_signal_handlers_disconnect_by_data (connection_->socket, this);
  delete connection_;
  connection_ = nullptr;
  while (g_main_context_iteration (context_, FALSE)) {
  }
  g_main_context_pop_thread_default (context_);
}

void
RealtimeSocket::connect ()
{
  Connection &c = *connection_;
  c.session = soup_session_new ();
  const std::string url = url_with_model (c.options.url, c.options.model);
  c.handshake = soup_message_new ("GET", url.c_str ());
  if (c.handshake == nullptr) {
    fail ("the url is not a valid ws:// or wss:// address");
    return;
  }
  if (!c.options.api_key.empty ()) {
    const std::string bearer = "Bearer " + c.options.api_key;
    soup_message_headers_replace (soup_message_get_request_headers (c.handshake),
        "Authorization", bearer.c_str ());
  }
  c.timeout = g_timeout_source_new (c.options.connect_timeout_ms);
  g_source_set_callback (c.timeout, +[] (gpointer data) -> gboolean {
        auto *self = static_cast<RealtimeSocket *> (data);
        Connection &conn = *self->connection_;
        g_source_unref (conn.timeout);
        conn.timeout = nullptr;
        self->fail ("connect timeout after "
            + std::to_string (conn.options.connect_timeout_ms) + " ms");
        g_cancellable_cancel (conn.cancellable);
        return G_SOURCE_REMOVE;
      }, this, nullptr);
  g_source_attach (c.timeout, context_);
  soup_session_websocket_connect_async (c.session, c.handshake, nullptr, nullptr,
      G_PRIORITY_DEFAULT, c.cancellable, +[] (GObject *source, GAsyncResult *result,
          gpointer data) {
        g_autoptr (GError) error = nullptr;
        SoupWebsocketConnection *socket = soup_session_websocket_connect_finish (
            SOUP_SESSION (source), result, &error);
        static_cast<RealtimeSocket *> (data)->on_connected (socket, error);
      }, this);
}

void
RealtimeSocket::on_connected (SoupWebsocketConnection *socket, GError *error)
{
  Connection &c = *connection_;
  if (c.timeout != nullptr) {
    g_source_destroy (c.timeout);
    g_source_unref (c.timeout);
    c.timeout = nullptr;
  }
  if (socket == nullptr) {
    const guint status = soup_message_get_status (c.handshake);
    if (status != 0 && status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
      const char *phrase = soup_message_get_reason_phrase (c.handshake);
      fail ("handshake refused: HTTP " + std::to_string (status) + " "
          + (phrase != nullptr ? phrase : ""));
    } else {
      fail (std::string ("cannot connect: ") + (error != nullptr ? error->message : "?"));
    }
    return;
  }
  c.socket = socket;
  if (c.closing) {
    close ();
    return;
  }
  soup_websocket_connection_set_max_incoming_payload_size (socket, kMaxIncomingPayload);
  g_signal_connect (socket, "message", G_CALLBACK (+[] (SoupWebsocketConnection *,
              gint type, GBytes *message, gpointer data) {
        if (type != SOUP_WEBSOCKET_DATA_TEXT)
          return;
        gsize size = 0;
        const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
        static_cast<RealtimeSocket *> (data)->handlers_.text (std::string_view (text, size));
      }), this);
  g_signal_connect (socket, "closed", G_CALLBACK (+[] (SoupWebsocketConnection *ws,
              gpointer data) {
        auto *self = static_cast<RealtimeSocket *> (data);
        if (self->connection_->closing) {
          g_main_loop_quit (self->loop_);
          return;
        }
        const gushort code = soup_websocket_connection_get_close_code (ws);
        const char *why = soup_websocket_connection_get_close_data (ws);
        std::string reason = "socket closed mid-call";
        if (code != 0)
          reason += " (code " + std::to_string (code) + ")";
        if (why != nullptr && *why != '\0')
          reason += std::string (": ") + why;
        self->fail (reason);
      }), this);
  on_open ();
}

void
RealtimeSocket::on_open ()
{
  std::vector<std::string> opening = std::move (connection_->options.opening);
  {
    std::lock_guard guard (lock_);
    if (failed_)
      return;
    // Opening messages go before everything queued while connecting.
    outgoing_.insert (outgoing_.begin (), std::make_move_iterator (opening.begin ()),
        std::make_move_iterator (opening.end ()));
    open_ = true;
    flush_scheduled_ = false;
  }
  if (handlers_.opened)
    handlers_.opened ();
  flush ();
}

void
RealtimeSocket::fail (const std::string &reason)
{
  {
    std::lock_guard guard (lock_);
    if (failed_ || connection_->closing)
      return;
    failed_ = true;
    open_ = false;
    outgoing_.clear ();
  }
  handlers_.failed (reason);
}

void
RealtimeSocket::flush ()
{
  std::deque<std::string> frames;
  {
    std::lock_guard guard (lock_);
    flush_scheduled_ = false;
    if (!open_)
      return;
    frames.swap (outgoing_);
  }
  SoupWebsocketConnection *socket = connection_->socket;
  for (const std::string &text : frames) {
    if (soup_websocket_connection_get_state (socket) != SOUP_WEBSOCKET_STATE_OPEN)
      return;
    soup_websocket_connection_send_text (socket, text.c_str ());
    frames_sent_++;
  }
}

void
RealtimeSocket::send (std::string text)
{
  std::lock_guard guard (lock_);
  if (failed_ || context_ == nullptr)
    return;
  outgoing_.push_back (std::move (text));
  if (!open_) {
    queued_before_open_++;
    return;
  }
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    invoke ([this] { flush (); });
  }
}

void
RealtimeSocket::close ()
{
  Connection &c = *connection_;
  c.closing = true;
  g_cancellable_cancel (c.cancellable);
  if (c.socket != nullptr
      && soup_websocket_connection_get_state (c.socket) == SOUP_WEBSOCKET_STATE_OPEN) {
    soup_websocket_connection_close (c.socket, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    // "closed" quits the loop; this is for a server that never answers.
    GSource *grace = g_timeout_source_new (kCloseGraceMs);
    g_source_set_callback (grace, +[] (gpointer loop) -> gboolean {
          g_main_loop_quit (static_cast<GMainLoop *> (loop));
          return G_SOURCE_REMOVE;
        }, loop_, nullptr);
    g_source_attach (grace, context_);
    g_source_unref (grace);
    return;
  }
  g_main_loop_quit (loop_);
}

void
RealtimeSocket::stop ()
{
  if (!thread_.joinable ())
    return;
  invoke ([this] { close (); });
  thread_.join ();
  std::lock_guard guard (lock_);
  outgoing_.clear ();
  open_ = false;
  g_main_loop_unref (loop_);
  loop_ = nullptr;
  g_main_context_unref (context_);
  context_ = nullptr;
}

}  // namespace callstream
