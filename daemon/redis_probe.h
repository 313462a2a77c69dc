// Whether Redis answers, for /health and the redis_reachable gauge: a PING
// (after AUTH / SELECT when the URL has them) on a fresh connection every
// few seconds, asynchronously on the main context, so a request to /health
// never waits on Redis. The media path has its own connection (the
// redisstreamsink elements'); this one only probes.
#pragma once

#include <gio/gio.h>

#include <atomic>
#include <string>

namespace callstreamd {

class RedisProbe {
 public:
  // @url: a redis:// or unix:// URL that parse_redis_url accepts.
  RedisProbe (std::string url, guint interval_ms);
  ~RedisProbe ();
  RedisProbe (const RedisProbe &) = delete;
  RedisProbe &operator= (const RedisProbe &) = delete;

  // Probes now and then every interval, on the thread-default main context.
  void start ();
  bool reachable () const { return reachable_.load (); }
  // Completed probes, for tests that wait for a fresh answer.
  guint64 probes () const { return probes_.load (); }

 private:
  struct Attempt;
  void probe ();
  void finish (bool reachable);

  std::string url_;
  guint interval_ms_;
  guint timer_ = 0;
  bool in_flight_ = false;
  GCancellable *cancellable_ = nullptr;
  std::atomic<bool> reachable_ { false };
  std::atomic<guint64> probes_ { 0 };
};

}  // namespace callstreamd
