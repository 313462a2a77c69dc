// The bridge's WebSocket client to the Realtime API. Every socket of a
// process runs on one shared thread and GMainContext (started with the first
// socket, ended with the last; libsoup objects are used only there), so 300
// calls cost one thread, not 300. Text frames are sent in order, kept while
// the socket is still connecting and flushed once it opens.
//
// No GStreamer in here; the element gets text and failures through Handlers,
// which run on the shared socket thread: they must not block for long.
#pragma once

#include <glib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
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
  };

  // The thread's name, as /proc/self/task/*/comm shows it.
  static constexpr const char *kThreadName = "realtime-socket";

  explicit RealtimeSocket (Handlers handlers);
  ~RealtimeSocket ();  // stop()
  RealtimeSocket (const RealtimeSocket &) = delete;
  RealtimeSocket &operator= (const RealtimeSocket &) = delete;

  // Joins the shared thread (starting it if this is the only socket) and
  // connects.
  void start (Options options);
  // Thread-safe; kept in order until the socket opens. Dropped after a
  // failure (the call is over).
  void send (std::string text);
  // Closes the socket (a normal close, no failure reported); once it
  // returns no handler runs. Waits for the close unless called on the socket
  // thread itself (from a handler), where the close finishes later.
  void stop ();

  // Frames given to send() before the socket opened.
  guint64 queued_before_open () const { return queued_before_open_; }
  guint64 frames_sent () const { return frames_sent_; }

  class Loop;        // the shared thread and context
  struct Connection; // socket-thread state, may outlive this after stop()

 private:
  Handlers handlers_;
  std::shared_ptr<Loop> loop_;
  Connection *connection_ = nullptr;  // socket thread only, once started
  GSource *wake_ = nullptr;           // ours: makes the connection look at us

  std::mutex lock_;
  std::condition_variable finished_changed_;
  std::deque<std::string> outgoing_;  // under lock_
  bool open_ = false;                 // under lock_
  bool failed_ = false;               // under lock_
  bool wake_pending_ = false;         // under lock_
  bool close_requested_ = false;      // under lock_
  bool finished_ = false;             // under lock_: the connection is gone
  std::atomic<guint64> queued_before_open_ { 0 };
  std::atomic<guint64> frames_sent_ { 0 };
};

}  // namespace callstream
