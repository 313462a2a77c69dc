// libsoup 3 objects are not thread-safe: every one of them is created, used
// and dropped on the shared socket thread, inside its thread-default context.
// The element's threads reach a connection only through its wake source
// (g_source_set_ready_time is thread-safe) and the socket's lock.
#include "realtimebridge/realtime_socket.h"

#include <libsoup/soup.h>
#include <pthread.h>

#include <thread>

namespace callstream {
namespace {

// Model replies can be large; libsoup's default limit (128 KiB) is not.
constexpr guint64 kMaxIncomingPayload = 16 * 1024 * 1024;
// How long a normal close may take before the connection is dropped anyway.
constexpr guint kCloseGraceMs = 1000;

std::string
url_with_model (const std::string &url, const std::string &model)
{
  if (model.empty ())
    return url;
  g_autofree gchar *escaped = g_uri_escape_string (model.c_str (), nullptr, FALSE);
  return url + (url.find ('?') == std::string::npos ? "?" : "&") + "model=" + escaped;
}

// A source that only fires when its ready time is set: a cross-thread wake-up
// that allocates nothing per use.
gboolean
dispatch_wake (GSource *source, GSourceFunc callback, gpointer data)
{
  g_source_set_ready_time (source, -1);
  return callback (data);
}

GSourceFuncs wake_funcs = { nullptr, nullptr, dispatch_wake, nullptr, nullptr, nullptr };

void
destroy_source (GSource *&source)
{
  if (source == nullptr)
    return;
  g_source_destroy (source);
  g_source_unref (source);
  source = nullptr;
}

}  // namespace

/* ---- the shared thread ---------------------------------------------------- */

class RealtimeSocket::Loop {
 public:
  // The running loop, or a new one when no socket holds one.
  static std::shared_ptr<Loop> acquire ()
  {
    static std::mutex current_lock;
    static std::weak_ptr<Loop> current;
    std::lock_guard guard (current_lock);
    std::shared_ptr<Loop> loop = current.lock ();
    if (!loop) {
      loop = std::make_shared<Loop> ();
      current = loop;
    }
    return loop;
  }

  Loop ()
      : context_ (g_main_context_new ()),
        quit_ (std::make_shared<std::atomic<bool>> (false))
  {
    // The thread keeps its own references: it may outlive this (see below).
    thread_ = std::thread ([context = g_main_context_ref (context_), quit = quit_] {
      pthread_setname_np (pthread_self (), kThreadName);
      g_main_context_push_thread_default (context);
      while (!quit->load ())
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
      g_main_context_unref (context);
    });
  }

  ~Loop ()
  {
    quit_->store (true);
    g_main_context_wakeup (context_);
    // The last connection can end on the thread itself; it then ends alone.
    if (on_thread ())
      thread_.detach ();
    else
      thread_.join ();
    g_main_context_unref (context_);
  }

  Loop (const Loop &) = delete;
  Loop &operator= (const Loop &) = delete;

  GMainContext *context () const { return context_; }
  bool on_thread () const { return std::this_thread::get_id () == thread_.get_id (); }

 private:
  GMainContext *context_;
  std::shared_ptr<std::atomic<bool>> quit_;
  std::thread thread_;
};

/* ---- one connection, on the shared thread --------------------------------- */

struct RealtimeSocket::Connection {
  Connection (RealtimeSocket *owner, std::shared_ptr<Loop> loop, Options options)
      : owner (owner), loop (std::move (loop)), options (std::move (options)) {}
  ~Connection ();

  void connect ();
  void on_connected (SoupWebsocketConnection *connected, GError *error);
  void on_open ();
  void on_closed ();
  gboolean on_wake ();
  void fail (const std::string &reason);
  void flush ();
  void close ();
  // Closed or given up: drops this once libsoup has nothing of ours in
  // flight, then lets the owner's stop() return.
  void finish ();
  static void drop (Connection *c);

  RealtimeSocket *owner;  // null once stop() on this thread let go of it
  std::shared_ptr<Loop> loop;
  Options options;
  SoupSession *session = nullptr;
  SoupMessage *handshake = nullptr;
  SoupWebsocketConnection *socket = nullptr;
  GCancellable *cancellable = g_cancellable_new ();
  GSource *timeout = nullptr;
  GSource *grace = nullptr;
  GSource *wake = nullptr;
  bool connecting = false;       // the connect callback is still to come
  bool closing = false;          // stop() asked: a close is no failure
  bool close_detached = false;   // stop() on this thread asked to close
  bool finished = false;
};

RealtimeSocket::Connection::~Connection ()
{
  destroy_source (timeout);
  destroy_source (grace);
  destroy_source (wake);
  if (socket != nullptr)
    g_signal_handlers_disconnect_by_data (socket, this);
  g_clear_object (&socket);
  g_clear_object (&handshake);
  g_clear_object (&session);
  g_object_unref (cancellable);
}

void
RealtimeSocket::Connection::connect ()
{
  session = soup_session_new ();
  const std::string url = url_with_model (options.url, options.model);
  handshake = soup_message_new ("GET", url.c_str ());
  if (handshake == nullptr) {
    fail ("the url is not a valid ws:// or wss:// address");
    return;
  }
  if (!options.api_key.empty ()) {
    const std::string bearer = "Bearer " + options.api_key;
    soup_message_headers_replace (soup_message_get_request_headers (handshake),
        "Authorization", bearer.c_str ());
  }
  timeout = g_timeout_source_new (options.connect_timeout_ms);
  g_source_set_callback (timeout, +[] (gpointer data) -> gboolean {
        auto *c = static_cast<Connection *> (data);
        g_source_unref (c->timeout);
        c->timeout = nullptr;
        c->fail ("connect timeout after " + std::to_string (c->options.connect_timeout_ms)
            + " ms");
        g_cancellable_cancel (c->cancellable);
        return G_SOURCE_REMOVE;
      }, this, nullptr);
  g_source_attach (timeout, loop->context ());
  connecting = true;
  soup_session_websocket_connect_async (session, handshake, nullptr, nullptr,
      G_PRIORITY_DEFAULT, cancellable, +[] (GObject *source, GAsyncResult *result,
          gpointer data) {
        g_autoptr (GError) error = nullptr;
        SoupWebsocketConnection *connected = soup_session_websocket_connect_finish (
            SOUP_SESSION (source), result, &error);
        static_cast<Connection *> (data)->on_connected (connected, error);
      }, this);
}

void
RealtimeSocket::Connection::on_connected (SoupWebsocketConnection *connected,
    GError *error)
{
  connecting = false;
  destroy_source (timeout);
  if (finished) {
    // Stopped while connecting.
    if (connected != nullptr)
      g_object_unref (connected);
    drop (this);
    return;
  }
  if (connected == nullptr) {
    const guint status = soup_message_get_status (handshake);
    if (status != 0 && status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
      const char *phrase = soup_message_get_reason_phrase (handshake);
      fail ("handshake refused: HTTP " + std::to_string (status) + " "
          + (phrase != nullptr ? phrase : ""));
    } else {
      fail (std::string ("cannot connect: ") + (error != nullptr ? error->message : "?"));
    }
    return;
  }
  socket = connected;
  if (closing) {
    close ();
    return;
  }
  soup_websocket_connection_set_max_incoming_payload_size (socket, kMaxIncomingPayload);
  g_signal_connect (socket, "message", G_CALLBACK (+[] (SoupWebsocketConnection *,
              gint type, GBytes *message, gpointer data) {
        auto *c = static_cast<Connection *> (data);
        if (type != SOUP_WEBSOCKET_DATA_TEXT || c->owner == nullptr || c->closing)
          return;
        gsize size = 0;
        const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
        c->owner->handlers_.text (std::string_view (text, size));
      }), this);
  g_signal_connect (socket, "closed", G_CALLBACK (+[] (SoupWebsocketConnection *,
              gpointer data) {
        static_cast<Connection *> (data)->on_closed ();
      }), this);
  on_open ();
}

void
RealtimeSocket::Connection::on_closed ()
{
  if (closing) {
    finish ();
    return;
  }
  const gushort code = soup_websocket_connection_get_close_code (socket);
  const char *why = soup_websocket_connection_get_close_data (socket);
  std::string reason = "socket closed mid-call";
  if (code != 0)
    reason += " (code " + std::to_string (code) + ")";
  if (why != nullptr && *why != '\0')
    reason += std::string (": ") + why;
  fail (reason);
}

void
RealtimeSocket::Connection::on_open ()
{
  if (owner == nullptr)
    return;
  std::vector<std::string> opening = std::move (options.opening);
  {
    std::lock_guard guard (owner->lock_);
    if (owner->failed_)
      return;
    // Opening messages go before everything queued while connecting.
    owner->outgoing_.insert (owner->outgoing_.begin (),
        std::make_move_iterator (opening.begin ()), std::make_move_iterator (opening.end ()));
    owner->open_ = true;
  }
  if (owner->handlers_.opened)
    owner->handlers_.opened ();
  flush ();
}

gboolean
RealtimeSocket::Connection::on_wake ()
{
  bool close_now = close_detached;
  if (owner != nullptr) {
    std::lock_guard guard (owner->lock_);
    owner->wake_pending_ = false;
    close_now = close_now || owner->close_requested_;
  }
  if (close_now) {
    if (!closing)
      close ();
    return G_SOURCE_CONTINUE;
  }
  flush ();
  return G_SOURCE_CONTINUE;
}

void
RealtimeSocket::Connection::fail (const std::string &reason)
{
  if (owner == nullptr || closing)
    return;
  {
    std::lock_guard guard (owner->lock_);
    if (owner->failed_)
      return;
    owner->failed_ = true;
    owner->open_ = false;
    owner->outgoing_.clear ();
  }
  owner->handlers_.failed (reason);
}

void
RealtimeSocket::Connection::flush ()
{
  if (owner == nullptr || socket == nullptr)
    return;
  std::deque<std::string> frames;
  {
    std::lock_guard guard (owner->lock_);
    if (!owner->open_)
      return;
    frames.swap (owner->outgoing_);
  }
  for (const std::string &text : frames) {
    if (soup_websocket_connection_get_state (socket) != SOUP_WEBSOCKET_STATE_OPEN)
      return;
    soup_websocket_connection_send_text (socket, text.c_str ());
    owner->frames_sent_++;
  }
}

void
RealtimeSocket::Connection::close ()
{
  closing = true;
  g_cancellable_cancel (cancellable);
  if (socket != nullptr
      && soup_websocket_connection_get_state (socket) == SOUP_WEBSOCKET_STATE_OPEN) {
    soup_websocket_connection_close (socket, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    // "closed" finishes; this is for a server that never answers.
    grace = g_timeout_source_new (kCloseGraceMs);
    g_source_set_callback (grace, +[] (gpointer data) -> gboolean {
          static_cast<Connection *> (data)->finish ();
          return G_SOURCE_REMOVE;
        }, this, nullptr);
    g_source_attach (grace, loop->context ());
    return;
  }
  finish ();
}

void
RealtimeSocket::Connection::finish ()
{
  if (finished)
    return;
  finished = true;
  if (socket != nullptr)
    g_signal_handlers_disconnect_by_data (socket, this);
  // Its callback comes back with this, cancelled: dropped there.
  if (connecting)
    return;
  // Not from inside a signal of the socket: on the next iteration.
  GSource *later = g_idle_source_new ();
  g_source_set_callback (later, +[] (gpointer data) -> gboolean {
        drop (static_cast<Connection *> (data));
        return G_SOURCE_REMOVE;
      }, this, nullptr);
  g_source_attach (later, loop->context ());
  g_source_unref (later);
}

void
RealtimeSocket::Connection::drop (Connection *c)
{
  RealtimeSocket *waiting = c->owner;
  {
    // Our reference to the loop goes first: the owner's, dropped on its own
    // thread, is then the last and joins the thread.
    std::shared_ptr<Loop> loop = std::move (c->loop);
    delete c;
  }
  if (waiting != nullptr) {
    std::lock_guard guard (waiting->lock_);
    waiting->finished_ = true;
    waiting->finished_changed_.notify_all ();
  }
}

/* ---- the element's side --------------------------------------------------- */

RealtimeSocket::RealtimeSocket (Handlers handlers)
    : handlers_ (std::move (handlers))
{
}

RealtimeSocket::~RealtimeSocket ()
{
  stop ();
}

void
RealtimeSocket::start (Options options)
{
  if (loop_)
    return;
  loop_ = Loop::acquire ();
  connection_ = new Connection (this, loop_, std::move (options));
  wake_ = g_source_new (&wake_funcs, sizeof (GSource));
  connection_->wake = g_source_ref (wake_);
  g_source_set_callback (wake_, +[] (gpointer data) -> gboolean {
        return static_cast<Connection *> (data)->on_wake ();
      }, connection_, nullptr);
  g_source_attach (wake_, loop_->context ());
  // The connection starts on the thread: a one-off source, not the wake.
  GSource *begin = g_idle_source_new ();
  g_source_set_callback (begin, +[] (gpointer data) -> gboolean {
        static_cast<Connection *> (data)->connect ();
        return G_SOURCE_REMOVE;
      }, connection_, nullptr);
  g_source_attach (begin, loop_->context ());
  g_source_unref (begin);
}

void
RealtimeSocket::send (std::string text)
{
  std::lock_guard guard (lock_);
  if (failed_ || !loop_ || finished_)
    return;
  outgoing_.push_back (std::move (text));
  if (!open_) {
    queued_before_open_++;
    return;
  }
  if (!wake_pending_) {
    wake_pending_ = true;
    g_source_set_ready_time (wake_, 0);
  }
}

void
RealtimeSocket::stop ()
{
  if (!loop_)
    return;
  if (loop_->on_thread ()) {
    // From a handler: the connection may be on the stack; it closes later
    // and never calls us again.
    std::lock_guard guard (lock_);
    if (!finished_) {
      connection_->owner = nullptr;
      connection_->close_detached = true;
      finished_ = true;
    }
    g_source_set_ready_time (wake_, 0);
  } else {
    std::unique_lock held (lock_);
    close_requested_ = true;
    g_source_set_ready_time (wake_, 0);
    finished_changed_.wait (held, [this] { return finished_; });
  }
  {
    std::lock_guard guard (lock_);
    outgoing_.clear ();
    open_ = false;
  }
  g_source_unref (wake_);
  wake_ = nullptr;
  connection_ = nullptr;
  loop_.reset ();
}

}  // namespace callstream
