// The /assist page in a real browser: starts redis-server and callstreamd,
// runs `node tests/browser/assist.mjs <page URL>` (playwright-core driving
// Debian's headless chromium), passes its TAP output through, and writes
// each stage's entries when the script prints "# await <stage>".
//
// The entries come from one function, scripted_call (): the stream entries
// the ASR worker would write. With --speech the page is driven by a real call
// instead (assist-speech.mjs): espeak-ng speech played as an Exotel call into
// the daemon's /v1/ingest by callstream-replay, through redisstreamsink, the
// daemon's own ASR worker (redisstreamsrc ! ... ! pocketsphinx), and the
// transcripts and assist streams to the page.
#include <gio/gio.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "assist_support.h"
#include "daemon_support.h"
#include "redis_server.h"

using test_support::AssistWriter;
using test_support::Daemon;
using test_support::pump_until;
using test_support::RedisServer;
using test_support::TempDir;

namespace {

// Called with each stage the page waits for: call, final, article, end.
using EntrySource = std::function<void (const std::string &stage)>;

struct Setup {
  const RedisServer &redis;
  std::string recordings_dir;
};

// One second of a 440 Hz tone, 8 kHz mono PCM16, as a WAV file.
std::string
tone_wav ()
{
  const uint32_t rate = 8000, samples = 8000, data_bytes = samples * 2;
  std::string wav;
  auto u32 = [&wav] (uint32_t v) { for (int i = 0; i < 4; i++) wav.push_back (char ((v >> (8 * i)) & 0xff)); };
  auto u16 = [&wav] (uint16_t v) { wav.push_back (char (v & 0xff)); wav.push_back (char (v >> 8)); };
  wav += "RIFF"; u32 (36 + data_bytes); wav += "WAVEfmt "; u32 (16); u16 (1); u16 (1);
  u32 (rate); u32 (rate * 2); u16 (2); u16 (16); wav += "data"; u32 (data_bytes);
  for (uint32_t i = 0; i < samples; i++)
    u16 (static_cast<uint16_t> (static_cast<int16_t> (8000 * std::sin (2 * M_PI * 440 * i / rate))));
  return wav;
}

// What the ASR worker would write for a short call about a bill.
EntrySource
scripted_call (const Setup &setup)
{
  return [&setup] (const std::string &stage) {
    AssistWriter w { setup.redis };
    if (stage == "call") {
      w.call_start ("CAB1", "+15550001", "+15550002");
      w.transcript ("CAB1", 1, "hello i", false, 0, 600);
    } else if (stage == "final") {
      w.transcript ("CAB1", 2, "hello i have a question about my bill", true, 0, 2400);
      w.transcript ("CAB1", 3, "my last", false, 2600, 3100);
    } else if (stage == "article") {
      w.intent ("CAB1", "billing", "Billing question", 2, "hello i have a question about my bill");
      w.article ("CAB1", "kb-bill", "Understanding your bill",
          "https://kb.example.com/billing/understanding-your-bill",
          "What each line of the monthly bill means.", "billing");
    } else if (stage == "end") {
      const std::string wav = tone_wav ();
      g_assert_true (g_file_set_contents ((setup.recordings_dir + "/CAB1.wav").c_str (),
          wav.data (), wav.size (), nullptr));
      w.call_end ("CAB1", "CAB1.wav");
    }
  };
}

// An Exotel call (JSON lines, as samples/exotel-call.jsonl) carrying @text
// spoken by espeak-ng (slow, with word gaps: pocketsphinx on synthetic speech
// is rough), 16 kHz PCM16 in 100 ms chunks, with 2 s of silence after it so
// the recogniser closes its last utterance while the call is still on.
std::string
spoken_exotel_call (const TempDir &dir, const std::string &call_sid, const std::string &text)
{
  const std::string wav = dir / "speech.wav", raw = dir / "speech.raw";
  test_support::run_program ({ "espeak-ng", "-v", "en-us", "-s", "120", "-g", "10", "-w", wav,
      text });
  test_support::run_program ({ "sox", wav, "-r", "16000", "-c", "1", "-b", "16", "-e",
      "signed-integer", "-t", "raw", raw, "pad", "0", "2" });
  gchar *audio = nullptr;
  gsize size = 0;
  g_assert_true (g_file_get_contents (raw.c_str (), &audio, &size, nullptr));
  const std::string sid = "MZ" + call_sid;
  std::string lines = "{\"event\":\"connected\"}\n"
      "{\"event\":\"start\",\"sequence_number\":\"1\",\"stream_sid\":\"" + sid + "\","
      "\"start\":{\"stream_sid\":\"" + sid + "\",\"call_sid\":\"" + call_sid + "\","
      "\"account_sid\":\"browser-test\",\"from\":\"+15550101\",\"to\":\"+15550102\","
      "\"media_format\":{\"encoding\":\"raw\",\"sample_rate\":\"16000\"}}}\n";
  constexpr gsize kChunk = 3200;  // 100 ms
  int sequence = 1, chunk = 0;
  for (gsize at = 0; at < size; at += kChunk, chunk++) {
    g_autofree gchar *payload = g_base64_encode (reinterpret_cast<const guchar *> (audio + at),
        std::min (kChunk, size - at));
    lines += "{\"event\":\"media\",\"sequence_number\":\"" + std::to_string (++sequence)
        + "\",\"stream_sid\":\"" + sid + "\",\"media\":{\"chunk\":\"" + std::to_string (chunk + 1)
        + "\",\"timestamp\":\"" + std::to_string (chunk * 100) + "\",\"payload\":\"" + payload
        + "\"}}\n";
  }
  g_free (audio);
  lines += "{\"event\":\"stop\",\"sequence_number\":\"" + std::to_string (++sequence)
      + "\",\"stream_sid\":\"" + sid + "\",\"stop\":{\"call_sid\":\"" + call_sid
      + "\",\"reason\":\"callended\"}}\n";
  const std::string path = dir / "call.jsonl";
  g_assert_true (g_file_set_contents (path.c_str (), lines.c_str (), lines.size (), nullptr));
  return path;
}

// On "call": the spoken call is played into the daemon at the provider's
// pace, by callstream-replay running alongside (its process is kept in
// @replay and waited for at the end).
EntrySource
spoken_call (const TempDir &dir, const std::string &ingest_url, const std::string &call_sid,
    GSubprocess **replay)
{
  return [&dir, ingest_url, call_sid, replay] (const std::string &stage) {
    if (stage != "call")
      return;
    const std::string calls = spoken_exotel_call (dir, call_sid,
        // Twice: see kSpeech in tests/daemon/test_asr_worker.cpp.
        "My credit card was stolen. I need a refund. My credit card was stolen.");
    g_autoptr (GError) error = nullptr;
    *replay = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, CALLSTREAM_REPLAY_PATH,
        "--interval-ms", "100", ingest_url.c_str (), calls.c_str (), nullptr);
    g_assert_no_error (error);
  };
}

// Reads lines on the default main context until the end of the stream.
struct LineReader {
  GDataInputStream *lines;
  std::function<void (const char *line)> on_line;
  bool done = false;

  void read_next ()
  {
    g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, nullptr,
        [] (GObject *source, GAsyncResult *result, gpointer data) {
          auto *self = static_cast<LineReader *> (data);
          g_autofree gchar *line = g_data_input_stream_read_line_finish (
              G_DATA_INPUT_STREAM (source), result, nullptr, nullptr);
          if (line == nullptr) {
            self->done = true;
            return;
          }
          self->on_line (line);
          self->read_next ();
        }, this);
  }
};

int
run_browser_test (const std::vector<std::string> &script_args, const EntrySource &source)
{
  const std::string dir = CALLSTREAM_BROWSER_TESTS_DIR;
  if (!g_file_test ((dir + "/node_modules/playwright-core").c_str (), G_FILE_TEST_IS_DIR)) {
    printf ("Bail out! playwright-core is not installed: run scripts/install-deps "
        "(npm ci in tests/browser)\n");
    return 1;
  }
  g_autoptr (GError) error = nullptr;
  std::vector<const gchar *> argv { "node" };
  const std::string script = dir + "/" + script_args[0];
  argv.push_back (script.c_str ());
  for (size_t i = 1; i < script_args.size (); i++)
    argv.push_back (script_args[i].c_str ());
  argv.push_back (nullptr);
  g_autoptr (GSubprocess) node = g_subprocess_newv (argv.data (),
      G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (node == nullptr) {
    printf ("Bail out! cannot run node: %s\n", error->message);
    return 1;
  }
  g_autoptr (GDataInputStream) lines = g_data_input_stream_new (
      g_subprocess_get_stdout_pipe (node));
  // Each line: printed as it comes, and a stage's entries written on "# await".
  LineReader reader { lines, [&source] (const char *line) {
        printf ("%s\n", line);
        fflush (stdout);
        if (g_str_has_prefix (line, "# await "))
          source (line + strlen ("# await "));
      } };
  reader.read_next ();
  bool &done = reader.done;
  if (!pump_until ([&] { return done; }, 240)) {
    printf ("Bail out! the browser test did not finish within 240 s\n");
    g_subprocess_force_exit (node);  // our own child
    return 1;
  }
  g_subprocess_wait (node, nullptr, nullptr);
  return g_subprocess_get_if_exited (node) ? g_subprocess_get_exit_status (node) : 1;
}

}  // namespace

int
main (int argc, char **argv)
{
  const bool speech = argc > 1 && g_str_equal (argv[1], "--speech");
  RedisServer redis;
  TempDir recordings, work;
  const std::string token = "browser-test-token";
  std::map<std::string, std::string> env { { "REDIS_URL", redis.url () },
    { "ASSIST_RECORDINGS_DIR", recordings.path () }, { "API_TOKEN", token } };
  if (speech) {
    env["SUPPORT_EXOTEL"] = "true";
    env["ASR_WORKER_ENABLED"] = "true";
    env["KNOWLEDGE_BASE"] = std::string (CALLSTREAM_SOURCE_ROOT) + "/kb/sample-kb.json";
  }
  Daemon daemon (env);
  if (!daemon.wait_listening ()) {
    printf ("Bail out! callstreamd did not start\n%s", daemon.log ().c_str ());
    return 1;
  }
  const std::string page = daemon.http ("/assist?token=" + token);
  int status = 1;
  if (speech) {
    GSubprocess *replay = nullptr;
    const std::string call_sid = "CASPEECH1";
    status = run_browser_test ({ "assist-speech.mjs", page, call_sid },
        spoken_call (work, daemon.ws ("/v1/ingest"), call_sid, &replay));
    if (replay != nullptr) {
      g_subprocess_wait (replay, nullptr, nullptr);
      g_object_unref (replay);
    }
  } else {
    Setup setup { redis, recordings.path () };
    status = run_browser_test ({ "assist.mjs", page }, scripted_call (setup));
  }
  if (status != 0)
    fprintf (stderr, "--- callstreamd log ---\n%s", daemon.log ().c_str ());
  return status;
}
