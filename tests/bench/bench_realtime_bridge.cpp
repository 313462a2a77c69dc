// Prints what realtimebridge costs per message: N calls in one process, each
//   appsrc (u-law 8 kHz, 20 ms frames at real pace) ! realtimebridge ! fakesink
// against its own fake Realtime server (tests/elements/fake_realtime_server.h),
// which echoes each second of a call's audio back as 20 ms deltas, so every
// caller frame costs one input_audio_buffer.append out and one
// response.output_audio.delta in. Figures, not pass/fail:
//   meson test -C build --benchmark --verbose realtime-bridge
//   build/tests/bench-realtime-bridge [calls=100] [seconds=10]
// CPU is per thread class, from /proc/self/task/*/schedstat (ns on CPU):
// the shared socket thread ("realtime-socket"), the appsrc streaming threads
// (they run the bridge's chain: the append is built there), the bridge's src
// tasks, and the rest (the fake servers' threads, this main thread), which is
// not the bridge's and is printed apart.
#include <gst/gst.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_realtime_server.h"
#include "test_support.h"

using test_support::FakeRealtimeServer;

namespace {

constexpr gsize kFrameBytes = 160;  // 20 ms of u-law 8 kHz
constexpr GstClockTime kFramePeriod = 20 * GST_MSECOND;
constexpr size_t kEchoEveryBytes = 8000;  // a reply per second of audio
constexpr size_t kDeltaBytes = 160;       // in 20 ms deltas

// Nanoseconds each thread of this process ran, by class of thread.
std::map<std::string, double>
thread_cpu_ns ()
{
  std::map<std::string, double> by_class;
  g_autoptr (GDir) tasks = g_dir_open ("/proc/self/task", 0, nullptr);
  while (const gchar *tid = tasks ? g_dir_read_name (tasks) : nullptr) {
    const std::string task = std::string ("/proc/self/task/") + tid;
    g_autofree gchar *comm = nullptr;
    g_autofree gchar *schedstat = nullptr;
    if (!g_file_get_contents ((task + "/comm").c_str (), &comm, nullptr, nullptr)
        || !g_file_get_contents ((task + "/schedstat").c_str (), &schedstat, nullptr,
            nullptr))
      continue;
    const std::string name = g_strstrip (comm);
    std::string what = "other (fake servers, main)";
    if (name == "realtime-socket")
      what = "realtime-socket";
    else if (g_str_has_prefix (name.c_str (), "a") && g_str_has_suffix (name.c_str (), ":src"))
      what = "appsrc tasks (bridge chain)";
    else if (g_str_has_prefix (name.c_str (), "b") && g_str_has_suffix (name.c_str (), ":src"))
      what = "bridge src tasks";
    by_class[what] += g_ascii_strtod (schedstat, nullptr);
  }
  return by_class;
}

struct Call {
  std::unique_ptr<FakeRealtimeServer> server;
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *sink = nullptr;

  explicit Call (guint index)
  {
    FakeRealtimeServer::Options options;
    options.echo_every_bytes = kEchoEveryBytes;
    options.delta_bytes = kDeltaBytes;
    server = std::make_unique<FakeRealtimeServer> (options);
    const std::string description = "appsrc name=a" + std::to_string (index)
        + " is-live=true format=time max-bytes=0"
        " caps=\"audio/x-mulaw, rate=(int)8000, channels=(int)1\""
        " ! realtimebridge name=b" + std::to_string (index) + " url=" + server->url ()
        + " api-key=sk-bench"
        " ! fakesink name=s sync=false async=false";
    GError *error = nullptr;
    pipeline = gst_parse_launch (description.c_str (), &error);
    g_assert_no_error (error);
    src = gst_bin_get_by_name (GST_BIN (pipeline), ("a" + std::to_string (index)).c_str ());
    sink = gst_bin_get_by_name (GST_BIN (pipeline), "s");
    g_object_set (sink, "signal-handoffs", FALSE, nullptr);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
  }

  ~Call ()
  {
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (sink);
    gst_object_unref (src);
    gst_object_unref (pipeline);
  }

  void push (GstBuffer *frame, guint64 n)
  {
    GstBuffer *buffer = gst_buffer_copy (frame);
    GST_BUFFER_PTS (buffer) = n * kFramePeriod;
    GST_BUFFER_DURATION (buffer) = kFramePeriod;
    GstFlowReturn flow = GST_FLOW_OK;
    g_signal_emit_by_name (src, "push-buffer", buffer, &flow);
    gst_buffer_unref (buffer);
  }
};

GstBuffer *
make_frame ()
{
  GstBuffer *frame = gst_buffer_new_allocate (nullptr, kFrameBytes, nullptr);
  GstMapInfo map;
  gst_buffer_map (frame, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < kFrameBytes; i++)
    map.data[i] = static_cast<guint8> (i * 7 + 1);
  gst_buffer_unmap (frame, &map);
  return frame;
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const guint count = argc > 1 ? atoi (argv[1]) : 100;
  const double seconds = argc > 2 ? g_ascii_strtod (argv[2], nullptr) : 10;

  std::vector<std::unique_ptr<Call>> calls;
  for (guint i = 0; i < count; i++)
    calls.push_back (std::make_unique<Call> (i));
  // Every socket open and its session.update read before the clock starts.
  for (auto &call : calls) {
    if (!call->server->wait_for ([&call] {
              return call->server->count_locked ("session.update") > 0;
            }, 20000)) {
      g_printerr ("a bridge did not connect within 20 s\n");
      return 1;
    }
  }

  g_autoptr (GstBuffer) frame = make_frame ();
  const guint ticks = seconds * 50;
  const auto cpu0 = thread_cpu_ns ();
  const gint64 start = g_get_monotonic_time ();
  for (guint tick = 0; tick < ticks; tick++) {
    for (auto &call : calls)
      call->push (frame, tick);
    const gint64 next = start + (tick + 1) * kFramePeriod / 1000;
    const gint64 now = g_get_monotonic_time ();
    if (next > now)
      g_usleep (next - now);
  }
  // Until every append reached its server (and its replies were sent).
  const size_t per_call = static_cast<size_t> (ticks) * kFrameBytes;
  bool all = true;
  for (auto &call : calls)
    all = call->server->wait_for ([&call, per_call] {
          return call->server->audio_size_locked () >= per_call;
        }, 30000) && all;
  // The last replies' deltas: a moment for the bridge to read them.
  g_usleep (500 * 1000);
  const double wall = (g_get_monotonic_time () - start) / 1e6;
  const auto cpu1 = thread_cpu_ns ();

  const double frames = static_cast<double> (ticks) * count;
  const double deltas = static_cast<double> (per_call / kEchoEveryBytes * kEchoEveryBytes
      / kDeltaBytes) * count;
  g_print ("%u calls, %.0f s of 20 ms u-law frames: %.0f appends out, %.0f deltas in "
      "(%s), %.1f s wall\n", count, seconds, frames, deltas,
      all ? "all audio reached the servers" : "NOT all audio reached the servers", wall);
  double bridge = 0;
  for (const auto &[what, ns1] : cpu1) {
    auto before = cpu0.find (what);
    const double ns = ns1 - (before != cpu0.end () ? before->second : 0);
    const bool ours = what.rfind ("other", 0) != 0;
    if (ours)
      bridge += ns;
    g_print ("  %-30s %7.2f us CPU per caller frame (%5.1f%% of a core)%s\n",
        what.c_str (), ns / 1e3 / frames, ns / 1e7 / wall, ours ? "" : "  [not the bridge]");
  }
  g_print ("  %-30s %7.2f us CPU per caller frame (append + delta)\n", "bridge total",
      bridge / 1e3 / frames);
  calls.clear ();
  return all ? 0 : 1;
}
