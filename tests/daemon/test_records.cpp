// Call records and the audio cache against a real redis-server: what the
// API returns, what an upsert keeps, paging and filters, restarts, and audio
// that outlives its TTL or arrives while Redis is down.
#include <glib.h>
#include <glib/gstdio.h>

#include "records.h"
#include "redis_server.h"

using namespace callstreamd;
using test_support::RedisServer;

namespace {

std::unique_ptr<RedisStore>
open_store (const std::string &url)
{
  std::string error;
  auto store = RedisStore::open (url, &error);
  g_assert_true (store != nullptr);
  return store;
}

// Iterates the default context until @done says so (at most 30 s).
template <typename Predicate>
void
iterate_until (Predicate done)
{
  const gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  guint wakeup = g_timeout_add (50, [] (gpointer) -> gboolean { return G_SOURCE_CONTINUE; },
      nullptr);
  while (!done ()) {
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_main_context_iteration (nullptr, TRUE);
  }
  g_source_remove (wakeup);
}

std::string
upsert (RecordStore &records, const CallRecord &call)
{
  std::optional<std::string> error;
  records.upsert_call (call, [&] (std::string e) { error = std::move (e); });
  iterate_until ([&] { return error.has_value (); });
  return *error;
}

std::string
upsert (RecordStore &records, const ConversationRecord &conversation)
{
  std::optional<std::string> error;
  records.upsert_conversation (conversation, [&] (std::string e) { error = std::move (e); });
  iterate_until ([&] { return error.has_value (); });
  return *error;
}

std::optional<CallRecord>
get_call (RecordStore &records, const std::string &id)
{
  bool answered = false;
  std::optional<CallRecord> found;
  records.get_call (id, [&] (std::optional<CallRecord> call, std::string error) {
        assert_text (error, "");
        found = std::move (call);
        answered = true;
      });
  iterate_until ([&] { return answered; });
  return found;
}

CallPage
list (RecordStore &records, const CallQuery &query)
{
  std::optional<CallPage> page;
  records.list_calls (query, [&] (CallPage p, std::string error) {
        assert_text (error, "");
        page = std::move (p);
      });
  iterate_until ([&] { return page.has_value (); });
  return std::move (*page);
}

std::string
ids_of (const CallPage &page)
{
  std::string ids;
  for (const CallRecord &call : page.calls)
    ids += (ids.empty () ? "" : ",") + call.id;
  return ids;
}

std::string
to_json (JsonNode *node)
{
  g_autofree gchar *text = json_to_string (node, FALSE);
  json_node_unref (node);
  return text;
}

CallRecord
call (const std::string &id, gint64 started_at, const std::string &from)
{
  CallRecord record;
  record.id = id;
  record.started_at = started_at;
  record.from_number = from;
  record.to_number = "+15550000000";
  return record;
}

std::string
binary_audio (size_t size)
{
  std::string bytes (size, '\0');
  for (size_t i = 0; i < size; i++)
    bytes[i] = static_cast<char> ((i * 31 + i / 4099) & 0xff);
  return bytes;
}

// What the code under test writes to stderr while @body runs.
template <typename Body>
std::string
capture_stderr (Body body)
{
  g_autofree gchar *path = nullptr;
  const int fd = g_file_open_tmp ("callstream-stderr-XXXXXX", &path, nullptr);
  g_assert_cmpint (fd, >=, 0);
  const int saved = dup (STDERR_FILENO);
  dup2 (fd, STDERR_FILENO);
  body ();
  dup2 (saved, STDERR_FILENO);
  close (saved);
  close (fd);
  g_autofree gchar *text = nullptr;
  g_file_get_contents (path, &text, nullptr, nullptr);
  g_unlink (path);
  return text != nullptr ? text : "";
}

AudioCacheOptions
short_ttl ()
{
  AudioCacheOptions options;
  options.ttl_s = 1;
  options.sweep_interval_ms = 100;
  return options;
}

}  // namespace

// ---- Records ----

static void
test_call_json_has_the_api_field_names ()
{
  CallRecord record;
  record.id = "CA1";
  record.conversation_id = "conv_1";
  record.from_number = "+16129782029";
  record.started_at = 1700000000;
  record.duration_seconds = 42;
  const std::string call_json = to_json (call_to_json (record));
  assert_text (call_json, "{\"id\":\"CA1\",\"conversation_id\":\"conv_1\",\"call_sid\":null,\"provider\":null,"
      "\"agent_id\":null,\"direction\":null,\"from_number\":\"+16129782029\","
      "\"to_number\":null,\"status\":null,\"started_at\":\"2023-11-14T22:13:20Z\","
      "\"ended_at\":null,\"duration_seconds\":42,\"transcript_summary\":null,"
      "\"recording_url\":null,\"failure_reason\":null,\"created_at\":null,"
      "\"updated_at\":null}");
  ConversationRecord conversation;
  conversation.conversation_id = "conv_1";
  conversation.recording_url = "/recordings/conv_1.mp3";
  const std::string conversation_json = to_json (conversation_to_json (conversation));
  assert_text (conversation_json, "{\"conversation_id\":\"conv_1\",\"agent_id\":null,\"status\":null,\"direction\":null,"
      "\"from_number\":null,\"to_number\":null,\"call_sid\":null,\"started_at\":null,"
      "\"ended_at\":null,\"duration_seconds\":null,\"termination_reason\":null,"
      "\"call_successful\":null,\"transcript_summary\":null,"
      "\"recording_url\":\"/recordings/conv_1.mp3\",\"failure_reason\":null,"
      "\"created_at\":null,\"updated_at\":null}");
}

static void
test_conversation_round_trip ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  ConversationRecord conversation;
  conversation.conversation_id = "conv_0901k9";
  conversation.agent_id = "agent_7";
  conversation.status = "done";
  conversation.from_number = "+16129782029";
  conversation.duration_seconds = 95;
  conversation.transcript_summary = "Caller asked about \"billing\"\nand left.";
  conversation.recording_url = "https://example.invalid/a.mp3";
  assert_text (upsert (records, conversation), "");

  std::optional<ConversationRecord> got;
  records.get_conversation ("conv_0901k9",
      [&] (std::optional<ConversationRecord> record, std::string) { got = std::move (record); });
  iterate_until ([&] { return got.has_value (); });
  assert_text (got->agent_id->c_str (), "agent_7");
  assert_text (got->transcript_summary->c_str (), "Caller asked about \"billing\"\nand left.");
  g_assert_cmpint (*got->duration_seconds, ==, 95);
  g_assert_true (got->created_at.has_value ());
  g_assert_false (got->ended_at.has_value ());
  assert_text (server.command ({ "HGET", "conversation:conv_0901k9", "recording_url" })->str, "https://example.invalid/a.mp3");
}

static void
test_missing_call_is_none ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  g_assert_false (get_call (records, "nobody").has_value ());
}

static void
test_upsert_keeps_fields_not_given ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  CallRecord first = call ("CA1", 1700000000, "+16129782029");
  first.status = "in-progress";
  first.provider = "elevenlabs";
  assert_text (upsert (records, first), "");
  const gint64 created = *get_call (records, "CA1")->created_at;

  CallRecord update;
  update.id = "CA1";
  update.status = "completed";
  update.recording_url = "/recordings/conv_1.mp3";
  assert_text (upsert (records, update), "");

  const CallRecord got = *get_call (records, "CA1");
  assert_text (got.status->c_str (), "completed");
  assert_text (got.recording_url->c_str (), "/recordings/conv_1.mp3");
  assert_text (got.provider->c_str (), "elevenlabs");
  assert_text (got.from_number->c_str (), "+16129782029");
  g_assert_cmpint (*got.started_at, ==, 1700000000);
  g_assert_cmpint (*got.created_at, ==, created);
  g_assert_cmpint (*got.updated_at, >=, created);
  // Still listed once, at its start time.
  assert_text (ids_of (list (records, {})), "CA1");
  assert_text (server.command ({ "ZSCORE", "calls:by_time", "CA1" })->str, "1700000000");
}

static void
test_list_is_newest_first_with_paging ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  for (int i = 1; i <= 7; i++)
    upsert (records, call ("CA" + std::to_string (i), 1700000000 + i * 60, "+1555000000" + std::to_string (i)));

  CallQuery query;
  query.limit = 3;
  CallPage page = list (records, query);
  assert_text (ids_of (page), "CA7,CA6,CA5");
  g_assert_cmpuint (page.total, ==, 7);
  query.offset = 3;
  assert_text (ids_of (list (records, query)), "CA4,CA3,CA2");
  query.offset = 6;
  assert_text (ids_of (list (records, query)), "CA1");
  query.offset = 9;
  page = list (records, query);
  g_assert_cmpuint (page.calls.size (), ==, 0);
  g_assert_cmpuint (page.total, ==, 7);

  const std::string page_json = to_json (call_page_to_json (page, query));
  assert_text (page_json, "{\"calls\":[],\"total\":7,\"offset\":9,\"limit\":3}");
}

static void
test_list_filters_by_phone_digits ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  upsert (records, call ("CA1", 1700000100, "+1 612-978-2029"));
  upsert (records, call ("CA2", 1700000200, "+16125550000"));
  upsert (records, call ("CA3", 1700000300, "+16129782029"));
  CallQuery query;
  query.phone = "16129782029";
  CallPage page = list (records, query);
  assert_text (ids_of (page), "CA3,CA1");
  g_assert_cmpuint (page.total, ==, 2);
  query.phone = "+1555 000 0000";  // every call's to_number
  assert_text (ids_of (list (records, query)), "CA3,CA2,CA1");
  query.phone = "nobody";
  g_assert_cmpuint (list (records, query).calls.size (), ==, 0);
}

static void
test_phone_change_moves_the_index ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  upsert (records, call ("CA1", 1700000100, "+16120000001"));
  CallRecord update;
  update.id = "CA1";
  update.from_number = "+16120000002";
  upsert (records, update);
  CallQuery query;
  query.phone = "+16120000001";
  g_assert_cmpuint (list (records, query).total, ==, 0);
  query.phone = "+16120000002";
  assert_text (ids_of (list (records, query)), "CA1");
  query.phone = "+15550000000";  // to_number, not in the update, stays indexed
  assert_text (ids_of (list (records, query)), "CA1");
}

static void
test_list_filters_by_time_range ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  for (int i = 1; i <= 5; i++)
    upsert (records, call ("CA" + std::to_string (i), 1000 * i, "+16120000000"));
  CallQuery query;
  query.from = 2000;
  query.to = 4000;
  CallPage page = list (records, query);
  assert_text (ids_of (page), "CA4,CA3,CA2");
  g_assert_cmpuint (page.total, ==, 3);
  query.phone = "+16120000000";
  query.from = 3500;
  query.to.reset ();
  assert_text (ids_of (list (records, query)), "CA5,CA4");
}

static void
test_records_survive_a_restart ()
{
  RedisServer::Options options;
  options.append_only = true;
  RedisServer server (options);
  {
    auto redis = open_store (server.url ());
    RecordStore records (*redis);
    CallRecord record = call ("CA9", 1700000000, "+16129782029");
    record.recording_url = "/recordings/conv_9.mp3";
    upsert (records, record);
  }
  server.stop ();
  server.start ();
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  const auto got = get_call (records, "CA9");
  g_assert_true (got.has_value ());
  assert_text (got->recording_url->c_str (), "/recordings/conv_9.mp3");
  assert_text (ids_of (list (records, {})), "CA9");
}

static void
test_redis_down_is_an_error ()
{
  auto redis = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  RecordStore records (*redis);
  const std::string error = upsert (records, call ("CA1", 1, "+1"));
  g_assert_true (g_str_has_prefix (error.c_str (), "Redis unreachable: "));
  std::optional<std::string> list_error;
  records.list_calls ({}, [&] (CallPage, std::string e) { list_error = e; });
  iterate_until ([&] { return list_error.has_value (); });
  g_assert_true (g_str_has_prefix (list_error->c_str (), "Redis unreachable: "));
}

static void
test_record_without_an_id_is_refused ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  RecordStore records (*redis);
  assert_text (upsert (records, CallRecord {}), "call record without an id");
  assert_text (upsert (records, ConversationRecord {}), "conversation record without a conversation_id");
  g_assert_cmpint (server.integer ({ "DBSIZE" }), ==, 0);
}

// ---- Audio cache ----

static void
test_audio_put_then_take_from_redis ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  AudioCache cache (*redis, [] (const std::string &, std::string) { g_assert_not_reached (); });
  const std::string audio = binary_audio (100000);
  std::optional<AudioCache::Where> where;
  cache.put ("conv_1", audio, 0, [&] (AudioCache::Where w) { where = w; });
  iterate_until ([&] { return where.has_value (); });
  g_assert_true (*where == AudioCache::Where::kRedis);
  g_assert_cmpint (server.integer ({ "STRLEN", "audio_webhook:conv_1" }), ==, 100000);
  // Kept past its TTL (3600 s) so the sweep still finds it.
  g_assert_cmpint (server.integer ({ "TTL", "audio_webhook:conv_1" }), >, 3600);
  g_assert_cmpint (server.integer ({ "ZCARD", "audio_webhook:expiries" }), ==, 1);

  const auto entry = AudioCache::inspect_sync (*redis, "conv_1");
  g_assert_true (entry->in_redis);
  g_assert_cmpint (entry->bytes, ==, 100000);
  g_assert_cmpint (entry->ttl_ms, >, 3500 * 1000);
  g_assert_cmpint (entry->ttl_ms, <=, 3600 * 1000);

  std::optional<std::optional<std::string>> taken;
  cache.take ("conv_1", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  g_assert_true (**taken == audio);
  g_assert_cmpint (server.integer ({ "EXISTS", "audio_webhook:conv_1" }), ==, 0);
  g_assert_cmpint (server.integer ({ "ZCARD", "audio_webhook:expiries" }), ==, 0);
  g_assert_false (AudioCache::inspect_sync (*redis, "conv_1")->in_redis);

  taken.reset ();
  cache.take ("conv_1", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  g_assert_false (taken->has_value ());
}

static void
test_audio_twenty_megabytes_intact ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  AudioCache cache (*redis, {});
  const std::string audio = binary_audio (20 * 1024 * 1024);
  cache.put ("conv_big", audio);
  std::optional<std::optional<std::string>> taken;
  cache.take ("conv_big", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  g_assert_cmpuint ((*taken)->size (), ==, audio.size ());
  g_assert_true (**taken == audio);
}

static void
test_audio_past_its_ttl_goes_to_on_expired ()
{
  RedisServer server;
  auto redis = open_store (server.url ());
  std::vector<std::pair<std::string, std::string>> expired;
  AudioCache cache (*redis, [&] (const std::string &id, std::string audio) {
        expired.emplace_back (id, std::move (audio));
      }, short_ttl ());
  cache.put ("conv_late", binary_audio (5000));
  cache.put ("conv_later", "other", 2);
  iterate_until ([&] { return expired.size () == 2; });
  assert_text (expired[0].first, "conv_late");
  g_assert_true (expired[0].second == binary_audio (5000));
  assert_text (expired[1].first, "conv_later");
  assert_text (expired[1].second, "other");
  g_assert_cmpint (server.integer ({ "DBSIZE" }), ==, 0);
}

static void
test_expired_audio_goes_to_one_daemon_only ()
{
  RedisServer server;
  auto redis_a = open_store (server.url ());
  auto redis_b = open_store (server.url ());
  int handed = 0;
  auto count = [&] (const std::string &, std::string) { handed++; };
  AudioCache a (*redis_a, count, short_ttl ());
  AudioCache b (*redis_b, count, short_ttl ());
  for (int i = 0; i < 10; i++)
    a.put ("conv_" + std::to_string (i), "audio");
  iterate_until ([&] { return handed == 10; });
  // Both kept sweeping a while longer: nobody gets an audio twice.
  const gint64 until = g_get_monotonic_time () + 500 * 1000;
  iterate_until ([&] { return g_get_monotonic_time () > until; });
  g_assert_cmpint (handed, ==, 10);
}

static void
test_redis_down_keeps_audio_in_memory ()
{
  auto redis = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  AudioCache cache (*redis, [] (const std::string &, std::string) { g_assert_not_reached (); });
  std::optional<AudioCache::Where> where;
  const std::string log = capture_stderr ([&] {
        cache.put ("conv_2", binary_audio (3000), 0, [&] (AudioCache::Where w) { where = w; });
        iterate_until ([&] { return where.has_value (); });
      });
  g_assert_true (*where == AudioCache::Where::kMemory);
  g_assert_nonnull (strstr (log.c_str (), "\"in-memory only (Redis down)\""));
  g_assert_nonnull (strstr (log.c_str (), "conversation=conv_2"));
  g_assert_true (cache.holds_in_memory ("conv_2"));
  g_assert_false (AudioCache::inspect_sync (*redis, "conv_2").has_value ());

  std::optional<std::optional<std::string>> taken;
  cache.take ("conv_2", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  g_assert_true (**taken == binary_audio (3000));
  g_assert_false (cache.holds_in_memory ("conv_2"));
}

static void
test_take_right_after_put_sees_it ()
{
  // Redis down: the put ends in memory after the take was asked for.
  auto redis = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  AudioCache cache (*redis, {});
  std::optional<std::optional<std::string>> taken;
  cache.put ("conv_3", "mp3 bytes");
  cache.take ("conv_3", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  assert_text ((*taken)->c_str (), "mp3 bytes");
}

static void
test_redis_down_expiry_still_fires ()
{
  auto redis = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  std::optional<std::pair<std::string, std::string>> expired;
  AudioCache cache (*redis, [&] (const std::string &id, std::string audio) {
        expired.emplace (id, std::move (audio));
      }, short_ttl ());
  cache.put ("conv_4", binary_audio (777));
  iterate_until ([&] { return expired.has_value (); });
  assert_text (expired->first, "conv_4");
  g_assert_true (expired->second == binary_audio (777));
  g_assert_false (cache.holds_in_memory ("conv_4"));
}

static void
test_a_second_put_replaces_the_first ()
{
  auto redis = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  int expired = 0;
  AudioCache cache (*redis, [&] (const std::string &, std::string) { expired++; }, short_ttl ());
  cache.put ("conv_7", "old", 1);
  cache.put ("conv_7", "new", 60);
  // Past the first one's TTL: its timer went with it.
  const gint64 until = g_get_monotonic_time () + 1500 * 1000;
  iterate_until ([&] { return g_get_monotonic_time () > until; });
  g_assert_cmpint (expired, ==, 0);
  std::optional<std::optional<std::string>> taken;
  cache.take ("conv_7", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  assert_text (**taken, "new");
}

static void
test_expire_all_in_memory_at_shutdown ()
{
  auto redis = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  std::vector<std::string> expired;
  AudioCache cache (*redis, [&] (const std::string &id, std::string) { expired.push_back (id); });
  bool stored = false;
  cache.put ("conv_5", "a", 0, [&] (AudioCache::Where) { stored = true; });
  iterate_until ([&] { return stored; });
  cache.expire_all_in_memory ();
  g_assert_cmpuint (expired.size (), ==, 1);
  assert_text (expired[0], "conv_5");
}

static void
test_audio_cached_across_a_redis_restart ()
{
  RedisServer::Options options;
  options.append_only = true;
  RedisServer server (options);
  auto redis = open_store (server.url ());
  bool stored = false;
  {
    AudioCache cache (*redis, {});
    cache.put ("conv_6", binary_audio (4096), 0, [&] (AudioCache::Where w) {
          g_assert_true (w == AudioCache::Where::kRedis);
          stored = true;
        });
    iterate_until ([&] { return stored; });
  }
  server.stop ();
  server.start ();
  // A new cache (a restarted daemon) on the reconnected store finds it.
  AudioCache cache (*redis, {});
  std::optional<std::optional<std::string>> taken;
  cache.take ("conv_6", [&] (std::optional<std::string> a) { taken = std::move (a); });
  iterate_until ([&] { return taken.has_value (); });
  g_assert_true (**taken == binary_audio (4096));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_setenv ("CALLSTREAMD_LOG", "quiet", TRUE);
  g_test_add_func ("/records/call-json-has-the-api-field-names",
      test_call_json_has_the_api_field_names);
  g_test_add_func ("/records/conversation-round-trip", test_conversation_round_trip);
  g_test_add_func ("/records/missing-call-is-none", test_missing_call_is_none);
  g_test_add_func ("/records/upsert-keeps-fields-not-given", test_upsert_keeps_fields_not_given);
  g_test_add_func ("/records/list-is-newest-first-with-paging",
      test_list_is_newest_first_with_paging);
  g_test_add_func ("/records/list-filters-by-phone-digits", test_list_filters_by_phone_digits);
  g_test_add_func ("/records/phone-change-moves-the-index", test_phone_change_moves_the_index);
  g_test_add_func ("/records/list-filters-by-time-range", test_list_filters_by_time_range);
  g_test_add_func ("/records/records-survive-a-restart", test_records_survive_a_restart);
  g_test_add_func ("/records/redis-down-is-an-error", test_redis_down_is_an_error);
  g_test_add_func ("/records/record-without-an-id-is-refused",
      test_record_without_an_id_is_refused);
  g_test_add_func ("/audio-cache/put-then-take-from-redis", test_audio_put_then_take_from_redis);
  g_test_add_func ("/audio-cache/twenty-megabytes-intact", test_audio_twenty_megabytes_intact);
  g_test_add_func ("/audio-cache/past-its-ttl-goes-to-on-expired",
      test_audio_past_its_ttl_goes_to_on_expired);
  g_test_add_func ("/audio-cache/expired-audio-goes-to-one-daemon-only",
      test_expired_audio_goes_to_one_daemon_only);
  g_test_add_func ("/audio-cache/redis-down-keeps-audio-in-memory",
      test_redis_down_keeps_audio_in_memory);
  g_test_add_func ("/audio-cache/take-right-after-put-sees-it", test_take_right_after_put_sees_it);
  g_test_add_func ("/audio-cache/redis-down-expiry-still-fires",
      test_redis_down_expiry_still_fires);
  g_test_add_func ("/audio-cache/a-second-put-replaces-the-first",
      test_a_second_put_replaces_the_first);
  g_test_add_func ("/audio-cache/expire-all-in-memory-at-shutdown",
      test_expire_all_in_memory_at_shutdown);
  g_test_add_func ("/audio-cache/cached-across-a-redis-restart",
      test_audio_cached_across_a_redis_restart);
  return g_test_run ();
}
