#include "common/call_session.h"

#include <gst/gst.h>

#include <utility>
#include <vector>

namespace callstream {

namespace {

struct Registry {
  std::mutex lock;
  std::map<std::string, std::weak_ptr<CallSession>> by_name;
  std::map<SoupWebsocketConnection *, std::weak_ptr<CallSession>> by_connection;
};

Registry &
registry ()
{
  static Registry *instance = new Registry ();  // never destroyed: used at exit
  return *instance;
}

template <typename Map, typename Key>
std::shared_ptr<CallSession>
live (Map &map, const Key &key)
{
  auto it = map.find (key);
  return it != map.end () ? it->second.lock () : nullptr;
}

// A closure run once on a GMainContext.
struct Invocation {
  std::function<void ()> function;

  static gboolean run (gpointer data)
  {
    static_cast<Invocation *> (data)->function ();
    return G_SOURCE_REMOVE;
  }
  static void destroy (gpointer data) { delete static_cast<Invocation *> (data); }
  static gboolean fired (GstClock *, GstClockTime, GstClockID, gpointer data)
  {
    static_cast<Invocation *> (data)->function ();
    return TRUE;
  }
};

// Runs @function on the system clock's own thread after @delay_ms: the
// timers of a session whose socket has no thread of ours.
void
run_on_system_clock (guint delay_ms, std::function<void ()> function)
{
  GstClock *clock = gst_system_clock_obtain ();
  GstClockID id = gst_clock_new_single_shot_id (clock,
      gst_clock_get_time (clock) + delay_ms * GST_MSECOND);
  gst_clock_id_wait_async (id, Invocation::fired, new Invocation {std::move (function)},
      Invocation::destroy);
  gst_clock_id_unref (id);
  gst_object_unref (clock);
}

// The session whose messages this thread is delivering (CallSession::Delivery).
thread_local const CallSession *delivering = nullptr;

}  // namespace

CallSession::Delivery::Delivery (const CallSession *session)
    : previous_ (std::exchange (delivering, session))
{
}

CallSession::Delivery::~Delivery ()
{
  delivering = previous_;
}

std::shared_ptr<CallSession>
CallSession::obtain (const std::string &name, SoupWebsocketConnection *connection)
{
  Registry &r = registry ();
  std::lock_guard guard (r.lock);
  std::shared_ptr<CallSession> session;
  if (connection != nullptr)
    session = live (r.by_connection, connection);
  if (!session && !name.empty ())
    session = live (r.by_name, name);
  if (!session)
    session.reset (new CallSession (name, connection));
  if (connection != nullptr && !live (r.by_connection, connection))
    r.by_connection[connection] = session;
  if (!name.empty () && !live (r.by_name, name))
    r.by_name[name] = session;
  return session;
}

CallSession::CallSession (std::string name, SoupWebsocketConnection *key)
    : name_ (std::move (name)),
      key_ (key != nullptr ? SOUP_WEBSOCKET_CONNECTION (g_object_ref (key)) : nullptr)
{
}

CallSession::~CallSession ()
{
  {
    Registry &r = registry ();
    std::lock_guard guard (r.lock);
    // Only our own entries: a new session may already hold the name.
    auto named = r.by_name.find (name_);
    if (named != r.by_name.end () && named->second.expired ())
      r.by_name.erase (named);
    std::erase_if (r.by_connection, [] (const auto &entry) {
          return entry.second.expired ();
        });
  }
  g_clear_object (&connection_);
  g_clear_object (&key_);
  if (context_ != nullptr)
    g_main_context_unref (context_);
}

void
CallSession::attach (SoupWebsocketConnection *connection, bool on_connection_thread)
{
  bool now_ready = false;
  Outlet replaced;  // released without the lock
  {
    std::lock_guard guard (lock_);
    if (connection_ != connection) {
      replaced = detach_locked ();
      connection_ = SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection));
    }
    closed_ = false;
    if (on_connection_thread && context_ == nullptr) {
      context_ = g_main_context_ref_thread_default ();
      now_ready = true;
    }
  }
  if (now_ready)
    became_ready ();
}

void
CallSession::note_connection_thread ()
{
  {
    std::lock_guard guard (lock_);
    if (context_ != nullptr || connection_ == nullptr || closed_)
      return;
    context_ = g_main_context_ref_thread_default ();
  }
  became_ready ();
}

void
CallSession::attach_outlet (Outlet outlet)
{
  Outlet replaced;
  {
    std::lock_guard guard (lock_);
    replaced = detach_locked ();
    outlet_ = std::move (outlet);
    closed_ = false;
    // In the order they were sent, before any later frame (sent under lock_).
    for (const std::string &text : outbox_)
      if (!outlet_ (text)) {
        close_later ();
        break;
      }
    outbox_.clear ();
  }
  became_ready ();
}

// Lets go of the socket attached (connection and its context, or Outlet) and
// of a close scheduled for it. The Outlet is returned, to be released
// without lock_: it may hold the last ref of something.
CallSession::Outlet
CallSession::detach_locked ()
{
  g_clear_object (&connection_);
  if (context_ != nullptr) {
    g_main_context_unref (context_);
    context_ = nullptr;
  }
  close_pending_ = false;
  attachment_++;
  return std::exchange (outlet_, nullptr);
}

// On the connection's thread, once: queued frames go out, sinks start.
void
CallSession::became_ready ()
{
  {
    std::lock_guard guard (lock_);
    schedule_flush_locked ();
  }
  notify ([] (const Listener &l) {
        if (l.on_ready)
          l.on_ready ();
      });
}

void
CallSession::set_stream_sid (const std::string &stream_sid)
{
  std::lock_guard guard (lock_);
  stream_sid_ = stream_sid;
}

void
CallSession::deliver_mark (const std::string &name)
{
  notify ([&name] (const Listener &l) {
        if (l.on_mark)
          l.on_mark (name);
      });
}

void
CallSession::closed ()
{
  close_attachment (std::nullopt);
}

// Closes the session; with @attachment, only while that socket is still the
// one attached (a close scheduled for a socket since replaced is stale).
void
CallSession::close_attachment (std::optional<guint64> attachment)
{
  Outlet outlet;  // released without the lock: it may hold the last ref of something
  {
    std::lock_guard guard (lock_);
    if (closed_ || (attachment && *attachment != attachment_))
      return;
    closed_ = true;
    outbox_.clear ();
    g_clear_object (&connection_);
    outlet = std::move (outlet_);
    outlet_ = nullptr;
  }
  notify ([] (const Listener &l) {
        if (l.on_closed)
          l.on_closed ();
      });
}

template <typename Call>
void
CallSession::notify (Call &&call)
{
  std::lock_guard dispatch (dispatch_lock_);
  const auto listeners = listeners_;  // a listener may remove itself
  for (const auto &[id, listener] : listeners)
    call (listener);
}

void
CallSession::send_text (std::string text)
{
  std::lock_guard guard (lock_);
  if (closed_)
    return;
  if (outlet_) {
    if (!close_pending_ && !outlet_ (text))
      close_later ();
    return;
  }
  if (outbox_.size () >= kMaxQueuedFrames) {
    outbox_.pop_front ();
    frames_dropped_++;
  }
  outbox_.push_back (std::move (text));
  schedule_flush_locked ();
}

void
CallSession::schedule_flush_locked ()
{
  if (flush_scheduled_ || context_ == nullptr || connection_ == nullptr)
    return;
  flush_scheduled_ = true;
  attach_invocation (0, [weak = weak_from_this ()] {
        if (auto session = weak.lock ())
          session->flush_outbox ();
      });
}

// The Outlet refused a frame: the socket is gone. Closed from the clock's
// thread, since closing calls the listeners, and the sender may hold a lock
// a listener takes; by then another socket may be attached, which stays.
void
CallSession::close_later ()
{
  if (close_pending_)
    return;
  close_pending_ = true;
  run_on_system_clock (0, [weak = weak_from_this (), attachment = attachment_] {
        if (auto session = weak.lock ())
          session->close_attachment (attachment);
      });
}

// Always through a source on the context, never run in place: callers may
// hold their own locks, and a send may emit "closed" synchronously.
void
CallSession::attach_invocation (guint delay_ms, std::function<void ()> function)
{
  auto *invocation = new Invocation {std::move (function)};
  g_autoptr (GSource) source = delay_ms == 0 ? g_idle_source_new ()
      : g_timeout_source_new (delay_ms);
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, Invocation::run, invocation, Invocation::destroy);
  g_source_attach (source, context_);
}

void
CallSession::flush_outbox ()
{
  std::deque<std::string> frames;
  g_autoptr (SoupWebsocketConnection) connection = nullptr;
  {
    std::lock_guard guard (lock_);
    flush_scheduled_ = false;
    if (closed_ || connection_ == nullptr || context_ == nullptr)
      return;
    frames.swap (outbox_);
    connection = SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection_));
  }
  // Sent without our lock: a failing send may emit "closed" right here.
  for (const std::string &text : frames) {
    if (soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_OPEN)
      break;
    soup_websocket_connection_send_text (connection, text.c_str ());
  }
}

bool
CallSession::run_on_connection (std::function<void ()> function, guint delay_ms)
{
  std::lock_guard guard (lock_);
  if (closed_)
    return false;
  if (outlet_) {
    run_on_system_clock (delay_ms, std::move (function));
    return true;
  }
  if (context_ == nullptr)
    return false;
  attach_invocation (delay_ms, std::move (function));
  return true;
}

std::string
CallSession::stream_sid () const
{
  std::lock_guard guard (lock_);
  return stream_sid_;
}

bool
CallSession::ready () const
{
  std::lock_guard guard (lock_);
  return !closed_ && (outlet_ || (context_ != nullptr && connection_ != nullptr));
}

bool
CallSession::is_closed () const
{
  std::lock_guard guard (lock_);
  return closed_;
}

bool
CallSession::on_connection_thread () const
{
  if (delivering == this)
    return true;
  std::lock_guard guard (lock_);
  return context_ != nullptr && g_main_context_is_owner (context_);
}

guint64
CallSession::frames_dropped () const
{
  std::lock_guard guard (lock_);
  return frames_dropped_;
}

guint64
CallSession::add_listener (Listener listener)
{
  std::lock_guard dispatch (dispatch_lock_);
  const guint64 id = next_listener_++;
  listeners_.emplace (id, std::move (listener));
  return id;
}

void
CallSession::remove_listener (guint64 id)
{
  std::lock_guard dispatch (dispatch_lock_);
  listeners_.erase (id);
}

}  // namespace callstream
