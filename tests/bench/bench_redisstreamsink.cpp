// Prints what redisstreamsink costs: N simultaneous calls at 50 frames/s of
// 320-byte frames (20 ms of 8 kHz PCM16) into a redis-server of its own, then
// the same calls as fast as Redis takes them. Figures, not pass/fail:
//   meson test -C build --benchmark --verbose
//   build/tests/bench-redisstreamsink [calls=200] [seconds=5] [paced|saturating]
// The CPU per frame is this whole process (streaming loop and Redis thread);
// the same loop into fakesink is measured too, and the difference is the sink.
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "elements/redis_server.h"

namespace {

constexpr gsize kFrameBytes = 320;
constexpr GstClockTime kFramePeriod = 20 * GST_MSECOND;

double
cpu_seconds ()
{
  timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
wall_seconds ()
{
  return g_get_monotonic_time () / 1e6;
}

// utime + stime from a /proc/.../stat file, in seconds.
double
stat_cpu_seconds (const std::string &path)
{
  std::string stat = test_support::read_file (path);
  // Fields after the command name (which may hold spaces) start at ") ".
  size_t at = stat.rfind (") ");
  if (at == std::string::npos)
    return 0;
  std::vector<std::string> fields;
  g_auto (GStrv) parts = g_strsplit (stat.c_str () + at + 2, " ", -1);
  for (gchar **p = parts; *p != nullptr; p++)
    fields.push_back (*p);
  // state is field 3; utime 14 and stime 15, so 11 and 12 from here.
  if (fields.size () < 13)
    return 0;
  const double ticks = sysconf (_SC_CLK_TCK);
  return (g_ascii_strtod (fields[11].c_str (), nullptr)
      + g_ascii_strtod (fields[12].c_str (), nullptr)) / ticks;
}

double
process_cpu_seconds (GPid pid)
{
  return stat_cpu_seconds ("/proc/" + std::to_string (pid) + "/stat");
}

// CPU of this process's threads named @name (the Redis client's thread).
double
thread_cpu_seconds (const char *name)
{
  double total = 0;
  g_autoptr (GDir) tasks = g_dir_open ("/proc/self/task", 0, nullptr);
  while (const gchar *tid = tasks ? g_dir_read_name (tasks) : nullptr) {
    const std::string task = std::string ("/proc/self/task/") + tid;
    std::string comm = test_support::read_file (task + "/comm");
    if (comm == std::string (name) + "\n")
      total += stat_cpu_seconds (task + "/stat");
  }
  return total;
}

struct Calls {
  std::vector<GstHarness *> harnesses;

  Calls (guint count, const std::string &description)
  {
    for (guint i = 0; i < count; i++) {
      GstElement *element = gst_parse_launch (description.c_str (), nullptr);
      GstHarness *h = gst_harness_new_with_element (element, "sink", nullptr);
      gst_object_unref (element);
      gst_harness_set_src_caps_str (h,
          "audio/x-raw,format=S16LE,layout=interleaved,rate=8000,channels=1");
      harnesses.push_back (h);
    }
  }
  ~Calls ()
  {
    for (GstHarness *h : harnesses)
      gst_harness_teardown (h);
  }
  void push_frame (guint call, guint64 n, GstBuffer *frame)
  {
    GstBuffer *buffer = gst_buffer_copy (frame);
    GST_BUFFER_PTS (buffer) = n * kFramePeriod;
    gst_harness_push (harnesses[call], buffer);
  }
  guint64 sum (const char *stat) const
  {
    guint64 total = 0;
    for (GstHarness *h : harnesses) {
      guint64 value = 0;
      g_object_get (h->element, stat, &value, nullptr);
      total += value;
    }
    return total;
  }
  void eos ()
  {
    for (GstHarness *h : harnesses)
      gst_harness_push_event (h, gst_event_new_eos ());
  }
};

GstBuffer *
make_frame ()
{
  GstBuffer *frame = gst_buffer_new_allocate (nullptr, kFrameBytes, nullptr);
  GstMapInfo map;
  gst_buffer_map (frame, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < kFrameBytes; i++)
    map.data[i] = static_cast<guint8> (i * 7);
  gst_buffer_unmap (frame, &map);
  return frame;
}

struct Run {
  guint64 frames = 0;
  double wall = 0;
  double cpu = 0;
  double client_thread_cpu = 0;  // part of cpu
  double redis_cpu = 0;
};

// Every call gets a frame each 20 ms, for @seconds.
Run
paced (Calls &calls, double seconds, GPid redis_pid, bool wait_published)
{
  g_autoptr (GstBuffer) frame = make_frame ();
  const guint ticks = seconds * 50;
  Run run;
  const double cpu0 = cpu_seconds (), wall0 = wall_seconds ();
  const double redis0 = redis_pid ? process_cpu_seconds (redis_pid) : 0;
  const double client0 = thread_cpu_seconds ("redis-client");
  const gint64 start = g_get_monotonic_time ();
  for (guint tick = 0; tick < ticks; tick++) {
    for (guint c = 0; c < calls.harnesses.size (); c++)
      calls.push_frame (c, tick, frame);
    run.frames += calls.harnesses.size ();
    const gint64 next = start + (tick + 1) * kFramePeriod / 1000;
    const gint64 now = g_get_monotonic_time ();
    if (next > now)
      g_usleep (next - now);
  }
  if (wait_published) {
    const gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    while (calls.sum ("published") < run.frames
        && g_get_monotonic_time () < deadline)
      g_usleep (1000);
  }
  run.wall = wall_seconds () - wall0;
  run.cpu = cpu_seconds () - cpu0;
  run.redis_cpu = redis_pid ? process_cpu_seconds (redis_pid) - redis0 : 0;
  run.client_thread_cpu = thread_cpu_seconds ("redis-client") - client0;
  return run;
}

// As fast as Redis acknowledges: the producer only waits while more than
// @window frames are pending, so nothing is dropped.
Run
saturating (Calls &calls, double seconds, GPid redis_pid, guint64 window)
{
  g_autoptr (GstBuffer) frame = make_frame ();
  Run run;
  const double cpu0 = cpu_seconds (), wall0 = wall_seconds ();
  const double redis0 = process_cpu_seconds (redis_pid);
  const double client0 = thread_cpu_seconds ("redis-client");
  guint64 n = 0;
  while (wall_seconds () - wall0 < seconds) {
    for (guint c = 0; c < calls.harnesses.size (); c++)
      calls.push_frame (c, n, frame);
    run.frames += calls.harnesses.size ();
    // Reading the counters costs too: only now and then.
    if (++n % 16 == 0) {
      while (calls.sum ("pending") > window)
        g_usleep (200);
    }
  }
  while (calls.sum ("pending") > 0 && wall_seconds () - wall0 < seconds + 30)
    g_usleep (1000);
  run.wall = wall_seconds () - wall0;
  run.cpu = cpu_seconds () - cpu0;
  run.redis_cpu = process_cpu_seconds (redis_pid) - redis0;
  run.client_thread_cpu = thread_cpu_seconds ("redis-client") - client0;
  return run;
}

void
report (const char *what, const Run &run)
{
  g_print ("%-34s %7.0f frames/s | here %5.2f us CPU/frame (%3.0f%% of a "
      "core) | redis-server %5.2f us CPU/frame (%3.0f%% of a core)\n", what,
      run.frames / run.wall, run.cpu * 1e6 / run.frames,
      run.cpu * 100 / run.wall, run.redis_cpu * 1e6 / run.frames,
      run.redis_cpu * 100 / run.wall);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const guint calls = argc > 1 ? atoi (argv[1]) : 200;
  const double seconds = argc > 2 ? g_ascii_strtod (argv[2], nullptr) : 5;
  const std::string only = argc > 3 ? argv[3] : "";
  test_support::RedisServer server;
  const std::string sink = "redisstreamsink redis-url=" + server.url ();

  g_print ("%u calls, 50 frames/s each, %zu-byte frames, %.0f s\n", calls,
      kFrameBytes, seconds);
  Run baseline;
  if (only != "saturating") {
    Calls fakesinks (calls, "fakesink sync=false");
    baseline = paced (fakesinks, seconds, 0, false);
    report ("harness ! fakesink (baseline)", baseline);
  }
  if (only != "saturating") {
    Calls publishing (calls, sink);
    Run run = paced (publishing, seconds, server.pid (), true);
    report ("harness ! redisstreamsink", run);
    g_print ("%-34s %5.2f us CPU/frame (%.2f of it on the Redis thread)\n",
        "redisstreamsink alone",
        (run.cpu / run.frames - baseline.cpu / baseline.frames) * 1e6,
        run.client_thread_cpu * 1e6 / run.frames);
    g_print ("%-34s %7" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT
        " dropped\n", "", publishing.sum ("published"),
        publishing.sum ("dropped"));
    publishing.eos ();
  }
  server.command ({"DEL", "audio_stream"});
  if (only != "paced") {
    Calls publishing (calls, sink + " max-buffer-time=3600000");
    Run run = saturating (publishing, seconds, server.pid (), 20000);
    report ("as fast as Redis takes it", run);
    g_print ("%-34s %5.2f us CPU/frame on the Redis thread\n", "",
        run.client_thread_cpu * 1e6 / run.frames);
    g_print ("%-34s %7" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT
        " dropped\n", "", publishing.sum ("published"),
        publishing.sum ("dropped"));
    publishing.eos ();
  }
  return 0;
}
