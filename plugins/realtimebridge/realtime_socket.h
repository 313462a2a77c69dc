// The bridge's WebSocket client to the Realtime API (RFC 6455, no extension).
// The open sockets of a process share a few threads, each an epoll set: one
// per processor (at most kMaxLoops), each started with its first socket and
// ended with its last, so 300 calls cost 2 threads on 2 cores, not 300. The
// opening (name lookup, TCP, TLS for wss://, the HTTP upgrade) runs on a
// short-lived thread of its own per socket, with GIO; the socket's loop thread
// gives it up at the connect timeout or on stop(). Reading and the replies to
// the server (pongs, the Close) happen on the loop thread; send() masks and
// writes its frame on the caller's thread, in order, keeping what the socket
// does not take yet for the loop thread to finish. Frames given to send()
// while the socket is still connecting are kept and written once it opens.
//
// No GStreamer in here; the element gets text and failures through Handlers,
// which run on the shared socket thread: they must not block for long. A
// handler may stop() its own socket, never another one (two handlers
// stopping each other's sockets on two threads would wait for each other).
// A socket is used once: start() after stop() does nothing.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace callstream {

class RealtimeSocket {
 public:
  struct Handlers {
    std::function<void ()> opened;
    std::function<void (std::string_view text)> text;
    // One line, the server's own words when it gave some; never the key.
    // Called at most once; nothing is sent after it.
    std::function<void (const std::string &reason)> failed;
  };

  struct Options {
    std::string url;      // ws:// or wss://, without the model query
    std::string model;    // appended as ?model=
    std::string api_key;  // sent as "Authorization: Bearer"; empty: no header
    guint connect_timeout_ms = 10000;
    // Sent first once the socket opens, before anything given to send().
    std::vector<std::string> opening;
    // wss:// only: a PEM file of CA certificates a server's certificate may
    // also chain to when the system's trust refuses it. Empty: the system's.
    std::string tls_ca_file;
  };

  // The threads' name, as /proc/self/task/*/comm shows it.
  static constexpr const char *kThreadName = "realtime-socket";
  // The opening threads' name (one per socket while it connects).
  static constexpr const char *kConnectThreadName = "realtime-open";
  static constexpr size_t kMaxLoops = 8;

  explicit RealtimeSocket (Handlers handlers);
  ~RealtimeSocket ();  // stop()
  RealtimeSocket (const RealtimeSocket &) = delete;
  RealtimeSocket &operator= (const RealtimeSocket &) = delete;

  // Joins one of the shared threads (starting it if it has no socket) and
  // connects.
  void start (Options options);
  // Thread-safe; kept in order until the socket opens, then written at once
  // from the caller's thread (never blocking: what the socket does not take
  // waits for the loop thread). Dropped after a failure (the call is over).
  void send (std::string text);
  // Closes the socket (a normal close, no failure reported) without waiting
  // for the server's answer: the close finishes on the socket thread, which
  // ends once the last socket of the process is closed. Once this returns no
  // handler runs.
  void stop ();

  // Frames given to send() before the socket opened.
  guint64 queued_before_open () const;
  guint64 frames_sent () const;

  class Loop;         // the shared thread and its epoll set
  struct Link;        // what this and its connection share
  struct Connection;  // socket-thread state, outlives this until closed

 private:
  std::shared_ptr<Link> link_;
  std::shared_ptr<Loop> loop_;
};

}  // namespace callstream
