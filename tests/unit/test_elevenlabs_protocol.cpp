// ElevenLabs post-call webhooks (shared PROTOCOLS.md section 4): the
// signature check for every result, the three webhook types with each caller
// phone fallback, the audio located and decoded in steps (checked against
// g_base64_decode), the recording URL search of seed 001, file names, and
// hostile bodies.
#include "protocol/elevenlabs.h"

#include "protocol_test_support.h"

#include <glib.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;
using namespace callstream::elevenlabs;

namespace {

using protocol_test::assert_text_equal;

constexpr const char *kSecret = "wsec_8f2b1c9d4e7a6b5c3d2e1f0a9b8c7d6e";
constexpr gint64 kNow = 1739537297;

// --- signature --------------------------------------------------------------------

// The v0 hex for @body at @t, computed with GLib's one-shot HMAC (not the
// code under test).
std::string expected_hex(const std::string &t, std::string_view body,
                         std::string_view secret = kSecret) {
  std::string message = t + "." + std::string(body);
  g_autofree gchar *hex = g_compute_hmac_for_data(
      G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(secret.data()), secret.size(),
      reinterpret_cast<const guchar *>(message.data()), message.size());
  return hex;
}

const std::string kBody =
    R"({"type":"post_call_transcription","event_timestamp":1739537297,"data":{}})";

void assert_signature(const std::string &header, SignatureResult want,
                      gint64 now = kNow, std::string_view body = kBody,
                      std::string_view secret = kSecret) {
  SignatureResult got = verify_signature(header, body, secret, now);
  if (got != want)
    g_error("header \"%s\": got %s, want %s", header.c_str(),
            signature_result_reason(got), signature_result_reason(want));
}

std::string header_at(gint64 t) {
  return "t=" + std::to_string(t) + ",v0=" + expected_hex(std::to_string(t), kBody);
}

void test_signature_valid() {
  assert_signature(header_at(kNow), SignatureResult::kValid);
  // The helper for fakes produces the same header.
  assert_text_equal(signature_header(kSecret, kNow, kBody), header_at(kNow));
}

void test_signature_uppercase_hex_and_spaces() {
  std::string hex = expected_hex(std::to_string(kNow), kBody);
  g_autofree gchar *upper = g_ascii_strup(hex.c_str(), -1);
  assert_signature("t=" + std::to_string(kNow) + ",v0=" + upper, SignatureResult::kValid);
  assert_signature(" t=" + std::to_string(kNow) + " , v0=" + hex + " ",
                   SignatureResult::kValid);
  assert_signature("v0=" + hex + ",t=" + std::to_string(kNow), SignatureResult::kValid);
}

void test_signature_rotation_any_v0_matches() {
  std::string t = std::to_string(kNow);
  std::string good = expected_hex(t, kBody);
  std::string old = expected_hex(t, kBody, "wsec_old_secret");
  assert_signature("t=" + t + ",v0=" + old + ",v0=" + good, SignatureResult::kValid);
  assert_signature("t=" + t + ",v0=" + good + ",v0=" + old, SignatureResult::kValid);
  assert_signature("t=" + t + ",v0=" + old + ",v0=" + old, SignatureResult::kMismatch);
}

void test_signature_unknown_scheme_ignored() {
  std::string t = std::to_string(kNow);
  assert_signature("t=" + t + ",v1=whatever,v0=" + expected_hex(t, kBody),
                   SignatureResult::kValid);
  assert_signature("t=" + t + ",v1=" + expected_hex(t, kBody), SignatureResult::kMalformed);
}

void test_signature_missing() {
  assert_signature("", SignatureResult::kMissing);
  assert_signature("  ", SignatureResult::kMissing);
}

void test_signature_malformed() {
  std::string hex = expected_hex(std::to_string(kNow), kBody);
  std::string t = std::to_string(kNow);
  const std::string cases[] = {
      "garbage",
      "t=" + t,
      "v0=" + hex,
      "t=abc,v0=" + hex,
      "t=,v0=" + hex,
      "t=-" + t + ",v0=" + hex,
      "t=" + t + "x,v0=" + hex,
      "t=99999999999999999999999,v0=" + hex,
      "t=" + t + ",t=" + t + ",v0=" + hex,
      "t=" + t + ",v0=" + hex.substr(1),
      "t=" + t + ",v0=" + hex + "0",
      "t=" + t + ",v0=" + std::string(64, 'g'),
      "t=" + t + ",v0=",
      "t=" + t + ";v0=" + hex,
  };
  for (const std::string &header : cases)
    assert_signature(header, SignatureResult::kMalformed);
}

void test_signature_stale_31_minutes() {
  assert_signature(header_at(kNow - 31 * 60), SignatureResult::kStale);
  assert_signature(header_at(kNow - 29 * 60), SignatureResult::kValid);
  assert_signature(header_at(kNow - 30 * 60), SignatureResult::kValid);
  assert_signature(header_at(0), SignatureResult::kStale);
}

void test_signature_future() {
  assert_signature(header_at(kNow + 5 * 60), SignatureResult::kValid);
  assert_signature(header_at(kNow + 31 * 60), SignatureResult::kStale);
  assert_signature("t=9223372036854775807,v0=" +
                       expected_hex("9223372036854775807", kBody),
                   SignatureResult::kStale);
}

void test_signature_custom_tolerance() {
  g_assert_true(verify_signature(header_at(kNow - 61), kBody, kSecret, kNow, 60) ==
                SignatureResult::kStale);
  g_assert_true(verify_signature(header_at(kNow - 59), kBody, kSecret, kNow, 60) ==
                SignatureResult::kValid);
}

void test_signature_mismatch() {
  std::string t = std::to_string(kNow);
  assert_signature(header_at(kNow), SignatureResult::kMismatch, kNow, kBody,
                   "wsec_other");
  std::string tampered = kBody;
  tampered[tampered.size() - 3] = ' ';
  assert_signature(header_at(kNow), SignatureResult::kMismatch, kNow, tampered);
  // A signature made for another timestamp, sent with this one.
  assert_signature("t=" + t + ",v0=" + expected_hex(std::to_string(kNow - 1), kBody),
                   SignatureResult::kMismatch);
  assert_signature(header_at(kNow), SignatureResult::kMismatch, kNow, kBody, "");
}

void test_signature_binary_body() {
  std::string body("\x00\xff{\"a\":1}\x80", 9);
  std::string t = std::to_string(kNow);
  assert_signature("t=" + t + ",v0=" + expected_hex(t, body), SignatureResult::kValid,
                   kNow, body);
}

void test_signature_reasons() {
  const SignatureResult all[] = {SignatureResult::kValid, SignatureResult::kMissing,
                                 SignatureResult::kMalformed, SignatureResult::kStale,
                                 SignatureResult::kMismatch};
  for (SignatureResult a : all) {
    g_assert_cmpuint(strlen(signature_result_reason(a)), >, 0);
    for (SignatureResult b : all) {
      if (a != b)
        g_assert_cmpstr(signature_result_reason(a), !=, signature_result_reason(b));
    }
  }
  g_assert_nonnull(strstr(signature_result_reason(SignatureResult::kStale), "30 minutes"));
}

// --- webhooks ---------------------------------------------------------------------------

// A transcription webhook as ElevenLabs documents it for a Twilio call.
constexpr std::string_view kTranscription = R"({
  "type": "post_call_transcription",
  "event_timestamp": 1739537297,
  "data": {
    "agent_id": "xyz",
    "conversation_id": "conv_0901k9nsfrp6e4s9d81jt0jhe75n",
    "status": "done",
    "user_id": "user123",
    "transcript": [
      {"role": "agent", "message": "Hey there angelo. How are you?", "tool_calls": null,
       "tool_results": null, "feedback": null, "time_in_call_secs": 0,
       "conversation_turn_metrics": null},
      {"role": "user", "message": "Hey, can you tell me about the weather?",
       "tool_calls": null, "tool_results": null, "feedback": null, "time_in_call_secs": 2,
       "conversation_turn_metrics": null}
    ],
    "metadata": {
      "start_time_unix_secs": 1739537297,
      "call_duration_secs": 22,
      "cost": 296,
      "deletion_settings": {"deletion_time_unix_secs": 1802609320,
                            "deleted_logs_at_time_unix_secs": null},
      "feedback": {"overall_score": null, "likes": 0, "dislikes": 0},
      "authorization_method": "authorization_header",
      "charging": {"dev_discount": true},
      "termination_reason": "end_call tool was called.",
      "phone_call": {"type": "twilio", "direction": "inbound",
                     "phone_number_id": "phnum_01", "agent_number": "+15550001111",
                     "external_number": "+16125550000", "call_sid": "CA0123",
                     "stream_sid": "MZ0123"}
    },
    "analysis": {
      "evaluation_criteria_results": {},
      "data_collection_results": {},
      "call_successful": "success",
      "transcript_summary": "The conversation begins with the agent asking how Angelo is."
    },
    "conversation_initiation_client_data": {
      "conversation_config_override": {"agent": {"prompt": null, "first_message": null,
                                                 "language": "en"},
                                       "tts": {"voice_id": null}},
      "custom_llm_extra_body": {},
      "dynamic_variables": {"user_name": "angelo",
                            "system__caller_id": "+16129782029",
                            "system__called_number": "+15550001111",
                            "system__call_sid": "CA0123"}
    },
    "has_audio": true,
    "has_user_audio": true,
    "has_response_audio": true
  }
})";

// The webhook parsed from @body, failing the test with the reason of a ParseError.
Webhook parsed(std::string_view body) {
  auto result = parse_webhook(body);
  return protocol_test::expect<Webhook, ParseError>(result);
}

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  size_t at = out.find(from);
  g_assert_true(at != std::string::npos);
  out.replace(at, from.size(), to);
  return out;
}

void test_transcription_documented() {
  Webhook hook = parsed(kTranscription);
  g_assert_true(hook.type == WebhookType::kPostCallTranscription);
  assert_text_equal(hook.type_name, "post_call_transcription");
  g_assert_cmpint(*hook.event_timestamp, ==, 1739537297);
  assert_text_equal(hook.conversation_id, "conv_0901k9nsfrp6e4s9d81jt0jhe75n");
  assert_text_equal(hook.agent_id, "xyz");
  assert_text_equal(hook.user_id, "user123");
  assert_text_equal(hook.status, "done");
  assert_text_equal(hook.caller_phone, "+16129782029");
  g_assert_true(hook.caller_phone_source == PhoneSource::kCallerId);
  assert_text_equal(hook.called_number, "+15550001111");
  assert_text_equal(hook.direction, "inbound");
  assert_text_equal(hook.call_sid, "CA0123");
  assert_text_equal(hook.phone_call_type, "twilio");
  g_assert_cmpint(*hook.start_time_unix_secs, ==, 1739537297);
  g_assert_cmpint(*hook.call_duration_secs, ==, 22);
  assert_text_equal(hook.transcript_summary,
                    "The conversation begins with the agent asking how Angelo is.");
  assert_text_equal(hook.call_successful, "success");
  assert_text_equal(hook.termination_reason, "end_call tool was called.");
  g_assert_cmpuint(hook.transcript_turns, ==, 2);
  g_assert_true(hook.has_audio.has_value() && *hook.has_audio);
  // Seed 001's "current issue": has_audio but no URL anywhere.
  assert_text_equal(hook.recording_url, "");
  g_assert_false(hook.full_audio.has_value());
  assert_text_equal(storage_directory(hook.caller_phone, hook.conversation_id),
                    "+16129782029");
}

void test_phone_from_external_number() {
  std::string body = replace(kTranscription, R"("system__caller_id": "+16129782029",)", "");
  Webhook hook = parsed(body);
  assert_text_equal(hook.caller_phone, "+16125550000");
  g_assert_true(hook.caller_phone_source == PhoneSource::kExternalNumber);
}

void test_phone_empty_caller_id_falls_back() {
  std::string body = replace(kTranscription, R"("system__caller_id": "+16129782029")",
                             R"("system__caller_id": "")");
  Webhook hook = parsed(body);
  assert_text_equal(hook.caller_phone, "+16125550000");
  g_assert_true(hook.caller_phone_source == PhoneSource::kExternalNumber);
  body = replace(kTranscription, R"("system__caller_id": "+16129782029")",
                 R"("system__caller_id": null)");
  assert_text_equal(parsed(body).caller_phone, "+16125550000");
}

void test_phone_none_uses_conversation_id() {
  constexpr std::string_view body = R"({"type":"post_call_transcription",
    "event_timestamp":1739537297,
    "data":{"agent_id":"xyz","conversation_id":"conv_web_only","status":"done",
            "transcript":[],"metadata":{"start_time_unix_secs":1739537297,
            "call_duration_secs":5},
            "conversation_initiation_client_data":{"dynamic_variables":{}}}})";
  Webhook hook = parsed(body);
  assert_text_equal(hook.caller_phone, "");
  g_assert_true(hook.caller_phone_source == PhoneSource::kNone);
  assert_text_equal(hook.called_number, "");
  assert_text_equal(hook.direction, "");
  g_assert_false(hook.has_audio.has_value());
  assert_text_equal(storage_directory(hook.caller_phone, hook.conversation_id),
                    "conv_web_only");
}

void test_called_number_from_agent_number() {
  std::string body = replace(kTranscription, R"("system__called_number": "+15550001111",)",
                             "");
  body = replace(body, R"("agent_number": "+15550001111")", R"("agent_number": "+15550002222")");
  assert_text_equal(parsed(body).called_number, "+15550002222");
}

void test_numbers_as_strings() {
  std::string body = replace(kTranscription, R"("call_duration_secs": 22)",
                             R"("call_duration_secs": "22")");
  body = replace(body, R"("event_timestamp": 1739537297)", R"("event_timestamp": "1739537297")");
  Webhook hook = parsed(body);
  g_assert_cmpint(*hook.call_duration_secs, ==, 22);
  g_assert_cmpint(*hook.event_timestamp, ==, 1739537297);
}

void test_malformed_number_left_out() {
  std::string body = replace(kTranscription, R"("call_duration_secs": 22)",
                             R"("call_duration_secs": "twenty")");
  Webhook hook = parsed(body);
  g_assert_false(hook.call_duration_secs.has_value());
  assert_text_equal(hook.conversation_id, "conv_0901k9nsfrp6e4s9d81jt0jhe75n");
}

void test_recording_url_in_payload() {
  std::string body = replace(kTranscription, R"("has_audio": true,)",
                             R"("recording_url": "https://storage.example.com/r/conv_0901.mp3",
                                "has_audio": true,)");
  assert_text_equal(parsed(body).recording_url,
                    "https://storage.example.com/r/conv_0901.mp3");
}

// --- post_call_audio ------------------------------------------------------------------

std::string audio_body(std::string_view base64, std::string_view before = "",
                       std::string_view after = "") {
  return std::string(R"({"type":"post_call_audio","event_timestamp":1739537400,)") +
         R"("data":{)" + std::string(before) +
         R"("agent_id":"xyz","conversation_id":"conv_0901k9nsfrp6e4s9d81jt0jhe75n",)" +
         R"("full_audio":")" + std::string(base64) + "\"" + std::string(after) + "}}";
}

std::string located(const std::string &body, const Webhook &hook) {
  g_assert_true(hook.full_audio.has_value());
  return body.substr(hook.full_audio->offset, hook.full_audio->length);
}

void test_audio_located() {
  std::string body = audio_body("SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjYwLjMuMTAw");
  Webhook hook = parsed(body);
  g_assert_true(hook.type == WebhookType::kPostCallAudio);
  assert_text_equal(hook.conversation_id, "conv_0901k9nsfrp6e4s9d81jt0jhe75n");
  assert_text_equal(hook.agent_id, "xyz");
  g_assert_cmpint(*hook.event_timestamp, ==, 1739537400);
  assert_text_equal(located(body, hook), "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjYwLjMuMTAw");
  assert_text_equal(hook.caller_phone, "");
}

void test_audio_located_with_whitespace_and_order() {
  std::string body =
      "{\n  \"data\" : {\n    \"full_audio\" :\n \"QUJD\" ,\n"
      "    \"conversation_id\" : \"c1\"\n  },\n  \"type\" : \"post_call_audio\"\n}\n";
  Webhook hook = parsed(body);
  assert_text_equal(located(body, hook), "QUJD");
}

// A transcript-like string holding the member's text must not be taken.
void test_audio_name_inside_strings_ignored() {
  std::string body = audio_body(
      "QUJD", R"("note":"\"full_audio\":\"WFla\" {[","metadata":{"full_audio":"WFla"},)");
  Webhook hook = parsed(body);
  assert_text_equal(located(body, hook), "QUJD");
}

// The blanked string never reaches json-glib: a URL there is not found.
void test_audio_never_parsed_by_json_glib() {
  std::string body = audio_body("https://cdn.example.com/audio.mp3");
  Webhook hook = parsed(body);
  assert_text_equal(hook.recording_url, "");
  assert_text_equal(located(body, hook), "https://cdn.example.com/audio.mp3");
}

void assert_parse_error(std::string_view body, const char *want) {
  auto result = parse_webhook(body);
  const auto *error = std::get_if<ParseError>(&result);
  if (error == nullptr)
    g_error("parsed, want error \"%s\"", want);
  if (error->reason.find(want) == std::string::npos)
    g_error("error \"%s\" does not say \"%s\"", error->reason.c_str(), want);
  for (char c : error->reason)
    g_assert_true(static_cast<unsigned char>(c) >= 0x20);
}

void test_audio_errors() {
  assert_parse_error(audio_body("QUJD", "", R"(,"full_audio":"QUJD")"),
                     "data.full_audio appears twice");
  assert_parse_error(audio_body(R"(QU\/D)"), "data.full_audio holds JSON escapes");
  assert_parse_error(audio_body(""), "data.full_audio is empty");
  assert_parse_error(
      R"({"type":"post_call_audio","data":{"conversation_id":"c","full_audio":7}})",
      "data.full_audio is not a string");
  assert_parse_error(
      R"({"type":"post_call_audio","data":{"conversation_id":"c","metadata":{"full_audio":"QUJD"}}})",
      "post_call_audio without data.full_audio");
  assert_parse_error(
      R"({"type":"post_call_audio","data":{"conversation_id":"c","full\u005faudio":"QUJD"}})",
      "data.full_audio is not where the scan looks");
}

std::vector<uint8_t> random_bytes(size_t size, guint32 seed) {
  g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
  std::vector<uint8_t> bytes(size);
  for (uint8_t &byte : bytes)
    byte = static_cast<uint8_t>(g_rand_int_range(rand, 0, 256));
  return bytes;
}

std::vector<uint8_t> decode_all(std::string_view b64, size_t *largest_piece = nullptr) {
  std::vector<uint8_t> out;
  std::string error;
  bool ok = decode_base64_to(b64, [&](const uint8_t *data, size_t size) {
    if (largest_piece != nullptr)
      *largest_piece = std::max(*largest_piece, size);
    out.insert(out.end(), data, data + size);
    return true;
  }, &error);
  if (!ok)
    g_error("decode failed: %s", error.c_str());
  return out;
}

// A 20 MB recording: located, decoded from the body, byte-exact.
void test_audio_20_mb() {
  std::vector<uint8_t> mp3 = random_bytes(20 * 1024 * 1024, 7);
  g_autofree gchar *b64 = g_base64_encode(mp3.data(), mp3.size());
  std::string body = audio_body(b64);
  Webhook hook = parsed(body);
  std::string_view text(body);
  size_t largest = 0;
  std::vector<uint8_t> decoded =
      decode_all(text.substr(hook.full_audio->offset, hook.full_audio->length), &largest);
  g_assert_cmpmem(decoded.data(), decoded.size(), mp3.data(), mp3.size());
  g_assert_cmpuint(largest, <=, 48 * 1024);
}

// --- call_initiation_failure and unknown types -------------------------------------------

void test_call_initiation_failure_twilio() {
  constexpr std::string_view body = R"({"type":"call_initiation_failure",
    "event_timestamp":1759931652,
    "data":{"agent_id":"agent_01","conversation_id":"conv_fail_01","failure_reason":"busy",
            "metadata":{"type":"twilio","body":{"CallSid":"CAfail","To":"+15551234567",
              "From":"+15557654321","Direction":"outbound-api","CallStatus":"busy",
              "SipResponseCode":"486"}}}})";
  Webhook hook = parsed(body);
  g_assert_true(hook.type == WebhookType::kCallInitiationFailure);
  assert_text_equal(hook.failure_reason, "busy");
  assert_text_equal(hook.conversation_id, "conv_fail_01");
  assert_text_equal(hook.caller_phone, "+15551234567");
  g_assert_true(hook.caller_phone_source == PhoneSource::kFailureBody);
  assert_text_equal(hook.called_number, "+15557654321");
  assert_text_equal(hook.direction, "outbound-api");
  assert_text_equal(hook.call_sid, "CAfail");
  assert_text_equal(hook.phone_call_type, "twilio");
}

void test_call_initiation_failure_sip() {
  constexpr std::string_view body = R"({"type":"call_initiation_failure",
    "event_timestamp":1759931652,
    "data":{"agent_id":"agent_01","conversation_id":"conv_fail_02",
            "failure_reason":"no-answer",
            "metadata":{"type":"sip","body":{"sip_status_code":480,
              "to_number":"+441234567890","from_number":"+441111111111"}}}})";
  Webhook hook = parsed(body);
  assert_text_equal(hook.failure_reason, "no-answer");
  assert_text_equal(hook.caller_phone, "+441234567890");
  assert_text_equal(hook.called_number, "+441111111111");
  assert_text_equal(hook.phone_call_type, "sip");
}

// The failure body is only read for failures.
void test_failure_body_ignored_for_transcription() {
  constexpr std::string_view body = R"({"type":"post_call_transcription",
    "data":{"conversation_id":"c","metadata":{"type":"twilio","body":{"To":"+1555"}}}})";
  Webhook hook = parsed(body);
  assert_text_equal(hook.caller_phone, "");
  assert_text_equal(hook.phone_call_type, "");
}

void test_unknown_type() {
  Webhook hook = parsed(
      R"({"type":"voice_removal_notice","event_timestamp":1,"data":{"voice_id":"v"}})");
  g_assert_true(hook.type == WebhookType::kUnknown);
  assert_text_equal(hook.type_name, "voice_removal_notice");
  assert_text_equal(hook.conversation_id, "");
}

// --- hostile bodies --------------------------------------------------------------------------

struct ErrorCase {
  const char *path;
  std::string_view body;
  const char *want;
};

const ErrorCase kErrorCases[] = {
  {"/elevenlabs/webhook/error/empty", "", "not JSON: empty body"},
  {"/elevenlabs/webhook/error/not-json", "type=post_call_audio", "not JSON"},
  {"/elevenlabs/webhook/error/array", R"([{"type":"post_call_audio"}])",
   "not a JSON object"},
  {"/elevenlabs/webhook/error/no-type", R"({"data":{"conversation_id":"c"}})",
   "no \"type\" string"},
  {"/elevenlabs/webhook/error/type-number", R"({"type":3,"data":{}})",
   "no \"type\" string"},
  {"/elevenlabs/webhook/error/no-data", R"({"type":"post_call_transcription"})",
   "no \"data\" object"},
  {"/elevenlabs/webhook/error/data-string",
   R"({"type":"post_call_transcription","data":"x"})", "no \"data\" object"},
  {"/elevenlabs/webhook/error/no-conversation-id",
   R"({"type":"post_call_transcription","data":{"agent_id":"a"}})",
   "post_call_transcription without a data.conversation_id string"},
  {"/elevenlabs/webhook/error/conversation-id-number",
   R"({"type":"call_initiation_failure","data":{"conversation_id":12}})",
   "call_initiation_failure without a data.conversation_id string"},
  {"/elevenlabs/webhook/error/conversation-id-empty",
   R"({"type":"post_call_audio","data":{"conversation_id":"","full_audio":"QUJD"}})",
   "post_call_audio without a data.conversation_id string"},
  {"/elevenlabs/webhook/error/nul-byte",
   "{\"type\":\"post_call_transcription\",\"data\":{\"conversation_id\":\"a\0b\"}}"sv,
   "not JSON: NUL byte"},
  {"/elevenlabs/webhook/error/invalid-utf8",
   "{\"type\":\"post_call_transcription\",\"data\":{\"conversation_id\":\"\xc3\x28\"}}",
   "not JSON"},
  {"/elevenlabs/webhook/error/unterminated-audio",
   R"({"type":"post_call_audio","data":{"conversation_id":"c","full_audio":"QUJD)",
   "not JSON"},
};

void test_error(gconstpointer data) {
  const auto &c = *static_cast<const ErrorCase *>(data);
  assert_parse_error(c.body, c.want);
}

void test_deep_nesting() {
  std::string brackets(100000, '[');
  assert_parse_error(brackets, "nested too deeply");
  std::string objects = R"({"type":"post_call_audio","data":)";
  for (int i = 0; i < 70; i++)
    objects += R"({"a":)";
  assert_parse_error(objects, "nested too deeply");
}

// Every prefix of a real body: refused, never a crash.
void test_fragments() {
  for (size_t length = 0; length < kTranscription.size(); length++) {
    auto result = parse_webhook(kTranscription.substr(0, length));
    g_assert_true(std::holds_alternative<ParseError>(result));
  }
}

void test_huge_strings() {
  std::string summary(4 * 1024 * 1024, 'x');
  std::string body = replace(kTranscription,
                             "The conversation begins with the agent asking how Angelo is.",
                             summary);
  Webhook hook = parsed(body);
  g_assert_cmpuint(hook.transcript_summary.size(), ==, summary.size());
  std::string id(1000000, 'a');
  Webhook long_id = parsed(
      R"({"type":"post_call_transcription","data":{"conversation_id":")" + id + "\"}}");
  g_assert_cmpuint(transcription_file_name(long_id.conversation_id).size(), <=, 200);
}

// --- base64 ------------------------------------------------------------------------------------

void test_base64_matches_glib() {
  g_autoptr(GRand) rand = g_rand_new_with_seed(42);
  std::vector<size_t> sizes = {0, 1, 2, 3, 4, 5, 48 * 1024 - 1, 48 * 1024, 48 * 1024 + 1,
                               48 * 1024 * 2, 200003};
  for (int i = 0; i < 40; i++)
    sizes.push_back(static_cast<size_t>(g_rand_int_range(rand, 0, 400000)));
  for (size_t size : sizes) {
    std::vector<uint8_t> bytes = random_bytes(size, static_cast<guint32>(size));
    g_autofree gchar *b64 = g_base64_encode(bytes.data(), bytes.size());
    gsize glib_size = 0;
    g_autofree guchar *glib = g_base64_decode(b64, &glib_size);
    size_t largest = 0;
    std::vector<uint8_t> ours = decode_all(b64, &largest);
    g_assert_cmpmem(ours.data(), ours.size(), glib, glib_size);
    g_assert_cmpmem(ours.data(), ours.size(), bytes.data(), bytes.size());
    g_assert_cmpuint(largest, <=, 48 * 1024);
  }
}

struct Base64ErrorCase {
  const char *path;
  std::string_view b64;
  const char *want;
};

const Base64ErrorCase kBase64ErrorCases[] = {
  {"/elevenlabs/base64/error/length", "QUJDR", "base64 length 5 is not a multiple of 4"},
  {"/elevenlabs/base64/error/unpadded", "QQ", "base64 length 2 is not a multiple of 4"},
  {"/elevenlabs/base64/error/three-pads", "Q===", "'=' padding at offset 1 before the end"},
  {"/elevenlabs/base64/error/pad-inside", "QQ==QUJD", "'=' padding at offset 2"},
  {"/elevenlabs/base64/error/newline", "QUJD\nQUJ", "byte 0x0a at offset 4 is not base64"},
  {"/elevenlabs/base64/error/url-alphabet", "QU-_", "byte 0x2d at offset 2 is not base64"},
  {"/elevenlabs/base64/error/non-ascii", "QU\xc3\xa9", "byte 0xc3 at offset 2"},
  {"/elevenlabs/base64/error/nul", "QU\0D"sv, "byte 0x00 at offset 2"},
  {"/elevenlabs/base64/error/backslash", R"(QU\/)", "byte 0x5c at offset 2"},
};

void test_base64_error(gconstpointer data) {
  const auto &c = *static_cast<const Base64ErrorCase *>(data);
  int calls = 0;
  std::string error;
  g_assert_false(decode_base64_to(c.b64, [&calls](const uint8_t *, size_t) {
    calls++;
    return true;
  }, &error));
  g_assert_cmpint(calls, ==, 0);
  if (error.find(c.want) == std::string::npos)
    g_error("error \"%s\" does not say \"%s\"", error.c_str(), c.want);
  // No error string wanted: still false.
  g_assert_false(decode_base64_to(c.b64, [](const uint8_t *, size_t) { return true; },
                                  nullptr));
}

void test_base64_padding_accepted() {
  auto one = decode_all("QQ==");
  g_assert_cmpuint(one.size(), ==, 1);
  g_assert_cmpint(one[0], ==, 'A');
  auto two = decode_all("QUI=");
  g_assert_cmpmem(two.data(), two.size(), "AB", 2);
}

void test_base64_sink_stops() {
  std::vector<uint8_t> bytes = random_bytes(200000, 3);
  g_autofree gchar *b64 = g_base64_encode(bytes.data(), bytes.size());
  int calls = 0;
  std::string error;
  g_assert_false(decode_base64_to(b64, [&calls](const uint8_t *, size_t) {
    calls++;
    return false;
  }, &error));
  g_assert_cmpint(calls, ==, 1);
  g_assert_nonnull(strstr(error.c_str(), "could not be stored"));
}

// --- recording URLs -------------------------------------------------------------------------------

struct UrlCase {
  const char *path;
  std::string_view json;
  const char *want;
};

const UrlCase kUrlCases[] = {
  {"/elevenlabs/recording-url/top-level",
   R"({"conversation_id":"c1","recording_url":"https://r.example.com/c1"})",
   "https://r.example.com/c1"},
  {"/elevenlabs/recording-url/known-key-order",
   R"({"playback_url":"https://p.example.com/x","audio_url":"https://a.example.com/x"})",
   "https://a.example.com/x"},
  {"/elevenlabs/recording-url/camel-case", R"({"recordingUrl":"http://r.example.com/1"})",
   "http://r.example.com/1"},
  {"/elevenlabs/recording-url/download-url",
   R"({"status":"done","download_url":"https://dl.example.com/c1"})",
   "https://dl.example.com/c1"},
  {"/elevenlabs/recording-url/in-metadata",
   R"({"conversation_id":"c1","metadata":{"recording_url":"https://m.example.com/c1"}})",
   "https://m.example.com/c1"},
  {"/elevenlabs/recording-url/in-analysis",
   R"({"analysis":{"audio_url":"https://an.example.com/c1"},"metadata":{}})",
   "https://an.example.com/c1"},
  {"/elevenlabs/recording-url/in-data",
   R"({"type":"post_call_transcription","data":{"recording_url":"https://d.example.com/1"}})",
   "https://d.example.com/1"},
  {"/elevenlabs/recording-url/object-with-url",
   R"({"recording":{"url":"https://o.example.com/rec","format":"mp3"}})",
   "https://o.example.com/rec"},
  {"/elevenlabs/recording-url/object-with-href",
   R"({"audio":{"href":"https://o.example.com/href"}})", "https://o.example.com/href"},
  {"/elevenlabs/recording-url/in-transcript-turn",
   R"({"transcript":[{"role":"agent","message":"hi"},
                     {"role":"user","audio_url":"https://t.example.com/turn2"}]})",
   "https://t.example.com/turn2"},
  {"/elevenlabs/recording-url/shallowest-known-key-wins",
   R"({"metadata":{"deep":{"recording_url":"https://deep.example.com/1"}},
       "analysis":{"recording_url":"https://shallow.example.com/1"}})",
   "https://shallow.example.com/1"},
  {"/elevenlabs/recording-url/known-key-beats-extension",
   R"({"files":["https://x.example.com/a.mp3"],"metadata":{"audio_url":"https://k.example.com/a"}})",
   "https://k.example.com/a"},
  {"/elevenlabs/recording-url/extension-anywhere",
   R"({"metadata":{"storage":{"files":["https://cdn.example.com/calls/Call.MP3?sig=abc#t=1"]}}})",
   "https://cdn.example.com/calls/Call.MP3?sig=abc#t=1"},
  {"/elevenlabs/recording-url/extension-wav",
   R"({"attachments":{"x":"https://cdn.example.com/a.wav"}})", "https://cdn.example.com/a.wav"},
  {"/elevenlabs/recording-url/extension-m4a-in-array",
   R"([{"n":1},{"u":"https://cdn.example.com/a.m4a"}])", "https://cdn.example.com/a.m4a"},
  {"/elevenlabs/recording-url/extension-ogg",
   R"({"links":{"media":"https://cdn.example.com/a.ogg"}})", "https://cdn.example.com/a.ogg"},
  {"/elevenlabs/recording-url/extension-only-in-query",
   R"({"link":"https://cdn.example.com/play?file=a.mp3"})", ""},
  {"/elevenlabs/recording-url/not-audio-extension",
   R"({"avatar":"https://cdn.example.com/face.png"})", ""},
  {"/elevenlabs/recording-url/by-conversation-id",
   R"({"conversation_id":"conv_42","links":["https://api.example.com/v1/convai/conversations/conv_42/audio"]})",
   "https://api.example.com/v1/convai/conversations/conv_42/audio"},
  {"/elevenlabs/recording-url/by-conversation-id-in-data",
   R"({"data":{"conversation_id":"conv_42","x":"https://files.example.com/recordings/conv_42"}})",
   "https://files.example.com/recordings/conv_42"},
  {"/elevenlabs/recording-url/conversation-id-without-audio-word",
   R"({"conversation_id":"conv_42","x":"https://app.example.com/history/conv_42"})", ""},
  {"/elevenlabs/recording-url/known-key-not-a-url",
   R"({"recording_url":"not a url","audio_url":"/relative/path.mp3"})", ""},
  {"/elevenlabs/recording-url/other-scheme",
   R"({"recording_url":"ftp://files.example.com/a.mp3","x":"file:///tmp/a.mp3"})", ""},
  {"/elevenlabs/recording-url/no-host", R"({"recording_url":"https:///a.mp3"})", ""},
  {"/elevenlabs/recording-url/space-in-url",
   R"({"recording_url":"https://a.example.com/a b.mp3"})", ""},
  {"/elevenlabs/recording-url/null-and-numbers",
   R"({"recording_url":null,"audio_url":3,"recording":true})", ""},
  {"/elevenlabs/recording-url/has-audio-no-url",
   R"({"conversation_id":"c1","has_audio":true,"has_user_audio":true,"has_response_audio":true})",
   ""},
  {"/elevenlabs/recording-url/scalar-root", R"("https://a.example.com/a.mp3")", ""},
  {"/elevenlabs/recording-url/not-json", R"({"recording_url":)", ""},
};

void test_url(gconstpointer data) {
  const auto &c = *static_cast<const UrlCase *>(data);
  assert_text_equal(find_recording_url_in_json(c.json), c.want);
}

void test_url_null_node() {
  assert_text_equal(find_recording_url(nullptr), "");
}

void test_url_deep_nesting() {
  std::string deep;
  for (int i = 0; i < 100; i++)
    deep += R"({"a":)";
  assert_text_equal(find_recording_url_in_json(deep), "");
}

// --- file names ----------------------------------------------------------------------------------------

struct NameCase {
  const char *path;
  std::string_view id;
  const char *transcription;
  const char *audio;
};

const NameCase kNameCases[] = {
  {"/elevenlabs/names/plain", "conv_0901k9nsfrp6e4s9d81jt0jhe75n",
   "conv_0901k9nsfrp6e4s9d81jt0jhe75n_transcription.json",
   "conv_0901k9nsfrp6e4s9d81jt0jhe75n_audio.mp3"},
  {"/elevenlabs/names/without-prefix", "0901k9ns", "conv_0901k9ns_transcription.json",
   "conv_0901k9ns_audio.mp3"},
  {"/elevenlabs/names/dot-dot-slash", "../../etc/passwd",
   "conv____.._etc_passwd_transcription.json", "conv____.._etc_passwd_audio.mp3"},
  {"/elevenlabs/names/slashes", "a/b\\c", "conv_a_b_c_transcription.json",
   "conv_a_b_c_audio.mp3"},
  {"/elevenlabs/names/nul", "a\0b"sv, "conv_a_b_transcription.json", "conv_a_b_audio.mp3"},
  {"/elevenlabs/names/empty", "", "conv_unknown_transcription.json",
   "conv_unknown_audio.mp3"},
};

void test_names(gconstpointer data) {
  const auto &c = *static_cast<const NameCase *>(data);
  assert_text_equal(transcription_file_name(c.id), c.transcription);
  assert_text_equal(audio_file_name(c.id), c.audio);
}

void test_names_300_chars() {
  std::string id(300, 'k');
  std::string name = audio_file_name(id);
  assert_text_equal(name, "conv_" + std::string(128, 'k') + "_audio.mp3");
}

void test_storage_directory() {
  assert_text_equal(storage_directory("+16129782029", "c1"), "+16129782029");
  assert_text_equal(storage_directory("", "conv_1"), "conv_1");
  assert_text_equal(storage_directory("..", "c1"), "__");
  assert_text_equal(storage_directory("+1 (612) 978/2029", "c1"), "+1__612__978_2029");
  assert_text_equal(storage_directory("", "../x"), "___x");
  assert_text_equal(storage_directory("", ""), "unknown");
  g_assert_cmpuint(storage_directory(std::string(300, '1'), "").size(), ==, 128);
}

template <typename Case, size_t N>
void add_cases(const Case (&cases)[N], GTestDataFunc test) {
  for (const Case &c : cases)
    g_test_add_data_func(c.path, &c, test);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/elevenlabs/signature/valid", test_signature_valid);
  g_test_add_func("/elevenlabs/signature/uppercase-hex-spaces-any-order",
                  test_signature_uppercase_hex_and_spaces);
  g_test_add_func("/elevenlabs/signature/rotation-any-v0-matches",
                  test_signature_rotation_any_v0_matches);
  g_test_add_func("/elevenlabs/signature/unknown-scheme-ignored",
                  test_signature_unknown_scheme_ignored);
  g_test_add_func("/elevenlabs/signature/missing", test_signature_missing);
  g_test_add_func("/elevenlabs/signature/malformed", test_signature_malformed);
  g_test_add_func("/elevenlabs/signature/stale-31-minutes", test_signature_stale_31_minutes);
  g_test_add_func("/elevenlabs/signature/future", test_signature_future);
  g_test_add_func("/elevenlabs/signature/custom-tolerance", test_signature_custom_tolerance);
  g_test_add_func("/elevenlabs/signature/mismatch", test_signature_mismatch);
  g_test_add_func("/elevenlabs/signature/binary-body", test_signature_binary_body);
  g_test_add_func("/elevenlabs/signature/reasons", test_signature_reasons);

  g_test_add_func("/elevenlabs/webhook/transcription-documented",
                  test_transcription_documented);
  g_test_add_func("/elevenlabs/webhook/phone-from-external-number",
                  test_phone_from_external_number);
  g_test_add_func("/elevenlabs/webhook/phone-empty-caller-id-falls-back",
                  test_phone_empty_caller_id_falls_back);
  g_test_add_func("/elevenlabs/webhook/phone-none-uses-conversation-id",
                  test_phone_none_uses_conversation_id);
  g_test_add_func("/elevenlabs/webhook/called-number-from-agent-number",
                  test_called_number_from_agent_number);
  g_test_add_func("/elevenlabs/webhook/numbers-as-strings", test_numbers_as_strings);
  g_test_add_func("/elevenlabs/webhook/malformed-number-left-out",
                  test_malformed_number_left_out);
  g_test_add_func("/elevenlabs/webhook/recording-url-in-payload",
                  test_recording_url_in_payload);
  g_test_add_func("/elevenlabs/webhook/audio-located", test_audio_located);
  g_test_add_func("/elevenlabs/webhook/audio-located-whitespace-order",
                  test_audio_located_with_whitespace_and_order);
  g_test_add_func("/elevenlabs/webhook/audio-name-inside-strings-ignored",
                  test_audio_name_inside_strings_ignored);
  g_test_add_func("/elevenlabs/webhook/audio-never-parsed-by-json-glib",
                  test_audio_never_parsed_by_json_glib);
  g_test_add_func("/elevenlabs/webhook/audio-errors", test_audio_errors);
  g_test_add_func("/elevenlabs/webhook/audio-20-mb", test_audio_20_mb);
  g_test_add_func("/elevenlabs/webhook/call-initiation-failure-twilio",
                  test_call_initiation_failure_twilio);
  g_test_add_func("/elevenlabs/webhook/call-initiation-failure-sip",
                  test_call_initiation_failure_sip);
  g_test_add_func("/elevenlabs/webhook/failure-body-ignored-for-transcription",
                  test_failure_body_ignored_for_transcription);
  g_test_add_func("/elevenlabs/webhook/unknown-type", test_unknown_type);
  add_cases(kErrorCases, test_error);
  g_test_add_func("/elevenlabs/webhook/error/deep-nesting", test_deep_nesting);
  g_test_add_func("/elevenlabs/webhook/error/every-prefix", test_fragments);
  g_test_add_func("/elevenlabs/webhook/huge-strings", test_huge_strings);

  g_test_add_func("/elevenlabs/base64/matches-g-base64-decode", test_base64_matches_glib);
  add_cases(kBase64ErrorCases, test_base64_error);
  g_test_add_func("/elevenlabs/base64/padding-accepted", test_base64_padding_accepted);
  g_test_add_func("/elevenlabs/base64/sink-stops", test_base64_sink_stops);

  add_cases(kUrlCases, test_url);
  g_test_add_func("/elevenlabs/recording-url/null-node", test_url_null_node);
  g_test_add_func("/elevenlabs/recording-url/deep-nesting", test_url_deep_nesting);

  add_cases(kNameCases, test_names);
  g_test_add_func("/elevenlabs/names/300-chars", test_names_300_chars);
  g_test_add_func("/elevenlabs/names/storage-directory", test_storage_directory);
  return g_test_run();
}
