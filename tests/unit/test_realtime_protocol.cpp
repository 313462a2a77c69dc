// OpenAI Realtime messages (shared PROTOCOLS.md section 3): client events
// byte for byte, server events over every variant a bridge meets, and
// malformed frames that must come back as ParseError, never a crash.
#include "protocol/realtime.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace callstream::realtime;

namespace {

void assert_text_equal(std::string_view got, std::string_view want) {
  if (got != want)
    g_test_message("got  %.*s\nwant %.*s", static_cast<int>(got.size()), got.data(),
                   static_cast<int>(want.size()), want.data());
  g_assert_cmpmem(got.data(), got.size(), want.data(), want.size());
}

// --- client events, byte for byte ------------------------------------------

SessionConfig pcmu_config() {
  SessionConfig config;
  config.instructions = "Be brief.";
  config.voice = "marin";
  return config;
}

SessionConfig pcm_config() {
  SessionConfig config;
  config.format = AudioFormat::Pcm24k;
  config.model = "gpt-realtime-mini";
  config.vad_threshold = 0.65;
  config.prefix_padding_ms = 200;
  config.silence_duration_ms = 700;
  config.transcription_model = "gpt-4o-mini-transcribe";
  return config;
}

SessionConfig escaping_config() {
  SessionConfig config;
  config.instructions = "Say \"hi\"\n\\ then stop";
  return config;
}

struct ClientCase {
  const char *path;
  std::string (*build)();
  std::string_view want;
};

const ClientCase kClientCases[] = {
  {"/realtime/client/session-update-pcmu",
   [] { return session_update(pcmu_config()); },
   R"({"type":"session.update","session":{"type":"realtime","model":"gpt-realtime",)"
   R"("output_modalities":["audio"],"instructions":"Be brief.","audio":{"input":)"
   R"({"format":{"type":"audio/pcmu"},"turn_detection":{"type":"server_vad",)"
   R"("threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500}},)"
   R"("output":{"format":{"type":"audio/pcmu"},"voice":"marin"}}}})"},
  {"/realtime/client/session-update-pcm-transcription",
   [] { return session_update(pcm_config()); },
   R"({"type":"session.update","session":{"type":"realtime","model":"gpt-realtime-mini",)"
   R"("output_modalities":["audio"],"audio":{"input":{"format":{"type":"audio/pcm",)"
   R"("rate":24000},"transcription":{"model":"gpt-4o-mini-transcribe"},)"
   R"("turn_detection":{"type":"server_vad","threshold":0.65,"prefix_padding_ms":200,)"
   R"("silence_duration_ms":700}},"output":{"format":{"type":"audio/pcm","rate":24000}}}}})"},
  {"/realtime/client/session-update-escaping",
   [] { return session_update(escaping_config()); },
   R"({"type":"session.update","session":{"type":"realtime","model":"gpt-realtime",)"
   R"("output_modalities":["audio"],"instructions":"Say \"hi\"\n\\ then stop",)"
   R"("audio":{"input":{"format":{"type":"audio/pcmu"},"turn_detection":)"
   R"({"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,)"
   R"("silence_duration_ms":500}},"output":{"format":{"type":"audio/pcmu"}}}}})"},
  {"/realtime/client/append",
   [] {
     const uint8_t audio[] = {0xff, 0xfe, 0x7f, 0x00, 0x01};
     return input_audio_append(audio, sizeof audio);
   },
   R"({"type":"input_audio_buffer.append","audio":"//5/AAE="})"},
  {"/realtime/client/append-empty",
   [] { return input_audio_append(nullptr, 0); },
   R"({"type":"input_audio_buffer.append","audio":""})"},
  {"/realtime/client/response-create", [] { return response_create(); },
   R"({"type":"response.create"})"},
  {"/realtime/client/response-create-greeting",
   [] { return response_create("Greet the caller: \"Hello!\""); },
   R"({"type":"response.create","response":{"instructions":"Greet the caller: \"Hello!\""}})"},
  {"/realtime/client/truncate", [] { return item_truncate("item_abc", 1234); },
   R"({"type":"conversation.item.truncate","item_id":"item_abc","content_index":0,)"
   R"("audio_end_ms":1234})"},
};

void test_client_case(gconstpointer data) {
  const auto *c = static_cast<const ClientCase *>(data);
  const std::string got = c->build();
  assert_text_equal(got, c->want);
  // And it is JSON.
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_data(parser, got.data(),
                                           static_cast<gssize>(got.size()), nullptr));
}

void test_append_large_round_trip() {
  std::vector<uint8_t> audio(4801);
  for (size_t i = 0; i < audio.size(); i++)
    audio[i] = static_cast<uint8_t>(i * 31 + 7);
  const std::string frame = input_audio_append(audio.data(), audio.size());
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_data(parser, frame.c_str(), -1, nullptr));
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  gsize size = 0;
  g_autofree guchar *decoded =
      g_base64_decode(json_object_get_string_member(root, "audio"), &size);
  g_assert_cmpmem(decoded, size, audio.data(), audio.size());
}

// --- server events -----------------------------------------------------------

struct ServerCase {
  const char *path;
  std::string_view text;
  void (*check)(const ServerEvent &event);
};

template <typename T> const T &as(const ServerEvent &event) {
  const T *value = std::get_if<T>(&event);
  if (value == nullptr) {
    if (auto *error = std::get_if<ParseError>(&event))
      g_test_message("ParseError: %s", error->reason.c_str());
    g_test_fail();
    static T empty;
    return empty;
  }
  return *value;
}

void expect_parse_error(const ServerEvent &event) {
  g_assert_true(std::holds_alternative<ParseError>(event));
  const std::string &reason = std::get<ParseError>(event).reason;
  g_assert_false(reason.empty());
  for (char c : reason)
    g_assert_true(c >= 0x20 && c != 0x7f);
}

const ServerCase kServerCases[] = {
  {"/realtime/server/session-created",
   R"({"type":"session.created","event_id":"e1","session":{"id":"sess_1","type":"realtime"}})",
   [](const ServerEvent &e) { g_assert_cmpstr(as<SessionCreated>(e).session_id.c_str(), ==, "sess_1"); }},
  {"/realtime/server/session-updated",
   R"({"type":"session.updated","session":{"id":"sess_2"}})",
   [](const ServerEvent &e) { g_assert_cmpstr(as<SessionUpdated>(e).session_id.c_str(), ==, "sess_2"); }},
  {"/realtime/server/output-audio-delta",
   R"({"type":"response.output_audio.delta","event_id":"e2","response_id":"resp_1",)"
   R"("item_id":"item_1","output_index":0,"content_index":0,"delta":"//5/"})",
   [](const ServerEvent &e) {
     const auto &d = as<AudioDelta>(e);
     g_assert_cmpstr(d.response_id.c_str(), ==, "resp_1");
     g_assert_cmpstr(d.item_id.c_str(), ==, "item_1");
     g_assert_cmpint(d.output_index, ==, 0);
     g_assert_cmpint(d.content_index, ==, 0);
     g_assert_cmpstr(d.delta.c_str(), ==, "//5/");
   }},
  {"/realtime/server/audio-delta-old-name",
   R"({"type":"response.audio.delta","response_id":"r","item_id":"i","output_index":"1",)"
   R"("content_index":2,"delta":""})",
   [](const ServerEvent &e) {
     const auto &d = as<AudioDelta>(e);
     g_assert_cmpstr(d.item_id.c_str(), ==, "i");
     g_assert_cmpint(d.output_index, ==, 1);
     g_assert_cmpint(d.content_index, ==, 2);
     g_assert_true(d.delta.empty());
   }},
  {"/realtime/server/delta-without-delta",
   R"({"type":"response.output_audio.delta","item_id":"i"})", expect_parse_error},
  {"/realtime/server/delta-without-item",
   R"({"type":"response.output_audio.delta","delta":"AAAA"})", expect_parse_error},
  {"/realtime/server/delta-number-delta",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":5})", expect_parse_error},
  {"/realtime/server/output-audio-done",
   R"({"type":"response.output_audio.done","response_id":"r1","item_id":"i1","output_index":0})",
   [](const ServerEvent &e) {
     g_assert_cmpstr(as<AudioDone>(e).item_id.c_str(), ==, "i1");
     g_assert_cmpstr(as<AudioDone>(e).response_id.c_str(), ==, "r1");
   }},
  {"/realtime/server/audio-done-old-name",
   R"({"type":"response.audio.done","item_id":"i2"})",
   [](const ServerEvent &e) { g_assert_cmpstr(as<AudioDone>(e).item_id.c_str(), ==, "i2"); }},
  {"/realtime/server/response-done",
   R"({"type":"response.done","response":{"id":"resp_9","status":"cancelled","output":[]}})",
   [](const ServerEvent &e) {
     g_assert_cmpstr(as<ResponseDone>(e).response_id.c_str(), ==, "resp_9");
     g_assert_cmpstr(as<ResponseDone>(e).status.c_str(), ==, "cancelled");
   }},
  {"/realtime/server/speech-started",
   R"({"type":"input_audio_buffer.speech_started","audio_start_ms":1500,"item_id":"item_u"})",
   [](const ServerEvent &e) {
     g_assert_cmpint(as<SpeechStarted>(e).audio_start_ms, ==, 1500);
     g_assert_cmpstr(as<SpeechStarted>(e).item_id.c_str(), ==, "item_u");
   }},
  {"/realtime/server/speech-started-bare",
   R"({"type":"input_audio_buffer.speech_started"})",
   [](const ServerEvent &e) { g_assert_cmpint(as<SpeechStarted>(e).audio_start_ms, ==, 0); }},
  {"/realtime/server/speech-stopped",
   R"({"type":"input_audio_buffer.speech_stopped","audio_end_ms":2500,"item_id":"item_u"})",
   [](const ServerEvent &e) { g_assert_cmpint(as<SpeechStopped>(e).audio_end_ms, ==, 2500); }},
  {"/realtime/server/caller-transcript",
   R"({"type":"conversation.item.input_audio_transcription.completed","item_id":"item_u",)"
   R"("content_index":0,"transcript":"I need help"})",
   [](const ServerEvent &e) {
     g_assert_cmpstr(as<CallerTranscript>(e).transcript.c_str(), ==, "I need help");
     g_assert_cmpstr(as<CallerTranscript>(e).item_id.c_str(), ==, "item_u");
   }},
  {"/realtime/server/model-transcript",
   R"({"type":"response.output_audio_transcript.done","response_id":"r","item_id":"i",)"
   R"("transcript":"Sure, how can I help?"})",
   [](const ServerEvent &e) {
     g_assert_cmpstr(as<ModelTranscript>(e).transcript.c_str(), ==, "Sure, how can I help?");
   }},
  {"/realtime/server/model-transcript-old-name",
   R"({"type":"response.audio_transcript.done","item_id":"i","transcript":"ok"})",
   [](const ServerEvent &e) { g_assert_cmpstr(as<ModelTranscript>(e).transcript.c_str(), ==, "ok"); }},
  {"/realtime/server/error",
   R"({"type":"error","event_id":"e9","error":{"type":"invalid_request_error",)"
   R"("code":"invalid_value","message":"Invalid 'audio_end_ms'","param":"audio_end_ms",)"
   R"("event_id":"client_7"}})",
   [](const ServerEvent &e) {
     const auto &error = as<Error>(e);
     g_assert_cmpstr(error.type.c_str(), ==, "invalid_request_error");
     g_assert_cmpstr(error.code.c_str(), ==, "invalid_value");
     g_assert_cmpstr(error.message.c_str(), ==, "Invalid 'audio_end_ms'");
     g_assert_cmpstr(error.param.c_str(), ==, "audio_end_ms");
     g_assert_cmpstr(error.event_id.c_str(), ==, "client_7");
   }},
  {"/realtime/server/error-nulls",
   R"({"type":"error","error":{"type":"server_error","code":null,"message":"boom","param":null}})",
   [](const ServerEvent &e) {
     g_assert_cmpstr(as<Error>(e).message.c_str(), ==, "boom");
     g_assert_true(as<Error>(e).code.empty());
   }},
  {"/realtime/server/error-string",
   R"({"type":"error","error":"overloaded"})",
   [](const ServerEvent &e) { g_assert_cmpstr(as<Error>(e).message.c_str(), ==, "overloaded"); }},
  {"/realtime/server/unknown",
   R"({"type":"rate_limits.updated","rate_limits":[]})",
   [](const ServerEvent &e) { g_assert_cmpstr(as<Unknown>(e).type.c_str(), ==, "rate_limits.updated"); }},
  {"/realtime/server/not-json", "{\"type\":", expect_parse_error},
  {"/realtime/server/empty", "", expect_parse_error},
  {"/realtime/server/array", "[1,2]", expect_parse_error},
  {"/realtime/server/no-type", R"({"event":"media"})", expect_parse_error},
  {"/realtime/server/type-number", R"({"type":3})", expect_parse_error},
  {"/realtime/server/nul-byte", std::string_view("{\"type\":\"a\0\"}", 13), expect_parse_error},
};

void test_server_case(gconstpointer data) {
  const auto *c = static_cast<const ServerCase *>(data);
  c->check(parse_server_event(c->text));
}

void test_deep_nesting() {
  std::string text = "{\"type\":\"x\",\"a\":";
  text += std::string(100000, '[');
  expect_parse_error(parse_server_event(text));
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  for (const ClientCase &c : kClientCases)
    g_test_add_data_func(c.path, &c, test_client_case);
  g_test_add_func("/realtime/client/append-large-round-trip", test_append_large_round_trip);
  for (const ServerCase &c : kServerCases)
    g_test_add_data_func(c.path, &c, test_server_case);
  g_test_add_func("/realtime/server/deep-nesting", test_deep_nesting);
  return g_test_run();
}
