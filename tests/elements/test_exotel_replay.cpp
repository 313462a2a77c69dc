// End to end: a capture replayed through `exotelsrc ! chunkdumper`; the audio
// in the WAV files must be byte-identical to the payloads sent, at their rate.
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <sndfile.h>

#include <string>
#include <vector>

#include "callstream-events.h"
#include "test_support.h"

using test_support::list_dir;
using test_support::TempDir;

namespace {

struct Capture {
  std::string call_dir;      // the directory the files must land in
  int sample_rate = 0;
  int sndfile_subtype = 0;   // SF_FORMAT_PCM_16 or SF_FORMAT_ULAW
  std::vector<std::string> payloads;
};

// Reads what a capture sends, with json-glib and GLib's base64: independent
// of the element's own parser.
Capture
read_capture (const std::string &path)
{
  Capture capture;
  const std::string text = test_support::read_file (path);
  g_auto (GStrv) lines = g_strsplit (text.c_str (), "\n", -1);
  for (gchar **line = lines; *line != nullptr; line++) {
    if (**line == '\0')
      continue;
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_assert_true (json_parser_load_from_data (parser, *line, -1, nullptr));
    JsonObject *message = json_node_get_object (json_parser_get_root (parser));
    const std::string event = json_object_get_string_member (message, "event");
    if (event == "start") {
      JsonObject *start = json_object_get_object_member (message, "start");
      const char *call_sid = json_object_get_string_member_with_default (start,
          "call_sid", nullptr);
      const char *stream_sid = json_object_get_string_member_with_default (message,
          "stream_sid", json_object_get_string_member_with_default (message,
              "streamSid", ""));
      capture.call_dir = call_sid != nullptr ? call_sid : stream_sid;
      JsonObject *format = json_object_get_object_member (start, "media_format");
      JsonNode *rate = json_object_get_member (format, "sample_rate");
      capture.sample_rate = json_node_get_value_type (rate) == G_TYPE_STRING
          ? atoi (json_node_get_string (rate)) : json_node_get_int (rate);
      const std::string encoding = json_object_get_string_member (format, "encoding");
      capture.sndfile_subtype = encoding == "audio/x-mulaw" ? SF_FORMAT_ULAW : SF_FORMAT_PCM_16;
    } else if (event == "media") {
      JsonObject *media = json_object_get_object_member (message, "media");
      gsize size = 0;
      g_autofree guchar *audio = g_base64_decode (
          json_object_get_string_member (media, "payload"), &size);
      capture.payloads.emplace_back (reinterpret_cast<char *> (audio), size);
    }
  }
  return capture;
}

// The audio bytes of a WAV file, checking its header against @capture.
std::string
wav_audio (const std::string &path, const Capture &capture)
{
  SF_INFO info = {};
  SNDFILE *file = sf_open (path.c_str (), SFM_READ, &info);
  g_assert_nonnull (file);
  g_assert_cmpint (info.samplerate, ==, capture.sample_rate);
  g_assert_cmpint (info.channels, ==, 1);
  g_assert_cmpint (info.format, ==, SF_FORMAT_WAV | capture.sndfile_subtype);
  const sf_count_t bytes_per_sample = capture.sndfile_subtype == SF_FORMAT_ULAW ? 1 : 2;
  std::string audio (info.frames * bytes_per_sample, '\0');
  g_assert_cmpint (sf_read_raw (file, audio.data (), audio.size ()), ==, audio.size ());
  sf_close (file);
  return audio;
}

// Runs @description to EOS; fails the test on an error or after 60 s.
void
run_to_eos (const std::string &description)
{
  g_autoptr (GError) error = nullptr;
  g_autoptr (GstElement) pipeline = gst_parse_launch (description.c_str (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) message = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  g_assert_nonnull (message);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) err = nullptr;
    g_autofree gchar *debug = nullptr;
    gst_message_parse_error (message, &err, &debug);
    g_error ("pipeline error: %s (%s)", err->message, debug);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

void
check_replay (const std::string &capture_path, const std::string &extra = "")
{
  const Capture capture = read_capture (capture_path);
  g_assert_false (capture.payloads.empty ());
  TempDir out;
  run_to_eos ("exotelsrc location=\"" + capture_path + "\" pace=false " + extra
      + " ! chunkdumper location=\"" + out.path () + "\"");

  g_assert_true (list_dir (out.path ()) == std::vector<std::string> { capture.call_dir });
  const std::string call_dir = out / capture.call_dir;
  const auto files = list_dir (call_dir);
  g_assert_cmpuint (files.size (), ==, capture.payloads.size ());
  for (size_t i = 0; i < files.size (); i++) {
    g_autofree gchar *name = g_strdup_printf ("chunk-%06zu.wav", i + 1);
    g_assert_cmpstr (files[i].c_str (), ==, name);
    g_assert_true (wav_audio (call_dir + "/" + files[i], capture) == capture.payloads[i]);
  }
}

std::string
samples_dir ()
{
  const char *dir = g_getenv ("CALLSTREAM_SAMPLES_DIR");
  g_assert_nonnull (dir);
  return dir;
}

// A capture in u-law at 16 kHz, with only a stream_sid and numbers as numbers.
std::string
write_mulaw_capture (const TempDir &dir)
{
  std::string text = "{\"event\":\"connected\"}\n"
      "{\"event\":\"start\",\"sequence_number\":1,\"streamSid\":\"MZmulaw16\","
      "\"start\":{\"media_format\":{\"encoding\":\"audio/x-mulaw\","
      "\"sample_rate\":16000,\"bit_rate\":\"128\"}}}\n";
  for (int i = 0; i < 7; i++) {
    std::string audio (1600 + i * 160, '\0');
    for (size_t j = 0; j < audio.size (); j++)
      audio[j] = static_cast<char> ((j * 31 + i * 17) & 0xff);
    g_autofree gchar *b64 = g_base64_encode (
        reinterpret_cast<const guchar *> (audio.data ()), audio.size ());
    text += "{\"event\":\"media\",\"sequence_number\":" + std::to_string (i + 2)
        + ",\"streamSid\":\"MZmulaw16\",\"media\":{\"chunk\":" + std::to_string (i + 1)
        + ",\"timestamp\":" + std::to_string (i * 100) + ",\"payload\":\"" + b64 + "\"}}\n";
  }
  text += "{\"event\":\"stop\",\"stop\":{\"reason\":\"stopped\"}}\n";
  const std::string path = dir / "mulaw16.jsonl";
  g_assert_true (g_file_set_contents (path.c_str (), text.data (), text.size (), nullptr));
  return path;
}

}  // namespace

static void
test_sample_call_byte_identical ()
{
  check_replay (samples_dir () + "/exotel-call.jsonl");
}

static void
test_mulaw_16k_byte_identical ()
{
  TempDir dir;
  check_replay (write_mulaw_capture (dir));
}

// Ten 100 ms chunks of call CApace.
std::string
write_one_second_capture (const TempDir &dir)
{
  std::string text = "{\"event\":\"start\",\"start\":{\"call_sid\":\"CApace\","
      "\"media_format\":{\"encoding\":\"raw\",\"sample_rate\":8000}}}\n";
  const std::string b64 = test_support::base64_of (std::string (1600, '\0'));
  for (int i = 0; i < 10; i++)
    text += "{\"event\":\"media\",\"media\":{\"payload\":\"" + b64 + "\"}}\n";
  const std::string capture = dir / "paced.jsonl";
  g_assert_true (g_file_set_contents (capture.c_str (), text.data (), text.size (), nullptr));
  return capture;
}

static void
test_replay_is_paced ()
{
  // Real-time replay of a second of audio takes about a second.
  TempDir dir;
  const std::string capture = write_one_second_capture (dir);

  const gint64 started = g_get_monotonic_time ();
  run_to_eos ("exotelsrc location=\"" + capture + "\" ! chunkdumper location=\""
      + dir.path () + "/out\"");
  // The last chunk is due at 900 ms of running time.
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 850 * 1000);
  g_assert_cmpuint (list_dir (dir / "out/CApace").size (), ==, 10);
}

static void
test_pause_holds_the_replay ()
{
  TempDir dir;
  const std::string capture = write_one_second_capture (dir);
  const std::string description = "exotelsrc location=\"" + capture
      + "\" ! chunkdumper location=\"" + dir.path () + "/out\"";
  g_autoptr (GstElement) pipeline = gst_parse_launch (description.c_str (), nullptr);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  const gint64 started = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_usleep (300 * 1000);
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  // A chunk pushed just before the pause may still be on its way to disk
  // (chunkdumper writes on the shared write pool): let it land first.
  g_usleep (150 * 1000);
  const size_t written_at_pause = list_dir (dir / "out/CApace").size ();
  g_usleep (450 * 1000);
  // Nothing comes out while paused.
  g_assert_cmpuint (list_dir (dir / "out/CApace").size (), ==, written_at_pause);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_autoptr (GstMessage) eos = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  g_assert_nonnull (eos);
  g_assert_cmpint (GST_MESSAGE_TYPE (eos), ==, GST_MESSAGE_EOS);
  // 900 ms of running time plus the 600 ms pause.
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 1400 * 1000);
  g_assert_cmpuint (list_dir (dir / "out/CApace").size (), ==, 10);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static void
test_tee_without_queues_into_every_sink ()
{
  // Live call pipelines tee into several sinks on the pushing thread, with
  // no queue: the sinks do not preroll (async=FALSE), so none waits for the
  // others. With async sinks this pipeline never reaches PLAYING.
  TempDir dir;
  const std::string capture = write_one_second_capture (dir);
  for (const char *sink : { "chunkdumper", "redisstreamsink", "twiliosink", "exotelsink" }) {
    g_autoptr (GstElement) element = gst_element_factory_make (sink, nullptr);
    gboolean async = TRUE;
    g_object_get (element, "async", &async, nullptr);
    g_assert_false (async);
  }
  run_to_eos ("exotelsrc location=\"" + capture + "\" pace=false ! tee name=t "
      "t. ! chunkdumper location=\"" + dir.path () + "/a\" "
      "t. ! chunkdumper location=\"" + dir.path () + "/b\"");
  g_assert_cmpuint (list_dir (dir / "a/CApace").size (), ==, 10);
  g_assert_cmpuint (list_dir (dir / "b/CApace").size (), ==, 10);
}

static void
test_every_file_written_is_announced ()
{
  // chunkdumper posts "callstream-file-written" (call-id, path) per file, so
  // an application can log or index the dumps; each is on disk by then.
  TempDir dir;
  const std::string capture = write_one_second_capture (dir);
  const std::string description = "exotelsrc location=\"" + capture
      + "\" pace=false ! chunkdumper location=\"" + dir.path () + "/out\"";
  g_autoptr (GstElement) pipeline = gst_parse_launch (description.c_str (), nullptr);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  std::vector<std::string> paths;
  for (;;) {
    g_autoptr (GstMessage) message = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
        GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    g_assert_nonnull (message);
    g_assert_cmpint (GST_MESSAGE_TYPE (message), !=, GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS)
      break;
    const GstStructure *s = gst_message_get_structure (message);
    if (!gst_structure_has_name (s, CALLSTREAM_FILE_WRITTEN_MESSAGE_NAME))
      continue;
    g_assert_cmpstr (gst_structure_get_string (s, "call-id"), ==, "CApace");
    paths.emplace_back (gst_structure_get_string (s, "path"));
    g_assert_true (g_file_test (paths.back ().c_str (), G_FILE_TEST_IS_REGULAR));
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_assert_cmpuint (paths.size (), ==, 10);
  g_assert_true (g_str_has_suffix (paths.front ().c_str (), "/CApace/chunk-000001.wav"));
}

static void
test_gst_launch_runs_the_pipeline ()
{
  // A media engineer's command line, exactly: gst-launch-1.0 from the PATH.
#ifdef CALLSTREAM_TEST_ASAN
  // Debian's gst-launch-1.0 is not built with ASan, and an ASan plugin only
  // loads into a program that starts with the ASan runtime.
  g_test_skip ("gst-launch-1.0 cannot load an AddressSanitizer build of the plugin");
  return;
#endif
  TempDir out;
  const std::string capture = samples_dir () + "/exotel-call.jsonl";
  const std::string location = "location=" + out.path ();
  const std::string capture_arg = "location=" + capture;
  const char *argv[] = { "gst-launch-1.0", "-q", "exotelsrc", capture_arg.c_str (),
    "pace=false", "!", "chunkdumper", location.c_str (), "format=flac", nullptr };
  gint status = -1;
  g_autoptr (GError) error = nullptr;
  g_autofree gchar *stdout_text = nullptr, *stderr_text = nullptr;
  g_assert_true (g_spawn_sync (nullptr, const_cast<gchar **> (argv), nullptr,
          G_SPAWN_SEARCH_PATH, nullptr, nullptr, &stdout_text, &stderr_text, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, nullptr))
    g_error ("gst-launch-1.0 failed: %s", stderr_text);
  const Capture expected = read_capture (capture);
  const auto files = list_dir (out / expected.call_dir);
  g_assert_cmpuint (files.size (), ==, expected.payloads.size ());
  g_assert_cmpstr (files.front ().c_str (), ==, "chunk-000001.flac");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/exotel-replay/sample-call/byte-identical", test_sample_call_byte_identical);
  g_test_add_func ("/exotel-replay/mulaw-16k/byte-identical", test_mulaw_16k_byte_identical);
  g_test_add_func ("/exotel-replay/paced-in-real-time", test_replay_is_paced);
  g_test_add_func ("/exotel-replay/pause-holds-the-replay", test_pause_holds_the_replay);
  g_test_add_func ("/exotel-replay/gst-launch", test_gst_launch_runs_the_pipeline);
  g_test_add_func ("/exotel-replay/every-file-written-is-announced",
      test_every_file_written_is_announced);
  g_test_add_func ("/exotel-replay/tee-without-queues-into-every-sink",
      test_tee_without_queues_into_every_sink);
  return g_test_run ();
}
