#include "load_websocket.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/websocket_frames.h"
#include "protocol/websocket_handshake.h"

namespace ws = callstream::websocket;

namespace callstream_load {

LoadWebSocket::~LoadWebSocket ()
{
  abandon ();
}

bool
LoadWebSocket::start (int epoll_fd, uint64_t tag, const std::string &host, guint port,
    const std::string &path)
{
  epoll_fd_ = epoll_fd;
  tag_ = tag;
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host.c_str ());
  if (address == nullptr) {
    fail ("not an address: " + host);
    return false;
  }
  g_autoptr (GSocketAddress) socket_address = g_inet_socket_address_new (address,
      static_cast<guint16> (port));
  sockaddr_storage native {};
  if (!g_socket_address_to_native (socket_address, &native, sizeof native, nullptr)) {
    fail ("cannot use the address " + host);
    return false;
  }
  const int family = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? AF_INET6
                                                                                  : AF_INET;
  fd_ = socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail (std::string ("socket: ") + g_strerror (errno));
    return false;
  }
  // Every frame is its own write: no waiting for more to fill a segment.
  const int one = 1;
  setsockopt (fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  key_ = ws::new_client_key ();
  request_ = ws::client_request ((family == AF_INET6 ? "[" + host + "]" : host) + ":"
      + std::to_string (port), path, key_);
  mask_seed_ = g_random_int () | 1u;

  state_ = State::kConnecting;
  epoll_event event {};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.u64 = tag_;
  writing_ = true;
  if (epoll_ctl (epoll_fd_, EPOLL_CTL_ADD, fd_, &event) != 0) {
    fail (std::string ("epoll_ctl: ") + g_strerror (errno));
    return false;
  }
  const socklen_t length = family == AF_INET6 ? sizeof (sockaddr_in6) : sizeof (sockaddr_in);
  if (connect (fd_, reinterpret_cast<sockaddr *> (&native), length) != 0
      && errno != EINPROGRESS) {
    fail (std::string ("connect: ") + g_strerror (errno));
    return true;  // failed, and on_ready will not be called: the caller looks at state()
  }
  return true;
}

bool
LoadWebSocket::on_ready (uint32_t events)
{
  const State before = state_;
  if (state_ == State::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
      finish_connect ();
  } else if (state_ == State::kHandshake) {
    if (events & EPOLLOUT)
      flush ();
    if (state_ == State::kHandshake && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
      read_handshake ();
  } else if (state_ == State::kOpen || state_ == State::kClosing) {
    if (events & EPOLLOUT)
      flush ();
    if ((state_ == State::kOpen || state_ == State::kClosing)
        && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
      read_frames ();
  }
  return state_ != before;
}

void
LoadWebSocket::finish_connect ()
{
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt (fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
    error = errno;
  if (error != 0) {
    fail (std::string ("connect: ") + g_strerror (error));
    return;
  }
  state_ = State::kHandshake;
  out_.assign (request_.begin (), request_.end ());
  out_sent_ = 0;
  flush ();
}

void
LoadWebSocket::read_handshake ()
{
  uint8_t buffer[4096];
  for (;;) {
    const ssize_t n = recv (fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      fail (n == 0 ? "the server closed the connection during the handshake"
                   : std::string ("recv: ") + g_strerror (errno));
      return;
    }
    in_.insert (in_.end (), buffer, buffer + n);
    const ws::HandshakeAnswer answer = ws::read_handshake_answer (
        std::string_view (reinterpret_cast<const char *> (in_.data ()), in_.size ()), key_);
    if (answer.status == ws::HandshakeAnswer::Status::NeedMore)
      continue;
    if (answer.status == ws::HandshakeAnswer::Status::Refused) {
      fail ("handshake answered " + std::to_string (answer.http_status) + " " + answer.phrase);
      return;
    }
    if (answer.status == ws::HandshakeAnswer::Status::Invalid) {
      fail (answer.reason);
      return;
    }
    const size_t header_size = answer.header_size;
    in_.erase (in_.begin (), in_.begin () + static_cast<std::ptrdiff_t> (header_size));
    state_ = State::kOpen;
    if (!in_.empty ())
      read_frames ();
    return;
  }
}

void
LoadWebSocket::read_frames ()
{
  uint8_t buffer[4096];
  bool eof = false;
  for (;;) {
    const ssize_t n = recv (fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      eof = true;
      break;
    }
    in_.insert (in_.end (), buffer, buffer + n);
  }
  // Server frames are unmasked (RFC 6455 5.1): a 2-byte header, then a 16-
  // or 64-bit length for payloads over 125 bytes.
  size_t at = 0;
  while (in_.size () - at >= 2) {
    const uint8_t opcode = in_[at] & 0x0f;
    uint64_t length = in_[at + 1] & 0x7f;
    size_t header = 2;
    if (length == 126) {
      if (in_.size () - at < 4)
        break;
      length = (static_cast<uint64_t> (in_[at + 2]) << 8) | in_[at + 3];
      header = 4;
    } else if (length == 127) {
      if (in_.size () - at < 10)
        break;
      length = 0;
      for (int i = 0; i < 8; i++)
        length = (length << 8) | in_[at + 2 + i];
      header = 10;
    }
    if (in_.size () - at - header < length)
      break;
    const uint8_t *payload = in_.data () + at + header;
    if (opcode == static_cast<uint8_t> (ws::Opcode::Close)) {
      close_code_ = length >= 2 ? static_cast<uint16_t> ((payload[0] << 8) | payload[1])
                                : ws::close_code::kNoStatus;
      if (state_ == State::kOpen) {
        // Answer the server's Close as RFC 6455 5.5.1 asks, then we are done.
        queue_frame (static_cast<uint8_t> (ws::Opcode::Close),
            { { reinterpret_cast<const char *> (payload), length >= 2 ? 2u : 0u } });
        flush ();
      }
      end_socket (State::kClosed);
      return;
    }
    const bool fin = (in_[at] & 0x80) != 0;
    if (on_text_ && (opcode == static_cast<uint8_t> (ws::Opcode::Text)
            || opcode == static_cast<uint8_t> (ws::Opcode::Continuation))) {
      const std::string_view text (reinterpret_cast<const char *> (payload), length);
      if (fin && message_.empty () && opcode == static_cast<uint8_t> (ws::Opcode::Text)) {
        on_text_ (text);
      } else {
        message_ += text;
        if (fin) {
          on_text_ (message_);
          message_.clear ();
        }
      }
      if (fd_ < 0)  // the handler gave up on the socket
        return;
    }
    if (opcode == static_cast<uint8_t> (ws::Opcode::Ping) && state_ == State::kOpen) {
      queue_frame (static_cast<uint8_t> (ws::Opcode::Pong),
          { { reinterpret_cast<const char *> (payload), length } });
      flush ();
      if (fd_ < 0)
        return;
    }
    at += header + length;
  }
  in_.erase (in_.begin (), in_.begin () + static_cast<std::ptrdiff_t> (at));
  if (eof) {
    if (state_ == State::kClosing)
      end_socket (State::kClosed);
    else
      fail ("the server ended the connection without a Close");
  }
}

void
LoadWebSocket::queue_frame (uint8_t opcode, std::initializer_list<std::string_view> parts)
{
  // The mask only has to differ between frames here (loopback load, no
  // proxy to confuse); a xorshift is enough and costs nothing.
  mask_seed_ ^= mask_seed_ << 13;
  mask_seed_ ^= mask_seed_ >> 17;
  mask_seed_ ^= mask_seed_ << 5;
  size_t size = 0;
  for (std::string_view part : parts)
    size += part.size ();
  if (out_sent_ == out_.size ()) {
    out_.clear ();
    out_sent_ = 0;
  }
  std::array<uint8_t, 10> header;
  const size_t header_size = ws::encode_frame_header (header, static_cast<ws::Opcode> (opcode),
      size);
  header[1] |= 0x80;  // masked, as every client frame is (RFC 6455 5.3)
  const size_t at = out_.size ();
  out_.resize (at + header_size + sizeof mask_seed_ + size);
  uint8_t *frame = out_.data () + at;
  std::memcpy (frame, header.data (), header_size);
  std::memcpy (frame + header_size, &mask_seed_, sizeof mask_seed_);
  uint8_t *payload = frame + header_size + sizeof mask_seed_;
  for (std::string_view part : parts) {
    std::memcpy (payload, part.data (), part.size ());
    payload += part.size ();
  }
  // Masked in place 32 bytes a step, the key being the 4-byte mask twice.
  payload -= size;
  const uint64_t key = (uint64_t{ mask_seed_ } << 32) | mask_seed_;
  size_t i = 0;
  for (; i + 4 * sizeof key <= size; i += 4 * sizeof key) {
    uint64_t words[4];
    std::memcpy (words, payload + i, sizeof words);
    for (uint64_t &word : words)
      word ^= key;
    std::memcpy (payload + i, words, sizeof words);
  }
  for (; i + sizeof key <= size; i += sizeof key) {
    uint64_t word;
    std::memcpy (&word, payload + i, sizeof word);
    word ^= key;
    std::memcpy (payload + i, &word, sizeof word);
  }
  uint8_t key_bytes[sizeof key];
  std::memcpy (key_bytes, &key, sizeof key);
  for (; i < size; i++)
    payload[i] ^= key_bytes[i & 7];
}

bool
LoadWebSocket::send_text (std::initializer_list<std::string_view> parts)
{
  if (state_ != State::kOpen)
    return false;
  queue_frame (static_cast<uint8_t> (ws::Opcode::Text), parts);
  return flush ();
}

void
LoadWebSocket::close (uint16_t code)
{
  if (state_ != State::kOpen)
    return;
  const char body[2] = { static_cast<char> (code >> 8), static_cast<char> (code) };
  queue_frame (static_cast<uint8_t> (ws::Opcode::Close), { { body, sizeof body } });
  state_ = State::kClosing;
  flush ();
}

bool
LoadWebSocket::flush ()
{
  while (out_sent_ < out_.size ()) {
    const ssize_t n = send (fd_, out_.data () + out_sent_, out_.size () - out_sent_,
        MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_write (true);
      return true;
    }
    if (n < 0) {
      fail (std::string ("send: ") + g_strerror (errno));
      return false;
    }
    out_sent_ += static_cast<size_t> (n);
  }
  out_.clear ();
  out_sent_ = 0;
  want_write (false);
  return true;
}

void
LoadWebSocket::want_write (bool on)
{
  if (on == writing_ || fd_ < 0)
    return;
  epoll_event event {};
  event.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  event.data.u64 = tag_;
  epoll_ctl (epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
  writing_ = on;
}

void
LoadWebSocket::fail (const std::string &reason)
{
  if (error_.empty ())
    error_ = reason;
  end_socket (State::kFailed);
}

void
LoadWebSocket::end_socket (State state)
{
  state_ = state;
  if (fd_ >= 0) {
    if (epoll_fd_ >= 0)
      epoll_ctl (epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    ::close (fd_);
    fd_ = -1;
  }
  out_.clear ();
  out_sent_ = 0;
}

void
LoadWebSocket::abandon ()
{
  if (fd_ >= 0)
    end_socket (state_ == State::kOpen || state_ == State::kClosing ? State::kClosed
                                                                    : State::kFailed);
}

SocketSet::SocketSet (Handler handler) : handler_ (std::move (handler))
{
  fd_ = epoll_create1 (EPOLL_CLOEXEC);
  if (fd_ < 0) {
    error_ = std::string ("epoll_create1: ") + g_strerror (errno);
    return;
  }
  source_ = g_unix_fd_add_full (G_PRIORITY_HIGH, fd_, G_IO_IN, dispatch, this, nullptr);
}

SocketSet::~SocketSet ()
{
  if (source_ != 0)
    g_source_remove (source_);
  if (fd_ >= 0)
    ::close (fd_);
}

gboolean
SocketSet::dispatch (gint, GIOCondition, gpointer data)
{
  auto *self = static_cast<SocketSet *> (data);
  epoll_event events[256];
  const int n = epoll_wait (self->fd_, events, G_N_ELEMENTS (events), 0);
  for (int i = 0; i < n; i++)
    self->handler_ (events[i].data.u64, events[i].events);
  return G_SOURCE_CONTINUE;
}

}  // namespace callstream_load
