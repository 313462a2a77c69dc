// libsoup 3 objects are not thread-safe: every one of them is created, used
// and dropped on its socket's loop thread, inside its thread-default context.
// The element's threads reach a connection only through their Link and the
// loop's one wake source (g_source_set_ready_time is thread-safe).
#include "realtimebridge/realtime_socket.h"

#include <libsoup/soup.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>
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
  // The process's least busy loop (a loop with no socket left has ended: it
  // is started again). One loop per processor, at most kMaxLoops: a pass of
  // a GMainContext checks every socket's source, so fewer sockets per
  // context cost less per wake-up, and the sockets' work spreads over the
  // cores.
  static std::shared_ptr<Loop> acquire ()
  {
    static std::mutex slots_lock;
    static std::vector<std::weak_ptr<Loop>> slots (
        std::clamp<size_t> (g_get_num_processors (), 1, kMaxLoops));
    std::lock_guard guard (slots_lock);
    // Each socket and each connection still closing holds its loop.
    auto least = std::min_element (slots.begin (), slots.end (),
        [] (const std::weak_ptr<Loop> &a, const std::weak_ptr<Loop> &b) {
          return a.use_count () < b.use_count ();
        });
    std::shared_ptr<Loop> loop = least->lock ();
    if (!loop) {
      loop = std::make_shared<Loop> ();
      *least = loop;
    }
    return loop;
  }

  Loop ()
      : context_ (g_main_context_new ()),
        quit_ (std::make_shared<std::atomic<bool>> (false))
  {
    wake_ = g_source_new (&wake_funcs, sizeof (GSource));
    g_source_set_callback (wake_, +[] (gpointer data) -> gboolean {
          static_cast<Loop *> (data)->on_wake ();
          return G_SOURCE_CONTINUE;
        }, this, nullptr);
    g_source_attach (wake_, context_);
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
    destroy_source (wake_);
    quit_->store (true);
    g_main_context_wakeup (context_);
    // The last connection usually ends on the thread itself: it then ends
    // alone once this pass is over.
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

  // Any thread: @link's connection looks at it on the socket thread soon.
  // One source for every socket, so each pass of the loop polls and checks
  // one source per socket (libsoup's) instead of two.
  void wake (std::shared_ptr<Link> link);

 private:
  void on_wake ();

  GMainContext *context_;
  GSource *wake_ = nullptr;
  std::mutex woken_lock;
  std::vector<std::shared_ptr<Link>> woken_;  // under woken_lock
  std::vector<std::shared_ptr<Link>> waking_;  // socket thread: the pass at hand
  std::shared_ptr<std::atomic<bool>> quit_;
  std::thread thread_;
};

/* ---- what the element's side and the connection share ------------------- */

struct RealtimeSocket::Link {
  explicit Link (Handlers handlers) : handlers (std::move (handlers)) {}

  // Held while a handler runs: stop() takes it to detach, so no handler runs
  // once stop() returned. Lock order: dispatch, then lock.
  std::mutex dispatch;
  Handlers handlers;
  bool detached = false;  // under dispatch; read on the socket thread only
  // Set before the first wake, cleared when it is deleted; the socket thread
  // reads it only.
  Connection *connection = nullptr;

  std::mutex lock;
  // Swapped with the connection's sending each flush: neither allocates once
  // both have grown (a std::deque allocates when made).
  std::vector<std::string> outgoing;  // under lock, and the flags below
  bool open = false;
  bool failed = false;
  bool wake_pending = false;
  bool close_requested = false;
  std::atomic<guint64> queued_before_open { 0 };
  std::atomic<guint64> frames_sent { 0 };
};

/* ---- one connection, on the shared thread --------------------------------- */

struct RealtimeSocket::Connection {
  Connection (std::shared_ptr<Link> link, std::shared_ptr<Loop> loop, Options options)
      : link (std::move (link)), loop (std::move (loop)), options (std::move (options)) {}
  ~Connection ();

  void connect ();
  void on_connected (SoupWebsocketConnection *connected, GError *error);
  void on_open ();
  void on_closed ();
  void on_wake ();
  void fail (const std::string &reason);
  void flush ();
  void close ();
  // Closed or given up: dropped once libsoup has nothing of ours in flight.
  void finish ();
  // Runs @handler unless stop() detached the element.
  template <typename Handler> void notify (Handler &&handler)
  {
    std::lock_guard guard (link->dispatch);
    if (!link->detached)
      handler (link->handlers);
  }

  std::shared_ptr<Link> link;
  std::shared_ptr<Loop> loop;  // the last connection closed ends the thread
  Options options;
  SoupSession *session = nullptr;
  SoupMessage *handshake = nullptr;
  SoupWebsocketConnection *socket = nullptr;
  GCancellable *cancellable = g_cancellable_new ();
  GSource *timeout = nullptr;
  GSource *grace = nullptr;
  std::vector<std::string> sending;  // flush(): the frames taken from the link
  bool started = false;     // connect() ran
  bool connecting = false;  // the connect callback is still to come
  bool closing = false;     // stop() asked: a close is no failure
  bool finished = false;
};

RealtimeSocket::Connection::~Connection ()
{
  destroy_source (timeout);
  destroy_source (grace);
  link->connection = nullptr;
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
    delete this;
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
        if (type != SOUP_WEBSOCKET_DATA_TEXT || c->closing)
          return;
        gsize size = 0;
        const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
        c->notify ([text, size] (Handlers &h) { h.text (std::string_view (text, size)); });
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
  std::vector<std::string> opening = std::move (options.opening);
  {
    std::lock_guard guard (link->lock);
    if (link->failed)
      return;
    // Opening messages go before everything queued while connecting.
    link->outgoing.insert (link->outgoing.begin (),
        std::make_move_iterator (opening.begin ()), std::make_move_iterator (opening.end ()));
    link->open = true;
  }
  notify ([] (Handlers &h) {
        if (h.opened)
          h.opened ();
      });
  flush ();
}

void
RealtimeSocket::Connection::on_wake ()
{
  bool close_now = false;
  {
    std::lock_guard guard (link->lock);
    link->wake_pending = false;
    close_now = link->close_requested;
  }
  if (close_now) {
    if (!closing)
      close ();
  } else if (!started) {
    started = true;
    connect ();
  } else {
    flush ();
  }
}

void
RealtimeSocket::Connection::fail (const std::string &reason)
{
  if (closing)
    return;
  {
    std::lock_guard guard (link->lock);
    if (link->failed)
      return;
    link->failed = true;
    link->open = false;
    link->outgoing.clear ();
  }
  notify ([&reason] (Handlers &h) { h.failed (reason); });
}

void
RealtimeSocket::Connection::flush ()
{
  if (socket == nullptr)
    return;
  {
    std::lock_guard guard (link->lock);
    if (!link->open)
      return;
    sending.swap (link->outgoing);
  }
  for (const std::string &text : sending) {
    if (soup_websocket_connection_get_state (socket) != SOUP_WEBSOCKET_STATE_OPEN)
      break;
    soup_websocket_connection_send_text (socket, text.c_str ());
    link->frames_sent++;
  }
  sending.clear ();
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
        delete static_cast<Connection *> (data);
        return G_SOURCE_REMOVE;
      }, this, nullptr);
  g_source_attach (later, loop->context ());
  g_source_unref (later);
}

/* ---- waking connections ------------------------------------------------- */

void
RealtimeSocket::Loop::wake (std::shared_ptr<Link> link)
{
  std::lock_guard guard (woken_lock);
  woken_.push_back (std::move (link));
  if (woken_.size () == 1)
    g_source_set_ready_time (wake_, 0);
}

void
RealtimeSocket::Loop::on_wake ()
{
  {
    std::lock_guard guard (woken_lock);
    waking_.swap (woken_);
  }
  for (const std::shared_ptr<Link> &link : waking_) {
    // Gone: a wake that came after its close had finished.
    if (link->connection != nullptr)
      link->connection->on_wake ();
  }
  waking_.clear ();
}

/* ---- the element's side --------------------------------------------------- */

RealtimeSocket::RealtimeSocket (Handlers handlers)
    : link_ (std::make_shared<Link> (std::move (handlers)))
{
}

RealtimeSocket::~RealtimeSocket ()
{
  stop ();
}

guint64
RealtimeSocket::queued_before_open () const
{
  return link_->queued_before_open;
}

guint64
RealtimeSocket::frames_sent () const
{
  return link_->frames_sent;
}

void
RealtimeSocket::start (Options options)
{
  if (loop_)
    return;
  loop_ = Loop::acquire ();
  link_->connection = new Connection (link_, loop_, std::move (options));
  // The first wake connects.
  std::lock_guard guard (link_->lock);
  link_->wake_pending = true;
  loop_->wake (link_);
}

void
RealtimeSocket::send (std::string text)
{
  if (!loop_)
    return;
  std::lock_guard guard (link_->lock);
  if (link_->failed || link_->close_requested)
    return;
  link_->outgoing.push_back (std::move (text));
  if (!link_->open) {
    link_->queued_before_open++;
    return;
  }
  if (!link_->wake_pending) {
    link_->wake_pending = true;
    loop_->wake (link_);
  }
}

void
RealtimeSocket::stop ()
{
  if (!loop_)
    return;
  if (loop_->on_thread ()) {
    // From a handler (ours or another socket's), which may hold dispatch:
    // nothing else reads detached meanwhile.
    link_->detached = true;
  } else {
    std::lock_guard guard (link_->dispatch);
    link_->detached = true;
  }
  {
    std::lock_guard guard (link_->lock);
    link_->close_requested = true;
    link_->outgoing.clear ();
    link_->open = false;
    if (!link_->wake_pending) {
      link_->wake_pending = true;
      loop_->wake (link_);
    }
  }
  loop_.reset ();
}

}  // namespace callstream
