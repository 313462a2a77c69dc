// The consumer-group commands redisstreamsrc sends, on one synchronous
// hiredis connection owned by the element's reading thread. Another thread
// may interrupt() a blocked XREADGROUP (the socket is shut down under it), so
// stopping never waits out BLOCK. No GStreamer in here.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/redis_entry.h"

struct redisContext;
struct redisReply;

namespace callstream {

// One entry as Redis returned it; no fields when it was deleted (trimmed)
// after it was delivered.
struct RedisGroupEntry {
  std::string stream;
  std::string id;
  bool deleted = false;
  std::vector<std::pair<std::string, std::string>> fields;

  std::vector<RedisEntryField> field_views() const;
  const std::string *field(std::string_view name) const;
};

// Either what was asked for, or why not. A lost connection is `lost`: the
// caller closes and reconnects. An error reply leaves the connection usable.
struct RedisGroupFailure {
  bool lost = false;
  std::string message;
};

class RedisGroupReader {
 public:
  RedisGroupReader(RedisUrl url, std::string group, std::string consumer);
  ~RedisGroupReader();
  RedisGroupReader(const RedisGroupReader &) = delete;
  RedisGroupReader &operator=(const RedisGroupReader &) = delete;

  // Connects, authenticates, selects. Error text, or nullopt when ready.
  std::optional<RedisGroupFailure> connect(std::chrono::milliseconds timeout);
  bool connected() const { return context_ != nullptr; }
  void close();
  // Any thread: a blocked command returns (as lost) and every later connect
  // fails, until reset_interrupt().
  void interrupt();
  void reset_interrupt();

  // XGROUP CREATE @stream group @start_id MKSTREAM; an existing group is fine.
  std::optional<RedisGroupFailure> create_group(const std::string &stream,
                                                const std::string &start_id);
  // XREADGROUP GROUP g c COUNT @count [BLOCK @block_ms] STREAMS s... id...
  // @block_ms < 0: no BLOCK. Entries in reply order (stream by stream).
  std::optional<RedisGroupFailure> read(
      const std::vector<std::pair<std::string, std::string>> &streams_and_ids,
      unsigned count, int block_ms, std::vector<RedisGroupEntry> &entries);
  std::optional<RedisGroupFailure> ack(const std::string &stream,
                                       const std::vector<std::string> &ids);
  // XCLAIM @stream g c 0 ids... JUSTID: resets their idle time (a lease).
  std::optional<RedisGroupFailure> refresh(const std::string &stream,
                                           const std::vector<std::string> &ids);
  // XAUTOCLAIM @stream g c @min_idle_ms 0-0 COUNT @count, until the scan is
  // done: every entry idle that long becomes ours; deleted ones are acked.
  std::optional<RedisGroupFailure> autoclaim(
      const std::string &stream, uint64_t min_idle_ms, unsigned count,
      std::vector<RedisGroupEntry> &entries);
  // XRANGE @stream - + COUNT 1.
  std::optional<RedisGroupFailure> first_entry(
      const std::string &stream, std::optional<RedisGroupEntry> &entry);

  const std::string &consumer() const { return consumer_; }
  const std::string &group() const { return group_; }

 private:
  struct ReplyDeleter {
    void operator()(redisReply *reply) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

  // Sends @args and reads the reply; null (and @failure set) when the
  // connection is gone or the reply is an error.
  Reply command(const std::vector<std::string> &args,
                std::optional<RedisGroupFailure> &failure,
                std::chrono::milliseconds timeout);
  void set_timeout(std::chrono::milliseconds timeout);

  const RedisUrl url_;
  const std::string group_;
  const std::string consumer_;
  redisContext *context_ = nullptr;  // the reading thread's; freed under mutex_
  std::mutex mutex_;                 // guards the context's fd for interrupt()
  bool interrupted_ = false;
};

}  // namespace callstream
