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
  kObject = 1u << 3,  // "media" or "mark": one of them, once
  kPayload = 1u << 4,
  kChunk = 1u << 5,
  kTimestamp = 1u << 6,
  kTrack = 1u << 7,
  kName = 1u << 8,
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

// Calls @read_member (key, value) for every member of @object; FALSE when
// one is unreadable or @read_member says no.
template <typename ReadMember>
bool read_members(od::object &object, ReadMember &&read_member) {
  for (auto field : object) {
    std::string_view key;
    od::value member;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(member) != simdjson::SUCCESS ||
        !read_member(key, member))
      return false;
  }
  return true;
}

// The same for the members of the object @value; FALSE when it is none.
template <typename ReadMember>
bool read_object(od::value value, ReadMember &&read_member) {
  od::object object;
  return value.get_object().get(object) == simdjson::SUCCESS &&
         read_members(object, read_member);
}

// A stream id string, the root's or a nested object's.
bool read_stream_sid(od::value member, unsigned &seen, std::string &stream_sid) {
  std::string_view text;
  if (!first_time(seen, kStreamSid) || !read_string(member, text))
    return false;
  stream_sid = text;
  return true;
}

bool read_media_object(od::value value, PlainMedia &media, std::string &stream_sid) {
  unsigned seen = 0;
  return read_object(value, [&](std::string_view key, od::value member) {
    std::string_view text;
    if (key == "payload") {
      if (!first_time(seen, kPayload) || !read_string(member, text))
        return false;
      media.payload = text;
      return true;
    }
    if (key == "chunk")
      return first_time(seen, kChunk) && read_integer(member, media.chunk);
    if (key == "timestamp")
      return first_time(seen, kTimestamp) && read_integer(member, media.timestamp);
    if (key == "track") {
      if (!first_time(seen, kTrack) || !read_string(member, text))
        return false;
      media.track = std::string(text);
      return true;
    }
    return is_stream_sid(key) && read_stream_sid(member, seen, stream_sid);
  }) && (seen & kPayload) != 0;
}

bool read_mark_object(od::value value, PlainMark &mark, std::string &stream_sid) {
  unsigned seen = 0;
  return read_object(value, [&](std::string_view key, od::value member) {
    if (key == "name") {
      std::string_view text;
      if (!first_time(seen, kName) || !read_string(member, text))
        return false;
      mark.name = text;
      return true;
    }
    return is_stream_sid(key) && read_stream_sid(member, seen, stream_sid);
  }) && (seen & kName) != 0;
}

// The root's "event" string: "media", or "mark" when @marks; @index, the
// PlainMessage alternative it names.
bool read_event(od::value member, bool marks, unsigned &seen, size_t &index) {
  std::string_view event;
  if (!first_time(seen, kEvent) || !read_string(member, event))
    return false;
  if (event == "media")
    index = 0;
  else if (marks && event == "mark")
    index = 1;
  else
    return false;
  return true;
}

// Reads @text into @message, a PlainMedia until a "mark" key (when @marks)
// makes it a PlainMark; FALSE at the first doubt.
bool read_plain(std::string_view text, bool marks, PlainMessage &message) {
  thread_local plain_json::PaddedParser local;
  od::document doc;
  od::object root;
  if (!local.begin(text, doc, root))
    return false;

  std::optional<int64_t> sequence_number;
  std::string root_sid;
  std::string nested_sid;
  unsigned seen = 0;
  size_t event = 0;  // the alternative "event" names
  // At most one of "media" and "mark": json-glib would not read the other.
  const bool read = read_members(root, [&](std::string_view key, od::value member) {
    if (key == "event")
      return read_event(member, marks, seen, event);
    if (key == "sequence_number" || key == "sequenceNumber")
      return first_time(seen, kSequence) && read_integer(member, sequence_number);
    if (is_stream_sid(key))
      return read_stream_sid(member, seen, root_sid);
    if (key == "media")
      return first_time(seen, kObject) &&
             read_media_object(member, std::get<PlainMedia>(message), nested_sid);
    return key == "mark" && marks && first_time(seen, kObject) &&
           read_mark_object(member, message.emplace<PlainMark>(), nested_sid);
  });
  if (!read || !plain_json::ends_after_root(doc))
    return false;
  // The event's own object: a media frame's "media", a mark's "mark".
  if ((seen & (kEvent | kObject)) != (kEvent | kObject) || message.index() != event)
    return false;
  std::visit([&](auto &plain) {
    plain.sequence_number = sequence_number;
    plain.stream_sid = !root_sid.empty() ? std::move(root_sid) : std::move(nested_sid);
  }, message);
  return true;
}

}  // namespace

std::optional<PlainMedia> read(std::string_view text) {
  PlainMessage message;
  if (!read_plain(text, false, message))
    return std::nullopt;
  return std::get<PlainMedia>(std::move(message));
}

std::optional<PlainMessage> read_media_or_mark(std::string_view text) {
  std::optional<PlainMessage> message(std::in_place);
  if (!read_plain(text, true, *message))
    message.reset();
  return message;
}

}  // namespace callstream::plain_media
