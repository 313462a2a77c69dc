// Node checks before every json-glib accessor: json-glib's own checks are
// g_return_if_fail criticals, fatal under G_DEBUG=fatal-criticals.
#include "protocol/json_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace callstream::json_fields {
namespace {

// Wire text quoted in a reason is cut short so the reason stays one line.
constexpr size_t kMaxQuoted = 40;

std::optional<int64_t> integral_double(double value) {
  // 2^63 is exact as a double; the range keeps the cast defined.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(value) || value != std::trunc(value) || value < -kLimit ||
      value >= kLimit)
    return std::nullopt;
  return static_cast<int64_t>(value);
}

}  // namespace

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, kMaxQuoted)) {
    bool printable = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    out += printable ? c : '?';
  }
  if (text.size() > kMaxQuoted)
    out += "...";
  out += '"';
  return out;
}

std::optional<std::string> raw_text_problem(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (c == '\0')
      return "not JSON: NUL byte in text";
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting)
        return "not JSON: nested too deeply";
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::nullopt;
}

std::optional<std::string> parse_event_object(std::string_view text,
                                              JsonParser *parser,
                                              EventObject &frame) {
  if (text.empty())
    return "not JSON: empty text";
  if (auto reason = raw_text_problem(text))
    return reason;

  g_autoptr(GError) error = nullptr;
  if (!json_parser_load_from_data(parser, text.data(),
                                  static_cast<gssize>(text.size()), &error)) {
    std::string reason = "not JSON: ";
    reason += error != nullptr ? error->message : "unknown error";
    // json-glib quotes the offending token, which may hold any byte.
    std::replace_if(reason.begin(), reason.end(),
                    [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }, '?');
    return reason;
  }

  JsonNode *root_node = json_parser_get_root(parser);
  if (root_node == nullptr)
    return "not JSON: no value";
  if (!JSON_NODE_HOLDS_OBJECT(root_node))
    return "not a JSON object";
  JsonObject *root = json_node_get_object(root_node);

  JsonNode *event = member(root, "event");
  if (is_absent(event))
    return "no \"event\" field";
  if (value_type(event) != G_TYPE_STRING)
    return "\"event\" is not a string";
  frame.root = root;
  frame.event = string_of(event);
  return std::nullopt;
}

JsonNode *member(JsonObject *obj, const char *name, const char *alternative) {
  if (obj == nullptr)
    return nullptr;
  JsonNode *node = json_object_get_member(obj, name);
  if ((node == nullptr || JSON_NODE_HOLDS_NULL(node)) && alternative != nullptr) {
    if (JsonNode *other = json_object_get_member(obj, alternative))
      return other;
  }
  return node;
}

bool is_absent(JsonNode *node) {
  return node == nullptr || JSON_NODE_HOLDS_NULL(node);
}

const char *string_of(JsonNode *node) {
  const gchar *text = json_node_get_string(node);
  return text != nullptr ? text : "";
}

GType value_type(JsonNode *node) {
  return node != nullptr && JSON_NODE_HOLDS_VALUE(node)
      ? json_node_get_value_type(node) : G_TYPE_INVALID;
}

Integer read_integer(JsonNode *node) {
  if (is_absent(node))
    return {};
  GType type = value_type(node);
  if (type == G_TYPE_INT64)
    return {json_node_get_int(node), false};
  if (type == G_TYPE_DOUBLE) {
    auto value = integral_double(json_node_get_double(node));
    return {value, !value};
  }
  if (type == G_TYPE_STRING) {
    std::string_view text = string_of(node);
    int64_t value = 0;
    auto [end, error] =
        std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
      return {std::nullopt, true};
    return {value, false};
  }
  return {std::nullopt, true};
}

std::string not_an_integer(std::string_view field) {
  return std::string(field) + " is not an integer";
}

std::string scalar_text(JsonNode *node) {
  GType type = value_type(node);
  if (type == G_TYPE_STRING)
    return string_of(node);
  if (type == G_TYPE_INT64)
    return std::to_string(json_node_get_int(node));
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean(node) ? "true" : "false";
  if (type == G_TYPE_DOUBLE) {
    double value = json_node_get_double(node);
    if (auto integral = integral_double(value))
      return std::to_string(*integral);
    char buffer[G_ASCII_DTOSTR_BUF_SIZE];
    return g_ascii_dtostr(buffer, sizeof buffer, value);
  }
  return "";
}

std::string value_text(JsonNode *node) {
  if (node != nullptr &&
      (JSON_NODE_HOLDS_OBJECT(node) || JSON_NODE_HOLDS_ARRAY(node))) {
    g_autofree gchar *json = json_to_string(node, FALSE);
    return json != nullptr ? json : "";
  }
  return scalar_text(node);
}

std::string id_member(JsonObject *first, JsonObject *second, const char *name,
                      const char *alternative) {
  std::string id = scalar_text(member(first, name, alternative));
  if (id.empty())
    id = scalar_text(member(second, name, alternative));
  return id;
}

JsonObject *object_member(JsonObject *obj, const char *name,
                          const char *alternative) {
  JsonNode *node = member(obj, name, alternative);
  return node != nullptr && JSON_NODE_HOLDS_OBJECT(node)
      ? json_node_get_object(node) : nullptr;
}

bool read_text_pairs(JsonNode *node,
                     std::vector<std::pair<std::string, std::string>> &pairs) {
  if (is_absent(node))
    return true;
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return false;
  JsonObjectIter iter;
  const gchar *name = nullptr;
  JsonNode *value = nullptr;
  // The ordered iterator keeps the order sent, which callers may rely on.
  json_object_iter_init_ordered(&iter, json_node_get_object(node));
  while (json_object_iter_next_ordered(&iter, &name, &value))
    pairs.emplace_back(name, value_text(value));
  return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return g_ascii_tolower(x) == g_ascii_tolower(y);
         });
}

}  // namespace callstream::json_fields
