// Webhook state kept in Redis, so it survives a restart and any instance can
// serve any webhook: Conversation and Call records (seed 001) and the audio
// cache of ElevenLabs post_call_audio webhooks (seed 000).
//
// Redis keys (schemas/call-record.schema.json shows the records):
//   conversation:<conversation_id>  hash: ConversationRecord fields
//   call:<id>                       hash: CallRecord fields
//   calls:by_time                   sorted set: call id, score started_at
//                                   (unix seconds; the creation time until a
//                                   start time is known)
//   calls:by_phone:<digits>         sorted set: the same, per from/to number
//                                   (digits only, so "+1 612-978" finds "1612978")
//   audio_webhook:<conversation_id> string: the MP3 bytes (SET EX)
//   audio_webhook:expiries          sorted set: conversation id, score = when
//                                   its TTL ends (unix milliseconds)
// In the hashes every value is a string; times are unix seconds. In JSON
// every field is present, null when unknown, and times are ISO 8601 UTC.
//
// Threads: everything here runs on the GMainContext that was thread-default
// when the object was created (the same as its RedisStore's); callbacks run
// there too.
#pragma once

#include <json-glib/json-glib.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis_store.h"

namespace callstreamd {

// ---- Records ----

// One ElevenLabs conversation. Unset fields are unknown: an upsert leaves
// the stored value alone.
struct ConversationRecord {
  std::string conversation_id;  // the key; required
  std::optional<std::string> agent_id;
  std::optional<std::string> status;  // ElevenLabs' status: "done", "failed", ...
  std::optional<std::string> direction;  // "inbound" / "outbound"
  std::optional<std::string> from_number;
  std::optional<std::string> to_number;
  std::optional<std::string> call_sid;
  std::optional<gint64> started_at;  // unix seconds
  std::optional<gint64> ended_at;
  std::optional<gint64> duration_seconds;
  std::optional<std::string> termination_reason;
  std::optional<std::string> call_successful;  // analysis.call_successful
  std::optional<std::string> transcript_summary;
  std::optional<std::string> recording_url;
  std::optional<std::string> failure_reason;  // call_initiation_failure
  std::optional<gint64> created_at;  // set by the store
  std::optional<gint64> updated_at;  // set by the store
};

// One telephone call: from an ElevenLabs conversation or a media stream the
// daemon carried.
struct CallRecord {
  std::string id;  // the key; required (the call sid, else the conversation id)
  std::optional<std::string> conversation_id;
  std::optional<std::string> call_sid;
  std::optional<std::string> provider;  // "elevenlabs", "twilio", "exotel"
  std::optional<std::string> agent_id;
  std::optional<std::string> direction;
  std::optional<std::string> from_number;
  std::optional<std::string> to_number;
  std::optional<std::string> status;  // "completed", "failed", "in-progress", ...
  std::optional<gint64> started_at;
  std::optional<gint64> ended_at;
  std::optional<gint64> duration_seconds;
  std::optional<std::string> transcript_summary;
  std::optional<std::string> recording_url;
  std::optional<std::string> failure_reason;
  std::optional<gint64> created_at;
  std::optional<gint64> updated_at;
};

// A page of GET /calls, newest first.
struct CallQuery {
  guint offset = 0;
  guint limit = 50;
  std::string phone;  // empty: any; else from_number or to_number, digits compared
  std::optional<gint64> from;  // started_at >= from (unix seconds)
  std::optional<gint64> to;  // started_at <= to
};

struct CallPage {
  std::vector<CallRecord> calls;
  guint64 total = 0;  // calls matching the query, all pages
};

// JSON objects with every field (null when unset). Transfer full.
JsonNode *conversation_to_json (const ConversationRecord &record);
JsonNode *call_to_json (const CallRecord &record);
// {"calls": [...], "total": N, "offset": N, "limit": N}
JsonNode *call_page_to_json (const CallPage &page, const CallQuery &query);

// Hash fields <-> records (for readers with only a RedisStore, like the
// CLI's diagnose). @hgetall: an HGETALL reply; an empty one gives nullopt.
std::vector<std::pair<std::string, std::string>> conversation_to_hash (
    const ConversationRecord &record);
std::vector<std::pair<std::string, std::string>> call_to_hash (const CallRecord &record);
std::optional<ConversationRecord> conversation_from_hash (std::string_view conversation_id,
    const RedisReply &hgetall);
std::optional<CallRecord> call_from_hash (std::string_view id, const RedisReply &hgetall);

std::string conversation_key (std::string_view conversation_id);  // "conversation:<id>"
std::string call_key (std::string_view id);  // "call:<id>"
std::string phone_index_key (std::string_view phone);  // "calls:by_phone:<digits>"; "" without digits
inline constexpr const char *kCallsByTimeKey = "calls:by_time";

class RecordStore {
 public:
  // error: empty when done, else why not (Redis unreachable, or bad input).
  using DoneCallback = std::function<void (std::string error)>;
  // record: nullopt when there is none (and error empty).
  using ConversationCallback = std::function<void (std::optional<ConversationRecord> record,
      std::string error)>;
  using CallCallback = std::function<void (std::optional<CallRecord> record, std::string error)>;
  using PageCallback = std::function<void (CallPage page, std::string error)>;

  explicit RecordStore (RedisStore &redis) : redis_ (redis) {}
  ~RecordStore () { *alive_ = false; }
  RecordStore (const RecordStore &) = delete;
  RecordStore &operator= (const RecordStore &) = delete;

  // Create or update: fields set in @record overwrite, the others stay.
  // created_at is set on creation, updated_at on every upsert.
  void upsert_conversation (const ConversationRecord &record, DoneCallback done);
  void upsert_call (const CallRecord &record, DoneCallback done);

  void get_conversation (const std::string &conversation_id, ConversationCallback done);
  void get_call (const std::string &id, CallCallback done);
  // Newest started_at first; then by id, descending.
  void list_calls (const CallQuery &query, PageCallback done);

 private:
  void write_call (const CallRecord &record, const RedisReply &old_numbers,
      const RedisReply &old_score, DoneCallback done);
  void fetch_calls (std::vector<std::string> ids, guint64 total, PageCallback done);

  RedisStore &redis_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool> (true);  // false once destroyed
};

// ---- Audio cache ----

struct AudioCacheOptions {
  guint ttl_s = 3600;  // AUDIO_CACHE_TTL
  // The Redis key outlives its TTL by this much, so audio is still there for
  // the expiry sweep after the daemon was down (the sweep deletes it).
  guint keep_after_ttl_s = 86400;
  guint sweep_interval_ms = 1000;
};

// Holds post_call_audio bytes until the conversation's transcription comes:
// in Redis (audio_webhook:<id>, SET EX), or in memory with its own timer when
// Redis is down ("in-memory only (Redis down)" in the log). Audio whose TTL
// ends is not dropped: it is taken and handed to on_expired, so the daemon
// can write it under the conversation id. With several daemons on one Redis,
// each audio is handed to exactly one of them (take and sweep are MULTI/EXEC).
class AudioCache {
 public:
  enum class Where { kRedis, kMemory };
  using PutCallback = std::function<void (Where where)>;
  using TakeCallback = std::function<void (std::optional<std::string> audio)>;
  using ExpiredCallback = std::function<void (const std::string &conversation_id,
      std::string audio)>;

  // What diagnose shows of one entry.
  struct Entry {
    bool in_redis = false;
    gint64 bytes = 0;
    gint64 ttl_ms = -1;  // until the expiry sweep takes it; -1: no due time
  };

  // Sweeps Redis for due audio every sweep_interval_ms from now on. Audio
  // still in memory when it is destroyed is lost (and logged): call
  // expire_all_in_memory first.
  AudioCache (RedisStore &redis, ExpiredCallback on_expired, AudioCacheOptions options = {});
  ~AudioCache ();
  AudioCache (const AudioCache &) = delete;
  AudioCache &operator= (const AudioCache &) = delete;

  // Replaces any audio held for @conversation_id. @ttl_s: 0 for the default.
  void put (const std::string &conversation_id, std::string audio, guint ttl_s = 0,
      PutCallback done = {});
  // The audio, removed from the cache; nullopt when there is none (or Redis
  // is unreachable and memory has none). A take queued after a put sees it.
  void take (const std::string &conversation_id, TakeCallback done);

  // Hands every audio held in memory to on_expired now: memory does not
  // survive the daemon (call it on shutdown).
  void expire_all_in_memory ();

  guint ttl_s () const { return options_.ttl_s; }
  bool holds_in_memory (const std::string &conversation_id) const;
  // Looks at one entry in Redis, blocking (the CLI's diagnose).
  static std::optional<Entry> inspect_sync (RedisStore &redis,
      const std::string &conversation_id);

  static std::string key (std::string_view conversation_id);  // "audio_webhook:<id>"
  static constexpr const char *kExpiriesKey = "audio_webhook:expiries";

 private:
  struct MemoryEntry {
    std::shared_ptr<std::string> audio;
    GSource *timer = nullptr;  // ref held
  };

  void keep_in_memory (const std::string &conversation_id,
      std::shared_ptr<std::string> audio, guint ttl_s, const std::string &why);
  std::optional<std::string> take_from_memory (const std::string &conversation_id);
  void take_from_redis (const std::string &conversation_id, TakeCallback done);
  void put_finished (const std::string &conversation_id);
  void sweep ();
  void expire (const std::string &conversation_id, std::string audio, const char *from);

  RedisStore &redis_;
  ExpiredCallback on_expired_;
  AudioCacheOptions options_;
  GMainContext *context_;  // ref held
  GSource *sweep_timer_ = nullptr;  // ref held
  bool sweeping_ = false;
  std::shared_ptr<bool> alive_;  // false once destroyed
  std::map<std::string, MemoryEntry> memory_;
  // Puts not answered yet, and the takes waiting for them (a put that ends
  // in memory must be seen by a take queued after it).
  std::map<std::string, int> puts_in_flight_;
  std::map<std::string, std::vector<TakeCallback>> takes_waiting_;
};

}  // namespace callstreamd
