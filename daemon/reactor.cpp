#include "reactor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "protocol/websocket_frames.h"

namespace callstreamd {

namespace ws = callstream::websocket;

namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr gint64 kMaxTickMs = 250;
// A partly written backlog is compacted once this much of it has gone out.
constexpr size_t kCompactAfterBytes = 64 * 1024;

// The reactor whose thread this is, if any.
thread_local const Reactor *current_reactor = nullptr;

struct GObjectUnref {
  void operator() (gpointer object) const { g_object_unref (object); }
};

gint64
tick_ms (const Reactor::Limits &limits)
{
  if (limits.idle_timeout_ms == 0)
    return kMaxTickMs;
  return std::clamp<gint64> (limits.idle_timeout_ms / 4, 10, kMaxTickMs);
}

std::span<const uint8_t>
bytes_of (std::string_view text)
{
  return ws::as_bytes (text);
}

}  // namespace

struct Reactor::Connection {
  enum class State : uint8_t {
    kOpen,     // messages flow both ways
    kClosing,  // our Close is queued or sent; waiting for the peer's, EOF or the grace
    kDone,     // to be finished at the end of this loop turn
  };

  Connection (guint64 connection_id, GIOStream *io, GSocket *sock,
      std::shared_ptr<Peer> application_peer, size_t max_message_bytes)
    : id (connection_id), stream (G_IO_STREAM (g_object_ref (io))),
      socket (G_SOCKET (g_object_ref (sock))), fd (g_socket_get_fd (sock)),
      peer (std::move (application_peer)), decoder (max_message_bytes)
  {
  }

  const guint64 id;
  std::unique_ptr<GIOStream, GObjectUnref> stream;
  std::unique_ptr<GSocket, GObjectUnref> socket;
  const int fd;
  std::shared_ptr<Peer> peer;

  // Reactor thread only.
  ws::FrameDecoder decoder;
  std::string backlog;  // encoded frames not yet written, from backlog_offset
  size_t backlog_offset = 0;
  bool registered = false;
  bool watching_output = false;
  bool write_shut = false;
  bool peer_closed = false;  // the peer's Close arrived
  State state = State::kOpen;
  uint16_t close_code = 0;
  std::string close_reason;
  gint64 last_read_us = 0;
  gint64 close_deadline_us = 0;

  size_t backlog_size () const { return backlog.size () - backlog_offset; }

  // Guarded by Reactor::mutex_.
  std::string inbox;  // encoded frames queued by other threads
  bool inbox_listed = false;  // in pending_inboxes_
  bool accepting = true;      // send_*() still takes messages
  bool overflowed = false;    // another thread's send overflowed the queue
  bool close_requested = false;
  uint16_t requested_code = 0;
  std::string requested_reason;
};

Reactor::Reactor (Limits limits)
  : limits_ (limits), read_buffer_ (kReadBufferBytes)
{
  epoll_fd_ = epoll_create1 (EPOLL_CLOEXEC);
  wake_fd_ = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    g_error ("reactor: cannot create epoll or eventfd: %s", g_strerror (errno));
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the eventfd; connections carry their pointer
  if (epoll_ctl (epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0)
    g_error ("reactor: cannot watch the eventfd: %s", g_strerror (errno));
  thread_ = std::thread ([this] {
    current_reactor = this;
    run ();
  });
}

Reactor::~Reactor ()
{
  stop ();
  {
    std::lock_guard lock (mutex_);
    quit_ = true;
  }
  wake ();
  thread_.join ();
  ::close (wake_fd_);
  ::close (epoll_fd_);
}

bool
Reactor::on_reactor_thread () const
{
  return current_reactor == this;
}

void
Reactor::wake ()
{
  const uint64_t one = 1;
  // EAGAIN only when the counter is about to overflow: a wakeup is pending.
  if (write (wake_fd_, &one, sizeof one) < 0 && errno != EAGAIN)
    g_critical ("reactor: cannot write the eventfd: %s", g_strerror (errno));
}

guint64
Reactor::adopt (GIOStream *stream, GSocket *socket, std::shared_ptr<Peer> peer)
{
  g_return_val_if_fail (G_IS_IO_STREAM (stream) && G_IS_SOCKET (socket) && peer, 0);
  bool need_wake;
  guint64 id;
  {
    std::lock_guard lock (mutex_);
    id = next_id_++;
    peer->id_ = id;
    auto conn = std::make_unique<Connection> (id, stream, socket, std::move (peer),
        limits_.max_message_bytes);
    pending_adopts_.push_back (conn.get ());
    connections_.emplace (id, std::move (conn));
    need_wake = pending_adopts_.size () == 1 && pending_inboxes_.empty ();
  }
  if (need_wake)
    wake ();
  return id;
}

bool
Reactor::send_text (guint64 id, std::string_view text)
{
  return send (id, static_cast<Opcode> (ws::Opcode::Text), bytes_of (text));
}

bool
Reactor::send_binary (guint64 id, std::span<const uint8_t> data)
{
  return send (id, static_cast<Opcode> (ws::Opcode::Binary), data);
}

bool
Reactor::send (guint64 id, Opcode opcode, std::span<const uint8_t> payload)
{
  Connection *conn = nullptr;
  bool need_wake = false, queued = false, accepted = false;
  {
    std::lock_guard lock (mutex_);
    auto found = connections_.find (id);
    if (found == connections_.end () || !found->second->accepting)
      return false;
    conn = found->second.get ();
    if (!on_reactor_thread ()) {
      // Another thread: into the inbox, for the reactor to write.
      if (conn->inbox.size () + payload.size () > limits_.max_send_queue_bytes) {
        conn->accepting = false;
        conn->overflowed = true;
      } else {
        ws::append_frame (conn->inbox, static_cast<ws::Opcode> (opcode), payload);
        counters_.messages_out.fetch_add (1, std::memory_order_relaxed);
      }
      if (!conn->inbox_listed) {
        conn->inbox_listed = true;
        pending_inboxes_.push_back (conn);
        need_wake = pending_inboxes_.size () == 1 && pending_adopts_.empty ();
      }
      accepted = !conn->overflowed;
      queued = true;
    }
  }
  if (queued) {
    if (need_wake)
      wake ();
    return accepted;
  }
  // The reactor thread itself (a Peer callback): the connection cannot go
  // away under us, and nothing needs the lock.
  if (conn->state != Connection::State::kOpen)
    return false;
  std::array<uint8_t, 10> header;
  const size_t header_size =
      ws::encode_frame_header (header, static_cast<ws::Opcode> (opcode), payload.size ());
  if (!queue_frame (conn, { header.data (), header_size }, payload))
    return false;
  counters_.messages_out.fetch_add (1, std::memory_order_relaxed);
  return true;
}

void
Reactor::close (guint64 id, uint16_t code, std::string_view reason)
{
  g_return_if_fail (ws::is_valid_close_code (code));
  bool need_wake = false;
  {
    std::lock_guard lock (mutex_);
    auto found = connections_.find (id);
    if (found == connections_.end () || !found->second->accepting)
      return;
    Connection *conn = found->second.get ();
    conn->accepting = false;
    conn->close_requested = true;
    conn->requested_code = code;
    conn->requested_reason.assign (reason);
    if (!conn->inbox_listed) {
      conn->inbox_listed = true;
      pending_inboxes_.push_back (conn);
      need_wake = pending_inboxes_.size () == 1 && pending_adopts_.empty ();
    }
  }
  if (need_wake)
    wake ();
}

void
Reactor::stop ()
{
  g_return_if_fail (!on_reactor_thread ());
  std::unique_lock lock (mutex_);
  stopping_ = true;
  lock.unlock ();
  wake ();
  lock.lock ();
  all_closed_.wait (lock, [this] { return connections_.empty (); });
}

size_t
Reactor::connections () const
{
  std::lock_guard lock (mutex_);
  return connections_.size ();
}

Reactor::Stats
Reactor::stats () const
{
  Stats stats;
  stats.messages_in = counters_.messages_in.load (std::memory_order_relaxed);
  stats.bytes_in = counters_.bytes_in.load (std::memory_order_relaxed);
  stats.messages_out = counters_.messages_out.load (std::memory_order_relaxed);
  stats.protocol_errors = counters_.protocol_errors.load (std::memory_order_relaxed);
  stats.idle_timeouts = counters_.idle_timeouts.load (std::memory_order_relaxed);
  stats.overflows = counters_.overflows.load (std::memory_order_relaxed);
  return stats;
}

// ---- The reactor thread ----

void
Reactor::run ()
{
  struct epoll_event events[kMaxEvents];
  const gint64 tick_us = tick_ms (limits_) * 1000;
  gint64 next_tick_us = g_get_monotonic_time () + tick_us;
  for (;;) {
    const gint64 wait_ms =
        std::max<gint64> (0, (next_tick_us - g_get_monotonic_time () + 999) / 1000);
    const int ready = epoll_wait (epoll_fd_, events, kMaxEvents, static_cast<int> (wait_ms));
    if (ready < 0 && errno != EINTR)
      g_error ("reactor: epoll_wait failed: %s", g_strerror (errno));
    for (int i = 0; i < ready; i++) {
      auto *conn = static_cast<Connection *> (events[i].data.ptr);
      if (conn == nullptr) {
        handle_wakeup ();
        continue;
      }
      if (conn->state != Connection::State::kDone
          && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        handle_readable (conn);
      if (conn->state != Connection::State::kDone && (events[i].events & EPOLLOUT))
        handle_writable (conn);
    }
    if (g_get_monotonic_time () >= next_tick_us) {
      check_timers ();
      next_tick_us = g_get_monotonic_time () + tick_us;
    }
    // Finishing may run Peer callbacks that queue more: loop until calm.
    while (!finishing_.empty ()) {
      std::vector<Connection *> batch;
      batch.swap (finishing_);
      for (Connection *conn : batch)
        finish (conn);
    }
    std::lock_guard lock (mutex_);
    if (quit_ && connections_.empty ())
      return;
  }
}

void
Reactor::handle_wakeup ()
{
  uint64_t count;
  if (read (wake_fd_, &count, sizeof count) < 0 && errno != EAGAIN)
    g_critical ("reactor: cannot read the eventfd: %s", g_strerror (errno));

  std::vector<Connection *> &adopts = adopts_scratch_, &inboxes = inboxes_scratch_;
  bool close_all = false;
  {
    std::lock_guard lock (mutex_);
    adopts.swap (pending_adopts_);
    inboxes.swap (pending_inboxes_);
    for (Connection *conn : inboxes) {
      conn->inbox_listed = false;
      if (conn->state == Connection::State::kOpen && !conn->overflowed) {
        if (conn->backlog_size () == 0) {  // the usual case: no copy
          conn->backlog.swap (conn->inbox);
          conn->backlog_offset = 0;
        } else {
          conn->backlog.append (conn->inbox);
        }
      }
      conn->inbox.clear ();
    }
    if (stopping_ && !stop_handled_) {
      stop_handled_ = true;
      close_all = true;
    }
  }
  for (Connection *conn : adopts)
    register_connection (conn);
  for (Connection *conn : inboxes) {
    if (conn->state == Connection::State::kDone)
      continue;
    bool overflowed, close_requested;
    uint16_t code;
    std::string reason;
    {
      std::lock_guard lock (mutex_);
      overflowed = conn->overflowed;
      close_requested = std::exchange (conn->close_requested, false);
      code = conn->requested_code;
      reason = std::move (conn->requested_reason);
    }
    if (overflowed || conn->backlog_size () > limits_.max_send_queue_bytes) {
      counters_.overflows.fetch_add (1, std::memory_order_relaxed);
      abort_connection (conn, ws::close_code::kPolicyViolation, "client not reading");
    } else if (flush (conn) && close_requested) {
      start_close (conn, code, reason);
    }
  }
  adopts.clear ();
  inboxes.clear ();
  if (close_all) {
    for (Connection *conn : snapshot_connections ())
      if (conn->registered)
        start_close (conn, ws::close_code::kGoingAway, "going away");
  }
}

std::vector<Reactor::Connection *> &
Reactor::snapshot_connections ()
{
  all_scratch_.clear ();
  std::lock_guard lock (mutex_);
  for (auto &entry : connections_)
    all_scratch_.push_back (entry.second.get ());
  return all_scratch_;
}

void
Reactor::register_connection (Connection *conn)
{
  conn->last_read_us = g_get_monotonic_time ();
  if (stop_handled_) {
    // Adopted after stop(): a Close if the socket takes it, then gone.
    std::string frame;
    ws::append_close (frame, ws::close_code::kGoingAway, "going away");
    queue_frame (conn, bytes_of (frame), {});
    abort_connection (conn, ws::close_code::kGoingAway, "going away");
    return;
  }
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = conn;
  if (epoll_ctl (epoll_fd_, EPOLL_CTL_ADD, conn->fd, &event) != 0) {
    abort_connection (conn, ws::close_code::kInternalError, g_strerror (errno));
    return;
  }
  conn->registered = true;
  if (conn->backlog_size () > 0)  // a Peer wrote to it before it was registered
    watch_output (conn, true);

  // libsoup may have read the client's first frames along with its request:
  // they wait in its SoupFilterInputStream buffer, ahead of anything still in
  // the socket. Reads through the stream return that buffer first; a short
  // read means it is empty, and epoll takes over the socket.
  GInputStream *input = g_io_stream_get_input_stream (conn->stream.get ());
  if (!G_IS_POLLABLE_INPUT_STREAM (input)
      || !g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input)))
    return;
  while (conn->state != Connection::State::kDone) {
    g_autoptr (GError) error = nullptr;
    const gssize got = g_pollable_input_stream_read_nonblocking (
        G_POLLABLE_INPUT_STREAM (input), read_buffer_.data (), read_buffer_.size (), nullptr,
        &error);
    if (got > 0) {
      feed (conn, read_buffer_.data (), static_cast<size_t> (got));
      if (static_cast<size_t> (got) < read_buffer_.size ())
        return;
    } else if (got == 0) {
      abort_connection (conn, kAbnormalClosure, "connection lost");
    } else {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        abort_connection (conn, kAbnormalClosure, error->message);
      return;
    }
  }
}

void
Reactor::handle_readable (Connection *conn)
{
  const ssize_t got = recv (conn->fd, read_buffer_.data (), read_buffer_.size (), 0);
  if (got > 0) {
    conn->last_read_us = g_get_monotonic_time ();
    feed (conn, read_buffer_.data (), static_cast<size_t> (got));
  } else if (got == 0) {
    if (conn->state == Connection::State::kClosing)
      finish_later (conn);  // the peer hung up after our Close: our code stands
    else
      abort_connection (conn, kAbnormalClosure, "connection lost");
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    abort_connection (conn, kAbnormalClosure, g_strerror (errno));
  }
}

// @data is read_buffer_ (or a slice of it): whole data frames are unmasked in
// place there and handed to the Peer from there, with no copy; each message is
// consumed before the next read into that buffer.
void
Reactor::feed (Connection *conn, uint8_t *data, size_t size)
{
  while (size > 0 && conn->state != Connection::State::kDone) {
    if (conn->decoder.failed () || conn->decoder.closed ())
      return;  // nothing more to read from this peer: drained until EOF
    const auto result = conn->decoder.feed_in_place (data, size);
    data += result.consumed;
    size -= result.consumed;
    if (result.status == ws::FrameDecoder::FeedStatus::Failed) {
      counters_.protocol_errors.fetch_add (1, std::memory_order_relaxed);
      start_close (conn, conn->decoder.error ().close_code, conn->decoder.error ().reason);
      return;
    }
    if (result.status != ws::FrameDecoder::FeedStatus::Message)
      continue;
    const ws::Message &message = conn->decoder.message ();
    const bool open = conn->state == Connection::State::kOpen;
    switch (message.type) {
      case ws::MessageType::Text:
      case ws::MessageType::Binary:
        if (!open)
          break;  // after our Close the peer's data no longer counts
        counters_.messages_in.fetch_add (1, std::memory_order_relaxed);
        counters_.bytes_in.fetch_add (message.payload.size (), std::memory_order_relaxed);
        conn->peer->on_message (message.type == ws::MessageType::Text, message.payload.data (),
            message.payload.size ());
        break;
      case ws::MessageType::Ping:
        if (open) {
          std::array<uint8_t, 10> header;
          const size_t header_size =
              ws::encode_frame_header (header, ws::Opcode::Pong, message.payload.size ());
          queue_frame (conn, { header.data (), header_size }, message.payload);
        }
        break;
      case ws::MessageType::Pong:
        break;
      case ws::MessageType::Close:
        conn->peer_closed = true;
        if (open) {
          // Echo the peer's code (RFC 6455 5.5.1) and report it.
          const uint16_t code = message.close_code;
          const std::string reason (message.text ());
          std::string frame;
          if (code == ws::close_code::kNoStatus)
            ws::append_close_empty (frame);
          else
            ws::append_close (frame, code, reason);
          conn->state = Connection::State::kClosing;
          conn->close_code = code;
          conn->close_reason = reason;
          conn->close_deadline_us = g_get_monotonic_time () + kCloseGraceMs * 1000;
          {
            std::lock_guard lock (mutex_);
            conn->accepting = false;
          }
          if (!queue_frame (conn, bytes_of (frame), {}))
            return;
        }
        if (conn->backlog_size () == 0)
          finish_later (conn);
        return;
    }
  }
}

void
Reactor::handle_writable (Connection *conn)
{
  flush (conn);
}

// Writes @header + @payload now if nothing is waiting, else queues them.
// False when the connection failed (overflow or a dead socket).
bool
Reactor::queue_frame (Connection *conn, std::span<const uint8_t> header,
    std::span<const uint8_t> payload)
{
  size_t written = 0;
  if (conn->backlog_size () == 0) {
    struct iovec parts[2] = {
      { const_cast<uint8_t *> (header.data ()), header.size () },
      { const_cast<uint8_t *> (payload.data ()), payload.size () },
    };
    struct msghdr message = {};
    message.msg_iov = parts;
    message.msg_iovlen = payload.empty () ? 1 : 2;
    const ssize_t sent = sendmsg (conn->fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      abort_connection (conn, kAbnormalClosure, g_strerror (errno));
      return false;
    }
    written = sent > 0 ? static_cast<size_t> (sent) : 0;
    if (written == header.size () + payload.size ())
      return true;
    conn->backlog.clear ();
    conn->backlog_offset = 0;
  }
  const auto *header_chars = reinterpret_cast<const char *> (header.data ());
  const auto *payload_chars = reinterpret_cast<const char *> (payload.data ());
  if (written < header.size ()) {
    conn->backlog.append (header_chars + written, header.size () - written);
    conn->backlog.append (payload_chars, payload.size ());
  } else {
    written -= header.size ();
    conn->backlog.append (payload_chars + written, payload.size () - written);
  }
  if (conn->backlog_size () > limits_.max_send_queue_bytes) {
    counters_.overflows.fetch_add (1, std::memory_order_relaxed);
    abort_connection (conn, ws::close_code::kPolicyViolation, "client not reading");
    return false;
  }
  watch_output (conn, true);
  return true;
}

// Writes the backlog until it is empty or the socket is full. False when the
// connection failed.
bool
Reactor::flush (Connection *conn)
{
  while (conn->backlog_size () > 0) {
    const ssize_t sent = ::send (conn->fd, conn->backlog.data () + conn->backlog_offset,
        conn->backlog_size (), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (conn->backlog_offset >= kCompactAfterBytes) {
          conn->backlog.erase (0, conn->backlog_offset);
          conn->backlog_offset = 0;
        }
        watch_output (conn, true);
        return true;
      }
      abort_connection (conn, kAbnormalClosure, g_strerror (errno));
      return false;
    }
    conn->backlog_offset += static_cast<size_t> (sent);
  }
  conn->backlog.clear ();
  conn->backlog_offset = 0;
  watch_output (conn, false);
  if (conn->state == Connection::State::kClosing) {
    if (conn->peer_closed) {
      finish_later (conn);
    } else if (conn->decoder.failed () && !conn->write_shut) {
      // The peer's Close cannot be read any more: let it see EOF and hang up.
      shutdown (conn->fd, SHUT_WR);
      conn->write_shut = true;
    }
  }
  return true;
}

void
Reactor::watch_output (Connection *conn, bool watch)
{
  if (conn->watching_output == watch || !conn->registered)
    return;
  struct epoll_event event = {};
  event.events = watch ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  event.data.ptr = conn;
  if (epoll_ctl (epoll_fd_, EPOLL_CTL_MOD, conn->fd, &event) != 0) {
    abort_connection (conn, ws::close_code::kInternalError, g_strerror (errno));
    return;
  }
  conn->watching_output = watch;
}

void
Reactor::check_timers ()
{
  const gint64 now = g_get_monotonic_time ();
  const gint64 idle_us = gint64 (limits_.idle_timeout_ms) * 1000;
  for (Connection *conn : snapshot_connections ()) {
    if (!conn->registered || conn->state == Connection::State::kDone)
      continue;
    if (conn->state == Connection::State::kClosing && now >= conn->close_deadline_us) {
      finish_later (conn);
    } else if (conn->state == Connection::State::kOpen && idle_us > 0
        && now - conn->last_read_us >= idle_us) {
      counters_.idle_timeouts.fetch_add (1, std::memory_order_relaxed);
      start_close (conn, ws::close_code::kPolicyViolation, "idle timeout");
    }
  }
}

// Sends our Close; the socket closes on the peer's Close, EOF or the grace.
void
Reactor::start_close (Connection *conn, uint16_t code, std::string_view reason)
{
  if (conn->state != Connection::State::kOpen)
    return;
  {
    std::lock_guard lock (mutex_);
    conn->accepting = false;
  }
  conn->state = Connection::State::kClosing;
  conn->close_code = code;
  conn->close_reason.assign (reason);
  conn->close_deadline_us = g_get_monotonic_time () + kCloseGraceMs * 1000;
  std::string frame;
  ws::append_close (frame, code, reason);
  if (queue_frame (conn, bytes_of (frame), {}))
    flush (conn);  // an empty backlog: shuts the write side after a failed decode
}

// Closes without a Close handshake (the socket is dead or not being read).
void
Reactor::abort_connection (Connection *conn, uint16_t code, std::string_view reason)
{
  if (conn->state == Connection::State::kDone)
    return;
  {
    std::lock_guard lock (mutex_);
    conn->accepting = false;
  }
  if (conn->state == Connection::State::kOpen) {  // else the Close we sent stands
    conn->close_code = code;
    conn->close_reason.assign (reason);
  }
  finish_later (conn);
}

void
Reactor::finish_later (Connection *conn)
{
  if (conn->state == Connection::State::kDone)
    return;
  conn->state = Connection::State::kDone;
  finishing_.push_back (conn);
}

void
Reactor::finish (Connection *conn)
{
  if (conn->registered && epoll_ctl (epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr) != 0)
    g_critical ("reactor: cannot unwatch socket %d: %s", conn->fd, g_strerror (errno));
  g_io_stream_close (conn->stream.get (), nullptr, nullptr);
  std::shared_ptr<Peer> peer = std::move (conn->peer);
  peer->on_closed (conn->close_code, conn->close_reason);
  peer.reset ();
  std::lock_guard lock (mutex_);
  if (conn->inbox_listed)
    std::erase (pending_inboxes_, conn);
  connections_.erase (conn->id);
  if (connections_.empty ())
    all_closed_.notify_all ();
}

}  // namespace callstreamd
