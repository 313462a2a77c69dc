// redisstreamsink's calls as stream entries, with no GStreamer in it: a
// call_start before the first frame, frames numbered 1, 2, ... with their
// timestamps, and a call_end, each formatted here and queued on the sink's
// RedisStreamWriter. Used from the streaming thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/redis_client.h"
#include "protocol/redis_entry.h"

namespace callstream {

// What the latest call-info event said.
struct RedisCallInfo {
  std::string call_sid;
  std::string stream_sid;
  RedisCallStart metadata;  // format and payload are filled in at the start
};

// Read again at the start of each call.
struct RedisPublishSettings {
  std::string stream_template;
  uint64_t maxlen = 0;
  RedisPayload payload = RedisPayload::kBinary;
  std::string index_stream;  // empty: no index entries
};

class RedisCallPublisher {
 public:
  explicit RedisCallPublisher(std::shared_ptr<RedisStreamWriter> writer)
      : writer_(std::move(writer)) {}

  RedisStreamWriter &writer() { return *writer_; }
  bool call_active() const { return active_; }
  const std::string &call_id() const { return ids_.interaction_id; }
  const std::string &stream_key() const { return target_.key; }
  uint64_t frames() const { return seq_; }

  // Ends the current call first when @info names another one.
  void set_call_info(RedisCallInfo info);
  // The id a call is named by when call-info has none.
  bool has_call_id() const;
  // Queues call_start; @fallback_id names the call unless call-info does.
  void begin_call(const RedisPublishSettings &settings,
                  const RedisAudioFormat &format,
                  const std::string &fallback_id);
  // Queues one audio entry (a call must be on); @pts_ns absent: the end of
  // the previous frame. Returns how many frames the writer dropped for room.
  uint64_t publish_frame(std::span<const uint8_t> audio,
                         std::optional<uint64_t> pts_ns,
                         const RedisAudioFormat &format);
  // Queues call_end (reason "eos", "stopped", "new-call") if a call is on.
  // With an index stream, call_start and call_end are each followed by the
  // index entry naming the call's stream, on the same connection, so a
  // consumer that finds the call in the index finds its call_start there.
  void end_call(const char *reason);

 private:
  void append_index_entry(std::string_view event);

  std::shared_ptr<RedisStreamWriter> writer_;
  RedisCallInfo info_;
  bool active_ = false;
  RedisCallIds ids_;
  RedisStreamTarget target_;
  RedisStreamTarget index_;  // key empty: none
  RedisPayload payload_ = RedisPayload::kBinary;
  uint64_t seq_ = 0;
  uint64_t dropped_ = 0;
  uint64_t next_pts_ns_ = 0;
  std::string scratch_;  // the next audio entry is formatted into this
  // The call's audio entries, set at begin_call().
  std::optional<RedisAudioEntryWriter> audio_writer_;
};

}  // namespace callstream
