// The model's audio on its way to the caller, for barge-in: gathers tiny
// deltas into chunks of at least a minimum duration, knows where each
// assistant item starts in the audio sent downstream, and, from the played
// position the telephony sink reports (its marks), how much of the current
// item the caller has really heard. No GStreamer in here.
//
// Positions are in the sink's terms: "downstream" counts audio handed on and
// not cleared; after a clear the sink has dropped everything unplayed, so
// the downstream position falls back to the played position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace callstream {

class ReplyTracker {
 public:
  // @bytes_per_second of the output format; @frame_bytes its sample size;
  // chunks handed on hold at least @min_chunk_ms of audio.
  ReplyTracker (size_t bytes_per_second, size_t frame_bytes, int64_t min_chunk_ms);

  // Audio of @item_id. Appends to @ready the chunks that may go downstream
  // now. FALSE (and nothing appended) when the item was truncated: a late
  // delta.
  bool add_audio (std::string_view item_id, const uint8_t *data, size_t size,
      std::vector<std::vector<uint8_t>> &ready);
  // The item's audio is complete: what is gathered goes, however short.
  void finish_item (std::string_view item_id,
      std::vector<std::vector<uint8_t>> &ready);

  // The sink's played position (ms since it started); stale (smaller)
  // values are ignored.
  void set_played_ms (uint64_t played_ms);

  struct Truncation {
    std::string item_id;
    int64_t audio_end_ms;  // of the item, what the caller has heard
  };
  // The caller started speaking. When the current item has audio the caller
  // has not heard yet: drops what is gathered, marks the item truncated,
  // resets the downstream position to the played one, and says where to cut.
  std::optional<Truncation> barge_in ();

  bool is_truncated (std::string_view item_id) const;
  int64_t played_of_current_ms () const;
  const std::string &current_item () const { return item_; }

 private:
  int64_t ms_of (uint64_t bytes) const;
  void hand_on (std::vector<uint8_t> chunk, std::vector<std::vector<uint8_t>> &ready);
  void begin_item (std::string_view item_id);

  size_t bytes_per_second_;
  size_t frame_bytes_;
  size_t min_chunk_bytes_;

  uint64_t downstream_bytes_ = 0;  // handed on since start, minus cleared
  uint64_t played_ms_ = 0;

  std::string item_;               // current assistant item
  uint64_t item_offset_bytes_ = 0; // downstream position of its first byte
  uint64_t item_handed_bytes_ = 0;
  uint64_t item_received_bytes_ = 0;
  bool item_handed_any_ = false;
  std::vector<uint8_t> gathered_;
  std::deque<std::string> truncated_;  // most recent last
};

}  // namespace callstream
