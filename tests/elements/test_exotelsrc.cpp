// exotelsrc through the push-message signal and a capture file: caps,
// timestamps, events, EOS, warnings on bad input.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstring>
#include <string>
#include <vector>

#include "callstream-events.h"
#include "test_support.h"

using test_support::base64_of;
using test_support::buffer_bytes;
using test_support::pattern_bytes;
using test_support::pop_messages;
using test_support::TempDir;
using test_support::unref_messages;

namespace {

struct Fixture {
  GstHarness *h;
  GstBus *bus;

  Fixture ()
  {
    h = gst_harness_new ("exotelsrc");
    bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    gst_harness_play (h);
  }
  ~Fixture ()
  {
    gst_bus_set_flushing (bus, TRUE);  // queued messages hold the element
    gst_harness_teardown (h);
    gst_object_unref (bus);
  }

  GstFlowReturn text (const std::string &message) const
  {
    return push (SOUP_WEBSOCKET_DATA_TEXT, message);
  }
  GstFlowReturn binary (const std::string &audio) const
  {
    return push (SOUP_WEBSOCKET_DATA_BINARY, audio);
  }
  GstFlowReturn push (SoupWebsocketDataType type, const std::string &data) const
  {
    g_autoptr (GBytes) bytes = g_bytes_new (data.data (), data.size ());
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name (h->element, "push-message", type, bytes, &ret);
    return ret;
  }
  guint64 stat (const char *name) const
  {
    guint64 value = 0;
    g_object_get (h->element, name, &value, nullptr);
    return value;
  }
  size_t warnings () const
  {
    auto messages = pop_messages (bus, GST_MESSAGE_WARNING);
    const size_t n = messages.size ();
    unref_messages (messages);
    return n;
  }
};

using test_support::exotel_media_message;
using test_support::exotel_start_message;

// The next event that is not one of the sticky start-up events we skip.
GstEvent *
pull_event_of_type (GstHarness *h, GstEventType type)
{
  while (GstEvent *event = gst_harness_try_pull_event (h)) {
    if (GST_EVENT_TYPE (event) == type)
      return event;
    gst_event_unref (event);
  }
  return nullptr;
}

}  // namespace

static void
test_start_sets_caps_and_call_info ()
{
  Fixture f;
  g_assert_cmpint (f.text ("{\"event\":\"connected\"}"), ==, GST_FLOW_OK);
  g_assert_cmpint (f.text (exotel_start_message ()), ==, GST_FLOW_OK);

  // Order on the wire: stream-start, caps, segment, call info, tags.
  const GstEventType expected[] = { GST_EVENT_STREAM_START, GST_EVENT_CAPS,
    GST_EVENT_SEGMENT, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, GST_EVENT_TAG };
  for (GstEventType type : expected) {
    GstEvent *event = gst_harness_try_pull_event (f.h);
    g_assert_nonnull (event);
    g_assert_cmpstr (GST_EVENT_TYPE_NAME (event), ==, gst_event_type_get_name (type));
    if (type == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      g_autoptr (GstCaps) want = gst_caps_from_string (
          "audio/x-raw,format=S16LE,layout=interleaved,rate=8000,channels=1");
      g_assert_true (gst_caps_is_equal (caps, want));
    } else if (type == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY) {
      const GstStructure *info = callstream_call_info_event_parse (event);
      g_assert_nonnull (info);
      g_assert_cmpstr (gst_structure_get_string (info, "provider"), ==, "exotel");
      g_assert_cmpstr (gst_structure_get_string (info, "call-sid"), ==, "CA1");
      g_assert_cmpstr (gst_structure_get_string (info, "stream-sid"), ==, "MZ1");
      g_assert_cmpstr (gst_structure_get_string (info, "account-sid"), ==, "AC1");
      g_assert_cmpstr (gst_structure_get_string (info, "from"), ==, "+911111");
      g_assert_cmpstr (gst_structure_get_string (info, "to"), ==, "+912222");
      g_assert_cmpstr (gst_structure_get_string (info, "encoding"), ==, "raw");
      gint rate = 0, bit_rate = 0;
      g_assert_true (gst_structure_get_int (info, "sample-rate", &rate));
      g_assert_true (gst_structure_get_int (info, "bit-rate", &bit_rate));
      g_assert_cmpint (rate, ==, 8000);
      g_assert_cmpint (bit_rate, ==, 128);
      const GstStructure *params = nullptr;
      g_assert_true (gst_structure_get (info, "custom-parameters",
              GST_TYPE_STRUCTURE, &params, nullptr));
      g_assert_cmpstr (gst_structure_get_string (params, "lang"), ==, "hi");
      g_assert_cmpstr (gst_structure_get_string (params, "tries"), ==, "3");
      gst_structure_free (const_cast<GstStructure *> (params));
      g_assert_cmpstr (callstream_call_info_id (info), ==, "CA1");
    } else if (type == GST_EVENT_TAG) {
      GstTagList *tags;
      gst_event_parse_tag (event, &tags);
      g_autofree gchar *call_sid = nullptr, *caller = nullptr;
      g_assert_true (gst_tag_list_get_string (tags, CALLSTREAM_TAG_CALL_SID, &call_sid));
      g_assert_true (gst_tag_list_get_string (tags, CALLSTREAM_TAG_CALLER, &caller));
      g_assert_cmpstr (call_sid, ==, "CA1");
      g_assert_cmpstr (caller, ==, "+911111");
    }
    gst_event_unref (event);
  }
  g_assert_cmpuint (f.warnings (), ==, 0);
}

static void
check_caps (const char *encoding, const char *rate, const char *want_caps)
{
  Fixture f;
  g_assert_cmpint (f.text (exotel_start_message (encoding, rate)), ==, GST_FLOW_OK);
  g_autoptr (GstEvent) event = gst_pad_get_sticky_event (f.h->sinkpad, GST_EVENT_CAPS, 0);
  g_assert_nonnull (event);
  GstCaps *caps;
  gst_event_parse_caps (event, &caps);
  g_autoptr (GstCaps) want = gst_caps_from_string (want_caps);
  g_assert_true (gst_caps_is_equal (caps, want));
}

static void
test_caps_follow_media_format ()
{
  check_caps ("audio/x-mulaw", "8000", "audio/x-mulaw,rate=8000,channels=1");
  check_caps ("audio/x-mulaw", "\"16000\"", "audio/x-mulaw,rate=16000,channels=1");
  check_caps ("slin", "16000",
      "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1");
  check_caps ("audio/x-raw", "\"24000\"",
      "audio/x-raw,format=S16LE,layout=interleaved,rate=24000,channels=1");
  check_caps ("raw", "11025",
      "audio/x-raw,format=S16LE,layout=interleaved,rate=11025,channels=1");
}

static void
test_media_bytes_and_timestamps ()
{
  Fixture f;
  f.text (exotel_start_message ("raw", "16000"));
  // 100 ms, 20 ms and 100 ms at 16 kHz PCM16.
  const std::string chunks[] = { pattern_bytes (3200, 1), pattern_bytes (640, 2), pattern_bytes (3200, 3) };
  int sequence = 2;
  for (const std::string &chunk : chunks)
    g_assert_cmpint (f.text (exotel_media_message (sequence++, chunk)), ==, GST_FLOW_OK);

  const GstClockTime pts[] = { 0, 100 * GST_MSECOND, 120 * GST_MSECOND };
  const GstClockTime duration[] = { 100 * GST_MSECOND, 20 * GST_MSECOND, 100 * GST_MSECOND };
  const guint64 offset[] = { 0, 1600, 1920 };
  for (int i = 0; i < 3; i++) {
    g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
    g_assert_cmpuint (GST_BUFFER_PTS (buffer), ==, pts[i]);
    g_assert_cmpuint (GST_BUFFER_DURATION (buffer), ==, duration[i]);
    g_assert_cmpuint (GST_BUFFER_OFFSET (buffer), ==, offset[i]);
    g_assert_cmpuint (GST_BUFFER_OFFSET_END (buffer), ==, offset[i] + chunks[i].size () / 2);
    g_assert_true (buffer_bytes (buffer) == chunks[i]);
    g_assert_cmpint (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT), ==, i == 0);
  }
  g_assert_cmpuint (f.stat ("frames"), ==, 3);
  g_assert_cmpuint (f.stat ("bytes"), ==, 7040);
  g_assert_cmpuint (f.stat ("gaps"), ==, 0);
}

static void
test_mulaw_timestamps_count_bytes ()
{
  Fixture f;
  f.text (exotel_start_message ("audio/x-mulaw", "8000"));
  f.text (exotel_media_message (2, pattern_bytes (160, 0)));
  f.text (exotel_media_message (3, pattern_bytes (801, 0)));  // odd is fine for u-law
  g_autoptr (GstBuffer) first = gst_harness_pull (f.h);
  g_autoptr (GstBuffer) second = gst_harness_pull (f.h);
  g_assert_cmpuint (GST_BUFFER_DURATION (first), ==, 20 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_PTS (second), ==, 20 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_DURATION (second), ==,
      gst_util_uint64_scale_int (801, GST_SECOND, 8000));
  g_assert_cmpuint (f.stat ("malformed"), ==, 0);
}

static void
test_sequence_gap_sets_discont ()
{
  Fixture f;
  f.text (exotel_start_message ());
  f.text (exotel_media_message (2, pattern_bytes (320, 0)));
  f.text (exotel_media_message (3, pattern_bytes (320, 0)));
  f.text (exotel_media_message (6, pattern_bytes (320, 0)));   // 4 and 5 lost
  f.text (exotel_media_message (7, pattern_bytes (320, 0)));
  f.text (exotel_media_message (7, pattern_bytes (320, 0)));   // repeated: not a gap
  f.text (exotel_media_message (9, pattern_bytes (320, 0)));   // 8 lost
  const bool discont[] = { true, false, true, false, false, true };
  for (bool want : discont) {
    g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
    g_assert_cmpint (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT), ==, want);
  }
  g_assert_cmpuint (f.stat ("gaps"), ==, 2);
  g_assert_cmpuint (f.stat ("frames"), ==, 6);
}

static void
test_other_events_keep_sequence ()
{
  // dtmf and mark carry sequence numbers too: media after them is no gap.
  Fixture f;
  f.text (exotel_start_message ());
  f.text (exotel_media_message (2, pattern_bytes (320, 0)));
  f.text ("{\"event\":\"dtmf\",\"sequence_number\":\"3\",\"dtmf\":{\"digit\":\"1\"}}");
  f.text ("{\"event\":\"mark\",\"sequence_number\":4,\"mark\":{\"name\":\"m\"}}");
  f.text (exotel_media_message (5, pattern_bytes (320, 0)));
  g_assert_cmpuint (f.stat ("gaps"), ==, 0);
}

static void
test_malformed_messages_warn_and_call_goes_on ()
{
  Fixture f;
  f.text (exotel_media_message (1, pattern_bytes (320, 0)));        // media before start
  f.text (exotel_start_message ());
  f.text ("{\"event\":\"media\", this is not JSON");       // bad JSON
  f.text ("{\"event\":\"media\",\"media\":{\"payload\":\"@@@=\"}}");  // bad base64
  f.text (exotel_media_message (3, pattern_bytes (321, 0)));        // odd PCM16 byte count
  f.text ("{\"event\":\"dtmf\",\"dtmf\":{\"digit\":\"x\"}}");  // not a DTMF digit
  g_assert_cmpuint (f.stat ("malformed"), ==, 5);
  g_assert_cmpuint (f.warnings (), ==, 5);
  g_assert_cmpuint (gst_harness_buffers_received (f.h), ==, 0);

  const std::string good = pattern_bytes (320, 9);
  g_assert_cmpint (f.text (exotel_media_message (4, good)), ==, GST_FLOW_OK);
  g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
  g_assert_true (buffer_bytes (buffer) == good);
  g_assert_cmpuint (GST_BUFFER_PTS (buffer), ==, 0);
}

static void
test_warnings_are_rate_limited ()
{
  Fixture f;
  f.text (exotel_start_message ());
  for (int i = 0; i < 250; i++)
    f.text ("not json");
  g_assert_cmpuint (f.stat ("malformed"), ==, 250);
  // The first 10, then the 100th and the 200th.
  g_assert_cmpuint (f.warnings (), ==, 12);
}

static void
test_unknown_event_is_ignored ()
{
  Fixture f;
  f.text (exotel_start_message ());
  g_assert_cmpint (f.text ("{\"event\":\"future-thing\",\"x\":1}"), ==, GST_FLOW_OK);
  g_assert_cmpuint (f.stat ("malformed"), ==, 0);
  g_assert_cmpuint (f.warnings (), ==, 0);
}

static void
test_dtmf_becomes_dtmf_events ()
{
  Fixture f;
  f.text (exotel_start_message ());
  f.text ("{\"event\":\"dtmf\",\"stream_sid\":\"MZ1\",\"dtmf\":{\"digit\":\"#\",\"duration\":\"250\"}}");
  g_autoptr (GstEvent) start = pull_event_of_type (f.h, GST_EVENT_CUSTOM_DOWNSTREAM);
  g_autoptr (GstEvent) stop = pull_event_of_type (f.h, GST_EVENT_CUSTOM_DOWNSTREAM);
  g_assert_nonnull (start);
  g_assert_nonnull (stop);
  const GstStructure *s = gst_event_get_structure (start);
  g_assert_true (gst_structure_has_name (s, "dtmf-event"));
  gint type = -1, number = -1, duration = -1;
  gboolean is_start = FALSE;
  g_assert_true (gst_structure_get (s, "type", G_TYPE_INT, &type, "number", G_TYPE_INT,
          &number, "start", G_TYPE_BOOLEAN, &is_start, "duration", G_TYPE_INT, &duration,
          nullptr));
  g_assert_cmpint (type, ==, 1);
  g_assert_cmpint (number, ==, 11);
  g_assert_true (is_start);
  g_assert_cmpint (duration, ==, 250);
  s = gst_event_get_structure (stop);
  g_assert_true (gst_structure_has_name (s, "dtmf-event"));
  g_assert_true (gst_structure_get (s, "start", G_TYPE_BOOLEAN, &is_start, nullptr));
  g_assert_false (is_start);
}

static void
test_mark_is_posted ()
{
  Fixture f;
  f.text (exotel_start_message ());
  f.text ("{\"event\":\"mark\",\"stream_sid\":\"MZ1\",\"mark\":{\"name\":\"reply-1\"}}");
  auto messages = pop_messages (f.bus, GST_MESSAGE_ELEMENT);
  g_assert_cmpuint (messages.size (), ==, 1);
  const GstStructure *s = gst_message_get_structure (messages[0]);
  g_assert_true (gst_structure_has_name (s, CALLSTREAM_MARK_MESSAGE_NAME));
  g_assert_cmpstr (gst_structure_get_string (s, "name"), ==, "reply-1");
  g_assert_cmpstr (gst_structure_get_string (s, "call-sid"), ==, "CA1");
  unref_messages (messages);
}

// post-marks=FALSE: the mark posts nothing on the bus (the media around it
// still flows); TRUE again, and the next one does.
static void
test_mark_not_posted_when_off ()
{
  Fixture f;
  gboolean post = FALSE;
  g_object_get (f.h->element, "post-marks", &post, nullptr);
  g_assert_true (post);
  g_object_set (f.h->element, "post-marks", FALSE, nullptr);
  f.text (exotel_start_message ());
  f.text ("{\"event\":\"mark\",\"stream_sid\":\"MZ1\",\"mark\":{\"name\":\"reply-1\"}}");
  g_assert_cmpint (f.text (exotel_media_message (2, pattern_bytes (320, 0))), ==, GST_FLOW_OK);
  auto messages = pop_messages (f.bus, GST_MESSAGE_ELEMENT);
  g_assert_cmpuint (messages.size (), ==, 0);
  g_object_set (f.h->element, "post-marks", TRUE, nullptr);
  f.text ("{\"event\":\"mark\",\"stream_sid\":\"MZ1\",\"mark\":{\"name\":\"reply-2\"}}");
  messages = pop_messages (f.bus, GST_MESSAGE_ELEMENT);
  g_assert_cmpuint (messages.size (), ==, 1);
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (messages[0]), "name"),
      ==, "reply-2");
  unref_messages (messages);
}

static void
test_stop_is_eos ()
{
  Fixture f;
  f.text (exotel_start_message ());
  f.text (exotel_media_message (2, pattern_bytes (320, 0)));
  g_assert_cmpint (f.text ("{\"event\":\"stop\",\"sequence_number\":\"3\",\"stop\":"
          "{\"call_sid\":\"CA1\",\"reason\":\"callended\"}}"), ==, GST_FLOW_EOS);
  g_autoptr (GstEvent) eos = pull_event_of_type (f.h, GST_EVENT_EOS);
  g_assert_nonnull (eos);
  // Nothing after the end of the call.
  g_assert_cmpint (f.text (exotel_media_message (4, pattern_bytes (320, 0))), ==, GST_FLOW_EOS);
  g_assert_cmpuint (gst_harness_buffers_received (f.h), ==, 1);
}

static void
test_application_eos_ends_call ()
{
  Fixture f;
  f.text (exotel_start_message ());
  g_assert_true (gst_element_send_event (f.h->element, gst_event_new_eos ()));
  g_autoptr (GstEvent) eos = pull_event_of_type (f.h, GST_EVENT_EOS);
  g_assert_nonnull (eos);
}

static void
test_binary_frames_in_call_format ()
{
  Fixture f;
  f.text (exotel_start_message ("audio/x-mulaw", "8000"));
  const std::string audio = pattern_bytes (800, 4);
  g_assert_cmpint (f.binary (audio), ==, GST_FLOW_OK);
  g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
  g_assert_true (buffer_bytes (buffer) == audio);
  g_assert_cmpuint (GST_BUFFER_DURATION (buffer), ==, 100 * GST_MSECOND);
  g_assert_cmpuint (f.warnings (), ==, 0);
}

static void
test_binary_before_start_assumes_default ()
{
  Fixture f;
  const std::string audio = pattern_bytes (1600, 5);
  g_assert_cmpint (f.binary (audio), ==, GST_FLOW_OK);
  g_assert_cmpuint (f.warnings (), ==, 1);
  g_autoptr (GstEvent) caps_event = gst_pad_get_sticky_event (f.h->sinkpad, GST_EVENT_CAPS, 0);
  GstCaps *caps;
  gst_event_parse_caps (caps_event, &caps);
  g_autoptr (GstCaps) want = gst_caps_from_string (
      "audio/x-raw,format=S16LE,layout=interleaved,rate=8000,channels=1");
  g_assert_true (gst_caps_is_equal (caps, want));
  g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
  g_assert_true (buffer_bytes (buffer) == audio);

  // A start that follows changes the caps; the timeline goes on.
  f.text (exotel_start_message ("raw", "16000"));
  f.text (exotel_media_message (2, pattern_bytes (320, 0)));
  g_autoptr (GstBuffer) next = gst_harness_pull (f.h);
  g_assert_cmpuint (GST_BUFFER_PTS (next), ==, 100 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_DURATION (next), ==, 10 * GST_MSECOND);
  g_assert_cmpuint (GST_BUFFER_OFFSET (next), ==, 0);  // samples count anew at 16 kHz
  g_autoptr (GstEvent) new_caps = gst_pad_get_sticky_event (f.h->sinkpad, GST_EVENT_CAPS, 0);
  gst_event_parse_caps (new_caps, &caps);
  gint rate = 0;
  gst_structure_get_int (gst_caps_get_structure (caps, 0), "rate", &rate);
  g_assert_cmpint (rate, ==, 16000);
}

static GstStateChangeReturn
start_with (const char *description, GstMessage **error)
{
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, nullptr);
  g_assert_nonnull (pipeline);
  GstStateChangeReturn ret = gst_element_set_state (pipeline, GST_STATE_PAUSED);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  *error = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return ret;
}

static void
test_one_input_only ()
{
  GstMessage *error = nullptr;
  g_assert_cmpint (start_with ("exotelsrc location=/dev/null port=0 ! fakesink", &error),
      ==, GST_STATE_CHANGE_FAILURE);
  g_assert_nonnull (error);
  g_autoptr (GError) gerror = nullptr;
  gst_message_parse_error (error, &gerror, nullptr);
  g_assert_error (gerror, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  gst_message_unref (error);
}

static void
test_missing_capture_is_an_error ()
{
  GstMessage *error = nullptr;
  g_assert_cmpint (start_with ("exotelsrc location=/nonexistent/call.jsonl ! fakesink",
          &error), ==, GST_STATE_CHANGE_FAILURE);
  g_assert_nonnull (error);
  g_autoptr (GError) gerror = nullptr;
  g_autofree gchar *debug = nullptr;
  gst_message_parse_error (error, &gerror, &debug);
  g_assert_error (gerror, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ);
  g_assert_nonnull (strstr (gerror->message, "/nonexistent/call.jsonl"));
  gst_message_unref (error);
}

static void
test_capture_replay_through_harness ()
{
  TempDir dir;
  const std::string capture = dir / "call.jsonl";
  const std::string audio = pattern_bytes (320, 3);
  std::string lines = "{\"event\":\"connected\"}\n\n" + exotel_start_message () + "\r\n"
      + exotel_media_message (2, audio) + "\n" + "garbage line\n"
      + exotel_media_message (3, audio) + "\n";  // no stop: the end of the file ends the call
  g_assert_true (g_file_set_contents (capture.c_str (), lines.data (), lines.size (), nullptr));

  GstElement *src = gst_element_factory_make ("exotelsrc", nullptr);
  g_object_set (src, "location", capture.c_str (), "pace", FALSE, nullptr);
  GstHarness *h = gst_harness_new_with_element (src, nullptr, "src");
  gst_object_unref (src);
  g_autoptr (GstBus) bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  for (int i = 0; i < 2; i++) {
    g_autoptr (GstBuffer) buffer = gst_harness_pull (h);
    g_assert_nonnull (buffer);
    g_assert_true (buffer_bytes (buffer) == audio);
    g_assert_cmpuint (GST_BUFFER_PTS (buffer), ==, i * 20 * GST_MSECOND);
  }
  g_autoptr (GstEvent) eos = nullptr;
  while (eos == nullptr) {
    GstEvent *event = gst_harness_pull_event (h);
    g_assert_nonnull (event);
    if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
      eos = event;
    else
      gst_event_unref (event);
  }
  guint64 malformed = 0;
  g_object_get (h->element, "malformed", &malformed, nullptr);
  g_assert_cmpuint (malformed, ==, 1);
  gst_harness_teardown (h);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/exotelsrc/start/caps-call-info-tags", test_start_sets_caps_and_call_info);
  g_test_add_func ("/exotelsrc/start/caps-follow-media-format", test_caps_follow_media_format);
  g_test_add_func ("/exotelsrc/media/bytes-and-timestamps", test_media_bytes_and_timestamps);
  g_test_add_func ("/exotelsrc/media/mulaw-timestamps", test_mulaw_timestamps_count_bytes);
  g_test_add_func ("/exotelsrc/media/sequence-gap-sets-discont", test_sequence_gap_sets_discont);
  g_test_add_func ("/exotelsrc/media/other-events-keep-sequence", test_other_events_keep_sequence);
  g_test_add_func ("/exotelsrc/malformed/warn-and-go-on", test_malformed_messages_warn_and_call_goes_on);
  g_test_add_func ("/exotelsrc/malformed/rate-limited-warnings", test_warnings_are_rate_limited);
  g_test_add_func ("/exotelsrc/unknown-event-ignored", test_unknown_event_is_ignored);
  g_test_add_func ("/exotelsrc/dtmf/dtmf-events", test_dtmf_becomes_dtmf_events);
  g_test_add_func ("/exotelsrc/mark/element-message", test_mark_is_posted);
  g_test_add_func ("/exotelsrc/mark/post-marks-false-posts-nothing",
      test_mark_not_posted_when_off);
  g_test_add_func ("/exotelsrc/stop/eos", test_stop_is_eos);
  g_test_add_func ("/exotelsrc/stop/application-eos", test_application_eos_ends_call);
  g_test_add_func ("/exotelsrc/binary/call-format", test_binary_frames_in_call_format);
  g_test_add_func ("/exotelsrc/binary/before-start", test_binary_before_start_assumes_default);
  g_test_add_func ("/exotelsrc/settings/one-input-only", test_one_input_only);
  g_test_add_func ("/exotelsrc/settings/missing-capture", test_missing_capture_is_an_error);
  g_test_add_func ("/exotelsrc/capture/replay", test_capture_replay_through_harness);
  return g_test_run ();
}
