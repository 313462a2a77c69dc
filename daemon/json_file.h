// Reading the daemon's own JSON files (pipeline descriptions, the worker
// description, the knowledge base) with one kind of error message:
//
//   "<file>: <field>: <what>"   e.g. "kb.json: intents[0].id: missing (a string is required)"
//
// JsonFileReader carries the file name and the error out-parameter so each
// check is one call that returns false after filling in the message; the
// readers of each format derive from it and add their own checks.
//
// Threads: plain functions over json-glib nodes the caller owns.
#pragma once

#include <json-glib/json-glib.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace callstreamd {

// Sets *error (when not null) to "file: field: what"; returns false.
bool fail (std::string *error, const std::string &file, const std::string &field,
    const std::string &what);

// [a-z0-9-]+: the names and ids these files use.
bool is_name (std::string_view text);

// "an object", "an array", "null", "a string", "a boolean", "a number".
const char *json_kind (JsonNode *node);

// @value in double quotes with C escapes, for a message.
std::string quoted (std::string_view value);

struct JsonFileReader {
  const std::string &file;
  std::string *error;

  bool fail (const std::string &field, const std::string &what) const;

  // A string member; absent is an error only when @required.
  bool string (JsonObject *object, const char *member, const std::string &field,
      bool required, std::string &out) const;

  // The same, and not only blanks when present.
  bool text (JsonObject *object, const char *member, const std::string &field,
      bool required, std::string &out) const;

  // @json parsed with @parser (which owns the result): its root object, or
  // nullptr after failing with "json: line:column <what>" or "json: expected
  // an object, found <kind>".
  JsonObject *root_object (JsonParser *parser, std::string_view json) const;

  // Every member of @object is one of @known; else "<prefix><member>: unknown field".
  bool only_known (JsonObject *object, const std::string &prefix,
      std::initializer_list<const char *> known) const;
};

}  // namespace callstreamd
