/* twiliosrc: a Twilio Media Streams call as a live source.
 *
 * The same inputs as exotelsrc (common/source_inputs: `location` replay,
 * its own server on `port` with path /media-stream, an accepted
 * `connection`, the `push-message` action signal) and the same output rules
 * (common/call_output), mapped from Twilio's messages. The caller's audio
 * (the inbound track) leaves on the always pad "src" as
 * audio/x-mulaw,rate=8000,channels=1; when the stream carries both tracks
 * (<Start><Stream track="both_tracks">) the outbound track gets a second,
 * sometimes pad "outbound". Gaps are found per track from `media.chunk`.
 *
 * Example:
 *   gst-launch-1.0 twiliosrc port=8080 ! mulawdec ! audioconvert ! autoaudiosink
 */
#include "twiliosrc/gsttwiliosrc.h"

#include <libsoup/soup.h>

#include <memory>
#include <string>

#include "common/call_output.h"
#include "common/source_inputs.h"
#include "protocol/twilio.h"

GST_DEBUG_CATEGORY_STATIC (gst_twilio_src_debug);
#define GST_CAT_DEFAULT gst_twilio_src_debug

namespace twilio = callstream::twilio;

namespace {

constexpr const char *kDefaultPath = "/media-stream";

enum {
  PROP_0,
  PROP_INPUTS,  // SourceInputs::kPropertyCount ids from here
  // CallOutput::kStatCount ids from here: frames, bytes, malformed, gaps
  PROP_STATS = PROP_INPUTS + callstream::SourceInputs::kPropertyCount,
};

callstream::CallDescription
describe_call (const twilio::Start & start)
{
  callstream::CallDescription call;
  call.call_sid = start.call_sid;
  call.stream_sid = start.stream_sid;
  call.account_sid = start.account_sid;
  call.custom_parameters = start.custom_parameters;
  call.tracks = start.tracks;
  call.encoding_name = start.media_format.encoding_name.empty ()
      ? "audio/x-mulaw" : start.media_format.encoding_name;
  call.encoding = callstream::AudioEncoding::Mulaw;
  call.sample_rate = start.media_format.sample_rate;
  return call;
}

bool
is_outbound (std::string_view track)
{
  return track == "outbound" || track == "outbound_track";
}

}  // namespace

struct TwilioSrcImpl {
  TwilioSrcImpl (GstElement * element, GstPad * srcpad,
      callstream::SourceInputs::Handlers handlers)
      : inbound (element, srcpad, "twilio"),
        inputs (element, srcpad, PROP_INPUTS, kDefaultPath, std::move (handlers))
  {
    inbound.set_pacer (inputs.pacer ());
  }

  // Both under the "src" pad's STREAM_LOCK, which SourceInputs holds.
  callstream::CallOutput inbound;
  std::unique_ptr<callstream::CallOutput> outbound;
  GstPad *outbound_pad = nullptr;
  callstream::CallDescription call;
  callstream::SourceInputs inputs;
};

struct _GstTwilioSrc {
  GstElement parent;
  GstPad *srcpad;
  TwilioSrcImpl *impl;
};

G_DEFINE_TYPE (GstTwilioSrc, gst_twilio_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (twiliosrc, "twiliosrc", GST_RANK_NONE,
    GST_TYPE_TWILIO_SRC);

#define TWILIO_CAPS "audio/x-mulaw, rate = (int) 8000, channels = (int) 1"
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (TWILIO_CAPS));
static GstStaticPadTemplate outbound_template =
GST_STATIC_PAD_TEMPLATE ("outbound", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (TWILIO_CAPS));

/* ---- Twilio messages (called with the src pad's STREAM_LOCK held) ------- */

// The outbound track's pad, added when the stream says it carries it.
static callstream::CallOutput &
outbound_output (GstTwilioSrc * self)
{
  TwilioSrcImpl *impl = self->impl;
  if (!impl->outbound) {
    impl->outbound_pad = gst_pad_new_from_static_template (&outbound_template,
        "outbound");
    gst_pad_use_fixed_caps (impl->outbound_pad);
    gst_pad_set_active (impl->outbound_pad, TRUE);
    impl->outbound = std::make_unique<callstream::CallOutput> (
        GST_ELEMENT (self), impl->outbound_pad, "twilio");
    impl->outbound->set_pacer (impl->inputs.pacer ());
    gst_element_add_pad (GST_ELEMENT (self), impl->outbound_pad);
    impl->outbound->begin_call (impl->call);
  }
  return *impl->outbound;
}

static GstFlowReturn
begin_call (GstTwilioSrc * self, const twilio::Start & start)
{
  TwilioSrcImpl *impl = self->impl;
  if (!start.media_format.encoding || start.media_format.sample_rate != 8000
      || start.media_format.channels != 1) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Twilio stream format \"%s\" %d Hz %d channels is not u-law 8000 Hz "
            "mono", start.media_format.encoding_name.c_str (),
            start.media_format.sample_rate, start.media_format.channels),
        ("call %s", start.call_sid.c_str ()));
    return impl->inbound.end_call ("unsupported media format");
  }
  impl->call = describe_call (start);
  impl->inputs.set_stream_sid (start.stream_sid);
  impl->inbound.begin_call (impl->call);
  bool has_outbound = false;
  for (const std::string &track : start.tracks)
    has_outbound |= is_outbound (track);
  if (has_outbound)
    outbound_output (self);
  gst_element_no_more_pads (GST_ELEMENT (self));
  return GST_FLOW_OK;
}

static GstFlowReturn
handle_media (GstTwilioSrc * self, const twilio::Media & media)
{
  TwilioSrcImpl *impl = self->impl;
  if (!impl->inbound.started ()) {
    impl->inbound.report_malformed ("media before start");
    return GST_FLOW_OK;
  }
  callstream::CallOutput & output = is_outbound (media.track)
      ? outbound_output (self) : impl->inbound;
  output.note_sequence (media.chunk);
  const GstFlowReturn ret = output.push_base64_audio (media.payload);
  // One track's downstream ending does not end the other.
  return &output == impl->outbound.get () && ret == GST_FLOW_EOS
      ? GST_FLOW_OK : ret;
}

static GstFlowReturn
end_call (GstTwilioSrc * self, const char *why)
{
  if (self->impl->outbound)
    self->impl->outbound->end_call (why);
  return self->impl->inbound.end_call (why);
}

static GstFlowReturn
handle_text (GstTwilioSrc * self, std::string_view text)
{
  callstream::CallOutput & inbound = self->impl->inbound;
  const twilio::Message message = twilio::parse_message (text);
  return std::visit ([self, &inbound] (const auto &m) -> GstFlowReturn {
        using T = std::decay_t<decltype (m)>;
        if constexpr (std::is_same_v<T, twilio::ParseError>) {
          inbound.report_malformed (m.reason);
        } else if constexpr (std::is_same_v<T, twilio::Connected>) {
          GST_DEBUG_OBJECT (self, "connected: %s %s", m.protocol.c_str (),
              m.version.c_str ());
        } else if constexpr (std::is_same_v<T, twilio::Start>) {
          return begin_call (self, m);
        } else if constexpr (std::is_same_v<T, twilio::Media>) {
          return handle_media (self, m);
        } else if constexpr (std::is_same_v<T, twilio::Dtmf>) {
          if (!inbound.started ())
            inbound.report_malformed ("dtmf before start");
          else
            inbound.push_dtmf (m.digit, std::nullopt);
        } else if constexpr (std::is_same_v<T, twilio::Mark>) {
          if (self->impl->inputs.post_marks ())
            inbound.post_mark (m.name);
          self->impl->inputs.deliver_mark (m.name);
        } else if constexpr (std::is_same_v<T, twilio::Stop>) {
          return end_call (self, "stop");
        } else if constexpr (std::is_same_v<T, twilio::Unknown>) {
          GST_DEBUG_OBJECT (self, "ignoring event \"%s\"", m.event.c_str ());
        }
        return GST_FLOW_OK;
      }, message);
}

static GstFlowReturn
handle_binary (GstTwilioSrc * self, const uint8_t *, size_t size)
{
  self->impl->inbound.report_malformed ("binary frame of " + std::to_string (size)
      + " bytes: Twilio sends JSON text only");
  return GST_FLOW_OK;
}

/* ---- life cycle -------------------------------------------------------- */

static void
remove_outbound_pad (GstTwilioSrc * self)
{
  TwilioSrcImpl *impl = self->impl;
  if (impl->outbound_pad == nullptr)
    return;
  gst_pad_set_active (impl->outbound_pad, FALSE);
  gst_element_remove_pad (GST_ELEMENT (self), impl->outbound_pad);
  impl->outbound_pad = nullptr;
  impl->outbound.reset ();
}

static GstStateChangeReturn
gst_twilio_src_change_state (GstElement * element, GstStateChange transition)
{
  auto *self = GST_TWILIO_SRC (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    self->impl->inbound.reset ();
  const GstStateChangeReturn ret = self->impl->inputs.change_state (transition,
      [element] (GstStateChange t) {
        return GST_ELEMENT_CLASS (gst_twilio_src_parent_class)->change_state (element, t);
      });
  if (ret != GST_STATE_CHANGE_FAILURE && transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    remove_outbound_pad (self);
  return ret;
}

static gboolean
gst_twilio_src_send_event (GstElement * element, GstEvent * event)
{
  auto *self = GST_TWILIO_SRC (element);
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    gst_event_unref (event);
    self->impl->inputs.receive_end ("EOS sent by the application");
    return TRUE;
  }
  return GST_ELEMENT_CLASS (gst_twilio_src_parent_class)->send_event (element,
      event);
}

/* ---- GObject ----------------------------------------------------------- */

static void
gst_twilio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  auto *self = GST_TWILIO_SRC (object);
  if (!self->impl->inputs.set_property (prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_twilio_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  auto *self = GST_TWILIO_SRC (object);
  TwilioSrcImpl *impl = self->impl;
  if (impl->inputs.get_property (prop_id, value))
    return;
  if (prop_id < PROP_STATS || prop_id >= PROP_STATS + callstream::CallOutput::kStatCount) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  // Both tracks; the outbound output may come and go: read under the stream lock.
  GST_PAD_STREAM_LOCK (self->srcpad);
  guint64 sum = impl->inbound.stat (prop_id - PROP_STATS);
  if (impl->outbound)
    sum += impl->outbound->stat (prop_id - PROP_STATS);
  GST_PAD_STREAM_UNLOCK (self->srcpad);
  g_value_set_uint64 (value, sum);
}

static void
gst_twilio_src_finalize (GObject * object)
{
  auto *self = GST_TWILIO_SRC (object);
  delete self->impl;
  G_OBJECT_CLASS (gst_twilio_src_parent_class)->finalize (object);
}

static void
gst_twilio_src_init (GstTwilioSrc * self)
{
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
  self->impl = new TwilioSrcImpl (GST_ELEMENT (self), self->srcpad, {
        [self] (std::string_view text) { return handle_text (self, text); },
        [self] (const uint8_t *data, size_t size) {
          return handle_binary (self, data, size);
        },
        [self] (const char *why) { return end_call (self, why); },
      });
}

static void
gst_twilio_src_class_init (GstTwilioSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_twilio_src_set_property;
  gobject_class->get_property = gst_twilio_src_get_property;
  gobject_class->finalize = gst_twilio_src_finalize;

  callstream::SourceInputs::install_properties (gobject_class, PROP_INPUTS,
      "Twilio", kDefaultPath);
  callstream::CallOutput::install_stat_properties (gobject_class, PROP_STATS,
      "Messages ignored as malformed (bad JSON, bad base64, media before "
          "start, binary frames, ...)",
      "Jumps in a track's media chunk numbers (lost messages)");
  callstream::SourceInputs::install_application_signals (gobject_class,
      [] (GstElement *element) {  // only ever a twiliosrc: unchecked
        return &reinterpret_cast<GstTwilioSrc *> (element)->impl->inputs;
      });

  element_class->change_state = gst_twilio_src_change_state;
  element_class->send_event = gst_twilio_src_send_event;
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template (element_class, &outbound_template);
  gst_element_class_set_static_metadata (element_class,
      "Twilio Media Streams source", "Source/Network/Audio",
      "Receives a Twilio Media Streams call (WebSocket JSON with base64 "
      "u-law) and outputs its audio, one pad per track, with the call's metadata",
      "callstream developers");
  GST_DEBUG_CATEGORY_INIT (gst_twilio_src_debug, "twiliosrc", 0,
      "Twilio Media Streams source");
}
