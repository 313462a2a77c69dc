// Field by field with simdjson On Demand, giving up (nullopt) at the first
// thing outside the plain shape; plain_media.h says why that keeps the answer
// identical to json-glib's.
#include "protocol/plain_media.h"

#include <charconv>

#include "protocol/plain_json.h"

namespace callstream::plain_media {
namespace {

using plain_json::first_time;
using plain_json::read_string;
namespace od = plain_json::od;

// Which keys were seen, so a repeat or a second spelling gives up.
enum Seen : unsigned {
  kEvent = 1u << 0,
  kSequence = 1u << 1,
  kStreamSid = 1u << 2,
  kMedia = 1u << 3,
  kPayload = 1u << 4,
  kChunk = 1u << 5,
  kTimestamp = 1u << 6,
  kTrack = 1u << 7,
};

// A JSON integer, or a string that is all of a decimal integer (what
// json_fields::read_integer accepts; its other forms give up here).
bool read_integer(od::value value, std::optional<int64_t> &out) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS)
    return false;
  int64_t number = 0;
  if (type == od::json_type::number) {
    if (!plain_json::read_json_integer(value, number))
      return false;
    out = number;
    return true;
  }
  std::string_view text;
  if (type != od::json_type::string || !read_string(value, text) || text.empty())
    return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc{} || end != text.data() + text.size())
    return false;
  out = number;
  return true;
}

bool is_stream_sid(std::string_view key) {
  return key == "stream_sid" || key == "streamSid";
}

bool read_media_object(od::value value, PlainMedia &media, std::string &stream_sid) {
  od::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS)
    return false;
  unsigned seen = 0;
  for (auto field : object) {
    std::string_view key;
    od::value member;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(member) != simdjson::SUCCESS)
      return false;
    std::string_view text;
    bool ok = false;
    if (key == "payload") {
      ok = first_time(seen, kPayload) && read_string(member, text);
      media.payload = text;
    } else if (key == "chunk") {
      ok = first_time(seen, kChunk) && read_integer(member, media.chunk);
    } else if (key == "timestamp") {
      ok = first_time(seen, kTimestamp) && read_integer(member, media.timestamp);
    } else if (key == "track") {
      ok = first_time(seen, kTrack) && read_string(member, text);
      media.track = std::string(text);
    } else if (is_stream_sid(key)) {
      ok = first_time(seen, kStreamSid) && read_string(member, text);
      stream_sid = text;
    }
    if (!ok)
      return false;
  }
  return (seen & kPayload) != 0;
}

}  // namespace

std::optional<PlainMedia> read(std::string_view text) {
  thread_local plain_json::PaddedParser local;
  od::document doc;
  od::object root;
  if (!local.begin(text, doc, root))
    return std::nullopt;

  PlainMedia media;
  std::string root_sid;
  std::string media_sid;
  unsigned seen = 0;
  for (auto field : root) {
    std::string_view key;
    od::value member;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(member) != simdjson::SUCCESS)
      return std::nullopt;
    std::string_view value;
    bool ok = false;
    if (key == "event") {
      ok = first_time(seen, kEvent) && read_string(member, value) && value == "media";
    } else if (key == "sequence_number" || key == "sequenceNumber") {
      ok = first_time(seen, kSequence) && read_integer(member, media.sequence_number);
    } else if (is_stream_sid(key)) {
      ok = first_time(seen, kStreamSid) && read_string(member, value);
      root_sid = value;
    } else if (key == "media") {
      ok = first_time(seen, kMedia) && read_media_object(member, media, media_sid);
    }
    if (!ok)
      return std::nullopt;
  }
  if (!plain_json::ends_after_root(doc))
    return std::nullopt;
  if ((seen & (kEvent | kMedia)) != (kEvent | kMedia))
    return std::nullopt;
  media.stream_sid = !root_sid.empty() ? std::move(root_sid) : std::move(media_sid);
  return media;
}

}  // namespace callstream::plain_media
