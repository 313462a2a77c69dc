// The /assist page in a real browser: starts redis-server and callstreamd,
// runs `node tests/browser/assist.mjs <page URL>` (playwright-core driving
// Debian's headless chromium), passes its TAP output through, and writes
// each stage's entries when the script prints "# await <stage>".
//
// The entries come from one function, scripted_call (): the stream entries
// the ASR worker would write. To drive the page from a real call instead
// (speech through the worker), give run_browser_test () another EntrySource.
#include <gio/gio.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

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
run_browser_test (const std::string &page_url, const EntrySource &source)
{
  const std::string dir = CALLSTREAM_BROWSER_TESTS_DIR;
  if (!g_file_test ((dir + "/node_modules/playwright-core").c_str (), G_FILE_TEST_IS_DIR)) {
    printf ("Bail out! playwright-core is not installed: run scripts/install-deps "
        "(npm ci in tests/browser)\n");
    return 1;
  }
  g_autoptr (GError) error = nullptr;
  const std::string script = dir + "/assist.mjs";
  g_autoptr (GSubprocess) node = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
      "node", script.c_str (), page_url.c_str (), nullptr);
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
main ()
{
  RedisServer redis;
  TempDir recordings;
  const std::string token = "browser-test-token";
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "ASSIST_RECORDINGS_DIR", recordings.path () },
        { "API_TOKEN", token } });
  if (!daemon.wait_listening ()) {
    printf ("Bail out! callstreamd did not start\n%s", daemon.log ().c_str ());
    return 1;
  }
  Setup setup { redis, recordings.path () };
  const int status = run_browser_test (daemon.http ("/assist?token=" + token),
      scripted_call (setup));
  if (status != 0)
    fprintf (stderr, "--- callstreamd log ---\n%s", daemon.log ().c_str ());
  return status;
}
