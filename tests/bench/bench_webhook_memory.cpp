// Prints how much the daemon's peak memory grows while it handles one large
// ElevenLabs post_call_audio webhook (issue 9: a 20 MB webhook with growth
// under 3 times its size). The real callstreamd and a real redis-server; the
// daemon's VmHWM (peak RSS) from /proc before and after, for the audio
// arriving after its transcription (written to disk at once) and before it
// (cached in Redis until the transcription comes). Figures, not pass/fail:
//   meson test -C build --benchmark webhook-memory --verbose
#include <gst/gst.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "daemon_support.h"
#include "post_call_support.h"
#include "redis_server.h"

using namespace post_call_support;
using test_support::pump_until;
using test_support::RedisServer;
using test_support::TempDir;

namespace {

// A field of /proc/<pid>/status in kB (VmRSS, VmHWM).
long
status_kb (int pid, const std::string &field)
{
  std::ifstream status ("/proc/" + std::to_string (pid) + "/status");
  std::string line;
  while (std::getline (status, line))
    if (line.rfind (field + ":", 0) == 0)
      return std::stol (line.substr (field.size () + 1));
  return -1;
}

void
measure (const char *order, size_t audio_bytes, bool transcription_first)
{
  RedisServer redis;
  TempDir data;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "ELEVENLABS_WEBHOOK_SECRET", kSecret },
      { "WEBHOOK_DATA_DIR", data.path () }, { "MAX_WEBHOOK_BYTES", "104857600" } });
  if (!daemon.wait_listening ())
    g_error ("callstreamd did not start:\n%s", daemon.log ().c_str ());
  // Warm-up: one small webhook of each kind, so one-time allocations are in.
  const auto warm = conversation ("conv_warm");
  post_webhook (daemon, transcription_body (warm), sign (transcription_body (warm)));
  const std::string small = audio_body ("conv_warm", fake_mp3 (4096));
  post_webhook (daemon, small, sign (small));

  const auto c = conversation ("conv_big");
  const std::string body = audio_body ("conv_big", fake_mp3 (audio_bytes, 7));
  const std::string signature = sign (body);
  const std::string transcription = transcription_body (c);
  const int pid = daemon.pid ();
  const long rss_before = status_kb (pid, "VmRSS"), hwm_before = status_kb (pid, "VmHWM");
  if (transcription_first)
    post_webhook (daemon, transcription, sign (transcription));
  const unsigned status = post_webhook (daemon, body, signature).status;
  if (!transcription_first)
    post_webhook (daemon, transcription, sign (transcription));
  const std::string audio_path = data / "+16129782029/conv_big_audio.mp3";
  pump_until ([&] { return test_support::read_file (audio_path).size () == audio_bytes; }, 60);
  const long hwm_after = status_kb (pid, "VmHWM");
  const long peak_growth = hwm_after - std::max (rss_before, 0L);
  g_print ("%-22s audio %5.1f MB, body %5.1f MB (HTTP %u): RSS before %6.1f MB, peak %6.1f MB "
      "(peak before %6.1f MB); growth %6.1f MB = %.2f x the body, %.2f x the audio\n", order,
      audio_bytes / 1048576.0, body.size () / 1048576.0, status, rss_before / 1024.0,
      hwm_after / 1024.0, hwm_before / 1024.0, peak_growth / 1024.0,
      peak_growth * 1024.0 / body.size (), peak_growth * 1024.0 / audio_bytes);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  measure ("after transcription", 20u << 20, true);
  measure ("before transcription", 20u << 20, false);
  return 0;
}
