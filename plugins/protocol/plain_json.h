// What the simdjson On Demand fast paths share (plain_media for the
// providers' media frames, realtime_delta for the Realtime audio deltas):
// each reads one plain JSON shape field by field and gives up at the first
// doubt, so json-glib decides everything else. Internal to protocol/.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace callstream::plain_json {

namespace od = simdjson::ondemand;

// Marks @key (one bit) seen; FALSE when it already was: a repeated key
// gives up (json-glib keeps the last one).
inline bool first_time(unsigned &seen, unsigned key) {
  if (seen & key)
    return false;
  seen |= key;
  return true;
}

// A string without NUL: json-glib's strings end at the first NUL
// ("\u0000"), so one that holds it would read differently there. Inline,
// like the two below: they run for every field of every frame.
inline bool read_string(od::value value, std::string_view &out) {
  if (value.get_string().get(out) != simdjson::SUCCESS)
    return false;
  return std::memchr(out.data(), '\0', out.size()) == nullptr;
}

// A JSON number that is an integer fitting int64 (json-glib reads it as the
// same integer); doubles, strings and anything else give up.
inline bool read_json_integer(od::value value, int64_t &out) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS || type != od::json_type::number)
    return false;
  return value.get_int64().get(out) == simdjson::SUCCESS;
}

// A parser and its padded copy of the text (simdjson reads up to
// SIMDJSON_PADDING bytes past it), reused: keep one per thread and reader,
// since what a read returns points into it.
struct PaddedParser {
  od::parser parser;
  std::vector<char> buffer;

  // The document of @text, for its root object in @root. FALSE for an
  // empty text, a NUL in it, or anything but an object at the root.
  bool begin(std::string_view text, od::document &doc, od::object &root);
};

// After the root object's fields: FALSE when anything follows it (then it
// is no JSON document at all).
bool ends_after_root(od::document &doc);

}  // namespace callstream::plain_json
