/* The error and warning messages redisstreamsink posts. Posting works from
 * any thread (the Redis thread included) through a weak reference, so it
 * never keeps the element alive; warnings that can repeat for every frame
 * are posted at most every 5 s, with the count since the last one. */
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "common/redis_client.h"

namespace callstream {

class RedisSinkMessages {
 public:
  RedisSinkMessages (GstElement * element, std::string url_display);
  ~RedisSinkMessages ();
  RedisSinkMessages (const RedisSinkMessages &) = delete;
  RedisSinkMessages & operator= (const RedisSinkMessages &) = delete;

  /* An element error naming the URL, the step and Redis's reply. */
  static void post_refusal (GstElement * element, const std::string & url,
      const RedisRefusal & refusal);

  void refused (const RedisRefusal & refusal);
  void rejected (const std::string & error, bool audio);
  /* Streaming thread only. */
  void dropped (const std::string & call_id, uint64_t dropped_now,
      uint64_t dropped_total, unsigned max_buffer_time_ms);

 private:
  /* Whether a warning is due now; counts @n into @unreported either way. */
  static bool due (std::atomic<int64_t> & last_us,
      std::atomic<uint64_t> & unreported, uint64_t n);

  GWeakRef element_;
  const std::string url_display_;
  std::atomic<int64_t> last_rejected_us_ { 0 };
  std::atomic<uint64_t> rejected_unreported_ { 0 };
  std::atomic<int64_t> last_dropped_us_ { 0 };
  std::atomic<uint64_t> dropped_unreported_ { 0 };
};

}  // namespace callstream
