// Redis for redisstreamsink: one connection per URL per process, driven by a
// thread of its own (hiredis async on a private GMainContext) and shared by
// every sink in the process. A sink's entries go through its own
// RedisStreamWriter: appending never waits on the network, entries are
// pipelined in order, and each is kept until Redis acknowledges it. A lost
// connection is made again with backoff (100 ms doubling to 5 s) and what was
// not acknowledged is sent again, in order: delivery is at-least-once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/redis_entry.h"

typedef struct _GMainContext GMainContext;
typedef struct _GMainLoop GMainLoop;
typedef struct _GThread GThread;
typedef struct _GSource GSource;
struct redisAsyncContext;

namespace callstream {

// hiredis writes with write(): a server gone away raises SIGPIPE, which by
// default ends the whole process (gst-launch, a test program, an application
// that never made a GSocket, which would have ignored it). Each thread that
// talks to Redis calls this first; the write then fails with EPIPE and the
// element reconnects as for any other lost connection.
void block_sigpipe_in_this_thread();


class RedisConnection;

// One XADD ready for the socket.
struct RedisQueuedEntry {
  std::string command;    // RESP, from format_*_entry()
  bool audio = false;     // an audio frame (else call_start / call_end)
  uint64_t audio_ns = 0;  // how much audio it holds
};

// Redis turned down the URL's credentials or database.
struct RedisRefusal {
  RedisHandshakeStep step;
  std::string message;    // Redis's own error reply
};

// What a short synchronous connection found (see probe_redis).
struct RedisProbe {
  enum class Result { kReady, kUnreachable, kRefused };
  Result result = Result::kReady;
  RedisRefusal refusal;   // kRefused
  std::string reason;     // kUnreachable: why, in one line
};

// Connects, authenticates and selects the database once, synchronously, each
// step bounded by @timeout: the way to tell a bad password from a server that
// is merely down before a sink starts.
RedisProbe probe_redis(const RedisUrl &url, std::chrono::milliseconds timeout);

// Told on the connection's thread; must not call back into the writer.
struct RedisWriterListener {
  // The credentials or database were refused (once per failed connection
  // episode). Entries wait: the connection keeps trying.
  std::function<void(const RedisRefusal &refusal)> refused;
  // Redis answered an entry with an error; the entry is dropped.
  std::function<void(const std::string &error, bool audio)> rejected;
};

// One sink's ordered queue on a shared connection.
class RedisStreamWriter
    : public std::enable_shared_from_this<RedisStreamWriter> {
 public:
  struct AppendResult {
    uint64_t dropped = 0;  // audio frames dropped to keep within the bound
    // An acknowledged entry's buffer, to format a later entry into: the
    // buffers go round instead of being allocated on one thread and freed
    // on the other. Often empty.
    std::string spare;
  };
  enum class WaitResult { kAcknowledged, kTimedOut, kCancelled };

  RedisStreamWriter(const RedisStreamWriter &) = delete;
  RedisStreamWriter &operator=(const RedisStreamWriter &) = delete;

  // Queues @entry after every earlier one and returns: the network thread
  // sends it within ~5 ms. When the audio not yet sent exceeds the writer's
  // bound, the oldest unsent frames are dropped (never call_start/call_end,
  // never the newest frame). The caller must hold the connection.
  AppendResult append(RedisQueuedEntry entry);
  // Sends what is queued now rather than at the next tick.
  void flush_now();
  // Blocks until every entry appended so far is acknowledged, @timeout
  // passes, or set_wait_cancelled(true) is called.
  WaitResult wait_acknowledged(std::chrono::milliseconds timeout);
  void set_wait_cancelled(bool cancelled);
  // No listener call after this returns (one already running may finish).
  void silence();

  uint64_t published() const { return published_; }  // frames acknowledged
  uint64_t pending() const { return pending_; }       // frames not yet
  uint64_t dropped() const { return dropped_; }       // frames given up
  uint64_t reconnects() const { return reconnects_; }
  uint64_t unacknowledged() const { return unacknowledged_; }  // any entry

 private:
  friend class RedisConnection;
  RedisStreamWriter(std::weak_ptr<RedisConnection> connection,
                    uint64_t max_unsent_ns, RedisWriterListener listener);

  // Connection thread only, each under mutex_.
  bool take_for_sending(std::vector<RedisQueuedEntry> &batch, size_t window);
  bool return_unsent(RedisQueuedEntry entry);
  void acknowledged(RedisQueuedEntry &entry, const std::string *error);
  void notify_refused(const RedisRefusal &refusal);

  const std::weak_ptr<RedisConnection> connection_;
  const uint64_t max_unsent_ns_;
  const RedisWriterListener listener_;
  std::atomic<bool> silenced_{false};

  std::mutex mutex_;  // never held while taking the connection's mutex
  std::condition_variable all_acknowledged_;
  std::deque<RedisQueuedEntry> unsent_;  // in order, oldest first
  uint64_t unsent_audio_ns_ = 0;
  bool in_send_list_ = false;   // the connection will look at unsent_
  bool wait_cancelled_ = false;
  std::atomic<bool> waiting_{false};  // wait_acknowledged() is blocked

  std::vector<std::string> spare_;  // buffers for append() to hand back

  // Connection thread only.
  size_t in_flight_ = 0;              // sent, reply not yet read
  std::vector<std::string> returned_;  // acknowledged, for spare_

  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> unacknowledged_{0};
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  // The process's connection for @url (made on first use; it lives while a
  // caller holds it). Must not be released on the connection's own thread.
  static std::shared_ptr<RedisConnection> get(const RedisUrl &url);
  ~RedisConnection();
  RedisConnection(const RedisConnection &) = delete;
  RedisConnection &operator=(const RedisConnection &) = delete;

  // @max_unsent_ns bounds the audio waiting to be sent (see append()).
  std::shared_ptr<RedisStreamWriter> create_writer(
      uint64_t max_unsent_ns, RedisWriterListener listener);

  // Connected, authenticated, answering PING.
  bool ready() const { return ready_; }
  // Why the latest attempt was refused, until one succeeds.
  std::optional<RedisRefusal> refusal() const;
  const RedisUrl &url() const { return url_; }

 private:
  struct InFlightEntry {
    std::shared_ptr<RedisStreamWriter> writer;
    RedisQueuedEntry entry;
  };
  enum class State { kIdle, kHandshaking, kReady };

  explicit RedisConnection(RedisUrl url);
  friend class RedisStreamWriter;
  // Any thread: @writer (may be null) has entries; flush soon or now.
  void submit(std::shared_ptr<RedisStreamWriter> writer, bool urgent);

  // Connection thread only.
  static void *run(void *connection);
  void connect();
  void connection_lost(const std::string &reason);
  void schedule_reconnect();
  void became_ready();
  void refused(RedisRefusal refusal);
  void flush();
  void send_ready_writers();
  void shutdown();
  static int on_flush_tick(void *connection);
  static int on_urgent_flush(void *connection);
  static int on_after_io(void *connection);
  static int on_reconnect_timer(void *connection);
  static int on_handshake_timeout(void *connection);
  static void on_connect(const redisAsyncContext *async, int status);
  static void on_disconnect(const redisAsyncContext *async, int status);
  static void on_handshake_reply(redisAsyncContext *async, void *reply,
                                 void *step);
  static void on_entry_reply(redisAsyncContext *async, void *reply,
                             void *unused);

  const RedisUrl url_;
  const std::vector<RedisHandshakeCommand> handshake_;
  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  GThread *thread_ = nullptr;
  std::atomic<bool> ready_{false};

  // Guarded by mutex_.
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<RedisStreamWriter>> submitted_;
  std::vector<std::weak_ptr<RedisStreamWriter>> writers_;
  std::optional<RedisRefusal> refusal_;
  bool flush_scheduled_ = false;
  bool urgent_scheduled_ = false;

  // Connection thread only.
  State state_ = State::kIdle;
  redisAsyncContext *async_ = nullptr;
  size_t handshake_left_ = 0;
  bool handshake_failed_ = false;
  bool ever_ready_ = false;
  bool shutting_down_ = false;
  unsigned backoff_ms_;
  GSource *reconnect_timer_ = nullptr;
  GSource *handshake_timer_ = nullptr;
  std::deque<InFlightEntry> in_flight_;  // in send order = reply order
  std::deque<std::shared_ptr<RedisStreamWriter>> ready_writers_;
  std::vector<RedisQueuedEntry> batch_;
};

}  // namespace callstream
