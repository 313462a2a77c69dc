// The ASR worker as a process (callstreamd asr-worker) against a real
// redis-server: speech generated here with espeak-ng + sox (slow, with word
// gaps: pocketsphinx on synthetic speech is rough), written to Redis by a
// real redisstreamsink; what the transcripts and assist streams then hold,
// the call's recording, and a knowledge-base error stopping the worker.
// No accuracy thresholds: the recogniser only has to hear some spoken word.
#include <gst/gst.h>

#include <algorithm>
#include <string>
#include <vector>

#include "daemon_support.h"
#include "knowledge_base.h"
#include "redis_server.h"

using namespace test_support;

namespace {

// Said twice: pocketsphinx in a long-running process reads the first
// utterance of a call differently in about one run of six (same audio, same
// utterance boundaries; gst-launch runs are always the same), so the test
// does not hang on one utterance being heard.
const char *const kSpeech = "My credit card was stolen. I need a refund. My credit card was stolen.";

// espeak-ng (120 words/min, 10 ms word gaps) then sox to `rate` Hz mono.
std::string
generate_speech (const TempDir &dir, const std::string &text, int rate)
{
  const std::string raw = dir / "espeak.wav", out = dir / ("speech-" + std::to_string (rate) + ".wav");
  run_program ({ "espeak-ng", "-v", "en-us", "-s", "120", "-g", "10", "-w", raw, text });
  run_program ({ "sox", raw, "-r", std::to_string (rate), "-c", "1", "-b", "16", out });
  return out;
}

// The file through a real redisstreamsink, as ingest writes a call (named by
// its stream id, which filesrc derives from the file's path).
void
stream_call (const std::string &wav, const std::string &redis_url, const std::string &stream,
    const std::string &index_stream = "")
{
  std::string line = "filesrc location=" + wav + " ! wavparse ! audioconvert ! "
      "audio/x-raw,format=S16LE,channels=1,rate=16000 ! redisstreamsink async=false "
      "redis-url=" + redis_url + " stream=" + stream;
  if (!index_stream.empty ())
    line += " index-stream=" + index_stream;
  g_autoptr (GError) error = nullptr;
  g_autoptr (GstElement) pipeline = gst_parse_launch (line.c_str (), &error);
  g_assert_no_error (error);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) done = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      static_cast<GstMessageType> (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  g_assert_nonnull (done);
  g_assert_cmpint (GST_MESSAGE_TYPE (done), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

std::map<std::string, std::string>
worker_env (const RedisServer &redis, const TempDir &dir)
{
  return { { "REDIS_URL", redis.url () }, { "ASSIST_RECORDINGS_DIR", dir / "recordings" },
    { "KNOWLEDGE_BASE", std::string (CALLSTREAM_SOURCE_ROOT) + "/kb/sample-kb.json" },
    { "ASR_GROUP", "asr" }, { "REDIS_STREAM", "audio_stream" } };
}

const StreamEntry *
find_event (const std::vector<StreamEntry> &entries, const std::string &event)
{
  for (const StreamEntry &entry : entries)
    if (entry.get ("event") == event)
      return &entry;
  return nullptr;
}

void
test_call_transcribed ()
{
  RedisServer redis;
  TempDir dir;
  const std::string wav = generate_speech (dir, kSpeech, 16000);
  Daemon worker (worker_env (redis, dir), { "asr-worker" });
  g_assert_true (pump_until ([&] { return worker.log_has ("asr_worker_started"); }, 30));
  stream_call (wav, redis.url (), "audio_stream");
  g_assert_true (pump_until ([&] {
        return find_event (redis.xrange ("assist"), "call_end") != nullptr; }, 120));

  const std::vector<StreamEntry> transcripts = redis.xrange ("transcripts");
  g_assert_cmpuint (transcripts.size (), >=, 2);
  const std::string call = transcripts[0].get ("interaction_id");
  long expected_seq = 1;
  bool heard_spoken_word = false;
  long last_end = 0;
  const std::vector<std::string> spoken = callstreamd::normalise_words (kSpeech);
  for (const StreamEntry &entry : transcripts) {
    g_assert_cmpuint (entry.fields.size (), ==, 7);
    for (const char *field : { "interaction_id", "seq", "text", "is_final", "start_ms",
             "end_ms", "confidence" })
      g_assert_true (entry.has (field));
    assert_text (entry.get ("interaction_id"), call);
    g_assert_cmpint (std::stol (entry.get ("seq")), ==, expected_seq++);
    const std::string is_final = entry.get ("is_final");
    g_assert_true (is_final == "true" || is_final == "false");
    const long start = std::stol (entry.get ("start_ms")), end = std::stol (entry.get ("end_ms"));
    g_assert_cmpint (start, <=, end);
    g_assert_cmpint (end, >=, last_end);
    last_end = end;
    const double confidence = g_ascii_strtod (entry.get ("confidence").c_str (), nullptr);
    g_assert_cmpfloat (confidence, >=, 0.0);
    g_assert_cmpfloat (confidence, <=, 1.0);
    if (is_final == "true")
      for (const std::string &word : callstreamd::normalise_words (entry.get ("text")))
        if (word.size () >= 4 && std::find (spoken.begin (), spoken.end (), word) != spoken.end ())
          heard_spoken_word = true;
  }
  g_assert_true (heard_spoken_word);

  const std::vector<StreamEntry> assist = redis.xrange ("assist");
  assert_text (assist.front ().get ("event"), "call_start");
  assert_text (assist.front ().get ("interaction_id"), call);
  g_assert_true (assist.front ().has ("started_at"));
  const StreamEntry *intent = find_event (assist, "intent");
  g_assert_nonnull (intent);
  g_assert_true (intent->get ("intent_id") == "lost-stolen-card"
      || intent->get ("intent_id") == "refund");
  const StreamEntry *article = find_event (assist, "article");
  g_assert_nonnull (article);
  assert_text (article->get ("intent_id"), intent->get ("intent_id"));
  g_assert_true (g_str_has_prefix (article->get ("url").c_str (), "https://"));
  const StreamEntry &end = assist.back ();
  assert_text (end.get ("event"), "call_end");
  assert_text (end.get ("reason"), "ended");
  const std::string recording = dir / ("recordings/" + end.get ("recording"));
  g_assert_false (end.get ("recording").empty ());
  g_assert_true (g_file_test (recording.c_str (), G_FILE_TEST_IS_REGULAR));
  g_assert_true (worker.log_has ("transcript_published"));
  g_assert_true (worker.log_has ("intent_detected"));
  g_assert_cmpint (worker.terminate (), ==, 0);
}

// Two workers on one index (per-call streams, REDIS_INDEX_STREAM): every call
// is taken by exactly one of them and transcribed once, whole.
void
test_two_workers_share_calls ()
{
  constexpr int kCalls = 6;
  RedisServer redis;
  TempDir dir;
  const std::string wav = generate_speech (dir, "I need a refund.", 16000);
  auto env = worker_env (redis, dir);
  env["REDIS_STREAM"] = "audio:{{call_sid}}";
  env["REDIS_INDEX_STREAM"] = "calls";
  env["ASR_CONSUMER"] = "worker-a";
  Daemon a (env, { "asr-worker" });
  env["ASR_CONSUMER"] = "worker-b";
  Daemon b (env, { "asr-worker" });
  g_assert_true (pump_until ([&] {
        return a.log_has ("asr_worker_started") && b.log_has ("asr_worker_started"); }, 30));
  for (int i = 0; i < kCalls; i++) {
    // A copy per call: filesrc's stream id, the call's id, comes from the path.
    const std::string copy = dir / ("call-" + std::to_string (i) + ".wav");
    g_assert_true (g_file_test (wav.c_str (), G_FILE_TEST_EXISTS));
    gchar *bytes = nullptr;
    gsize size = 0;
    g_assert_true (g_file_get_contents (wav.c_str (), &bytes, &size, nullptr));
    g_assert_true (g_file_set_contents (copy.c_str (), bytes, size, nullptr));
    g_free (bytes);
    stream_call (copy, redis.url (), "audio:{{call_sid}}", "calls");
  }
  auto call_ends = [&] {
    std::vector<std::string> calls;
    for (const StreamEntry &entry : redis.xrange ("assist"))
      if (entry.get ("event") == "call_end")
        calls.push_back (entry.get ("interaction_id"));
    return calls;
  };
  g_assert_true (pump_until ([&] { return call_ends ().size () >= kCalls; }, 180));
  std::vector<std::string> ended = call_ends ();
  g_assert_cmpuint (ended.size (), ==, kCalls);
  std::sort (ended.begin (), ended.end ());
  g_assert_true (std::adjacent_find (ended.begin (), ended.end ()) == ended.end ());
  size_t on_a = 0, on_b = 0;
  for (const std::string &call : ended) {
    const size_t in_a = a.log_count ("asr_call_started call=" + call);
    const size_t in_b = b.log_count ("asr_call_started call=" + call);
    g_assert_cmpuint (in_a + in_b, ==, 1);
    on_a += in_a;
    on_b += in_b;
    // Its transcript: one worker's, seq 1, 2, 3, ... with no repeat.
    long expected_seq = 1;
    for (const StreamEntry &entry : redis.xrange ("transcripts"))
      if (entry.get ("interaction_id") == call)
        g_assert_cmpint (std::stol (entry.get ("seq")), ==, expected_seq++);
    g_assert_cmpint (expected_seq, >, 1);
  }
  g_test_message ("calls on worker-a: %zu, on worker-b: %zu", on_a, on_b);
  // Every index entry has gone through the group: none left pending. The
  // worker's redisstreamsrc acknowledges an index entry (XACK) after its push
  // returns, which is where the call_end is published: the last
  // acknowledgement may still be on its way.
  auto pending = [&] {
    return redis.command ({ "XPENDING", "calls", "asr" })->element[0]->integer;
  };
  pump_until ([&] { return pending () == 0; }, 10);
  g_assert_cmpint (pending (), ==, 0);
  g_assert_cmpint (a.terminate (), ==, 0);
  g_assert_cmpint (b.terminate (), ==, 0);
}

void
test_bad_knowledge_base ()
{
  RedisServer redis;
  TempDir dir;
  const std::string kb = dir / "kb.json";
  g_assert_true (g_file_set_contents (kb.c_str (),
      R"({"intents":[{"id":"refund","name":"Refund"}],"articles":[]})", -1, nullptr));
  auto env = worker_env (redis, dir);
  env["KNOWLEDGE_BASE"] = kb;
  Daemon worker (env, { "asr-worker" });
  g_assert_cmpint (worker.wait_exit (), ==, 2);
  g_assert_true (worker.log_has (kb + ": intents[0]: needs examples or keywords"));
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  print_daemon_log_on_abort ();
  g_test_add_func ("/asr-worker/call-transcribed-intent-article-recording", test_call_transcribed);
  g_test_add_func ("/asr-worker/two-workers-share-calls", test_two_workers_share_calls);
  g_test_add_func ("/asr-worker/bad-knowledge-base-stops-worker", test_bad_knowledge_base);
  return g_test_run ();
}
