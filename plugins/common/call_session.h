// One call's socket, shared by the source that reads it and the sinks that
// answer on it. A source attaches the SoupWebsocketConnection when the call
// connects and reports what comes back (marks, close); a sink sends text
// frames from any thread and listens for marks and close.
//
// Sessions are found by name (the `session` property, for gst-launch lines:
// `exotelsrc port=8443 session=c1 ! ... ! exotelsink session=c1`) or by the
// connection itself (the daemon hands both elements the same `connection`).
// The registry holds weak references: a session lives while an element
// holds it, and a name or connection can be reused once nobody does.
//
// libsoup is not thread-safe: every frame goes out on the connection's own
// GMainContext, recorded on that thread (at attach in server mode, on the
// first message in connection mode). Frames sent before that are queued
// (bounded) and flushed, in order, once the socket and its context are known.
//
// An application that reads the socket itself (the daemon's reactor, through
// the source's push-message and send-message signals) attaches an Outlet
// instead: frames go to it from the sending thread, in order, and the
// session's timers run on the GStreamer system clock's thread.
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace callstream {

class CallSession : public std::enable_shared_from_this<CallSession> {
 public:
  // Called on the connection's thread. A listener is never called after
  // remove_listener returns.
  struct Listener {
    std::function<void ()> on_ready;  // socket and its context known
    std::function<void (const std::string &name)> on_mark;
    std::function<void ()> on_closed;
  };

  // Frames kept while no socket is attached; older ones are dropped beyond.
  static constexpr size_t kMaxQueuedFrames = 4096;

  // Takes one text frame for the caller's socket, from any thread, with the
  // session's lock held: it must not block nor call back into the session.
  // FALSE when the socket is gone (the session then closes, later, unless
  // another socket is attached first).
  using Outlet = std::function<bool (const std::string &text)>;

  // The session registered under @connection, else under @name, else a new
  // one registered under both (either may be empty / nullptr).
  static std::shared_ptr<CallSession> obtain (const std::string &name,
      SoupWebsocketConnection *connection);

  ~CallSession ();
  CallSession (const CallSession &) = delete;
  CallSession &operator= (const CallSession &) = delete;

  /* ---- source side ---- */
  // @on_connection_thread: the caller runs on the thread (and thread-default
  // context) that dispatches @connection, so the context is recorded now.
  void attach (SoupWebsocketConnection *connection, bool on_connection_thread);
  // From a message handler of the attached connection: records its context
  // if not known yet. Cheap after the first call.
  void note_connection_thread ();
  // The application's own socket: ready now, queued frames go out first.
  void attach_outlet (Outlet outlet);
  // While one lives, this thread delivers the socket's messages (the
  // application's push into the source): on_connection_thread() is TRUE on
  // it, so a sink fed straight from the socket never blocks that thread.
  class Delivery {
   public:
    explicit Delivery (const CallSession *session);
    ~Delivery ();
    Delivery (const Delivery &) = delete;
    Delivery &operator= (const Delivery &) = delete;

   private:
    const CallSession *previous_;
  };
  void set_stream_sid (const std::string &stream_sid);
  // The provider echoed mark @name: the audio sent before it has played.
  void deliver_mark (const std::string &name);
  // The socket closed (or the source stopped): no more frames go out.
  void closed ();

  /* ---- sink side ---- */
  // Queues @text for the socket; from any thread, with any lock held (it
  // calls out only to an Outlet, which never calls back); order is kept.
  void send_text (std::string text);
  // Runs @function on the connection's context (with an Outlet: on the
  // system clock's thread) after @delay_ms, never in place; false (nothing
  // scheduled) while neither is known, or once closed.
  bool run_on_connection (std::function<void ()> function, guint delay_ms = 0);
  std::string stream_sid () const;
  bool ready () const;
  bool is_closed () const;
  // TRUE on the thread that dispatches the connection's context, or (with an
  // Outlet) within a Delivery of this session.
  bool on_connection_thread () const;
  const std::string &name () const { return name_; }
  guint64 frames_dropped () const;

  guint64 add_listener (Listener listener);
  void remove_listener (guint64 id);

 private:
  CallSession (std::string name, SoupWebsocketConnection *key);
  void flush_outbox ();          // on the connection's thread
  void schedule_flush_locked (); // lock_ held
  void attach_invocation (guint delay_ms, std::function<void ()> function);
  Outlet detach_locked ();  // lock_ held
  void close_later ();      // lock_ held
  void close_attachment (std::optional<guint64> attachment);
  void became_ready ();
  template <typename Call> void notify (Call &&call);

  const std::string name_;
  SoupWebsocketConnection *key_ = nullptr;  // registry key; we hold a ref

  mutable std::mutex lock_;  // lock order: dispatch_lock_, then lock_
  SoupWebsocketConnection *connection_ = nullptr;  // ref held while attached
  GMainContext *context_ = nullptr;                // ref held
  Outlet outlet_;                                  // instead of both
  std::string stream_sid_;
  bool closed_ = false;
  bool close_pending_ = false;  // the Outlet failed: closed() is scheduled
  guint64 attachment_ = 0;      // bumped per socket detached: a scheduled close names its own
  std::deque<std::string> outbox_;
  bool flush_scheduled_ = false;
  guint64 frames_dropped_ = 0;

  // Held while listeners run, so remove_listener waits for them.
  std::recursive_mutex dispatch_lock_;
  std::map<guint64, Listener> listeners_;
  guint64 next_listener_ = 1;
};

}  // namespace callstream
