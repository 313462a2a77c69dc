// The load generator's client WebSocket: a non-blocking socket driven by the
// generator's own epoll set, the RFC 6455 opening handshake (request built
// here, response parsed by libsoup's header parser, Sec-WebSocket-Accept
// checked with GLib's SHA-1), then masked frames written straight to the
// socket. Server frames: pings answered, a Close noticed, text messages
// (fragmented or not) handed to the message handler when one is set.
//
// Why not SoupWebsocketConnection: a thousand of them on one GMainContext
// cost the generator ~19 us of CPU per frame (GLib walks every connection's
// source on each wakeup; ARCHITECTURE.md measures the same on the server
// side), more than the daemon under test, so the run measured the generator
// competing for the 2 cores as much as the daemon. This costs the write()
// and little else.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace callstream_load {

// How long a call may take to connect and get its 101 before it counts failed.
constexpr gint64 kHandshakeTimeoutUs = 30 * G_USEC_PER_SEC;

class LoadWebSocket {
 public:
  enum class State : uint8_t {
    kIdle,
    kConnecting,  // TCP connect in progress
    kHandshake,   // request written, waiting for the 101
    kOpen,
    kClosing,     // our Close sent, waiting for the server's
    kClosed,      // the server's Close (or EOF) seen; socket closed
    kFailed,      // connect, handshake or I/O error; socket closed
  };

  LoadWebSocket () = default;
  ~LoadWebSocket ();
  LoadWebSocket (const LoadWebSocket &) = delete;
  LoadWebSocket &operator= (const LoadWebSocket &) = delete;

  // Starts a non-blocking connect to @host (a loopback address literal) on
  // @port and registers the socket in @epoll_fd with @tag as its user data.
  // False with error() set when the socket cannot even be created.
  bool start (int epoll_fd, uint64_t tag, const std::string &host, guint port,
      const std::string &path);

  // Called with each complete text message the server sends, on the thread
  // that calls on_ready().
  void set_message_handler (std::function<void (std::string_view)> handler)
  {
    on_text_ = std::move (handler);
  }

  // What epoll reported for the socket. Returns true when the state changed
  // (open, closed or failed) so the caller can look.
  bool on_ready (uint32_t events);

  // One masked text message; written at once as far as the socket takes it,
  // the rest kept in order until it is writable. False when not open.
  bool send_text (std::string_view text) { return send_text ({ text }); }
  // One text message made of @parts in order, masked while they are copied
  // into the socket's buffer: the caller need not join them first.
  bool send_text (std::initializer_list<std::string_view> parts);

  // Sends a Close with @code and waits for the server's.
  void close (uint16_t code);

  // Gives up on the socket (the run is over).
  void abandon ();

  State state () const { return state_; }
  bool open () const { return state_ == State::kOpen; }
  // The code of the server's Close, 1005 when it had none, 1006 when the
  // connection ended without one.
  uint16_t close_code () const { return close_code_; }
  const std::string &error () const { return error_; }

 private:
  void fail (const std::string &reason);
  void finish_connect ();
  void read_handshake ();
  void read_frames ();
  bool flush ();
  void want_write (bool on);
  void queue_frame (uint8_t opcode, std::initializer_list<std::string_view> parts);
  void end_socket (State state);

  int epoll_fd_ = -1;
  int fd_ = -1;
  uint64_t tag_ = 0;
  State state_ = State::kIdle;
  bool writing_ = false;  // EPOLLOUT registered
  uint16_t close_code_ = 1006;
  std::string error_;
  std::string key_;
  std::string request_;
  std::vector<uint8_t> out_;  // bytes not yet taken by the socket
  size_t out_sent_ = 0;
  std::vector<uint8_t> in_;   // response headers, then unparsed server frames
  std::function<void (std::string_view)> on_text_;
  std::string message_;       // a fragmented text message being gathered
  uint32_t mask_seed_ = 0;
};

// The epoll set the calls' sockets live in, watched from the thread-default
// main context: @handler gets the tag and events of each ready socket.
class SocketSet {
 public:
  using Handler = std::function<void (uint64_t tag, uint32_t events)>;

  explicit SocketSet (Handler handler);
  ~SocketSet ();
  SocketSet (const SocketSet &) = delete;
  SocketSet &operator= (const SocketSet &) = delete;

  // -1 when the set could not be made; error() says why.
  int fd () const { return fd_; }
  const std::string &error () const { return error_; }

 private:
  static gboolean dispatch (gint fd, GIOCondition condition, gpointer data);

  Handler handler_;
  int fd_ = -1;
  guint source_ = 0;
  std::string error_;
};

}  // namespace callstream_load
