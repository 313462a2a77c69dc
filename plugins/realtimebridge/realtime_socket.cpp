// Threads: the element's (start, send, stop), one opening thread per socket
// while it connects (blocking GIO calls with a GCancellable), and the shared
// loop threads (epoll), which own every Connection. The element's threads
// reach a connection only through its Link: the flags and the writer under
// Link::lock, and the loop's wake-up (an eventfd).
#include "realtimebridge/realtime_socket.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "protocol/websocket_frames.h"
#include "protocol/websocket_handshake.h"

namespace callstream {

namespace ws = callstream::websocket;

namespace {

// Model replies can be large.
constexpr size_t kMaxIncomingPayload = 16 * 1024 * 1024;
// How long a normal close may take before the connection is dropped anyway.
constexpr gint64 kCloseGraceUs = 1000 * 1000;
// A loop thread reads into one buffer for all its sockets, at most this many
// reads per socket each time epoll reports it, so none starves the others.
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kReadsPerReady = 16;
constexpr int kMaxEvents = 64;

std::string
url_with_model (const std::string &url, const std::string &model)
{
  if (model.empty ())
    return url;
  g_autofree gchar *escaped = g_uri_escape_string (model.c_str (), nullptr, FALSE);
  return url + (url.find ('?') == std::string::npos ? "?" : "&") + "model=" + escaped;
}

// Where to connect and what to ask for, read from a ws:// or wss:// url.
struct Target {
  std::string url;   // as given (GSocketClient reads host and port from it)
  bool tls = false;
  guint16 default_port = 80;
  std::string host;  // the Host header
  std::string path;  // path and query
};

bool
parse_target (const std::string &url, Target &target)
{
  g_autoptr (GUri) uri = g_uri_parse (url.c_str (), G_URI_FLAGS_ENCODED, nullptr);
  if (uri == nullptr)
    return false;
  const char *scheme = g_uri_get_scheme (uri);
  const char *host = g_uri_get_host (uri);
  if (host == nullptr || *host == '\0')
    return false;
  if (g_ascii_strcasecmp (scheme, "wss") == 0)
    target.tls = true;
  else if (g_ascii_strcasecmp (scheme, "ws") != 0)
    return false;
  target.url = url;
  target.default_port = target.tls ? 443 : 80;
  const bool ipv6 = strchr (host, ':') != nullptr;
  target.host = ipv6 ? std::string ("[") + host + "]" : host;
  const gint port = g_uri_get_port (uri);
  if (port > 0 && port != target.default_port)
    target.host += ":" + std::to_string (port);
  const char *path = g_uri_get_path (uri);
  target.path = (path != nullptr && *path != '\0') ? path : "/";
  if (const char *query = g_uri_get_query (uri))
    target.path += std::string ("?") + query;
  return true;
}

// The bytes of an open connection, plain or TLS, never blocking.
class Transport {
 public:
  enum class Io { Done, WouldBlock, Ended, Failed };

  // Takes @connection's reference.
  explicit Transport (GSocketConnection *connection)
      : connection_ (connection),
        socket_ (g_socket_connection_get_socket (connection)),
        fd_ (g_socket_get_fd (socket_)),
        tls_ (G_IS_TCP_WRAPPER_CONNECTION (connection))
  {
    g_socket_set_blocking (socket_, FALSE);
    // Each frame is its own write: no waiting for more to fill a segment.
    const int one = 1;
    setsockopt (fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (tls_) {
      GIOStream *stream = G_IO_STREAM (connection_);
      in_ = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
      out_ = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
    }
  }

  ~Transport ()
  {
    // The socket is non-blocking: a TLS close_notify it cannot take at once
    // fails with WOULD_BLOCK and is skipped, and the socket is closed.
    g_io_stream_close (G_IO_STREAM (connection_), nullptr, nullptr);
    g_object_unref (connection_);
  }

  Transport (const Transport &) = delete;
  Transport &operator= (const Transport &) = delete;

  int fd () const { return fd_; }

  Io read (uint8_t *data, size_t size, size_t &got, std::string &error)
  {
    if (tls_) {
      g_autoptr (GError) failure = nullptr;
      const gssize n = g_pollable_input_stream_read_nonblocking (in_, data, size, nullptr,
          &failure);
      return result (n, failure, got, error);
    }
    for (;;) {
      const ssize_t n = recv (fd_, data, size, 0);
      if (n < 0 && errno == EINTR)
        continue;
      return result (n, errno, got, error);
    }
  }

  Io write (const uint8_t *data, size_t size, size_t &wrote, std::string &error)
  {
    if (tls_) {
      g_autoptr (GError) failure = nullptr;
      const gssize n = g_pollable_output_stream_write_nonblocking (out_, data, size, nullptr,
          &failure);
      return result (n, failure, wrote, error);
    }
    for (;;) {
      const ssize_t n = send (fd_, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      return result (n, errno, wrote, error);
    }
  }

 private:
  static Io result (ssize_t n, int error_number, size_t &count, std::string &error)
  {
    count = n > 0 ? static_cast<size_t> (n) : 0;
    if (n > 0)
      return Io::Done;
    if (n == 0)
      return Io::Ended;
    if (error_number == EAGAIN || error_number == EWOULDBLOCK)
      return Io::WouldBlock;
    error = g_strerror (error_number);
    return Io::Failed;
  }

  static Io result (gssize n, const GError *failure, size_t &count, std::string &error)
  {
    count = n > 0 ? static_cast<size_t> (n) : 0;
    if (n > 0)
      return Io::Done;
    if (n == 0)
      return Io::Ended;
    if (g_error_matches (failure, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      return Io::WouldBlock;
    error = failure != nullptr ? failure->message : "?";
    return Io::Failed;
  }

  GSocketConnection *connection_;
  GSocket *socket_;
  int fd_;
  bool tls_;
  GPollableInputStream *in_ = nullptr;
  GPollableOutputStream *out_ = nullptr;
};

// wss:// with an extra trust file: a certificate the system refuses is still
// taken when it verifies against one of the file's certificates.
gboolean
accept_with_extra_cas (GTlsConnection *connection, GTlsCertificate *peer,
    GTlsCertificateFlags, gpointer data)
{
  GList *cas = static_cast<GList *> (data);
  GSocketConnectable *identity = g_tls_client_connection_get_server_identity (
      G_TLS_CLIENT_CONNECTION (connection));
  for (GList *ca = cas; ca != nullptr; ca = ca->next) {
    if (g_tls_certificate_verify (peer, identity, G_TLS_CERTIFICATE (ca->data)) == 0)
      return TRUE;
  }
  return FALSE;
}

void
free_certificates (gpointer data, GClosure *)
{
  g_list_free_full (static_cast<GList *> (data), g_object_unref);
}

gpointer
ref_certificate (gconstpointer certificate, gpointer)
{
  return g_object_ref (G_OBJECT (certificate));
}

// The client's "event": puts the extra CAs (@data) on the TLS connection as
// soon as it exists, before its handshake.
void
on_client_event (GSocketClient *, GSocketClientEvent event, GSocketConnectable *,
    GIOStream *stream, gpointer data)
{
  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKING)
    return;
  g_signal_connect_data (stream, "accept-certificate", G_CALLBACK (accept_with_extra_cas),
      g_list_copy_deep (static_cast<GList *> (data), ref_certificate, nullptr),
      free_certificates, GConnectFlags (0));
}

}  // namespace

/* ---- the shared loop thread ----------------------------------------------- */

class RealtimeSocket::Loop {
 public:
  // The process's least busy loop (a loop with no socket left has ended: it
  // is started again). One loop per processor, at most kMaxLoops, so the
  // sockets' work spreads over the cores.
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

  Loop () : core_ (std::make_shared<Core> ())
  {
    // The thread keeps its own reference: it may outlive this (see below).
    thread_ = std::thread ([core = core_] { core->run (); });
  }

  ~Loop ()
  {
    core_->quit.store (true);
    core_->signal ();
    // The last connection usually ends on the thread itself: it then ends
    // alone once this pass is over.
    if (on_thread ())
      thread_.detach ();
    else
      thread_.join ();
  }

  Loop (const Loop &) = delete;
  Loop &operator= (const Loop &) = delete;

  bool on_thread () const { return std::this_thread::get_id () == thread_.get_id (); }
  int epoll_fd () const { return core_->epoll_fd; }

  // Any thread: @link's connection looks at it on the loop thread soon.
  void wake (std::shared_ptr<Link> link)
  {
    std::lock_guard guard (core_->woken_lock);
    core_->woken.push_back (std::move (link));
    if (core_->woken.size () == 1)
      core_->signal ();
  }

  // Loop thread only.
  void add_timed (Connection *connection) { core_->timed.push_back (connection); }
  void remove_timed (Connection *connection) { std::erase (core_->timed, connection); }
  // Deleted once the events at hand are handled (they may still name it).
  void retire (Connection *connection) { core_->retired.push_back (connection); }
  uint8_t *buffer () { return core_->buffer.data (); }

 private:
  struct Core {
    Core ();
    ~Core ();
    void signal ();
    void run ();
    void on_wake ();
    int timeout_ms () const;
    void check_deadlines ();

    int epoll_fd = -1;
    int wake_fd = -1;
    std::atomic<bool> quit { false };
    std::mutex woken_lock;
    std::vector<std::shared_ptr<Link>> woken;  // under woken_lock
    // The loop thread's own.
    std::vector<std::shared_ptr<Link>> waking;
    std::vector<Connection *> timed;    // connections with a deadline
    std::vector<Connection *> retired;
    std::vector<uint8_t> buffer = std::vector<uint8_t> (kReadBufferSize);
  };

  std::shared_ptr<Core> core_;
  std::thread thread_;
};

/* ---- what the element's side and the connection share ------------------- */

struct RealtimeSocket::Link {
  explicit Link (Handlers handlers) : handlers (std::move (handlers)) {}

  // Held while a handler runs: stop() takes it to detach, so no handler runs
  // once stop() returned. Lock order: dispatch, then lock.
  std::mutex dispatch;
  Handlers handlers;
  bool detached = false;  // under dispatch; read on the loop thread only
  // Set before the first wake, cleared when it is deleted; the loop thread
  // reads it only.
  Connection *connection = nullptr;

  std::mutex lock;
  // Under lock, as is everything below.
  std::vector<std::string> outgoing;  // given to send() before the open
  bool open = false;
  bool failed = false;
  bool wake_pending = false;
  bool close_requested = false;
  bool connect_done = false;  // the opening thread has left its result
  std::string write_error;    // a send() that failed, for the loop to report

  // The writer, set while the socket is open: any thread writes through it.
  Transport *transport = nullptr;
  int epoll_fd = -1;
  void *epoll_tag = nullptr;
  std::vector<uint8_t> frame;   // the frame being written
  std::vector<uint8_t> unsent;  // what the socket has not taken yet, from unsent_at
  size_t unsent_at = 0;
  std::array<uint8_t, 256> masks {};
  size_t masks_used = sizeof masks;

  std::atomic<guint64> queued_before_open { 0 };
  std::atomic<guint64> frames_sent { 0 };

  void request_wake (Loop &loop, const std::shared_ptr<Link> &self)
  {
    if (!wake_pending) {
      wake_pending = true;
      loop.wake (self);
    }
  }

  // Masks @payload into a frame and writes it, or queues it behind what the
  // socket has not taken yet. False on a write error (then write_error says
  // why). Nothing is written without a transport.
  bool write_frame (ws::Opcode opcode, std::span<const uint8_t> payload);
  // Writes what waits; false on a write error.
  bool flush_unsent ();

 private:
  std::array<uint8_t, 4> next_mask ();
  void watch_writable (bool on);
};

std::array<uint8_t, 4>
RealtimeSocket::Link::next_mask ()
{
  // RFC 6455 10.3: masks the network cannot predict. One getrandom per 64.
  if (masks_used == masks.size ()) {
    ws::fill_random (masks.data (), masks.size ());
    masks_used = 0;
  }
  std::array<uint8_t, 4> mask;
  std::memcpy (mask.data (), masks.data () + masks_used, mask.size ());
  masks_used += mask.size ();
  return mask;
}

void
RealtimeSocket::Link::watch_writable (bool on)
{
  epoll_event event {};
  event.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  event.data.ptr = epoll_tag;
  epoll_ctl (epoll_fd, EPOLL_CTL_MOD, transport->fd (), &event);
}

bool
RealtimeSocket::Link::write_frame (ws::Opcode opcode, std::span<const uint8_t> payload)
{
  if (transport == nullptr)
    return true;
  if (unsent_at < unsent.size ()) {
    ws::append_client_frame (unsent, opcode, payload, next_mask ());
    return true;
  }
  frame.clear ();
  ws::append_client_frame (frame, opcode, payload, next_mask ());
  size_t wrote = 0;
  std::string error;
  const Transport::Io io = transport->write (frame.data (), frame.size (), wrote, error);
  if (io == Transport::Io::Failed || io == Transport::Io::Ended) {
    write_error = "socket closed mid-call: " + (error.empty () ? "write failed" : error);
    return false;
  }
  if (wrote < frame.size ()) {
    unsent.assign (frame.begin () + static_cast<std::ptrdiff_t> (wrote), frame.end ());
    unsent_at = 0;
    watch_writable (true);
  }
  return true;
}

bool
RealtimeSocket::Link::flush_unsent ()
{
  while (transport != nullptr && unsent_at < unsent.size ()) {
    size_t wrote = 0;
    std::string error;
    const Transport::Io io = transport->write (unsent.data () + unsent_at,
        unsent.size () - unsent_at, wrote, error);
    if (io == Transport::Io::WouldBlock)
      return true;
    if (io != Transport::Io::Done) {
      write_error = "socket closed mid-call: " + (error.empty () ? "write failed" : error);
      return false;
    }
    unsent_at += wrote;
  }
  unsent.clear ();
  unsent_at = 0;
  if (transport != nullptr)
    watch_writable (false);
  return true;
}

/* ---- one connection, on the loop thread ----------------------------------- */

struct RealtimeSocket::Connection {
  Connection (std::shared_ptr<Link> link, std::shared_ptr<Loop> loop, Options options)
      : link (std::move (link)), loop (std::move (loop)), options (std::move (options)) {}
  ~Connection ();

  void on_wake ();
  void on_ready (uint32_t events);
  void on_deadline ();

  void connect ();
  void open_thread (Target target);  // the opening thread
  void on_connected ();
  void open (GSocketConnection *connected, std::string &early);
  void read ();
  // Feeds server bytes to the decoder; false once the connection is over.
  bool take (uint8_t *data, size_t size);
  void handle (const ws::Message &message);
  void ended (const std::string &reason);
  void fail (const std::string &reason);
  void drop_transport ();
  void close ();
  // Closed or given up: deleted once no opening thread is left.
  void finish ();
  void set_deadline (gint64 when);
  // Runs @handler unless stop() detached the element.
  template <typename Handler> void notify (Handler &&handler)
  {
    std::lock_guard guard (link->dispatch);
    if (!link->detached)
      handler (link->handlers);
  }

  std::shared_ptr<Link> link;
  std::shared_ptr<Loop> loop;  // the last connection gone ends the thread
  Options options;
  GCancellable *cancellable = g_cancellable_new ();
  std::thread opener;
  std::unique_ptr<Transport> transport;
  ws::FrameDecoder decoder { kMaxIncomingPayload, ws::Sender::Server };
  gint64 deadline = 0;  // monotonic us; 0: none

  // The opening thread's result, under result_lock.
  std::mutex result_lock;
  GSocketConnection *result_connection = nullptr;
  std::string result_early;   // frames that came with the 101
  std::string result_error;   // empty when cancelled

  bool started = false;     // connect() ran
  bool connecting = false;  // the opening thread is still to be joined
  bool closing = false;     // stop() asked: a close is no failure
  bool finished = false;
};

RealtimeSocket::Connection::~Connection ()
{
  set_deadline (0);
  drop_transport ();
  link->connection = nullptr;
  if (opener.joinable ())
    opener.join ();
  g_clear_object (&result_connection);
  g_object_unref (cancellable);
}

void
RealtimeSocket::Connection::set_deadline (gint64 when)
{
  if (deadline != 0)
    loop->remove_timed (this);
  deadline = when;
  if (deadline != 0)
    loop->add_timed (this);
}

void
RealtimeSocket::Connection::connect ()
{
  Target target;
  if (!parse_target (url_with_model (options.url, options.model), target)) {
    fail ("the url is not a valid ws:// or wss:// address");
    return;
  }
  set_deadline (g_get_monotonic_time ()
      + static_cast<gint64> (options.connect_timeout_ms) * G_TIME_SPAN_MILLISECOND);
  connecting = true;
  opener = std::thread ([this, target = std::move (target)] () mutable {
    open_thread (std::move (target));
  });
}

// On the opening thread: blocking, until done or cancelled. Reads only what
// stays put while it runs (options, cancellable, link, loop).
void
RealtimeSocket::Connection::open_thread (Target target)
{
  pthread_setname_np (pthread_self (), kConnectThreadName);
  g_autoptr (GError) error = nullptr;
  GSocketConnection *connected = nullptr;
  std::string early, reason;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_tls (client, target.tls);
  if (target.tls && !options.tls_ca_file.empty ()) {
    GList *cas = g_tls_certificate_list_new_from_file (options.tls_ca_file.c_str (), &error);
    if (cas == nullptr) {
      reason = "cannot read the TLS CA file: "
          + std::string (error != nullptr ? error->message : "no certificate in it");
    } else {
      g_signal_connect_data (client, "event", G_CALLBACK (on_client_event), cas,
          free_certificates, GConnectFlags (0));
    }
  }
  if (reason.empty ()) {
    connected = g_socket_client_connect_to_uri (client, target.url.c_str (),
        target.default_port, cancellable, &error);
    if (connected == nullptr && !g_cancellable_is_cancelled (cancellable))
      reason = std::string ("cannot connect: ") + error->message;
  }
  if (connected != nullptr) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options.api_key.empty ())
      headers.emplace_back ("Authorization", "Bearer " + options.api_key);
    const std::string key = ws::new_client_key ();
    const std::string request = ws::client_request (target.host, target.path, key, headers);
    GIOStream *stream = G_IO_STREAM (connected);
    if (!g_output_stream_write_all (g_io_stream_get_output_stream (stream), request.data (),
            request.size (), nullptr, cancellable, &error)) {
      if (!g_cancellable_is_cancelled (cancellable))
        reason = std::string ("cannot connect: ") + error->message;
    }
    std::string answer;
    while (reason.empty () && !g_cancellable_is_cancelled (cancellable)) {
      char chunk[4096];
      g_clear_error (&error);
      const gssize n = g_input_stream_read (g_io_stream_get_input_stream (stream), chunk,
          sizeof chunk, cancellable, &error);
      if (n < 0) {
        if (!g_cancellable_is_cancelled (cancellable))
          reason = std::string ("cannot connect: ") + error->message;
        break;
      }
      if (n == 0) {
        reason = "cannot connect: the server closed the connection during the handshake";
        break;
      }
      answer.append (chunk, static_cast<size_t> (n));
      const ws::HandshakeAnswer read = ws::read_handshake_answer (answer, key);
      if (read.status == ws::HandshakeAnswer::Status::NeedMore)
        continue;
      if (read.status == ws::HandshakeAnswer::Status::Accepted)
        early = answer.substr (read.header_size);
      else if (read.status == ws::HandshakeAnswer::Status::Refused)
        reason = "handshake refused: HTTP " + std::to_string (read.http_status) + " "
            + read.phrase;
      else
        reason = "cannot connect: " + read.reason;
      break;
    }
    if (!reason.empty () || g_cancellable_is_cancelled (cancellable))
      g_clear_object (&connected);
  }
  {
    std::lock_guard guard (result_lock);
    result_connection = connected;
    result_early = std::move (early);
    result_error = std::move (reason);
  }
  std::lock_guard guard (link->lock);
  link->connect_done = true;
  link->request_wake (*loop, link);
}

void
RealtimeSocket::Connection::on_connected ()
{
  opener.join ();
  connecting = false;
  GSocketConnection *connected;
  std::string early, error;
  {
    std::lock_guard guard (result_lock);
    connected = std::exchange (result_connection, nullptr);
    early = std::move (result_early);
    error = std::move (result_error);
  }
  if (finished) {
    // Stopped while connecting.
    g_clear_object (&connected);
    loop->retire (this);
    return;
  }
  set_deadline (0);
  if (connected == nullptr) {
    // Empty: cancelled, by the timeout (already reported) or by stop().
    if (!error.empty ())
      fail (error);
    if (closing)
      finish ();
    return;
  }
  if (closing) {
    g_object_unref (connected);
    finish ();
    return;
  }
  open (connected, early);
}

void
RealtimeSocket::Connection::open (GSocketConnection *connected, std::string &early)
{
  {
    // Timed out, and reported so, while the opening thread finished.
    std::lock_guard guard (link->lock);
    if (link->failed) {
      g_object_unref (connected);
      return;
    }
  }
  transport = std::make_unique<Transport> (connected);
  epoll_event event {};
  event.events = EPOLLIN;
  event.data.ptr = this;
  if (epoll_ctl (loop->epoll_fd (), EPOLL_CTL_ADD, transport->fd (), &event) != 0) {
    fail (std::string ("cannot watch the socket: ") + g_strerror (errno));
    return;
  }
  std::vector<std::string> opening = std::move (options.opening);
  bool written = true;
  {
    std::lock_guard guard (link->lock);
    link->transport = transport.get ();
    link->epoll_fd = loop->epoll_fd ();
    link->epoll_tag = this;
    // Opening messages go before everything queued while connecting.
    for (const std::vector<std::string> *texts : { &opening, &link->outgoing }) {
      for (const std::string &text : *texts) {
        if (written)
          written = link->write_frame (ws::Opcode::Text, ws::as_bytes (text));
        link->frames_sent++;
      }
    }
    link->outgoing.clear ();
    link->open = true;
  }
  notify ([] (Handlers &h) {
        if (h.opened)
          h.opened ();
      });
  if (!written) {
    std::string reason;
    {
      std::lock_guard guard (link->lock);
      reason = std::move (link->write_error);
    }
    fail (reason);
    return;
  }
  // Frames that came in the same reads as the 101.
  if (!early.empty ())
    take (reinterpret_cast<uint8_t *> (early.data ()), early.size ());
}

void
RealtimeSocket::Connection::on_ready (uint32_t events)
{
  if (finished || transport == nullptr)
    return;
  if (events & EPOLLOUT) {
    bool flushed;
    std::string reason;
    {
      std::lock_guard guard (link->lock);
      flushed = link->flush_unsent ();
      if (!flushed)
        reason = std::move (link->write_error);
    }
    if (!flushed) {
      ended (reason);
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read ();
}

void
RealtimeSocket::Connection::read ()
{
  uint8_t *buffer = loop->buffer ();
  for (int i = 0; i < kReadsPerReady && transport != nullptr && !finished; i++) {
    size_t got = 0;
    std::string error;
    switch (transport->read (buffer, kReadBufferSize, got, error)) {
      case Transport::Io::WouldBlock:
        return;
      case Transport::Io::Ended:
        ended ("socket closed mid-call (no Close frame)");
        return;
      case Transport::Io::Failed:
        ended ("socket closed mid-call: " + error);
        return;
      case Transport::Io::Done:
        if (!take (buffer, got))
          return;
        break;
    }
  }
}

bool
RealtimeSocket::Connection::take (uint8_t *data, size_t size)
{
  while (size > 0) {
    const ws::FrameDecoder::FeedResult result = decoder.feed_in_place (data, size);
    data += result.consumed;
    size -= result.consumed;
    if (result.status == ws::FrameDecoder::FeedStatus::Message) {
      handle (decoder.message ());
      if (transport == nullptr || finished)
        return false;
    } else if (result.status == ws::FrameDecoder::FeedStatus::Failed) {
      const ws::DecodeError &error = decoder.error ();
      {
        std::lock_guard guard (link->lock);
        std::vector<uint8_t> body;
        const std::string why = error.reason.substr (0, ws::kMaxControlPayload - 2);
        body.push_back (static_cast<uint8_t> (error.close_code >> 8));
        body.push_back (static_cast<uint8_t> (error.close_code & 0xff));
        body.insert (body.end (), why.begin (), why.end ());
        link->write_frame (ws::Opcode::Close, body);
      }
      if (closing)
        finish ();
      else
        fail ("WebSocket protocol error: " + error.reason);
      return false;
    }
  }
  return true;
}

void
RealtimeSocket::Connection::handle (const ws::Message &message)
{
  switch (message.type) {
    case ws::MessageType::Text:
      if (!closing) {
        const std::string_view text = message.text ();
        notify ([text] (Handlers &h) { h.text (text); });
      }
      return;
    case ws::MessageType::Ping: {
      std::string reason;
      {
        std::lock_guard guard (link->lock);
        if (!link->write_frame (ws::Opcode::Pong, message.payload))
          reason = std::move (link->write_error);
      }
      if (!reason.empty ())
        ended (reason);
      return;
    }
    case ws::MessageType::Close: {
      if (closing) {
        finish ();
        return;
      }
      {
        // RFC 6455 5.5.1: the same code back (none when it sent none).
        std::lock_guard guard (link->lock);
        uint8_t code[2] = { static_cast<uint8_t> (message.close_code >> 8),
          static_cast<uint8_t> (message.close_code & 0xff) };
        link->write_frame (ws::Opcode::Close,
            message.close_code == ws::close_code::kNoStatus ? std::span<const uint8_t> ()
                                                          : std::span<const uint8_t> (code));
      }
      std::string reason = "socket closed mid-call (code "
          + std::to_string (message.close_code) + ")";
      if (!message.payload.empty ())
        reason += std::string (": ") + std::string (message.text ());
      fail (reason);
      return;
    }
    case ws::MessageType::Binary:
    case ws::MessageType::Pong:
      return;
  }
}

void
RealtimeSocket::Connection::ended (const std::string &reason)
{
  if (closing)
    finish ();
  else
    fail (reason);
}

void
RealtimeSocket::Connection::on_wake ()
{
  bool close_now, connected;
  std::string write_error;
  {
    std::lock_guard guard (link->lock);
    link->wake_pending = false;
    close_now = link->close_requested;
    connected = std::exchange (link->connect_done, false);
    write_error = std::move (link->write_error);
  }
  if (connected)
    on_connected ();
  if (finished)
    return;
  if (!write_error.empty ())
    ended (write_error);
  if (close_now) {
    if (!closing)
      close ();
  } else if (!started) {
    started = true;
    connect ();
  }
}

void
RealtimeSocket::Connection::on_deadline ()
{
  set_deadline (0);
  if (closing) {
    finish ();
    return;
  }
  if (connecting) {
    fail ("connect timeout after " + std::to_string (options.connect_timeout_ms) + " ms");
    g_cancellable_cancel (cancellable);
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
  drop_transport ();
  notify ([&reason] (Handlers &h) { h.failed (reason); });
}

void
RealtimeSocket::Connection::drop_transport ()
{
  if (transport == nullptr)
    return;
  epoll_ctl (loop->epoll_fd (), EPOLL_CTL_DEL, transport->fd (), nullptr);
  {
    // Waits for a send() writing at this moment.
    std::lock_guard guard (link->lock);
    link->transport = nullptr;
    link->unsent.clear ();
    link->unsent_at = 0;
  }
  transport.reset ();
}

void
RealtimeSocket::Connection::close ()
{
  closing = true;
  g_cancellable_cancel (cancellable);
  if (transport != nullptr) {
    bool written;
    {
      std::lock_guard guard (link->lock);
      const uint8_t normal[2] = { ws::close_code::kNormal >> 8,
        ws::close_code::kNormal & 0xff };
      written = link->write_frame (ws::Opcode::Close, normal);
    }
    // The server's Close (or its end of the connection) finishes; this is
    // for a server that never answers.
    if (written) {
      set_deadline (g_get_monotonic_time () + kCloseGraceUs);
      return;
    }
  }
  finish ();
}

void
RealtimeSocket::Connection::finish ()
{
  if (finished)
    return;
  finished = true;
  set_deadline (0);
  drop_transport ();
  // on_connected() retires it once the opening thread is back.
  if (!connecting)
    loop->retire (this);
}

/* ---- the loop's thread ---------------------------------------------------- */

RealtimeSocket::Loop::Core::Core ()
    : epoll_fd (epoll_create1 (EPOLL_CLOEXEC)),
      wake_fd (eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC))
{
  if (epoll_fd < 0 || wake_fd < 0)
    g_error ("realtime socket loop: cannot make an epoll set or an eventfd: %s",
        g_strerror (errno));
  epoll_event event {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;
  epoll_ctl (epoll_fd, EPOLL_CTL_ADD, wake_fd, &event);
}

RealtimeSocket::Loop::Core::~Core ()
{
  close (wake_fd);
  close (epoll_fd);
}

void
RealtimeSocket::Loop::Core::signal ()
{
  const uint64_t one = 1;
  while (write (wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

int
RealtimeSocket::Loop::Core::timeout_ms () const
{
  if (timed.empty ())
    return -1;
  gint64 first = G_MAXINT64;
  for (const Connection *connection : timed)
    first = std::min (first, connection->deadline);
  const gint64 left = first - g_get_monotonic_time ();
  if (left <= 0)
    return 0;
  return static_cast<int> (std::min<gint64> ((left + 999) / 1000, G_MAXINT));
}

void
RealtimeSocket::Loop::Core::check_deadlines ()
{
  if (timed.empty ())
    return;
  const gint64 now = g_get_monotonic_time ();
  const std::vector<Connection *> due_check = timed;
  for (Connection *connection : due_check) {
    if (connection->deadline != 0 && connection->deadline <= now)
      connection->on_deadline ();
  }
}

void
RealtimeSocket::Loop::Core::on_wake ()
{
  uint64_t count;
  while (::read (wake_fd, &count, sizeof count) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard guard (woken_lock);
    waking.swap (woken);
  }
  for (const std::shared_ptr<Link> &link : waking) {
    // Gone: a wake that came after its close had finished.
    if (link->connection != nullptr)
      link->connection->on_wake ();
  }
  waking.clear ();
}

void
RealtimeSocket::Loop::Core::run ()
{
  pthread_setname_np (pthread_self (), kThreadName);
  epoll_event events[kMaxEvents];
  while (!quit.load ()) {
    const int n = epoll_wait (epoll_fd, events, kMaxEvents, timeout_ms ());
    if (n < 0 && errno != EINTR)
      g_error ("realtime socket loop: epoll_wait: %s", g_strerror (errno));
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == nullptr)
        on_wake ();
      else
        static_cast<Connection *> (events[i].data.ptr)->on_ready (events[i].events);
    }
    check_deadlines ();
    // Deleting the last connection may end the loop: quit is then set.
    std::vector<Connection *> gone;
    gone.swap (retired);
    for (Connection *connection : gone)
      delete connection;
  }
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
  {
    // Started already, or stopped: a socket is used once.
    std::lock_guard guard (link_->lock);
    if (loop_ || link_->close_requested)
      return;
  }
  std::shared_ptr<Loop> loop = Loop::acquire ();
  link_->connection = new Connection (link_, loop, std::move (options));
  // The first wake connects. loop_ is set under the lock: send() reads it.
  std::lock_guard guard (link_->lock);
  loop_ = std::move (loop);
  link_->request_wake (*loop_, link_);
}

void
RealtimeSocket::send (std::string text)
{
  // loop_ under the lock: stop() may let it go on another thread.
  std::lock_guard guard (link_->lock);
  if (!loop_ || link_->failed || link_->close_requested)
    return;
  if (!link_->open) {
    link_->outgoing.push_back (std::move (text));
    link_->queued_before_open++;
    return;
  }
  if (!link_->write_frame (ws::Opcode::Text, ws::as_bytes (text))) {
    // The loop thread reports it, as handlers run there.
    link_->request_wake (*loop_, link_);
    return;
  }
  link_->frames_sent++;
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
  std::shared_ptr<Loop> loop;
  {
    std::lock_guard guard (link_->lock);
    link_->close_requested = true;
    link_->outgoing.clear ();
    link_->open = false;
    link_->request_wake (*loop_, link_);
    // Let go outside the lock: the last reference joins the thread.
    loop = std::move (loop_);
  }
}

}  // namespace callstream
