// redisstreamsink against a real redis-server started by each test on a free
// loopback port (or a unix socket): what a consumer reads back with XRANGE,
// byte for byte and in order, through restarts, overflow and bad settings.
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "callstream-events.h"
#include "redis_server.h"
#include "test_support.h"

using test_support::RedisServer;
using test_support::StreamEntry;
using test_support::pattern_bytes;

namespace {

constexpr const char *kPcm8k =
    "audio/x-raw,format=S16LE,layout=interleaved,rate=8000,channels=1";
constexpr gsize kFrameBytes = 320;  // 20 ms of 8 kHz mono PCM16
constexpr GstClockTime kFrameDuration = 20 * GST_MSECOND;

// Polls @done for up to @seconds.
template <typename Predicate>
bool
wait_until (Predicate done, double seconds = 10)
{
  const gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      return false;
    g_usleep (2000);
  }
  return true;
}

// One sink under a harness, with a bus to see its errors and warnings.
class Sink {
 public:
  // @properties: "name=value ..." as gst-launch takes them.
  explicit Sink (const std::string &properties)
      : bus_ (gst_bus_new ())
  {
    g_autoptr (GError) error = nullptr;
    GstElement *element = gst_parse_bin_from_description_full (
        ("redisstreamsink " + properties).c_str (), FALSE, nullptr,
        GST_PARSE_FLAG_NO_SINGLE_ELEMENT_BINS, &error);
    g_assert_no_error (error);
    gst_element_set_bus (element, bus_);
    harness_ = gst_harness_new_with_element (element, "sink", nullptr);
    gst_object_unref (element);
  }
  ~Sink ()
  {
    // Queued messages hold the element, which holds the bus: break the cycle.
    gst_bus_set_flushing (bus_, TRUE);
    gst_harness_teardown (harness_);
    gst_object_unref (bus_);
  }
  Sink (const Sink &) = delete;
  Sink &operator= (const Sink &) = delete;

  GstElement *element () const { return harness_->element; }

  void start_call (const char *call_sid, const char *caps = kPcm8k,
      const char *stream_sid = "MZ-stream")
  {
    gst_harness_set_src_caps_str (harness_, caps);
    push_call_info (call_sid, stream_sid);
  }
  void push_call_info (const char *call_sid, const char *stream_sid)
  {
    GstStructure *params = gst_structure_new ("custom-parameters",
        "lang", G_TYPE_STRING, "hi-IN", "note", G_TYPE_STRING, "say \"hi\"",
        nullptr);
    GstStructure *info = gst_structure_new (CALLSTREAM_CALL_INFO_NAME,
        "provider", G_TYPE_STRING, "exotel",
        "call-sid", G_TYPE_STRING, call_sid,
        "stream-sid", G_TYPE_STRING, stream_sid,
        "account-sid", G_TYPE_STRING, "AC-account",
        "from", G_TYPE_STRING, "+919876543210",
        "to", G_TYPE_STRING, "08012345678",
        "custom-parameters", GST_TYPE_STRUCTURE, params, nullptr);
    gst_structure_free (params);
    g_assert_true (gst_harness_push_event (harness_,
            callstream_call_info_event_new (info)));
  }
  void push (const std::string &bytes, GstClockTime pts)
  {
    GstBuffer *buffer = gst_buffer_new_memdup (bytes.data (), bytes.size ());
    GST_BUFFER_PTS (buffer) = pts;
    GST_BUFFER_DURATION (buffer) = kFrameDuration;
    g_assert_cmpint (gst_harness_push (harness_, buffer), ==, GST_FLOW_OK);
  }
  // Frame @n (1-based) of a call: recognisable bytes at n * 20 ms.
  void push_frame (guint n)
  {
    push (pattern_bytes (kFrameBytes, n), (n - 1) * kFrameDuration);
  }
  void eos ()
  {
    g_assert_true (gst_harness_push_event (harness_, gst_event_new_eos ()));
  }
  guint64 stat (const char *name) const
  {
    guint64 value = 0;
    g_object_get (harness_->element, name, &value, nullptr);
    return value;
  }
  // "message | debug" of each warning so far; fails on any error.
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
  GstBus *bus () const { return bus_; }
  bool push_event (GstEvent *event)
  {
    return gst_harness_push_event (harness_, event);
  }

 private:
  GstBus *bus_;
  GstHarness *harness_;
};

// The error a sink posted on @bus (domain, code, message); fails if none.
struct PostedError {
  GQuark domain;
  gint code;
  std::string message;
};

PostedError
take_error (GstBus *bus, double seconds = 5)
{
  g_autoptr (GstMessage) message = gst_bus_timed_pop_filtered (bus,
      seconds * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (message);
  g_autoptr (GError) error = nullptr;
  g_autofree gchar *debug = nullptr;
  gst_message_parse_error (message, &error, &debug);
  return {error->domain, error->code, error->message};
}

// Starting a sink with @url (state PAUSED) fails; returns the error posted.
PostedError
start_fails (const std::string &url)
{
  GstElement *sink = gst_element_factory_make ("redisstreamsink", nullptr);
  g_object_set (sink, "redis-url", url.c_str (), nullptr);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (sink, bus);
  g_assert_cmpint (gst_element_set_state (sink, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  PostedError error = take_error (bus, 0);
  gst_element_set_state (sink, GST_STATE_NULL);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (sink);
  gst_object_unref (bus);
  return error;
}

bool
contains (const std::string &text, const std::string &part)
{
  return text.find (part) != std::string::npos;
}

void
assert_contains (const std::string &text, const std::string &part)
{
  if (!contains (text, part))
    g_error ("\"%s\" lacks \"%s\"", text.c_str (), part.c_str ());
}

void
assert_field (const StreamEntry &entry, const char *name, const std::string &want)
{
  const std::string got = entry.get (name);
  if (got != want)
    g_error ("entry %s field %s: got \"%s\", want \"%s\"", entry.id.c_str (),
        name, got.c_str (), want.c_str ());
}

void
assert_call_start (const StreamEntry &entry, const std::string &call_sid,
    const char *encoding = "pcm16", const char *rate = "8000",
    const char *channels = "1", const char *payload = "binary")
{
  assert_field (entry, "event", "call_start");
  assert_field (entry, "interaction_id", call_sid);
  assert_field (entry, "stream_sid", "MZ-stream");
  assert_field (entry, "provider", "exotel");
  assert_field (entry, "account_sid", "AC-account");
  assert_field (entry, "from", "+919876543210");
  assert_field (entry, "to", "08012345678");
  assert_field (entry, "custom_parameters",
      "{\"lang\":\"hi-IN\",\"note\":\"say \\\"hi\\\"\"}");
  assert_field (entry, "sample_rate", rate);
  assert_field (entry, "channels", channels);
  assert_field (entry, "encoding", encoding);
  assert_field (entry, "payload", payload);
}

void
assert_audio (const StreamEntry &entry, const std::string &call_sid,
    guint64 seq)
{
  assert_field (entry, "event", "audio");
  assert_field (entry, "interaction_id", call_sid);
  assert_field (entry, "stream_sid", "MZ-stream");
  assert_field (entry, "seq", std::to_string (seq));
  assert_field (entry, "timestamp_ms", std::to_string ((seq - 1) * 20));
  assert_field (entry, "sample_rate", "8000");
  assert_field (entry, "channels", "1");
  assert_field (entry, "encoding", "pcm16");
  g_assert_true (entry.get ("audio") == pattern_bytes (kFrameBytes, seq));
  // The schema's field order.
  const char *order[] = {"event", "interaction_id", "stream_sid", "seq",
    "timestamp_ms", "sample_rate", "channels", "encoding", "audio"};
  g_assert_cmpuint (entry.fields.size (), ==, G_N_ELEMENTS (order));
  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpstr (entry.fields[i].first.c_str (), ==, order[i]);
}

void
assert_call_end (const StreamEntry &entry, const std::string &call_sid,
    guint64 frames, guint64 dropped, const char *reason = "eos")
{
  assert_field (entry, "event", "call_end");
  assert_field (entry, "interaction_id", call_sid);
  assert_field (entry, "frames", std::to_string (frames));
  assert_field (entry, "dropped", std::to_string (dropped));
  assert_field (entry, "reason", reason);
}

std::string
sink_properties (const RedisServer &server, const std::string &extra = "")
{
  return "redis-url=" + server.url () + " " + extra;
}

// ---- tests ----

void
test_round_trip ()
{
  RedisServer server;
  Sink sink (sink_properties (server));
  sink.start_call ("CA-round-trip");
  for (guint n = 1; n <= 50; n++)
    sink.push_frame (n);
  sink.eos ();

  // EOS went on only once everything was acknowledged: no waiting here.
  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 52);
  assert_call_start (entries[0], "CA-round-trip");
  for (guint n = 1; n <= 50; n++)
    assert_audio (entries[n], "CA-round-trip", n);
  assert_call_end (entries[51], "CA-round-trip", 50, 0);
  g_assert_cmpuint (sink.stat ("published"), ==, 50);
  g_assert_cmpuint (sink.stat ("pending"), ==, 0);
  g_assert_cmpuint (sink.stat ("dropped"), ==, 0);
  g_assert_cmpuint (sink.stat ("reconnects"), ==, 0);
  g_assert_true (sink.take_warnings ().empty ());
}

void
test_eos_waits_for_acks ()
{
  RedisServer server;
  Sink sink (sink_properties (server));
  sink.start_call ("CA-eos");
  // 20 s of audio in a few ms: within max-buffer-time, so nothing dropped.
  for (guint n = 1; n <= 1000; n++)
    sink.push_frame (n);
  sink.eos ();
  g_assert_cmpint (server.integer ({"XLEN", "audio_stream"}), ==, 1002);
  g_assert_cmpuint (sink.stat ("published"), ==, 1000);
  g_assert_cmpuint (sink.stat ("pending"), ==, 0);
}

void
test_mulaw_stereo ()
{
  RedisServer server;
  Sink sink (sink_properties (server));
  sink.start_call ("CA-mulaw", "audio/x-mulaw,rate=16000,channels=2");
  const std::string bytes = pattern_bytes (640, 3);
  sink.push (bytes, 0);
  sink.push (bytes, GST_CLOCK_TIME_NONE);  // 20 ms later, from the sample count
  sink.eos ();
  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 4);
  assert_call_start (entries[0], "CA-mulaw", "mulaw", "16000", "2");
  for (int i : {1, 2}) {
    assert_field (entries[i], "encoding", "mulaw");
    assert_field (entries[i], "sample_rate", "16000");
    assert_field (entries[i], "channels", "2");
    assert_field (entries[i], "timestamp_ms", i == 1 ? "0" : "20");
    g_assert_true (entries[i].get ("audio") == bytes);
  }
}

void
test_base64_payload ()
{
  RedisServer server;
  Sink sink (sink_properties (server, "payload=base64"));
  sink.start_call ("CA-b64");
  for (guint n = 1; n <= 3; n++)
    sink.push_frame (n);
  sink.eos ();
  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 5);
  assert_call_start (entries[0], "CA-b64", "pcm16", "8000", "1", "base64");
  for (guint n = 1; n <= 3; n++) {
    gsize size = 0;
    g_autofree guchar *decoded =
        g_base64_decode (entries[n].get ("audio").c_str (), &size);
    g_assert_true (std::string (reinterpret_cast<char *> (decoded), size)
        == pattern_bytes (kFrameBytes, n));
  }
}

void
test_stream_key_placeholders ()
{
  RedisServer server;
  Sink sink (sink_properties (server,
          "stream=calls:{call_sid}:{stream_sid}:{{call_sid}}"));
  sink.start_call ("CA9", kPcm8k, "MZ9");
  sink.push_frame (1);
  sink.eos ();
  g_assert_cmpint (server.integer ({"XLEN", "calls:CA9:MZ9:{CA9}"}), ==, 3);
  g_assert_cmpint (server.integer ({"EXISTS", "audio_stream"}), ==, 0);
}

// Stream entry ids are "<ms>-<seq>", the milliseconds from the server's
// clock and the sequence counted per stream: across two streams only the
// milliseconds compare, and a later entry never has fewer.
bool
not_before (const StreamEntry &later, const StreamEntry &earlier)
{
  auto ms = [] (const std::string &id) {
    return std::stoull (id.substr (0, id.find ('-')));
  };
  return ms (later.id) >= ms (earlier.id);
}

void
test_index_stream_names_each_call ()
{
  RedisServer server;
  Sink sink (sink_properties (server,
          "stream=audio:{{call_sid}} index-stream=calls"));
  sink.start_call ("CA-first");
  sink.push_frame (1);
  sink.push_call_info ("CA-second", "MZ-stream");
  sink.push_frame (1);
  sink.push_frame (2);
  sink.eos ();

  auto first = server.xrange ("audio:{CA-first}");
  auto second = server.xrange ("audio:{CA-second}");
  g_assert_cmpuint (first.size (), ==, 3);
  g_assert_cmpuint (second.size (), ==, 4);
  auto index = server.xrange ("calls");
  g_assert_cmpuint (index.size (), ==, 4);
  const struct {
    const char *event, *call, *stream;
    const StreamEntry &after;
  } want[] = {
    {"call_start", "CA-first", "audio:{CA-first}", first.front ()},
    {"call_end", "CA-first", "audio:{CA-first}", first.back ()},
    {"call_start", "CA-second", "audio:{CA-second}", second.front ()},
    {"call_end", "CA-second", "audio:{CA-second}", second.back ()},
  };
  for (size_t i = 0; i < G_N_ELEMENTS (want); i++) {
    assert_field (index[i], "event", want[i].event);
    assert_field (index[i], "interaction_id", want[i].call);
    assert_field (index[i], "stream_sid", "MZ-stream");
    assert_field (index[i], "stream", want[i].stream);
    g_assert_cmpuint (index[i].fields.size (), ==, 4);
    g_assert_true (not_before (index[i], want[i].after));
  }
  // The index entry follows its call's entry, before the call goes on.
  g_assert_true (not_before (first[1], index[0]));
}

void
test_no_index_stream_by_default ()
{
  RedisServer server;
  Sink sink (sink_properties (server));
  sink.start_call ("CA-plain");
  sink.push_frame (1);
  sink.eos ();
  g_assert_cmpuint (server.xrange ("audio_stream").size (), ==, 3);
  g_assert_cmpint (server.integer ({"DBSIZE"}), ==, 1);
}

void
test_maxlen_trims ()
{
  RedisServer server;
  Sink sink (sink_properties (server, "maxlen=10"));
  sink.start_call ("CA-maxlen");
  for (guint n = 1; n <= 1000; n++)
    sink.push_frame (n);
  sink.eos ();
  // Approximate trimming keeps whole nodes (100 entries by default).
  const long long length = server.integer ({"XLEN", "audio_stream"});
  g_assert_cmpint (length, >=, 10);
  g_assert_cmpint (length, <=, 110);
  auto entries = server.xrange ("audio_stream");
  assert_call_end (entries.back (), "CA-maxlen", 1000, 0);
  assert_audio (entries[entries.size () - 2], "CA-maxlen", 1000);
}

void
test_unix_socket ()
{
  RedisServer::Options options;
  options.tcp = false;
  options.unix_socket = true;
  RedisServer server (options);
  Sink sink ("redis-url=unix://" + server.socket_path ());
  sink.start_call ("CA-unix");
  for (guint n = 1; n <= 10; n++)
    sink.push_frame (n);
  sink.eos ();
  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 12);
  for (guint n = 1; n <= 10; n++)
    assert_audio (entries[n], "CA-unix", n);
}

void
test_many_sinks_keep_call_order ()
{
  constexpr guint kCalls = 100;
  constexpr guint kFrames = 50;
  RedisServer server;
  std::vector<std::unique_ptr<Sink>> sinks;
  for (guint c = 0; c < kCalls; c++) {
    sinks.push_back (std::make_unique<Sink> (sink_properties (server)));
    sinks.back ()->start_call (("CA" + std::to_string (c)).c_str ());
  }
  for (guint n = 1; n <= kFrames; n++)
    for (auto &sink : sinks)
      sink->push_frame (n);
  // One connection for all of them (plus the one asking).
  auto clients = server.command ({"CLIENT", "LIST", "TYPE", "normal"});
  const std::string list (clients->str, clients->len);
  g_assert_cmpint (std::count (list.begin (), list.end (), '\n'), ==, 2);
  for (auto &sink : sinks)
    sink->eos ();

  std::map<std::string, std::vector<StreamEntry>> by_call;
  for (StreamEntry &entry : server.xrange ("audio_stream"))
    by_call[entry.get ("interaction_id")].push_back (std::move (entry));
  g_assert_cmpuint (by_call.size (), ==, kCalls);
  for (auto &[call, entries] : by_call) {
    g_assert_cmpuint (entries.size (), ==, kFrames + 2);
    assert_field (entries.front (), "event", "call_start");
    for (guint n = 1; n <= kFrames; n++)
      assert_audio (entries[n], call, n);
    assert_call_end (entries.back (), call, kFrames, 0);
  }
  for (auto &sink : sinks)
    g_assert_cmpuint (sink->stat ("published"), ==, kFrames);
}

// Per call: seq 1..@frames each present, in order. A seq seen again (an
// entry re-sent after a reconnect: at-least-once) must repeat the same bytes.
void
assert_complete_in_order (const std::vector<StreamEntry> &entries,
    const std::string &call, guint64 first, guint64 frames)
{
  guint64 highest = first - 1;
  guint duplicates = 0;
  for (const StreamEntry &entry : entries) {
    if (entry.get ("event") != "audio")
      continue;
    const guint64 seq = g_ascii_strtoull (entry.get ("seq").c_str (), nullptr,
        10);
    if (seq <= highest) {
      duplicates++;
    } else {
      g_assert_cmpuint (seq, ==, highest + 1);
      highest = seq;
    }
    assert_audio (entry, call, seq);
  }
  g_assert_cmpuint (highest, ==, frames);
  g_test_message ("%u entries sent twice", duplicates);
}

void
test_redis_restart_loses_nothing ()
{
  RedisServer::Options options;
  options.append_only = true;  // so what it had before survives the restart
  RedisServer server (options);
  Sink sink (sink_properties (server, "flush-timeout=20000"));
  sink.start_call ("CA-restart");
  for (guint n = 1; n <= 50; n++)
    sink.push_frame (n);
  g_assert_true (wait_until ([&] { return sink.stat ("published") == 50; }));

  server.stop ();
  const gint64 before = g_get_monotonic_time ();
  for (guint n = 51; n <= 150; n++)
    sink.push_frame (n);
  // Nothing waits on the network while Redis is gone.
  g_assert_cmpint (g_get_monotonic_time () - before, <, G_USEC_PER_SEC / 2);
  g_assert_cmpuint (sink.stat ("pending"), ==, 100);

  server.start ();
  for (guint n = 151; n <= 200; n++)
    sink.push_frame (n);
  sink.eos ();

  g_assert_cmpuint (sink.stat ("published"), ==, 200);
  g_assert_cmpuint (sink.stat ("dropped"), ==, 0);
  g_assert_cmpuint (sink.stat ("reconnects"), >=, 1);
  auto entries = server.xrange ("audio_stream");
  assert_field (entries.front (), "event", "call_start");
  assert_call_end (entries.back (), "CA-restart", 200, 0);
  assert_complete_in_order (entries, "CA-restart", 1, 200);
  g_assert_true (sink.take_warnings ().empty ());
}

// A server that stalls (stopped, connection open): frames queue up behind
// the ones already on the socket and all go, in order, once it answers.
void
test_slow_redis_keeps_order ()
{
  RedisServer server;
  Sink sink (sink_properties (server, "flush-timeout=20000"));
  sink.start_call ("CA-slow");
  for (guint n = 1; n <= 50; n++)
    sink.push_frame (n);
  g_assert_true (wait_until ([&] { return sink.stat ("published") == 50; }));

  server.pause ();
  const gint64 before = g_get_monotonic_time ();
  for (guint n = 51; n <= 650; n++) {
    sink.push_frame (n);
    if (n % 50 == 0)
      g_usleep (20000);  // let the Redis thread put some on the socket
  }
  g_assert_cmpint (g_get_monotonic_time () - before, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (sink.stat ("published"), ==, 50);
  g_assert_cmpuint (sink.stat ("pending"), ==, 600);
  server.resume ();
  sink.eos ();

  g_assert_cmpuint (sink.stat ("published"), ==, 650);
  g_assert_cmpuint (sink.stat ("dropped"), ==, 0);
  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 652);
  assert_complete_in_order (entries, "CA-slow", 1, 650);
  assert_call_end (entries.back (), "CA-slow", 650, 0);
}

void
test_overflow_drops_oldest ()
{
  const int port = RedisServer::free_port ();
  // Nobody listens yet: the sink starts anyway and frames wait.
  Sink sink ("redis-url=redis://127.0.0.1:" + std::to_string (port)
      + " max-buffer-time=200 flush-timeout=20000");
  sink.start_call ("CA-overflow");
  for (guint n = 1; n <= 50; n++)
    sink.push_frame (n);
  // 200 ms is 10 frames: the 40 oldest went.
  g_assert_cmpuint (sink.stat ("dropped"), ==, 40);
  g_assert_cmpuint (sink.stat ("pending"), ==, 10);
  auto warnings = sink.take_warnings ();
  g_assert_cmpuint (warnings.size (), ==, 1);  // rate-limited
  assert_contains (warnings[0], "dropped the oldest 1 audio frame of call "
      "CA-overflow");

  // Redis comes: what was kept is published, the gap visible in seq.
  RedisServer::Options options;
  options.port = port;
  RedisServer server (options);
  sink.eos ();
  g_assert_cmpuint (sink.stat ("published"), ==, 10);
  g_assert_cmpuint (sink.stat ("dropped"), ==, 40);
  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 12);
  assert_call_start (entries[0], "CA-overflow");
  for (guint n = 41; n <= 50; n++)
    assert_audio (entries[n - 40], "CA-overflow", n);
  assert_call_end (entries[11], "CA-overflow", 50, 40);
}

// The server's password changes under a running sink: the refusal met on
// reconnecting is an element error naming it.
void
test_password_changed_mid_call ()
{
  RedisServer::Options options;
  options.password = "s3cret";
  RedisServer server (options);
  Sink sink ("redis-url=redis://:s3cret@127.0.0.1:"
      + std::to_string (server.port ()));
  sink.start_call ("CA-repassword");
  sink.push_frame (1);
  g_assert_true (wait_until ([&] { return sink.stat ("published") == 1; }));
  server.commands ({{"CONFIG", "SET", "requirepass", "changed"},
        {"CLIENT", "KILL", "TYPE", "normal"}});
  PostedError error = take_error (sink.bus (), 10);
  g_assert_true (error.domain == GST_RESOURCE_ERROR);
  g_assert_cmpint (error.code, ==, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  assert_contains (error.message, "WRONGPASS");
  // Frames still wait rather than block or fail.
  sink.push_frame (2);
  g_assert_cmpuint (sink.stat ("pending"), ==, 1);
}

// A call-info for another call ends the current one; after EOS and a flush
// the next buffer starts a new call, its seq from 1 again.
void
test_calls_in_turn ()
{
  RedisServer server;
  Sink sink (sink_properties (server));
  sink.start_call ("CA-first");
  sink.push_frame (1);
  sink.push_frame (2);
  sink.push_call_info ("CA-second", "MZ-stream");
  sink.push_frame (1);
  sink.eos ();
  g_assert_true (sink.push_event (gst_event_new_flush_start ()));
  g_assert_true (sink.push_event (gst_event_new_flush_stop (TRUE)));
  g_assert_true (sink.push_event (gst_event_new_stream_start ("third")));
  sink.start_call ("CA-third");
  sink.push_frame (1);
  sink.eos ();

  auto entries = server.xrange ("audio_stream");
  g_assert_cmpuint (entries.size (), ==, 10);
  assert_call_start (entries[0], "CA-first");
  assert_audio (entries[1], "CA-first", 1);
  assert_audio (entries[2], "CA-first", 2);
  assert_call_end (entries[3], "CA-first", 2, 0, "new-call");
  assert_call_start (entries[4], "CA-second");
  assert_audio (entries[5], "CA-second", 1);
  assert_call_end (entries[6], "CA-second", 1, 0);
  assert_call_start (entries[7], "CA-third");
  assert_audio (entries[8], "CA-third", 1);
  assert_call_end (entries[9], "CA-third", 1, 0);
  g_assert_cmpuint (sink.stat ("published"), ==, 4);
}

void
test_bad_url ()
{
  struct {
    const char *url, *part;
  } cases[] = {
    {"redis://127.0.0.1:notaport", "port \"notaport\" is not a number"},
    {"http://127.0.0.1:6379", "unsupported scheme \"http\""},
    {"redis://:hunter2@127.0.0.1:99999", "port \"99999\""},
    {"unix://relative.sock", "absolute"},
  };
  for (const auto &c : cases) {
    PostedError error = start_fails (c.url);
    g_assert_true (error.domain == GST_RESOURCE_ERROR);
    g_assert_cmpint (error.code, ==, GST_RESOURCE_ERROR_SETTINGS);
    assert_contains (error.message, "Invalid redis-url");
    assert_contains (error.message, c.part);
    g_assert_false (contains (error.message, "hunter2"));
  }
}

void
test_bad_password ()
{
  RedisServer::Options options;
  options.password = "s3cret";
  RedisServer server (options);
  const std::string host = "127.0.0.1:" + std::to_string (server.port ());

  PostedError wrong = start_fails ("redis://:wrong@" + host);
  g_assert_true (wrong.domain == GST_RESOURCE_ERROR);
  g_assert_cmpint (wrong.code, ==, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  assert_contains (wrong.message, "WRONGPASS");
  assert_contains (wrong.message, "redis://:***@" + host);
  g_assert_false (contains (wrong.message, "wrong@"));

  PostedError missing = start_fails ("redis://" + host);
  g_assert_cmpint (missing.code, ==, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  assert_contains (missing.message, "NOAUTH");

  PostedError bad_db = start_fails ("redis://:s3cret@" + host + "/99");
  g_assert_cmpint (bad_db.code, ==, GST_RESOURCE_ERROR_SETTINGS);
  assert_contains (bad_db.message, "DB index is out of range");

  // The right one works, in the database it names.
  Sink sink ("redis-url=redis://:s3cret@" + host + "/2");
  sink.start_call ("CA-auth");
  sink.push_frame (1);
  sink.eos ();
  g_assert_cmpint (server.integer ({"EXISTS", "audio_stream"}), ==, 0);
  auto reply = server.command ({"EVAL",
        "redis.call('SELECT', 2) return redis.call('XLEN', 'audio_stream')",
        "0"});
  g_assert_cmpint (reply->integer, ==, 3);
}

void
test_flush_timeout ()
{
  const int port = RedisServer::free_port ();
  Sink sink ("redis-url=redis://127.0.0.1:" + std::to_string (port)
      + " flush-timeout=300");
  sink.start_call ("CA-timeout");
  for (guint n = 1; n <= 5; n++)
    sink.push_frame (n);
  const gint64 before = g_get_monotonic_time ();
  sink.eos ();
  const gint64 waited = g_get_monotonic_time () - before;
  g_assert_cmpint (waited, >=, 250 * 1000);
  g_assert_cmpint (waited, <, 3 * G_USEC_PER_SEC);
  auto warnings = sink.take_warnings ();
  g_assert_cmpuint (warnings.size (), ==, 1);
  assert_contains (warnings[0], "did not acknowledge 7 entries of call "
      "CA-timeout within flush-timeout (300 ms)");
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/redisstreamsink/round-trip", test_round_trip);
  g_test_add_func ("/redisstreamsink/eos-waits-for-acks",
      test_eos_waits_for_acks);
  g_test_add_func ("/redisstreamsink/mulaw-stereo", test_mulaw_stereo);
  g_test_add_func ("/redisstreamsink/base64-payload", test_base64_payload);
  g_test_add_func ("/redisstreamsink/stream-key-placeholders",
      test_stream_key_placeholders);
  g_test_add_func ("/redisstreamsink/index-stream-names-each-call",
      test_index_stream_names_each_call);
  g_test_add_func ("/redisstreamsink/no-index-stream-by-default",
      test_no_index_stream_by_default);
  g_test_add_func ("/redisstreamsink/maxlen-trims", test_maxlen_trims);
  g_test_add_func ("/redisstreamsink/unix-socket", test_unix_socket);
  g_test_add_func ("/redisstreamsink/100-sinks-keep-call-order",
      test_many_sinks_keep_call_order);
  g_test_add_func ("/redisstreamsink/redis-restart-loses-nothing",
      test_redis_restart_loses_nothing);
  g_test_add_func ("/redisstreamsink/slow-redis-keeps-order",
      test_slow_redis_keeps_order);
  g_test_add_func ("/redisstreamsink/overflow-drops-oldest",
      test_overflow_drops_oldest);
  g_test_add_func ("/redisstreamsink/password-changed-mid-call",
      test_password_changed_mid_call);
  g_test_add_func ("/redisstreamsink/calls-in-turn", test_calls_in_turn);
  g_test_add_func ("/redisstreamsink/bad-url", test_bad_url);
  g_test_add_func ("/redisstreamsink/bad-password", test_bad_password);
  g_test_add_func ("/redisstreamsink/flush-timeout", test_flush_timeout);
  return g_test_run ();
}
