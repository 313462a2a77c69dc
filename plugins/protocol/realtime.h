// OpenAI Realtime API WebSocket messages, GA shape (shared PROTOCOLS.md
// section 3): the client events a phone bridge sends, built as strings, and
// the server events it reads, parsed from one text frame. No GStreamer here.
//
// Output is compact JSON with the members in this order, byte for byte:
//   session_update      {"type":"session.update","session":{"type":"realtime",
//                        "model":M,"output_modalities":["audio"],
//                        "instructions":I,               (only when not empty)
//                        "audio":{"input":{"format":F,
//                        "transcription":{"model":T},    (only when T not empty)
//                        "turn_detection":{"type":"server_vad","threshold":X,
//                        "prefix_padding_ms":P,"silence_duration_ms":S}},
//                        "output":{"format":F,"voice":V}}}}  (voice only when set)
//                        where F is {"type":"audio/pcmu"} or
//                        {"type":"audio/pcm","rate":24000}
//   input_audio_append  {"type":"input_audio_buffer.append","audio":"B64"}
//   response_create     {"type":"response.create"} or, with instructions,
//                        {"type":"response.create","response":{"instructions":I}}
//   item_truncate       {"type":"conversation.item.truncate","item_id":ID,
//                        "content_index":0,"audio_end_ms":N}
// Strings are escaped as outbound::append_json_string does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace callstream::realtime {

// The two families a phone bridge uses: G.711 u-law 8 kHz as the telephony
// side sends it, or PCM16 at the only rate the API takes (24 kHz).
enum class AudioFormat { Pcmu, Pcm24k };

// Wire name: "audio/pcmu" or "audio/pcm".
const char *format_type(AudioFormat format);

struct SessionConfig {
  std::string model = "gpt-realtime";
  AudioFormat format = AudioFormat::Pcmu;
  std::string voice;          // empty: the server's default voice
  std::string instructions;   // empty: left out
  double vad_threshold = 0.5;
  int64_t prefix_padding_ms = 300;
  int64_t silence_duration_ms = 500;
  std::string transcription_model;  // empty: no caller transcripts
};

std::string session_update(const SessionConfig &config);

// @audio base64-encoded straight into the frame.
std::string input_audio_append(const uint8_t *audio, size_t size);

// Asks for a reply now; @instructions (when not empty) steer this reply
// only, which is how a greeting makes the model speak first.
std::string response_create(std::string_view instructions = {});

std::string item_truncate(std::string_view item_id, int64_t audio_end_ms);

// --- server events --------------------------------------------------------

struct SessionCreated {
  std::string session_id;
};

struct SessionUpdated {
  std::string session_id;
};

// response.output_audio.delta, or the older name response.audio.delta.
struct AudioDelta {
  std::string response_id;
  std::string item_id;
  int64_t output_index = 0;
  int64_t content_index = 0;
  std::string delta;  // base64, still encoded
};

// response.output_audio.done (or response.audio.done).
struct AudioDone {
  std::string response_id;
  std::string item_id;
};

struct ResponseDone {
  std::string response_id;
  std::string status;  // "completed", "cancelled", ...; empty when absent
};

struct SpeechStarted {
  int64_t audio_start_ms = 0;
  std::string item_id;
};

struct SpeechStopped {
  int64_t audio_end_ms = 0;
  std::string item_id;
};

// conversation.item.input_audio_transcription.completed: what the caller said.
struct CallerTranscript {
  std::string item_id;
  std::string transcript;
};

// response.output_audio_transcript.done (or response.audio_transcript.done):
// what the model said.
struct ModelTranscript {
  std::string response_id;
  std::string item_id;
  std::string transcript;
};

// error {error{type, code, message, param, event_id}}; absent members empty.
struct Error {
  std::string type;
  std::string code;
  std::string message;
  std::string param;
  std::string event_id;
};

// A well-formed event this code has no use for.
struct Unknown {
  std::string type;
};

// Why a text frame is not a usable event: one line, no control bytes.
struct ParseError {
  std::string reason;
};

using ServerEvent =
    std::variant<ParseError, SessionCreated, SessionUpdated, AudioDelta,
                 AudioDone, ResponseDone, SpeechStarted, SpeechStopped,
                 CallerTranscript, ModelTranscript, Error, Unknown>;

// Never throws. A delta without a "delta" string or an item id is a
// ParseError; numbers may come as JSON numbers or decimal strings.
ServerEvent parse_server_event(std::string_view text);

// Whether parse_server_event reads events of @type into anything but Unknown.
bool is_handled_event_type(std::string_view type);

}  // namespace callstream::realtime
