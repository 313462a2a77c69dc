#include "records.h"

#include <set>

#include "log.h"

namespace callstreamd {

namespace {

// One optional field of a record: text, or a number (a time when `time`).
template <typename Record>
struct Field {
  const char *name;
  std::optional<std::string> Record::*text = nullptr;
  std::optional<gint64> Record::*number = nullptr;
  bool time = false;
};

using Conv = ConversationRecord;
const Field<Conv> kConversationFields[] = {
  { "agent_id", &Conv::agent_id },
  { "status", &Conv::status },
  { "direction", &Conv::direction },
  { "from_number", &Conv::from_number },
  { "to_number", &Conv::to_number },
  { "call_sid", &Conv::call_sid },
  { "started_at", nullptr, &Conv::started_at, true },
  { "ended_at", nullptr, &Conv::ended_at, true },
  { "duration_seconds", nullptr, &Conv::duration_seconds },
  { "termination_reason", &Conv::termination_reason },
  { "call_successful", &Conv::call_successful },
  { "transcript_summary", &Conv::transcript_summary },
  { "recording_url", &Conv::recording_url },
  { "failure_reason", &Conv::failure_reason },
  { "created_at", nullptr, &Conv::created_at, true },
  { "updated_at", nullptr, &Conv::updated_at, true },
};

const Field<CallRecord> kCallFields[] = {
  { "conversation_id", &CallRecord::conversation_id },
  { "call_sid", &CallRecord::call_sid },
  { "provider", &CallRecord::provider },
  { "agent_id", &CallRecord::agent_id },
  { "direction", &CallRecord::direction },
  { "from_number", &CallRecord::from_number },
  { "to_number", &CallRecord::to_number },
  { "status", &CallRecord::status },
  { "started_at", nullptr, &CallRecord::started_at, true },
  { "ended_at", nullptr, &CallRecord::ended_at, true },
  { "duration_seconds", nullptr, &CallRecord::duration_seconds },
  { "transcript_summary", &CallRecord::transcript_summary },
  { "recording_url", &CallRecord::recording_url },
  { "failure_reason", &CallRecord::failure_reason },
  { "created_at", nullptr, &CallRecord::created_at, true },
  { "updated_at", nullptr, &CallRecord::updated_at, true },
};

gint64
now_s ()
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

gint64
now_ms ()
{
  return g_get_real_time () / 1000;
}

std::string
iso8601 (gint64 unix_s)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (unix_s);
  if (time == nullptr)
    return {};
  g_autofree gchar *text = g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
  return text;
}

std::optional<gint64>
parse_integer (std::string_view text)
{
  const std::string copy (text);
  gint64 value = 0;
  if (!g_ascii_string_to_signed (copy.c_str (), 10, G_MININT64, G_MAXINT64, &value, nullptr))
    return std::nullopt;
  return value;
}

template <typename Record, size_t N>
JsonNode *
record_to_json (const char *key_name, const std::string &key, const Record &record,
    const Field<Record> (&fields)[N])
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, key_name);
  json_builder_add_string_value (builder, key.c_str ());
  for (const Field<Record> &field : fields) {
    json_builder_set_member_name (builder, field.name);
    if (field.text != nullptr && (record.*field.text).has_value ())
      json_builder_add_string_value (builder, (record.*field.text)->c_str ());
    else if (field.number != nullptr && (record.*field.number).has_value () && field.time)
      json_builder_add_string_value (builder, iso8601 (*(record.*field.number)).c_str ());
    else if (field.number != nullptr && (record.*field.number).has_value ())
      json_builder_add_int_value (builder, *(record.*field.number));
    else
      json_builder_add_null_value (builder);
  }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

template <typename Record, size_t N>
std::vector<std::pair<std::string, std::string>>
record_to_hash (const Record &record, const Field<Record> (&fields)[N])
{
  std::vector<std::pair<std::string, std::string>> hash;
  for (const Field<Record> &field : fields) {
    if (field.text != nullptr && (record.*field.text).has_value ())
      hash.emplace_back (field.name, *(record.*field.text));
    else if (field.number != nullptr && (record.*field.number).has_value ())
      hash.emplace_back (field.name, std::to_string (*(record.*field.number)));
  }
  return hash;
}

// Fields this build does not know are ignored, so older daemons read newer records.
template <typename Record, size_t N>
bool
record_from_hash (Record &record, const RedisReply &hgetall, const Field<Record> (&fields)[N])
{
  if (hgetall.type != RedisReply::Type::kArray || hgetall.elements.empty ())
    return false;
  for (size_t i = 0; i + 1 < hgetall.elements.size (); i += 2) {
    const std::string &name = hgetall.elements[i].str;
    const std::string &value = hgetall.elements[i + 1].str;
    for (const Field<Record> &field : fields) {
      if (name != field.name)
        continue;
      if (field.text != nullptr)
        record.*field.text = value;
      else
        record.*field.number = parse_integer (value);
    }
  }
  return true;
}

// HSET key f v ... from a hash's fields.
RedisArgv
hset (const std::string &key, const std::vector<std::pair<std::string, std::string>> &hash)
{
  RedisArgv argv = { "HSET", key };
  for (const auto &[name, value] : hash) {
    argv.emplace_back (name);
    argv.emplace_back (value);
  }
  return argv;
}

// Why a MULTI ... EXEC pipeline failed; empty when every command succeeded.
std::string
transaction_failure (const std::vector<RedisReply> &replies)
{
  for (const RedisReply &reply : replies)
    if (!reply.ok ())
      return reply.describe_failure ();
  const RedisReply &exec = replies.back ();
  if (exec.type != RedisReply::Type::kArray)
    return "Redis transaction aborted";
  for (const RedisReply &reply : exec.elements)
    if (!reply.ok ())
      return reply.describe_failure ();
  return {};
}

// Runs @function on @context soon (callbacks are never called before the
// call that promised them returns).
void
run_soon (GMainContext *context, std::function<void ()> function)
{
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, [] (gpointer data) -> gboolean {
        (*static_cast<std::function<void ()> *> (data)) ();
        return G_SOURCE_REMOVE;
      }, new std::function<void ()> (std::move (function)),
      [] (gpointer data) { delete static_cast<std::function<void ()> *> (data); });
  g_source_attach (source, context);
  g_source_unref (source);
}

void
run_soon (std::function<void ()> function)
{
  run_soon (g_main_context_get_thread_default (), std::move (function));
}

}  // namespace

// ---- Records: JSON and hashes ----

JsonNode *
conversation_to_json (const ConversationRecord &record)
{
  return record_to_json ("conversation_id", record.conversation_id, record, kConversationFields);
}

JsonNode *
call_to_json (const CallRecord &record)
{
  return record_to_json ("id", record.id, record, kCallFields);
}

JsonNode *
call_page_to_json (const CallPage &page, const CallQuery &query)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "calls");
  json_builder_begin_array (builder);
  for (const CallRecord &call : page.calls)
    json_builder_add_value (builder, call_to_json (call));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "total");
  json_builder_add_int_value (builder, static_cast<gint64> (page.total));
  json_builder_set_member_name (builder, "offset");
  json_builder_add_int_value (builder, query.offset);
  json_builder_set_member_name (builder, "limit");
  json_builder_add_int_value (builder, query.limit);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

std::vector<std::pair<std::string, std::string>>
conversation_to_hash (const ConversationRecord &record)
{
  return record_to_hash (record, kConversationFields);
}

std::vector<std::pair<std::string, std::string>>
call_to_hash (const CallRecord &record)
{
  return record_to_hash (record, kCallFields);
}

std::optional<ConversationRecord>
conversation_from_hash (std::string_view conversation_id, const RedisReply &hgetall)
{
  ConversationRecord record;
  record.conversation_id = conversation_id;
  if (!record_from_hash (record, hgetall, kConversationFields))
    return std::nullopt;
  return record;
}

std::optional<CallRecord>
call_from_hash (std::string_view id, const RedisReply &hgetall)
{
  CallRecord record;
  record.id = id;
  if (!record_from_hash (record, hgetall, kCallFields))
    return std::nullopt;
  return record;
}

std::string
conversation_key (std::string_view conversation_id)
{
  return "conversation:" + std::string (conversation_id);
}

std::string
call_key (std::string_view id)
{
  return "call:" + std::string (id);
}

std::string
phone_index_key (std::string_view phone)
{
  std::string digits;
  for (char c : phone)
    if (g_ascii_isdigit (c))
      digits += c;
  return digits.empty () ? std::string () : "calls:by_phone:" + digits;
}

// ---- RecordStore ----

void
RecordStore::upsert_conversation (const ConversationRecord &record, DoneCallback done)
{
  if (record.conversation_id.empty ()) {
    run_soon ([done] { done ("conversation record without a conversation_id"); });
    return;
  }
  ConversationRecord stored = record;
  stored.created_at.reset ();
  stored.updated_at = now_s ();
  const std::string key = conversation_key (record.conversation_id);
  redis_.pipeline ({ { "MULTI" }, hset (key, conversation_to_hash (stored)),
      { "HSETNX", key, "created_at", std::to_string (*stored.updated_at) }, { "EXEC" } },
      [done] (std::vector<RedisReply> replies) { done (transaction_failure (replies)); });
}

void
RecordStore::upsert_call (const CallRecord &record, DoneCallback done)
{
  if (record.id.empty ()) {
    run_soon ([done] { done ("call record without an id"); });
    return;
  }
  // The numbers and score it has now: its index entries may have to move.
  redis_.pipeline ({ { "HMGET", call_key (record.id), "from_number", "to_number" },
      { "ZSCORE", kCallsByTimeKey, record.id } },
      [this, alive = alive_, record, done] (std::vector<RedisReply> replies) {
        if (!*alive)
          return;
        if (!replies[0].ok () || !replies[1].ok ()) {
          done (replies[0].ok () ? replies[1].describe_failure ()
              : replies[0].describe_failure ());
          return;
        }
        write_call (record, replies[0], replies[1], done);
      });
}

void
RecordStore::write_call (const CallRecord &record, const RedisReply &old_numbers,
    const RedisReply &old_score, DoneCallback done)
{
  CallRecord stored = record;
  stored.created_at.reset ();
  stored.updated_at = now_s ();
  std::string score = std::to_string (*stored.updated_at);
  if (record.started_at)
    score = std::to_string (*record.started_at);
  else if (old_score.type == RedisReply::Type::kString)
    score = old_score.str;

  std::set<std::string> old_keys, new_keys;
  const std::optional<std::string> *numbers[] = { &record.from_number, &record.to_number };
  for (size_t i = 0; i < 2; i++) {
    const RedisReply &old = old_numbers.elements.at (i);
    const std::string old_key = old.type == RedisReply::Type::kString
        ? phone_index_key (old.str) : std::string ();
    const std::string new_key = numbers[i]->has_value () ? phone_index_key (**numbers[i]) : old_key;
    if (!old_key.empty ())
      old_keys.insert (old_key);
    if (!new_key.empty ())
      new_keys.insert (new_key);
  }

  const std::string key = call_key (record.id);
  std::vector<RedisArgv> commands = { { "MULTI" }, hset (key, call_to_hash (stored)),
    { "HSETNX", key, "created_at", std::to_string (*stored.updated_at) },
    { "ZADD", kCallsByTimeKey, score, record.id } };
  for (const std::string &index : old_keys)
    if (new_keys.count (index) == 0)
      commands.push_back ({ "ZREM", index, record.id });
  for (const std::string &index : new_keys)
    commands.push_back ({ "ZADD", index, score, record.id });
  commands.push_back ({ "EXEC" });
  redis_.pipeline (std::move (commands),
      [done] (std::vector<RedisReply> replies) { done (transaction_failure (replies)); });
}

void
RecordStore::get_conversation (const std::string &conversation_id, ConversationCallback done)
{
  redis_.command ({ "HGETALL", conversation_key (conversation_id) },
      [conversation_id, done] (RedisReply reply) {
        if (!reply.ok ())
          done (std::nullopt, reply.describe_failure ());
        else
          done (conversation_from_hash (conversation_id, reply), {});
      });
}

void
RecordStore::get_call (const std::string &id, CallCallback done)
{
  redis_.command ({ "HGETALL", call_key (id) }, [id, done] (RedisReply reply) {
        if (!reply.ok ())
          done (std::nullopt, reply.describe_failure ());
        else
          done (call_from_hash (id, reply), {});
      });
}

void
RecordStore::list_calls (const CallQuery &query, PageCallback done)
{
  const std::string index = query.phone.empty () ? kCallsByTimeKey
      : phone_index_key (query.phone);
  if (index.empty ()) {
    run_soon ([done] { done ({}, {}); });  // a phone filter without digits matches nothing
    return;
  }
  const std::string min = query.from ? std::to_string (*query.from) : "-inf";
  const std::string max = query.to ? std::to_string (*query.to) : "+inf";
  redis_.pipeline ({ { "ZREVRANGEBYSCORE", index, max, min, "LIMIT",
      std::to_string (query.offset), std::to_string (query.limit) },
      { "ZCOUNT", index, min, max } },
      [this, alive = alive_, done] (std::vector<RedisReply> replies) {
        if (!*alive)
          return;
        if (!replies[0].ok () || !replies[1].ok ()) {
          done ({}, replies[0].ok () ? replies[1].describe_failure ()
              : replies[0].describe_failure ());
          return;
        }
        std::vector<std::string> ids;
        for (RedisReply &id : replies[0].elements)
          ids.push_back (std::move (id.str));
        fetch_calls (std::move (ids), static_cast<guint64> (replies[1].integer), done);
      });
}

void
RecordStore::fetch_calls (std::vector<std::string> ids, guint64 total, PageCallback done)
{
  if (ids.empty ()) {
    done ({ {}, total }, {});
    return;
  }
  std::vector<RedisArgv> commands;
  for (const std::string &id : ids)
    commands.push_back ({ "HGETALL", call_key (id) });
  redis_.pipeline (std::move (commands),
      [ids, total, done] (std::vector<RedisReply> replies) {
        CallPage page { {}, total };
        for (size_t i = 0; i < ids.size (); i++) {
          if (!replies[i].ok ()) {
            done ({}, replies[i].describe_failure ());
            return;
          }
          if (auto call = call_from_hash (ids[i], replies[i]))
            page.calls.push_back (std::move (*call));
        }
        done (std::move (page), {});
      });
}

// ---- AudioCache ----

std::string
AudioCache::key (std::string_view conversation_id)
{
  return "audio_webhook:" + std::string (conversation_id);
}

AudioCache::AudioCache (RedisStore &redis, ExpiredCallback on_expired, AudioCacheOptions options)
  : redis_ (redis), on_expired_ (std::move (on_expired)), options_ (options),
    context_ (g_main_context_ref_thread_default ()), alive_ (std::make_shared<bool> (true))
{
  sweep_timer_ = g_timeout_source_new (options_.sweep_interval_ms);
  g_source_set_callback (sweep_timer_, [] (gpointer data) -> gboolean {
        static_cast<AudioCache *> (data)->sweep ();
        return G_SOURCE_CONTINUE;
      }, this, nullptr);
  g_source_attach (sweep_timer_, context_);
}

AudioCache::~AudioCache ()
{
  *alive_ = false;
  g_source_destroy (sweep_timer_);
  g_source_unref (sweep_timer_);
  for (auto &[id, entry] : memory_) {
    log::warning ("audio_cache_dropped", { { "conversation", id },
        { "bytes", std::to_string (entry.audio->size ()) },
        { "reason", "held in memory when the cache closed" } });
    g_source_destroy (entry.timer);
    g_source_unref (entry.timer);
  }
  g_main_context_unref (context_);
}

void
AudioCache::put (const std::string &conversation_id, std::string audio, guint ttl_s,
    PutCallback done)
{
  if (ttl_s == 0)
    ttl_s = options_.ttl_s;
  auto bytes = std::make_shared<std::string> (std::move (audio));
  take_from_memory (conversation_id);  // replaced
  puts_in_flight_[conversation_id]++;
  const gint64 due_ms = now_ms () + static_cast<gint64> (ttl_s) * 1000;
  redis_.pipeline ({ { "MULTI" },
      { "SET", key (conversation_id), std::shared_ptr<const std::string> (bytes), "EX",
        std::to_string (ttl_s + options_.keep_after_ttl_s) },
      { "ZADD", kExpiriesKey, std::to_string (due_ms), conversation_id },
      { "EXEC" } },
      [this, alive = alive_, conversation_id, bytes, ttl_s, done] (
          std::vector<RedisReply> replies) {
        if (!*alive)
          return;
        const std::string failure = transaction_failure (replies);
        if (failure.empty ()) {
          log::info ("audio_cached", { { "conversation", conversation_id }, { "store", "redis" },
              { "bytes", std::to_string (bytes->size ()) }, { "ttl_s", std::to_string (ttl_s) } });
        } else {
          keep_in_memory (conversation_id, bytes, ttl_s, failure);
        }
        put_finished (conversation_id);
        if (done)
          done (failure.empty () ? Where::kRedis : Where::kMemory);
      });
}

void
AudioCache::keep_in_memory (const std::string &conversation_id,
    std::shared_ptr<std::string> audio, guint ttl_s, const std::string &why)
{
  log::warning ("audio_cached", { { "conversation", conversation_id }, { "store", "memory" },
      { "bytes", std::to_string (audio->size ()) }, { "ttl_s", std::to_string (ttl_s) },
      { "detail", "in-memory only (Redis down)" }, { "reason", why } });
  take_from_memory (conversation_id);  // an older entry and its timer go
  struct Expiry {
    AudioCache *cache;
    std::string conversation_id;
  };
  MemoryEntry entry { std::move (audio), g_timeout_source_new_seconds (ttl_s) };
  g_source_set_callback (entry.timer, [] (gpointer data) -> gboolean {
        auto *expiry = static_cast<Expiry *> (data);
        if (auto audio = expiry->cache->take_from_memory (expiry->conversation_id))
          expiry->cache->expire (expiry->conversation_id, std::move (*audio), "memory");
        return G_SOURCE_REMOVE;
      }, new Expiry { this, conversation_id },
      [] (gpointer data) { delete static_cast<Expiry *> (data); });
  g_source_attach (entry.timer, context_);
  memory_[conversation_id] = std::move (entry);
}

std::optional<std::string>
AudioCache::take_from_memory (const std::string &conversation_id)
{
  auto it = memory_.find (conversation_id);
  if (it == memory_.end ())
    return std::nullopt;
  MemoryEntry entry = std::move (it->second);
  memory_.erase (it);
  g_source_destroy (entry.timer);
  g_source_unref (entry.timer);
  // The Redis put's argv may still share the bytes: copy only then.
  return entry.audio.use_count () == 1 ? std::move (*entry.audio) : std::string (*entry.audio);
}

void
AudioCache::put_finished (const std::string &conversation_id)
{
  if (--puts_in_flight_[conversation_id] > 0)
    return;
  puts_in_flight_.erase (conversation_id);
  auto waiting = takes_waiting_.extract (conversation_id);
  if (!waiting.empty ())
    for (TakeCallback &done : waiting.mapped ())
      take (conversation_id, std::move (done));
}

bool
AudioCache::holds_in_memory (const std::string &conversation_id) const
{
  return memory_.count (conversation_id) > 0;
}

void
AudioCache::take (const std::string &conversation_id, TakeCallback done)
{
  if (puts_in_flight_.count (conversation_id) > 0) {
    takes_waiting_[conversation_id].push_back (std::move (done));
    return;
  }
  if (auto audio = take_from_memory (conversation_id)) {
    auto shared = std::make_shared<std::string> (std::move (*audio));
    run_soon (context_, [alive = alive_, shared, done] {
          if (*alive)
            done (std::move (*shared));
        });
    return;
  }
  take_from_redis (conversation_id, std::move (done));
}

void
AudioCache::take_from_redis (const std::string &conversation_id, TakeCallback done)
{
  // MULTI GET DEL rather than GETDEL: one instance gets it, on any Redis version.
  redis_.pipeline ({ { "MULTI" }, { "GET", key (conversation_id) }, { "DEL", key (conversation_id) },
      { "ZREM", kExpiriesKey, conversation_id }, { "EXEC" } },
      [alive = alive_, conversation_id, done] (std::vector<RedisReply> replies) {
        if (!*alive)
          return;
        const std::string failure = transaction_failure (replies);
        if (!failure.empty ()) {
          log::warning ("audio_cache_lookup_failed", { { "conversation", conversation_id },
              { "reason", failure } });
          done (std::nullopt);
          return;
        }
        RedisReply &got = replies.back ().elements[0];
        if (got.type != RedisReply::Type::kString)
          done (std::nullopt);
        else
          done (std::move (got.str));
      });
}

void
AudioCache::sweep ()
{
  if (sweeping_)
    return;
  sweeping_ = true;
  redis_.command ({ "ZRANGEBYSCORE", kExpiriesKey, "-inf", std::to_string (now_ms ()),
      "LIMIT", "0", "16" },
      [this, alive = alive_] (RedisReply due) {
        if (!*alive)
          return;
        if (due.type != RedisReply::Type::kArray || due.elements.empty ()) {
          sweeping_ = false;
          return;
        }
        auto left = std::make_shared<size_t> (due.elements.size ());
        for (const RedisReply &id : due.elements) {
          take_from_redis (id.str, [this, id = id.str, left] (std::optional<std::string> audio) {
                if (audio)
                  expire (id, std::move (*audio), "redis");
                if (--*left == 0)
                  sweeping_ = false;
              });
        }
      });
}

void
AudioCache::expire (const std::string &conversation_id, std::string audio, const char *from)
{
  log::warning ("audio_cache_expired", { { "conversation", conversation_id }, { "store", from },
      { "bytes", std::to_string (audio.size ()) } });
  if (on_expired_)
    on_expired_ (conversation_id, std::move (audio));
}

void
AudioCache::expire_all_in_memory ()
{
  std::vector<std::string> ids;
  for (const auto &[id, entry] : memory_)
    ids.push_back (id);
  for (const std::string &id : ids)
    if (auto audio = take_from_memory (id))
      expire (id, std::move (*audio), "memory");
}

std::optional<AudioCache::Entry>
AudioCache::inspect_sync (RedisStore &redis, const std::string &conversation_id)
{
  const auto replies = redis.pipeline_sync ({ { "STRLEN", key (conversation_id) },
      { "ZSCORE", kExpiriesKey, conversation_id } });
  if (!replies[0].ok () || !replies[1].ok ())
    return std::nullopt;
  Entry entry;
  entry.in_redis = replies[0].integer > 0;
  entry.bytes = replies[0].integer;
  if (replies[1].type == RedisReply::Type::kString)
    if (auto due = parse_integer (replies[1].str))
      entry.ttl_ms = std::max<gint64> (0, *due - now_ms ());
  return entry;
}

}  // namespace callstreamd
