// Exotel AgentStream / Voicebot WebSocket messages (shared PROTOCOLS.md
// section 1), parsed from one text frame. No GStreamer in here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace callstream::exotel {

enum class Encoding { Pcm16, Mulaw };

struct MediaFormat {
  Encoding encoding = Encoding::Pcm16;
  std::string encoding_name;   // as sent; empty when absent
  int sample_rate = 8000;      // Hz; Exotel's default when absent
  int bit_rate = 0;            // as sent; 0 when absent
};

struct Connected {};

struct Start {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string call_sid;
  std::string account_sid;
  std::string from;
  std::string to;
  // In the order sent; values that were JSON numbers or booleans as text.
  std::vector<std::pair<std::string, std::string>> custom_parameters;
  MediaFormat media_format;
};

struct Media {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::optional<int64_t> chunk;
  std::optional<int64_t> timestamp_ms;
  std::string payload;         // base64, still encoded
};

struct Dtmf {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string digit;
  std::optional<int64_t> duration_ms;
};

struct Mark {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string name;
};

struct Stop {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string call_sid;
  std::string account_sid;
  std::string reason;          // "stopped", "callended", or as sent
};

// A well-formed message with an event this code does not know.
struct Unknown {
  std::string event;
};

// Why a text frame is not a usable message: one line for a warning.
struct ParseError {
  std::string reason;
};

using Message =
    std::variant<ParseError, Connected, Start, Media, Dtmf, Mark, Stop, Unknown>;

// Accepts every variant in PROTOCOLS.md: numbers as JSON numbers or strings,
// snake_case or camelCase ids, every documented encoding name, any sample
// rate from 1 to 384000 Hz. Never throws.
Message parse_message(std::string_view text);

// The same with json-glib alone. parse_message reads the plain media frame
// (nearly all traffic) with simdjson first (plain_media.h) and comes here for
// everything else; this is the reference that path is checked against
// (unit tests, the fuzz-plain-media target).
Message parse_message_with_json_glib(std::string_view text);

// The encoding for a media_format.encoding value; nullopt if unsupported.
// Empty means absent and gives the default, PCM16.
std::optional<Encoding> encoding_from_name(std::string_view name);

}  // namespace callstream::exotel
