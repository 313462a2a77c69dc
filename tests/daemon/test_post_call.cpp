// ElevenLabs post-call webhooks, call records and recordings, against the
// real callstreamd with a real redis-server and a fake ElevenLabs API.
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include <string>

#include "daemon_support.h"
#include "post_call_support.h"
#include "fake_elevenlabs_api.h"
#include "redis_server.h"
#include "ws_client.h"

using test_support::Daemon;
using test_support::http_request;
using test_support::HttpReply;
using test_support::pump_until;
using test_support::RedisServer;
using test_support::TempDir;

namespace {

using namespace post_call_support;

JsonObject *
object_of (const std::string &text, JsonParser *parser)
{
  g_assert_true (json_parser_load_from_data (parser, text.c_str (), -1, nullptr));
  return json_node_get_object (json_parser_get_root (parser));
}

struct Setup {
  RedisServer redis;
  TempDir data;
  std::map<std::string, std::string> env (std::map<std::string, std::string> more = {}) const
  {
    std::map<std::string, std::string> env = { { "REDIS_URL", redis.url () },
      { "ELEVENLABS_WEBHOOK_SECRET", kSecret }, { "WEBHOOK_DATA_DIR", data.path () } };
    for (auto &[k, v] : more)
      env[k] = v;
    return env;
  }
};

/* ------------------------------------------------------------------ */

void
test_transcription_then_audio ()
{
  Setup s;
  Daemon daemon (s.env ());
  g_assert_true (daemon.wait_listening ());
  const auto c = conversation ("conv_order1");
  g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
      .status, ==, 200);
  const std::string dir = s.data / "+16129782029";
  g_assert_true (pump_until ([&] {
        return g_file_test ((dir + "/conv_order1_transcription.json").c_str (),
            G_FILE_TEST_EXISTS);
      }));
  const std::string mp3 = fake_mp3 (5000);
  const std::string body = audio_body ("conv_order1", mp3);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body)).status, ==, 200);
  const std::string audio_path = dir + "/conv_order1_audio.mp3";
  g_assert_true (pump_until ([&] { return g_file_test (audio_path.c_str (), G_FILE_TEST_EXISTS); }));
  g_assert_true (test_support::read_file (audio_path) == mp3);
  // The records carry a recording URL that serves the file.
  HttpReply record;
  g_assert_true (pump_until ([&] {
        record = http_request ("GET", daemon.http ("/conversations/conv_order1"));
        return record.body.find ("recordings/conv_order1.mp3") != std::string::npos;
      }));
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = object_of (record.body, parser);
  const std::string url = json_object_get_string_member (o, "recording_url");
  auto full = http_request ("GET", url);
  g_assert_cmpuint (full.status, ==, 200);
  g_assert_true (full.body == mp3);
  g_assert_true (full.headers["content-type"].find ("audio/mpeg") == 0);
  auto first = http_request ("GET", url, "", "", { { "Range", "bytes=0-99" } });
  g_assert_cmpuint (first.status, ==, 206);
  g_assert_true (first.body == mp3.substr (0, 100));
  g_assert_cmpstr (first.headers["content-range"].c_str (), ==, "bytes 0-99/5000");
  const auto open_range = http_request ("GET", url, "", "", { { "Range", "bytes=4900-" } });
  g_assert_cmpuint (open_range.status, ==, 206);
  g_assert_true (open_range.body == mp3.substr (4900));
  auto past = http_request ("GET", url, "", "", { { "Range", "bytes=6000-" } });
  g_assert_cmpuint (past.status, ==, 416);
  g_assert_cmpstr (past.headers["content-range"].c_str (), ==, "bytes */5000");
  // The call record, newest first in /calls.
  const auto calls = http_request ("GET", daemon.http ("/calls"));
  g_assert_cmpuint (calls.status, ==, 200);
  g_assert_true (calls.body.find ("conv_order1") != std::string::npos);
  // The page that lists them with an audio player.
  const auto page = http_request ("GET", daemon.http ("/"));
  g_assert_cmpuint (page.status, ==, 200);
  g_assert_true (page.body.find ("<audio") != std::string::npos
      || page.body.find ("createElement('audio')") != std::string::npos);
  g_assert_cmpuint (http_request ("GET", daemon.http ("/no-such-page")).status, ==, 404);
}

void
test_audio_before_transcription ()
{
  Setup s;
  Daemon daemon (s.env ());
  g_assert_true (daemon.wait_listening ());
  const std::string mp3 = fake_mp3 (3000, 2);
  const std::string body = audio_body ("conv_order2", mp3);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body)).status, ==, 200);
  g_assert_true (pump_until ([&] {
        return daemon.log_has ("Cached audio webhook for conversation conv_order2");
      }));
  const auto c = conversation ("conv_order2", "+14155550123");
  g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
      .status, ==, 200);
  const std::string audio_path = s.data / "+14155550123/conv_order2_audio.mp3";
  g_assert_true (pump_until ([&] { return g_file_test (audio_path.c_str (), G_FILE_TEST_EXISTS); }));
  g_assert_true (test_support::read_file (audio_path) == mp3);
  g_assert_true (pump_until ([&] { return daemon.log_has ("Processed cached audio webhook"); }));
}

void
test_audio_whose_transcription_never_comes ()
{
  Setup s;
  Daemon daemon (s.env ({ { "AUDIO_CACHE_TTL", "1" } }));
  g_assert_true (daemon.wait_listening ());
  const std::string mp3 = fake_mp3 (2000, 3);
  const std::string body = audio_body ("conv_lonely", mp3);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body)).status, ==, 200);
  const std::string audio_path = s.data / "conv_lonely/conv_lonely_audio.mp3";
  g_assert_true (pump_until ([&] { return g_file_test (audio_path.c_str (), G_FILE_TEST_EXISTS); },
      20));
  g_assert_true (test_support::read_file (audio_path) == mp3);
  g_assert_true (pump_until ([&] { return daemon.log_has ("audio_cache_expired"); }));
}

void
test_signatures ()
{
  Setup s;
  Daemon daemon (s.env ());
  g_assert_true (daemon.wait_listening ());
  const auto c = conversation ("conv_sig");
  const std::string body = transcription_body (c);
  const gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpuint (http_request ("POST", daemon.http ("/voice/post_call"), body,
      "application/json").status, ==, 401);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body, now, "wrong")).status, ==, 401);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body, now - 31 * 60)).status, ==, 401);
  g_assert_cmpuint (post_webhook (daemon, body + " ", sign (body)).status, ==, 401);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body, now - 29 * 60)).status, ==, 200);
  const auto wrong_type = http_request ("POST", daemon.http ("/voice/post_call"), body,
      "text/plain", { { "ElevenLabs-Signature", sign (body) } });
  g_assert_cmpuint (wrong_type.status, ==, 415);
  g_assert_cmpuint (daemon.log_count ("webhook_refused"), ==, 5);
}

void
test_body_over_the_limit ()
{
  // MAX_WEBHOOK_BYTES: 413 with the reason, refused from its Content-Length.
  Setup s;
  Daemon daemon (s.env ({ { "MAX_WEBHOOK_BYTES", "4096" } }));
  g_assert_true (daemon.wait_listening ());
  const std::string body = audio_body ("conv_huge", fake_mp3 (10000));
  const auto reply = post_webhook (daemon, body, sign (body));
  g_assert_cmpuint (reply.status, ==, 413);
  g_assert_true (reply.body.find ("MAX_WEBHOOK_BYTES") != std::string::npos);
  g_assert_true (daemon.log_has ("webhook_refused"));
  const auto c = conversation ("conv_small");
  g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
      .status, ==, 200);
}

// A chunked body (no Content-Length): gathered as it comes, refused with 413
// once past MAX_WEBHOOK_BYTES; one within the limit is processed.
std::string
post_chunked (const Daemon &daemon, const std::string &body, const std::string &signature)
{
  ws_test::RawClient client (static_cast<guint> (daemon.port ()));
  client.send ("POST /voice/post_call HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
      "ElevenLabs-Signature: " + signature + "\r\nConnection: close\r\n\r\n");
  constexpr size_t kChunk = 1000;
  for (size_t at = 0; at < body.size (); at += kChunk) {
    const std::string chunk = body.substr (at, kChunk);
    char size[32];
    g_snprintf (size, sizeof size, "%zx\r\n", chunk.size ());
    client.send (size + chunk + "\r\n");
  }
  client.send ("0\r\n\r\n");
  return client.read_response_head ();
}

void
test_chunked_body_over_the_limit ()
{
  Setup s;
  Daemon daemon (s.env ({ { "MAX_WEBHOOK_BYTES", "4096" } }));
  g_assert_true (daemon.wait_listening ());
  const std::string huge = audio_body ("conv_huge", fake_mp3 (10000));
  const std::string refused = post_chunked (daemon, huge, sign (huge));
  g_assert_true (g_str_has_prefix (refused.c_str (), "HTTP/1.1 413"));
  g_assert_true (pump_until ([&] { return daemon.log_has ("MAX_WEBHOOK_BYTES"); }));
  const auto c = conversation ("conv_chunked");
  const std::string small = transcription_body (c);
  const std::string accepted = post_chunked (daemon, small, sign (small));
  g_assert_true (g_str_has_prefix (accepted.c_str (), "HTTP/1.1 200"));
  g_assert_true (pump_until ([&] {
        return g_file_test ((s.data / "+16129782029/conv_chunked_transcription.json").c_str (),
            G_FILE_TEST_EXISTS); }));
}

void
test_twenty_megabyte_audio ()
{
  Setup s;
  Daemon daemon (s.env ());
  g_assert_true (daemon.wait_listening ());
  const auto c = conversation ("conv_big");
  g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
      .status, ==, 200);
  const std::string mp3 = fake_mp3 (20 * 1024 * 1024, 4);
  const std::string body = audio_body ("conv_big", mp3);
  g_assert_cmpuint (post_webhook (daemon, body, sign (body)).status, ==, 200);
  const std::string audio_path = s.data / "+16129782029/conv_big_audio.mp3";
  g_assert_true (pump_until ([&] {
        return test_support::read_file (audio_path).size () == mp3.size ();
      }, 30));
  g_assert_true (test_support::read_file (audio_path) == mp3);
}

void
test_hostile_ids_stay_inside_the_data_dir ()
{
  Setup s;
  Daemon daemon (s.env ());
  g_assert_true (daemon.wait_listening ());
  const auto c = conversation ("../../etc/passwd", "../../tmp/x");
  g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
      .status, ==, 200);
  g_assert_true (pump_until ([&] { return daemon.log_has ("transcription_saved"); }));
  // Everything it wrote is one directory level under the data dir.
  const auto dirs = test_support::list_dir (s.data.path ());
  g_assert_cmpuint (dirs.size (), ==, 1);
  g_assert_null (strchr (dirs.front ().c_str (), '/'));
  g_assert_true (dirs.front () != ".." && dirs.front () != ".");
  const auto files = test_support::list_dir (s.data / dirs.front ());
  g_assert_cmpuint (files.size (), ==, 1);
}

void
test_records_survive_a_restart ()
{
  Setup s;
  {
    Daemon daemon (s.env ());
    g_assert_true (daemon.wait_listening ());
    const auto c = conversation ("conv_keep");
    g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
        .status, ==, 200);
    g_assert_true (pump_until ([&] {
          return http_request ("GET", daemon.http ("/calls/CA5e0f9a2b")).status == 200;
        }));
    g_assert_cmpint (daemon.terminate (), ==, 0);
  }
  Daemon again (s.env ());
  g_assert_true (again.wait_listening ());
  const auto call = http_request ("GET", again.http ("/calls/CA5e0f9a2b"));
  g_assert_cmpuint (call.status, ==, 200);
  g_assert_true (call.body.find ("conv_keep") != std::string::npos);
  g_assert_cmpuint (http_request ("GET", again.http ("/calls/nope")).status, ==, 404);
}

void
test_manual_sync_from_the_api ()
{
  Setup s;
  callstream_test::FakeElevenLabsApi api ("xi-test-key");
  Conversation c = conversation ("conv_sync", "+15551234567");
  const std::string mp3 = fake_mp3 (4000, 5);
  api.add_conversation (c, mp3);
  Daemon daemon (s.env ({ { "ELEVENLABS_API_KEY", "xi-test-key" },
        { "ELEVENLABS_API_URL", api.base_url () } }));
  g_assert_true (daemon.wait_listening ());
  // The fake runs on this thread: pump while the daemon asks it.
  auto *session = soup_session_new ();
  SoupMessage *msg = soup_message_new ("POST",
      daemon.http ("/elevenlabs/conversation/conv_sync/process").c_str ());
  bool done = false;
  guint status = 0;
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, nullptr,
      [] (GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source),
            result, nullptr);
        *static_cast<bool *> (data) = true;
      }, &done);
  g_assert_true (pump_until ([&] { return done; }, 30));
  status = soup_message_get_status (msg);
  g_object_unref (msg);
  g_object_unref (session);
  g_assert_cmpuint (status, ==, 200);
  const std::string audio_path = s.data / "+15551234567/conv_sync_audio.mp3";
  g_assert_true (pump_until ([&] { return g_file_test (audio_path.c_str (), G_FILE_TEST_EXISTS); }));
  g_assert_true (test_support::read_file (audio_path) == mp3);
  g_assert_true (g_file_test ((s.data / "+15551234567/conv_sync_transcription.json").c_str (),
          G_FILE_TEST_EXISTS));
}

void
test_diagnose ()
{
  Setup s;
  {
    Daemon daemon (s.env ());
    g_assert_true (daemon.wait_listening ());
    const auto c = conversation ("conv_diag");
    g_assert_cmpuint (post_webhook (daemon, transcription_body (c),
        sign (transcription_body (c))).status, ==, 200);
    g_assert_true (pump_until ([&] { return daemon.log_has ("no_cached_audio"); }));
    g_assert_cmpint (daemon.terminate (), ==, 0);
  }
  auto run = [&s] (const char *id) {
    const std::string command = "env REDIS_URL=" + s.redis.url () + " WEBHOOK_DATA_DIR="
        + s.data.path () + " PIPELINES_DIR=" CALLSTREAMD_SOURCE_PIPELINES_DIR " "
        CALLSTREAMD_PATH " diagnose " + id;
    g_autofree gchar *out = nullptr;
    gint status = -1;
    g_assert_true (g_spawn_command_line_sync (command.c_str (), &out, nullptr, &status, nullptr));
    g_assert_cmpint (status, ==, 0);
    return std::string (out);
  };
  const std::string without = run ("conv_diag");
  g_assert_true (without.find ("conv_diag_transcription.json") != std::string::npos);
  g_assert_true (without.find ("Audio file:         none") != std::string::npos);
  g_assert_true (without.find ("system__caller_id") != std::string::npos);
  g_assert_true (without.find ("never came") != std::string::npos);
  // With its audio.
  {
    Daemon daemon (s.env ());
    g_assert_true (daemon.wait_listening ());
    const std::string body = audio_body ("conv_diag", fake_mp3 (1000));
    g_assert_cmpuint (post_webhook (daemon, body, sign (body)).status, ==, 200);
    g_assert_true (pump_until ([&] { return daemon.log_has ("audio_saved"); }));
  }
  const std::string with = run ("conv_diag");
  g_assert_true (with.find ("conv_diag_audio.mp3") != std::string::npos);
  g_assert_true (with.find ("none: the audio is saved") != std::string::npos);
}

void
test_api_token_and_signed_recording_urls ()
{
  Setup s;
  Daemon daemon (s.env ({ { "API_TOKEN", "tok-123" } }));
  g_assert_true (daemon.wait_listening ());
  const auto c = conversation ("conv_tok");
  g_assert_cmpuint (post_webhook (daemon, transcription_body (c), sign (transcription_body (c)))
      .status, ==, 200);
  const std::string body = audio_body ("conv_tok", fake_mp3 (800));
  g_assert_cmpuint (post_webhook (daemon, body, sign (body)).status, ==, 200);
  g_assert_cmpuint (http_request ("GET", daemon.http ("/calls")).status, ==, 401);
  HttpReply record;
  g_assert_true (pump_until ([&] {
        record = http_request ("GET", daemon.http ("/conversations/conv_tok"), "", "",
            { { "Authorization", "Bearer tok-123" } });
        return record.body.find ("sig=") != std::string::npos;
      }));
  g_autoptr (JsonParser) parser = json_parser_new ();
  const std::string url = json_object_get_string_member (object_of (record.body, parser),
      "recording_url");
  g_assert_cmpuint (http_request ("GET", url).status, ==, 200);
  g_assert_cmpuint (http_request ("GET", daemon.http ("/recordings/conv_tok.mp3")).status, ==,
      401);
  const std::string tampered = url.substr (0, url.size () - 2) + "00";
  g_assert_cmpuint (http_request ("GET", tampered).status, ==, 401);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  test_support::print_daemon_log_on_abort ();
  g_test_add_func ("/post-call/transcription-then-audio", test_transcription_then_audio);
  g_test_add_func ("/post-call/audio-before-transcription", test_audio_before_transcription);
  g_test_add_func ("/post-call/audio-whose-transcription-never-comes",
      test_audio_whose_transcription_never_comes);
  g_test_add_func ("/post-call/signatures", test_signatures);
  g_test_add_func ("/post-call/body-over-the-limit", test_body_over_the_limit);
  g_test_add_func ("/post-call/chunked-body-over-the-limit", test_chunked_body_over_the_limit);
  g_test_add_func ("/post-call/twenty-megabyte-audio", test_twenty_megabyte_audio);
  g_test_add_func ("/post-call/hostile-ids-stay-inside-the-data-dir",
      test_hostile_ids_stay_inside_the_data_dir);
  g_test_add_func ("/post-call/records-survive-a-restart", test_records_survive_a_restart);
  g_test_add_func ("/post-call/manual-sync-from-the-api", test_manual_sync_from_the_api);
  g_test_add_func ("/post-call/diagnose", test_diagnose);
  g_test_add_func ("/post-call/api-token-and-signed-recording-urls",
      test_api_token_and_signed_recording_urls);
  return g_test_run ();
}
