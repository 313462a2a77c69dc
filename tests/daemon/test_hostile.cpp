// Hostile input against the real callstreamd (a real redis-server behind
// it): each case gets its defined answer (a close code or an HTTP status, a
// log line, a metric) while a healthy call next to it loses nothing.
// What other suites already cover is listed in SECURITY.md.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "call_traffic.h"
#include "ws_client.h"

using namespace call_traffic;
using test_support::pump_until;
using test_support::TempDir;
using test_support::WsClient;

namespace {

std::map<std::string, std::string>
exotel_env (const RedisServer &redis)
{
  return { { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } };
}

void
test_malformed_messages_are_counted_and_the_call_goes_on ()
{
  // Media before start, bad base64, odd PCM16, JSON 10,000 deep, sample
  // rates 0 and 10^9: each ignored with a warning, counted; the call keeps
  // its format and its good frame; the healthy call loses nothing.
  RedisServer redis;
  Daemon daemon (exotel_env (redis));
  g_assert_true (daemon.wait_listening ());
  HealthyCall healthy (daemon, "CAhealthy", 1);
  healthy.send (5);
  WsClient hostile;
  g_assert_true (hostile.connect (daemon.ws ("/v1/ingest")));
  hostile.send (exotel_media (1, frame_audio (2, 9)));
  hostile.send (exotel_start ("CAhostile"));
  hostile.send ("{\"event\":\"media\",\"sequence_number\":\"3\",\"media\":{\"payload\":\"@@@=\"}}");
  hostile.send (exotel_media (4, std::string (321, '\x01')));
  hostile.send (std::string (10000, '[') + std::string (10000, ']'));
  hostile.send (exotel_start ("CAhostile", "0"));
  hostile.send (exotel_start ("CAhostile", "1000000000"));
  hostile.send (exotel_media (5, frame_audio (2, 1)));
  healthy.send (5);
  hostile.send (exotel_stop ("CAhostile"));
  healthy.finish_and_check (redis);
  g_assert_true (pump_until ([&] { return has_call_end (redis, "CAhostile"); }));
  assert_every_frame (redis, "CAhostile", 2, 1);
  for (const StreamEntry &entry : entries_of (redis, "CAhostile"))
    if (entry.get ("event") == "audio")
      g_assert_true (entry.get ("sample_rate") == "8000");

  g_assert_true (pump_until ([&] { return daemon.log_count ("call_ended") == 2; }));
  g_assert_cmpuint (daemon.log_count ("pipeline_warning"), ==, 6);
  for (const char *reason : { "media before start", "not valid base64", "odd byte count 321", "nested too deeply",
          "sample_rate 0 is outside 1..384000", "sample_rate 1000000000 is outside" })
    if (!daemon.log_has (reason))
      g_error ("no pipeline_warning says \"%s\"", reason);
  g_assert_true (daemon.log_has ("malformed=6"));
  g_assert_cmpfloat (metric (daemon, "callstreamd_messages_malformed_total{provider=\"exotel\"}"),
      ==, 6);
  g_assert_cmpfloat (metric (daemon, "callstreamd_pipeline_warnings_total{provider=\"exotel\"}"),
      ==, 6);
}

void
test_second_start_with_another_rate ()
{
  // A second start in the same call changes its format: the frames after
  // it carry the new rate; nothing is lost, the call is one call.
  RedisServer redis;
  Daemon daemon (exotel_env (redis));
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/v1/ingest")));
  client.send (exotel_start ("CArate"));
  for (int f = 1; f <= 3; f++)
    client.send (exotel_media (f + 1, frame_audio (3, f)));
  client.send (exotel_start ("CArate", "16000"));
  for (int f = 4; f <= 6; f++)
    client.send (exotel_media (f + 1, frame_audio (3, f)));
  client.send (exotel_stop ("CArate"));
  g_assert_true (pump_until ([&] { return has_call_end (redis, "CArate"); }));
  int audio = 0;
  for (const StreamEntry &entry : entries_of (redis, "CArate")) {
    if (entry.get ("event") != "audio")
      continue;
    audio++;
    g_assert_true (entry.get ("audio") == frame_audio (3, audio));
    g_assert_true (entry.get ("sample_rate") == (audio <= 3 ? "8000" : "16000"));
  }
  g_assert_cmpint (audio, ==, 6);
  g_assert_cmpuint (count_event (redis, "call_end"), ==, 1);
  g_assert_true (pump_until ([&] { return daemon.log_has ("sample_rate=16000"); }));
  g_assert_cmpuint (daemon.log_count ("start_event_received"), ==, 2);
}

void
test_invalid_utf8_text_closes_with_1007 ()
{
  RedisServer redis;
  Daemon daemon (exotel_env (redis));
  g_assert_true (daemon.wait_listening ());
  HealthyCall healthy (daemon, "CAhealthy", 1);
  healthy.send (3);
  ws_test::RawClient raw (daemon.port ());
  raw.send (ws_test::upgrade_request ("/v1/ingest", daemon.port ()));
  g_assert_true (raw.read_response_head ().find (" 101 ") != std::string::npos);
  raw.send (ws_test::client_frame (ws_test::ws::Opcode::Text,
          "{\"event\":\"media\",\"x\":\"\xff\xfe\xc0\"}"));
  const ws_test::ServerFrame close = raw.read_frame ();
  g_assert_cmpuint (close.opcode, ==, 8);
  g_assert_cmpuint (close.close_code (), ==, 1007);
  healthy.send (3);
  healthy.finish_and_check (redis);
  g_assert_true (pump_until ([&] { return daemon.log_has ("code=1007"); }));
  g_assert_cmpfloat (metric (daemon, "callstreamd_websocket_protocol_errors_total"), ==, 1);
}

void
test_hostile_call_ids_stay_inside_the_dump_dir ()
{
  // Call ids with ../, /, NUL and 300 characters name dump directories and
  // Redis entries: sanitised, every file inside AUDIO_DUMP_DIR, every frame
  // in Redis.
  RedisServer redis;
  TempDir root;
  const std::string dumps = root / "dumps";
  auto env = exotel_env (redis);
  env.insert ({ { "AUDIO_DUMP_ENABLED", "true" }, { "AUDIO_DUMP_DIR", dumps },
        { "AUDIO_DUMP_FORMAT", "raw" } });
  Daemon daemon (env);
  g_assert_true (daemon.wait_listening ());
  const std::vector<std::string> ids = { "../../escape", "/etc/passwd", "nul\\u0000byte",
    std::string (300, 'x') };
  std::vector<std::unique_ptr<WsClient>> clients;
  for (size_t c = 0; c < ids.size (); c++) {
    clients.push_back (std::make_unique<WsClient> ());
    g_assert_true (clients.back ()->connect (daemon.ws ("/v1/ingest")));
    clients.back ()->send (exotel_start (ids[c]));
    for (int f = 1; f <= 2; f++)
      clients.back ()->send (exotel_media (f + 1, frame_audio (int (c), f)));
    clients.back ()->send (exotel_stop (ids[c]));
  }
  g_assert_true (pump_until ([&] { return count_event (redis, "call_end") == ids.size (); }));
  g_assert_cmpuint (count_event (redis, "audio"), ==, 2 * ids.size ());
  g_assert_true (pump_until ([&] { return daemon.log_count ("call_ended") == ids.size (); }));
  // Nothing next to the dump dir; inside, one directory per call, files only in those.
  const auto top = test_support::list_dir (root.path ());
  g_assert_cmpuint (top.size (), ==, 1);
  g_autofree gchar *real_dumps = realpath (dumps.c_str (), nullptr);
  const auto calls = test_support::list_dir (dumps);
  g_assert_cmpuint (calls.size (), ==, ids.size ());
  for (const std::string &call : calls) {
    g_assert_cmpuint (call.size (), <=, 128);
    g_assert_true (call != ".." && call.find ('/') == std::string::npos);
    const std::string dir = dumps + "/" + call;
    g_assert_true (g_file_test (dir.c_str (), G_FILE_TEST_IS_DIR));
    g_autofree gchar *real = realpath (dir.c_str (), nullptr);
    g_assert_true (g_str_has_prefix (real, real_dumps));
    for (const std::string &file : test_support::list_dir (dir))
      g_assert_true (g_file_test ((dir + "/" + file).c_str (), G_FILE_TEST_IS_REGULAR));
  }
}

// A raw TCP client of the flood test: its upgrade request sent, what came back.
struct FloodSocket {
  int fd = -1;
  std::string in;
  size_t head_end = std::string::npos;
  bool eof = false;
};

void
test_five_thousand_idle_connections ()
{
  // 5,000 upgrades held open, none saying anything: MAX_CALLS of them
  // become calls, the rest get 503; the idle timeout closes the calls with
  // 1008; the healthy call (which keeps talking) loses nothing.
  constexpr int kConnections = 5000;
  constexpr int kMaxCalls = 100;
  // Each process holds one descriptor per connection: raise the soft limit
  // of this process (the daemon inherits it and raises its own to the hard
  // limit) within the hard limit; skip where the hard limit is too low.
  struct rlimit files;
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &files), ==, 0);
  const rlim_t wanted = kConnections + 1024;
  if (files.rlim_max != RLIM_INFINITY && files.rlim_max < wanted) {
    g_test_skip ("RLIMIT_NOFILE hard limit below 6024");
    return;
  }
  if (files.rlim_cur < wanted) {
    files.rlim_cur = wanted;
    g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &files), ==, 0);
  }
  RedisServer redis;
  auto env = exotel_env (redis);
  env.insert ({ { "MAX_CALLS", std::to_string (kMaxCalls + 1) }, { "IDLE_TIMEOUT_S", "3" } });
  Daemon daemon (env);
  g_assert_true (daemon.wait_listening ());
  HealthyCall healthy (daemon, "CAhealthy", 1);
  healthy.send ();

  std::vector<FloodSocket> sockets (kConnections);
  const std::string request = ws_test::upgrade_request ("/v1/ingest", daemon.port ());
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons (daemon.port ());
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  for (FloodSocket &s : sockets) {
    s.fd = socket (AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint (s.fd, >=, 0);
    // Blocking connect: the listen backlog paces us, not a flood of SYN retries.
    g_assert_cmpint (connect (s.fd, reinterpret_cast<sockaddr *> (&address), sizeof address),
        ==, 0);
    g_assert_cmpint (send (s.fd, request.data (), request.size (), MSG_NOSIGNAL), ==,
        gssize (request.size ()));
    fcntl (s.fd, F_SETFL, O_NONBLOCK);
    healthy.tick ();
    g_main_context_iteration (nullptr, FALSE);
  }

  // Read until every socket has its answer and every accepted one its close.
  auto settled = [] (const FloodSocket &s) {
    if (s.head_end == std::string::npos)
      return false;
    return s.in.compare (0, 12, "HTTP/1.1 503") == 0 || s.eof;
  };
  std::vector<pollfd> polls (kConnections);
  const gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  while (!std::all_of (sockets.begin (), sockets.end (), settled)) {
    if (g_get_monotonic_time () > deadline)
      g_error ("the flood did not settle within 120 s");
    for (int i = 0; i < kConnections; i++)
      polls[i] = { settled (sockets[i]) ? -1 : sockets[i].fd, POLLIN, 0 };
    poll (polls.data (), polls.size (), 20);
    for (int i = 0; i < kConnections; i++) {
      if (!(polls[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      FloodSocket &s = sockets[i];
      char chunk[4096];
      const ssize_t got = recv (s.fd, chunk, sizeof chunk, 0);
      if (got <= 0) {
        s.eof = true;
        continue;
      }
      s.in.append (chunk, size_t (got));
      if (s.head_end == std::string::npos)
        s.head_end = s.in.find ("\r\n\r\n");
    }
    healthy.tick ();
    while (g_main_context_iteration (nullptr, FALSE)) {
    }
  }

  int accepted = 0, refused = 0;
  for (const FloodSocket &s : sockets) {
    if (s.in.compare (0, 12, "HTTP/1.1 503") == 0) {
      refused++;
      continue;
    }
    g_assert_true (s.in.compare (0, 12, "HTTP/1.1 101") == 0);
    accepted++;
    // The server's Close: 1008 "idle timeout".
    const std::string frames = s.in.substr (s.head_end + 4);
    g_assert_cmpuint (frames.size (), >=, 4);
    g_assert_cmpuint (uint8_t (frames[0]), ==, 0x88);
    g_assert_cmpuint ((uint8_t (frames[2]) << 8) | uint8_t (frames[3]), ==, 1008);
    g_assert_true (frames.find ("idle timeout") != std::string::npos);
  }
  g_printerr ("# %d upgrades accepted as calls, %d refused with 503\n", accepted, refused);
  // Slots freed by the idle timeout may take later upgrades; never more at once.
  g_assert_cmpint (accepted, >=, kMaxCalls);
  // Never more calls at once than MAX_CALLS: accepted and ended calls in
  // log order (both logged on the main thread).
  int calls_now = 0, most_calls = 0;
  const std::string log = daemon.log ();
  for (size_t at = 0, end; at < log.size (); at = end + 1) {
    end = log.find ('\n', at);
    if (end == std::string::npos)
      end = log.size ();
    const std::string_view line (log.data () + at, end - at);
    if (line.find (" connection_accepted ") != std::string_view::npos)
      most_calls = std::max (most_calls, ++calls_now);
    else if (line.find (" call_ended ") != std::string_view::npos)
      calls_now--;
  }
  g_assert_cmpint (most_calls, <=, kMaxCalls + 1);
  g_assert_cmpint (most_calls, >, 1);
  g_assert_cmpint (refused, >, 0);
  g_assert_cmpint (accepted + refused, ==, kConnections);
  g_assert_cmpfloat (metric (daemon, "callstreamd_websocket_idle_timeouts_total"), ==, accepted);
  g_assert_cmpfloat (metric (daemon, "callstreamd_requests_refused_total{provider=\"exotel\"}"),
      ==, refused);
  g_assert_true (pump_until ([&] {
          healthy.tick ();
          return daemon.log_count ("reason=\"MAX_CALLS reached\"") == size_t (refused)
              && daemon.log_count ("reason=\"idle timeout\"") == size_t (accepted);
        }));
  for (FloodSocket &s : sockets)
    close (s.fd);
  healthy.finish_and_check (redis);
}

void
test_client_that_reads_nothing_is_closed ()
{
  // /test-websocket echoes: a client that sends and never reads fills the
  // send queue (1 MiB over the socket buffers); its connection is closed
  // (1008 "client not reading", no Close frame can reach it), a metric and
  // a log line say so, the healthy call goes on.
  RedisServer redis;
  Daemon daemon (exotel_env (redis));
  g_assert_true (daemon.wait_listening ());
  HealthyCall healthy (daemon, "CAhealthy", 1);
  healthy.send ();
  ws_test::RawClient raw (daemon.port (), 4096);
  raw.send (ws_test::upgrade_request ("/test-websocket", daemon.port ()));
  g_assert_true (raw.read_response_head ().find (" 101 ") != std::string::npos);
  const int fd = g_socket_get_fd (raw.socket ());
  fcntl (fd, F_SETFL, O_NONBLOCK);
  const std::vector<uint8_t> message = ws_test::client_frame (ws_test::ws::Opcode::Binary,
      std::string (60000, 'e'));
  size_t offset = 0;
  bool refused = false;
  const gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!refused && metric (daemon, "callstreamd_websocket_send_overflows_total") < 1) {
    if (g_get_monotonic_time () > deadline)
      g_error ("the daemon kept a client that reads nothing for 60 s");
    for (int i = 0; i < 50; i++) {
      const ssize_t sent = send (fd, message.data () + offset, message.size () - offset,
          MSG_NOSIGNAL);
      if (sent < 0) {
        refused = errno != EAGAIN && errno != EWOULDBLOCK;
        break;
      }
      offset = (offset + size_t (sent)) % message.size ();
    }
    g_usleep (2000);
    healthy.tick ();
    while (g_main_context_iteration (nullptr, FALSE)) {
    }
  }
  g_assert_true (pump_until ([&] {
          healthy.tick ();
          return metric (daemon, "callstreamd_websocket_send_overflows_total") == 1
              && daemon.log_has ("reason=\"client not reading\"");
        }));
  // The socket is gone on the daemon's side: draining it ends in EOF or a reset.
  const gint64 drain_deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  for (;;) {
    g_assert_cmpint (g_get_monotonic_time (), <, drain_deadline);
    char chunk[65536];
    const ssize_t got = recv (fd, chunk, sizeof chunk, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      break;
    if (got < 0)
      g_usleep (1000);
  }
  healthy.send (3);
  healthy.finish_and_check (redis);
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  test_support::print_daemon_log_on_abort ();
  g_test_add_func ("/hostile/exotel/malformed-messages-counted-call-goes-on",
      test_malformed_messages_are_counted_and_the_call_goes_on);
  g_test_add_func ("/hostile/exotel/second-start-with-another-rate",
      test_second_start_with_another_rate);
  g_test_add_func ("/hostile/websocket/invalid-utf8-closes-with-1007",
      test_invalid_utf8_text_closes_with_1007);
  g_test_add_func ("/hostile/ids/call-ids-stay-inside-the-dump-dir",
      test_hostile_call_ids_stay_inside_the_dump_dir);
  g_test_add_func ("/hostile/limits/five-thousand-idle-connections",
      test_five_thousand_idle_connections);
  g_test_add_func ("/hostile/websocket/client-that-reads-nothing-is-closed",
      test_client_that_reads_nothing_is_closed);
  return g_test_run ();
}
