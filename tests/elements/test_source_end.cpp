// How an application drives exotelsrc / twiliosrc when it reads the call's
// socket itself: messages in through push-message or the same handler
// without the signal (CallstreamMessageInput, callstream-events.h), and the
// end of the call through the end-of-stream action signal.
//
// The end-of-stream action signal: It must not hold the element's state lock
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
#include <vector>

#include "callstream-events.h"
#include "test_support.h"

namespace {

struct Provider {
  const char *factory;
  std::string start;  // a start message that sets the caps
  std::string (*media) (int sequence, const std::string &audio);
};

Provider
exotel ()
{
  return { "exotelsrc", test_support::exotel_start_message (),
    [] (int sequence, const std::string &audio) {
      return test_support::exotel_media_message (sequence, audio);
    } };
}

Provider
twilio ()
{
  return { "twiliosrc", test_support::twilio_start_message (),
    [] (int sequence, const std::string &audio) {
      return test_support::twilio_media_message (sequence, audio);
    } };
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

// What the sink received, buffer by buffer.
void
collect (GstElement *, GstBuffer *buffer, GstPad *, gpointer data)
{
  static_cast<std::vector<std::string> *> (data)->push_back (test_support::buffer_bytes (buffer));
}

GstFlowReturn
push_signal (GstElement *src, const std::string &text)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text.data (), text.size ());
  GstFlowReturn flow = GST_FLOW_ERROR;
  g_signal_emit_by_name (src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, bytes, &flow);
  return flow;
}

void
direct_input_pushes_like_the_signal (const Provider &provider)
{
  Call call (provider);
  const CallstreamMessageInput *input = callstream_message_input_get (call.src);
  g_assert_nonnull (input);
  std::vector<std::string> got;
  g_object_set (call.sink, "signal-handoffs", TRUE, nullptr);
  g_signal_connect (call.sink, "handoff", G_CALLBACK (collect), &got);
  // Alternately through the handler and the signal: one stream, in order.
  std::vector<std::string> sent;
  for (int i = 0; i < 6; i++) {
    sent.push_back (test_support::pattern_bytes (160, i));
    const std::string text = provider.media (i + 2, sent.back ());
    const GstFlowReturn flow = i % 2 == 0
        ? input->push (call.src, TRUE, reinterpret_cast<const guint8 *> (text.data ()),
              text.size (), input->user_data)
        : push_signal (call.src, text);
    g_assert_cmpint (flow, ==, GST_FLOW_OK);
  }
  g_assert_cmpuint (got.size (), ==, sent.size ());
  for (size_t i = 0; i < sent.size (); i++)
    g_assert_true (got[i] == sent[i]);
  // Ended: the handler refuses later messages as the signal does.
  g_assert_cmpint (end_of_stream (call.src), ==, GST_FLOW_EOS);
  const std::string late = provider.media (9, sent.front ());
  g_assert_cmpint (input->push (call.src, TRUE, reinterpret_cast<const guint8 *> (late.data ()),
      late.size (), input->user_data), ==, GST_FLOW_EOS);
  g_assert_cmpuint (got.size (), ==, sent.size ());
}

void
other_elements_have_no_direct_input ()
{
  for (const char *factory : { "fakesrc", "appsrc", "redisstreamsink" }) {
    g_autoptr (GstElement) element = gst_element_factory_make (factory, nullptr);
    g_assert_nonnull (element);
    gst_object_ref_sink (element);
    g_assert_null (callstream_message_input_get (element));
  }
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
  g_test_add_data_func ("/source-input/exotelsrc/direct-input-pushes-like-the-signal",
      new Provider (exotel ()), [] (gconstpointer p) {
        direct_input_pushes_like_the_signal (*static_cast<const Provider *> (p));
      });
  g_test_add_data_func ("/source-input/twiliosrc/direct-input-pushes-like-the-signal",
      new Provider (twilio ()), [] (gconstpointer p) {
        direct_input_pushes_like_the_signal (*static_cast<const Provider *> (p));
      });
  g_test_add_func ("/source-input/other-elements-have-no-direct-input",
      other_elements_have_no_direct_input);
  return g_test_run ();
}
