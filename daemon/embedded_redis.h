// The daemon's own redis-server, for a machine where REDIS_URL is not set:
// started on a free loopback port with persistence off, in a directory of
// its own, and stopped by its pid when the daemon exits (it also dies with
// the daemon: PR_SET_PDEATHSIG).
#pragma once

#include <glib.h>

#include <string>

namespace callstreamd {

class EmbeddedRedis {
 public:
  EmbeddedRedis () = default;
  ~EmbeddedRedis ();
  EmbeddedRedis (const EmbeddedRedis &) = delete;
  EmbeddedRedis &operator= (const EmbeddedRedis &) = delete;

  // Starts redis-server (from the PATH) and waits until it answers PING.
  // FALSE with @error set when it is missing or does not come up.
  bool start (std::string *error);
  // SIGTERM to our own server, then wait for it; idempotent.
  void stop ();

  std::string url () const;
  GPid pid () const { return pid_; }

 private:
  GPid pid_ = 0;
  int port_ = 0;
  std::string dir_;
};

}  // namespace callstreamd
