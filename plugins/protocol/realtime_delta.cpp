// Field by field with simdjson On Demand, giving up (nullopt) at the first
// thing outside the plain shape; realtime_delta.h says why that keeps the
// answer identical to parse_server_event's.
#include "protocol/realtime_delta.h"

#include <simdjson.h>

#include <cstring>
#include <vector>

namespace callstream::realtime_delta {
namespace {

namespace od = simdjson::ondemand;

// Which keys were seen, so a repeat gives up (json-glib keeps the last).
enum Seen : unsigned {
  kType = 1u << 0,
  kEventId = 1u << 1,
  kResponseId = 1u << 2,
  kItemId = 1u << 3,
  kOutputIndex = 1u << 4,
  kContentIndex = 1u << 5,
  kDelta = 1u << 6,
};

bool first_time(unsigned &seen, Seen key) {
  if (seen & key)
    return false;
  seen |= key;
  return true;
}

// A string without NUL: json-glib's strings end at the first NUL ("\u0000").
bool read_string(od::value value, std::string_view &out) {
  if (value.get_string().get(out) != simdjson::SUCCESS)
    return false;
  return std::memchr(out.data(), '\0', out.size()) == nullptr;
}

// A JSON integer that fits int64 (json-glib reads it as the same integer);
// doubles and decimal strings give up, json_fields reads those.
bool read_integer(od::value value, int64_t &out) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS || type != od::json_type::number)
    return false;
  return value.get_int64().get(out) == simdjson::SUCCESS;
}

bool is_delta_type(std::string_view type) {
  return type == "response.output_audio.delta" || type == "response.audio.delta";
}

// simdjson reads up to SIMDJSON_PADDING bytes past the text: each thread
// copies frames into its own padded buffer, reused.
struct ThreadParser {
  od::parser parser;
  std::vector<char> buffer;
};

}  // namespace

std::optional<PlainDelta> read(std::string_view text) {
  if (text.empty() || std::memchr(text.data(), '\0', text.size()) != nullptr)
    return std::nullopt;
  thread_local ThreadParser local;
  local.buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(local.buffer.data(), text.data(), text.size());

  od::document doc;
  if (local.parser.iterate(local.buffer.data(), text.size(), local.buffer.size())
          .get(doc) != simdjson::SUCCESS)
    return std::nullopt;
  od::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS)
    return std::nullopt;

  PlainDelta delta;
  unsigned seen = 0;
  for (auto field : root) {
    std::string_view key;
    od::value member;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(member) != simdjson::SUCCESS)
      return std::nullopt;
    std::string_view value;
    bool ok = false;
    if (key == "type") {
      ok = first_time(seen, kType) && read_string(member, value) && is_delta_type(value);
    } else if (key == "delta") {
      ok = first_time(seen, kDelta) && read_string(member, delta.delta);
    } else if (key == "item_id") {
      ok = first_time(seen, kItemId) && read_string(member, delta.item_id) &&
           !delta.item_id.empty();
    } else if (key == "response_id") {
      ok = first_time(seen, kResponseId) && read_string(member, delta.response_id);
    } else if (key == "event_id") {
      ok = first_time(seen, kEventId) && read_string(member, value);
    } else if (key == "output_index") {
      ok = first_time(seen, kOutputIndex) && read_integer(member, delta.output_index);
    } else if (key == "content_index") {
      ok = first_time(seen, kContentIndex) && read_integer(member, delta.content_index);
    }
    if (!ok)
      return std::nullopt;
  }
  // Whatever follows the root object makes it no JSON document at all.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
    return std::nullopt;
  constexpr unsigned kRequired = kType | kItemId | kDelta;
  if ((seen & kRequired) != kRequired)
    return std::nullopt;
  return delta;
}

}  // namespace callstream::realtime_delta
