// Exotel text frames parsed with json-glib. A peer can send anything, so every
// node's shape is checked before use and every failure is a ParseError.
#include "protocol/exotel.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <string>

namespace callstream::exotel {
namespace {

// json-glib 1.6 recurses once per nesting level and overflows the stack on
// input like "[[[[...", so deeper frames are refused before parsing.
constexpr int kMaxNesting = 64;

constexpr int kMaxSampleRate = 384000;

// Wire text quoted in a reason is cut short and kept to printable ASCII so
// the reason stays one short line.
constexpr size_t kMaxQuoted = 40;

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, kMaxQuoted)) {
    bool printable = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    out += printable ? c : '?';
  }
  if (text.size() > kMaxQuoted)
    out += "...";
  out += '"';
  return out;
}

// Why @text cannot be handed to json-glib: a NUL byte, or nesting deeper than
// kMaxNesting. Brackets inside strings are skipped; any miscount is upwards.
std::optional<std::string> raw_text_problem(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (c == '\0')
      return "not JSON: NUL byte in text";
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting)
        return "not JSON: nested too deeply";
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::nullopt;
}

// The member @snake, or @camel when @snake is absent or null; nullptr if
// neither is there. Exotel has been seen sending both spellings.
JsonNode *member(JsonObject *obj, const char *snake, const char *camel = nullptr) {
  if (obj == nullptr)
    return nullptr;
  JsonNode *node = json_object_get_member(obj, snake);
  if ((node == nullptr || JSON_NODE_HOLDS_NULL(node)) && camel != nullptr) {
    if (JsonNode *other = json_object_get_member(obj, camel))
      return other;
  }
  return node;
}

bool is_absent(JsonNode *node) {
  return node == nullptr || JSON_NODE_HOLDS_NULL(node);
}

// The string of a string value node; never null, so it can make a string_view.
const char *string_of(JsonNode *node) {
  const gchar *text = json_node_get_string(node);
  return text != nullptr ? text : "";
}

GType value_type(JsonNode *node) {
  return node != nullptr && JSON_NODE_HOLDS_VALUE(node)
      ? json_node_get_value_type(node) : G_TYPE_INVALID;
}

std::optional<int64_t> integral_double(double value) {
  // 2^63 is exact as a double; the range keeps the cast defined.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(value) || value != std::trunc(value) || value < -kLimit ||
      value >= kLimit)
    return std::nullopt;
  return static_cast<int64_t>(value);
}

// A numeric field: absent (or null) is fine, present but not an integer is
// malformed.
struct Integer {
  std::optional<int64_t> value;
  bool malformed = false;
};

// Accepts a JSON integer, a double with an integral value, or a decimal
// string such as "8000": Exotel sends numbers both ways.
Integer read_integer(JsonNode *node) {
  if (is_absent(node))
    return {};
  GType type = value_type(node);
  if (type == G_TYPE_INT64)
    return {json_node_get_int(node), false};
  if (type == G_TYPE_DOUBLE) {
    auto value = integral_double(json_node_get_double(node));
    return {value, !value};
  }
  if (type == G_TYPE_STRING) {
    std::string_view text = string_of(node);
    int64_t value = 0;
    auto [end, error] =
        std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
      return {std::nullopt, true};
    return {value, false};
  }
  return {std::nullopt, true};
}

ParseError not_an_integer(std::string_view field) {
  return ParseError{std::string(field) + " is not an integer"};
}

// A scalar as text: strings as sent, integers without ".0", booleans as
// "true"/"false"; "" for null, objects and arrays.
std::string scalar_text(JsonNode *node) {
  GType type = value_type(node);
  if (type == G_TYPE_STRING)
    return string_of(node);
  if (type == G_TYPE_INT64)
    return std::to_string(json_node_get_int(node));
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean(node) ? "true" : "false";
  if (type == G_TYPE_DOUBLE) {
    double value = json_node_get_double(node);
    if (auto integral = integral_double(value))
      return std::to_string(*integral);
    char buffer[G_ASCII_DTOSTR_BUF_SIZE];
    return g_ascii_dtostr(buffer, sizeof buffer, value);
  }
  return "";
}

// Any custom parameter value as text; nested objects and arrays as JSON.
std::string value_text(JsonNode *node) {
  if (node != nullptr &&
      (JSON_NODE_HOLDS_OBJECT(node) || JSON_NODE_HOLDS_ARRAY(node))) {
    g_autofree gchar *json = json_to_string(node, FALSE);
    return json != nullptr ? json : "";
  }
  return scalar_text(node);
}

// An id from @first, else from @second: stream_sid comes at the top level or
// nested, depending on the sender.
std::string id_member(JsonObject *first, JsonObject *second, const char *snake,
                      const char *camel = nullptr) {
  std::string id = scalar_text(member(first, snake, camel));
  if (id.empty())
    id = scalar_text(member(second, snake, camel));
  return id;
}

JsonObject *object_member(JsonObject *obj, const char *snake,
                          const char *camel = nullptr) {
  JsonNode *node = member(obj, snake, camel);
  return node != nullptr && JSON_NODE_HOLDS_OBJECT(node)
      ? json_node_get_object(node) : nullptr;
}

// Why media_format is unusable, or nullopt once @format is filled in.
std::optional<ParseError> read_media_format(JsonNode *node, MediaFormat &format) {
  if (is_absent(node))
    return std::nullopt;
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return ParseError{"media_format is not an object"};
  JsonObject *obj = json_node_get_object(node);

  JsonNode *encoding = member(obj, "encoding");
  if (!is_absent(encoding)) {
    if (value_type(encoding) != G_TYPE_STRING)
      return ParseError{"encoding is not a string"};
    format.encoding_name = string_of(encoding);
  }
  auto parsed = encoding_from_name(format.encoding_name);
  if (!parsed)
    return ParseError{"unsupported encoding " + quoted(format.encoding_name)};
  format.encoding = *parsed;

  Integer sample_rate = read_integer(member(obj, "sample_rate", "sampleRate"));
  if (sample_rate.malformed)
    return not_an_integer("sample_rate");
  if (sample_rate.value) {
    if (*sample_rate.value < 1 || *sample_rate.value > kMaxSampleRate)
      return ParseError{"sample_rate " + std::to_string(*sample_rate.value) +
                        " is outside 1..384000"};
    format.sample_rate = static_cast<int>(*sample_rate.value);
  }

  Integer bit_rate = read_integer(member(obj, "bit_rate", "bitRate"));
  if (bit_rate.malformed)
    return not_an_integer("bit_rate");
  if (bit_rate.value) {
    if (*bit_rate.value < 0 || *bit_rate.value > G_MAXINT)
      return ParseError{"bit_rate " + std::to_string(*bit_rate.value) +
                        " is out of range"};
    format.bit_rate = static_cast<int>(*bit_rate.value);
  }
  return std::nullopt;
}

// Why custom_parameters is unusable, or nullopt once @parameters is filled in.
std::optional<ParseError> read_custom_parameters(
    JsonNode *node, std::vector<std::pair<std::string, std::string>> &parameters) {
  if (is_absent(node))
    return std::nullopt;
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return ParseError{"custom_parameters is not an object"};
  JsonObjectIter iter;
  const gchar *name = nullptr;
  JsonNode *value = nullptr;
  // The ordered iterator keeps the order sent, which callers may rely on.
  json_object_iter_init_ordered(&iter, json_node_get_object(node));
  while (json_object_iter_next_ordered(&iter, &name, &value))
    parameters.emplace_back(name, value_text(value));
  return std::nullopt;
}

Message parse_start(JsonObject *root) {
  JsonObject *start = object_member(root, "start");
  if (start == nullptr)
    return ParseError{"start without a \"start\" object"};

  Start message;
  Integer sequence = read_integer(member(root, "sequence_number", "sequenceNumber"));
  if (sequence.malformed)
    return not_an_integer("sequence_number");
  message.sequence_number = sequence.value;
  message.stream_sid = id_member(root, start, "stream_sid", "streamSid");
  message.call_sid = id_member(start, root, "call_sid", "callSid");
  message.account_sid = id_member(start, root, "account_sid", "accountSid");
  message.from = scalar_text(member(start, "from"));
  message.to = scalar_text(member(start, "to"));

  if (auto error = read_custom_parameters(
          member(start, "custom_parameters", "customParameters"),
          message.custom_parameters))
    return *error;
  if (auto error = read_media_format(member(start, "media_format", "mediaFormat"),
                                     message.media_format))
    return *error;
  return message;
}

Message parse_media(JsonObject *root) {
  JsonObject *media = object_member(root, "media");
  if (media == nullptr)
    return ParseError{"media without a \"media\" object"};
  JsonNode *payload = member(media, "payload");
  if (value_type(payload) != G_TYPE_STRING)
    return ParseError{"media without a \"payload\" string"};

  Integer sequence = read_integer(member(root, "sequence_number", "sequenceNumber"));
  if (sequence.malformed)
    return not_an_integer("sequence_number");
  Integer chunk = read_integer(member(media, "chunk"));
  if (chunk.malformed)
    return not_an_integer("chunk");
  Integer timestamp = read_integer(member(media, "timestamp"));
  if (timestamp.malformed)
    return not_an_integer("timestamp");

  Media message;
  message.sequence_number = sequence.value;
  message.stream_sid = id_member(root, media, "stream_sid", "streamSid");
  message.chunk = chunk.value;
  message.timestamp_ms = timestamp.value;
  message.payload = string_of(payload);
  return message;
}

Message parse_dtmf(JsonObject *root) {
  JsonObject *dtmf = object_member(root, "dtmf");
  if (dtmf == nullptr)
    return ParseError{"dtmf without a \"dtmf\" object"};
  JsonNode *digit = member(dtmf, "digit");
  GType digit_type = value_type(digit);
  if (digit_type != G_TYPE_STRING && digit_type != G_TYPE_INT64 &&
      digit_type != G_TYPE_DOUBLE)
    return ParseError{"dtmf without a \"digit\""};
  Integer duration = read_integer(member(dtmf, "duration"));
  if (duration.malformed)
    return not_an_integer("duration");

  Integer sequence = read_integer(member(root, "sequence_number", "sequenceNumber"));
  if (sequence.malformed)
    return not_an_integer("sequence_number");

  Dtmf message;
  message.sequence_number = sequence.value;
  message.stream_sid = id_member(root, dtmf, "stream_sid", "streamSid");
  message.digit = scalar_text(digit);
  if (message.digit.empty())
    return ParseError{"dtmf with an empty \"digit\""};
  message.duration_ms = duration.value;
  return message;
}

Message parse_mark(JsonObject *root) {
  JsonObject *mark = object_member(root, "mark");
  JsonNode *name = member(mark, "name");
  if (value_type(name) != G_TYPE_STRING)
    return ParseError{"mark without a \"name\" string"};
  Integer sequence = read_integer(member(root, "sequence_number", "sequenceNumber"));
  if (sequence.malformed)
    return not_an_integer("sequence_number");
  Mark message;
  message.sequence_number = sequence.value;
  message.stream_sid = id_member(root, mark, "stream_sid", "streamSid");
  message.name = string_of(name);
  return message;
}

// Lenient on purpose: a stop must end the call whatever else it carries.
Message parse_stop(JsonObject *root) {
  JsonObject *stop = object_member(root, "stop");
  Stop message;
  // A malformed sequence number is dropped, not an error, for the same reason.
  message.sequence_number = read_integer(
      member(root, "sequence_number", "sequenceNumber")).value;
  message.stream_sid = id_member(root, stop, "stream_sid", "streamSid");
  message.call_sid = id_member(stop, root, "call_sid", "callSid");
  message.account_sid = id_member(stop, root, "account_sid", "accountSid");
  message.reason = scalar_text(member(stop, "reason"));
  return message;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return g_ascii_tolower(x) == g_ascii_tolower(y);
         });
}

// "slin" followed by a sample rate in kHz, as Asterisk names linear PCM.
bool is_slin_with_rate(std::string_view name) {
  constexpr std::string_view kPrefix = "slin";
  if (name.size() <= kPrefix.size() ||
      !equals_ignoring_case(name.substr(0, kPrefix.size()), kPrefix))
    return false;
  return std::all_of(name.begin() + kPrefix.size(), name.end(),
                     [](char c) { return g_ascii_isdigit(c); });
}

}  // namespace

std::optional<Encoding> encoding_from_name(std::string_view name) {
  static constexpr std::string_view kPcm16Names[] = {
      "", "raw", "audio/x-raw", "slin", "pcm16", "pcm_s16le", "s16le",
      "linear16", "audio/l16"};
  static constexpr std::string_view kMulawNames[] = {
      "audio/x-mulaw", "mulaw", "ulaw", "pcmu", "audio/pcmu", "g711_ulaw"};
  auto matches = [name](std::string_view known) {
    return equals_ignoring_case(name, known);
  };
  if (std::any_of(std::begin(kPcm16Names), std::end(kPcm16Names), matches) ||
      is_slin_with_rate(name))
    return Encoding::Pcm16;
  if (std::any_of(std::begin(kMulawNames), std::end(kMulawNames), matches))
    return Encoding::Mulaw;
  return std::nullopt;
}

Message parse_message(std::string_view text) {
  if (text.empty())
    return ParseError{"not JSON: empty text"};
  if (auto reason = raw_text_problem(text))
    return ParseError{*reason};

  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = nullptr;
  if (!json_parser_load_from_data(parser, text.data(),
                                  static_cast<gssize>(text.size()), &error)) {
    std::string reason = "not JSON: ";
    reason += error != nullptr ? error->message : "unknown error";
    // json-glib quotes the offending token, which may hold any byte.
    std::replace_if(reason.begin(), reason.end(),
                    [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }, '?');
    return ParseError{reason};
  }

  JsonNode *root_node = json_parser_get_root(parser);
  if (root_node == nullptr)
    return ParseError{"not JSON: no value"};
  if (!JSON_NODE_HOLDS_OBJECT(root_node))
    return ParseError{"not a JSON object"};
  JsonObject *root = json_node_get_object(root_node);

  JsonNode *event_node = member(root, "event");
  if (is_absent(event_node))
    return ParseError{"no \"event\" field"};
  if (value_type(event_node) != G_TYPE_STRING)
    return ParseError{"\"event\" is not a string"};
  std::string_view event = string_of(event_node);

  if (event == "connected")
    return Connected{};
  if (event == "start")
    return parse_start(root);
  if (event == "media")
    return parse_media(root);
  if (event == "dtmf")
    return parse_dtmf(root);
  if (event == "mark")
    return parse_mark(root);
  if (event == "stop")
    return parse_stop(root);
  return Unknown{std::string(event)};
}

}  // namespace callstream::exotel
