#include "realtimebridge/reply_tracker.h"

#include <algorithm>

namespace callstream {
namespace {

// Truncated item ids remembered to ignore their late deltas.
constexpr size_t kMaxTruncated = 32;

}  // namespace

ReplyTracker::ReplyTracker (size_t bytes_per_second, size_t frame_bytes,
    int64_t min_chunk_ms)
    : bytes_per_second_ (std::max<size_t> (bytes_per_second, 1)),
      frame_bytes_ (std::max<size_t> (frame_bytes, 1)),
      min_chunk_bytes_ (bytes_per_second * static_cast<size_t> (min_chunk_ms) / 1000)
{
  min_chunk_bytes_ -= min_chunk_bytes_ % frame_bytes_;
}

int64_t
ReplyTracker::ms_of (uint64_t bytes) const
{
  return static_cast<int64_t> (bytes * 1000 / bytes_per_second_);
}

bool
ReplyTracker::is_truncated (std::string_view item_id) const
{
  return std::find (truncated_.begin (), truncated_.end (), item_id) != truncated_.end ();
}

void
ReplyTracker::begin_item (std::string_view item_id)
{
  item_ = item_id;
  item_handed_bytes_ = 0;
  item_received_bytes_ = 0;
  item_handed_any_ = false;
  gathered_.clear ();
}

void
ReplyTracker::hand_on (std::vector<uint8_t> chunk,
    std::vector<std::vector<uint8_t>> &ready)
{
  if (chunk.empty ())
    return;
  if (!item_handed_any_) {
    item_handed_any_ = true;
    item_offset_bytes_ = downstream_bytes_;
  }
  item_handed_bytes_ += chunk.size ();
  downstream_bytes_ += chunk.size ();
  ready.push_back (std::move (chunk));
}

bool
ReplyTracker::add_audio (std::string_view item_id, const uint8_t *data, size_t size,
    std::vector<std::vector<uint8_t>> &ready)
{
  if (is_truncated (item_id))
    return false;
  if (item_id != item_) {
    // A new item: the previous one's tail goes first.
    finish_item (item_, ready);
    begin_item (item_id);
  }
  item_received_bytes_ += size;
  gathered_.insert (gathered_.end (), data, data + size);
  if (gathered_.size () >= std::max<size_t> (min_chunk_bytes_, 1)) {
    // Whole samples only; an odd byte waits for the next delta.
    const size_t whole = gathered_.size () - gathered_.size () % frame_bytes_;
    std::vector<uint8_t> chunk (gathered_.begin (), gathered_.begin () + whole);
    gathered_.erase (gathered_.begin (), gathered_.begin () + whole);
    hand_on (std::move (chunk), ready);
  }
  return true;
}

void
ReplyTracker::finish_item (std::string_view item_id,
    std::vector<std::vector<uint8_t>> &ready)
{
  if (item_id != item_ || gathered_.empty ())
    return;
  std::vector<uint8_t> chunk;
  chunk.swap (gathered_);
  chunk.resize (chunk.size () - chunk.size () % frame_bytes_);
  hand_on (std::move (chunk), ready);
}

void
ReplyTracker::set_played_ms (uint64_t played_ms)
{
  played_ms_ = std::max (played_ms_, played_ms);
}

int64_t
ReplyTracker::played_of_current_ms () const
{
  if (!item_handed_any_)
    return 0;
  const int64_t played = static_cast<int64_t> (played_ms_) - ms_of (item_offset_bytes_);
  return std::clamp<int64_t> (played, 0, ms_of (item_handed_bytes_));
}

std::optional<ReplyTracker::Truncation>
ReplyTracker::barge_in ()
{
  if (item_.empty () || is_truncated (item_))
    return std::nullopt;
  const int64_t played = played_of_current_ms ();
  if (item_received_bytes_ == 0 || played >= ms_of (item_received_bytes_))
    return std::nullopt;  // heard in full: nothing to cut
  Truncation cut { item_, played };
  truncated_.push_back (item_);
  if (truncated_.size () > kMaxTruncated)
    truncated_.pop_front ();
  gathered_.clear ();
  // The sink drops all it has not played; the next item starts from there.
  downstream_bytes_ = std::min<uint64_t> (downstream_bytes_,
      played_ms_ * bytes_per_second_ / 1000);
  return cut;
}

}  // namespace callstream
