// The bridge's WebSocket client to the Realtime API. The sockets of a process
// share a few threads, each with its GMainContext: one per processor (at most
// kMaxLoops), each started with its first socket and ended with its last;
// libsoup objects are used only there. Sockets are dealt to them in turn, so
// 300 calls cost 2 threads on 2 cores, not 300. Text frames are sent in order, kept while
// the socket is still connecting and flushed once it opens.
//
// No GStreamer in here; the element gets text and failures through Handlers,
// which run on the shared socket thread: they must not block for long.
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
    std::string tls_ca_file;  // extra trusted CAs (PEM); empty: the system's only
    // Sent first once the socket opens, before anything given to send().
    std::vector<std::string> opening;
  };

  // The threads' name, as /proc/self/task/*/comm shows it.
  static constexpr const char *kThreadName = "realtime-socket";
  static constexpr size_t kMaxLoops = 8;

  explicit RealtimeSocket (Handlers handlers);
  ~RealtimeSocket ();  // stop()
  RealtimeSocket (const RealtimeSocket &) = delete;
  RealtimeSocket &operator= (const RealtimeSocket &) = delete;

  // Joins one of the shared threads (starting it if it has no socket) and
  // connects.
  void start (Options options);
  // Thread-safe; kept in order until the socket opens. Dropped after a
  // failure (the call is over).
  void send (std::string text);
  // Closes the socket (a normal close, no failure reported) without waiting
  // for the server's answer: the close finishes on the socket thread, which
  // ends once the last socket of the process is closed. Once this returns no
  // handler runs.
  void stop ();

  // Frames given to send() before the socket opened.
  guint64 queued_before_open () const;
  guint64 frames_sent () const;

  class Loop;         // the shared thread and context
  struct Link;        // what this and its connection share
  struct Connection;  // socket-thread state, outlives this until closed

 private:
  std::shared_ptr<Link> link_;
  std::shared_ptr<Loop> loop_;
};

}  // namespace callstream
