// Exotel text frames parsed with json-glib. A peer can send anything, so every
// node's shape is checked before use and every failure is a ParseError.
#include "protocol/exotel.h"

#include "protocol/json_fields.h"
#include "protocol/plain_media.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace callstream::exotel {

using namespace json_fields;

namespace {

constexpr int kMaxSampleRate = 384000;

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
    return ParseError{not_an_integer("sample_rate")};
  if (sample_rate.value) {
    if (*sample_rate.value < 1 || *sample_rate.value > kMaxSampleRate)
      return ParseError{"sample_rate " + std::to_string(*sample_rate.value) +
                        " is outside 1..384000"};
    format.sample_rate = static_cast<int>(*sample_rate.value);
  }

  Integer bit_rate = read_integer(member(obj, "bit_rate", "bitRate"));
  if (bit_rate.malformed)
    return ParseError{not_an_integer("bit_rate")};
  if (bit_rate.value) {
    if (*bit_rate.value < 0 || *bit_rate.value > G_MAXINT)
      return ParseError{"bit_rate " + std::to_string(*bit_rate.value) +
                        " is out of range"};
    format.bit_rate = static_cast<int>(*bit_rate.value);
  }
  return std::nullopt;
}

Message parse_start(JsonObject *root) {
  JsonObject *start = object_member(root, "start");
  if (start == nullptr)
    return ParseError{"start without a \"start\" object"};

  Start message;
  Integer sequence = read_integer(member(root, "sequence_number", "sequenceNumber"));
  if (sequence.malformed)
    return ParseError{not_an_integer("sequence_number")};
  message.sequence_number = sequence.value;
  message.stream_sid = id_member(root, start, "stream_sid", "streamSid");
  message.call_sid = id_member(start, root, "call_sid", "callSid");
  message.account_sid = id_member(start, root, "account_sid", "accountSid");
  message.from = scalar_text(member(start, "from"));
  message.to = scalar_text(member(start, "to"));

  if (!read_text_pairs(member(start, "custom_parameters", "customParameters"),
                       message.custom_parameters))
    return ParseError{"custom_parameters is not an object"};
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
    return ParseError{not_an_integer("sequence_number")};
  Integer chunk = read_integer(member(media, "chunk"));
  if (chunk.malformed)
    return ParseError{not_an_integer("chunk")};
  Integer timestamp = read_integer(member(media, "timestamp"));
  if (timestamp.malformed)
    return ParseError{not_an_integer("timestamp")};

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
    return ParseError{not_an_integer("duration")};

  Integer sequence = read_integer(member(root, "sequence_number", "sequenceNumber"));
  if (sequence.malformed)
    return ParseError{not_an_integer("sequence_number")};

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
    return ParseError{not_an_integer("sequence_number")};
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

Message parse_message_with_json_glib(std::string_view text) {
  g_autoptr(JsonParser) parser = json_parser_new();
  EventObject frame;
  if (auto reason = parse_event_object(text, parser, frame))
    return ParseError{*reason};
  JsonObject *root = frame.root;
  std::string_view event = frame.event;

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

Message parse_message(std::string_view text) {
  auto plain = plain_media::read_media_or_mark(text);
  if (!plain)
    return parse_message_with_json_glib(text);
  // The voicebot flow's mark echoes come this way too, one per chunk sent.
  return plain_media::to_message<Message, Media, Mark>(std::move(*plain));
}

}  // namespace callstream::exotel
