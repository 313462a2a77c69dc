#include "common/provider_sink.h"

#include <algorithm>
#include <deque>
#include <vector>

#include "callstream-events.h"

GST_DEBUG_CATEGORY_STATIC (provider_sink_debug);
#define GST_CAT_DEFAULT provider_sink_debug

namespace callstream {

namespace {

constexpr guint kDefaultLeadMs = 200;
constexpr guint kMaxLeadMs = 10000;
constexpr guint kMaxChunkMs = 10000;
// render() blocks while this much audio waits for its pacing slot (not on
// the connection's own thread, which must stay free to send it).
constexpr gint64 kMaxQueuedUs = 5 * G_USEC_PER_SEC;
// Marks settled by a clear whose echo we still ignore; the oldest go first.
constexpr size_t kMaxStaleMarks = 256;

enum Prop : guint {
  PROP_SESSION,
  PROP_CONNECTION,
  PROP_LEAD_TIME,
  PROP_CHUNK_MS,
  PROP_PLAYED_MS,
  PROP_CHUNKS_SENT,
  PROP_BYTES_SENT,
  PROP_MARKS_PENDING,
  PROP_DROPPED_ON_CLEAR,
  PROP_CLEARS,
};

struct GObjectUnref {
  void operator() (gpointer object) const { g_object_unref (object); }
};

size_t
round_up (size_t value, size_t unit)
{
  return (value + unit - 1) / unit * unit;
}

}  // namespace

struct ProviderSink::Settings {
  std::string session;
  std::unique_ptr<SoupWebsocketConnection, GObjectUnref> connection;
  guint lead_ms = kDefaultLeadMs;
  guint chunk_ms = 0;
};

struct PendingMark {
  std::string name;
  gint64 duration_us;
};

// The sink's state for one start..stop. Timers and session listeners hold
// weak references to it. Lock order: CallSession's dispatch lock, then
// Call::lock, then CallSession's own lock.
struct ProviderSink::Call : std::enable_shared_from_this<Call> {
  GstBaseSink *element;
  const ProviderRules &rules;
  std::shared_ptr<CallSession> session;
  std::string mark_prefix;
  gint64 lead_us = 0;
  guint chunk_ms = 0;

  std::mutex lock;
  std::condition_variable changed;
  // Format (set_caps).
  size_t bytes_per_second = 0;
  uint8_t silence = 0;
  size_t chunk_bytes = 0;
  std::string stream_sid;  // from the call-info event; else the session's
  // Audio not sent yet.
  std::vector<uint8_t> partial;
  std::deque<std::vector<uint8_t>> queue;
  gint64 queued_us = 0;
  // Pacing: the audio sent so far ends at base_us + sent_us (monotonic).
  gint64 base_us = 0;
  gint64 sent_us = 0;
  bool timer_pending = false;
  std::deque<PendingMark> pending;
  std::deque<std::string> stale;
  guint64 marks_made = 0;
  gint64 played_us = 0;
  bool closed = false;
  bool flushing = false;

  std::atomic<guint64> chunks_sent { 0 };
  std::atomic<guint64> bytes_sent { 0 };
  std::atomic<guint64> marks_pending { 0 };
  std::atomic<guint64> dropped_on_clear { 0 };
  std::atomic<guint64> clears { 0 };
  std::atomic<guint64> played_ms { 0 };

  Call (GstBaseSink *e, const ProviderRules &r) : element (e), rules (r) {}

  gint64 duration_us (size_t bytes) const
  {
    return bytes_per_second == 0 ? 0
        : static_cast<gint64> (bytes * G_USEC_PER_SEC / bytes_per_second);
  }

  std::string sid_locked () const
  {
    return stream_sid.empty ()? session->stream_sid () : stream_sid;
  }

  // Cuts whole chunks off the gathered audio.
  void cut_chunks_locked ()
  {
    size_t at = 0;
    while (chunk_bytes > 0 && partial.size () - at >= chunk_bytes) {
      queue.emplace_back (partial.begin () + at, partial.begin () + at + chunk_bytes);
      queued_us += duration_us (chunk_bytes);
      at += chunk_bytes;
    }
    partial.erase (partial.begin (), partial.begin () + at);
  }

  // At EOS the last partial chunk is padded with silence up to the next
  // unit (a chunk that is not a multiple of Exotel's 320 bytes leaves an
  // audible gap) and to the provider's minimum chunk size.
  void pad_last_chunk_locked ()
  {
    if (partial.empty ())
      return;
    const size_t size = std::max (round_up (partial.size (), rules.unit_bytes),
        rules.min_chunk_bytes);
    partial.resize (size, silence);
    queued_us += duration_us (size);
    queue.push_back (std::move (partial));
    partial.clear ();
  }

  // Sends what pacing allows. From any thread: the session queues what is
  // sent for its connection's thread, so the streaming thread pumps at once
  // rather than waking that thread for it.
  void pump ()
  {
    std::lock_guard guard (lock);
    if (closed || !session->ready ())
      return;
    const gint64 now = g_get_monotonic_time ();
    if (base_us + sent_us < now)
      base_us = now - sent_us;  // the far end ran dry: no credit for silence
    const std::string sid = sid_locked ();
    while (!queue.empty () && base_us + sent_us - now < lead_us) {
      std::vector<uint8_t> chunk = std::move (queue.front ());
      queue.pop_front ();
      const gint64 duration = duration_us (chunk.size ());
      queued_us -= duration;
      const std::string name = mark_prefix + "-" + std::to_string (++marks_made);
      session->send_text (rules.media (sid, chunk.data (), chunk.size ()));
      session->send_text (rules.mark (sid, name));
      pending.push_back ({name, duration});
      sent_us += duration;
      chunks_sent++;
      bytes_sent += chunk.size ();
    }
    marks_pending = pending.size ();
    if (!queue.empty () && !timer_pending) {
      const gint64 wait_us = base_us + sent_us - now - lead_us;
      const guint delay_ms = static_cast<guint> (std::max<gint64> (1,
              (wait_us + 999) / 1000));
      timer_pending = session->run_on_connection ([weak = weak_from_this ()] {
            if (auto call = weak.lock ()) {
              call->lock.lock ();
              call->timer_pending = false;
              call->lock.unlock ();
              call->pump ();
            }
          }, delay_ms);
    }
    changed.notify_all ();
  }

  // The provider echoed @name: everything up to it has played.
  void on_mark (const std::string &name)
  {
    guint64 played = 0;
    {
      std::lock_guard guard (lock);
      auto stale_it = std::find (stale.begin (), stale.end (), name);
      if (stale_it != stale.end ()) {
        stale.erase (stale_it);
        return;
      }
      auto it = std::find_if (pending.begin (), pending.end (),
          [&name] (const PendingMark &m) { return m.name == name; });
      if (it == pending.end ())
        return;  // not ours (another sink on the session) or unknown
      for (auto done = pending.begin (); done != it + 1; ++done)
        played_us += done->duration_us;
      pending.erase (pending.begin (), it + 1);
      marks_pending = pending.size ();
      played = played_us / 1000;
      played_ms = played;
    }
    GST_LOG_OBJECT (element, "mark %s: %" G_GUINT64_FORMAT " ms played",
        name.c_str (), played);
    gst_pad_push_event (GST_BASE_SINK_PAD (element),
        callstream_played_event_new (played, name.c_str ()));
  }

  void on_closed ()
  {
    std::lock_guard guard (lock);
    closed = true;
    queue.clear ();
    partial.clear ();
    queued_us = 0;
    changed.notify_all ();
  }

  void clear ()
  {
    std::lock_guard guard (lock);
    size_t dropped = partial.size ();
    for (const auto &chunk : queue)
      dropped += chunk.size ();
    partial.clear ();
    queue.clear ();
    queued_us = 0;
    // Settled now: the echoes Twilio sends for them are ignored.
    for (PendingMark &mark : pending) {
      stale.push_back (std::move (mark.name));
      if (stale.size () > kMaxStaleMarks)
        stale.pop_front ();
    }
    pending.clear ();
    marks_pending = 0;
    base_us = g_get_monotonic_time () - sent_us;  // the far end is empty
    dropped_on_clear += dropped;
    clears++;
    if (!closed)
      session->send_text (rules.clear (sid_locked ()));
    changed.notify_all ();
    GST_DEBUG_OBJECT (element, "clear: dropped %" G_GSIZE_FORMAT " bytes", dropped);
  }

  // Waits until @done or a stop/close; FALSE when flushing.
  template <typename Done> bool wait_locked (std::unique_lock<std::mutex> &held,
      Done &&done)
  {
    changed.wait (held, [&] { return flushing || closed || done (); });
    return !flushing;
  }
};

void
ProviderSink::install_properties (GObjectClass *klass, guint first,
    const ProviderRules &rules)
{
  const auto settable = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_READY);
  const auto stat = GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (klass, first + PROP_SESSION,
      g_param_spec_string ("session", "Session",
          "Name of the call session to answer on: the source of the call has "
          "the same session name (gst-launch); not needed with connection",
          nullptr, settable));
  g_object_class_install_property (klass, first + PROP_CONNECTION,
      g_param_spec_object ("connection", "Connection",
          "The call's SoupWebsocketConnection, the same one given to the "
          "source (applications such as callstreamd)",
          SOUP_TYPE_WEBSOCKET_CONNECTION, settable));
  g_object_class_install_property (klass, first + PROP_LEAD_TIME,
      g_param_spec_uint ("lead-time", "Lead time",
          "Send audio at most this many ms ahead of real time (the rest is "
          "held here, where a clear can still drop it)", 0, kMaxLeadMs,
          kDefaultLeadMs, settable));
  g_autofree gchar *chunk_blurb = g_strdup_printf ("Audio per media message "
      "in ms, rounded up to the provider's rules (multiples of %" G_GSIZE_FORMAT
      " bytes, %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT " bytes)",
      rules.unit_bytes, rules.min_chunk_bytes, rules.max_chunk_bytes);
  g_object_class_install_property (klass, first + PROP_CHUNK_MS,
      g_param_spec_uint ("chunk-ms", "Chunk duration",
          g_intern_string (chunk_blurb), 1, kMaxChunkMs, rules.default_chunk_ms,
          settable));
  g_object_class_install_property (klass, first + PROP_PLAYED_MS,
      g_param_spec_uint64 ("played-ms", "Played",
          "Audio the provider confirmed played (marks echoed), in ms since "
          "start; cleared audio never counts", 0, G_MAXUINT64, 0, stat));
  struct {
    Prop id;
    const char *name, *nick, *blurb;
  } stats[] = {
    {PROP_CHUNKS_SENT, "chunks-sent", "Chunks sent", "media messages sent"},
    {PROP_BYTES_SENT, "bytes-sent", "Bytes sent", "Audio bytes sent"},
    {PROP_MARKS_PENDING, "marks-pending", "Marks pending",
        "Marks sent and not echoed yet"},
    {PROP_DROPPED_ON_CLEAR, "dropped-on-clear", "Dropped on clear",
        "Audio bytes dropped unsent by clear events"},
    {PROP_CLEARS, "clears", "Clears", "clear messages sent"},
  };
  for (const auto &s : stats)
    g_object_class_install_property (klass, first + s.id,
        g_param_spec_uint64 (s.name, s.nick, s.blurb, 0, G_MAXUINT64, 0, stat));
  GST_DEBUG_CATEGORY_INIT (provider_sink_debug, "providersink", 0,
      "callstream provider sinks");
}

ProviderSink::ProviderSink (GstBaseSink *element, guint first_prop_id,
    const ProviderRules &rules)
    : element_ (element), first_prop_id_ (first_prop_id), rules_ (rules),
      settings_ (std::make_unique<Settings> ())
{
  settings_->chunk_ms = rules.default_chunk_ms;
}

ProviderSink::~ProviderSink () = default;

bool
ProviderSink::set_property (guint prop_id, const GValue *value)
{
  if (prop_id < first_prop_id_ || prop_id >= first_prop_id_ + kPropertyCount)
    return false;
  std::lock_guard lock (settings_lock_);
  Settings &s = *settings_;
  switch (prop_id - first_prop_id_) {
    case PROP_SESSION: {
      const gchar *text = g_value_get_string (value);
      s.session = text != nullptr ? text : "";
      break;
    }
    case PROP_CONNECTION:
      s.connection.reset (static_cast<SoupWebsocketConnection *> (
              g_value_dup_object (value)));
      break;
    case PROP_LEAD_TIME:
      s.lead_ms = g_value_get_uint (value);
      break;
    case PROP_CHUNK_MS:
      s.chunk_ms = g_value_get_uint (value);
      break;
    default:
      return false;
  }
  return true;
}

bool
ProviderSink::get_property (guint prop_id, GValue *value)
{
  if (prop_id < first_prop_id_ || prop_id >= first_prop_id_ + kPropertyCount)
    return false;
  std::lock_guard lock (settings_lock_);
  const Settings &s = *settings_;
  const Call *call = call_.get ();
  auto stat = [call] (const std::atomic<guint64> Call::*counter) {
    return call != nullptr ? (call->*counter).load () : 0;
  };
  switch (prop_id - first_prop_id_) {
    case PROP_SESSION:
      g_value_set_string (value, s.session.empty ()? nullptr : s.session.c_str ());
      break;
    case PROP_CONNECTION:
      g_value_set_object (value, s.connection.get ());
      break;
    case PROP_LEAD_TIME:
      g_value_set_uint (value, s.lead_ms);
      break;
    case PROP_CHUNK_MS:
      g_value_set_uint (value, s.chunk_ms);
      break;
    case PROP_PLAYED_MS:
      g_value_set_uint64 (value, stat (&Call::played_ms));
      break;
    case PROP_CHUNKS_SENT:
      g_value_set_uint64 (value, stat (&Call::chunks_sent));
      break;
    case PROP_BYTES_SENT:
      g_value_set_uint64 (value, stat (&Call::bytes_sent));
      break;
    case PROP_MARKS_PENDING:
      g_value_set_uint64 (value, stat (&Call::marks_pending));
      break;
    case PROP_DROPPED_ON_CLEAR:
      g_value_set_uint64 (value, stat (&Call::dropped_on_clear));
      break;
    case PROP_CLEARS:
      g_value_set_uint64 (value, stat (&Call::clears));
      break;
    default:
      return false;
  }
  return true;
}

bool
ProviderSink::start ()
{
  std::shared_ptr<CallSession> session;
  auto call = std::make_shared<Call> (element_, rules_);
  {
    std::lock_guard lock (settings_lock_);
    const Settings &s = *settings_;
    if (s.session.empty () && !s.connection) {
      GST_ELEMENT_ERROR (element_, RESOURCE, SETTINGS,
          ("Set session (the name the call's source has) or connection"),
          (nullptr));
      return false;
    }
    session = CallSession::obtain (s.session, s.connection.get ());
    call->lead_us = static_cast<gint64> (s.lead_ms) * 1000;
    call->chunk_ms = s.chunk_ms;
  }
  call->session = session;
  call->mark_prefix = GST_OBJECT_NAME (element_);
  std::weak_ptr<Call> weak = call;
  listener_ = session->add_listener ({
        [weak] { if (auto c = weak.lock ()) c->pump (); },
        [weak] (const std::string &name) { if (auto c = weak.lock ()) c->on_mark (name); },
        [weak] { if (auto c = weak.lock ()) c->on_closed (); },
      });
  std::lock_guard lock (settings_lock_);
  call_ = std::move (call);
  return true;
}

void
ProviderSink::stop ()
{
  std::shared_ptr<Call> call;
  {
    std::lock_guard lock (settings_lock_);
    call = call_;  // kept for the stats until the next start
  }
  if (!call)
    return;
  // Without any lock of ours: a listener running now finishes first.
  call->session->remove_listener (listener_);
  call->on_closed ();
}

bool
ProviderSink::set_caps (GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  int rate = 0;
  if (!gst_structure_get_int (s, "rate", &rate) || rate <= 0)
    return false;
  const bool mulaw = gst_structure_has_name (s, "audio/x-mulaw");
  std::lock_guard lock (call_->lock);
  Call &c = *call_;
  c.bytes_per_second = static_cast<size_t> (rate) * (mulaw ? 1 : 2);
  c.silence = mulaw ? 0xFF : 0x00;
  const size_t wanted = c.bytes_per_second * c.chunk_ms / 1000;
  c.chunk_bytes = std::clamp (round_up (wanted, rules_.unit_bytes),
      rules_.min_chunk_bytes, rules_.max_chunk_bytes);
  GST_INFO_OBJECT (element_, "%s %d Hz: chunks of %" G_GSIZE_FORMAT " bytes",
      mulaw ? "u-law" : "PCM16", rate, c.chunk_bytes);
  return true;
}

GstFlowReturn
ProviderSink::render (GstBuffer *buffer)
{
  Call &c = *call_;
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  bool blocked = false;
  {
    std::unique_lock held (c.lock);
    if (c.closed) {
      gst_buffer_unmap (buffer, &map);
      return GST_FLOW_OK;  // the caller hung up: audio has nowhere to go
    }
    c.partial.insert (c.partial.end (), map.data, map.data + map.size);
    c.cut_chunks_locked ();
    blocked = c.queued_us > kMaxQueuedUs;
  }
  gst_buffer_unmap (buffer, &map);
  c.pump ();
  if (blocked && !c.session->on_connection_thread ()) {
    std::unique_lock held (c.lock);
    if (!c.wait_locked (held, [&c] { return c.queued_us <= kMaxQueuedUs; }))
      return GST_FLOW_FLUSHING;
  }
  return GST_FLOW_OK;
}

bool
ProviderSink::handle_event (GstEvent *event)
{
  Call &c = *call_;
  if (callstream_clear_event_is (event)) {
    c.clear ();
    return true;
  }
  if (const GstStructure *info = callstream_call_info_event_parse (event)) {
    if (const gchar *sid = gst_structure_get_string (info, "stream-sid")) {
      std::lock_guard lock (c.lock);
      c.stream_sid = sid;
    }
    return false;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    std::lock_guard lock (c.lock);
    c.partial.clear ();
    c.queue.clear ();
    c.queued_us = 0;
    return false;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    {
      std::lock_guard lock (c.lock);
      c.pad_last_chunk_locked ();
    }
    c.pump ();
    // EOS is posted once the audio went out, unless we run on the thread
    // that sends it (a source pushing on the socket's thread).
    if (!c.session->on_connection_thread ()) {
      std::unique_lock held (c.lock);
      c.wait_locked (held, [&c] { return c.queue.empty () || !c.session->ready (); });
    }
    return false;
  }
  return false;
}

void
ProviderSink::unlock ()
{
  std::lock_guard lock (call_->lock);
  call_->flushing = true;
  call_->changed.notify_all ();
}

void
ProviderSink::unlock_stop ()
{
  std::lock_guard lock (call_->lock);
  call_->flushing = false;
}

}  // namespace callstream
