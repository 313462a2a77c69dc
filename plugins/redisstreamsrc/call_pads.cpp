#include "redisstreamsrc/call_pads.h"

#include "callstream-events.h"

GST_DEBUG_CATEGORY_EXTERN (gst_redis_stream_src_debug);
#define GST_CAT_DEFAULT gst_redis_stream_src_debug

namespace callstream {
namespace {

/* Ended calls remembered to drop their late duplicates. */
constexpr size_t kEndedRemembered = 4096;

GstCaps *
caps_for (const RedisAudioFormat & format)
{
  if (format.encoding == RedisAudioEncoding::kMulaw)
    return gst_caps_new_simple ("audio/x-mulaw", "rate", G_TYPE_INT,
        format.sample_rate, "channels", G_TYPE_INT, format.channels, nullptr);
  return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
      "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT,
      format.sample_rate, "channels", G_TYPE_INT, format.channels, nullptr);
}

bool
same_format (const RedisAudioFormat & a, const RedisAudioFormat & b)
{
  return a.sample_rate == b.sample_rate && a.channels == b.channels
      && a.encoding == b.encoding;
}

GstStructure *
call_info (const RedisCallIds & ids, const RedisCallStart * start,
    const RedisAudioFormat & format)
{
  GstStructure *info = gst_structure_new (CALLSTREAM_CALL_INFO_NAME,
      "call-sid", G_TYPE_STRING, ids.interaction_id.c_str (),
      "encoding", G_TYPE_STRING, redis_audio_encoding_name (format.encoding),
      "sample-rate", G_TYPE_INT, format.sample_rate,
      "bit-rate", G_TYPE_INT, 0, nullptr);
  if (!ids.stream_sid.empty ())
    gst_structure_set (info, "stream-sid", G_TYPE_STRING,
        ids.stream_sid.c_str (), nullptr);
  GstStructure *params = gst_structure_new_empty ("custom-parameters");
  if (start != nullptr) {
    const std::pair<const char *, const std::string *> fields[] = {
      {"provider", &start->provider}, {"account-sid", &start->account_sid},
      {"from", &start->from}, {"to", &start->to},
    };
    for (const auto &[name, value] : fields)
      if (!value->empty ())
        gst_structure_set (info, name, G_TYPE_STRING, value->c_str (),
            nullptr);
    for (const auto &[key, value] : start->custom_parameters)
      if (!key.empty ())
        gst_structure_set (params, key.c_str (), G_TYPE_STRING, value.c_str (),
            nullptr);
  }
  gst_structure_set (info, "custom-parameters", GST_TYPE_STRUCTURE, params,
      nullptr);
  gst_structure_free (params);
  return info;
}

}  // namespace

void
CallPads::describe (const RedisReadCallStart & start)
{
  descriptions_.insert_or_assign (start.ids.interaction_id, start);
}

RedisPayload
CallPads::payload_of (const std::string & interaction_id) const
{
  auto found = descriptions_.find (interaction_id);
  return found != descriptions_.end () ? found->second.start.payload
      : RedisPayload::kBinary;
}

bool
CallPads::ended (const std::string & interaction_id) const
{
  return ended_.contains (interaction_id);
}

bool
CallPads::duplicate (const RedisReadAudio & audio) const
{
  if (ended (audio.ids.interaction_id))
    return true;
  auto found = calls_.find (audio.ids.interaction_id);
  return found != calls_.end () && audio.seq <= found->second.last_seq;
}

CallPads::Call &
CallPads::open (const RedisCallIds & ids, const RedisAudioFormat & format)
{
  auto found = calls_.find (ids.interaction_id);
  if (found != calls_.end ())
    return found->second;

  GstElementClass *klass = GST_ELEMENT_GET_CLASS (element_);
  g_autofree gchar *name = g_strdup_printf ("src_%u", next_pad_++);
  GstPad *pad = gst_pad_new_from_template (
      gst_element_class_get_pad_template (klass, "src_%u"), name);
  gst_pad_use_fixed_caps (pad);
  gst_pad_set_active (pad, TRUE);
  Call & call = calls_[ids.interaction_id];
  call.pad = GST_PAD (gst_object_ref (pad));
  call.format = format;

  g_autofree gchar *stream_id = gst_pad_create_stream_id (pad, element_,
      ids.interaction_id.c_str ());
  /* Sticky events before the pad is added: whoever links it in pad-added
   * gets them in order with the first buffer. */
  gst_pad_store_sticky_event (pad, gst_event_new_stream_start (stream_id));
  GST_INFO_OBJECT (element_, "call %s on %s", ids.interaction_id.c_str (),
      name);
  gst_element_add_pad (element_, pad);

  g_autoptr (GstCaps) caps = caps_for (format);
  gst_pad_push_event (pad, gst_event_new_caps (caps));
  auto description = descriptions_.find (ids.interaction_id);
  gst_pad_push_event (pad, callstream_call_info_event_new (call_info (ids,
              description != descriptions_.end () ?
              &description->second.start : nullptr, format)));
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (pad, gst_event_new_segment (&segment));
  return call;
}

void
CallPads::push_format (Call & call, const std::string & interaction_id,
    const RedisAudioFormat & format)
{
  call.format = format;
  g_autoptr (GstCaps) caps = caps_for (format);
  GST_INFO_OBJECT (element_, "call %s now %" GST_PTR_FORMAT,
      interaction_id.c_str (), caps);
  gst_pad_push_event (call.pad, gst_event_new_caps (caps));
  auto description = descriptions_.find (interaction_id);
  RedisCallIds ids;
  ids.interaction_id = interaction_id;
  if (description != descriptions_.end ())
    ids.stream_sid = description->second.ids.stream_sid;
  gst_pad_push_event (call.pad, callstream_call_info_event_new (call_info (ids,
              description != descriptions_.end () ?
              &description->second.start : nullptr, format)));
}

GstFlowReturn
CallPads::start (const RedisReadCallStart & start)
{
  if (ended (start.ids.interaction_id)
      || calls_.contains (start.ids.interaction_id))
    return GST_FLOW_OK;         /* a duplicate */
  describe (start);
  open (start.ids, start.start.format);
  return GST_FLOW_OK;
}

GstFlowReturn
CallPads::audio (const RedisReadAudio & audio)
{
  if (!calls_.contains (audio.ids.interaction_id)
      && !descriptions_.contains (audio.ids.interaction_id)) {
    /* Joined mid-call: the entry's own ids and format are all there is. */
    RedisReadCallStart joined;
    joined.ids = audio.ids;
    joined.start.format = audio.format;
    describe (joined);
  }
  Call & call = open (audio.ids, audio.format);
  if (!same_format (call.format, audio.format))
    push_format (call, audio.ids.interaction_id, audio.format);

  const size_t bytes = audio.audio.size ();
  const guint64 samples = bytes / audio.format.channels
      / (audio.format.encoding == RedisAudioEncoding::kPcm16 ? 2 : 1);
  GstBuffer *buffer = gst_buffer_new_memdup (audio.audio.data (), bytes);
  GST_BUFFER_PTS (buffer) = audio.timestamp_ms * GST_MSECOND;
  GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale_int (samples,
      GST_SECOND, audio.format.sample_rate);
  GST_BUFFER_OFFSET (buffer) = audio.seq;
  if (call.last_seq + 1 != audio.seq)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  GstFlowReturn ret = gst_pad_push (call.pad, buffer);
  if (ret != GST_FLOW_FLUSHING && ret >= GST_FLOW_NOT_LINKED)
    call.last_seq = audio.seq;
  return ret;
}

GstFlowReturn
CallPads::end (const RedisReadCallEnd & end)
{
  const std::string & id = end.ids.interaction_id;
  auto found = calls_.find (id);
  if (found == calls_.end ()) {
    remember_ended (id);
    return GST_FLOW_OK;
  }
  GstPad *pad = found->second.pad;
  GST_INFO_OBJECT (element_, "call %s ended (%s, %" G_GUINT64_FORMAT
      " frames, %" G_GUINT64_FORMAT " dropped by the sink)", id.c_str (),
      end.end.reason.c_str (), end.end.frames, end.end.dropped);
  if (!gst_pad_push_event (pad, gst_event_new_eos ())
      && GST_PAD_IS_FLUSHING (pad))
    return GST_FLOW_FLUSHING;
  calls_.erase (found);
  remember_ended (id);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element_, pad);
  gst_object_unref (pad);
  return GST_FLOW_OK;
}

void
CallPads::forget_description (const std::string & interaction_id)
{
  descriptions_.erase (interaction_id);
}

void
CallPads::remember_ended (const std::string & interaction_id)
{
  forget_description (interaction_id);
  if (!ended_.insert (interaction_id).second)
    return;
  ended_order_.push_back (interaction_id);
  if (ended_order_.size () > kEndedRemembered) {
    ended_.erase (ended_order_.front ());
    ended_order_.pop_front ();
  }
}

void
CallPads::remove_all ()
{
  for (auto &[id, call] : calls_) {
    gst_pad_set_active (call.pad, FALSE);
    gst_element_remove_pad (element_, call.pad);
    gst_object_unref (call.pad);
  }
  calls_.clear ();
  descriptions_.clear ();
}

}  // namespace callstream
