// How an application ends a call it pushes into exotelsrc / twiliosrc: the
// end-of-stream action signal. It must not hold the element's state lock
// while downstream takes the EOS (gst_element_send_event() does): a sink in
// PAUSED holds an EOS for preroll until the state change that flushes it, and
// that state change needs the source's state lock first. callstreamd met it
// when a pipeline error's teardown (set_state (NULL) on its main thread) ran
// while its enders thread was ending the same call.
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace {

struct Provider {
  const char *factory;
  std::string start;  // a start message that sets the caps
};

Provider
exotel ()
{
  return { "exotelsrc",
    "{\"event\":\"start\",\"sequence_number\":\"1\",\"stream_sid\":\"MZ1\","
    "\"start\":{\"stream_sid\":\"MZ1\",\"call_sid\":\"CA1\",\"account_sid\":\"AC1\","
    "\"media_format\":{\"encoding\":\"raw\",\"sample_rate\":\"8000\"}}}" };
}

Provider
twilio ()
{
  return { "twiliosrc",
    "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"MZ1\","
    "\"start\":{\"accountSid\":\"AC1\",\"streamSid\":\"MZ1\",\"callSid\":\"CA1\","
    "\"tracks\":[\"inbound\"],\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
    "\"sampleRate\":8000,\"channels\":1}}}" };
}

// A pushed source into a fakesink, started, its start message pushed.
struct Call {
  explicit Call (const Provider &provider)
  {
    const std::string launch = std::string (provider.factory)
        + " name=src ! fakesink name=sink sync=false async=false";
    g_autoptr (GError) error = nullptr;
    pipeline = gst_parse_launch (launch.c_str (), &error);
    g_assert_no_error (error);
    src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
    sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), ==,
        GST_STATE_CHANGE_SUCCESS);
    g_autoptr (GBytes) start = g_bytes_new (provider.start.data (), provider.start.size ());
    GstFlowReturn flow = GST_FLOW_ERROR;
    g_signal_emit_by_name (src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, start, &flow);
    g_assert_cmpint (flow, ==, GST_FLOW_OK);
    g_autoptr (GstPad) pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_event, this, nullptr);
  }
  ~Call ()
  {
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (src);
    gst_object_unref (sink);
    gst_object_unref (pipeline);
  }

  static GstPadProbeReturn on_event (GstPad *, GstPadProbeInfo *info, gpointer data)
  {
    auto *self = static_cast<Call *> (data);
    if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS) {
      std::lock_guard guard (self->lock);
      self->eos_at_sink = true;
      self->changed.notify_all ();
    }
    return GST_PAD_PROBE_OK;
  }

  // TRUE once the EOS reached the sink's pad, within @seconds.
  bool wait_eos_at_sink (int seconds)
  {
    std::unique_lock held (lock);
    return changed.wait_for (held, std::chrono::seconds (seconds), [this] { return eos_at_sink; });
  }

  GstElement *pipeline = nullptr, *src = nullptr, *sink = nullptr;
  std::mutex lock;
  std::condition_variable changed;
  bool eos_at_sink = false;
};

GstFlowReturn
end_of_stream (GstElement *src)
{
  GstFlowReturn flow = GST_FLOW_ERROR;
  g_signal_emit_by_name (src, "end-of-stream", &flow);
  return flow;
}

void
ends_downstream (const Provider &provider)
{
  Call call (provider);
  g_assert_cmpint (end_of_stream (call.src), ==, GST_FLOW_EOS);
  g_assert_true (call.wait_eos_at_sink (0));
  // Ended: later messages are refused.
  g_autoptr (GBytes) again = g_bytes_new (provider.start.data (), provider.start.size ());
  GstFlowReturn flow = GST_FLOW_OK;
  g_signal_emit_by_name (call.src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, again, &flow);
  g_assert_cmpint (flow, ==, GST_FLOW_EOS);
}

void
stop_while_a_sink_holds_the_eos (const Provider &provider)
{
  Call call (provider);
  // As a teardown's first step leaves it: the sink in PAUSED, prerolling.
  g_assert_cmpint (gst_element_set_state (call.sink, GST_STATE_PAUSED), !=,
      GST_STATE_CHANGE_FAILURE);
  GstFlowReturn ended = GST_FLOW_ERROR;
  std::thread ender ([&] { ended = end_of_stream (call.src); });
  // The sink now holds the EOS for preroll, until a flush.
  g_assert_true (call.wait_eos_at_sink (10));
  std::mutex lock;
  std::condition_variable changed;
  bool stopped = false;
  std::thread stopper ([&] {
        gst_element_set_state (call.pipeline, GST_STATE_NULL);
        std::lock_guard guard (lock);
        stopped = true;
        changed.notify_all ();
      });
  {
    std::unique_lock held (lock);
    if (!changed.wait_for (held, std::chrono::seconds (10), [&] { return stopped; }))
      g_error ("set_state (NULL) still waiting after 10 s: the EOS holds the source's "
          "state lock");
  }
  stopper.join ();
  ender.join ();
  // The EOS was sent (the sink dropped it when the stop flushed it).
  g_assert_cmpint (ended, ==, GST_FLOW_EOS);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_data_func ("/source-end/exotelsrc/end-of-stream-goes-downstream",
      new Provider (exotel ()), [] (gconstpointer p) {
        ends_downstream (*static_cast<const Provider *> (p));
      });
  g_test_add_data_func ("/source-end/twiliosrc/end-of-stream-goes-downstream",
      new Provider (twilio ()), [] (gconstpointer p) {
        ends_downstream (*static_cast<const Provider *> (p));
      });
  g_test_add_data_func ("/source-end/exotelsrc/stop-while-a-sink-holds-the-eos",
      new Provider (exotel ()), [] (gconstpointer p) {
        stop_while_a_sink_holds_the_eos (*static_cast<const Provider *> (p));
      });
  g_test_add_data_func ("/source-end/twiliosrc/stop-while-a-sink-holds-the-eos",
      new Provider (twilio ()), [] (gconstpointer p) {
        stop_while_a_sink_holds_the_eos (*static_cast<const Provider *> (p));
      });
  return g_test_run ();
}
