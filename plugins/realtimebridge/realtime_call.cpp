#include "realtimebridge/realtime_call.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "callstream-events.h"
#include "protocol/base64.h"
#include "protocol/realtime_delta.h"

namespace callstream {

namespace {

constexpr gint64 kMinChunkMs = 50;
constexpr const char *kTranscriptMessage = "callstream-transcript";

}  // namespace

RealtimeCall::RealtimeCall (GstElement * element, GstPad * srcpad,
    GstDebugCategory * category)
    : element_ (element), srcpad_ (srcpad), category_ (category)
{
  gst_segment_init (&state.caller_segment, GST_FORMAT_TIME);
}

/* ---- output queue (lock held) ------------------------------------------ */

void
RealtimeCall::drop_output ()
{
  for (GstMiniObject *item : output)
    gst_mini_object_unref (item);
  output.clear ();
}

void
RealtimeCall::enqueue (GstMiniObject * item)
{
  output.push_back (item);
  changed.notify_all ();
}

void
RealtimeCall::enqueue_audio (std::string_view item_id,
    std::vector<std::vector<uint8_t>> & chunks)
{
  State &c = state;
  for (std::vector<uint8_t> &chunk : chunks) {
    if (item_id != c.stamped_item) {
      // A new reply: continue the counter, or jump to the caller's time.
      c.next_pts = std::max (c.next_pts, c.caller_position);
      c.stamped_item = item_id;
    }
    const size_t frame = c.format == realtime::AudioFormat::Pcm24k ? 2 : 1;
    const guint64 samples = chunk.size () / frame;
    GstBuffer *buffer = gst_buffer_new_memdup (chunk.data (), chunk.size ());
    GST_BUFFER_PTS (buffer) = c.next_pts;
    GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale (samples, GST_SECOND, c.rate);
    c.next_pts += GST_BUFFER_DURATION (buffer);
    enqueue (GST_MINI_OBJECT (buffer));
  }
  chunks.clear ();
}

/* ---- opening the socket (lock held) -------------------------------------- */

void
RealtimeCall::start (realtime::AudioFormat format, gint rate,
    RealtimeSocket::Options options)
{
  State &c = state;
  c.format = format;
  c.rate = rate;
  const size_t frame = format == realtime::AudioFormat::Pcm24k ? 2 : 1;
  c.bytes_per_second = static_cast<size_t> (rate) * frame;
  c.tracker = std::make_unique<ReplyTracker> (c.bytes_per_second, frame, kMinChunkMs);

  c.socket = std::make_unique<RealtimeSocket> (RealtimeSocket::Handlers {
        [this] {
          std::lock_guard guard (lock);
          state.opened = true;
          GST_CAT_INFO_OBJECT (category_, element_, "Realtime socket open");
        },
        [this] (std::string_view text) { on_server_text (text); },
        [this] (const std::string &reason) { fail (reason); },
      });
  GST_CAT_INFO_OBJECT (category_, element_, "connecting, model %s, %s",
      options.model.c_str (), realtime::format_type (format));
  c.socket->start (std::move (options));
}

/* ---- the socket's side (socket thread) ---------------------------------- */

void
RealtimeCall::fail (const std::string & reason)
{
  std::string call_id;
  bool opened = false;
  {
    std::lock_guard guard (lock);
    if (state.failed)
      return;
    state.failed = true;
    call_id = state.call_id;
    opened = state.opened;
  }
  const char *id = call_id.empty () ? "(unknown)" : call_id.c_str ();
  // Not open yet: the connection failed; open: the call did.
  if (opened)
    GST_ELEMENT_ERROR_WITH_DETAILS (element_, RESOURCE, FAILED,
        ("OpenAI Realtime: %s", reason.c_str ()), ("call %s: %s", id, reason.c_str ()),
        ("call-id", G_TYPE_STRING, id, nullptr));
  else
    GST_ELEMENT_ERROR_WITH_DETAILS (element_, RESOURCE, OPEN_READ_WRITE,
        ("OpenAI Realtime: %s", reason.c_str ()), ("call %s: %s", id, reason.c_str ()),
        ("call-id", G_TYPE_STRING, id, nullptr));
}

void
RealtimeCall::post_transcript (const char *role, const std::string & item_id,
    const std::string & transcript)
{
  std::string call_id;
  {
    std::lock_guard guard (lock);
    call_id = state.call_id;
  }
  GstStructure *s = gst_structure_new (kTranscriptMessage,
      "role", G_TYPE_STRING, role,
      "transcript", G_TYPE_STRING, transcript.c_str (),
      "item-id", G_TYPE_STRING, item_id.c_str (),
      "call-id", G_TYPE_STRING, call_id.c_str (), nullptr);
  gst_element_post_message (element_, gst_message_new_element (GST_OBJECT (element_), s));
}

void
RealtimeCall::on_audio_delta (std::string_view item_id, std::string_view delta_b64)
{
  decoded_.resize (base64_decoded_max (delta_b64.size ()));
  auto size = base64_decode_into (delta_b64, decoded_.data ());
  std::lock_guard guard (lock);
  if (!size || !state.tracker) {
    state.malformed++;
    GST_CAT_WARNING_OBJECT (category_, element_, "audio delta of %.*s is not base64",
        static_cast<int> (item_id.size ()), item_id.data ());
    return;
  }
  std::vector<std::vector<uint8_t>> ready;
  if (!state.tracker->add_audio (item_id, decoded_.data (), *size, ready)) {
    state.late_deltas++;
    GST_CAT_LOG_OBJECT (category_, element_, "late delta of truncated item %.*s",
        static_cast<int> (item_id.size ()), item_id.data ());
    return;
  }
  enqueue_audio (item_id, ready);
}

void
RealtimeCall::on_audio_done (const std::string & item_id)
{
  std::lock_guard guard (lock);
  if (!state.tracker)
    return;
  std::vector<std::vector<uint8_t>> ready;
  state.tracker->finish_item (item_id, ready);
  enqueue_audio (item_id, ready);
}

void
RealtimeCall::on_speech_started ()
{
  std::optional<ReplyTracker::Truncation> cut;
  {
    std::lock_guard guard (lock);
    if (!state.tracker)
      return;
    cut = state.tracker->barge_in ();
    if (!cut)
      return;
    state.truncations++;
    // Queued model audio goes; events (EOS, call info) stay.
    std::deque<GstMiniObject *> kept;
    for (GstMiniObject *item : output) {
      if (GST_IS_BUFFER (item))
        gst_mini_object_unref (item);
      else
        kept.push_back (item);
    }
    output.swap (kept);
    // Serialized as well: a buffer the task is pushing now is cleared too.
    enqueue (GST_MINI_OBJECT (callstream_clear_event_new (FALSE)));
    state.socket->send (realtime::item_truncate (cut->item_id, cut->audio_end_ms));
  }
  GST_CAT_INFO_OBJECT (category_, element_,
      "barge-in: truncating %s at %" G_GINT64_FORMAT " ms", cut->item_id.c_str (),
      cut->audio_end_ms);
  gst_pad_push_event (srcpad_, callstream_clear_event_new (TRUE));
}

void
RealtimeCall::on_server_text (std::string_view text)
{
  // Most of what the model sends: read without a JSON tree (the same answer).
  if (auto plain = realtime_delta::read (text)) {
    on_audio_delta (plain->item_id, plain->delta);
    return;
  }
  // Most of the rest: events it only logs, without a JSON tree either.
  if (auto type = realtime_delta::read_unhandled_type (text)) {
    GST_CAT_LOG_OBJECT (category_, element_, "server event %.*s",
        static_cast<int> (type->size ()), type->data ());
    return;
  }
  realtime::ServerEvent event = realtime::parse_server_event (text);
  if (auto *delta = std::get_if<realtime::AudioDelta> (&event)) {
    on_audio_delta (delta->item_id, delta->delta);
  } else if (auto *done = std::get_if<realtime::AudioDone> (&event)) {
    on_audio_done (done->item_id);
  } else if (std::holds_alternative<realtime::SpeechStarted> (event)) {
    on_speech_started ();
  } else if (auto *caller = std::get_if<realtime::CallerTranscript> (&event)) {
    post_transcript ("caller", caller->item_id, caller->transcript);
  } else if (auto *model = std::get_if<realtime::ModelTranscript> (&event)) {
    post_transcript ("model", model->item_id, model->transcript);
  } else if (auto *error = std::get_if<realtime::Error> (&event)) {
    std::string reason = "error event: " + (error->message.empty ()
        ? std::string ("(no message)") : error->message);
    if (!error->type.empty () || !error->code.empty ())
      reason += " (" + error->type + (error->code.empty () ? "" : "/" + error->code) + ")";
    fail (reason);
  } else if (auto *bad = std::get_if<realtime::ParseError> (&event)) {
    std::lock_guard guard (lock);
    state.malformed++;
    GST_CAT_WARNING_OBJECT (category_, element_, "unusable server event: %s",
        bad->reason.c_str ());
  } else if (auto *unknown = std::get_if<realtime::Unknown> (&event)) {
    GST_CAT_LOG_OBJECT (category_, element_, "server event %s", unknown->type.c_str ());
  }
}

}  // namespace callstream
