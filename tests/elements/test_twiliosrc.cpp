// twiliosrc: Twilio Media Streams messages in, u-law out, one pad per track;
// through push-message and over a real WebSocket at /media-stream.
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
using test_support::unref_messages;

namespace {

using test_support::twilio_media_message;
using test_support::twilio_start_message;

struct Fixture {
  GstHarness *h = gst_harness_new ("twiliosrc");
  GstBus *bus = gst_bus_new ();
  // The outbound pad, when it appears, goes to this sink; its buffers here.
  GstElement *outbound_sink = nullptr;
  std::vector<std::string> outbound;
  bool outbound_eos = false;

  Fixture ()
  {
    gst_element_set_bus (h->element, bus);
    g_signal_connect (h->element, "pad-added", G_CALLBACK (on_pad_added), this);
    gst_harness_play (h);
  }
  ~Fixture ()
  {
    gst_bus_set_flushing (bus, TRUE);  // queued messages hold the element
    gst_harness_teardown (h);
    if (outbound_sink != nullptr) {
      gst_element_set_state (outbound_sink, GST_STATE_NULL);
      gst_object_unref (outbound_sink);
    }
    gst_object_unref (bus);
  }

  static GstPadProbeReturn on_outbound (GstPad *, GstPadProbeInfo *info, gpointer data)
  {
    auto *self = static_cast<Fixture *> (data);
    if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
      self->outbound.push_back (buffer_bytes (GST_PAD_PROBE_INFO_BUFFER (info)));
    else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
      self->outbound_eos = true;
    return GST_PAD_PROBE_OK;
  }
  static void on_pad_added (GstElement *, GstPad *pad, gpointer data)
  {
    auto *self = static_cast<Fixture *> (data);
    if (g_strcmp0 (GST_PAD_NAME (pad), "outbound") != 0)
      return;
    self->outbound_sink = gst_element_factory_make ("fakesink", nullptr);
    g_object_set (self->outbound_sink, "sync", FALSE, "async", FALSE, nullptr);
    gst_element_set_state (self->outbound_sink, GST_STATE_PLAYING);
    g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (self->outbound_sink, "sink");
    g_assert_cmpint (gst_pad_link (pad, sinkpad), ==, GST_PAD_LINK_OK);
    gst_pad_add_probe (pad, GstPadProbeType (GST_PAD_PROBE_TYPE_BUFFER
            | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), on_outbound, self, nullptr);
  }

  GstFlowReturn text (const std::string &message) const
  {
    g_autoptr (GBytes) bytes = g_bytes_new (message.data (), message.size ());
    GstFlowReturn ret = GST_FLOW_ERROR;
    g_signal_emit_by_name (h->element, "push-message", SOUP_WEBSOCKET_DATA_TEXT,
        bytes, &ret);
    return ret;
  }
  guint64 stat (const char *name) const
  {
    guint64 value = 0;
    g_object_get (h->element, name, &value, nullptr);
    return value;
  }
};

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
test_inbound_track ()
{
  Fixture f;
  g_assert_cmpint (f.text ("{\"event\":\"connected\",\"protocol\":\"Call\","
          "\"version\":\"1.0.0\"}"), ==, GST_FLOW_OK);
  g_assert_cmpint (f.text (twilio_start_message ()), ==, GST_FLOW_OK);
  g_autoptr (GstEvent) caps_event = gst_pad_get_sticky_event (f.h->sinkpad, GST_EVENT_CAPS, 0);
  GstCaps *caps;
  gst_event_parse_caps (caps_event, &caps);
  g_autoptr (GstCaps) want = gst_caps_from_string ("audio/x-mulaw,rate=8000,channels=1");
  g_assert_true (gst_caps_is_equal (caps, want));
  g_autoptr (GstEvent) info_event = gst_pad_get_sticky_event (f.h->sinkpad,
      GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
  const GstStructure *info = callstream_call_info_event_parse (info_event);
  g_assert_cmpstr (gst_structure_get_string (info, "provider"), ==, "twilio");
  g_assert_cmpstr (gst_structure_get_string (info, "call-sid"), ==, "CAt");
  g_assert_cmpstr (gst_structure_get_string (info, "stream-sid"), ==, "MZt");
  g_assert_cmpstr (gst_structure_get_string (info, "account-sid"), ==, "ACt");
  const GValue *tracks = gst_structure_get_value (info, "tracks");
  g_assert_nonnull (tracks);
  g_assert_cmpuint (gst_value_array_get_size (tracks), ==, 1);
  g_assert_cmpstr (g_value_get_string (gst_value_array_get_value (tracks, 0)), ==, "inbound");
  const GstStructure *params = gst_value_get_structure (
      gst_structure_get_value (info, "custom-parameters"));
  g_assert_cmpstr (gst_structure_get_string (params, "agent"), ==, "a1");
  g_autoptr (GstEvent) tag_event = gst_pad_get_sticky_event (f.h->sinkpad, GST_EVENT_TAG, 0);
  GstTagList *tags;
  gst_event_parse_tag (tag_event, &tags);
  g_autofree gchar *call_sid = nullptr;
  g_assert_true (gst_tag_list_get_string (tags, CALLSTREAM_TAG_CALL_SID, &call_sid));
  g_assert_cmpstr (call_sid, ==, "CAt");

  std::vector<std::string> sent;
  for (int chunk = 1; chunk <= 3; chunk++) {
    sent.push_back (pattern_bytes (160, chunk));
    g_assert_cmpint (f.text (twilio_media_message (chunk, sent.back ())), ==, GST_FLOW_OK);
  }
  for (int i = 0; i < 3; i++) {
    g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
    g_assert_true (buffer_bytes (buffer) == sent[i]);
    g_assert_cmpuint (GST_BUFFER_PTS (buffer), ==, i * 20 * GST_MSECOND);
    g_assert_cmpuint (GST_BUFFER_DURATION (buffer), ==, 20 * GST_MSECOND);
  }
  g_assert_null (f.outbound_sink);  // one track, one pad
  g_assert_cmpuint (f.stat ("frames"), ==, 3);
}

static void
test_both_tracks_two_pads ()
{
  Fixture f;
  f.text (twilio_start_message ("[\"inbound\",\"outbound\"]"));
  g_assert_nonnull (f.outbound_sink);
  const std::string in1 = pattern_bytes (160, 1), out1 = pattern_bytes (160, 2);
  const std::string in2 = pattern_bytes (160, 3), out2 = pattern_bytes (160, 4);
  f.text (twilio_media_message (1, in1, "inbound"));
  f.text (twilio_media_message (1, out1, "outbound"));
  f.text (twilio_media_message (2, in2, "inbound"));
  f.text (twilio_media_message (2, out2, "outbound"));
  for (const std::string *want : { &in1, &in2 }) {
    g_autoptr (GstBuffer) buffer = gst_harness_pull (f.h);
    g_assert_true (buffer_bytes (buffer) == *want);
  }
  g_assert_cmpuint (f.outbound.size (), ==, 2);
  g_assert_true (f.outbound[0] == out1);
  g_assert_true (f.outbound[1] == out2);
  g_assert_cmpuint (f.stat ("gaps"), ==, 0);  // chunks count per track

  f.text ("{\"event\":\"stop\",\"sequenceNumber\":\"9\",\"streamSid\":\"MZt\","
      "\"stop\":{\"accountSid\":\"ACt\",\"callSid\":\"CAt\"}}");
  g_autoptr (GstEvent) eos = pull_event_of_type (f.h, GST_EVENT_EOS);
  g_assert_nonnull (eos);
  g_assert_true (f.outbound_eos);
}

static void
test_chunk_gap_sets_discont ()
{
  Fixture f;
  f.text (twilio_start_message ());
  f.text (twilio_media_message (1, pattern_bytes (160, 0)));
  f.text (twilio_media_message (4, pattern_bytes (160, 0)));
  g_autoptr (GstBuffer) first = gst_harness_pull (f.h);
  g_autoptr (GstBuffer) second = gst_harness_pull (f.h);
  g_assert_true (GST_BUFFER_FLAG_IS_SET (second, GST_BUFFER_FLAG_DISCONT));
  g_assert_cmpuint (f.stat ("gaps"), ==, 1);
}

static void
test_dtmf_mark_and_bad_input ()
{
  Fixture f;
  f.text (twilio_start_message ());
  f.text ("{\"event\":\"dtmf\",\"streamSid\":\"MZt\",\"sequenceNumber\":\"5\","
      "\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"7\"}}");
  g_autoptr (GstEvent) dtmf = pull_event_of_type (f.h, GST_EVENT_CUSTOM_DOWNSTREAM);
  g_assert_nonnull (dtmf);
  gint number = -1;
  gst_structure_get_int (gst_event_get_structure (dtmf), "number", &number);
  g_assert_cmpint (number, ==, 7);

  f.text ("{\"event\":\"mark\",\"sequenceNumber\":\"6\",\"streamSid\":\"MZt\","
      "\"mark\":{\"name\":\"reply-3\"}}");
  auto marks = pop_messages (f.bus, GST_MESSAGE_ELEMENT);
  g_assert_cmpuint (marks.size (), ==, 1);
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (marks[0]),
          "name"), ==, "reply-3");
  unref_messages (marks);
  // post-marks=FALSE: no message for the next one.
  g_object_set (f.h->element, "post-marks", FALSE, nullptr);
  f.text ("{\"event\":\"mark\",\"sequenceNumber\":\"7\",\"streamSid\":\"MZt\","
      "\"mark\":{\"name\":\"reply-4\"}}");
  marks = pop_messages (f.bus, GST_MESSAGE_ELEMENT);
  g_assert_cmpuint (marks.size (), ==, 0);

  g_autoptr (GBytes) binary = g_bytes_new ("\x01\x02", 2);
  GstFlowReturn ret;
  g_signal_emit_by_name (f.h->element, "push-message", SOUP_WEBSOCKET_DATA_BINARY,
      binary, &ret);
  f.text ("{\"event\":\"media\",\"media\":{\"payload\":42}}");
  g_assert_cmpuint (f.stat ("malformed"), ==, 2);
  auto warnings = pop_messages (f.bus, GST_MESSAGE_WARNING);
  g_assert_cmpuint (warnings.size (), ==, 2);
  unref_messages (warnings);
}

static void
test_unsupported_format_is_an_error ()
{
  Fixture f;
  g_assert_cmpint (f.text (twilio_start_message ("[\"inbound\"]", "audio/L16")), ==, GST_FLOW_EOS);
  auto errors = pop_messages (f.bus, GST_MESSAGE_ERROR);
  g_assert_cmpuint (errors.size (), ==, 1);
  g_autoptr (GError) error = nullptr;
  gst_message_parse_error (errors[0], &error, nullptr);
  g_assert_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "audio/L16"));
  unref_messages (errors);
  g_autoptr (GstEvent) eos = pull_event_of_type (f.h, GST_EVENT_EOS);
  g_assert_nonnull (eos);
}

static void
test_websocket_call ()
{
  GstElement *src = gst_element_factory_make ("twiliosrc", nullptr);
  g_object_set (src, "port", 0, nullptr);
  GstHarness *h = gst_harness_new_with_element (src, nullptr, "src");
  gst_object_unref (src);
  gst_harness_play (h);
  int port = 0;
  g_object_get (h->element, "bound-port", &port, nullptr);
  g_autofree gchar *url = g_strdup_printf ("ws://127.0.0.1:%d/media-stream", port);

  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  SoupWebsocketConnection *client = nullptr;
  soup_session_websocket_connect_async (session, msg, nullptr, nullptr,
      G_PRIORITY_DEFAULT, nullptr, [] (GObject *source, GAsyncResult *result,
          gpointer data) {
        *static_cast<SoupWebsocketConnection **> (data) =
            soup_session_websocket_connect_finish (SOUP_SESSION (source), result, nullptr);
      }, &client);
  const gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (client == nullptr && g_get_monotonic_time () < deadline)
    g_main_context_iteration (nullptr, TRUE);
  g_assert_nonnull (client);

  soup_websocket_connection_send_text (client, twilio_start_message ().c_str ());
  const std::string audio = pattern_bytes (160, 8);
  soup_websocket_connection_send_text (client, twilio_media_message (1, audio).c_str ());
  GstBuffer *buffer = nullptr;
  while (buffer == nullptr && g_get_monotonic_time () < deadline) {
    g_main_context_iteration (nullptr, FALSE);
    buffer = gst_harness_try_pull (h);
    if (buffer == nullptr)
      g_usleep (1000);
  }
  g_assert_nonnull (buffer);
  g_assert_true (buffer_bytes (buffer) == audio);
  gst_buffer_unref (buffer);
  soup_websocket_connection_close (client, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
  g_object_unref (client);
  gst_harness_teardown (h);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/twiliosrc/inbound-track", test_inbound_track);
  g_test_add_func ("/twiliosrc/both-tracks-two-pads", test_both_tracks_two_pads);
  g_test_add_func ("/twiliosrc/chunk-gap-sets-discont", test_chunk_gap_sets_discont);
  g_test_add_func ("/twiliosrc/dtmf-mark-and-bad-input", test_dtmf_mark_and_bad_input);
  g_test_add_func ("/twiliosrc/unsupported-format-is-an-error",
      test_unsupported_format_is_an_error);
  g_test_add_func ("/twiliosrc/websocket-call", test_websocket_call);
  return g_test_run ();
}
