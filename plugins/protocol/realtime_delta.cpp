// Field by field with simdjson On Demand, giving up (nullopt) at the first
// thing outside the plain shape; realtime_delta.h says why that keeps the
// answer identical to parse_server_event's.
#include "protocol/realtime_delta.h"

#include "protocol/json_fields.h"
#include "protocol/plain_json.h"
#include "protocol/realtime.h"

namespace callstream::realtime_delta {
namespace {

using plain_json::first_time;
using plain_json::read_string;
namespace od = plain_json::od;

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

bool is_delta_type(std::string_view type) {
  return type == "response.output_audio.delta" || type == "response.audio.delta";
}

}  // namespace

std::optional<PlainDelta> read(std::string_view text) {
  thread_local plain_json::PaddedParser local;
  od::document doc;
  od::object root;
  if (!local.begin(text, doc, root))
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
      ok = first_time(seen, kOutputIndex) && plain_json::read_json_integer(member, delta.output_index);
    } else if (key == "content_index") {
      ok = first_time(seen, kContentIndex) && plain_json::read_json_integer(member, delta.content_index);
    }
    if (!ok)
      return std::nullopt;
  }
  if (!plain_json::ends_after_root(doc))
    return std::nullopt;
  constexpr unsigned kRequired = kType | kItemId | kDelta;
  if ((seen & kRequired) != kRequired)
    return std::nullopt;
  return delta;
}

std::optional<std::string_view> read_unhandled_type(std::string_view text) {
  if (text.empty() || text.find("\\u") != std::string_view::npos ||
      json_fields::raw_text_problem(text))
    return std::nullopt;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(text.data(), text.size()).get_object().get(root) != simdjson::SUCCESS)
    return std::nullopt;
  std::optional<std::string_view> type;
  for (const simdjson::dom::key_value_pair field : root) {
    if (field.key != "type")
      continue;
    std::string_view value;
    if (type || field.value.get_string().get(value) != simdjson::SUCCESS)
      return std::nullopt;
    type = value;
  }
  if (!type || realtime::is_handled_event_type(*type))
    return std::nullopt;
  return type;
}

}  // namespace callstream::realtime_delta
