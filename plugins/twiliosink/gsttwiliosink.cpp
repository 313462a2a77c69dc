/* twiliosink: audio back to a Twilio Media Streams call.
 *
 * Sends u-law 8 kHz audio as Twilio `media` messages on the call's socket,
 * 20 ms (160 bytes) or more per message, each followed by a `mark`; marks
 * echoed back give the played position ("callstream-played" upstream
 * events, played-ms). A "callstream-clear" event sends `clear` and drops
 * what is still held (callstream-events.h).
 *
 * The socket is the one twiliosrc reads: the same `session` name in a
 * gst-launch line, or the same `connection` in an application:
 *   gst-launch-1.0 twiliosrc port=8080 session=c1 ! identity \
 *       ! twiliosink session=c1
 *
 * The element is glue around common/provider_sink (gathering, pacing,
 * marks, played position, clear) with Twilio's rules and serializers from
 * protocol/outbound. Pacing runs on the connection's own GMainContext (a
 * timer there, no thread per call); render() only gathers, so it never
 * blocks the socket's thread when the source pushes on it.
 */
#include "twiliosink/gsttwiliosink.h"

#include "common/provider_sink.h"
#include "protocol/outbound.h"

GST_DEBUG_CATEGORY_STATIC (gst_twilio_sink_debug);
#define GST_CAT_DEFAULT gst_twilio_sink_debug

namespace {

// Twilio takes any size; 20 ms (160 bytes of u-law at 8 kHz) is its frame.
const callstream::ProviderRules kRules = {
  "twilio", 160, 160, 160 * 500, 20,
  callstream::outbound::twilio_media_audio,
  callstream::outbound::twilio_mark,
  callstream::outbound::twilio_clear,
};

enum {
  PROP_0,
  PROP_SINK,  // ProviderSink::kPropertyCount ids from here
};

}  // namespace

struct _GstTwilioSink {
  GstBaseSink parent;
  callstream::ProviderSink *impl;
};

G_DEFINE_TYPE (GstTwilioSink, gst_twilio_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (twiliosink, "twiliosink", GST_RANK_NONE, GST_TYPE_TWILIO_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-mulaw, rate = (int) 8000, channels = (int) 1"));

static gboolean
gst_twilio_sink_start (GstBaseSink * sink)
{
  return GST_TWILIO_SINK (sink)->impl->start ();
}

static gboolean
gst_twilio_sink_stop (GstBaseSink * sink)
{
  GST_TWILIO_SINK (sink)->impl->stop ();
  return TRUE;
}

static gboolean
gst_twilio_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  return GST_TWILIO_SINK (sink)->impl->set_caps (caps);
}

static GstFlowReturn
gst_twilio_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  return GST_TWILIO_SINK (sink)->impl->render (buffer);
}

static gboolean
gst_twilio_sink_event (GstBaseSink * sink, GstEvent * event)
{
  if (GST_TWILIO_SINK (sink)->impl->handle_event (event)) {
    gst_event_unref (event);
    return TRUE;
  }
  return GST_BASE_SINK_CLASS (gst_twilio_sink_parent_class)->event (sink, event);
}

static gboolean
gst_twilio_sink_unlock (GstBaseSink * sink)
{
  GST_TWILIO_SINK (sink)->impl->unlock ();
  return TRUE;
}

static gboolean
gst_twilio_sink_unlock_stop (GstBaseSink * sink)
{
  GST_TWILIO_SINK (sink)->impl->unlock_stop ();
  return TRUE;
}

static void
gst_twilio_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  if (!GST_TWILIO_SINK (object)->impl->set_property (prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_twilio_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  if (!GST_TWILIO_SINK (object)->impl->get_property (prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_twilio_sink_finalize (GObject * object)
{
  delete GST_TWILIO_SINK (object)->impl;
  G_OBJECT_CLASS (gst_twilio_sink_parent_class)->finalize (object);
}

static void
gst_twilio_sink_init (GstTwilioSink * self)
{
  self->impl = new callstream::ProviderSink (GST_BASE_SINK (self), PROP_SINK,
      kRules);
  // Paced against the socket, not the pipeline clock.
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  /* A call pipeline is live: no preroll, so sinks after a tee without
   * queues never wait for each other (async=TRUE deadlocks there). */
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_twilio_sink_class_init (GstTwilioSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_twilio_sink_set_property;
  gobject_class->get_property = gst_twilio_sink_get_property;
  gobject_class->finalize = gst_twilio_sink_finalize;
  callstream::ProviderSink::install_properties (gobject_class, PROP_SINK, kRules);

  base_sink_class->start = GST_DEBUG_FUNCPTR (gst_twilio_sink_start);
  base_sink_class->stop = GST_DEBUG_FUNCPTR (gst_twilio_sink_stop);
  base_sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_twilio_sink_set_caps);
  base_sink_class->render = GST_DEBUG_FUNCPTR (gst_twilio_sink_render);
  base_sink_class->event = GST_DEBUG_FUNCPTR (gst_twilio_sink_event);
  base_sink_class->unlock = GST_DEBUG_FUNCPTR (gst_twilio_sink_unlock);
  base_sink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_twilio_sink_unlock_stop);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Twilio media stream sink", "Sink/Network/Audio",
      "Sends audio back to a Twilio Media Streams call (media + mark messages, paced), with barge-in clear and played position",
      "callstream developers");
  GST_DEBUG_CATEGORY_INIT (gst_twilio_sink_debug, "twiliosink", 0, "Twilio media stream sink");
}
