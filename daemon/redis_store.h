// The daemon's own small Redis client, for webhook state (call records, the
// audio cache): one synchronous hiredis connection owned by one worker
// thread, so a slow Redis or a 20 MB value never blocks the main loop.
//
// Threads: commands are queued from any thread; the worker sends them in
// order on its one connection (so two commands queued one after the other
// are answered in that order) and each callback runs on the GMainContext
// that was thread-default when the store was created. Destroy the store on
// that context's thread: callbacks not yet run are then dropped.
//
// When the connection drops the worker reconnects, at once for the next
// command and otherwise with a backoff (100 ms doubling up to
// max_backoff_ms); while Redis cannot be reached, commands fail at once
// with RedisReply::Type::kUnavailable instead of waiting.
//
// The media path has its own client (the redisstreamsink elements').
#pragma once

#include <glib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/redis_entry.h"

struct redisContext;

namespace callstreamd {

// One argument of a command: its own bytes, or shared bytes (a 20 MB value
// is not copied on its way to the worker). Binary-safe.
class RedisArg {
 public:
  RedisArg (std::string bytes) : own_ (std::move (bytes)) {}
  RedisArg (const char *text) : own_ (text) {}
  RedisArg (std::string_view text) : own_ (text) {}
  RedisArg (std::shared_ptr<const std::string> bytes) : shared_ (std::move (bytes)) {}

  std::string_view view () const { return shared_ ? std::string_view (*shared_) : own_; }

 private:
  std::string own_;
  std::shared_ptr<const std::string> shared_;
};

using RedisArgv = std::vector<RedisArg>;

// A reply copied out of hiredis, so it may cross threads.
struct RedisReply {
  enum class Type {
    kUnavailable,  // no answer: Redis could not be reached (str says why)
    kError,        // Redis answered with an error (str)
    kNil,
    kStatus,
    kString,
    kInteger,
    kArray,
  };

  Type type = Type::kUnavailable;
  std::string str;  // kUnavailable, kError, kStatus, kString
  long long integer = 0;  // kInteger
  std::vector<RedisReply> elements;  // kArray

  // Redis answered, and not with an error.
  bool ok () const { return type != Type::kUnavailable && type != Type::kError; }
  // "why" for a failed reply: the error text, with "Redis unreachable: " in
  // front when Redis never answered.
  std::string describe_failure () const;
};

struct RedisStoreOptions {
  guint connect_timeout_ms = 2000;
  guint command_timeout_ms = 30000;  // per reply; large values take a while
  guint max_backoff_ms = 2000;
  guint idle_ping_ms = 5000;  // PING an idle connection, so reachable() stays true to fact
};

class RedisStore {
 public:
  using Callback = std::function<void (RedisReply reply)>;
  using PipelineCallback = std::function<void (std::vector<RedisReply> replies)>;

  // @url: redis://[[user]:password@]host[:port][/db] or
  // unix://[[user]:password@]/path.sock[?db=N]. Null, with *error naming what
  // is wrong with the URL, when it cannot be used. Starts the worker, which
  // connects at once.
  static std::unique_ptr<RedisStore> open (std::string_view url, std::string *error,
      RedisStoreOptions options = {});
  ~RedisStore ();
  RedisStore (const RedisStore &) = delete;
  RedisStore &operator= (const RedisStore &) = delete;

  // One command; @done (may be empty) runs later on the store's context.
  void command (RedisArgv argv, Callback done);
  // Several commands written together on the connection, answered in order
  // (one reply each). Wrap them in MULTI ... EXEC to make them atomic: EXEC's
  // reply is then the array of their replies.
  void pipeline (std::vector<RedisArgv> commands, PipelineCallback done);

  // The same, blocking the calling thread until the answer (for the CLI's
  // diagnose, which has no main loop; not for a running daemon's main thread).
  RedisReply command_sync (RedisArgv argv);
  std::vector<RedisReply> pipeline_sync (std::vector<RedisArgv> commands);

  // Whether the worker's connection is up (last known; any thread).
  bool reachable () const { return reachable_.load (); }
  // The URL with its password masked.
  const std::string &display_url () const { return display_url_; }

 private:
  struct Job;

  RedisStore (callstream::RedisUrl url, RedisStoreOptions options);
  void enqueue (std::unique_ptr<Job> job);
  void run_worker ();
  std::vector<RedisReply> execute (const std::vector<RedisArgv> &commands);
  bool connect (bool ignore_backoff);
  bool exchange (const std::vector<RedisArgv> &commands, std::vector<RedisReply> &replies);
  void disconnect (const std::string &reason);
  void note_failure (const std::string &reason);
  void deliver (std::unique_ptr<Job> job, std::vector<RedisReply> replies);

  const callstream::RedisUrl url_;
  const std::string display_url_;
  const RedisStoreOptions options_;
  GMainContext *context_;  // ref held; where callbacks run
  std::shared_ptr<bool> alive_;  // false once destroyed; read on context_ only

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Job>> jobs_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_

  // Worker thread only.
  redisContext *connection_ = nullptr;
  gint64 next_attempt_us_ = 0;  // monotonic; no connect before this without a command
  guint backoff_ms_ = 0;
  std::string last_failure_;  // logged once per change, not on every retry

  std::atomic<bool> reachable_ { false };
  std::thread worker_;
};

}  // namespace callstreamd
