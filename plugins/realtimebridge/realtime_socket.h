// The bridge's WebSocket client to the Realtime API: its own GMainContext and
// thread per call (libsoup objects are used only there), text frames sent in
// order, kept while the socket is still connecting and flushed once it opens.
// A context shared by every call of a process is a later optimization.
//
// No GStreamer in here; the element gets text and failures through Handlers,
// which run on the socket's thread.
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
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

  explicit RealtimeSocket (Handlers handlers);
  ~RealtimeSocket ();  // stop()
  RealtimeSocket (const RealtimeSocket &) = delete;
  RealtimeSocket &operator= (const RealtimeSocket &) = delete;

  // Starts the thread and the connection.
  void start (Options options);
  // Thread-safe; kept in order until the socket opens. Dropped after a
  // failure (the call is over).
  void send (std::string text);
  // Closes the socket (a normal close, no failure reported) and joins.
  void stop ();

  // Frames given to send() before the socket opened.
  guint64 queued_before_open () const { return queued_before_open_; }
  guint64 frames_sent () const { return frames_sent_; }

  struct Connection;  // socket-thread state

 private:
  void invoke (std::function<void ()> fn);
  // On the socket thread:
  void run (Options options);
  void connect ();
  void on_connected (SoupWebsocketConnection *socket, GError *error);
  void on_open ();
  void fail (const std::string &reason);
  void flush ();
  void close ();

  Handlers handlers_;
  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  std::thread thread_;
  Connection *connection_ = nullptr;  // socket thread only

  std::mutex lock_;
  std::deque<std::string> outgoing_;  // under lock_
  bool open_ = false;                 // under lock_
  bool failed_ = false;               // under lock_
  bool flush_scheduled_ = false;      // under lock_
  std::atomic<guint64> queued_before_open_ { 0 };
  std::atomic<guint64> frames_sent_ { 0 };
};

}  // namespace callstream
