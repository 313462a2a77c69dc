// The daemon's Redis client against a real redis-server: bytes in and out
// unchanged, order, callbacks on the creating context, URLs with AUTH and
// SELECT, and what happens when Redis goes away and comes back.
#include <glib.h>

#include <optional>

#include "redis_server.h"
#include "redis_store.h"

using callstreamd::RedisReply;
using callstreamd::RedisStore;
using test_support::RedisServer;

namespace {

std::unique_ptr<RedisStore>
open_store (const std::string &url)
{
  std::string error;
  auto store = RedisStore::open (url, &error);
  g_assert_true (store != nullptr);
  assert_text (error, "");
  return store;
}

// Runs the default context until the command's callback has run.
RedisReply
run (RedisStore &store, callstreamd::RedisArgv argv)
{
  std::optional<RedisReply> answer;
  store.command (std::move (argv), [&] (RedisReply reply) { answer = std::move (reply); });
  while (!answer)
    g_main_context_iteration (nullptr, TRUE);
  return std::move (*answer);
}

// Some bytes of every value, NUL and CR LF included.
std::string
binary_bytes (size_t size)
{
  std::string bytes (size, '\0');
  for (size_t i = 0; i < size; i++)
    bytes[i] = static_cast<char> ((i * 7 + i / 256) & 0xff);
  return bytes;
}

}  // namespace

static void
test_bad_url_names_the_problem ()
{
  std::string error;
  auto store = RedisStore::open ("http://:secret@127.0.0.1:6379", &error);
  g_assert_null (store.get ());
  g_assert_true (g_str_has_prefix (error.c_str (), "Redis URL "));
  g_assert_null (strstr (error.c_str (), "secret"));
  g_assert_cmpuint (error.size (), >, strlen ("Redis URL http://***@127.0.0.1:6379: "));
}

static void
test_binary_value_round_trip ()
{
  RedisServer server;
  auto store = open_store (server.url ());
  const std::string bytes = binary_bytes (4096) + "\r\n$3\r\n\0" + std::string (1, '\0');
  const std::string key = std::string ("key\0with\r\nbytes", 15);
  assert_text (run (*store, { "SET", key, bytes }).str, "OK");
  const RedisReply got = run (*store, { "GET", key });
  g_assert_cmpint (static_cast<int> (got.type), ==, static_cast<int> (RedisReply::Type::kString));
  g_assert_true (got.str == bytes);
  // What another client reads is the same bytes.
  auto direct = server.command ({ "GET", key });
  g_assert_true (std::string (direct->str, direct->len) == bytes);
  g_assert_true (store->reachable ());
}

static void
test_twenty_megabyte_value_round_trip ()
{
  RedisServer server;
  auto store = open_store (server.url ());
  auto value = std::make_shared<const std::string> (binary_bytes (20 * 1024 * 1024 + 3));
  g_assert_true (run (*store, { "SET", "big", value }).ok ());
  g_assert_cmpint (server.integer ({ "STRLEN", "big" }), ==, 20 * 1024 * 1024 + 3);
  const RedisReply got = run (*store, { "GET", "big" });
  g_assert_cmpuint (got.str.size (), ==, value->size ());
  g_assert_true (got.str == *value);
}

static void
test_pipeline_answers_in_order ()
{
  RedisServer server;
  auto store = open_store (server.url ());
  std::vector<std::string> seen;
  for (int i = 0; i < 50; i++) {
    store->command ({ "INCR", "counter" }, [&, i] (RedisReply reply) {
          g_assert_cmpint (reply.integer, ==, i + 1);
          seen.push_back (std::to_string (reply.integer));
        });
  }
  std::optional<std::vector<RedisReply>> batch;
  store->pipeline ({ { "MULTI" }, { "INCR", "counter" }, { "GET", "counter" }, { "EXEC" } },
      [&] (std::vector<RedisReply> replies) { batch = std::move (replies); });
  while (!batch)
    g_main_context_iteration (nullptr, TRUE);
  g_assert_cmpuint (seen.size (), ==, 50);  // every earlier callback ran first
  assert_text (seen.back (), "50");
  g_assert_cmpuint (batch->size (), ==, 4);
  const RedisReply &exec = batch->back ();
  g_assert_cmpuint (exec.elements.size (), ==, 2);
  g_assert_cmpint (exec.elements[0].integer, ==, 51);
  assert_text (exec.elements[1].str, "51");
}

static void
test_callbacks_run_on_the_creating_context ()
{
  RedisServer server;
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  auto store = open_store (server.url ());
  g_main_context_pop_thread_default (context);

  bool called = false;
  store->command ({ "PING" }, [&] (RedisReply reply) {
        assert_text (reply.str, "PONG");
        g_assert_true (g_main_context_is_owner (context));
        called = true;
      });
  // The default context never sees it.
  assert_text (store->command_sync ({ "PING" }).str, "PONG");
  while (g_main_context_iteration (nullptr, FALSE)) {
  }
  g_assert_false (called);
  while (!called)
    g_main_context_iteration (context, TRUE);
  store.reset ();
  g_main_context_unref (context);
}

static void
test_command_sync_needs_no_main_loop ()
{
  RedisServer server;
  auto store = open_store (server.url ());
  g_assert_cmpint (store->command_sync ({ "RPUSH", "list", "a", "b" }).integer, ==, 2);
  const auto replies = store->pipeline_sync ({ { "LLEN", "list" }, { "LPOP", "list" } });
  g_assert_cmpint (replies[0].integer, ==, 2);
  assert_text (replies[1].str, "a");
  const RedisReply error = store->command_sync ({ "LLEN" });
  g_assert_cmpint (static_cast<int> (error.type), ==, static_cast<int> (RedisReply::Type::kError));
  g_assert_true (g_str_has_prefix (error.describe_failure ().c_str (), "Redis error: ERR"));
}

static void
test_password_and_database_from_the_url ()
{
  RedisServer::Options options;
  options.password = "s3cret";
  RedisServer server (options);
  auto store = open_store ("redis://:s3cret@127.0.0.1:" + std::to_string (server.port ()) + "/3");
  g_assert_true (run (*store, { "SET", "where", "db3" }).ok ());
  auto direct = server.connect ();
  RedisServer::command_on (direct.get (), { "SELECT", "3" });
  auto got = RedisServer::command_on (direct.get (), { "GET", "where" });
  assert_text (got->str, "db3");
  const std::string masked = "redis://:***@127.0.0.1:" + std::to_string (server.port ()) + "/3";
  assert_text (store->display_url (), masked);
}

static void
test_wrong_password_is_unreachable_with_the_reason ()
{
  RedisServer::Options options;
  options.password = "right";
  RedisServer server (options);
  auto store = open_store ("redis://:wrong@127.0.0.1:" + std::to_string (server.port ()));
  const RedisReply reply = run (*store, { "PING" });
  g_assert_cmpint (static_cast<int> (reply.type), ==,
      static_cast<int> (RedisReply::Type::kUnavailable));
  g_assert_nonnull (strstr (reply.describe_failure ().c_str (), "AUTH"));
  g_assert_false (store->reachable ());
}

static void
test_unix_socket_url ()
{
  RedisServer::Options options;
  options.tcp = false;
  options.unix_socket = true;
  RedisServer server (options);
  auto store = open_store ("unix://" + server.socket_path () + "?db=2");
  g_assert_true (run (*store, { "SET", "k", "v" }).ok ());
  auto direct = server.connect ();
  RedisServer::command_on (direct.get (), { "SELECT", "2" });
  assert_text (RedisServer::command_on (direct.get (), { "GET", "k" })->str, "v");
}

static void
test_unreachable_redis_fails_at_once ()
{
  auto store = open_store ("redis://127.0.0.1:" + std::to_string (RedisServer::free_port ()));
  for (int i = 0; i < 3; i++) {
    const RedisReply reply = run (*store, { "GET", "x" });
    g_assert_cmpint (static_cast<int> (reply.type), ==,
        static_cast<int> (RedisReply::Type::kUnavailable));
    g_assert_true (g_str_has_prefix (reply.describe_failure ().c_str (), "Redis unreachable: "));
  }
  g_assert_false (store->reachable ());
}

static void
test_reconnects_when_redis_restarts ()
{
  RedisServer::Options options;
  options.append_only = true;
  RedisServer server (options);
  auto store = open_store (server.url ());
  g_assert_true (run (*store, { "SET", "before", "1" }).ok ());
  g_assert_true (store->reachable ());

  server.stop ();
  const RedisReply down = run (*store, { "GET", "before" });
  g_assert_cmpint (static_cast<int> (down.type), ==,
      static_cast<int> (RedisReply::Type::kUnavailable));
  g_assert_false (store->reachable ());

  server.start ();
  // The worker retries on its own, with its backoff (2 s at most here).
  while (!store->reachable ())
    g_usleep (20000);
  assert_text (run (*store, { "GET", "before" }).str, "1");

  // A restart between two commands: the dead connection is replaced at once.
  server.stop ();
  server.start ();
  assert_text (run (*store, { "GET", "before" }).str, "1");
}

static void
test_callbacks_pending_at_destruction_are_dropped ()
{
  RedisServer server;
  auto store = open_store (server.url ());
  bool called = false;
  store->command ({ "PING" }, [&] (RedisReply) { called = true; });
  assert_text (store->command_sync ({ "PING" }).str, "PONG");
  store.reset ();  // the first PING's answer is already queued on the context
  while (g_main_context_iteration (nullptr, FALSE)) {
  }
  g_assert_false (called);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_setenv ("CALLSTREAMD_LOG", "quiet", TRUE);
  g_test_add_func ("/redis-store/bad-url-names-the-problem", test_bad_url_names_the_problem);
  g_test_add_func ("/redis-store/binary-value-round-trip", test_binary_value_round_trip);
  g_test_add_func ("/redis-store/twenty-megabyte-value-round-trip",
      test_twenty_megabyte_value_round_trip);
  g_test_add_func ("/redis-store/pipeline-answers-in-order", test_pipeline_answers_in_order);
  g_test_add_func ("/redis-store/callbacks-run-on-the-creating-context",
      test_callbacks_run_on_the_creating_context);
  g_test_add_func ("/redis-store/command-sync-needs-no-main-loop",
      test_command_sync_needs_no_main_loop);
  g_test_add_func ("/redis-store/password-and-database-from-the-url",
      test_password_and_database_from_the_url);
  g_test_add_func ("/redis-store/wrong-password-is-unreachable-with-the-reason",
      test_wrong_password_is_unreachable_with_the_reason);
  g_test_add_func ("/redis-store/unix-socket-url", test_unix_socket_url);
  g_test_add_func ("/redis-store/unreachable-redis-fails-at-once",
      test_unreachable_redis_fails_at_once);
  g_test_add_func ("/redis-store/reconnects-when-redis-restarts",
      test_reconnects_when_redis_restarts);
  g_test_add_func ("/redis-store/callbacks-pending-at-destruction-are-dropped",
      test_callbacks_pending_at_destruction_are_dropped);
  return g_test_run ();
}
