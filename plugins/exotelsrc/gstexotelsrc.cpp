/* exotelsrc: an Exotel AgentStream / Voicebot media stream as a live source.
 *
 * Messages come from one of three inputs, all producing the same output:
 * a capture replayed from `location` (JSON Lines, on a pad task), the
 * element's own WebSocket server (`port`), or a SoupWebsocketConnection
 * accepted by an application (`connection`), plus the `push-message` action
 * signal for applications that read their sockets themselves. Except for the
 * replay, buffers are pushed on the caller's thread: no thread per call.
 * The inputs live in common/source_inputs, the output in common/call_output;
 * this file maps Exotel's messages onto them.
 *
 * Example:
 *   gst-launch-1.0 exotelsrc port=8443 ! chunkdumper location=audio-dumps
 */
#include "exotelsrc/gstexotelsrc.h"

#include <libsoup/soup.h>

#include <memory>
#include <string>

#include "common/call_output.h"
#include "common/source_inputs.h"
#include "protocol/exotel.h"

GST_DEBUG_CATEGORY_STATIC (gst_exotel_src_debug);
#define GST_CAT_DEFAULT gst_exotel_src_debug

namespace exotel = callstream::exotel;

namespace {

constexpr const char *kDefaultPath = "/v1/ingest";

enum {
  PROP_0,
  PROP_INPUTS,  // SourceInputs::kPropertyCount ids from here
  // CallOutput::kStatCount ids from here: frames, bytes, malformed, gaps
  PROP_STATS = PROP_INPUTS + callstream::SourceInputs::kPropertyCount,
};

callstream::CallDescription
describe_call (const exotel::Start & start)
{
  callstream::CallDescription call;
  call.call_sid = start.call_sid;
  call.stream_sid = start.stream_sid;
  call.account_sid = start.account_sid;
  call.from = start.from;
  call.to = start.to;
  call.custom_parameters = start.custom_parameters;
  call.encoding_name = start.media_format.encoding_name;
  call.encoding = start.media_format.encoding == exotel::Encoding::Mulaw
      ? callstream::AudioEncoding::Mulaw : callstream::AudioEncoding::Pcm16;
  call.sample_rate = start.media_format.sample_rate;
  call.bit_rate = start.media_format.bit_rate;
  return call;
}

}  // namespace

struct ExotelSrcImpl {
  ExotelSrcImpl (GstElement * element, GstPad * srcpad,
      callstream::SourceInputs::Handlers handlers)
      : output (element, srcpad, "exotel"),
        inputs (element, srcpad, PROP_INPUTS, kDefaultPath, std::move (handlers))
  {
    output.set_pacer (inputs.pacer ());
  }

  callstream::CallOutput output;  // under the src pad's STREAM_LOCK
  callstream::SourceInputs inputs;
};

struct _GstExotelSrc {
  GstElement parent;
  GstPad *srcpad;
  ExotelSrcImpl *impl;
};

G_DEFINE_TYPE (GstExotelSrc, gst_exotel_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (exotelsrc, "exotelsrc", GST_RANK_NONE,
    GST_TYPE_EXOTEL_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) S16LE, "
        "layout = (string) interleaved, rate = (int) [ 1, MAX ], "
        "channels = (int) 1; "
        "audio/x-mulaw, rate = (int) [ 1, MAX ], channels = (int) 1"));

/* ---- Exotel messages (called with the src pad's STREAM_LOCK held) ------- */

static GstFlowReturn
handle_text (GstExotelSrc * self, std::string_view text)
{
  callstream::CallOutput & output = self->impl->output;
  const exotel::Message message = exotel::parse_message (text);
  return std::visit ([self, &output] (const auto &m) -> GstFlowReturn {
        using T = std::decay_t<decltype (m)>;
        if constexpr (requires { m.sequence_number; })
          output.note_sequence (m.sequence_number);
        if constexpr (std::is_same_v<T, exotel::ParseError>) {
          output.report_malformed (m.reason);
        } else if constexpr (std::is_same_v<T, exotel::Start>) {
          self->impl->inputs.set_stream_sid (m.stream_sid);
          output.begin_call (describe_call (m));
        } else if constexpr (std::is_same_v<T, exotel::Media>) {
          if (!output.started ())
            output.report_malformed ("media before start");
          else
            return output.push_base64_audio (m.payload);
        } else if constexpr (std::is_same_v<T, exotel::Dtmf>) {
          if (!output.started ())
            output.report_malformed ("dtmf before start");
          else
            output.push_dtmf (m.digit, m.duration_ms);
        } else if constexpr (std::is_same_v<T, exotel::Mark>) {
          if (self->impl->inputs.post_marks ())
            output.post_mark (m.name);
          self->impl->inputs.deliver_mark (m.name);
        } else if constexpr (std::is_same_v<T, exotel::Stop>) {
          return output.end_call (m.reason.empty ()? "stop" : m.reason.c_str ());
        } else if constexpr (std::is_same_v<T, exotel::Unknown>) {
          GST_DEBUG_OBJECT (self, "ignoring event \"%s\"", m.event.c_str ());
        }
        return GST_FLOW_OK;
      }, message);
}

// Raw audio in the call's format; before any start, Exotel's default format.
static GstFlowReturn
handle_binary (GstExotelSrc * self, const uint8_t * data, size_t size)
{
  callstream::CallOutput & output = self->impl->output;
  if (!output.started ()) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Binary audio before any start message: taking it as PCM16 8000 Hz "
            "mono, Exotel's default"), (nullptr));
    output.begin_call (describe_call (exotel::Start {}));
  }
  return output.push_audio (gst_buffer_new_memdup (data, size));
}

/* ---- life cycle -------------------------------------------------------- */

static GstStateChangeReturn
gst_exotel_src_change_state (GstElement * element, GstStateChange transition)
{
  auto *self = GST_EXOTEL_SRC (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    self->impl->output.reset ();
  return self->impl->inputs.change_state (transition, [element] (GstStateChange t) {
        return GST_ELEMENT_CLASS (gst_exotel_src_parent_class)->change_state (element, t);
      });
}

static gboolean
gst_exotel_src_send_event (GstElement * element, GstEvent * event)
{
  auto *self = GST_EXOTEL_SRC (element);
  // An application that reads the socket itself ends the call with EOS.
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    gst_event_unref (event);
    self->impl->inputs.receive_end ("EOS sent by the application");
    return TRUE;
  }
  return GST_ELEMENT_CLASS (gst_exotel_src_parent_class)->send_event (element,
      event);
}

/* ---- GObject ----------------------------------------------------------- */

static void
gst_exotel_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  auto *self = GST_EXOTEL_SRC (object);
  if (!self->impl->inputs.set_property (prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_exotel_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  auto *self = GST_EXOTEL_SRC (object);
  const callstream::CallOutput & output = self->impl->output;
  if (self->impl->inputs.get_property (prop_id, value))
    return;
  if (prop_id >= PROP_STATS && prop_id < PROP_STATS + callstream::CallOutput::kStatCount)
    g_value_set_uint64 (value, output.stat (prop_id - PROP_STATS));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_exotel_src_finalize (GObject * object)
{
  auto *self = GST_EXOTEL_SRC (object);
  delete self->impl;
  G_OBJECT_CLASS (gst_exotel_src_parent_class)->finalize (object);
}

static void
gst_exotel_src_init (GstExotelSrc * self)
{
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
  self->impl = new ExotelSrcImpl (GST_ELEMENT (self), self->srcpad, {
        [self] (std::string_view text) { return handle_text (self, text); },
        [self] (const uint8_t *data, size_t size) {
          return handle_binary (self, data, size);
        },
        [self] (const char *why) { return self->impl->output.end_call (why); },
      });
}

static void
gst_exotel_src_class_init (GstExotelSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_exotel_src_set_property;
  gobject_class->get_property = gst_exotel_src_get_property;
  gobject_class->finalize = gst_exotel_src_finalize;

  callstream::SourceInputs::install_properties (gobject_class, PROP_INPUTS,
      "Exotel", kDefaultPath);
  callstream::CallOutput::install_stat_properties (gobject_class, PROP_STATS,
      "Messages ignored as malformed (bad JSON, bad base64, odd PCM16 "
          "byte count, media before start, ...)",
      "Jumps in the message sequence numbers (lost messages)");
  callstream::SourceInputs::install_application_signals (gobject_class,
      [] (GstElement *element) {  // only ever an exotelsrc: unchecked
        return &reinterpret_cast<GstExotelSrc *> (element)->impl->inputs;
      });

  element_class->change_state = gst_exotel_src_change_state;
  element_class->send_event = gst_exotel_src_send_event;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Exotel media stream source", "Source/Network/Audio",
      "Receives an Exotel AgentStream/Voicebot call (WebSocket JSON with "
      "base64 audio) and outputs its audio with the call's metadata",
      "callstream developers");
  GST_DEBUG_CATEGORY_INIT (gst_exotel_src_debug, "exotelsrc", 0,
      "Exotel media stream source");
}
