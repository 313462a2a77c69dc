// Twilio text frames parsed with json-glib, with the same defensive helpers
// as the Exotel parser. Twilio's spelling (camelCase) is looked up first.
#include "protocol/twilio.h"

#include "protocol/json_fields.h"
#include "protocol/plain_media.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace callstream::twilio {

using namespace json_fields;

namespace {

constexpr int kMaxSampleRate = 384000;
// GStreamer's audio caps carry at most 64 channels.
constexpr int kMaxChannels = 64;

// The sequenceNumber of @root; a malformed one is the message's error.
std::optional<ParseError> read_sequence(JsonObject *root,
                                        std::optional<int64_t> &sequence) {
  Integer value = read_integer(member(root, "sequenceNumber", "sequence_number"));
  if (value.malformed)
    return ParseError{not_an_integer("sequenceNumber")};
  sequence = value.value;
  return std::nullopt;
}

// A bounded integer field of mediaFormat into @out; absent leaves @out alone.
std::optional<ParseError> read_bounded(JsonObject *format, const char *name,
                                       const char *alternative, int64_t low,
                                       int64_t high, int &out) {
  Integer value = read_integer(member(format, name, alternative));
  if (value.malformed)
    return ParseError{not_an_integer(name)};
  if (!value.value)
    return std::nullopt;
  if (*value.value < low || *value.value > high)
    return ParseError{std::string(name) + " " + std::to_string(*value.value) +
                      " is outside " + std::to_string(low) + ".." +
                      std::to_string(high)};
  out = static_cast<int>(*value.value);
  return std::nullopt;
}

// Why mediaFormat is unusable, or nullopt once @format is filled in.
std::optional<ParseError> read_media_format(JsonNode *node, MediaFormat &format) {
  if (is_absent(node))
    return std::nullopt;
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return ParseError{"mediaFormat is not an object"};
  JsonObject *obj = json_node_get_object(node);

  JsonNode *encoding = member(obj, "encoding");
  if (!is_absent(encoding)) {
    if (value_type(encoding) != G_TYPE_STRING)
      return ParseError{"encoding is not a string"};
    format.encoding_name = string_of(encoding);
  }
  format.encoding = encoding_from_name(format.encoding_name);

  if (auto error = read_bounded(obj, "sampleRate", "sample_rate", 1,
                                kMaxSampleRate, format.sample_rate))
    return error;
  return read_bounded(obj, "channels", nullptr, 1, kMaxChannels, format.channels);
}

// Why tracks is unusable, or nullopt once @tracks is filled in.
std::optional<ParseError> read_tracks(JsonNode *node,
                                      std::vector<std::string> &tracks) {
  if (is_absent(node))
    return std::nullopt;
  if (!JSON_NODE_HOLDS_ARRAY(node))
    return ParseError{"tracks is not an array"};
  JsonArray *array = json_node_get_array(node);
  guint length = json_array_get_length(array);
  for (guint i = 0; i < length; i++) {
    JsonNode *track = json_array_get_element(array, i);
    if (value_type(track) != G_TYPE_STRING)
      return ParseError{"tracks holds something other than a string"};
    tracks.emplace_back(string_of(track));
  }
  return std::nullopt;
}

Message parse_connected(JsonObject *root) {
  Connected message;
  message.protocol = scalar_text(member(root, "protocol"));
  message.version = scalar_text(member(root, "version"));
  return message;
}

Message parse_start(JsonObject *root) {
  JsonObject *start = object_member(root, "start");
  if (start == nullptr)
    return ParseError{"start without a \"start\" object"};

  Start message;
  if (auto error = read_sequence(root, message.sequence_number))
    return *error;
  message.stream_sid = id_member(root, start, "streamSid", "stream_sid");
  message.account_sid = id_member(start, root, "accountSid", "account_sid");
  message.call_sid = id_member(start, root, "callSid", "call_sid");
  if (auto error = read_tracks(member(start, "tracks"), message.tracks))
    return *error;
  if (!read_text_pairs(member(start, "customParameters", "custom_parameters"),
                       message.custom_parameters))
    return ParseError{"customParameters is not an object"};
  if (auto error = read_media_format(member(start, "mediaFormat", "media_format"),
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
  JsonNode *track = member(media, "track");
  if (!is_absent(track) && value_type(track) != G_TYPE_STRING)
    return ParseError{"media \"track\" is not a string"};

  Media message;
  if (auto error = read_sequence(root, message.sequence_number))
    return *error;
  Integer chunk = read_integer(member(media, "chunk"));
  if (chunk.malformed)
    return ParseError{not_an_integer("chunk")};
  Integer timestamp = read_integer(member(media, "timestamp"));
  if (timestamp.malformed)
    return ParseError{not_an_integer("timestamp")};

  message.stream_sid = id_member(root, media, "streamSid", "stream_sid");
  if (!is_absent(track))
    message.track = string_of(track);
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

  Dtmf message;
  if (auto error = read_sequence(root, message.sequence_number))
    return *error;
  message.stream_sid = id_member(root, dtmf, "streamSid", "stream_sid");
  message.track = scalar_text(member(dtmf, "track"));
  message.digit = scalar_text(digit);
  if (message.digit.empty())
    return ParseError{"dtmf with an empty \"digit\""};
  return message;
}

Message parse_mark(JsonObject *root) {
  JsonObject *mark = object_member(root, "mark");
  JsonNode *name = member(mark, "name");
  if (value_type(name) != G_TYPE_STRING)
    return ParseError{"mark without a \"name\" string"};
  Mark message;
  if (auto error = read_sequence(root, message.sequence_number))
    return *error;
  message.stream_sid = id_member(root, mark, "streamSid", "stream_sid");
  message.name = string_of(name);
  return message;
}

// Lenient on purpose: a stop must end the call whatever else it carries.
Message parse_stop(JsonObject *root) {
  JsonObject *stop = object_member(root, "stop");
  Stop message;
  // A malformed sequence number is dropped, not an error, for the same reason.
  message.sequence_number = read_integer(
      member(root, "sequenceNumber", "sequence_number")).value;
  message.stream_sid = id_member(root, stop, "streamSid", "stream_sid");
  message.account_sid = id_member(stop, root, "accountSid", "account_sid");
  message.call_sid = id_member(stop, root, "callSid", "call_sid");
  return message;
}

}  // namespace

std::optional<Encoding> encoding_from_name(std::string_view name) {
  static constexpr std::string_view kMulawNames[] = {
      "", "audio/x-mulaw", "mulaw", "ulaw", "pcmu", "audio/pcmu", "g711_ulaw"};
  auto matches = [name](std::string_view known) {
    return equals_ignoring_case(name, known);
  };
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
    return parse_connected(root);
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
  return plain_media::to_message<Message, Media, Mark>(std::move(*plain));
}

}  // namespace callstream::twilio
