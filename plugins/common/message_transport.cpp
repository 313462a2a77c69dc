#include "common/message_transport.h"

#include <condition_variable>
#include <mutex>
#include <vector>

namespace callstream {

namespace {

constexpr guint64 kMaxIncomingMessage = 1 << 20;  // Exotel chunks reach 100 KB of audio, 133 KB as base64
constexpr int kCloseGoingAway = 1001;
constexpr guint kCloseWaitMs = 1000;

using SharedCallbacks = std::shared_ptr<const MessageCallbacks>;

void
free_callbacks (gpointer data, GClosure *)
{
  delete static_cast<SharedCallbacks *> (data);
}

void
on_message (SoupWebsocketConnection *, gint type, GBytes *message, gpointer data)
{
  const auto &callbacks = **static_cast<SharedCallbacks *> (data);
  gsize size = 0;
  const auto *bytes = static_cast<const uint8_t *> (g_bytes_get_data (message, &size));
  if (type == SOUP_WEBSOCKET_DATA_TEXT)
    callbacks.on_text (std::string_view (reinterpret_cast<const char *> (bytes), size));
  else
    callbacks.on_binary (bytes, size);
}

void
on_closed (SoupWebsocketConnection *connection, gpointer data)
{
  const auto &callbacks = **static_cast<SharedCallbacks *> (data);
  const char *reason = soup_websocket_connection_get_close_data (connection);
  callbacks.on_closed (soup_websocket_connection_get_close_code (connection),
      reason != nullptr ? reason : "");
}

}  // namespace

std::unique_ptr<CaptureReader>
CaptureReader::open (const std::string &path, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path.c_str ());
  g_autoptr (GFileInputStream) input = g_file_read (file, nullptr, error);
  if (input == nullptr)
    return nullptr;
  return std::unique_ptr<CaptureReader> (new CaptureReader (
          g_data_input_stream_new (G_INPUT_STREAM (input))));
}

CaptureReader::~CaptureReader ()
{
  g_object_unref (stream_);
}

bool
CaptureReader::next_line (std::string &line, GError **error)
{
  for (;;) {
    gsize length = 0;
    g_autofree char *text = g_data_input_stream_read_line (stream_, &length,
        nullptr, error);
    if (text == nullptr)
      return false;
    std::string_view view (text, length);
    while (!view.empty () && g_ascii_isspace (view.back ()))
      view.remove_suffix (1);
    if (view.empty ())
      continue;
    line.assign (view);
    return true;
  }
}

WebSocketReader::WebSocketReader (SoupWebsocketConnection *connection,
    MessageCallbacks callbacks)
    : connection_ (SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection)))
{
  auto shared = std::make_shared<const MessageCallbacks> (std::move (callbacks));
  message_handler_ = g_signal_connect_data (connection_, "message",
      G_CALLBACK (on_message), new SharedCallbacks (shared), free_callbacks,
      GConnectFlags (0));
  closed_handler_ = g_signal_connect_data (connection_, "closed",
      G_CALLBACK (on_closed), new SharedCallbacks (shared), free_callbacks,
      GConnectFlags (0));
  // A connection handed over already closed would otherwise never end the call.
  if (soup_websocket_connection_get_state (connection_) == SOUP_WEBSOCKET_STATE_CLOSED)
    shared->on_closed (soup_websocket_connection_get_close_code (connection_), "");
}

WebSocketReader::~WebSocketReader ()
{
  g_signal_handler_disconnect (connection_, message_handler_);
  g_signal_handler_disconnect (connection_, closed_handler_);
  g_object_unref (connection_);
}

struct SingleCallServer::Impl {
  std::string address;
  int requested_port = 0;
  std::string path;
  MessageCallbacks callbacks;

  GMainContext *context = nullptr;
  GMainLoop *loop = nullptr;
  GThread *thread = nullptr;

  // Start-up hand-over from the server thread.
  std::mutex mutex;
  std::condition_variable started;
  bool ready = false;
  GError *error = nullptr;
  int port = 0;

  // Touched on the server thread only.
  SoupServer *server = nullptr;
  std::unique_ptr<WebSocketReader> call;
  bool call_taken = false;
  std::vector<SoupWebsocketConnection *> refused;

  ~Impl ()
  {
    g_clear_error (&error);
    if (loop != nullptr)
      g_main_loop_unref (loop);
    if (context != nullptr)
      g_main_context_unref (context);
  }

  static gpointer run (gpointer data);
  static void on_websocket (SoupServer *, SoupServerMessage *, const char *,
      SoupWebsocketConnection *connection, gpointer data);
  static void on_refused_closed (SoupWebsocketConnection *connection,
      gpointer data);
  bool listen ();
  void wait_closed (SoupWebsocketConnection *connection);
  void shut_down ();
};

void
SingleCallServer::Impl::on_refused_closed (SoupWebsocketConnection *connection,
    gpointer data)
{
  auto *self = static_cast<Impl *> (data);
  std::erase (self->refused, connection);
  g_signal_handlers_disconnect_by_data (connection, self);
  g_object_unref (connection);
}

void
SingleCallServer::Impl::on_websocket (SoupServer *, SoupServerMessage *,
    const char *, SoupWebsocketConnection *connection, gpointer data)
{
  auto *self = static_cast<Impl *> (data);
  if (self->call_taken) {
    // Kept until the close handshake ends, so the peer reads the reason.
    self->refused.push_back (SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection)));
    g_signal_connect (connection, "closed", G_CALLBACK (on_refused_closed), self);
    soup_websocket_connection_close (connection, kCloseCodeRefused,
        self->call ? "this source already has a call in progress"
        : "this source has already taken its call");
    return;
  }
  self->call_taken = true;
  g_object_set (connection, "max-incoming-payload-size", kMaxIncomingMessage,
      nullptr);
  self->call = std::make_unique<WebSocketReader> (connection, self->callbacks);
  if (self->callbacks.on_connected)
    self->callbacks.on_connected (connection);
}

bool
SingleCallServer::Impl::listen ()
{
  server = soup_server_new ("server-header", "callstream ", nullptr);
  soup_server_add_websocket_handler (server, path.c_str (), nullptr, nullptr,
      on_websocket, this, nullptr);
  g_autoptr (GSocketAddress) socket_address =
      g_inet_socket_address_new_from_string (address.c_str (), requested_port);
  if (socket_address == nullptr) {
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "\"%s\" is not an IP address", address.c_str ());
    return false;
  }
  if (!soup_server_listen (server, socket_address, SoupServerListenOptions (0),
          &error))
    return false;
  GSList *uris = soup_server_get_uris (server);
  port = uris != nullptr ? g_uri_get_port (static_cast<GUri *> (uris->data)) : 0;
  g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  return true;
}

void
SingleCallServer::Impl::wait_closed (SoupWebsocketConnection *connection)
{
  // The main loop has stopped: run a short one so the close frame goes out.
  g_autoptr (GMainLoop) closing = g_main_loop_new (context, FALSE);
  const gulong handler = g_signal_connect_swapped (connection, "closed",
      G_CALLBACK (g_main_loop_quit), closing);
  g_autoptr (GSource) timeout = g_timeout_source_new (kCloseWaitMs);
  g_source_set_callback (timeout, [] (gpointer loop) -> gboolean {
        g_main_loop_quit (static_cast<GMainLoop *> (loop));
        return G_SOURCE_REMOVE;
      }, closing, nullptr);
  g_source_attach (timeout, context);
  if (soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_CLOSED)
    g_main_loop_run (closing);
  g_source_destroy (timeout);
  g_signal_handler_disconnect (connection, handler);
}

void
SingleCallServer::Impl::shut_down ()
{
  if (call) {
    g_autoptr (SoupWebsocketConnection) connection =
        SOUP_WEBSOCKET_CONNECTION (g_object_ref (call->connection ()));
    call.reset ();  // no callbacks for our own close
    if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN) {
      soup_websocket_connection_close (connection, kCloseGoingAway,
          "the source was stopped");
      wait_closed (connection);
    }
  }
  for (SoupWebsocketConnection *connection : refused) {
    g_signal_handlers_disconnect_by_data (connection, this);
    g_object_unref (connection);
  }
  refused.clear ();
  if (server != nullptr) {
    soup_server_disconnect (server);
    g_clear_object (&server);
  }
}

gpointer
SingleCallServer::Impl::run (gpointer data)
{
  auto *self = static_cast<Impl *> (data);
  g_main_context_push_thread_default (self->context);
  const bool listening = self->listen ();
  {
    std::lock_guard lock (self->mutex);
    self->ready = true;
  }
  self->started.notify_one ();
  if (listening)
    g_main_loop_run (self->loop);
  self->shut_down ();
  g_main_context_pop_thread_default (self->context);
  return nullptr;
}

std::unique_ptr<SingleCallServer>
SingleCallServer::start (const std::string &address, int port,
    const std::string &path, MessageCallbacks callbacks, GError **error)
{
  auto impl = std::make_unique<Impl> ();
  impl->address = address;
  impl->requested_port = port;
  impl->path = path;
  impl->callbacks = std::move (callbacks);
  impl->context = g_main_context_new ();
  impl->loop = g_main_loop_new (impl->context, FALSE);
  impl->thread = g_thread_new ("callstream-ws", Impl::run, impl.get ());
  {
    std::unique_lock lock (impl->mutex);
    impl->started.wait (lock, [&] { return impl->ready; });
  }
  if (impl->error != nullptr) {
    g_thread_join (impl->thread);
    g_propagate_error (error, impl->error);
    impl->error = nullptr;
    return nullptr;
  }
  const int bound_port = impl->port;
  return std::unique_ptr<SingleCallServer> (
      new SingleCallServer (std::move (impl), bound_port));
}

SingleCallServer::SingleCallServer (std::unique_ptr<Impl> impl, int port)
    : impl_ (std::move (impl)), port_ (port)
{
}

SingleCallServer::~SingleCallServer ()
{
  g_main_context_invoke (impl_->context, [] (gpointer loop) -> gboolean {
        g_main_loop_quit (static_cast<GMainLoop *> (loop));
        return G_SOURCE_REMOVE;
      }, impl_->loop);
  g_thread_join (impl_->thread);
}

}  // namespace callstream
