// seq and timestamps are the publisher's, so a dropped frame still used its
// number: a consumer sees the gap.
#include "redisstreamsink/redis_call_publisher.h"

#include <utility>

namespace callstream {
namespace {

constexpr uint64_t kNanosecondsPerSecond = 1000000000;
constexpr uint64_t kNanosecondsPerMillisecond = 1000000;

int bytes_per_sample_frame(const RedisAudioFormat &format) {
  return format.channels *
         (format.encoding == RedisAudioEncoding::kMulaw ? 1 : 2);
}

}  // namespace

void RedisCallPublisher::set_call_info(RedisCallInfo info) {
  // A re-sent call-info (a format change) is the same call.
  const std::string &id =
      !info.call_sid.empty() ? info.call_sid : info.stream_sid;
  if (active_ && !id.empty() && id != ids_.interaction_id)
    end_call("new-call");
  info_ = std::move(info);
}

bool RedisCallPublisher::has_call_id() const {
  return !info_.call_sid.empty() || !info_.stream_sid.empty();
}

void RedisCallPublisher::begin_call(const RedisPublishSettings &settings,
                                    const RedisAudioFormat &format,
                                    const std::string &fallback_id) {
  std::string id = !info_.call_sid.empty()     ? info_.call_sid
                   : !info_.stream_sid.empty() ? info_.stream_sid
                                               : fallback_id;
  ids_ = {id, info_.stream_sid};
  target_ = {expand_stream_key(settings.stream_template, id, info_.stream_sid),
             settings.maxlen};
  index_ = {settings.index_stream, 0};
  payload_ = settings.payload;
  audio_writer_.emplace(target_, ids_, payload_);
  active_ = true;
  seq_ = 0;
  dropped_ = 0;
  next_pts_ns_ = 0;

  RedisCallStart start = info_.metadata;
  start.format = format;
  start.payload = payload_;
  RedisQueuedEntry entry;
  entry.command = format_call_start_entry(target_, ids_, start);
  writer_->append(std::move(entry));
  append_index_entry("call_start");
}

void RedisCallPublisher::append_index_entry(std::string_view event) {
  if (index_.key.empty())
    return;
  RedisQueuedEntry entry;
  entry.command = format_index_entry(index_, ids_, event, target_.key);
  writer_->append(std::move(entry));
}

uint64_t RedisCallPublisher::publish_frame(std::span<const uint8_t> audio,
                                           std::optional<uint64_t> pts_ns,
                                           const RedisAudioFormat &format) {
  const uint64_t samples = audio.size() / bytes_per_sample_frame(format);
  const uint64_t duration_ns =
      samples * kNanosecondsPerSecond / static_cast<uint64_t>(format.sample_rate);
  const uint64_t pts = pts_ns.value_or(next_pts_ns_);
  next_pts_ns_ = pts + duration_ns;

  RedisAudioFrame frame;
  frame.seq = ++seq_;
  frame.timestamp_ms = static_cast<int64_t>(pts / kNanosecondsPerMillisecond);
  frame.format = format;
  frame.audio = audio;
  audio_writer_->format(scratch_, frame);
  RedisQueuedEntry entry;
  entry.command = std::move(scratch_);
  entry.audio = true;
  entry.audio_ns = duration_ns;
  auto appended = writer_->append(std::move(entry));
  scratch_ = std::move(appended.spare);
  dropped_ += appended.dropped;
  return appended.dropped;
}

void RedisCallPublisher::end_call(const char *reason) {
  if (!active_)
    return;
  RedisQueuedEntry entry;
  entry.command = format_call_end_entry(target_, ids_, {seq_, dropped_, reason});
  writer_->append(std::move(entry));
  append_index_entry("call_end");
  active_ = false;
}

}  // namespace callstream
