// The media reactor: one thread, one epoll set, thousands of WebSocket
// connections taken over from libsoup after the upgrade (websocket_upgrade.h).
// It reads RFC 6455 frames with protocol/websocket_frames.h, answers Pings,
// enforces the size, idle and send-queue limits, and hands each complete
// message to the connection's Peer. No GSource and no thread per connection.
//
// Thread model:
// - One reactor thread (started by the constructor) owns the epoll set, the
//   sockets, every decoder and write backlog, and runs every Peer callback:
//   a Peer must not block (hand work to its call's own threads).
// - adopt(), send_*() and close() work from any thread: other threads append
//   to a per-connection inbox under the one mutex and wake the reactor with
//   an eventfd. From a Peer callback, send_*() writes to the socket at once
//   when nothing is queued.
// - stop() and ~Reactor() block until every on_closed ran: never call them
//   from the reactor thread.
//
// Epoll is level-triggered: one recv() of up to 64 KiB per ready socket per
// turn, so a flooding client cannot starve the others. One read buffer for the
// thread; per connection only the decoder's message buffer and the backlog,
// both keeping their capacity (no allocation per message). EPOLLOUT is watched
// only while a backlog exists. Idle means nothing received for
// idle_timeout_ms (Pings and Pongs count): closed with 1008 "idle timeout",
// a policy of ours, told apart from our own shutdown (1001 "going away").
#pragma once

#include <gio/gio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace callstreamd {

class Reactor {
 public:
  struct Limits {
    size_t max_message_bytes = 256 * 1024;  // a bigger message closes with 1009
    guint idle_timeout_ms = 30000;          // 0: never
    size_t max_send_queue_bytes = 1 << 20;  // backlog + inbox; over it: 1008
  };

  // Reported only, never sent: the socket ended without a Close handshake.
  static constexpr uint16_t kAbnormalClosure = 1006;

  // The application's side of one connection. Held (shared_ptr) until
  // on_closed returns; both methods run on the reactor thread.
  class Peer {
   public:
    virtual ~Peer () = default;
    // One complete message, in order; @data is valid during the call only.
    // Text is valid UTF-8.
    virtual void on_message (bool is_text, const uint8_t *data, size_t size) = 0;
    // Once, after the socket is closed for any reason: the peer's Close (its
    // code, 1005 if it gave none), idle timeout (1008), protocol error
    // (1002/1007), message too big (1009), send queue overflow (1008 "client
    // not reading"; no Close frame can reach such a client), close() (its
    // code), stop() (1001), or the socket lost (1006). @code is what was
    // sent or received; @reason a short human text.
    virtual void on_closed (uint16_t code, const std::string &reason) = 0;
    // The id adopt() returned; set before any callback runs.
    guint64 connection_id () const { return id_; }

   private:
    friend class Reactor;
    guint64 id_ = 0;
  };

  struct Stats {
    guint64 messages_in = 0;   // data messages delivered to Peers
    guint64 bytes_in = 0;      // their payload bytes
    guint64 messages_out = 0;  // data messages accepted by send_*()
    guint64 protocol_errors = 0;  // connections failed with 1002/1007/1009
    guint64 idle_timeouts = 0;
    guint64 overflows = 0;     // connections closed for a full send queue
  };

  // Starts the reactor thread. Aborts if epoll or eventfd cannot be created
  // (out of file descriptors at startup).
  explicit Reactor (Limits limits);
  ~Reactor ();  // stop(), then ends the thread
  Reactor (const Reactor &) = delete;
  Reactor &operator= (const Reactor &) = delete;

  // Any thread: takes over the stolen connection (refs @stream and @socket;
  // @socket stays non-blocking) and returns its id, never 0. Bytes already
  // buffered in @stream's input stream are read first. After stop(), the
  // connection is closed at once with 1001.
  guint64 adopt (GIOStream *stream, GSocket *socket, std::shared_ptr<Peer> peer);

  // Any thread, never blocks: queues one message. False when the connection
  // is gone or closing, or when this message overflows its send queue (the
  // connection is then closed with 1008 "client not reading").
  bool send_text (guint64 id, std::string_view text);
  bool send_binary (guint64 id, std::span<const uint8_t> data);

  // Any thread: sends a Close with @code (1000, 1001, 1008, 1011 or 3000-4999)
  // and @reason, then closes the socket once the peer answers, or after
  // a grace period of kCloseGraceMs.
  void close (guint64 id, uint16_t code, std::string_view reason);

  // Any thread but the reactor's: closes every connection with 1001 "going
  // away" and returns once each Peer's on_closed ran. Idempotent.
  void stop ();

  size_t connections () const;
  Stats stats () const;

  static constexpr gint64 kCloseGraceMs = 1000;

 private:
  struct Connection;
  using Opcode = uint8_t;

  void run ();
  void wake ();
  void handle_wakeup ();
  void register_connection (Connection *conn);
  void handle_readable (Connection *conn);
  void feed (Connection *conn, uint8_t *data, size_t size);
  void handle_writable (Connection *conn);
  void check_timers ();
  bool send (guint64 id, Opcode opcode, std::span<const uint8_t> payload);
  bool queue_frame (Connection *conn, std::span<const uint8_t> header,
      std::span<const uint8_t> payload);
  bool flush (Connection *conn);
  void watch_output (Connection *conn, bool watch);
  void start_close (Connection *conn, uint16_t code, std::string_view reason);
  void abort_connection (Connection *conn, uint16_t code, std::string_view reason);
  void finish_later (Connection *conn);
  void finish (Connection *conn);
  std::vector<Connection *> &snapshot_connections ();
  bool on_reactor_thread () const;

  const Limits limits_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<uint8_t> read_buffer_;  // reactor thread only
  // Reactor thread only; kept to reuse their capacity.
  std::vector<Connection *> finishing_, adopts_scratch_, inboxes_scratch_, all_scratch_;

  // Guards the map, the pending lists, each Connection's inbox fields and the
  // stop flag. Never held while a Peer callback runs.
  mutable std::mutex mutex_;
  std::condition_variable all_closed_;
  std::unordered_map<guint64, std::unique_ptr<Connection>> connections_;
  std::vector<Connection *> pending_adopts_;
  std::vector<Connection *> pending_inboxes_;
  guint64 next_id_ = 1;
  bool stopping_ = false;      // stop() asked: close all, refuse new ones
  bool stop_handled_ = false;  // the reactor thread has started closing all
  bool quit_ = false;          // the destructor asks the thread to end

  struct Counters {
    std::atomic<guint64> messages_in { 0 }, bytes_in { 0 }, messages_out { 0 },
        protocol_errors { 0 }, idle_timeouts { 0 }, overflows { 0 };
  } counters_;

  std::thread thread_;
};

}  // namespace callstreamd
