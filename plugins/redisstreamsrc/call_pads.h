/* redisstreamsrc's calls on their src pads: one sometimes pad per call with
 * stream-start, caps, call-info and segment, buffers stamped from the
 * entries, EOS and removal at call_end. Used from the reading thread only. */
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "protocol/redis_entry.h"

namespace callstream {

class CallPads {
 public:
  explicit CallPads (GstElement * element) : element_ (element) {}
  ~CallPads () { remove_all (); }
  CallPads (const CallPads &) = delete;
  CallPads & operator= (const CallPads &) = delete;

  /* The call's own description (from its call_start entry, or found by
   * other means): used when its pad is made, and for its payload. */
  void describe (const RedisReadCallStart & start);
  /* How the call's audio entries hold their audio (binary when unknown). */
  RedisPayload payload_of (const std::string & interaction_id) const;
  /* Ended, or an audio entry already pushed: a duplicate to drop. */
  bool ended (const std::string & interaction_id) const;
  bool duplicate (const RedisReadAudio & audio) const;

  /* Each returns the push's flow; the entry counts as gone downstream
   * unless it is FLUSHING or an error below NOT_LINKED. */
  GstFlowReturn start (const RedisReadCallStart & start);
  GstFlowReturn audio (const RedisReadAudio & audio);
  GstFlowReturn end (const RedisReadCallEnd & end);

  /* Deactivates and removes every pad (element stopping). */
  void remove_all ();
  size_t active () const { return calls_.size (); }

 private:
  struct Call {
    GstPad *pad = nullptr;
    RedisAudioFormat format;
    uint64_t last_seq = 0;
  };

  Call & open (const RedisCallIds & ids, const RedisAudioFormat & format);
  void push_format (Call & call, const std::string & interaction_id,
      const RedisAudioFormat & format);
  void forget_description (const std::string & interaction_id);
  void remember_ended (const std::string & interaction_id);

  GstElement *element_;
  guint next_pad_ = 0;
  std::map<std::string, Call> calls_;                      // by interaction id
  std::map<std::string, RedisReadCallStart> descriptions_; // same
  std::set<std::string> ended_;
  std::deque<std::string> ended_order_;                    // oldest first
};

}  // namespace callstream
