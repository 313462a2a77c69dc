// Defensive reading of provider JSON frames with json-glib, shared by the
// Exotel and Twilio parsers. Internal to protocol/: callers of the parsers
// never see json-glib types. A peer can send anything, so every accessor
// takes any node (null, wrong type) and never fails a g_return_if_fail.
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callstream::json_fields {

// json-glib 1.6 recurses once per nesting level and overflows the stack on
// input like "[[[[...", so deeper frames are refused before parsing.
constexpr int kMaxNesting = 64;

// @text between double quotes for a one-line reason: cut to 40 bytes (then
// "..."), every byte that is not printable ASCII, '"' or '\' shown as '?'.
std::string quoted(std::string_view text);

// Why @text cannot be handed to json-glib: a NUL byte, or nesting deeper than
// kMaxNesting. Brackets inside strings are skipped; any miscount is upwards.
std::optional<std::string> raw_text_problem(std::string_view text);

// A frame's root object and its "event" string, both owned by the parser
// that read them.
struct EventObject {
  JsonObject *root = nullptr;
  std::string_view event;
};

// Parses @text with @parser into @frame; or returns why it is no event frame
// ("not JSON: ...", "not a JSON object", "no \"event\" field", "\"event\" is
// not a string"), one line with no control bytes.
std::optional<std::string> parse_event_object(std::string_view text,
                                              JsonParser *parser,
                                              EventObject &frame);

// The member @name, or @alternative when @name is absent or null; nullptr if
// neither is there. Providers have been seen sending both spellings.
JsonNode *member(JsonObject *obj, const char *name,
                 const char *alternative = nullptr);

bool is_absent(JsonNode *node);

// The string of a string value node; never null, so it can make a string_view.
const char *string_of(JsonNode *node);

// The value type of a value node (G_TYPE_INT64, G_TYPE_DOUBLE,
// G_TYPE_STRING, G_TYPE_BOOLEAN); G_TYPE_INVALID for anything else.
GType value_type(JsonNode *node);

// A numeric field: absent (or null) is fine, present but not an integer is
// malformed.
struct Integer {
  std::optional<int64_t> value;
  bool malformed = false;
};

// Accepts a JSON integer, a double with an integral value, or a decimal
// string such as "8000" (no sign but '-', no spaces, no fraction): providers
// send numbers both ways.
Integer read_integer(JsonNode *node);

// "@field is not an integer".
std::string not_an_integer(std::string_view field);

// A scalar as text: strings as sent, integers without ".0", booleans as
// "true"/"false"; "" for null, objects and arrays.
std::string scalar_text(JsonNode *node);

// Any value as text: scalars as scalar_text, objects and arrays as compact JSON.
std::string value_text(JsonNode *node);

// An id from @first, else from @second: ids come at the top level or nested,
// depending on the sender.
std::string id_member(JsonObject *first, JsonObject *second, const char *name,
                      const char *alternative = nullptr);

// The member as an object; nullptr when absent or not an object.
JsonObject *object_member(JsonObject *obj, const char *name,
                          const char *alternative = nullptr);

// Appends every member of the object @node to @pairs in the order sent, each
// value as value_text. Absent or null adds nothing; false if @node is present
// but not an object.
bool read_text_pairs(JsonNode *node,
                     std::vector<std::pair<std::string, std::string>> &pairs);

bool equals_ignoring_case(std::string_view a, std::string_view b);

}  // namespace callstream::json_fields
