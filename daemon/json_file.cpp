#include "json_file.h"

#include <algorithm>
#include <cstring>

namespace callstreamd {

bool
fail (std::string *error, const std::string &file, const std::string &field,
    const std::string &what)
{
  if (error != nullptr)
    *error = file + ": " + field + ": " + what;
  return false;
}

bool
is_name (std::string_view text)
{
  return !text.empty () && std::all_of (text.begin (), text.end (), [] (char c) {
    return g_ascii_islower (c) || g_ascii_isdigit (c) || c == '-';
  });
}

const char *
json_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node)) {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
      break;
  }
  const GType type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return "a string";
  if (type == G_TYPE_BOOLEAN)
    return "a boolean";
  return "a number";
}

std::string
quoted (std::string_view value)
{
  g_autofree gchar *escaped = g_strescape (std::string (value).c_str (), nullptr);
  return std::string ("\"") + escaped + "\"";
}

bool
JsonFileReader::fail (const std::string &field, const std::string &what) const
{
  return callstreamd::fail (error, file, field, what);
}

bool
JsonFileReader::string (JsonObject *object, const char *member, const std::string &field,
    bool required, std::string &out) const
{
  JsonNode *node = json_object_get_member (object, member);
  if (node == nullptr)
    return required ? fail (field, "missing (a string is required)") : true;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail (field, std::string ("expected a string, found ") + json_kind (node));
  out = json_node_get_string (node);
  return true;
}

bool
JsonFileReader::text (JsonObject *object, const char *member, const std::string &field,
    bool required, std::string &out) const
{
  const bool present = json_object_has_member (object, member);
  if (!string (object, member, field, required, out))
    return false;
  if (present && out.find_first_not_of (" \t\n") == std::string::npos)
    return fail (field, "must not be empty");
  return true;
}

JsonObject *
JsonFileReader::root_object (JsonParser *parser, std::string_view json) const
{
  g_autoptr (GError) parse_error = nullptr;
  if (!json_parser_load_from_data (parser, json.data (), static_cast<gssize> (json.size ()),
          &parse_error)) {
    std::string message = parse_error->message;
    if (g_str_has_prefix (message.c_str (), "<data>:"))
      message.erase (0, strlen ("<data>:"));
    fail ("json", "line:column " + message);
    return nullptr;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT (root)) {
    fail ("json", std::string ("expected an object, found ")
        + (root != nullptr ? json_kind (root) : "nothing"));
    return nullptr;
  }
  return json_node_get_object (root);
}

bool
JsonFileReader::only_known (JsonObject *object, const std::string &prefix,
    std::initializer_list<const char *> known) const
{
  g_autoptr (GList) members = json_object_get_members (object);
  for (GList *l = members; l != nullptr; l = l->next) {
    const char *member = static_cast<const char *> (l->data);
    if (std::none_of (known.begin (), known.end (),
            [member] (const char *k) { return g_str_equal (k, member); }))
      return fail (prefix + member, "unknown field");
  }
  return true;
}

}  // namespace callstreamd
