// The /assist page's data, end to end: the built callstreamd as a process, a
// real redis-server, and entries XADDed by the test as the ASR worker writes
// them (the transcripts and assist streams of issue 8).
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "assist_support.h"
#include "daemon_support.h"
#include "redis_server.h"

using test_support::AssistWriter;
using test_support::Daemon;
using test_support::http_request;
using test_support::HttpReply;
using test_support::pump_until;
using test_support::RedisServer;
using test_support::SseClient;
using test_support::SseEvent;
using test_support::TempDir;

namespace {

// Both sides held in locals: g_assert_cmpstr on a temporary's c_str () reads
// freed memory.
#define assert_str_eq(a, b) \
  do { \
    const std::string a_ = (a), b_ = (b); \
    g_assert_cmpstr (a_.c_str (), ==, b_.c_str ()); \
  } while (0)

struct JsonDoc {
  JsonParser *parser = json_parser_new ();
  explicit JsonDoc (const std::string &text)
  {
    g_autoptr (GError) error = nullptr;
    if (!json_parser_load_from_data (parser, text.c_str (), -1, &error))
      g_error ("not JSON (%s): %s", error->message, text.c_str ());
  }
  ~JsonDoc () { g_object_unref (parser); }
  JsonObject *root () const { return json_node_get_object (json_parser_get_root (parser)); }
};

std::string
str (JsonObject *object, const char *name)
{
  return json_object_get_string_member_with_default (object, name, "<missing>");
}

JsonObject *
element (JsonObject *object, const char *array, guint index)
{
  JsonArray *items = json_object_get_array_member (object, array);
  g_assert_cmpuint (json_array_get_length (items), >, index);
  return json_array_get_object_element (items, index);
}

guint
length (JsonObject *object, const char *array)
{
  return json_array_get_length (json_object_get_array_member (object, array));
}

// A daemon that reads the streams of @redis; @env on top.
std::unique_ptr<Daemon>
start_daemon (const RedisServer &redis, const std::string &recordings,
    std::map<std::string, std::string> env = {})
{
  env.emplace ("REDIS_URL", redis.url ());
  env.emplace ("ASSIST_RECORDINGS_DIR", recordings);
  auto daemon = std::make_unique<Daemon> (env);
  g_assert_true (daemon->wait_listening ());
  g_assert_true (pump_until ([&] { return daemon->log_has ("assist_feed_ready"); }));
  return daemon;
}

// /assist/calls once it satisfies @done.
std::string
calls_when (const Daemon &daemon, const std::function<bool (JsonObject *)> &done,
    const std::string &query = "")
{
  std::string body;
  const bool ok = pump_until ([&] {
        HttpReply reply = http_request ("GET", daemon.http ("/assist/calls" + query));
        g_assert_cmpuint (reply.status, ==, 200);
        body = reply.body;
        JsonDoc doc (body);
        if (done (doc.root ()))
          return true;
        g_usleep (20000);
        return false;
      });
  if (!ok)
    g_error ("/assist/calls never matched: %s", body.c_str ());
  return body;
}

double
metric (const Daemon &daemon, const std::string &series)
{
  const std::string text = http_request ("GET", daemon.http ("/metrics")).body;
  const size_t at = text.find ("\n" + series + " ");
  return at == std::string::npos ? -1 : g_ascii_strtod (text.c_str () + at + series.size () + 2,
      nullptr);
}

void
test_snapshot ()
{
  RedisServer redis;
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  AssistWriter w { redis };
  w.call_start ("CA1", "+911111", "+912222");
  w.transcript ("CA1", 1, "hello i", false);
  w.transcript ("CA1", 2, "hello i want a refund", true);
  w.transcript ("CA1", 3, "for my", false);
  w.intent ("CA1", "refund", "Refund request", 2, "hello i want a refund");
  w.article ("CA1", "kb-refunds", "Refund policy", "https://kb.example.com/refunds",
      "Refunds within 30 days.", "refund");
  calls_when (*daemon, [] (JsonObject *root) {
        return length (root, "in_progress") == 1
            && length (element (root, "in_progress", 0), "articles") == 1;
      });

  SseClient events (daemon->http ("/assist/events"));
  g_assert_true (events.wait_answered ());
  g_assert_cmpuint (events.status (), ==, 200);
  assert_str_eq (events.content_type (), "text/event-stream");
  g_assert_true (events.wait_events (1));
  const SseEvent &snapshot = events.events ()[0];
  assert_str_eq (snapshot.name, "snapshot");
  JsonDoc doc (snapshot.data);
  g_assert_cmpuint (length (doc.root (), "recent"), ==, 0);
  JsonObject *call = element (doc.root (), "in_progress", 0);
  assert_str_eq (str (call, "interaction_id"), "CA1");
  assert_str_eq (str (call, "from"), "+911111");
  assert_str_eq (str (call, "to"), "+912222");
  assert_str_eq (str (call, "status"), "in_progress");
  g_assert_cmpuint (length (call, "transcript"), ==, 1);
  assert_str_eq (str (element (call, "transcript", 0), "text"),
      "hello i want a refund");
  JsonObject *partial = json_object_get_object_member (call, "partial");
  g_assert_nonnull (partial);
  assert_str_eq (str (partial, "text"), "for my");
  assert_str_eq (str (element (call, "intents", 0), "intent_name"),
      "Refund request");
  JsonObject *article = element (call, "articles", 0);
  assert_str_eq (str (article, "title"), "Refund policy");
  assert_str_eq (str (article, "url"), "https://kb.example.com/refunds");
  assert_str_eq (str (article, "summary"), "Refunds within 30 days.");
  g_assert_cmpfloat (metric (*daemon, "callstreamd_assist_sse_clients"), ==, 1);
}

void
test_live_events_in_order ()
{
  RedisServer redis;
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  SseClient events (daemon->http ("/assist/events"));
  g_assert_true (events.wait_events (1));
  AssistWriter w { redis };
  const std::string start_id = w.call_start ("CA2");
  w.transcript ("CA2", 1, "my card", false);
  w.transcript ("CA2", 2, "my card was stolen", true, 0, 1800);
  w.intent ("CA2", "lost-card", "Lost or stolen card", 2, "my card was stolen");
  const std::string article_id = w.article ("CA2", "kb-block-card", "Block a card",
      "https://kb.example.com/block", "Block it in the app.", "lost-card");
  g_assert_true (events.wait_events (6));
  const auto &e = events.events ();
  std::vector<std::string> names;
  for (size_t i = 1; i < e.size (); i++)
    names.push_back (e[i].name);
  const std::vector<std::string> expected = { "call_start", "transcript", "transcript",
    "intent", "article" };
  g_assert_true (names == expected);
  assert_str_eq (e[1].id, start_id.c_str ());
  assert_str_eq (e[5].id, article_id.c_str ());
  {
    JsonDoc doc (e[1].data);
    assert_str_eq (str (json_object_get_object_member (doc.root (), "call"),
            "interaction_id"), "CA2");
  }
  {
    JsonDoc partial (e[2].data);
    g_assert_false (json_object_get_boolean_member (partial.root (), "is_final"));
    assert_str_eq (str (partial.root (), "text"), "my card");
    JsonDoc final (e[3].data);
    g_assert_true (json_object_get_boolean_member (final.root (), "is_final"));
    g_assert_cmpint (json_object_get_int_member (final.root (), "seq"), ==, 2);
    g_assert_cmpint (json_object_get_int_member (final.root (), "end_ms"), ==, 1800);
    assert_str_eq (str (final.root (), "text"), "my card was stolen");
  }
  {
    JsonDoc intent (e[4].data);
    assert_str_eq (str (intent.root (), "intent_id"), "lost-card");
    JsonDoc article (e[5].data);
    assert_str_eq (str (article.root (), "url"), "https://kb.example.com/block");
  }
  // The same article surfaced again is not shown twice.
  w.article ("CA2", "kb-block-card", "Block a card", "https://kb.example.com/block",
      "Block it in the app.", "lost-card");
  w.transcript ("CA2", 3, "thanks", true);
  g_assert_true (events.wait_events (7));
  assert_str_eq (events.events ()[6].name, "transcript");
  g_assert_cmpfloat (metric (*daemon, "callstreamd_assist_events_sent_total"), >=, 7);
}

void
test_call_end_moves_to_recent ()
{
  RedisServer redis;
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  AssistWriter w { redis };
  w.call_start ("CA3");
  w.transcript ("CA3", 1, "goodbye", true);
  SseClient events (daemon->http ("/assist/events"));
  g_assert_true (events.wait_events (1));
  w.call_end ("CA3", "CA3/call.wav");  // the worker's layout: <call>/call.wav
  g_assert_true (events.wait_events (2));
  assert_str_eq (events.events ()[1].name, "call_end");
  JsonDoc doc (events.events ()[1].data);
  JsonObject *call = json_object_get_object_member (doc.root (), "call");
  assert_str_eq (str (call, "status"), "ended");
  assert_str_eq (str (call, "recording_url"), "/assist/recordings/CA3/call.wav");
  assert_str_eq (str (call, "reason"), "hangup");
  g_assert_cmpuint (length (call, "transcript"), ==, 1);
  const std::string body = calls_when (*daemon, [] (JsonObject *root) {
        return length (root, "recent") == 1;
      });
  JsonDoc calls (body);
  g_assert_cmpuint (length (calls.root (), "in_progress"), ==, 0);
  assert_str_eq (str (element (calls.root (), "recent", 0), "recording"),
      "CA3/call.wav");
  // A call without a recording has none.
  w.call_end ("CA4", "");
  g_assert_true (events.wait_events (3));  // a call first seen at its end: call_end alone
  assert_str_eq (events.events ()[2].name, "call_end");
  JsonDoc none (events.events ()[2].data);
  g_assert_true (json_object_get_null_member (json_object_get_object_member (none.root (),
              "call"), "recording_url"));
}

void
test_malformed_entries_skipped ()
{
  RedisServer redis;
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  SseClient events (daemon->http ("/assist/events"));
  g_assert_true (events.wait_events (1));
  AssistWriter w { redis };
  w.call_start ("CA5");
  const std::string no_seq = test_support::xadd (redis, "transcripts", {
        { "interaction_id", "CA5" }, { "text", "x" }, { "is_final", "true" },
        { "start_ms", "0" }, { "end_ms", "10" }, { "confidence", "0.5" } });
  const std::string bad_final = test_support::xadd (redis, "transcripts", {
        { "interaction_id", "CA5" }, { "seq", "1" }, { "text", "x" }, { "is_final", "yes" },
        { "start_ms", "0" }, { "end_ms", "10" }, { "confidence", "0.5" } });
  const std::string bad_url = w.article ("CA5", "a1", "Click", "javascript:alert(1)", "s", "i");
  const std::string unknown = test_support::xadd (redis, "assist", { { "event", "dance" },
        { "interaction_id", "CA5" } });
  const std::string escape = w.call_end ("CA6", "../../etc/passwd");
  const std::string absolute = w.call_end ("CA6", "/etc/passwd");
  const std::string no_id = test_support::xadd (redis, "assist", { { "event", "call_start" } });
  w.transcript ("CA5", 1, "still here", true);
  g_assert_true (events.wait_events (3));
  assert_str_eq (events.events ()[1].name, "call_start");
  assert_str_eq (events.events ()[2].name, "transcript");
  for (const std::string &id : { no_seq, bad_final, bad_url, unknown, escape, absolute, no_id })
    g_assert_true (pump_until ([&] { return daemon->log_has ("assist_entry_skipped")
          && daemon->log_has ("id=" + id); }));
  g_assert_true (daemon->log_has ("reason=\"seq must be a whole number from 1\""));
  g_assert_true (daemon->log_has ("reason=\"url must be an http:// or https:// URL\""));
  g_assert_true (daemon->log_has ("reason=\"unknown event \\\"dance\\\"\""));
  g_assert_cmpuint (daemon->log_count ("assist_entry_skipped"), ==, 7);
  // Nothing of them reached the page (they came before the last, good one).
  g_assert_cmpuint (events.events ().size (), ==, 3);
  JsonDoc doc (http_request ("GET", daemon->http ("/assist/calls")).body);
  g_assert_cmpuint (length (doc.root (), "in_progress"), ==, 1);
  g_assert_cmpuint (length (doc.root (), "recent"), ==, 0);
  g_assert_cmpuint (length (element (doc.root (), "in_progress", 0), "articles"), ==, 0);
}

void
test_restart_mid_call_replays ()
{
  RedisServer redis;
  TempDir recordings;
  AssistWriter w { redis };
  {
    auto daemon = start_daemon (redis, recordings.path ());
    w.call_start ("CA7");
    w.transcript ("CA7", 1, "before the restart", true);
    calls_when (*daemon, [] (JsonObject *root) {
          return length (root, "in_progress") == 1
              && length (element (root, "in_progress", 0), "transcript") == 1;
        });
    w.call_start ("CA8");
    w.call_end ("CA8", "CA8.wav");
  }
  // Written while no daemon runs.
  w.transcript ("CA7", 2, "while it was down", true);
  w.article ("CA7", "kb-x", "An article", "https://kb.example.com/x", "Summary.", "i");
  auto daemon = start_daemon (redis, recordings.path ());
  const std::string body = calls_when (*daemon, [] (JsonObject *root) {
        return length (root, "in_progress") == 1 && length (root, "recent") == 1;
      });
  JsonDoc doc (body);
  JsonObject *call = element (doc.root (), "in_progress", 0);
  assert_str_eq (str (call, "interaction_id"), "CA7");
  g_assert_cmpuint (length (call, "transcript"), ==, 2);
  assert_str_eq (str (element (call, "transcript", 1), "text"),
      "while it was down");
  g_assert_cmpuint (length (call, "articles"), ==, 1);
  assert_str_eq (str (element (doc.root (), "recent", 0), "interaction_id"), "CA8");
  // And it goes on live from there.
  SseClient events (daemon->http ("/assist/events"));
  g_assert_true (events.wait_events (1));
  w.transcript ("CA7", 3, "after the restart", true);
  g_assert_true (events.wait_events (2));
  JsonDoc live (events.events ()[1].data);
  assert_str_eq (str (live.root (), "text"), "after the restart");
}

void
test_redis_restart_reconnects ()
{
  test_support::RedisServerOptions options;
  options.append_only = true;
  RedisServer redis (options);
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  SseClient events (daemon->http ("/assist/events"));
  g_assert_true (events.wait_events (1));
  AssistWriter w { redis };
  w.call_start ("CA9");
  g_assert_true (events.wait_events (2));
  redis.stop ();
  g_assert_true (pump_until ([&] { return daemon->log_has ("assist_feed_disconnected")
        || daemon->log_has ("assist_feed_unreachable"); }));
  redis.start ();
  w.transcript ("CA9", 1, "after redis came back", true);
  g_assert_true (events.wait_events (3));
  JsonDoc doc (events.events ()[2].data);
  assert_str_eq (str (doc.root (), "text"), "after redis came back");
}

void
test_recording_range ()
{
  RedisServer redis;
  TempDir recordings;
  std::string wav = "RIFF";
  for (int i = 0; i < 1000; i++)
    wav.push_back (static_cast<char> (i & 0xff));
  g_assert_true (g_file_set_contents ((recordings / "CA10.wav").c_str (), wav.data (),
        wav.size (), nullptr));
  auto daemon = start_daemon (redis, recordings.path ());
  HttpReply whole = http_request ("GET", daemon->http ("/assist/recordings/CA10.wav"));
  g_assert_cmpuint (whole.status, ==, 200);
  g_assert_true (whole.body == wav);
  assert_str_eq (whole.headers["content-type"], "audio/wav");
  HttpReply part = http_request ("GET", daemon->http ("/assist/recordings/CA10.wav"), "", "",
      { { "Range", "bytes=0-3" } });
  g_assert_cmpuint (part.status, ==, 206);
  assert_str_eq (part.body, "RIFF");
  assert_str_eq (part.headers["content-range"], "bytes 0-3/1004");
  HttpReply tail = http_request ("GET", daemon->http ("/assist/recordings/CA10.wav"), "", "",
      { { "Range", "bytes=-4" } });
  g_assert_cmpuint (tail.status, ==, 206);
  g_assert_true (tail.body == wav.substr (1000));
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/recordings/CA11.wav")).status,
      ==, 404);
  // The worker's layout, <call>/call.wav, is served too.
  g_assert_cmpint (g_mkdir ((recordings / "CA12").c_str (), 0700), ==, 0);
  g_assert_true (g_file_set_contents ((recordings / "CA12/call.wav").c_str (), wav.data (),
        wav.size (), nullptr));
  HttpReply nested = http_request ("GET", daemon->http ("/assist/recordings/CA12/call.wav"));
  g_assert_cmpuint (nested.status, ==, 200);
  g_assert_true (nested.body == wav);
}

void
test_path_escapes_refused ()
{
  RedisServer redis;
  TempDir outside;
  TempDir recordings;
  g_assert_true (g_file_set_contents ((outside / "secret.wav").c_str (), "secret", 6, nullptr));
  g_assert_cmpint (symlink ((outside / "secret.wav").c_str (),
        (recordings / "link.wav").c_str ()), ==, 0);
  auto daemon = start_daemon (redis, recordings.path ());
  const std::string escaped = "/assist/recordings/..%2F" + outside.path ().substr (
      outside.path ().rfind ('/') + 1) + "%2Fsecret.wav";
  // (A plain or percent-encoded ".." segment is removed by URI parsing before
  // any handler sees it.)
  for (const std::string &path : { escaped, std::string ("/assist/recordings/link.wav"),
         std::string ("/assist/recordings/%2E%2E%2Fsecret.wav") }) {
    HttpReply reply = http_request ("GET", daemon->http (path));
    g_assert_cmpuint (reply.status, !=, 200);
    g_assert_cmpuint (reply.status, >=, 400);
    g_assert_true (reply.body.find ("secret") == std::string::npos
        || reply.body.find ("secret.wav") != std::string::npos);
    g_assert_true (reply.body != "secret");
  }
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/recordings/link.wav")).status,
      ==, 403);
}

void
test_token ()
{
  RedisServer redis;
  TempDir recordings;
  g_assert_true (g_file_set_contents ((recordings / "CA12.wav").c_str (), "RIFFdata", 8,
        nullptr));
  auto daemon = start_daemon (redis, recordings.path (), { { "API_TOKEN", "s3cret" } });
  // The page itself holds no data.
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist")).status, ==, 200);
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/calls")).status, ==, 401);
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/calls?token=wrong")).status,
      ==, 401);
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/calls?token=s3cret")).status,
      ==, 200);
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/calls"), "", "",
        { { "Authorization", "Bearer s3cret" } }).status, ==, 200);
  {
    SseClient refused (daemon->http ("/assist/events"));
    g_assert_true (refused.wait_answered ());
    g_assert_cmpuint (refused.status (), ==, 401);
  }
  SseClient events (daemon->http ("/assist/events?token=s3cret"));
  g_assert_true (events.wait_events (1));
  g_assert_cmpuint (events.status (), ==, 200);
  g_assert_cmpuint (http_request ("GET", daemon->http ("/assist/recordings/CA12.wav")).status,
      ==, 401);
  AssistWriter w { redis };
  w.call_end ("CA12", "CA12.wav");
  g_assert_true (events.wait_events (2));
  JsonDoc doc (events.events ()[1].data);
  const std::string url = str (json_object_get_object_member (doc.root (), "call"),
      "recording_url");
  g_assert_true (g_str_has_prefix (url.c_str (), "/assist/recordings/CA12.wav?expires="));
  HttpReply signed_reply = http_request ("GET", daemon->http (url));
  g_assert_cmpuint (signed_reply.status, ==, 200);
  assert_str_eq (signed_reply.body, "RIFFdata");
  std::string altered = url;
  altered[altered.size () - 1] = altered.back () == '0' ? '1' : '0';
  g_assert_cmpuint (http_request ("GET", daemon->http (altered)).status, ==, 401);
}

void
test_client_disconnect_dropped ()
{
  RedisServer redis;
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  auto events = std::make_unique<SseClient> (daemon->http ("/assist/events"));
  SseClient stays (daemon->http ("/assist/events"));
  g_assert_true (events->wait_events (1));
  g_assert_true (stays.wait_events (1));
  g_assert_cmpfloat (metric (*daemon, "callstreamd_assist_sse_clients"), ==, 2);
  events.reset ();
  g_assert_true (pump_until ([&] {
        return metric (*daemon, "callstreamd_assist_sse_clients") == 1;
      }));
  g_assert_true (daemon->log_has ("sse_client_dropped"));
  // The one that stayed still gets events.
  AssistWriter w { redis };
  w.call_start ("CA13");
  g_assert_true (stays.wait_events (2));
}

void
test_slow_client_dropped ()
{
  RedisServer redis;
  TempDir recordings;
  auto daemon = start_daemon (redis, recordings.path ());
  // A client that asks for the stream and never reads it.
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = g_socket_client_connect_to_host (client,
      "127.0.0.1", static_cast<guint16> (daemon->port ()), nullptr, nullptr);
  g_assert_nonnull (connection);
  const std::string request = "GET /assist/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (
              G_IO_STREAM (connection)), request.data (), request.size (), nullptr, nullptr,
          nullptr));
  g_assert_true (pump_until ([&] {
        return metric (*daemon, "callstreamd_assist_sse_clients") == 1;
      }));
  AssistWriter w { redis };
  const std::string text (100000, 'a');
  w.call_start ("CA14");
  // Far more than the socket buffers and the 1 MiB queue hold.
  for (int seq = 1; seq <= 300 && !daemon->log_has ("slow client"); seq++)
    w.transcript ("CA14", seq, text, true);
  g_assert_true (pump_until ([&] { return daemon->log_has ("sse_client_dropped")
        && daemon->log_has ("slow client"); }));
  g_assert_true (pump_until ([&] {
        return metric (*daemon, "callstreamd_assist_sse_clients") == 0;
      }, 40));
  // The feed itself goes on.
  JsonDoc doc (http_request ("GET", daemon->http ("/assist/calls")).body);
  g_assert_cmpuint (length (doc.root (), "in_progress"), ==, 1);
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  test_support::print_daemon_log_on_abort ();
  g_test_add_func ("/assist/snapshot", test_snapshot);
  g_test_add_func ("/assist/live-events-in-order", test_live_events_in_order);
  g_test_add_func ("/assist/call-end-moves-to-recent-with-recording", test_call_end_moves_to_recent);
  g_test_add_func ("/assist/malformed-entries-skipped", test_malformed_entries_skipped);
  g_test_add_func ("/assist/restart-mid-call-replays", test_restart_mid_call_replays);
  g_test_add_func ("/assist/redis-restart-reconnects", test_redis_restart_reconnects);
  g_test_add_func ("/assist/recording-range", test_recording_range);
  g_test_add_func ("/assist/recording-path-escapes-refused", test_path_escapes_refused);
  g_test_add_func ("/assist/token", test_token);
  g_test_add_func ("/assist/client-disconnect-dropped", test_client_disconnect_dropped);
  g_test_add_func ("/assist/slow-client-dropped", test_slow_client_dropped);
  return g_test_run ();
}
