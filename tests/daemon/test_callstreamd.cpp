// The real callstreamd on a random port with a real redis-server: calls end
// to end over WebSockets, the HTTP routes, refusals, start-up checks and
// SIGTERM.
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "call_traffic.h"
#include "daemon_support.h"
#include "fake_realtime_server.h"
#include "fake_twilio_rest.h"
#include "redis_server.h"
#include "ws_client.h"

using test_support::Daemon;
using test_support::http_request;
using test_support::HttpReply;
using test_support::pump_until;
using test_support::RedisServer;
using test_support::StreamEntry;
using test_support::TempDir;
using test_support::WsClient;
using test_support::FakeRealtimeServer;

namespace {

using namespace call_traffic;

std::map<std::string, std::vector<StreamEntry>>
entries_by_call (const RedisServer &redis, const std::string &key)
{
  std::map<std::string, std::vector<StreamEntry>> calls;
  for (StreamEntry &entry : redis.xrange (key))
    calls[entry.get ("interaction_id")].push_back (std::move (entry));
  return calls;
}

JsonObject *
parse_object (const std::string &text, JsonParser *parser)
{
  g_autoptr (GError) error = nullptr;
  g_assert_true (json_parser_load_from_data (parser, text.c_str (), -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}


std::string
twilio_stop (const std::string &call_sid)
{
  return "{\"event\":\"stop\",\"sequenceNumber\":\"99\",\"streamSid\":\"MZ" + call_sid
      + "\",\"stop\":{\"accountSid\":\"AC0123456789abcdef0123456789abcdef\",\"callSid\":\""
      + call_sid + "\"}}";
}

// The audio of every `media` message the daemon sent back, decoded.
std::string
returned_audio (const std::vector<std::string> &messages, size_t *marks)
{
  std::string audio;
  *marks = 0;
  for (const std::string &text : messages) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    if (!json_parser_load_from_data (parser, text.c_str (), -1, nullptr))
      continue;
    JsonObject *message = json_node_get_object (json_parser_get_root (parser));
    const char *event = json_object_get_string_member_with_default (message, "event", "");
    if (g_str_equal (event, "mark"))
      (*marks)++;
    if (!g_str_equal (event, "media"))
      continue;
    const char *payload = json_object_get_string_member (
        json_object_get_object_member (message, "media"), "payload");
    gsize size = 0;
    g_autofree guchar *bytes = g_base64_decode (payload, &size);
    audio.append (reinterpret_cast<const char *> (bytes), size);
  }
  return audio;
}

void
test_twilio_realtime_call_against_the_fake ()
{
  // Caller audio goes to the Realtime server and to Redis; the model's
  // audio (the fake echoes 200 ms turns) comes back on the caller's socket.
  FakeRealtimeServer::Options options;
  options.echo_every_bytes = 200 * 8;
  options.delta_bytes = 80;
  FakeRealtimeServer realtime (options);
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "OPENAI_REALTIME_URL", realtime.url () },
        { "OPENAI_API_KEY", "sk-test-daemon" } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/media-stream")));
  client.send ("{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
  client.send (twilio_start ("CArt"));
  std::string sent;
  for (int i = 0; i < 20; i++) {
    const std::string frame = test_support::pattern_bytes (160, i);
    sent += frame;
    client.send (twilio_media ("CArt", i + 1, frame));
  }
  size_t marks = 0;
  g_assert_true (pump_until ([&] {
        return returned_audio (client.received, &marks).size () >= sent.size ();
      }, 20));
  g_assert_true (returned_audio (client.received, &marks) == sent);
  g_assert_cmpuint (marks, >, 0);
  g_assert_true (realtime.audio () == sent);
  const std::string authorization = realtime.authorization ();
  g_assert_cmpstr (authorization.c_str (), ==, "Bearer sk-test-daemon");
  client.send (twilio_stop ("CArt"));
  g_assert_true (pump_until ([&] {
          return count_event (redis, "call_end") == 1;
        }));
  auto calls = entries_by_call (redis, "audio_stream");
  std::string published;
  for (const StreamEntry &entry : calls["CArt"])
    if (entry.get ("event") == "audio")
      published += entry.get ("audio");
  g_assert_true (published == sent);
  g_assert_false (daemon.log_has ("sk-test-daemon"));
}

// X-Twilio-Signature for @url with no parameters (a WebSocket upgrade).
std::string
twilio_sign (const std::string &token, const std::string &url)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1,
      reinterpret_cast<const guchar *> (token.data ()), token.size ());
  g_hmac_update (hmac, reinterpret_cast<const guchar *> (url.data ()), url.size ());
  guint8 digest[20];
  gsize length = sizeof digest;
  g_hmac_get_digest (hmac, digest, &length);
  g_autofree gchar *signature = g_base64_encode (digest, length);
  return signature;
}

void
test_fallback_to_traditional_when_realtime_refuses ()
{
  // The Realtime server refuses the bridge (401): the live call is
  // redirected to /voice with Twilio's REST API, then the stream is closed.
  const std::string account = "AC0123456789abcdef0123456789abcdef";
  const std::string call_sid = "CA00112233445566778899aabbccddeeff";
  callstream_test::FakeTwilioRest twilio (account, "tok");
  twilio.add_call (call_sid);
  FakeRealtimeServer::Options options;
  options.handshake = FakeRealtimeServer::Handshake::Refuse401;
  FakeRealtimeServer realtime (options);
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "OPENAI_REALTIME_URL", realtime.url () },
        { "OPENAI_API_KEY", "sk-refused" }, { "TWILIO_ACCOUNT_SID", account },
        { "TWILIO_AUTH_TOKEN", "tok" }, { "TWILIO_API_URL", twilio.base_url () },
        { "PUBLIC_URL", "https://calls.example.com" } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/media-stream"), { { "X-Twilio-Signature",
              twilio_sign ("tok", "https://calls.example.com/media-stream") } }));
  client.send ("{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
  client.send (twilio_start (call_sid));
  for (int i = 0; i < 5; i++)
    client.send (twilio_media (call_sid, i + 1, test_support::pattern_bytes (160, i)));
  g_assert_true (pump_until ([&] { return !twilio.call_url (call_sid).empty (); }, 20));
  const std::string redirected_to = twilio.call_url (call_sid);
  g_assert_cmpstr (redirected_to.c_str (), ==, "https://calls.example.com/voice");
  const auto &request = twilio.requests ().back ();
  g_assert_cmpstr (request.method.c_str (), ==, "POST");
  g_assert_cmpstr (request.user.c_str (), ==, account.c_str ());
  g_assert_cmpstr (request.form.at ("Method").c_str (), ==, "POST");
  g_assert_true (pump_until ([&] { return client.closed; }, 20));
  g_assert_true (daemon.log_has ("realtime_fallback"));
  g_assert_true (pump_until ([&] { return daemon.log_has ("call_ended"); }));
  const auto metrics = http_request ("GET", daemon.http ("/metrics"));
  g_assert_true (metrics.body.find ("callstreamd_realtime_fallbacks_total{provider=\"twilio\"} 1")
      != std::string::npos);
  g_assert_false (daemon.log_has ("sk-refused"));
  g_assert_false (daemon.log_has ("tok\""));
}

void
test_twilio_ingest_only ()
{
  // /media-stream/ingest: the caller's u-law audio into Redis, nothing back.
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/media-stream/ingest")));
  client.send ("{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
  client.send (twilio_start ("CAing"));
  std::string sent;
  for (int i = 0; i < 50; i++) {
    const std::string frame = test_support::pattern_bytes (160, i);
    sent += frame;
    client.send (twilio_media ("CAing", i + 1, frame));
  }
  client.send (twilio_stop ("CAing"));
  g_assert_true (pump_until ([&] {
          return count_event (redis, "call_end") == 1;
        }));
  auto calls = entries_by_call (redis, "audio_stream");
  std::string published;
  for (const StreamEntry &entry : calls["CAing"]) {
    if (entry.get ("event") == "call_start") {
      g_assert_true (entry.get ("encoding") == "mulaw");
      g_assert_true (entry.get ("provider") == "twilio");
    }
    if (entry.get ("event") == "audio")
      published += entry.get ("audio");
  }
  g_assert_true (published == sent);
  g_assert_true (client.received.empty ());
  // The call is a Call record once it has ended.
  HttpReply record;
  g_assert_true (pump_until ([&] {
        record = http_request ("GET", daemon.http ("/calls/CAing"));
        return record.status == 200;
      }));
  g_assert_true (record.body.find ("\"provider\":\"twilio\"") != std::string::npos);
  g_assert_true (record.body.find ("\"status\":\"completed\"") != std::string::npos);
}

void
test_exotel_voicebot_talks_back ()
{
  // /v1/voicebot: 8 kHz PCM16 to the Realtime server as 24 kHz, its reply
  // back to the caller as Exotel media chunks (multiples of 320 bytes).
  FakeRealtimeServer::Options options;
  options.echo_every_bytes = 200 * 48;  // 200 ms turns at 24 kHz
  options.delta_bytes = 480;
  FakeRealtimeServer realtime (options);
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "OPENAI_REALTIME_URL", realtime.url () }, { "OPENAI_API_KEY", "sk-voicebot" } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/v1/voicebot")));
  client.send (exotel_start ("CAbot"));
  for (int f = 1; f <= 10; f++)
    client.send (exotel_media (f + 1, frame_audio (1, f)));
  size_t returned_bytes = 0;
  g_assert_true (pump_until ([&] {
        size_t marks = 0;
        returned_bytes = returned_audio (client.received, &marks).size ();
        return returned_bytes >= 8000;  // 0.5 s of 8 kHz PCM16 of the 1 s sent
      }, 20));
  for (const std::string &text : client.received) {
    if (text.find ("\"event\":\"media\"") == std::string::npos)
      continue;
    size_t marks = 0;
    const size_t size = returned_audio ({ text }, &marks).size ();
    g_assert_cmpuint (size % 320, ==, 0);
  }
  // The Realtime server got 24 kHz audio: three times the bytes sent.
  g_assert_cmpuint (realtime.audio ().size (), >=, 2 * 16000);
  client.send (exotel_stop ("CAbot"));
  g_assert_true (pump_until ([&] {
          return count_event (redis, "call_end") == 1;
        }));
}

void
test_sigterm_gives_up_after_shutdown_timeout ()
{
  // Redis stalls: the calls cannot flush; SHUTDOWN_TIMEOUT_S bounds the wait
  // and the exit status says not everything was flushed.
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "SHUTDOWN_TIMEOUT_S", "1" } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/v1/ingest")));
  client.send (exotel_start ("CAstall"));
  client.send (exotel_media (2, frame_audio (1, 1)));
  g_assert_true (pump_until ([&] {
          return count_event (redis, "audio") == 1;
        }));
  redis.pause ();
  client.send (exotel_media (3, frame_audio (1, 2)));
  const gint64 started = g_get_monotonic_time ();
  const int status = daemon.terminate (20);
  redis.resume ();
  g_assert_cmpint (status, ==, 3);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 15 * G_USEC_PER_SEC);
  g_assert_true (daemon.log_has ("shutdown_timeout"));
  g_assert_true (daemon.log_has ("stopped flushed=false"));
}

void
test_oversized_message_closes_only_that_call ()
{
  // MAX_MESSAGE_BYTES: a bigger message closes its socket with 1009; the
  // call still flushes what it had, and the other call goes on.
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "MAX_MESSAGE_BYTES", "4096" } });
  g_assert_true (daemon.wait_listening ());
  WsClient big, fine;
  g_assert_true (big.connect (daemon.ws ("/v1/ingest")));
  g_assert_true (fine.connect (daemon.ws ("/v1/ingest")));
  big.send (exotel_start ("CAbig"));
  big.send (exotel_media (2, frame_audio (1, 1)));
  big.send (exotel_media (3, std::string (8000, 'x')));
  g_assert_true (pump_until ([&] { return big.closed; }));
  g_assert_cmpuint (big.close_code, ==, 1009);
  fine.send (exotel_start ("CAfine"));
  fine.send (exotel_media (2, frame_audio (2, 1)));
  fine.send (exotel_stop ("CAfine"));
  g_assert_true (pump_until ([&] {
          return count_event (redis, "call_end") == 2;
        }));
  auto calls = entries_by_call (redis, "audio_stream");
  g_assert_cmpuint (calls["CAbig"].size (), ==, 3);   // start, the frame, end
  g_assert_cmpuint (calls["CAfine"].size (), ==, 3);
}

/* ------------------------------------------------------------------ */

void
test_health_reports_redis_and_calls ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  // The probe runs at start-up; give it its first answer.
  pump_until ([&] {
        return http_request ("GET", daemon.http ("/health")).body.find ("\"reachable\":true")
            != std::string::npos;
      }, 10);
  const auto reply = http_request ("GET", daemon.http ("/health"));
  if (reply.status != 200)
    g_printerr ("%s: %s\n%s", daemon.http ("/health").c_str (), reply.reason.c_str (),
        daemon.log ().c_str ());
  g_assert_cmpuint (reply.status, ==, 200);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *health = parse_object (reply.body, parser);
  g_assert_cmpstr (json_object_get_string_member (health, "status"), ==, "ok");
  g_assert_true (json_object_get_boolean_member (
          json_object_get_object_member (health, "redis"), "reachable"));
  g_assert_cmpint (json_object_get_int_member (health, "calls_in_progress"), ==, 0);
  g_assert_true (json_object_has_member (health, "version"));
}

// A client that keeps its connection alive and then goes: libsoup 3.2 would
// leave the daemon's end in CLOSE_WAIT for good; plain answers close instead.
void
test_plain_http_answers_close_their_connection ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  http_request ("GET", daemon.http ("/health"));
  const int fds_before = daemon.open_fds ();
  for (int i = 0; i < 20; i++) {
    ws_test::RawClient client (static_cast<guint> (daemon.port ()));
    client.send ("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const std::string head = client.read_response_head ();
    g_assert_true (g_str_has_prefix (head.c_str (), "HTTP/1.1 200"));
    g_assert_true (head.find ("Connection: close") != std::string::npos);
    client.read_until_eof ();  // the daemon closed its end
  }
  g_assert_true (pump_until ([&] { return daemon.open_fds () <= fds_before; }, 10));
}

void
test_health_says_degraded_when_redis_is_down ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  redis.stop ();
  g_assert_true (pump_until ([&] {
          return http_request ("GET", daemon.http ("/health")).body.find ("\"degraded\"")
              != std::string::npos;
        }, 15));
  g_assert_cmpuint (http_request ("GET", daemon.http ("/health")).status, ==, 200);
}

void
test_fifty_concurrent_exotel_calls_end_to_end ()
{
  // Every frame of every call reaches Redis, in order, and the dumps hold
  // exactly the bytes sent.
  constexpr int kCalls = 50;
  constexpr int kFrames = 20;
  RedisServer redis;
  TempDir dumps;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "AUDIO_DUMP_ENABLED", "true" }, { "AUDIO_DUMP_DIR", dumps.path () },
        { "AUDIO_DUMP_FORMAT", "raw" } });
  g_assert_true (daemon.wait_listening ());

  // Let the Redis connections of the probe and the record store settle.
  g_assert_true (pump_until ([&] {
        return http_request ("GET", daemon.http ("/health")).body.find ("\"reachable\":true")
            != std::string::npos;
      }));
  const int fds_before = daemon.open_fds ();
  // Interleaved, as a real load is: frame f of every call, then f + 1.
  auto clients = open_calls (daemon, kCalls, "CA");
  for (int f = 1; f <= kFrames; f++)
    for (int c = 0; c < kCalls; c++)
      clients[c]->send (exotel_media (f + 1, frame_audio (c, f)));
  for (int c = 0; c < kCalls; c++)
    clients[c]->send (exotel_stop ("CA" + std::to_string (c)));

  g_assert_true (pump_until ([&] {
          return count_event (redis, "call_end") == kCalls;
        }, 60));
  auto calls = entries_by_call (redis, "audio_stream");
  g_assert_cmpuint (calls.size (), ==, kCalls);
  for (int c = 0; c < kCalls; c++) {
    const std::string sid = "CA" + std::to_string (c);
    const auto &entries = calls[sid];
    g_assert_cmpuint (entries.size (), ==, kFrames + 2);
    g_assert_true (entries.front ().get ("event") == "call_start");
    g_assert_true (entries.back ().get ("event") == "call_end");
    for (int f = 1; f <= kFrames; f++) {
      const StreamEntry &entry = entries[f];
      g_assert_true (entry.get ("seq") == std::to_string (f));
      g_assert_true (entry.get ("audio") == frame_audio (c, f));
    }
  }
  // The dumps: every call's files, concatenated in order, are the audio sent.
  g_assert_true (pump_until ([&] { return daemon.log_count ("call_ended") == kCalls; }, 30));
  for (int c = 0; c < kCalls; c++) {
    const std::string call_dir = dumps / ("CA" + std::to_string (c));
    std::string dumped;
    for (const std::string &file : test_support::list_dir (call_dir))
      dumped += test_support::read_file (call_dir + "/" + file);
    std::string sent;
    for (int f = 1; f <= kFrames; f++)
      sent += frame_audio (c, f);
    g_assert_cmpuint (dumped.size (), ==, sent.size ());
    g_assert_true (dumped == sent);
  }
  // Every call's pipeline, bus and socket are gone once it has ended (a
  // leaked bus message kept the whole pipeline and its bus sockets alive).
  clients.clear ();
  g_assert_true (pump_until ([&] { return daemon.open_fds () <= fds_before + 2; }));
  // The operators' log lines.
  g_assert_cmpuint (daemon.log_count ("connection_accepted"), ==, kCalls);
  g_assert_cmpuint (daemon.log_count ("start_event_received"), ==, kCalls);
  g_assert_true (daemon.log_has ("audio_dumping_enabled"));
  g_assert_cmpuint (daemon.log_count ("audio_chunk_dumped"), ==, kCalls);  // the first of each
  const auto health = http_request ("GET", daemon.http ("/health"));
  g_assert_true (health.body.find ("\"calls_in_progress\":0") != std::string::npos);
  const auto metrics = http_request ("GET", daemon.http ("/metrics"));
  g_assert_cmpuint (metrics.status, ==, 200);
  g_assert_true (metrics.body.find ("callstreamd_calls_total{provider=\"exotel\"} 50")
      != std::string::npos);
  g_assert_true (metrics.body.find ("callstreamd_frames_published_total{provider=\"exotel\"} 1000")
      != std::string::npos);
}

void
test_exotel_route_absent_without_support_exotel ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_false (client.connect (daemon.ws ("/v1/ingest")));
  g_assert_cmpuint (client.status, ==, 404);
  g_assert_true (daemon.log_has ("flow_disabled"));
}

void
test_exotel_basic_auth ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "EXOTEL_BASIC_USER", "exo" }, { "EXOTEL_BASIC_PASSWORD", "s3cret" } });
  g_assert_true (daemon.wait_listening ());
  WsClient anonymous;
  g_assert_false (anonymous.connect (daemon.ws ("/v1/ingest")));
  g_assert_cmpuint (anonymous.status, ==, 401);
  WsClient wrong;
  g_autofree gchar *bad = g_base64_encode (reinterpret_cast<const guchar *> ("exo:nope"), 8);
  g_assert_false (wrong.connect (daemon.ws ("/v1/ingest"),
          { { "Authorization", std::string ("Basic ") + bad } }));
  g_assert_cmpuint (wrong.status, ==, 401);
  WsClient right;
  g_autofree gchar *good = g_base64_encode (reinterpret_cast<const guchar *> ("exo:s3cret"), 10);
  g_assert_true (right.connect (daemon.ws ("/v1/ingest"),
          { { "Authorization", std::string ("Basic ") + good } }));
  g_assert_cmpuint (daemon.log_count ("request_refused"), ==, 2);
  g_assert_true (pump_until ([&] { return daemon.log_count ("connection_accepted") == 1; }));
}

void
test_exotel_ip_allowlist ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "EXOTEL_IP_ALLOWLIST", "10.0.0.0/8, 192.168.1.7" } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_false (client.connect (daemon.ws ("/v1/ingest")));
  g_assert_cmpuint (client.status, ==, 403);
}

void
test_max_calls_refuses_with_503 ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" },
        { "MAX_CALLS", "2" } });
  g_assert_true (daemon.wait_listening ());
  WsClient first, second, third;
  g_assert_true (first.connect (daemon.ws ("/v1/ingest")));
  g_assert_true (second.connect (daemon.ws ("/v1/ingest")));
  g_assert_false (third.connect (daemon.ws ("/v1/ingest")));
  g_assert_cmpuint (third.status, ==, 503);
  // The calls in progress go on.
  first.send (exotel_start ("CAfirst"));
  first.send (exotel_media (2, frame_audio (1, 1)));
  first.send (exotel_stop ("CAfirst"));
  g_assert_true (pump_until ([&] {
          return count_event (redis, "call_end") == 1;
        }));
}

void
test_sigterm_flushes_every_call ()
{
  constexpr int kCalls = 10;
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int c = 0; c < kCalls; c++) {
    clients.push_back (std::make_unique<WsClient> ());
    g_assert_true (clients.back ()->connect (daemon.ws ("/v1/ingest")));
    clients.back ()->send (exotel_start ("CAterm" + std::to_string (c)));
    for (int f = 1; f <= 5; f++)
      clients.back ()->send (exotel_media (f + 1, frame_audio (c, f)));
  }
  // Every frame is in the daemon (the calls are still open) before SIGTERM.
  g_assert_true (pump_until ([&] {
          return count_event (redis, "audio") == kCalls * 5;
        }));
  g_assert_cmpint (daemon.terminate (), ==, 0);
  g_assert_cmpuint (count_event (redis, "call_end"), ==, kCalls);
  // The clients were told the server is going away.
  g_assert_true (pump_until ([&] {
          for (auto &client : clients)
            if (!client->closed)
              return false;
          return true;
        }));
  for (auto &client : clients)
    g_assert_cmpuint (client->close_code, ==, 1001);
  g_assert_true (daemon.log_has ("stopped flushed=true"));
}

void
test_broken_pipeline_file_stops_startup ()
{
  TempDir pipelines;
  const std::string broken = "{\"name\":\"broken\",\"route\":\"/x\",\"provider\":\"exotel\","
      "\"socket\":\"reactor\",\"input\":\"src\",\"launch\":\"exotelsrc name=src ! nosuchsink\"}";
  g_assert_true (g_file_set_contents ((pipelines / "broken.json").c_str (), broken.c_str (),
          -1, nullptr));
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "PIPELINES_DIR", pipelines.path () } });
  g_assert_cmpint (daemon.wait_exit (), ==, 2);
  const std::string log = daemon.log ();
  g_assert_true (log.find ("broken.json") != std::string::npos);
  g_assert_true (log.find ("launch") != std::string::npos);
  g_assert_true (log.find ("nosuchsink") != std::string::npos);
}

void
test_bad_variable_stops_startup ()
{
  Daemon daemon (std::map<std::string, std::string> { { "PORT", "eighty" } });
  g_assert_cmpint (daemon.wait_exit (), ==, 2);
  g_assert_true (daemon.log_has ("PORT"));
  g_assert_true (daemon.log_has ("eighty"));
}

void
test_print_pipeline_gives_a_runnable_line ()
{
  Daemon daemon ({ { "REDIS_URL", "redis://127.0.0.1:6390" }, { "AUDIO_DUMP_ENABLED", "true" },
        { "AUDIO_DUMP_DIR", "/tmp/dumps here" } },
      { "--print-pipeline", "exotel-ingest" });
  g_assert_cmpint (daemon.wait_exit (), ==, 0);
  // stdout is silenced in Daemon: run it again capturing stdout.
  g_autofree gchar *out = nullptr;
  gint status = -1;
  std::string command = std::string ("env REDIS_URL=redis://127.0.0.1:6390 "
      "AUDIO_DUMP_ENABLED=true 'AUDIO_DUMP_DIR=/tmp/dumps here' PIPELINES_DIR=")
      + CALLSTREAMD_SOURCE_PIPELINES_DIR + " " + CALLSTREAMD_PATH
      + " --print-pipeline exotel-ingest";
  g_assert_true (g_spawn_command_line_sync (command.c_str (), &out, nullptr, &status, nullptr));
  g_assert_cmpint (status, ==, 0);
  std::string line (out);
  g_assert_true (g_str_has_prefix (line.c_str (), "gst-launch-1.0 "));
  g_assert_true (line.find ("redisstreamsink") != std::string::npos);
  g_assert_true (line.find ("chunkdumper") != std::string::npos);
  g_assert_true (line.find ("port=") != std::string::npos);
  // gst_parse_launch takes it as it is (without the program name and -e).
  const std::string launch = line.substr (line.find (" -e ") + 4);
  g_autoptr (GError) error = nullptr;
  g_autoptr (GstElement) pipeline = gst_parse_launch (launch.c_str (), &error);
  g_assert_no_error (error);
  g_autoptr (GstElement) dumper = gst_bin_get_by_name (GST_BIN (pipeline), "dump");
  if (dumper != nullptr) {
    g_autofree gchar *location = nullptr;
    g_object_get (dumper, "location", &location, nullptr);
    g_assert_cmpstr (location, ==, "/tmp/dumps here");
  }
}

void
test_voice_realtime_twiml ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  auto reply = http_request ("POST", daemon.http ("/voice-realtime"), "CallSid=CA1",
      "application/x-www-form-urlencoded",
      { { "Host", "calls.example.com" }, { "X-Forwarded-Proto", "https" } });
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_true (reply.body.find ("<Connect>") != std::string::npos);
  g_assert_true (reply.body.find ("url=\"wss://calls.example.com/media-stream\"")
      != std::string::npos);
  // Probability 0: every call gets the traditional flow.
  g_assert_cmpuint (http_request ("POST", daemon.http ("/realtime-api-config?probability=0"))
      .status, ==, 200);
  reply = http_request ("POST", daemon.http ("/voice-realtime"), "CallSid=CA2",
      "application/x-www-form-urlencoded");
  g_assert_true (reply.body.find ("<Connect>") == std::string::npos);
  g_assert_true (reply.body.find ("<Gather") != std::string::npos);
  const auto bad = http_request ("POST", daemon.http ("/realtime-api-config?probability=1.5"));
  g_assert_cmpuint (bad.status, ==, 400);
  g_assert_true (bad.body.find ("probability") != std::string::npos);
  g_assert_true (daemon.log_has ("twiml"));
}

void
test_twilio_signature_refusals ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () }, { "TWILIO_AUTH_TOKEN", "tok" },
        { "PUBLIC_URL", "https://calls.example.com" } });
  g_assert_true (daemon.wait_listening ());
  auto missing = http_request ("POST", daemon.http ("/voice"), "CallSid=CA1",
      "application/x-www-form-urlencoded");
  g_assert_cmpuint (missing.status, ==, 401);
  auto wrong = http_request ("POST", daemon.http ("/voice"), "CallSid=CA1",
      "application/x-www-form-urlencoded", { { "X-Twilio-Signature", "AAAA" } });
  g_assert_cmpuint (wrong.status, ==, 403);
  // HMAC-SHA1 of the public URL + sorted params, base64 (Twilio's scheme).
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1,
      reinterpret_cast<const guchar *> ("tok"), 3);
  const std::string signed_text = "https://calls.example.com/voiceCallSidCA1";
  g_hmac_update (hmac, reinterpret_cast<const guchar *> (signed_text.data ()),
      signed_text.size ());
  guint8 digest[20];
  gsize length = sizeof digest;
  g_hmac_get_digest (hmac, digest, &length);
  g_autofree gchar *signature = g_base64_encode (digest, length);
  auto good = http_request ("POST", daemon.http ("/voice"), "CallSid=CA1",
      "application/x-www-form-urlencoded", { { "X-Twilio-Signature", signature } });
  g_assert_cmpuint (good.status, ==, 200);
  // The media WebSocket upgrade is checked too; Twilio may sign its wss:// URL.
  WsClient client;
  g_assert_false (client.connect (daemon.ws ("/media-stream")));
  g_assert_cmpuint (client.status, ==, 401);
  WsClient forged;
  g_assert_false (forged.connect (daemon.ws ("/media-stream"),
          { { "X-Twilio-Signature", twilio_sign ("other", "wss://calls.example.com/media-stream") } }));
  g_assert_cmpuint (forged.status, ==, 403);
  WsClient signed_wss;
  g_assert_true (signed_wss.connect (daemon.ws ("/media-stream/ingest"),
          { { "X-Twilio-Signature",
              twilio_sign ("tok", "wss://calls.example.com/media-stream/ingest") } }));
}

void
test_echo_websocket_and_test_page ()
{
  RedisServer redis;
  Daemon daemon ({ { "REDIS_URL", redis.url () } });
  g_assert_true (daemon.wait_listening ());
  WsClient client;
  g_assert_true (client.connect (daemon.ws ("/test-websocket")));
  client.send ("ping one");
  client.send ("ping two");
  g_assert_true (pump_until ([&] { return client.received.size () == 2; }));
  g_assert_cmpstr (client.received[0].c_str (), ==, "ping one");
  g_assert_cmpstr (client.received[1].c_str (), ==, "ping two");
  const auto page = http_request ("GET", daemon.http ("/websocket-test"));
  g_assert_cmpuint (page.status, ==, 200);
  g_assert_true (page.body.find ("/test-websocket") != std::string::npos);
}

void
test_embedded_redis_when_redis_url_is_unset ()
{
  Daemon daemon (std::map<std::string, std::string> { { "SUPPORT_EXOTEL", "true" } });
  g_assert_true (daemon.wait_listening ());
  g_assert_true (daemon.log_has ("embedded_redis_started"));
  g_assert_true (pump_until ([&] {
          return http_request ("GET", daemon.http ("/health")).body.find ("\"reachable\":true")
              != std::string::npos;
        }, 10));
  g_assert_cmpint (daemon.terminate (), ==, 0);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  test_support::print_daemon_log_on_abort ();
  g_test_add_func ("/callstreamd/health/reports-redis-and-calls", test_health_reports_redis_and_calls);
  g_test_add_func ("/callstreamd/http/plain-answers-close-their-connection",
      test_plain_http_answers_close_their_connection);
  g_test_add_func ("/callstreamd/health/degraded-when-redis-is-down",
      test_health_says_degraded_when_redis_is_down);
  g_test_add_func ("/callstreamd/exotel/fifty-concurrent-calls-end-to-end",
      test_fifty_concurrent_exotel_calls_end_to_end);
  g_test_add_func ("/callstreamd/exotel/route-absent-without-support-exotel",
      test_exotel_route_absent_without_support_exotel);
  g_test_add_func ("/callstreamd/exotel/basic-auth", test_exotel_basic_auth);
  g_test_add_func ("/callstreamd/exotel/ip-allowlist", test_exotel_ip_allowlist);
  g_test_add_func ("/callstreamd/limits/max-calls-refuses-with-503", test_max_calls_refuses_with_503);
  g_test_add_func ("/callstreamd/lifecycle/sigterm-flushes-every-call", test_sigterm_flushes_every_call);
  g_test_add_func ("/callstreamd/startup/broken-pipeline-file", test_broken_pipeline_file_stops_startup);
  g_test_add_func ("/callstreamd/startup/bad-variable", test_bad_variable_stops_startup);
  g_test_add_func ("/callstreamd/startup/embedded-redis", test_embedded_redis_when_redis_url_is_unset);
  g_test_add_func ("/callstreamd/print-pipeline/runnable-line", test_print_pipeline_gives_a_runnable_line);
  g_test_add_func ("/callstreamd/twilio/voice-realtime-twiml", test_voice_realtime_twiml);
  g_test_add_func ("/callstreamd/twilio/signature-refusals", test_twilio_signature_refusals);
  g_test_add_func ("/callstreamd/echo/websocket-and-test-page", test_echo_websocket_and_test_page);
  g_test_add_func ("/callstreamd/twilio/realtime-call-against-the-fake",
      test_twilio_realtime_call_against_the_fake);
  g_test_add_func ("/callstreamd/twilio/fallback-to-traditional-when-realtime-refuses",
      test_fallback_to_traditional_when_realtime_refuses);
  g_test_add_func ("/callstreamd/twilio/ingest-only", test_twilio_ingest_only);
  g_test_add_func ("/callstreamd/exotel/voicebot-talks-back", test_exotel_voicebot_talks_back);
  g_test_add_func ("/callstreamd/lifecycle/sigterm-gives-up-after-shutdown-timeout",
      test_sigterm_gives_up_after_shutdown_timeout);
  g_test_add_func ("/callstreamd/limits/oversized-message-closes-only-that-call",
      test_oversized_message_closes_only_that_call);
  return g_test_run ();
}
