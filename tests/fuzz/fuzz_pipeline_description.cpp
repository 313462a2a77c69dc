// Fuzz target: any bytes as a pipelines/*.json description, filled with a
// fixed configuration (pipeline_description.h; check_pipeline_description
// needs GStreamer and is left out). Nothing may crash, hang, leak or make
// GLib warn; errors read "<file>: <field>: <what>"; a parsed description
// keeps the header's promises; and a filled launch line never has an
// unbalanced quote or a NUL (gst_parse_launch would read past or stop at
// it). The input is also tried as a variable's value: as a whole property
// value it comes back exactly, as gst_parse_launch and then
// gst_value_deserialize read it.
#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "pipeline_description.h"

namespace {

using Variables = std::map<std::string, std::string>;

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

bool
is_name (const std::string &text)
{
  if (text.empty ())
    return false;
  for (const char c : text)
    if (!g_ascii_islower (c) && !g_ascii_isdigit (c) && c != '-')
      return false;
  return true;
}

// A configuration as Config::template_variables gives it, with the values
// an operator (or a hostile .env) may set.
const Variables &
variables ()
{
  static const Variables fixed = {
    { "PORT", "8080" },
    { "REDIS_URL", "redis://:s3cret@127.0.0.1:6379/0" },
    { "STREAM_KEY", "audio:{call_sid}" },
    { "AUDIO_DUMP_DIR", "/var/lib/callstream/dumps" },
    { "DUMP_AUDIO", "true" },
    { "PUBLISH_REDIS", "false" },
    { "GREETING", "Hello! Say \"hi\" = a \\ b ! fakesink" },
    { "QUOTED", "\"quoted" },
    { "NULL_VALUE", "NULL" },
    { "EMPTY", "" },
    { "PATH_ID", "../../etc/passwd" },
    { "NON_UTF8", "\xff\xfe\xc3(" },
    { "NEWLINE", "a\nb\tc" },
  };
  return fixed;
}

// Where the quoted string opening at @text[@at] closes, as gst_parse_launch
// reads it (a backslash escapes the next byte); npos when it never does.
size_t
closing_quote (std::string_view text, size_t at)
{
  for (size_t i = at + 1; i < text.size (); i++) {
    if (text[i] == '\\')
      i++;
    else if (text[i] == '"')
      return i;
  }
  return std::string_view::npos;
}

bool
quotes_balanced (std::string_view text)
{
  for (size_t i = 0; i < text.size (); i++) {
    if (text[i] == '\\') {
      i++;
    } else if (text[i] == '"') {
      i = closing_quote (text, i);
      if (i == std::string_view::npos)
        return false;
    }
  }
  return true;
}

// The parser's unescaping of a quoted property value, then
// gst_value_deserialize's unwrapping of a string that starts with '"'.
std::string
read_back_value (std::string_view quoted)
{
  std::string value;
  for (size_t i = 1; i + 1 < quoted.size (); i++) {
    if (quoted[i] == '\\')
      i++;
    value += quoted[i];
  }
  if (value == "NULL")
    return "(null)";
  if (value.empty () || value[0] != '"')
    return value;
  std::string unwrapped;
  for (size_t i = 1; i < value.size (); i++) {
    const char c = value[i];
    if (c == '"') {
      check (i + 1 == value.size ());
      return unwrapped;
    }
    if (c == '\\') {
      check (i + 1 < value.size () && !(value[i + 1] >= '0' && value[i + 1] <= '3'));
      unwrapped += value[++i];
      continue;
    }
    check (g_ascii_isalnum (c) || std::string_view ("_-+/:.").find (c) != std::string_view::npos);
    unwrapped += c;
  }
  check (false);  // no closing quote
  return unwrapped;
}

void
check_description (const callstreamd::PipelineDescription &description)
{
  check (is_name (description.name));
  check (!description.route.empty () && description.route[0] == '/');
  check (!description.launch.empty ());
  if (description.socket == callstreamd::SocketMode::kReactor)
    check (!description.input.empty () && description.connection.empty ());
  else
    check (description.input.empty () && !description.connection.empty ());
  for (const auto &branch : description.branches)
    check (is_name (branch.name) && !branch.when.empty ());
}

void
check_filled (const callstreamd::PipelineDescription &description, const std::string &launch)
{
  check (launch.find ('\0') == std::string::npos);
  // Quotes the author wrote are the author's business; ours must balance.
  bool author_balanced = quotes_balanced (description.launch);
  for (const auto &branch : description.branches)
    author_balanced = author_balanced && quotes_balanced (branch.launch);
  if (author_balanced)
    check (quotes_balanced (launch));
}

// @value as the whole value of a property, between two elements.
void
check_value (std::string_view value)
{
  callstreamd::PipelineDescription description;
  description.file = "value.json";
  description.launch = "fakesrc name=${VALUE} ! fakesink";
  std::string launch, error;
  const bool filled = callstreamd::fill_pipeline (description,
      { { "VALUE", std::string (value) } }, launch, &error);
  if (value.find ('\0') != std::string_view::npos) {
    check (!filled && g_str_has_prefix (error.c_str (), "value.json: launch: "));
    return;
  }
  check (filled);
  const std::string_view prefix = "fakesrc name=", suffix = " ! fakesink";
  check (launch.size () >= prefix.size () + suffix.size () && launch.starts_with (prefix)
      && launch.ends_with (suffix));
  const std::string_view token = std::string_view (launch).substr (prefix.size (),
      launch.size () - prefix.size () - suffix.size ());
  if (token.empty () || token[0] != '"') {
    check (token == value);
    check (token.find_first_of (" \t\n\"'!\\") == std::string_view::npos);
    return;
  }
  check (closing_quote (token, 0) == token.size () - 1);
  check (read_back_value (token) == value);
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const bool fatal = [] {
    g_log_set_always_fatal (static_cast<GLogLevelFlags> (
        G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
    return true;
  }();
  (void) fatal;

  const std::string_view text (reinterpret_cast<const char *> (data), size);
  callstreamd::PipelineDescription description;
  std::string error;
  if (!callstreamd::parse_pipeline_description (text, "fuzz.json", description, &error)) {
    check (g_str_has_prefix (error.c_str (), "fuzz.json: "));
    check (error.find (": ", 11) != std::string::npos);
  } else {
    check (description.file == "fuzz.json");
    check_description (description);
    std::string launch;
    error.clear ();
    if (callstreamd::fill_pipeline (description, variables (), launch, &error))
      check_filled (description, launch);
    else
      check (g_str_has_prefix (error.c_str (), "fuzz.json: "));
    bool enabled = false;
    callstreamd::pipeline_enabled (description, variables (), enabled, &error);
  }
  check_value (text);
  return 0;
}
