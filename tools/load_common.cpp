// callstream-load: what both flows share (load_common.h).
#include "load_common.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

namespace callstream_load {

ProcSample
sample_process (int pid)
{
  ProcSample sample;
  if (pid <= 0)
    return sample;
  g_autofree gchar *stat = nullptr, *status = nullptr;
  g_autofree gchar *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *status_path = g_strdup_printf ("/proc/%d/status", pid);
  if (!g_file_get_contents (stat_path, &stat, nullptr, nullptr)
      || !g_file_get_contents (status_path, &status, nullptr, nullptr))
    return sample;
  // Fields after the command name (which may hold spaces): state is field 3,
  // utime 14, stime 15.
  const char *rest = std::strrchr (stat, ')');
  if (rest == nullptr)
    return sample;
  g_auto (GStrv) fields = g_strsplit (rest + 2, " ", 16);
  if (g_strv_length (fields) < 14)
    return sample;
  sample.cpu_ticks = g_ascii_strtoull (fields[11], nullptr, 10)
      + g_ascii_strtoull (fields[12], nullptr, 10);
  if (const char *rss = std::strstr (status, "VmRSS:"))
    sample.rss_kb = g_ascii_strtoull (rss + 6, nullptr, 10);
  sample.valid = true;
  return sample;
}

void
DaemonUsage::begin (int daemon_pid)
{
  pid = daemon_pid;
  before = sample_process (pid);
  peak_rss_kb = before.rss_kb;
}

void
DaemonUsage::sample_rss (gint64 now_us)
{
  if (pid <= 0 || now_us < next_sample_us)
    return;
  next_sample_us = now_us + 250 * 1000;
  peak_rss_kb = std::max (peak_rss_kb, sample_process (pid).rss_kb);
}

void
DaemonUsage::end ()
{
  after = sample_process (pid);
  peak_rss_kb = std::max (peak_rss_kb, after.rss_kb);
}

DaemonFigures
daemon_figures (const DaemonUsage &u, uint64_t frames_sent, size_t calls)
{
  DaemonFigures f;
  const double us_per_tick = 1e6 / static_cast<double> (sysconf (_SC_CLK_TCK));
  if (u.steady_start.valid && u.steady_end.valid && u.frames_in_steady > 0)
    f.cpu_us_per_frame = static_cast<double> (u.steady_end.cpu_ticks
            - u.steady_start.cpu_ticks) * us_per_tick
        / static_cast<double> (u.frames_in_steady);
  if (u.before.valid && u.after.valid && frames_sent > 0)
    f.cpu_us_per_frame_run = static_cast<double> (u.after.cpu_ticks - u.before.cpu_ticks)
        * us_per_tick / static_cast<double> (frames_sent);
  if (u.before.valid && u.peak_rss_kb > 0)
    f.rss_kb_per_call = (static_cast<double> (u.peak_rss_kb)
            - static_cast<double> (u.before.rss_kb)) / static_cast<double> (calls);
  return f;
}

void
print_daemon_rows (const DaemonUsage &u, const DaemonFigures &f, int label_width)
{
  if (u.pid <= 0)
    return;
  std::printf ("  %-*s %.2f (whole run %.2f)\n", label_width, "daemon CPU us/frame",
      f.cpu_us_per_frame, f.cpu_us_per_frame_run);
  std::printf ("  %-*s before %" PRIu64 "  peak %" PRIu64 "  after %" PRIu64 "\n",
      label_width, "daemon RSS (kB)", u.before.rss_kb, u.peak_rss_kb, u.after.rss_kb);
  std::printf ("  %-*s %.1f\n", label_width, "daemon RSS per call (kB)", f.rss_kb_per_call);
}

FrameAudio::FrameAudio (size_t frame_bytes) : frame_bytes_ (frame_bytes)
{
  const size_t body_bytes = frame_bytes - kHeaderBytes;
  bodies_.resize (kBodies * body_bytes);
  for (uint32_t k = 0; k < kBodies; k++) {
    uint8_t *out = bodies_.data () + k * body_bytes;
    // Eight bytes a step of a 64-bit xorshift seeded from the body's number.
    uint64_t x = (uint64_t{ k + 1 } * 0x9e3779b97f4a7c15ull) ^ 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < body_bytes; i += sizeof x) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy (out + i, &x, std::min (sizeof x, body_bytes - i));
    }
    g_autofree gchar *text = g_base64_encode (out, body_bytes);
    bodies_base64_.emplace_back (text);
  }
}

void
FrameAudio::header (uint32_t call, uint32_t seq, uint8_t *out)
{
  for (int i = 0; i < 4; i++) {
    out[i] = static_cast<uint8_t> (call >> (8 * i));
    out[4 + i] = static_cast<uint8_t> (seq >> (8 * i));
  }
  out[8] = static_cast<uint8_t> ((call ^ seq) * 167u + (seq >> 8));
}

void
FrameAudio::header_base64 (uint32_t call, uint32_t seq, char *out) const
{
  uint8_t bytes[kHeaderBytes];
  header (call, seq, bytes);
  gint state = 0, save = 0;
  // Whole 3-byte groups: nothing is left for g_base64_encode_close.
  g_base64_encode_step (bytes, sizeof bytes, FALSE, out, &state, &save);
}

void
FrameAudio::fill (uint32_t call, uint32_t seq, uint8_t *out) const
{
  header (call, seq, out);
  std::memcpy (out + kHeaderBytes, body (call, seq), frame_bytes_ - kHeaderBytes);
}

bool
FrameAudio::matches (uint32_t call, uint32_t seq, const uint8_t *bytes, size_t size) const
{
  uint8_t expected[kHeaderBytes];
  header (call, seq, expected);
  return size == frame_bytes_ && std::memcmp (bytes, expected, kHeaderBytes) == 0
      && std::memcmp (bytes + kHeaderBytes, body (call, seq), size - kHeaderBytes) == 0;
}

bool
run_capped (GMainLoop *loop, guint tick_ms, GSourceFunc on_tick, gpointer data, int max_run_s)
{
  struct Cap {
    GMainLoop *loop;
    bool hit;
  } cap_state = { loop, false };
  const guint tick = g_timeout_add_full (G_PRIORITY_HIGH, tick_ms, on_tick, data, nullptr);
  const guint cap = g_timeout_add_seconds (static_cast<guint> (max_run_s),
      [] (gpointer data) -> gboolean {
        auto *cap = static_cast<Cap *> (data);
        cap->hit = true;
        g_main_loop_quit (cap->loop);
        return G_SOURCE_REMOVE;
      }, &cap_state);
  g_main_loop_run (loop);
  g_source_remove (tick);
  if (!cap_state.hit)
    g_source_remove (cap);
  return cap_state.hit;
}

bool
is_loopback_host (const char *host)
{
  return host != nullptr && (g_str_equal (host, "127.0.0.1") || g_str_equal (host, "::1")
      || g_str_equal (host, "[::1]") || g_ascii_strcasecmp (host, "localhost") == 0);
}

RedisReplyPtr
redis_command (redisContext *c, const std::vector<std::string> &args)
{
  std::vector<const char *> argv;
  std::vector<size_t> lengths;
  for (const std::string &arg : args) {
    argv.push_back (arg.data ());
    lengths.push_back (arg.size ());
  }
  return RedisReplyPtr (static_cast<redisReply *> (redisCommandArgv (c,
              static_cast<int> (args.size ()), argv.data (), lengths.data ())));
}

RedisContextPtr
redis_connect (const std::string &url, std::string *error)
{
  g_autoptr (GUri) uri = g_uri_parse (url.c_str (), G_URI_FLAGS_HAS_PASSWORD, nullptr);
  const timeval timeout = { 5, 0 };
  RedisContextPtr c (redisConnectWithTimeout (g_uri_get_host (uri),
          g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 6379, timeout));
  if (!c || c->err) {
    *error = std::string ("cannot connect to ") + url + ": " + (c ? c->errstr : "no memory");
    return nullptr;
  }
  redisSetTimeout (c.get (), timeout);
  std::vector<std::vector<std::string>> setup;
  if (const char *password = g_uri_get_password (uri)) {
    const char *user = g_uri_get_user (uri);
    if (user != nullptr && *user != '\0')
      setup.push_back ({ "AUTH", user, password });
    else
      setup.push_back ({ "AUTH", password });
  }
  const char *path = g_uri_get_path (uri);
  if (path != nullptr && path[0] == '/' && path[1] != '\0')
    setup.push_back ({ "SELECT", path + 1 });
  for (const auto &command : setup) {
    RedisReplyPtr reply = redis_command (c.get (), command);
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      *error = command[0] + " failed on " + url + ": " + (reply ? reply->str : c->errstr);
      return nullptr;
    }
  }
  return c;
}

std::string
next_stream_id (const char *id)
{
  const char *dash = std::strchr (id, '-');
  if (dash == nullptr)
    return std::string (id) + "-1";
  return std::string (id, dash - id) + "-"
      + std::to_string (g_ascii_strtoull (dash + 1, nullptr, 10) + 1);
}

JsonReport::JsonReport () : builder_ (json_builder_new ())
{
  json_builder_begin_object (builder_);
}

JsonReport::~JsonReport ()
{
  g_object_unref (builder_);
}

void
JsonReport::integer (const char *name, int64_t value)
{
  json_builder_set_member_name (builder_, name);
  json_builder_add_int_value (builder_, value);
}

void
JsonReport::real (const char *name, double value)
{
  json_builder_set_member_name (builder_, name);
  if (value < 0)
    json_builder_add_null_value (builder_);
  else
    json_builder_add_double_value (builder_, value);
}

void
JsonReport::string (const char *name, const char *value)
{
  json_builder_set_member_name (builder_, name);
  json_builder_add_string_value (builder_, value);
}

void
JsonReport::string_or_null (const char *name, const std::string &value)
{
  json_builder_set_member_name (builder_, name);
  if (value.empty ())
    json_builder_add_null_value (builder_);
  else
    json_builder_add_string_value (builder_, value.c_str ());
}

void
JsonReport::boolean (const char *name, bool value)
{
  json_builder_set_member_name (builder_, name);
  json_builder_add_boolean_value (builder_, value);
}

void
JsonReport::begin_object (const char *name)
{
  if (name != nullptr)
    json_builder_set_member_name (builder_, name);
  json_builder_begin_object (builder_);
}

void
JsonReport::end_object ()
{
  json_builder_end_object (builder_);
}

void
JsonReport::begin_array (const char *name)
{
  json_builder_set_member_name (builder_, name);
  json_builder_begin_array (builder_);
}

void
JsonReport::end_array ()
{
  json_builder_end_array (builder_);
}

void
JsonReport::latency (const Percentiles &p)
{
  integer ("frames", static_cast<int64_t> (p.count));
  const std::pair<const char *, int64_t> values[] = { { "p50", p.p50 }, { "p99", p.p99 },
    { "max", p.max } };
  for (const auto &[key, value] : values) {
    json_builder_set_member_name (builder_, key);
    if (p.count == 0)
      json_builder_add_null_value (builder_);
    else
      json_builder_add_int_value (builder_, value);
  }
}

void
JsonReport::daemon (const DaemonUsage &u, const DaemonFigures &f)
{
  if (u.pid <= 0)
    return;
  begin_object ("daemon");
  real ("cpu_us_per_frame", f.cpu_us_per_frame);
  real ("cpu_us_per_frame_whole_run", f.cpu_us_per_frame_run);
  integer ("rss_kb_before", static_cast<int64_t> (u.before.rss_kb));
  integer ("rss_kb_peak", static_cast<int64_t> (u.peak_rss_kb));
  integer ("rss_kb_after", static_cast<int64_t> (u.after.rss_kb));
  real ("rss_kb_per_call", f.rss_kb_per_call);
  end_object ();
}

void
JsonReport::print ()
{
  json_builder_end_object (builder_);
  g_autoptr (JsonNode) root = json_builder_get_root (builder_);
  g_autofree gchar *text = json_to_string (root, FALSE);
  std::printf ("%s\n", text);
}

}  // namespace callstream_load
