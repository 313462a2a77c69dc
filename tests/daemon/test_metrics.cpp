// The Prometheus text the /metrics endpoint serves, byte for byte.
#include <glib.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "metrics.h"

using callstreamd::Metrics;

// render () returns a temporary: keep it alive while g_assert_cmpstr looks.
static void
assert_render (const Metrics &metrics, const char *expected)
{
  const std::string text = metrics.render ();
  g_assert_cmpstr (text.c_str (), ==, expected);
}

static void
test_empty_registry_renders_nothing ()
{
  Metrics metrics;
  assert_render (metrics, "");
}

static void
test_render_is_exact_and_sorted ()
{
  Metrics metrics;
  // Registered out of order: the output is sorted by name, then provider.
  auto &twilio = metrics.counter ("callstreamd_frames_received_total",
      "Media frames received from providers.", "twilio");
  auto &exotel = metrics.counter ("callstreamd_frames_received_total",
      "Media frames received from providers.", "exotel");
  auto &open = metrics.gauge ("callstreamd_connections_open", "Provider WebSockets open now.");
  auto &rejected = metrics.counter ("callstreamd_auth_rejected_total",
      "Requests refused by Basic auth, the IP allow-list or a bad Twilio signature.");
  exotel.inc (12);
  twilio.inc ();
  twilio.inc (2);
  open.add (3);
  open.sub ();
  (void) rejected;

  const std::string text = metrics.render ();
  g_assert_cmpstr (text.c_str (), ==,
      "# HELP callstreamd_auth_rejected_total Requests refused by Basic auth, the IP allow-list"
      " or a bad Twilio signature.\n"
      "# TYPE callstreamd_auth_rejected_total counter\n"
      "callstreamd_auth_rejected_total 0\n"
      "# HELP callstreamd_connections_open Provider WebSockets open now.\n"
      "# TYPE callstreamd_connections_open gauge\n"
      "callstreamd_connections_open 2\n"
      "# HELP callstreamd_frames_received_total Media frames received from providers.\n"
      "# TYPE callstreamd_frames_received_total counter\n"
      "callstreamd_frames_received_total{provider=\"exotel\"} 12\n"
      "callstreamd_frames_received_total{provider=\"twilio\"} 3\n");
  g_assert_cmpuint (exotel.value (), ==, 12);
}

static void
test_same_series_twice_is_the_same_object ()
{
  Metrics metrics;
  auto &first = metrics.counter ("calls_total", "Calls.", "exotel");
  auto &again = metrics.counter ("calls_total", "Calls.", "exotel");
  auto &other = metrics.counter ("calls_total", "Calls.", "twilio");
  g_assert_true (&first == &again);
  g_assert_true (&first != &other);
  first.inc ();
  again.inc ();
  g_assert_cmpuint (first.value (), ==, 2);
  g_assert_cmpuint (other.value (), ==, 0);
}

static void
test_gauge_goes_below_zero_and_can_be_set ()
{
  Metrics metrics;
  auto &gauge = metrics.gauge ("drift", "Drift.");
  gauge.sub (5);
  g_assert_cmpint (gauge.value (), ==, -5);
  assert_render (metrics,
      "# HELP drift Drift.\n# TYPE drift gauge\ndrift -5\n");
  gauge.set (42);
  assert_render (metrics,
      "# HELP drift Drift.\n# TYPE drift gauge\ndrift 42\n");
}

static void
test_counters_count_every_increment_from_many_threads ()
{
  Metrics metrics;
  auto &counter = metrics.counter ("frames_total", "Frames.", "exotel");
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++)
    threads.emplace_back ([&counter] {
      for (int n = 0; n < kIncrements; n++)
        counter.inc ();
    });
  // Rendering while the threads count must not disturb them.
  for (int i = 0; i < 10; i++)
    g_assert_nonnull (strstr (metrics.render ().c_str (), "frames_total{provider=\"exotel\"} "));
  for (auto &thread : threads)
    thread.join ();
  g_assert_cmpuint (counter.value (), ==, kThreads * kIncrements);
  g_assert_nonnull (
      strstr (metrics.render ().c_str (), "frames_total{provider=\"exotel\"} 400000\n"));
}

static void
test_callback_counters_render_as_counters ()
{
  Metrics metrics;
  guint64 published = 7;
  metrics.counter_callback ("frames_published_total", "Frames Redis acknowledged.",
      [&published] { return static_cast<double> (published); }, "exotel");
  assert_render (metrics,
      "# HELP frames_published_total Frames Redis acknowledged.\n"
      "# TYPE frames_published_total counter\n"
      "frames_published_total{provider=\"exotel\"} 7\n");
  published = 1200;
  g_assert_nonnull (strstr (metrics.render ().c_str (),
          "frames_published_total{provider=\"exotel\"} 1200\n"));
}

static void
test_callback_gauges_are_read_at_render_time ()
{
  Metrics metrics;
  int calls = 2;
  double ratio = 0.5;
  metrics.gauge_callback ("calls_in_progress", "Calls being carried now.",
      [&calls] { return static_cast<double> (calls); }, "twilio");
  metrics.gauge_callback ("realtime_probability", "Share of calls sent to the Realtime API.",
      [&ratio] { return ratio; });
  const char *before =
      "# HELP calls_in_progress Calls being carried now.\n"
      "# TYPE calls_in_progress gauge\n"
      "calls_in_progress{provider=\"twilio\"} 2\n"
      "# HELP realtime_probability Share of calls sent to the Realtime API.\n"
      "# TYPE realtime_probability gauge\n"
      "realtime_probability 0.5\n";
  assert_render (metrics, before);
  calls = 0;
  ratio = 0.1;
  std::string text = metrics.render ();
  g_assert_nonnull (strstr (text.c_str (), "calls_in_progress{provider=\"twilio\"} 0\n"));
  g_assert_nonnull (strstr (text.c_str (), "realtime_probability 0.1\n"));
  ratio = NAN;
  text = metrics.render ();
  g_assert_nonnull (strstr (text.c_str (), "realtime_probability NaN\n"));
  ratio = -INFINITY;
  text = metrics.render ();
  g_assert_nonnull (strstr (text.c_str (), "realtime_probability -Inf\n"));
  ratio = 1e300;
  text = metrics.render ();
  g_assert_nonnull (strstr (text.c_str (), "realtime_probability 1e+300\n"));
}

static void
test_label_values_and_help_are_escaped ()
{
  Metrics metrics;
  metrics.counter ("odd_total", "Line one\nback\\slash \"quoted\".", "a\"b\\c\nd").inc (7);
  assert_render (metrics,
      "# HELP odd_total Line one\\nback\\\\slash \"quoted\".\n"
      "# TYPE odd_total counter\n"
      "odd_total{provider=\"a\\\"b\\\\c\\nd\"} 7\n");
}

static void
test_bad_registrations_abort ()
{
  if (g_test_subprocess ()) {
    Metrics metrics;
    const char *which = g_getenv ("METRICS_CASE");
    if (g_strcmp0 (which, "name") == 0)
      metrics.counter ("9frames-total", "Bad name.");
    else if (g_strcmp0 (which, "type") == 0) {
      metrics.counter ("frames_total", "Frames.");
      metrics.gauge ("frames_total", "Frames.");
    } else if (g_strcmp0 (which, "callback") == 0) {
      metrics.gauge_callback ("up", "Up.", [] { return 1.0; });
      metrics.gauge_callback ("up", "Up.", [] { return 0.0; });
    }
    return;
  }
  const struct {
    const char *name;
    const char *message;
  } cases[] = {
    { "name", "*metric name \"9frames-total\" is not*" },
    { "type", "*metric \"frames_total\" registered again with another type or help text*" },
    { "callback", "*metric \"up\" with provider \"\" is already registered*" },
  };
  for (const auto &c : cases) {
    g_setenv ("METRICS_CASE", c.name, TRUE);
    g_test_trap_subprocess (nullptr, 0, G_TEST_SUBPROCESS_INHERIT_STDIN);
    g_test_trap_assert_failed ();
    g_test_trap_assert_stderr (c.message);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/metrics/render/empty-registry-renders-nothing",
      test_empty_registry_renders_nothing);
  g_test_add_func ("/metrics/render/exact-text-sorted-by-name-then-provider",
      test_render_is_exact_and_sorted);
  g_test_add_func ("/metrics/render/label-values-and-help-are-escaped",
      test_label_values_and_help_are_escaped);
  g_test_add_func ("/metrics/counter/same-series-twice-is-the-same-object",
      test_same_series_twice_is_the_same_object);
  g_test_add_func ("/metrics/counter/every-increment-from-many-threads-counts",
      test_counters_count_every_increment_from_many_threads);
  g_test_add_func ("/metrics/gauge/goes-below-zero-and-can-be-set",
      test_gauge_goes_below_zero_and_can_be_set);
  g_test_add_func ("/metrics/counter/callbacks-render-as-counters",
      test_callback_counters_render_as_counters);
  g_test_add_func ("/metrics/gauge/callbacks-are-read-at-render-time",
      test_callback_gauges_are_read_at_render_time);
  g_test_add_func ("/metrics/registration/bad-name-type-clash-or-duplicate-callback-aborts",
      test_bad_registrations_abort);
  return g_test_run ();
}
