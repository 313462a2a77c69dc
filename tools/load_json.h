// The tool's json-glib reading of the messages its fast paths leave alone
// (the rare ones): the fake Realtime server's and the Twilio callers'.
#pragma once

#include <json-glib/json-glib.h>

#include <string_view>

namespace callstream_load {

// The JSON object in @text, or nullptr; @parser owns it. Its string member
// @kind in @kind_value ("" when there is none).
inline JsonObject *
parse_json_object (JsonParser *parser, std::string_view text, const char *kind,
    const char **kind_value)
{
  *kind_value = "";
  if (!json_parser_load_from_data (parser, text.data (), static_cast<gssize> (text.size ()),
          nullptr))
    return nullptr;
  JsonNode *root = json_parser_get_root (parser);
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT (root))
    return nullptr;
  *kind_value = json_object_get_string_member_with_default (json_node_get_object (root), kind,
      "");
  return json_node_get_object (root);
}

// The object member @name of @object, or nullptr.
inline JsonObject *
json_object_member (JsonObject *object, const char *name)
{
  JsonNode *node = object != nullptr ? json_object_get_member (object, name) : nullptr;
  return node != nullptr && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node)
                                                          : nullptr;
}

}  // namespace callstream_load
