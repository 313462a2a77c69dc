#include "common/call_output.h"

#include "callstream-events.h"
#include "protocol/base64.h"

GST_DEBUG_CATEGORY_STATIC (call_output_debug);
#define GST_CAT_DEFAULT call_output_debug

namespace callstream {

namespace {

// A broken peer may send thousands of bad messages: warn for the first ones,
// then once every kWarningEvery; the counter stays exact.
constexpr guint64 kWarningsInFull = 10;
constexpr guint64 kWarningEvery = 100;

GstCaps *
caps_for (AudioEncoding encoding, int rate)
{
  if (encoding == AudioEncoding::Mulaw)
    return gst_caps_new_simple ("audio/x-mulaw", "rate", G_TYPE_INT, rate,
        "channels", G_TYPE_INT, 1, nullptr);
  return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
      "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, rate,
      "channels", G_TYPE_INT, 1, nullptr);
}

GstStructure *
call_info_structure (const char *provider, const CallDescription &call)
{
  GstStructure *info = gst_structure_new (CALLSTREAM_CALL_INFO_NAME,
      "provider", G_TYPE_STRING, provider,
      "encoding", G_TYPE_STRING, call.encoding_name.c_str (),
      "sample-rate", G_TYPE_INT, call.sample_rate,
      "bit-rate", G_TYPE_INT, call.bit_rate, nullptr);
  const std::pair<const char *, const std::string *> ids[] = {
    {"call-sid", &call.call_sid}, {"stream-sid", &call.stream_sid},
    {"account-sid", &call.account_sid}, {"from", &call.from}, {"to", &call.to},
  };
  for (const auto &[field, value] : ids)
    if (!value->empty ())
      gst_structure_set (info, field, G_TYPE_STRING, value->c_str (), nullptr);
  GstStructure *params = gst_structure_new_empty ("custom-parameters");
  for (const auto &[key, value] : call.custom_parameters)
    gst_structure_set (params, key.c_str (), G_TYPE_STRING, value.c_str (),
        nullptr);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&value, params);
  gst_structure_take_value (info, "custom-parameters", &value);
  if (!call.tracks.empty ()) {
    GValue tracks = G_VALUE_INIT;
    gst_value_array_init (&tracks, call.tracks.size ());
    for (const std::string &track : call.tracks) {
      GValue name = G_VALUE_INIT;
      g_value_init (&name, G_TYPE_STRING);
      g_value_set_string (&name, track.c_str ());
      gst_value_array_append_and_take_value (&tracks, &name);
    }
    gst_structure_take_value (info, "tracks", &tracks);
  }
  return info;
}

GstTagList *
call_tags (const CallDescription &call)
{
  GstTagList *tags = gst_tag_list_new_empty ();
  const std::pair<const char *, const std::string *> ids[] = {
    {CALLSTREAM_TAG_CALL_SID, &call.call_sid},
    {CALLSTREAM_TAG_STREAM_SID, &call.stream_sid},
    {CALLSTREAM_TAG_ACCOUNT_SID, &call.account_sid},
    {CALLSTREAM_TAG_CALLER, &call.from}, {CALLSTREAM_TAG_CALLEE, &call.to},
  };
  for (const auto &[tag, value] : ids)
    if (!value->empty ())
      gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, tag, value->c_str (),
          nullptr);
  gst_tag_list_set_scope (tags, GST_TAG_SCOPE_STREAM);
  return tags;
}

}  // namespace

/* ---- ReplayPacer ------------------------------------------------------- */

void
ReplayPacer::set_state (bool playing, bool stopping)
{
  std::lock_guard lock (lock_);
  playing_ = playing;
  stopping_ = stopping;
  if (wait_ != nullptr)
    gst_clock_id_unschedule (wait_);
  changed_.notify_all ();
}

GstFlowReturn
ReplayPacer::wait_until (GstElement *element, GstClockTime running_time)
{
  if (!enabled_)
    return GST_FLOW_OK;
  for (;;) {
    std::unique_lock lock (lock_);
    changed_.wait (lock, [this] { return playing_ || stopping_; });
    if (stopping_)
      return GST_FLOW_FLUSHING;
    g_autoptr (GstClock) clock = gst_element_get_clock (element);
    if (clock == nullptr)
      return GST_FLOW_OK;
    GstClockID id = gst_clock_new_single_shot_id (clock,
        gst_element_get_base_time (element) + running_time);
    wait_ = id;
    lock.unlock ();
    const GstClockReturn result = gst_clock_id_wait (id, nullptr);
    lock.lock ();
    wait_ = nullptr;
    gst_clock_id_unref (id);
    if (result != GST_CLOCK_UNSCHEDULED)
      return GST_FLOW_OK;
    // Unscheduled by a pause (the base time will change) or a stop: look again.
  }
}

/* ---- CallOutput -------------------------------------------------------- */

void
CallOutput::install_stat_properties (GObjectClass *klass, guint first,
    const char *malformed_blurb, const char *gaps_blurb)
{
  const struct {
    const char *name, *nick, *blurb;
  } stats[kStatCount] = {
    {"frames", "Frames", "Audio buffers pushed in this call"},
    {"bytes", "Bytes", "Audio bytes pushed in this call"},
    {"malformed", "Malformed", malformed_blurb},
    {"gaps", "Gaps", gaps_blurb},
  };
  for (guint i = 0; i < kStatCount; i++)
    g_object_class_install_property (klass, first + i,
        g_param_spec_uint64 (stats[i].name, stats[i].nick, stats[i].blurb, 0,
            G_MAXUINT64, 0, GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

guint64
CallOutput::stat (guint index) const
{
  const std::atomic<guint64> *stats[kStatCount] = { &frames_, &bytes_,
    &malformed_, &gaps_ };
  return index < kStatCount ? stats[index]->load () : 0;
}

CallOutput::CallOutput (GstElement *element, GstPad *srcpad,
    const char *provider)
    : element_ (element), srcpad_ (srcpad), provider_ (provider)
{
  static gsize debug_once = 0;
  if (g_once_init_enter (&debug_once)) {
    GST_DEBUG_CATEGORY_INIT (call_output_debug, "callstream-call", 0,
        "Provider source call output");
    g_once_init_leave (&debug_once, 1);
  }
}

void
CallOutput::reset ()
{
  started_ = ended_ = false;
  call_id_.clear ();
  encoding_ = AudioEncoding::Pcm16;
  sample_rate_ = 0;
  samples_ = 0;
  base_ = GST_CLOCK_TIME_NONE;
  last_sequence_.reset ();
  discont_ = true;
  frames_ = bytes_ = malformed_ = gaps_ = 0;
}

void
CallOutput::report_malformed (const std::string &reason)
{
  const guint64 count = ++malformed_;
  GST_DEBUG_OBJECT (element_, "malformed message #%" G_GUINT64_FORMAT ": %s",
      count, reason.c_str ());
  if (count > kWarningsInFull && count % kWarningEvery != 0)
    return;
  GST_ELEMENT_WARNING_WITH_DETAILS (element_, STREAM, DECODE,
      ("Ignored a malformed %s message: %s", provider_, reason.c_str ()),
      ("%" G_GUINT64_FORMAT " malformed messages so far in call %s", count,
          call_id_.c_str ()),
      ("call-sid", G_TYPE_STRING, call_id_.c_str (),
          "malformed", G_TYPE_UINT64, count, nullptr));
}

void
CallOutput::push_stream_start ()
{
  g_autofree gchar *stream_id = gst_pad_create_stream_id (srcpad_, element_,
      call_id_.empty ()? nullptr : call_id_.c_str ());
  GstEvent *event = gst_event_new_stream_start (stream_id);
  gst_event_set_group_id (event, gst_util_group_id_next ());
  gst_pad_push_event (srcpad_, event);
}

void
CallOutput::push_segment ()
{
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (srcpad_, gst_event_new_segment (&segment));
  started_ = true;
}

void
CallOutput::ensure_stream ()
{
  if (started_)
    return;
  push_stream_start ();
  push_segment ();
}

void
CallOutput::begin_call (const CallDescription &call)
{
  const bool first = !started_;
  const bool format_changed = first || encoding_ != call.encoding
      || sample_rate_ != call.sample_rate;
  if (!call.call_sid.empty ())
    call_id_ = call.call_sid;
  else if (!call.stream_sid.empty ())
    call_id_ = call.stream_sid;
  if (!first && format_changed && GST_CLOCK_TIME_IS_VALID (base_)) {
    // Time so far stays; samples (and offsets) count anew at the new rate.
    base_ += gst_util_uint64_scale_int (samples_, GST_SECOND, sample_rate_);
    samples_ = 0;
  }
  encoding_ = call.encoding;
  sample_rate_ = call.sample_rate;
  // Sticky order: stream-start, caps, segment.
  if (first)
    push_stream_start ();
  if (format_changed) {
    g_autoptr (GstCaps) caps = caps_for (encoding_, sample_rate_);
    GST_INFO_OBJECT (element_, "call %s: %" GST_PTR_FORMAT, call_id_.c_str (),
        caps);
    gst_pad_push_event (srcpad_, gst_event_new_caps (caps));
  }
  if (first)
    push_segment ();
  gst_pad_push_event (srcpad_,
      callstream_call_info_event_new (call_info_structure (provider_, call)));
  gst_pad_push_event (srcpad_, gst_event_new_tag (call_tags (call)));
}

GstClockTime
CallOutput::running_time_now () const
{
  g_autoptr (GstClock) clock = gst_element_get_clock (element_);
  if (clock == nullptr || GST_STATE (element_) != GST_STATE_PLAYING)
    return 0;
  const GstClockTime now = gst_clock_get_time (clock);
  const GstClockTime base_time = gst_element_get_base_time (element_);
  return now > base_time ? now - base_time : 0;
}

GstFlowReturn
CallOutput::handle_flow (GstFlowReturn ret)
{
  if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING)
    return ret;
  if (ret == GST_FLOW_EOS) {
    ended_ = true;
    return ret;
  }
  GST_ELEMENT_FLOW_ERROR (element_, ret);
  end_call ("downstream flow error");
  return ret;
}

// Timestamps come from the sample count, so lost messages never shift them.
GstFlowReturn
CallOutput::push_audio (GstBuffer *buffer)
{
  const gsize size = gst_buffer_get_size (buffer);
  const guint sample_size = encoding_ == AudioEncoding::Pcm16 ? 2 : 1;
  if (size % sample_size != 0) {
    gst_buffer_unref (buffer);
    report_malformed ("odd byte count " + std::to_string (size)
        + " for PCM16 audio");
    return GST_FLOW_OK;
  }
  if (size == 0) {
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }
  const guint64 samples = size / sample_size;
  if (!GST_CLOCK_TIME_IS_VALID (base_))
    base_ = running_time_now ();
  const GstClockTime pts = base_
      + gst_util_uint64_scale_int (samples_, GST_SECOND, sample_rate_);
  const GstClockTime end = base_
      + gst_util_uint64_scale_int (samples_ + samples, GST_SECOND, sample_rate_);
  if (pacer_ != nullptr) {
    const GstFlowReturn waited = pacer_->wait_until (element_, pts);
    if (waited != GST_FLOW_OK) {
      gst_buffer_unref (buffer);
      return waited;
    }
  }
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = end - pts;
  GST_BUFFER_OFFSET (buffer) = samples_;
  GST_BUFFER_OFFSET_END (buffer) = samples_ + samples;
  if (discont_) {
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    discont_ = false;
  }
  samples_ += samples;
  frames_++;
  bytes_ += size;
  return handle_flow (gst_pad_push (srcpad_, buffer));
}

GstFlowReturn
CallOutput::push_base64_audio (std::string_view payload)
{
  GstBuffer *buffer = gst_buffer_new_allocate (nullptr,
      base64_decoded_max (payload.size ()), nullptr);
  GstMapInfo map;
  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  const auto decoded = base64_decode_into (payload, map.data);
  gst_buffer_unmap (buffer, &map);
  if (!decoded) {
    gst_buffer_unref (buffer);
    report_malformed ("media payload is not valid base64");
    return GST_FLOW_OK;
  }
  gst_buffer_set_size (buffer, *decoded);
  return push_audio (buffer);
}

void
CallOutput::note_sequence (std::optional<int64_t> sequence)
{
  if (!sequence)
    return;
  if (last_sequence_ && *sequence > *last_sequence_ + 1) {
    const guint64 gaps = ++gaps_;
    GST_INFO_OBJECT (element_, "call %s: sequence jumps from %" G_GINT64_FORMAT
        " to %" G_GINT64_FORMAT " (gap %" G_GUINT64_FORMAT ")",
        call_id_.c_str (), *last_sequence_, *sequence, gaps);
    discont_ = true;
  } else if (last_sequence_ && *sequence <= *last_sequence_) {
    GST_DEBUG_OBJECT (element_, "sequence %" G_GINT64_FORMAT " after %"
        G_GINT64_FORMAT ": late or repeated", *sequence, *last_sequence_);
    return;
  }
  last_sequence_ = sequence;
}

void
CallOutput::push_dtmf (std::string_view digit,
    std::optional<int64_t> duration_ms)
{
  GstEvent *start = digit.size () == 1
      ? callstream_dtmf_event_new (digit[0], TRUE,
      duration_ms ? static_cast<gint> (*duration_ms) : -1) : nullptr;
  if (start == nullptr) {
    report_malformed ("unknown DTMF digit \"" + std::string (digit) + "\"");
    return;
  }
  gst_pad_push_event (srcpad_, start);
  gst_pad_push_event (srcpad_, callstream_dtmf_event_new (digit[0], FALSE, -1));
}

void
CallOutput::post_mark (const std::string &name)
{
  GstStructure *s = gst_structure_new (CALLSTREAM_MARK_MESSAGE_NAME,
      "name", G_TYPE_STRING, name.c_str (),
      "call-sid", G_TYPE_STRING, call_id_.c_str (), nullptr);
  gst_element_post_message (element_,
      gst_message_new_element (GST_OBJECT (element_), s));
}

GstFlowReturn
CallOutput::end_call (const char *why)
{
  if (ended_)
    return GST_FLOW_EOS;
  GST_INFO_OBJECT (element_, "call %s ends: %s", call_id_.c_str (), why);
  ensure_stream ();
  ended_ = true;
  gst_pad_push_event (srcpad_, gst_event_new_eos ());
  return GST_FLOW_EOS;
}

}  // namespace callstream
