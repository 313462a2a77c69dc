// 1,000 Exotel calls opened and closed against the real callstreamd and a
// real redis-server (tools/callstream-load drives them, 50 at a time), and
// nothing of them stays behind:
//
// - open file descriptors come back to the level after a warm-up;
// - in a normal build, the daemon's RSS comes back near that level (the
//   bound is below);
// - in an AddressSanitizer build, the daemon runs with LeakSanitizer on
//   (tests/lsan.supp names the one-time GLib/GStreamer allocations it may
//   ignore) and, after SIGTERM, must exit 0 without a leak report.
//
// A meson suite of its own ("leak"), run by CI's leak-check stage:
//   meson test -C build --setup leak --suite leak
#include <json-glib/json-glib.h>

#include <string>
#include <vector>

#include "daemon_support.h"
#include "redis_server.h"

using test_support::Daemon;
using test_support::RedisServer;

namespace {

constexpr int kBatch = 50;          // concurrent calls per callstream-load run
constexpr int kWarmUpBatches = 2;   // 100 calls before the baseline
constexpr int kBatches = 20;        // the 1,000 calls measured

// RSS may end this far above the warm-up's level. The warm-up already ran
// the same 50 concurrent calls, so the heap has been as large as it gets; what
// is left is glibc malloc keeping freed memory in its arenas (per thread, not
// returned to the kernel) and fragmentation, a few MB at most. A leak of only
// 8 KB per call (one pipeline's element structs alone are more) would show as
// 8 MB over 1,000 calls.
constexpr gint64 kRssSlackKb = 8 * 1024;

gint64
rss_kb (int pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree gchar *status = nullptr;
  if (!g_file_get_contents (path, &status, nullptr, nullptr))
    return -1;
  const char *line = strstr (status, "VmRSS:");
  return line != nullptr ? g_ascii_strtoll (line + 6, nullptr, 10) : -1;
}

// What each open fd of @pid is (socket:[inode], pipe:[inode], a path...).
std::string
fd_targets (int pid)
{
  const std::string dir = "/proc/" + std::to_string (pid) + "/fd";
  std::string out;
  for (const std::string &fd : test_support::list_dir (dir)) {
    g_autofree gchar *target = g_file_read_link ((dir + "/" + fd).c_str (), nullptr);
    out += fd + " -> " + (target != nullptr ? target : "?");
    // A TCP socket: its local and remote address (hex, as /proc has them).
    unsigned long inode = 0;
    if (target != nullptr && sscanf (target, "socket:[%lu]", &inode) == 1) {
      const std::string tcp = test_support::read_file ("/proc/" + std::to_string (pid)
          + "/net/tcp");
      g_auto (GStrv) lines = g_strsplit (tcp.c_str (), "\n", -1);
      for (gchar **line = lines; *line != nullptr; line++) {
        g_auto (GStrv) fields = g_strsplit_set (g_strstrip (*line), " ", -1);
        std::vector<std::string> f;
        for (gchar **field = fields; *field != nullptr; field++)
          if (**field != '\0')
            f.emplace_back (*field);
        if (f.size () > 9 && f[9] == std::to_string (inode))
          out += " tcp " + f[1] + " " + f[2] + " state " + f[3];
      }
    }
    out += "\n";
  }
  return out;
}

// One callstream-load run of @calls Exotel calls, each 1 s of audio in
// 100 ms frames; asserts every call connected and streamed whole.
void
run_calls (const Daemon &daemon, const RedisServer &redis, int calls)
{
  const std::string count = std::to_string (calls);
  const gchar *argv[] = { CALLSTREAM_LOAD_PATH, "--url", nullptr, "--provider", "exotel",
    "--calls", count.c_str (), "--frame-ms", "100", "--duration-s", "1", "--flush-s", "30",
    "--redis-url", nullptr, "--max-run-s", "120", "--json", nullptr };
  const std::string url = daemon.ws ("/v1/ingest");
  const std::string redis_url = redis.url ();
  argv[2] = url.c_str ();
  argv[14] = redis_url.c_str ();
  g_autofree gchar *out = nullptr, *err = nullptr;
  gint wait_status = 0;
  g_autoptr (GError) error = nullptr;
  g_assert_true (g_spawn_sync (nullptr, const_cast<gchar **> (argv), nullptr, G_SPAWN_DEFAULT,
      nullptr, nullptr, &out, &err, &wait_status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (wait_status, nullptr))
    g_error ("callstream-load failed:\n%s%s", out, err);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, nullptr));
  JsonObject *report = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (report, "calls_connected"), ==, calls);
  g_assert_cmpint (json_object_get_int_member (report, "calls_failed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "lost"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (report, "call_ends"), ==, calls);
}

// Waits until no call has a pipeline any more.
void
wait_idle (const Daemon &daemon)
{
  g_assert_true (test_support::pump_until ([&] {
        // Connection: close, as a kept-alive HTTP connection the client
        // has closed stays open in the daemon (CLOSE_WAIT, libsoup 3.2's
        // server does not notice) and would count as a leaked fd here.
        const auto health = test_support::http_request ("GET", daemon.http ("/health"), "", "",
            { { "Connection", "close" } });
        return health.body.find ("\"calls_in_progress\":0") != std::string::npos;
      }, 60));
}

void
test_thousand_calls_leave_nothing ()
{
  RedisServer redis;
  std::map<std::string, std::string> env = { { "REDIS_URL", redis.url () },
    { "SUPPORT_EXOTEL", "true" } };
#ifdef CALLSTREAM_TEST_ASAN
  // The daemon alone checks for leaks (the test programs run without).
  // fast_unwind_on_malloc=0: GLib has no frame pointers, so without it the
  // stacks stop at g_malloc and no suppression could tell leaks apart.
  env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1:fast_unwind_on_malloc=0";
  env["LSAN_OPTIONS"] = "suppressions=" CALLSTREAM_LSAN_SUPPRESSIONS ":print_suppressions=1";
#endif
  Daemon daemon (env);
  g_assert_true (daemon.wait_listening (60));
  const int pid = daemon.pid ();
  g_assert_cmpint (pid, >, 0);

  for (int i = 0; i < kWarmUpBatches; i++)
    run_calls (daemon, redis, kBatch);
  wait_idle (daemon);
  const int fds_before = daemon.open_fds ();
  const std::string fds_before_list = fd_targets (pid);
  const gint64 rss_before = rss_kb (pid);
  g_test_message ("after %d warm-up calls: %d fds, RSS %" G_GINT64_FORMAT " kB",
      kWarmUpBatches * kBatch, fds_before, rss_before);

  for (int i = 0; i < kBatches; i++)
    run_calls (daemon, redis, kBatch);
  wait_idle (daemon);

  // Sockets and pipelines are closed on the daemon's own threads just after
  // the call's end is written: poll.
  const bool fds_back = test_support::pump_until ([&] {
        return daemon.open_fds () <= fds_before;
      }, 30);
  const gint64 rss_after = rss_kb (pid);
  g_test_message ("after %d more calls: %d fds, RSS %" G_GINT64_FORMAT " kB (%+" G_GINT64_FORMAT
      " kB)", kBatches * kBatch, daemon.open_fds (), rss_after, rss_after - rss_before);
  if (!fds_back)
    g_error ("open fds: %d after the calls, %d before:\n%s\nafter:\n%s", daemon.open_fds (),
        fds_before, fds_before_list.c_str (), fd_targets (pid).c_str ());
  g_assert_cmpint (daemon.log_count ("call_ended"), ==, (kWarmUpBatches + kBatches) * kBatch);

#ifdef CALLSTREAM_TEST_ASAN
  // ASan keeps freed memory in quarantine: RSS says nothing here. LSan
  // reports at exit instead, and then exits with its own status (23).
  const int status = daemon.terminate (120);
  const std::string log = daemon.log ();
  if (status != 0 || log.find ("ERROR: LeakSanitizer") != std::string::npos)
    g_error ("callstreamd exited %d after SIGTERM; its log:\n%s", status, log.c_str ());
#else
  g_assert_cmpint (rss_after, <=, rss_before + kRssSlackKb);
  g_assert_cmpint (daemon.terminate (60), ==, 0);
#endif
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  test_support::print_daemon_log_on_abort ();
  g_test_add_func ("/leak/daemon/thousand-exotel-calls-leave-nothing",
      test_thousand_calls_leave_nothing);
  return g_test_run ();
}
