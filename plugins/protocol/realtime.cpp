// Client events as strings (one per 20 ms of caller audio, so no json-glib
// tree per frame); server events read with the defensive json_fields helpers.
#include "protocol/realtime.h"

#include "protocol/base64.h"
#include "protocol/json_fields.h"
#include "protocol/outbound.h"

#include <glib.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace callstream::realtime {

using namespace json_fields;
using outbound::append_json_string;

namespace {

constexpr int kPcmRate = 24000;

// Shortest text that reads back as @value; 0 for NaN or infinity, which JSON
// cannot carry.
void append_number(std::string &out, double value) {
  if (!std::isfinite(value))
    value = 0;
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  if (error != std::errc{}) {
    out += '0';
    return;
  }
  out.append(text, end);
}

void append_format(std::string &out, AudioFormat format) {
  out += R"({"type":")";
  out += format_type(format);
  out += '"';
  if (format == AudioFormat::Pcm24k)
    out += R"(,"rate":)" + std::to_string(kPcmRate);
  out += '}';
}

std::string text_member(JsonObject *obj, const char *name) {
  return scalar_text(member(obj, name));
}

int64_t integer_member(JsonObject *obj, const char *name) {
  return read_integer(member(obj, name)).value.value_or(0);
}

ServerEvent parse_delta(JsonObject *root) {
  JsonNode *delta = member(root, "delta");
  if (value_type(delta) != G_TYPE_STRING)
    return ParseError{"audio delta without a \"delta\" string"};
  AudioDelta event;
  event.item_id = text_member(root, "item_id");
  if (event.item_id.empty())
    return ParseError{"audio delta without an \"item_id\""};
  event.response_id = text_member(root, "response_id");
  event.output_index = integer_member(root, "output_index");
  event.content_index = integer_member(root, "content_index");
  event.delta = string_of(delta);
  return event;
}

ServerEvent parse_error(JsonObject *root) {
  Error event;
  JsonObject *error = object_member(root, "error");
  if (error == nullptr) {
    // Not the documented shape; keep whatever explains it.
    event.message = value_text(member(root, "error"));
    return event;
  }
  event.type = text_member(error, "type");
  event.code = text_member(error, "code");
  event.message = text_member(error, "message");
  event.param = text_member(error, "param");
  event.event_id = text_member(error, "event_id");
  return event;
}

std::string session_id(JsonObject *root) {
  return text_member(object_member(root, "session"), "id");
}

}  // namespace

const char *format_type(AudioFormat format) {
  return format == AudioFormat::Pcm24k ? "audio/pcm" : "audio/pcmu";
}

std::string session_update(const SessionConfig &config) {
  std::string out;
  out.reserve(384 + config.instructions.size());
  out += R"({"type":"session.update","session":{"type":"realtime","model":)";
  append_json_string(out, config.model);
  out += R"(,"output_modalities":["audio"])";
  if (!config.instructions.empty()) {
    out += R"(,"instructions":)";
    append_json_string(out, config.instructions);
  }
  out += R"(,"audio":{"input":{"format":)";
  append_format(out, config.format);
  if (!config.transcription_model.empty()) {
    out += R"(,"transcription":{"model":)";
    append_json_string(out, config.transcription_model);
    out += '}';
  }
  out += R"(,"turn_detection":{"type":"server_vad","threshold":)";
  append_number(out, config.vad_threshold);
  out += R"(,"prefix_padding_ms":)" + std::to_string(config.prefix_padding_ms);
  out += R"(,"silence_duration_ms":)" + std::to_string(config.silence_duration_ms);
  out += R"(}},"output":{"format":)";
  append_format(out, config.format);
  if (!config.voice.empty()) {
    out += R"(,"voice":)";
    append_json_string(out, config.voice);
  }
  out += "}}}}";
  return out;
}

std::string input_audio_append(const uint8_t *audio, size_t size) {
  constexpr std::string_view kHead = R"({"type":"input_audio_buffer.append","audio":")";
  constexpr std::string_view kTail = "\"}";
  std::string out;
  out.resize(kHead.size() + base64_encoded_size(size) + kTail.size());
  char *at = std::copy(kHead.begin(), kHead.end(), out.data());
  at = base64_encode_into(audio, size, at);
  std::copy(kTail.begin(), kTail.end(), at);
  return out;
}

std::string response_create(std::string_view instructions) {
  if (instructions.empty())
    return R"({"type":"response.create"})";
  std::string out = R"({"type":"response.create","response":{"instructions":)";
  append_json_string(out, instructions);
  out += "}}";
  return out;
}

std::string item_truncate(std::string_view item_id, int64_t audio_end_ms) {
  std::string out = R"({"type":"conversation.item.truncate","item_id":)";
  append_json_string(out, item_id);
  out += R"(,"content_index":0,"audio_end_ms":)";
  out += std::to_string(audio_end_ms);
  out += '}';
  return out;
}

bool is_handled_event_type(std::string_view type) {
  static constexpr std::string_view kHandled[] = {
      "response.output_audio.delta",
      "response.audio.delta",
      "response.output_audio.done",
      "response.audio.done",
      "response.done",
      "input_audio_buffer.speech_started",
      "input_audio_buffer.speech_stopped",
      "conversation.item.input_audio_transcription.completed",
      "response.output_audio_transcript.done",
      "response.audio_transcript.done",
      "error",
      "session.created",
      "session.updated",
  };
  return std::find(std::begin(kHandled), std::end(kHandled), type) != std::end(kHandled);
}

ServerEvent parse_server_event(std::string_view text) {
  if (text.empty())
    return ParseError{"not JSON: empty text"};
  if (auto reason = raw_text_problem(text))
    return ParseError{*reason};
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = nullptr;
  if (!json_parser_load_from_data(parser, text.data(),
                                  static_cast<gssize>(text.size()), &error))
    return ParseError{"not JSON: " + quoted(error != nullptr ? error->message : "")};
  JsonNode *root_node = json_parser_get_root(parser);
  if (root_node == nullptr || !JSON_NODE_HOLDS_OBJECT(root_node))
    return ParseError{"not a JSON object"};
  JsonObject *root = json_node_get_object(root_node);
  JsonNode *type_node = member(root, "type");
  if (value_type(type_node) != G_TYPE_STRING)
    return ParseError{"no \"type\" string"};
  const std::string_view type = string_of(type_node);

  if (type == "response.output_audio.delta" || type == "response.audio.delta")
    return parse_delta(root);
  if (type == "response.output_audio.done" || type == "response.audio.done")
    return AudioDone{text_member(root, "response_id"), text_member(root, "item_id")};
  if (type == "response.done") {
    JsonObject *response = object_member(root, "response");
    return ResponseDone{text_member(response, "id"), text_member(response, "status")};
  }
  if (type == "input_audio_buffer.speech_started")
    return SpeechStarted{integer_member(root, "audio_start_ms"),
                         text_member(root, "item_id")};
  if (type == "input_audio_buffer.speech_stopped")
    return SpeechStopped{integer_member(root, "audio_end_ms"),
                         text_member(root, "item_id")};
  if (type == "conversation.item.input_audio_transcription.completed")
    return CallerTranscript{text_member(root, "item_id"),
                            text_member(root, "transcript")};
  if (type == "response.output_audio_transcript.done" ||
      type == "response.audio_transcript.done")
    return ModelTranscript{text_member(root, "response_id"),
                           text_member(root, "item_id"),
                           text_member(root, "transcript")};
  if (type == "error")
    return parse_error(root);
  if (type == "session.created")
    return SessionCreated{session_id(root)};
  if (type == "session.updated")
    return SessionUpdated{session_id(root)};
  return Unknown{std::string(type)};
}

}  // namespace callstream::realtime
