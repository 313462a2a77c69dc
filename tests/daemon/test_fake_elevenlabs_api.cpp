// The loopback fake of ElevenLabs' conversation API (fake_elevenlabs_api.h),
// checked with a real libsoup client before daemon tests rely on it: the
// conversation JSON in ElevenLabs' shape (read back through
// protocol/elevenlabs.h), the audio bytes, and its 401/404 answers.
#include <libsoup/soup.h>

#include <functional>
#include <string>

#include "fake_elevenlabs_api.h"
#include "protocol/elevenlabs.h"

using callstream_test::FakeElevenLabsApi;

namespace {

constexpr const char *kKey = "sk_3f9a0c2e7b1d4a6f8e5c9b0a1d2e3f4a";

struct Reply {
  guint status = 0;
  std::string content_type;
  std::string body;
};

// A hang guard only: fails the test if nothing ever answers.
void
iterate_until (const std::function<bool ()> &done)
{
  const gint64 give_up = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!done ()) {
    if (g_get_monotonic_time () > give_up)
      g_error ("nothing happened within 30 s");
    g_main_context_iteration (nullptr, TRUE);
  }
}

// GET @path from the fake, asynchronously on this thread's context.
Reply
get (const FakeElevenLabsApi &api, const std::string &path, const char *key = kKey)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) message = soup_message_new ("GET", (api.base_url () + path).c_str ());
  g_assert_nonnull (message);
  if (key != nullptr)
    soup_message_headers_replace (soup_message_get_request_headers (message), "xi-api-key", key);
  GBytes *bytes = nullptr;
  bool finished = false;
  struct Wait {
    GBytes **bytes;
    bool *finished;
  } wait { &bytes, &finished };
  soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, nullptr,
      [] (GObject *source, GAsyncResult *result, gpointer data) {
        auto *w = static_cast<Wait *> (data);
        g_autoptr (GError) error = nullptr;
        *w->bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
        if (*w->bytes == nullptr)
          g_error ("GET failed: %s", error->message);
        *w->finished = true;
      },
      &wait);
  iterate_until ([&finished] { return finished; });
  Reply reply;
  reply.status = soup_message_get_status (message);
  const char *type = soup_message_headers_get_content_type (
      soup_message_get_response_headers (message), nullptr);
  reply.content_type = type != nullptr ? type : "";
  gsize size = 0;
  const auto *data = static_cast<const char *> (g_bytes_get_data (bytes, &size));
  reply.body.assign (data != nullptr ? data : "", size);
  g_bytes_unref (bytes);
  return reply;
}

// The string at @path ("detail/status") in the JSON object @text.
std::string
json_string_at (const std::string &text, const char *first, const char *second = nullptr)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text.c_str (), -1, nullptr));
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  if (second != nullptr)
    obj = json_object_get_object_member (obj, first);
  return json_object_get_string_member (obj, second != nullptr ? second : first);
}

// Not g_assert_cmpstr on a temporary's c_str (): it dies before the compare.
void
assert_text (const std::string &got, const char *want)
{
  g_assert_cmpstr (got.c_str (), ==, want);
}

FakeElevenLabsApi::Conversation
conversation (const char *id)
{
  FakeElevenLabsApi::Conversation c;
  c.conversation_id = id;
  c.caller_id = "+16129782029";
  c.external_number = "+16125550000";
  c.called_number = "+15550001111";
  return c;
}

}  // namespace

static void
test_conversation_json_reads_as_a_transcription ()
{
  FakeElevenLabsApi api (kKey);
  api.add_conversation (conversation ("conv_01"), "ID3-fake-mp3");
  const Reply reply = get (api, "/v1/convai/conversations/conv_01");
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpstr (reply.content_type.c_str (), ==, "application/json");
  assert_text (json_string_at (reply.body, "agent_id"), "agent_7f3b2c1d");
  assert_text (json_string_at (reply.body, "status"), "done");

  // The webhook's data object is this very shape: wrap it and parse it.
  const std::string webhook = R"({"type":"post_call_transcription","event_timestamp":1,"data":)"
      + reply.body + "}";
  auto parsed = callstream::elevenlabs::parse_webhook (webhook);
  const auto *hook = std::get_if<callstream::elevenlabs::Webhook> (&parsed);
  g_assert_nonnull (hook);
  g_assert_cmpstr (hook->conversation_id.c_str (), ==, "conv_01");
  g_assert_cmpstr (hook->caller_phone.c_str (), ==, "+16129782029");
  g_assert_cmpstr (hook->called_number.c_str (), ==, "+15550001111");
  g_assert_cmpstr (hook->direction.c_str (), ==, "inbound");
  g_assert_cmpint (*hook->call_duration_secs, ==, 22);
  g_assert_cmpuint (hook->transcript_turns, ==, 2);
  g_assert_true (hook->has_audio.value_or (false));
  g_assert_cmpstr (hook->recording_url.c_str (), ==, "");
}

static void
test_recording_url_member_is_found ()
{
  FakeElevenLabsApi api (kKey);
  auto c = conversation ("conv_02");
  c.recording_url = "https://storage.example.com/conv_02.mp3";
  api.add_conversation (c);
  const Reply reply = get (api, "/v1/convai/conversations/conv_02");
  assert_text (callstream::elevenlabs::find_recording_url_in_json (reply.body),
      "https://storage.example.com/conv_02.mp3");
  assert_text (json_string_at (reply.body, "conversation_id"), "conv_02");
}

static void
test_audio_bytes_as_mpeg ()
{
  FakeElevenLabsApi api (kKey);
  std::string mp3 ("ID3\x04\0\0\0\0\0\x23\xff\xfb\x90\x64", 14);
  api.add_conversation (conversation ("conv_03"), mp3);
  const Reply reply = get (api, "/v1/convai/conversations/conv_03/audio");
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpstr (reply.content_type.c_str (), ==, "audio/mpeg");
  g_assert_cmpmem (reply.body.data (), reply.body.size (), mp3.data (), mp3.size ());
}

static void
test_missing_key_is_401_needs_authorization ()
{
  FakeElevenLabsApi api (kKey);
  api.add_conversation (conversation ("conv_04"));
  const Reply reply = get (api, "/v1/convai/conversations/conv_04", nullptr);
  g_assert_cmpuint (reply.status, ==, 401);
  assert_text (json_string_at (reply.body, "detail", "status"),
      "needs_authorization");
  g_assert_cmpstr (api.requests ().at (0).api_key.c_str (), ==, "");
}

static void
test_wrong_key_is_401_invalid_api_key ()
{
  FakeElevenLabsApi api (kKey);
  api.add_conversation (conversation ("conv_05"), "mp3");
  const Reply reply = get (api, "/v1/convai/conversations/conv_05/audio", "sk_wrong");
  g_assert_cmpuint (reply.status, ==, 401);
  assert_text (json_string_at (reply.body, "detail", "status"),
      "invalid_api_key");
  assert_text (json_string_at (reply.body, "detail", "message"),
      "Invalid API key");
}

static void
test_unknown_conversation_and_missing_audio_are_404 ()
{
  FakeElevenLabsApi api (kKey);
  api.add_conversation (conversation ("conv_06"));
  Reply reply = get (api, "/v1/convai/conversations/conv_nope");
  g_assert_cmpuint (reply.status, ==, 404);
  assert_text (json_string_at (reply.body, "detail", "status"),
      "conversation_not_found");
  reply = get (api, "/v1/convai/conversations/conv_06/audio");
  g_assert_cmpuint (reply.status, ==, 404);
  g_assert_true (json_string_at (reply.body, "detail", "message").find ("no audio")
      != std::string::npos);
  reply = get (api, "/v1/convai/conversations/conv_06/transcript");
  g_assert_cmpuint (reply.status, ==, 404);
}

static void
test_ids_are_percent_decoded_and_requests_recorded ()
{
  FakeElevenLabsApi api (kKey);
  api.add_conversation (conversation ("a/b c"), "mp3");
  const Reply reply = get (api, "/v1/convai/conversations/a%2Fb%20c/audio");
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpuint (api.requests ().size (), ==, 1);
  g_assert_cmpstr (api.requests ()[0].method.c_str (), ==, "GET");
  g_assert_cmpstr (api.requests ()[0].path.c_str (), ==,
      "/v1/convai/conversations/a/b c/audio");
  g_assert_cmpstr (api.requests ()[0].api_key.c_str (), ==, kKey);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/fake-elevenlabs/conversation-json-reads-as-a-transcription",
      test_conversation_json_reads_as_a_transcription);
  g_test_add_func ("/fake-elevenlabs/recording-url-member-is-found",
      test_recording_url_member_is_found);
  g_test_add_func ("/fake-elevenlabs/audio-bytes-as-mpeg", test_audio_bytes_as_mpeg);
  g_test_add_func ("/fake-elevenlabs/missing-key-is-401-needs-authorization",
      test_missing_key_is_401_needs_authorization);
  g_test_add_func ("/fake-elevenlabs/wrong-key-is-401-invalid-api-key",
      test_wrong_key_is_401_invalid_api_key);
  g_test_add_func ("/fake-elevenlabs/unknown-conversation-and-missing-audio-are-404",
      test_unknown_conversation_and_missing_audio_are_404);
  g_test_add_func ("/fake-elevenlabs/ids-are-percent-decoded-and-requests-recorded",
      test_ids_are_percent_decoded_and_requests_recorded);
  return g_test_run ();
}
