/* exotelsink: audio back to an Exotel Voicebot call.
 *
 * Sends audio in the stream's own format (PCM16 LE mono 8/16/24 kHz, or
 * u-law) as Exotel `media` messages, each followed by a `mark`, in chunks
 * that are multiples of 320 bytes, at least 3,200 bytes and at most 100 KB
 * (shared PROTOCOLS.md section 1); the last chunk at EOS is padded with
 * silence to obey them. Marks echoed back give the played position; a
 * "callstream-clear" event sends `clear` (callstream-events.h).
 *
 * The socket is the one exotelsrc reads: the same `session` name in a
 * gst-launch line, or the same `connection` in an application:
 *   gst-launch-1.0 exotelsrc port=8443 session=c1 ! identity \
 *       ! exotelsink session=c1
 *
 * The element is glue around common/provider_sink (gathering, pacing,
 * marks, played position, clear) with Exotel's rules and serializers from
 * protocol/outbound. Pacing runs on the connection's own GMainContext (a
 * timer there, no thread per call); render() only gathers, so it never
 * blocks the socket's thread when the source pushes on it.
 */
#include "exotelsink/gstexotelsink.h"

#include "common/provider_sink.h"
#include "protocol/outbound.h"

GST_DEBUG_CATEGORY_STATIC (gst_exotel_sink_debug);
#define GST_CAT_DEFAULT gst_exotel_sink_debug

namespace {

// Exotel: multiples of 320 bytes, 3.2 KB to 100 KB (320 x 320 bytes).
const callstream::ProviderRules kRules = {
  "exotel", 320, 3200, 320 * 320, 200,
  callstream::outbound::exotel_media_audio,
  callstream::outbound::exotel_mark,
  callstream::outbound::exotel_clear,
};

enum {
  PROP_0,
  PROP_SINK,  // ProviderSink::kPropertyCount ids from here
};

}  // namespace

struct _GstExotelSink {
  GstBaseSink parent;
  callstream::ProviderSink *impl;
};

G_DEFINE_TYPE (GstExotelSink, gst_exotel_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (exotelsink, "exotelsink", GST_RANK_NONE, GST_TYPE_EXOTEL_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) S16LE, "
        "layout = (string) interleaved, rate = (int) { 8000, 16000, 24000 }, "
        "channels = (int) 1; "
        "audio/x-mulaw, rate = (int) 8000, channels = (int) 1"));

static gboolean
gst_exotel_sink_start (GstBaseSink * sink)
{
  return GST_EXOTEL_SINK (sink)->impl->start ();
}

static gboolean
gst_exotel_sink_stop (GstBaseSink * sink)
{
  GST_EXOTEL_SINK (sink)->impl->stop ();
  return TRUE;
}

static gboolean
gst_exotel_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  return GST_EXOTEL_SINK (sink)->impl->set_caps (caps);
}

static GstFlowReturn
gst_exotel_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  return GST_EXOTEL_SINK (sink)->impl->render (buffer);
}

static gboolean
gst_exotel_sink_event (GstBaseSink * sink, GstEvent * event)
{
  if (GST_EXOTEL_SINK (sink)->impl->handle_event (event)) {
    gst_event_unref (event);
    return TRUE;
  }
  return GST_BASE_SINK_CLASS (gst_exotel_sink_parent_class)->event (sink, event);
}

static gboolean
gst_exotel_sink_unlock (GstBaseSink * sink)
{
  GST_EXOTEL_SINK (sink)->impl->unlock ();
  return TRUE;
}

static gboolean
gst_exotel_sink_unlock_stop (GstBaseSink * sink)
{
  GST_EXOTEL_SINK (sink)->impl->unlock_stop ();
  return TRUE;
}

static void
gst_exotel_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  if (!GST_EXOTEL_SINK (object)->impl->set_property (prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_exotel_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  if (!GST_EXOTEL_SINK (object)->impl->get_property (prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_exotel_sink_finalize (GObject * object)
{
  delete GST_EXOTEL_SINK (object)->impl;
  G_OBJECT_CLASS (gst_exotel_sink_parent_class)->finalize (object);
}

static void
gst_exotel_sink_init (GstExotelSink * self)
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
gst_exotel_sink_class_init (GstExotelSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_exotel_sink_set_property;
  gobject_class->get_property = gst_exotel_sink_get_property;
  gobject_class->finalize = gst_exotel_sink_finalize;
  callstream::ProviderSink::install_properties (gobject_class, PROP_SINK, kRules);

  base_sink_class->start = GST_DEBUG_FUNCPTR (gst_exotel_sink_start);
  base_sink_class->stop = GST_DEBUG_FUNCPTR (gst_exotel_sink_stop);
  base_sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_exotel_sink_set_caps);
  base_sink_class->render = GST_DEBUG_FUNCPTR (gst_exotel_sink_render);
  base_sink_class->event = GST_DEBUG_FUNCPTR (gst_exotel_sink_event);
  base_sink_class->unlock = GST_DEBUG_FUNCPTR (gst_exotel_sink_unlock);
  base_sink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_exotel_sink_unlock_stop);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Exotel media stream sink", "Sink/Network/Audio",
      "Sends audio back to an Exotel Voicebot call in 320-byte-multiple chunks (media + mark messages, paced), with barge-in clear and played position",
      "callstream developers");
  GST_DEBUG_CATEGORY_INIT (gst_exotel_sink_debug, "exotelsink", 0, "Exotel media stream sink");
}
