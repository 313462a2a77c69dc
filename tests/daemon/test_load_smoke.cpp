// A short run of tools/callstream-load against the real callstreamd and a
// real redis-server: a handful of Exotel and Twilio calls for two seconds,
// every frame found in Redis intact; and Twilio realtime calls through the
// bridge against the tool's own fake Realtime server, every byte found both
// ways. No timing assertions: latency and CPU figures are only checked to be
// reported.
#include <json-glib/json-glib.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "daemon_support.h"
#include "redis_server.h"

using test_support::Daemon;
using test_support::RedisServer;

namespace {

struct LoadRun {
  int exit_status = -1;
  std::string out;
  std::string err;
};

LoadRun
run_load (const std::vector<std::string> &args)
{
  std::vector<gchar *> argv = { const_cast<gchar *> (CALLSTREAM_LOAD_PATH) };
  for (const std::string &arg : args)
    argv.push_back (const_cast<gchar *> (arg.c_str ()));
  argv.push_back (nullptr);
  g_autofree gchar *out = nullptr, *err = nullptr;
  gint wait_status = 0;
  g_autoptr (GError) error = nullptr;
  g_assert_true (g_spawn_sync (nullptr, argv.data (), nullptr, G_SPAWN_DEFAULT, nullptr,
      nullptr, &out, &err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  LoadRun run;
  run.exit_status = WEXITSTATUS (wait_status);
  run.out = out;
  run.err = err;
  if (run.exit_status != 2)
    g_test_message ("callstream-load said:\n%s%s", out, err);
  return run;
}

// The report's root object; @parser owns it.
JsonObject *
parse_report (const std::string &text, JsonParser *parser)
{
  g_autoptr (GError) error = nullptr;
  g_assert_true (json_parser_load_from_data (parser, text.c_str (), -1, &error));
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

// The pid of our own child named callstreamd, from /proc's children list
// of this thread; 0 when the kernel does not list children.
int
daemon_pid ()
{
  g_autofree gchar *path = g_strdup_printf ("/proc/self/task/%d/children", gettid ());
  g_autofree gchar *children = nullptr;
  if (!g_file_get_contents (path, &children, nullptr, nullptr))
    return 0;
  g_auto (GStrv) pids = g_strsplit (g_strstrip (children), " ", -1);
  for (gchar **pid = pids; *pid != nullptr; pid++) {
    g_autofree gchar *comm_path = g_strdup_printf ("/proc/%s/comm", *pid);
    g_autofree gchar *comm = nullptr;
    if (g_file_get_contents (comm_path, &comm, nullptr, nullptr)
        && g_str_has_prefix (comm, "callstreamd"))
      return std::atoi (*pid);
  }
  return 0;
}

// Each named integer of @report has the value given.
void
assert_counts (JsonObject *report,
    std::initializer_list<std::pair<const char *, gint64>> expected)
{
  for (const auto &[name, value] : expected)
    if (json_object_get_int_member (report, name) != value)
      g_error ("\"%s\" is %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT, name,
          json_object_get_int_member (report, name), value);
}

void
assert_every_frame_arrived (JsonObject *report, gint64 calls, gint64 frames_per_call)
{
  g_assert_cmpint (json_object_get_int_member (report, "calls_connected"), ==, calls);
  g_assert_cmpint (json_object_get_int_member (report, "calls_failed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "sent"), ==, calls * frames_per_call);
  g_assert_cmpint (json_object_get_int_member (report, "published"), ==,
      json_object_get_int_member (report, "sent"));
  g_assert_cmpint (json_object_get_int_member (report, "lost"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "corrupted"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "reordered"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "duplicated"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "call_ends"), ==, calls);
  JsonObject *latency = json_object_get_object_member (report, "latency_ms");
  g_assert_cmpint (json_object_get_int_member (latency, "max"), >=,
      json_object_get_int_member (latency, "p50"));
}

void
test_exotel_and_twilio_calls_arrive_whole ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  const int pid = daemon_pid ();
  std::vector<std::string> exotel = { "--url", daemon.ws ("/v1/ingest"), "--provider",
    "exotel", "--calls", "5", "--frame-ms", "20", "--duration-s", "2", "--ramp-up-s", "1",
    "--redis-url", redis.url (), "--max-run-s", "60", "--json" };
  if (pid != 0)
    exotel.insert (exotel.end (), { "--daemon-pid", std::to_string (pid) });
  LoadRun run = run_load (exotel);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  assert_every_frame_arrived (report, 5, 100);
  if (pid != 0) {
    // Reported, whatever the figures are.
    JsonObject *figures = json_object_get_object_member (report, "daemon");
    g_assert_nonnull (figures);
    g_assert_cmpint (json_object_get_int_member (figures, "rss_kb_before"), >, 0);
    g_assert_true (json_object_has_member (figures, "cpu_us_per_frame_whole_run"));
  }

  run = run_load ({ "--url", daemon.ws ("/media-stream/ingest"), "--provider", "twilio",
        "--calls", "3", "--duration-s", "2", "--redis-url", redis.url (), "--max-run-s", "60",
        "--json" });
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) twilio_parser = json_parser_new ();
  assert_every_frame_arrived (parse_report (run.out, twilio_parser), 3, 100);
}

void
test_message_variants_arrive_whole ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  LoadRun run = run_load ({ "--url", daemon.ws ("/v1/ingest"), "--provider", "exotel",
        "--exotel-variant", "camel", "--calls", "2", "--frame-ms", "100", "--duration-s", "2",
        "--redis-url", redis.url (), "--json" });
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  assert_every_frame_arrived (parse_report (run.out, parser), 2, 20);
  run = run_load ({ "--url", daemon.ws ("/media-stream/ingest"), "--provider", "twilio",
        "--twilio-variant", "numbers", "--calls", "2", "--duration-s", "1",
        "--redis-url", redis.url (), "--json" });
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) twilio_parser = json_parser_new ();
  assert_every_frame_arrived (parse_report (run.out, twilio_parser), 2, 50);
}

void
test_frames_missing_from_redis_are_lost ()
{
  // The daemon writes to one Redis, the check reads another: every frame is
  // missing and the run fails.
  RedisServer redis, elsewhere;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  LoadRun run = run_load ({ "--url", daemon.ws ("/v1/ingest"), "--provider", "exotel",
        "--calls", "2", "--duration-s", "1", "--flush-s", "1", "--redis-url", elsewhere.url (),
        "--json" });
  g_assert_cmpint (run.exit_status, ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  g_assert_cmpint (json_object_get_int_member (report, "sent"), ==, 100);
  g_assert_cmpint (json_object_get_int_member (report, "published"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "lost"), ==, 100);
}

// The daemon numbers a call's frames itself: call 0's 10th frame sent with
// a byte changed is found corrupted, its 20th and 21st sent with each
// other's audio are found under each other's seq (reordered), and the run
// fails; nothing is lost and the other call is whole.
void
test_corrupted_and_swapped_frames_are_caught ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  for (const char *provider : { "exotel", "twilio" }) {
    LoadRun run = run_load ({ "--url", daemon.ws (g_str_equal (provider, "exotel")
              ? "/v1/ingest" : "/media-stream/ingest"), "--provider", provider,
          "--calls", "2", "--duration-s", "1", "--redis-url", redis.url (),
          "--fault-corrupt-frame", "10", "--fault-swap-frames", "20", "--json" });
    g_assert_cmpint (run.exit_status, ==, 1);
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *report = parse_report (run.out, parser);
    assert_counts (report, { { "sent", 100 }, { "published", 100 }, { "lost", 0 },
        { "duplicated", 0 }, { "corrupted", 1 }, { "reordered", 2 } });
  }
}

// The generator does its own WebSocket handshake: an answer other than 101
// fails the calls with the status in the report's error, and no frame is
// counted as sent.
void
test_refused_handshake_is_reported ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  LoadRun run = run_load ({ "--url", daemon.ws ("/no-such-route"), "--provider", "exotel",
        "--calls", "2", "--duration-s", "1", "--flush-s", "1", "--redis-url", redis.url (),
        "--json" });
  g_assert_cmpint (run.exit_status, ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  g_assert_cmpint (json_object_get_int_member (report, "calls_connected"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "calls_failed"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (report, "sent"), ==, 0);
  const std::string error = json_object_get_string_member (report, "error");
  if (error.find ("handshake answered 404") == std::string::npos)
    g_error ("expected the 404 in the error: %s", error.c_str ());
}

// Calls over the daemon's MAX_CALLS are refused (503) while the others
// stream whole: the report counts both.
void
test_calls_over_the_limit_fail_and_the_rest_arrive ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
      { "MAX_CALLS", "2" } });
  g_assert_true (daemon.wait_listening ());
  LoadRun run = run_load ({ "--url", daemon.ws ("/v1/ingest"), "--provider", "exotel",
        "--calls", "3", "--duration-s", "1", "--redis-url", redis.url (), "--json" });
  g_assert_cmpint (run.exit_status, ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  assert_counts (report, { { "calls_connected", 2 }, { "calls_failed", 1 }, { "sent", 100 },
      { "published", 100 }, { "lost", 0 } });
  const std::string error = json_object_get_string_member (report, "error");
  if (error.find ("handshake answered 503") == std::string::npos)
    g_error ("expected the 503 in the error: %s", error.c_str ());
}

// The daemon's realtime flow pointed at the tool's fake Realtime server.
std::map<std::string, std::string>
realtime_env (const RedisServer &redis, int realtime_port)
{
  return { { "REDIS_URL", redis.url () },
    { "OPENAI_REALTIME_URL", "ws://127.0.0.1:" + std::to_string (realtime_port) + "/v1/realtime" },
    { "OPENAI_API_KEY", "sk-load-test" } };
}

std::vector<std::string>
realtime_args (const Daemon &daemon, const RedisServer &redis, int realtime_port, int calls,
    int duration_s)
{
  return { "--flow", "realtime", "--provider", "twilio", "--url", daemon.ws ("/media-stream"),
    "--realtime-port", std::to_string (realtime_port), "--calls", std::to_string (calls),
    "--duration-s", std::to_string (duration_s), "--redis-url", redis.url (), "--max-run-s",
    "60", "--json" };
}

// A realtime run of @calls calls of @duration_s each, @extra arguments
// added, against a daemon and Redis of its own.
LoadRun
run_realtime (int calls, int duration_s, std::initializer_list<std::string> extra)
{
  RedisServer redis;
  const int realtime_port = RedisServer::free_port ();
  Daemon daemon (realtime_env (redis, realtime_port));
  g_assert_true (daemon.wait_listening ());
  std::vector<std::string> args = realtime_args (daemon, redis, realtime_port, calls,
      duration_s);
  args.insert (args.end (), extra);
  return run_load (args);
}

void
assert_direction_whole (JsonObject *report, const char *name, const char *units,
    gint64 expected_units)
{
  JsonObject *d = json_object_get_object_member (report, name);
  g_assert_nonnull (d);
  if (expected_units >= 0)
    g_assert_cmpint (json_object_get_int_member (d, units), ==, expected_units);
  g_assert_cmpint (json_object_get_int_member (d, "bytes_sent"), >, 0);
  g_assert_cmpint (json_object_get_int_member (d, "bytes_received"), ==,
      json_object_get_int_member (d, "bytes_sent"));
  g_assert_cmpint (json_object_get_int_member (d, "lost_bytes"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (d, "reordered"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (d, "corrupted"), ==, 0);
  JsonObject *latency = json_object_get_object_member (d, "latency_us");
  g_assert_cmpint (json_object_get_int_member (latency, "samples"), >, 0);
  g_assert_cmpint (json_object_get_int_member (latency, "max"), >=,
      json_object_get_int_member (latency, "p99"));
  g_assert_cmpint (json_object_get_int_member (latency, "p99"), >=,
      json_object_get_int_member (latency, "p50"));
}

void
test_realtime_calls_arrive_whole_both_ways ()
{
  RedisServer redis;
  const int realtime_port = RedisServer::free_port ();
  Daemon daemon (realtime_env (redis, realtime_port));
  g_assert_true (daemon.wait_listening ());
  const int pid = daemon_pid ();
  std::vector<std::string> args = realtime_args (daemon, redis, realtime_port, 4, 2);
  if (pid != 0)
    args.insert (args.end (), { "--daemon-pid", std::to_string (pid) });
  LoadRun run = run_load (args);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  g_assert_cmpstr (json_object_get_string_member (report, "flow"), ==, "realtime");
  g_assert_cmpint (json_object_get_int_member (report, "calls_connected"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (report, "calls_failed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "realtime_connections"), ==, 4);
  assert_direction_whole (report, "inbound", "frames_sent", 4 * 100);
  assert_direction_whole (report, "outbound", "deltas_sent", 4 * 100);
  // Twiliosink marks every chunk; the caller plays them and echoes them.
  g_assert_cmpint (json_object_get_int_member (report, "marks_echoed"), >, 0);
  JsonObject *redis_figures = json_object_get_object_member (report, "redis");
  g_assert_cmpint (json_object_get_int_member (redis_figures, "published"), ==, 400);
  g_assert_cmpint (json_object_get_int_member (redis_figures, "lost"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (redis_figures, "corrupted"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (redis_figures, "call_ends"), ==, 4);
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (report, "error")));
  if (pid != 0) {
    JsonObject *figures = json_object_get_object_member (report, "daemon");
    g_assert_nonnull (figures);
    g_assert_cmpint (json_object_get_int_member (figures, "rss_kb_before"), >, 0);
    g_assert_true (json_object_has_member (figures, "cpu_us_per_frame_whole_run"));
  }
}

void
test_realtime_numbers_variant_and_large_deltas ()
{
  // Numbers as JSON numbers, and replies in 60 ms deltas: the bridge's
  // 50 ms gathering passes them on whole.
  LoadRun run = run_realtime (2, 2, { "--twilio-variant", "numbers", "--delta-ms", "60" });
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  assert_direction_whole (report, "inbound", "frames_sent", 2 * 100);
  // 100 frames a call: 33 deltas of 60 ms and the 20 ms left at the end
  // (more if the caller's audio paused long enough to end a reply early).
  assert_direction_whole (report, "outbound", "deltas_sent", -1);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (report,
              "outbound"), "deltas_sent"), >=, 2 * 34);
}

void
test_realtime_dropped_append_is_lost ()
{
  // The fake server ignores one append of call 0: the check reports the
  // frame's bytes lost on the way in, and the run fails.
  LoadRun run = run_realtime (2, 1, { "--fault-drop-append", "10", "--flush-s", "2" });
  g_assert_cmpint (run.exit_status, ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  JsonObject *inbound = json_object_get_object_member (report, "inbound");
  g_assert_cmpint (json_object_get_int_member (inbound, "frames_sent"), ==, 100);
  g_assert_cmpint (json_object_get_int_member (inbound, "lost_bytes"), ==, 160);
  const std::string error = json_object_get_string_member (report, "error");
  if (error.find ("caller -> Realtime: 160 bytes lost") == std::string::npos)
    g_error ("unexpected reason: %s", error.c_str ());
}

void
test_realtime_daemon_elsewhere_fails_clearly ()
{
  // The daemon's bridge talks to another port: no bridge reaches the fake
  // server, the calls fail, and the report says why.
  RedisServer redis;
  const int realtime_port = RedisServer::free_port ();
  Daemon daemon (realtime_env (redis, RedisServer::free_port ()));
  g_assert_true (daemon.wait_listening ());
  LoadRun run = run_load (realtime_args (daemon, redis, realtime_port, 2, 1));
  g_assert_cmpint (run.exit_status, ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  g_assert_cmpint (json_object_get_int_member (report, "realtime_connections"), ==, 0);
  const std::string error = json_object_get_string_member (report, "error");
  if (error.find ("calls failed") == std::string::npos
      && error.find ("no bridge connected") == std::string::npos)
    g_error ("unexpected reason: %s", error.c_str ());
}

gint64
frames_of (JsonObject *latency)
{
  return json_object_get_int_member (latency, "frames");
}

// Calls started over a second, then two seconds of audio each: the frames
// published split by second of send time (one entry a second, none missing,
// every frame in one) and by phase (calls starting, all streaming, calls
// stopping: each has frames here), in the JSON and in the table.
void
test_latency_by_second_and_by_phase ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  std::vector<std::string> args = { "--url", daemon.ws ("/v1/ingest"), "--provider", "exotel",
    "--calls", "4", "--duration-s", "2", "--ramp-up-s", "1", "--redis-url", redis.url (),
    "--latency-by-second" };
  args.push_back ("--json");
  LoadRun run = run_load (args);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (run.out, parser);
  assert_every_frame_arrived (report, 4, 100);
  const gint64 published = json_object_get_int_member (report, "published");

  JsonArray *seconds = json_object_get_array_member (report, "latency_by_second");
  g_assert_nonnull (seconds);
  // Sends from 0 s (the first call) to about 3 s (the last call's end).
  const guint count = json_array_get_length (seconds);
  g_assert_cmpuint (count, >=, 3);
  g_assert_cmpuint (count, <=, 5);
  gint64 sum = 0, max = 0;
  for (guint i = 0; i < count; i++) {
    JsonObject *second = json_array_get_object_element (seconds, i);
    g_assert_cmpint (json_object_get_int_member (second, "second"), ==, i);
    sum += frames_of (second);
    if (frames_of (second) > 0) {
      g_assert_cmpint (json_object_get_int_member (second, "p50"), <=,
          json_object_get_int_member (second, "p99"));
      g_assert_cmpint (json_object_get_int_member (second, "p99"), <=,
          json_object_get_int_member (second, "max"));
      max = std::max (max, json_object_get_int_member (second, "max"));
    } else {
      g_assert_true (json_object_get_null_member (second, "p99"));
    }
  }
  g_assert_cmpint (sum, ==, published);
  // The first and the last second have frames: no empty entry at either end.
  g_assert_cmpint (frames_of (json_array_get_object_element (seconds, 0)), >, 0);
  g_assert_cmpint (frames_of (json_array_get_object_element (seconds, count - 1)), >, 0);
  g_assert_cmpint (max, ==, json_object_get_int_member (
      json_object_get_object_member (report, "latency_ms"), "max"));

  JsonObject *phases = json_object_get_object_member (report, "latency_by_phase");
  g_assert_nonnull (phases);
  sum = 0;
  for (const char *name : { "ramp_up", "steady", "stopping" }) {
    JsonObject *phase = json_object_get_object_member (phases, name);
    g_assert_nonnull (phase);
    g_assert_cmpint (frames_of (phase), >, 0);
    g_assert_true (json_object_has_member (phase, "p99"));
    sum += frames_of (phase);
  }
  g_assert_cmpint (sum, ==, published);

  // The table: the phases always, the seconds when asked.
  args.pop_back ();
  run = run_load (args);
  g_assert_cmpint (run.exit_status, ==, 0);
  for (const char *row : { "ramp-up (ms)", "steady (ms)", "stopping (ms)",
           "latency by second of send time (ms)" })
    if (run.out.find (row) == std::string::npos)
      g_error ("no \"%s\" in the table:\n%s", row, run.out.c_str ());
  args.pop_back ();
  run = run_load (args);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_assert_true (run.out.find ("steady (ms)") != std::string::npos);
  g_assert_true (run.out.find ("latency by second") == std::string::npos);
}

void
test_bad_arguments_are_named ()
{
  const std::string redis = "redis://127.0.0.1:6379";
  struct Case {
    std::vector<std::string> args;
    const char *message;
  } cases[] = {
    { { "--url", "ws://192.0.2.1:8443/v1/ingest", "--provider", "exotel", "--redis-url", redis },
      "--url host 192.0.2.1 is not loopback" },
    { { "--url", "ws://127.0.0.1:1/v1/ingest", "--provider", "exotel", "--redis-url",
          "redis://10.0.0.1:6379" }, "--redis-url host 10.0.0.1 is not loopback" },
    { { "--url", "ws://127.0.0.1:1/v1/ingest", "--provider", "vonage", "--redis-url", redis },
      "--provider must be exotel or twilio" },
    { { "--url", "ws://127.0.0.1:1/v1/ingest", "--provider", "exotel", "--frame-ms", "30",
          "--redis-url", redis }, "--frame-ms must be 20 or 100" },
    { { "--url", "http://127.0.0.1:1/", "--provider", "exotel", "--redis-url", redis },
      "--url must be a ws:// URL" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "twilio", "--redis-url", redis,
          "--flow", "duplex" }, "--flow must be ingest or realtime" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "exotel", "--redis-url", redis,
          "--flow", "realtime", "--realtime-port", "9" }, "--flow realtime needs --provider twilio" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "twilio", "--redis-url", redis,
          "--flow", "realtime" }, "--flow realtime needs --realtime-port 1..65535" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "twilio", "--redis-url", redis,
          "--flow", "realtime", "--realtime-port", "70000" },
      "--flow realtime needs --realtime-port 1..65535 (got 70000)" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "twilio", "--redis-url", redis,
          "--flow", "realtime", "--realtime-port", "9", "--frame-ms", "100" },
      "--frame-ms must be 20" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "twilio", "--redis-url", redis,
          "--flow", "realtime", "--realtime-port", "9", "--delta-ms", "30" },
      "--delta-ms must be a multiple of 20 in 20..1000 (got 30)" },
    { { "--url", "ws://127.0.0.1:1/v1/ingest", "--provider", "exotel", "--redis-url", redis,
          "--realtime-port", "9" }, "go with --flow realtime" },
    { { "--url", "ws://127.0.0.1:1/media-stream", "--provider", "twilio", "--redis-url", redis,
          "--flow", "realtime", "--realtime-port", "9", "--latency-by-second" },
      "--latency-by-second, --fault-corrupt-frame and --fault-swap-frames go with --flow "
      "ingest" },
    { { "--url", "ws://127.0.0.1:1/v1/ingest", "--provider", "exotel", "--redis-url", redis,
          "--fault-swap-frames", "-1" }, "must not be negative" },
  };
  for (const Case &c : cases) {
    LoadRun run = run_load (c.args);
    g_assert_cmpint (run.exit_status, ==, 2);
    if (run.err.find (c.message) == std::string::npos)
      g_error ("expected \"%s\" in: %s", c.message, run.err.c_str ());
  }
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  test_support::print_daemon_log_on_abort ();
  g_test_add_func ("/load/smoke/exotel-and-twilio-calls-arrive-whole",
      test_exotel_and_twilio_calls_arrive_whole);
  g_test_add_func ("/load/smoke/message-variants-arrive-whole",
      test_message_variants_arrive_whole);
  g_test_add_func ("/load/check/frames-missing-from-redis-are-lost",
      test_frames_missing_from_redis_are_lost);
  g_test_add_func ("/load/check/corrupted-and-swapped-frames-are-caught",
      test_corrupted_and_swapped_frames_are_caught);
  g_test_add_func ("/load/connect/refused-handshake-is-reported",
      test_refused_handshake_is_reported);
  g_test_add_func ("/load/connect/calls-over-the-limit-fail-and-the-rest-arrive",
      test_calls_over_the_limit_fail_and_the_rest_arrive);
  g_test_add_func ("/load/realtime/calls-arrive-whole-both-ways",
      test_realtime_calls_arrive_whole_both_ways);
  g_test_add_func ("/load/realtime/numbers-variant-and-large-deltas",
      test_realtime_numbers_variant_and_large_deltas);
  g_test_add_func ("/load/check/realtime-dropped-append-is-lost",
      test_realtime_dropped_append_is_lost);
  g_test_add_func ("/load/check/realtime-daemon-elsewhere-fails-clearly",
      test_realtime_daemon_elsewhere_fails_clearly);
  g_test_add_func ("/load/report/latency-by-second-and-by-phase",
      test_latency_by_second_and_by_phase);
  g_test_add_func ("/load/arguments/bad-arguments-are-named", test_bad_arguments_are_named);
  return g_test_run ();
}
