// Twilio Media Streams WebSocket messages (shared PROTOCOLS.md section 2),
// parsed from one text frame. No GStreamer in here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace callstream::twilio {

// Twilio documents one format, G.711 u-law 8 kHz mono.
enum class Encoding { Mulaw };

struct MediaFormat {
  // nullopt when encoding_name is none this code decodes: the start still
  // parses, so the element can refuse the call and say which name it got.
  std::optional<Encoding> encoding = Encoding::Mulaw;
  std::string encoding_name;   // as sent; empty when absent
  int sample_rate = 8000;      // Hz; Twilio's documented rate when absent
  int channels = 1;            // as sent, 1..64; mono when absent
};

struct Connected {
  std::string protocol;        // "Call"; empty when absent
  std::string version;         // "1.0.0"; empty when absent
};

struct Start {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string account_sid;
  std::string call_sid;
  // As sent ("inbound", "outbound"), in order; empty when absent.
  std::vector<std::string> tracks;
  // In the order sent; values that were JSON numbers or booleans as text.
  std::vector<std::pair<std::string, std::string>> custom_parameters;
  MediaFormat media_format;
};

struct Media {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string track = "inbound";  // as sent; "inbound" when absent
  std::optional<int64_t> chunk;
  std::optional<int64_t> timestamp_ms;  // since the stream started
  std::string payload;         // base64, still encoded
};

struct Dtmf {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string track;           // as sent, "inbound_track"; empty when absent
  std::string digit;
};

// Twilio's echo of a mark we sent: the audio before it has played.
struct Mark {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string name;
};

struct Stop {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;
  std::string account_sid;
  std::string call_sid;
};

// A well-formed message with an event this code does not know.
struct Unknown {
  std::string event;
};

// Why a text frame is not a usable message: one line for a warning. Fields
// are named as Twilio spells them ("sequenceNumber is not an integer").
struct ParseError {
  std::string reason;
};

using Message =
    std::variant<ParseError, Connected, Start, Media, Dtmf, Mark, Stop, Unknown>;

// Accepts every variant in PROTOCOLS.md: numbers as JSON numbers or decimal
// strings, camelCase or snake_case names (streamSid or stream_sid), ids at
// the top level or nested. An unknown encoding name is not an error (see
// MediaFormat); a sample rate outside 1..384000 Hz or channels outside 1..64
// is. A stop is always a Stop, whatever else it carries. Never throws.
Message parse_message(std::string_view text);

// The same with json-glib alone. parse_message reads the plain media frame
// and mark echo (nearly all traffic) with simdjson first (plain_media.h) and
// comes here for everything else; this is the reference that path is checked
// against (unit tests, the fuzz-plain-media target).
Message parse_message_with_json_glib(std::string_view text);

// The encoding for a mediaFormat.encoding value, ignoring case:
// "audio/x-mulaw", "mulaw", "ulaw", "pcmu", "audio/pcmu", "g711_ulaw", and
// "" (absent: Twilio's documented u-law). nullopt for anything else.
std::optional<Encoding> encoding_from_name(std::string_view name);

}  // namespace callstream::twilio
