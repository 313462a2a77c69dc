// redisstreamsrc against a real redis-server started by each test: entries
// written by a real redisstreamsink (or by hand with XADD, for hostile ones)
// come out on one pad per call, in order, once, acknowledged only after
// downstream had them, through restarts, takeovers and a Redis restart.
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "callstream-events.h"
#include "redis_server.h"
#include "test_support.h"

using test_support::RedisServer;
using test_support::pattern_bytes;

namespace {

template <typename Predicate>
bool
wait_until (Predicate done, double seconds = 20)
{
  const gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      return false;
    g_usleep (2000);
  }
  return true;
}

void
expect_eq (const std::string &got, const std::string &want)
{
  if (got != want)
    g_error ("got \"%s\", want \"%s\"", got.c_str (), want.c_str ());
}

struct Buffer {
  GstClockTime pts;
  GstClockTime duration;
  guint64 seq;
  std::string bytes;
};

// What one src pad delivered.
struct CallRecord {
  std::string pad_name;
  std::vector<std::string> events;  // in order: "stream-start", "caps", ...
  std::string stream_id;
  std::vector<std::string> caps;
  GstStructure *call_info = nullptr;
  std::vector<Buffer> buffers;
  bool eos = false;

  ~CallRecord () { if (call_info) gst_structure_free (call_info); }
  std::vector<guint64> seqs () const
  {
    std::vector<guint64> out;
    for (const Buffer &b : buffers)
      out.push_back (b.seq);
    return out;
  }
};

// A redisstreamsrc with a test sink pad linked to each src pad it adds.
class Source {
 public:
  explicit Source (const std::string &properties)
      : bus_ (gst_bus_new ())
  {
    g_autoptr (GError) error = nullptr;
    element_ = gst_parse_launch (("redisstreamsrc " + properties).c_str (),
        &error);
    g_assert_no_error (error);
    gst_element_set_bus (element_, bus_);
    g_signal_connect (element_, "pad-added", G_CALLBACK (pad_added), this);
    g_signal_connect (element_, "pad-removed", G_CALLBACK (pad_removed), this);
  }
  ~Source ()
  {
    stop ();
    gst_bus_set_flushing (bus_, TRUE);
    gst_object_unref (element_);
    gst_object_unref (bus_);
    for (GstPad *pad : sinkpads_)
      gst_object_unref (pad);
  }
  Source (const Source &) = delete;
  Source &operator= (const Source &) = delete;

  void play ()
  {
    g_assert_cmpint (gst_element_set_state (element_, GST_STATE_PLAYING), !=,
        GST_STATE_CHANGE_FAILURE);
  }
  void stop () { gst_element_set_state (element_, GST_STATE_NULL); }

  // The call's record once it has one (by call-sid of its call-info).
  CallRecord *call (const std::string &id)
  {
    std::lock_guard<std::mutex> lock (mutex_);
    for (auto &record : records_)
      if (record->call_info && id == gst_structure_get_string (
              record->call_info, "call-sid"))
        return record.get ();
    return nullptr;
  }
  bool call_ended (const std::string &id)
  {
    std::lock_guard<std::mutex> lock (mutex_);
    for (auto &record : records_)
      if (record->eos && record->call_info && id == gst_structure_get_string (
              record->call_info, "call-sid"))
        return true;
    return false;
  }
  size_t buffers_of (const std::string &id)
  {
    CallRecord *record = call (id);
    std::lock_guard<std::mutex> lock (mutex_);
    return record ? record->buffers.size () : 0;
  }
  size_t pads_added () { std::lock_guard<std::mutex> l (mutex_); return records_.size (); }
  int pads_removed () { std::lock_guard<std::mutex> l (mutex_); return removed_; }
  std::set<std::string> call_ids ()
  {
    std::lock_guard<std::mutex> lock (mutex_);
    std::set<std::string> ids;
    for (auto &record : records_)
      if (record->call_info)
        ids.insert (gst_structure_get_string (record->call_info, "call-sid"));
    return ids;
  }

  // The buffer with @seq of any call waits in the sink until release();
  // then it returns @flow.
  void hold_at (guint64 seq, GstFlowReturn flow = GST_FLOW_OK)
  {
    std::lock_guard<std::mutex> lock (mutex_);
    hold_seq_ = seq;
    hold_flow_ = flow;
    holding_ = false;
  }
  bool holding () { std::lock_guard<std::mutex> l (mutex_); return holding_; }
  void release ()
  {
    std::lock_guard<std::mutex> lock (mutex_);
    hold_seq_ = 0;
    changed_.notify_all ();
  }

  std::vector<std::string> take_warnings ()
  {
    std::vector<std::string> warnings;
    auto messages = test_support::pop_messages (bus_, static_cast<GstMessageType>
        (GST_MESSAGE_WARNING | GST_MESSAGE_ERROR));
    for (GstMessage *message : messages) {
      g_autoptr (GError) error = nullptr;
      g_autofree gchar *debug = nullptr;
      if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
        gst_message_parse_error (message, &error, &debug);
        g_error ("unexpected error: %s | %s", error->message, debug);
      }
      gst_message_parse_warning (message, &error, &debug);
      warnings.push_back (std::string (error->message) + " | " + debug);
    }
    test_support::unref_messages (messages);
    return warnings;
  }
  GstElement *element () const { return element_; }

 private:
  static CallRecord *record_of (GstPad *sinkpad)
  {
    return static_cast<CallRecord *> (gst_pad_get_element_private (sinkpad));
  }
  static Source *source_of (GstPad *sinkpad)
  {
    return static_cast<Source *> (g_object_get_data (G_OBJECT (sinkpad),
            "source"));
  }

  static void pad_added (GstElement *, GstPad *pad, Source *self)
  {
    static GstStaticPadTemplate any = GST_STATIC_PAD_TEMPLATE ("sink",
        GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
    GstPad *sinkpad = gst_pad_new_from_static_template (&any, "sink");
    auto record = std::make_unique<CallRecord> ();
    record->pad_name = GST_PAD_NAME (pad);
    gst_pad_set_element_private (sinkpad, record.get ());
    g_object_set_data (G_OBJECT (sinkpad), "source", self);
    gst_pad_set_chain_function (sinkpad, chain);
    gst_pad_set_event_function (sinkpad, event);
    gst_pad_set_active (sinkpad, TRUE);
    {
      std::lock_guard<std::mutex> lock (self->mutex_);
      self->records_.push_back (std::move (record));
      self->sinkpads_.push_back (sinkpad);
    }
    g_assert_cmpint (gst_pad_link (pad, sinkpad), ==, GST_PAD_LINK_OK);
  }
  static void pad_removed (GstElement *, GstPad *, Source *self)
  {
    std::lock_guard<std::mutex> lock (self->mutex_);
    self->removed_++;
  }
  static GstFlowReturn chain (GstPad *pad, GstObject *, GstBuffer *buffer)
  {
    Source *self = source_of (pad);
    CallRecord *record = record_of (pad);
    const guint64 seq = GST_BUFFER_OFFSET (buffer);
    GstFlowReturn flow = GST_FLOW_OK;
    std::unique_lock<std::mutex> lock (self->mutex_);
    if (self->hold_seq_ != 0 && seq == self->hold_seq_) {
      self->holding_ = true;
      flow = self->hold_flow_;
      self->changed_.wait (lock, [self] { return self->hold_seq_ == 0; });
      self->holding_ = false;
    }
    if (flow == GST_FLOW_OK)
      record->buffers.push_back ({GST_BUFFER_PTS (buffer),
          GST_BUFFER_DURATION (buffer), seq,
          test_support::buffer_bytes (buffer)});
    gst_buffer_unref (buffer);
    return flow;
  }
  static gboolean event (GstPad *pad, GstObject *, GstEvent *event)
  {
    Source *self = source_of (pad);
    CallRecord *record = record_of (pad);
    std::lock_guard<std::mutex> lock (self->mutex_);
    record->events.push_back (GST_EVENT_TYPE_NAME (event));
    switch (GST_EVENT_TYPE (event)) {
      case GST_EVENT_STREAM_START:{
        const gchar *id = nullptr;
        gst_event_parse_stream_start (event, &id);
        record->stream_id = id;
        break;
      }
      case GST_EVENT_CAPS:{
        GstCaps *caps = nullptr;
        gst_event_parse_caps (event, &caps);
        g_autofree gchar *text = gst_caps_to_string (caps);
        record->caps.push_back (text);
        break;
      }
      case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
        if (const GstStructure *info = callstream_call_info_event_parse (event)) {
          record->events.back () = "call-info";
          if (record->call_info)
            gst_structure_free (record->call_info);
          record->call_info = gst_structure_copy (info);
        }
        break;
      case GST_EVENT_EOS:
        record->eos = true;
        break;
      default:
        break;
    }
    gst_event_unref (event);
    return TRUE;
  }

  GstElement *element_;
  GstBus *bus_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<CallRecord>> records_;
  std::vector<GstPad *> sinkpads_;
  int removed_ = 0;
  guint64 hold_seq_ = 0;
  GstFlowReturn hold_flow_ = GST_FLOW_OK;
  bool holding_ = false;
};

using Args = std::vector<std::string>;

Args
call_start (const std::string &key, const std::string &id,
    const std::string &payload = "binary", const std::string &encoding = "pcm16",
    const std::string &rate = "8000")
{
  return {"XADD", key, "*", "event", "call_start", "interaction_id", id,
    "stream_sid", "MZ-" + id, "provider", "exotel", "from", "+9100" + id,
    "to", "080", "custom_parameters", "{\"lang\":\"hi-IN\"}", "sample_rate",
    rate, "channels", "1", "encoding", encoding, "payload", payload};
}

std::string
frame_bytes (const std::string &id, guint64 seq)
{
  return pattern_bytes (320, static_cast<int> (seq * 31 + id.size () * 7
          + static_cast<unsigned char> (id.back ())));
}

Args
audio (const std::string &key, const std::string &id, guint64 seq,
    std::string bytes = {}, const std::string &encoding = "pcm16",
    const std::string &rate = "8000")
{
  if (bytes.empty ())
    bytes = frame_bytes (id, seq);
  return {"XADD", key, "*", "event", "audio", "interaction_id", id,
    "stream_sid", "MZ-" + id, "seq", std::to_string (seq), "timestamp_ms",
    std::to_string ((seq - 1) * 20), "sample_rate", rate, "channels", "1",
    "encoding", encoding, "audio", bytes};
}

Args
call_end (const std::string &key, const std::string &id, guint64 frames)
{
  return {"XADD", key, "*", "event", "call_end", "interaction_id", id,
    "stream_sid", "MZ-" + id, "frames", std::to_string (frames), "dropped",
    "0", "reason", "eos"};
}

Args
index_entry (const std::string &event, const std::string &id)
{
  return {"XADD", "calls", "*", "event", event, "interaction_id", id,
    "stream_sid", "MZ-" + id, "stream", "audio:{" + id + "}"};
}

// A whole call of @frames frames in its own stream, announced in "calls".
void
write_indexed_call (RedisServer &redis, const std::string &id, guint64 frames)
{
  const std::string key = "audio:{" + id + "}";
  redis.commands ({call_start (key, id), index_entry ("call_start", id)});
  for (guint64 seq = 1; seq <= frames; seq++)
    redis.command (audio (key, id, seq));
  redis.commands ({call_end (key, id, frames), index_entry ("call_end", id)});
}

// Entries delivered to the group and not acknowledged.
long long
pending (RedisServer &redis, const std::string &key, const std::string &group)
{
  auto reply = redis.command ({"XPENDING", key, group});
  if (reply->type == REDIS_REPLY_ERROR)
    return -1;                  /* no group yet */
  g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
  return reply->element[0]->integer;
}

std::vector<guint64>
range (guint64 first, guint64 last)
{
  std::vector<guint64> out;
  for (guint64 seq = first; seq <= last; seq++)
    out.push_back (seq);
  return out;
}

void
assert_seqs (const std::vector<guint64> &got, const std::vector<guint64> &want)
{
  if (got != want) {
    std::string text;
    for (guint64 seq : got)
      text += std::to_string (seq) + " ";
    g_error ("got seqs [%s], want %zu of them from %" G_GUINT64_FORMAT,
        text.c_str (), want.size (), want.empty () ? 0 : want.front ());
  }
}

// The call's buffers are frames first..last of frame_bytes, 20 ms apart.
void
assert_frames (CallRecord *record, const std::string &id, guint64 first,
    guint64 last, size_t from = 0)
{
  g_assert_nonnull (record);
  g_assert_cmpuint (record->buffers.size (), >=, from + last - first + 1);
  for (guint64 seq = first; seq <= last; seq++) {
    const Buffer &b = record->buffers[from + seq - first];
    g_assert_cmpuint (b.seq, ==, seq);
    g_assert_cmpuint (b.pts, ==, (seq - 1) * 20 * GST_MSECOND);
    g_assert_cmpuint (b.duration, ==, 20 * GST_MSECOND);
    g_assert_true (b.bytes == frame_bytes (id, seq));
  }
}

/* ---- Tests ---- */

// A real redisstreamsink writes one call of @frames 20 ms frames.
void
sink_writes_call (RedisServer &redis, const std::string &properties,
    const char *caps, const std::string &id, guint frames, gsize frame_size)
{
  g_autoptr (GError) error = nullptr;
  GstElement *sink = gst_parse_launch (("redisstreamsink redis-url="
          + redis.url () + " " + properties).c_str (), &error);
  g_assert_no_error (error);
  GstHarness *h = gst_harness_new_with_element (sink, "sink", nullptr);
  gst_object_unref (sink);
  gst_harness_set_src_caps_str (h, caps);
  GstStructure *params = gst_structure_new ("custom-parameters",
      "lang", G_TYPE_STRING, "hi-IN", nullptr);
  GstStructure *info = gst_structure_new (CALLSTREAM_CALL_INFO_NAME,
      "provider", G_TYPE_STRING, "twilio", "call-sid", G_TYPE_STRING,
      id.c_str (), "stream-sid", G_TYPE_STRING, ("MZ-" + id).c_str (),
      "from", G_TYPE_STRING, "+15550001", "to", G_TYPE_STRING, "+15550002",
      "custom-parameters", GST_TYPE_STRUCTURE, params, nullptr);
  gst_structure_free (params);
  g_assert_true (gst_harness_push_event (h,
          callstream_call_info_event_new (info)));
  for (guint n = 1; n <= frames; n++) {
    const std::string bytes = pattern_bytes (frame_size, n);
    GstBuffer *buffer = gst_buffer_new_memdup (bytes.data (), bytes.size ());
    GST_BUFFER_PTS (buffer) = 1000 * GST_MSECOND + (n - 1) * 20 * GST_MSECOND;
    GST_BUFFER_DURATION (buffer) = 20 * GST_MSECOND;
    g_assert_cmpint (gst_harness_push (h, buffer), ==, GST_FLOW_OK);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  gst_harness_teardown (h);
}

void
test_caps_and_timestamps ()
{
  RedisServer redis;
  sink_writes_call (redis, "stream=s payload=binary",
      "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=2",
      "CA-pcm", 5, 1280);
  sink_writes_call (redis, "stream=s payload=base64",
      "audio/x-mulaw,rate=8000,channels=1", "CA-mulaw", 5, 160);
  Source src ("redis-url=" + redis.url () + " stream=s group=g start-id=0");
  src.play ();
  g_assert_true (wait_until ([&] {
        return src.call_ended ("CA-pcm") && src.call_ended ("CA-mulaw"); }));

  const std::pair<const char *, gsize> calls[] = {{"CA-pcm", 1280},
    {"CA-mulaw", 160}};
  for (const auto &[id, size] : calls) {
    CallRecord *record = src.call (id);
    g_assert_cmpuint (record->buffers.size (), ==, 5);
    for (guint n = 1; n <= 5; n++) {
      const Buffer &b = record->buffers[n - 1];
      g_assert_cmpuint (b.pts, ==, 1000 * GST_MSECOND + (n - 1) * 20 * GST_MSECOND);
      g_assert_cmpuint (b.duration, ==, 20 * GST_MSECOND);
      g_assert_true (b.bytes == pattern_bytes (size, n));
    }
    g_assert_cmpuint (record->caps.size (), ==, 1);
  }
  expect_eq (src.call ("CA-pcm")->caps[0], "audio/x-raw, format=(string)S16LE, "
      "layout=(string)interleaved, rate=(int)16000, channels=(int)2");
  expect_eq (src.call ("CA-mulaw")->caps[0],
      "audio/x-mulaw, rate=(int)8000, channels=(int)1");
  g_assert_true (src.take_warnings ().empty ());
}

void
test_interleaved_calls ()
{
  RedisServer redis;
  Source src ("redis-url=" + redis.url () + " stream=s group=g");
  src.play ();
  g_assert_true (wait_until ([&] {
        return redis.integer ({"EXISTS", "s"}) == 1; }));
  const char *ids[] = {"CA1", "CA2", "CA3"};
  for (const char *id : ids)
    redis.command (call_start ("s", id));
  for (guint64 seq = 1; seq <= 20; seq++)
    for (const char *id : ids)
      redis.command (audio ("s", id, seq));
  for (const char *id : ids)
    redis.command (call_end ("s", id, 20));
  g_assert_true (wait_until ([&] {
        return src.pads_removed () == 3; }));

  g_assert_cmpuint (src.pads_added (), ==, 3);
  std::set<std::string> pad_names;
  for (const char *id : ids) {
    CallRecord *record = src.call (id);
    assert_frames (record, id, 1, 20);
    g_assert_cmpuint (record->buffers.size (), ==, 20);
    g_assert_true (record->eos);
    pad_names.insert (record->pad_name);
    // Event order, and the stream id names the call.
    const std::vector<std::string> want = {"stream-start", "caps", "call-info",
      "segment"};
    g_assert_true (std::vector<std::string> (record->events.begin (),
            record->events.begin () + 4) == want);
    expect_eq (record->events.back (), "eos");
    g_assert_true (g_str_has_suffix (record->stream_id.c_str (), id));
    // The call-info event, as redisstreamsink and the daemon read it.
    const GstStructure *info = record->call_info;
    expect_eq (gst_structure_get_string (info, "call-sid"), id);
    expect_eq (gst_structure_get_string (info, "stream-sid"),
        std::string ("MZ-") + id);
    expect_eq (gst_structure_get_string (info, "provider"), "exotel");
    expect_eq (gst_structure_get_string (info, "from"),
        std::string ("+9100") + id);
    expect_eq (gst_structure_get_string (info, "to"), "080");
    const GValue *params = gst_structure_get_value (info, "custom-parameters");
    g_assert_true (params && GST_VALUE_HOLDS_STRUCTURE (params));
    expect_eq (gst_structure_get_string (gst_value_get_structure (params),
            "lang"), "hi-IN");
  }
  g_assert_cmpuint (pad_names.size (), ==, 3);
  g_assert_cmpuint (GST_ELEMENT (src.element ())->numsrcpads, ==, 0);
  g_assert_cmpint (pending (redis, "s", "g"), ==, 0);
  g_assert_true (src.take_warnings ().empty ());
}

// A format change mid-call comes out as new caps before the buffer.
void
test_format_change ()
{
  RedisServer redis;
  redis.commands ({call_start ("s", "CA1"), audio ("s", "CA1", 1),
        audio ("s", "CA1", 2, pattern_bytes (640, 2), "pcm16", "16000"),
        call_end ("s", "CA1", 2)});
  Source src ("redis-url=" + redis.url () + " stream=s group=g start-id=0");
  src.play ();
  g_assert_true (wait_until ([&] { return src.call_ended ("CA1"); }));
  CallRecord *record = src.call ("CA1");
  g_assert_cmpuint (record->caps.size (), ==, 2);
  g_assert_true (g_strrstr (record->caps[1].c_str (), "rate=(int)16000"));
  g_assert_cmpuint (record->buffers[1].duration, ==, 20 * GST_MSECOND);
  g_assert_cmpint (gst_structure_get_string (record->call_info, "encoding")
      != nullptr, ==, TRUE);
  int rate = 0;
  gst_structure_get_int (record->call_info, "sample-rate", &rate);
  g_assert_cmpint (rate, ==, 16000);
}

void
test_ack_after_downstream ()
{
  RedisServer redis;
  redis.commands ({call_start ("s", "CA1"), audio ("s", "CA1", 1),
        audio ("s", "CA1", 2), audio ("s", "CA1", 3)});
  Source src ("redis-url=" + redis.url () + " stream=s group=g start-id=0");
  src.hold_at (2);
  src.play ();
  g_assert_true (wait_until ([&] { return src.holding (); }));
  // Entry 2 is in the sink, 3 delivered to us: neither acknowledged yet.
  g_assert_cmpint (pending (redis, "s", "g"), ==, 2);
  g_usleep (200 * 1000);
  g_assert_cmpint (pending (redis, "s", "g"), ==, 2);
  src.release ();
  g_assert_true (wait_until ([&] { return pending (redis, "s", "g") == 0; }));
  g_assert_cmpuint (src.buffers_of ("CA1"), ==, 3);
}

// A consumer restarted under the same name replays what it had not
// acknowledged, and nothing it had.
void
test_claims_pending_after_restart ()
{
  RedisServer redis;
  std::vector<Args> entries = {call_start ("s", "CA1")};
  for (guint64 seq = 1; seq <= 10; seq++)
    entries.push_back (audio ("s", "CA1", seq));
  entries.push_back (call_end ("s", "CA1", 10));
  redis.commands (entries);
  std::vector<guint64> first_seqs;
  {
    Source first ("redis-url=" + redis.url ()
        + " stream=s group=g consumer=worker-1 start-id=0 count=100");
    // The sink shuts down while frame 5 is in it.
    first.hold_at (5, GST_FLOW_FLUSHING);
    first.play ();
    g_assert_true (wait_until ([&] { return first.holding (); }));
    first.release ();
    g_assert_true (wait_until ([&] {
          return GST_ELEMENT (first.element ())->numsrcpads == 1; }));
    g_usleep (100 * 1000);
    first.stop ();
    first_seqs = first.call ("CA1")->seqs ();
  }
  assert_seqs (first_seqs, range (1, 4));
  // 5..10 and call_end were delivered to worker-1 and never acknowledged.
  g_assert_cmpint (pending (redis, "s", "g"), ==, 7);

  Source second ("redis-url=" + redis.url ()
      + " stream=s group=g consumer=worker-1");
  second.play ();
  g_assert_true (wait_until ([&] { return second.call_ended ("CA1"); }));
  CallRecord *record = second.call ("CA1");
  assert_seqs (record->seqs (), range (5, 10));
  assert_frames (record, "CA1", 5, 10);
  g_assert_cmpint (pending (redis, "s", "g"), ==, 0);
}

// Duplicates (the sink's at-least-once resend) are dropped by seq.
void
test_duplicates_dropped ()
{
  RedisServer redis;
  redis.commands ({call_start ("s", "CA1"), audio ("s", "CA1", 1),
        audio ("s", "CA1", 2), audio ("s", "CA1", 1), audio ("s", "CA1", 2),
        audio ("s", "CA1", 3), call_start ("s", "CA1"),
        call_end ("s", "CA1", 3), audio ("s", "CA1", 3),
        call_end ("s", "CA1", 3)});
  Source src ("redis-url=" + redis.url () + " stream=s group=g start-id=0");
  src.play ();
  g_assert_true (wait_until ([&] { return pending (redis, "s", "g") == 0
              && redis.integer ({"XLEN", "s"}) == 10 && src.call_ended ("CA1"); }));
  g_usleep (100 * 1000);
  assert_seqs (src.call ("CA1")->seqs (), range (1, 3));
  g_assert_cmpuint (src.pads_added (), ==, 1);
}

void
test_index_two_consumers_split_calls ()
{
  RedisServer redis;
  const std::string common = "redis-url=" + redis.url ()
      + " index-stream=calls group=g start-id=0 claim-idle-ms=5000";
  Source a (common + " consumer=a");
  Source b (common + " consumer=b");
  a.play ();
  b.play ();
  const int kCalls = 8;
  for (int i = 0; i < kCalls; i++)
    write_indexed_call (redis, "CA" + std::to_string (i), 15);
  g_assert_true (wait_until ([&] {
        return a.pads_removed () + b.pads_removed () == kCalls; }));
  for (int i = 0; i < kCalls; i++) {
    const std::string id = "CA" + std::to_string (i);
    Source &owner = a.call (id) != nullptr ? a : b;
    Source &other = &owner == &a ? b : a;
    g_assert_null (other.call (id));
    assert_frames (owner.call (id), id, 1, 15);
    g_assert_cmpuint (owner.call (id)->buffers.size (), ==, 15);
    g_assert_true (owner.call (id)->eos);
    g_assert_cmpint (pending (redis, "audio:{" + id + "}", "g"), ==, 0);
  }
  g_test_message ("consumer a had %zu calls, b %zu", a.pads_added (),
      b.pads_added ());
  g_assert_cmpint (pending (redis, "calls", "g"), ==, 0);
}

// Worker a stops mid-call without acknowledging (a crash); after
// claim-idle-ms worker b takes the call over where a left it.
void
test_index_takeover ()
{
  RedisServer redis;
  const std::string common = "redis-url=" + redis.url ()
      + " index-stream=calls group=g start-id=0 claim-idle-ms=600 count=100";
  const std::string key = "audio:{CA1}";
  redis.commands ({call_start (key, "CA1"), index_entry ("call_start", "CA1")});
  for (guint64 seq = 1; seq <= 10; seq++)
    redis.command (audio (key, "CA1", seq));
  std::vector<guint64> a_seqs;
  {
    Source a (common + " consumer=a");
    a.hold_at (6, GST_FLOW_FLUSHING);
    a.play ();
    g_assert_true (wait_until ([&] { return a.holding (); }));
    a.release ();
    g_usleep (100 * 1000);
    a.stop ();
    a_seqs = a.call ("CA1")->seqs ();
  }
  assert_seqs (a_seqs, range (1, 5));
  Source b (common + " consumer=b");
  b.play ();
  for (guint64 seq = 11; seq <= 20; seq++)
    redis.command (audio (key, "CA1", seq));
  redis.commands ({call_end (key, "CA1", 20), index_entry ("call_end", "CA1")});
  g_assert_true (wait_until ([&] { return b.call_ended ("CA1"); }));
  CallRecord *record = b.call ("CA1");
  assert_seqs (record->seqs (), range (6, 20));
  assert_frames (record, "CA1", 6, 20);
  // The call's description came from its call_start, acknowledged by a.
  expect_eq (gst_structure_get_string (record->call_info, "provider"),
      "exotel");
  bool warned = false;
  for (const std::string &w : b.take_warnings ())
    warned |= w.find ("Took over call CA1") != std::string::npos;
  g_assert_true (warned);
  g_assert_cmpint (pending (redis, "calls", "g"), ==, 0);
  g_assert_cmpint (pending (redis, key, "g"), ==, 0);
}

void
test_malformed_entries ()
{
  RedisServer redis;
  Args no_seq = audio ("s", "CA1", 2);
  no_seq.erase (no_seq.begin () + 9, no_seq.begin () + 11);
  Args bad_rate = audio ("s", "CA1", 2);
  bad_rate[14] = "0";
  redis.commands ({call_start ("s", "CA1"), call_start ("s", "CA2", "base64"),
        audio ("s", "CA1", 1), no_seq,
        audio ("s", "CA2", 1, test_support::base64_of (frame_bytes ("CA2", 1))),
        audio ("s", "CA2", 2, "not*base64"),
        audio ("s", "CA1", 2, "odd"), bad_rate,
        {"XADD", "s", "*", "event", "ring"},
        audio ("s", "CA1", 2),
        audio ("s", "CA2", 2, test_support::base64_of (frame_bytes ("CA2", 2))),
        call_end ("s", "CA1", 2), call_end ("s", "CA2", 2)});
  const auto entries = redis.xrange ("s");
  Source src ("redis-url=" + redis.url () + " stream=s group=g start-id=0");
  src.play ();
  g_assert_true (wait_until ([&] {
        return src.call_ended ("CA1") && src.call_ended ("CA2"); }));
  assert_frames (src.call ("CA1"), "CA1", 1, 2);
  assert_frames (src.call ("CA2"), "CA2", 1, 2);
  g_assert_true (wait_until ([&] { return pending (redis, "s", "g") == 0; }));
  const std::vector<std::string> warnings = src.take_warnings ();
  for (const std::string &w : warnings)
    g_test_message ("%s", w.c_str ());
  const std::pair<size_t, const char *> want[] = {
    {3, "missing field seq"},
    {5, "audio is not valid base64"},
    {6, "audio is 3 bytes, not a whole number of 2-byte sample frames"},
    {7, "sample_rate is \"0\""},
    {8, "event is \"ring\""},
  };
  g_assert_cmpuint (warnings.size (), ==, G_N_ELEMENTS (want));
  for (size_t i = 0; i < G_N_ELEMENTS (want); i++) {
    const std::string head = "Skipped malformed entry " + entries[want[i].first].id
        + " of stream s: ";
    if (warnings[i].rfind (head, 0) != 0
        || warnings[i].find (want[i].second) == std::string::npos)
      g_error ("warning %zu: %s", i, warnings[i].c_str ());
  }
  guint64 malformed = 0;
  g_object_get (src.element (), "malformed", &malformed, nullptr);
  g_assert_cmpuint (malformed, ==, 5);
}

void
test_redis_restart ()
{
  RedisServer::Options options;
  options.append_only = true;
  RedisServer redis (options);
  Source src ("redis-url=" + redis.url () + " stream=s group=g start-id=0");
  redis.command (call_start ("s", "CA1"));
  for (guint64 seq = 1; seq <= 10; seq++)
    redis.command (audio ("s", "CA1", seq));
  src.play ();
  g_assert_true (wait_until ([&] { return src.buffers_of ("CA1") == 10
              && pending (redis, "s", "g") == 0; }));
  redis.stop ();
  g_usleep (300 * 1000);
  redis.start ();
  for (guint64 seq = 11; seq <= 20; seq++)
    redis.command (audio ("s", "CA1", seq));
  redis.command (call_end ("s", "CA1", 20));
  g_assert_true (wait_until ([&] { return src.call_ended ("CA1"); }));
  assert_frames (src.call ("CA1"), "CA1", 1, 20);
  assert_seqs (src.call ("CA1")->seqs (), range (1, 20));
  size_t lost = 0;
  for (const std::string &w : src.take_warnings ())
    lost += w.find ("Lost Redis at") != std::string::npos;
  g_assert_cmpuint (lost, ==, 1);
}

// Stopping does not wait out a long BLOCK.
void
test_stop_while_blocked ()
{
  RedisServer redis;
  Source src ("redis-url=" + redis.url () + " stream=s group=g block-ms=60000");
  src.play ();
  g_assert_true (wait_until ([&] {
        auto reply = redis.command ({"CLIENT", "LIST"});
        return g_strrstr (reply->str, "cmd=xreadgroup") != nullptr; }));
  const gint64 start = g_get_monotonic_time ();
  src.stop ();
  const double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("stopped in %.3f s while blocked for 60 s", seconds);
  g_assert_cmpfloat (seconds, <, 30);
}

void
test_bad_url ()
{
  Source src ("redis-url=http://nowhere stream=s group=g");
  g_assert_cmpint (gst_element_set_state (src.element (), GST_STATE_PLAYING),
      ==, GST_STATE_CHANGE_FAILURE);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/redisstreamsrc/caps-and-timestamps-from-sink",
      test_caps_and_timestamps);
  g_test_add_func ("/redisstreamsrc/interleaved-calls-one-pad-each",
      test_interleaved_calls);
  g_test_add_func ("/redisstreamsrc/format-change-new-caps", test_format_change);
  g_test_add_func ("/redisstreamsrc/ack-after-downstream",
      test_ack_after_downstream);
  g_test_add_func ("/redisstreamsrc/claims-pending-after-restart",
      test_claims_pending_after_restart);
  g_test_add_func ("/redisstreamsrc/duplicates-dropped", test_duplicates_dropped);
  g_test_add_func ("/redisstreamsrc/index/two-consumers-split-calls",
      test_index_two_consumers_split_calls);
  g_test_add_func ("/redisstreamsrc/index/takeover-after-claim-idle",
      test_index_takeover);
  g_test_add_func ("/redisstreamsrc/malformed-entries-skipped",
      test_malformed_entries);
  g_test_add_func ("/redisstreamsrc/redis-restart-no-loss", test_redis_restart);
  g_test_add_func ("/redisstreamsrc/stop-while-blocked", test_stop_while_blocked);
  g_test_add_func ("/redisstreamsrc/bad-url", test_bad_url);
  return g_test_run ();
}
