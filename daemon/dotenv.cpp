#include "dotenv.h"

#include <glib.h>

namespace callstreamd {

namespace {

bool
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

std::string_view
trim (std::string_view text)
{
  while (!text.empty () && is_blank (text.front ()))
    text.remove_prefix (1);
  while (!text.empty () && is_blank (text.back ()))
    text.remove_suffix (1);
  return text;
}

bool
is_key (std::string_view key)
{
  if (key.empty () || g_ascii_isdigit (key[0]))
    return false;
  for (char c : key)
    if (!g_ascii_isalnum (c) && c != '_')
      return false;
  return true;
}

// What may follow a closing quote: blanks, then nothing or a comment.
bool
only_comment_left (std::string_view rest)
{
  rest = trim (rest);
  return rest.empty () || rest[0] == '#';
}

bool
unquote_single (std::string_view raw, std::string &value, std::string &what)
{
  const size_t close = raw.find ('\'', 1);
  if (close == std::string_view::npos) {
    what = "unterminated single-quoted value";
    return false;
  }
  value = raw.substr (1, close - 1);
  if (!only_comment_left (raw.substr (close + 1))) {
    what = "unexpected text after the closing quote";
    return false;
  }
  return true;
}

bool
unquote_double (std::string_view raw, std::string &value, std::string &what)
{
  value.clear ();
  for (size_t i = 1; i < raw.size (); i++) {
    const char c = raw[i];
    if (c == '"') {
      if (!only_comment_left (raw.substr (i + 1))) {
        what = "unexpected text after the closing quote";
        return false;
      }
      return true;
    }
    if (c != '\\') {
      value += c;
      continue;
    }
    if (++i == raw.size ())
      break;
    switch (raw[i]) {
      case 'n': value += '\n'; break;
      case 't': value += '\t'; break;
      case '"': value += '"'; break;
      case '\\': value += '\\'; break;
      default:
        what = std::string ("unknown escape \\") + raw[i]
            + " in a double-quoted value (use \\n, \\t, \\\" or \\\\)";
        return false;
    }
  }
  what = "unterminated double-quoted value";
  return false;
}

// An unquoted value ends at " #" (a comment) or the end of the line; the
// caller has trimmed it, so a leading '#' is a comment too.
std::string
unquoted_value (std::string_view raw)
{
  for (size_t i = 0; i < raw.size (); i++)
    if (raw[i] == '#' && (i == 0 || is_blank (raw[i - 1]))) {
      raw = raw.substr (0, i);
      break;
    }
  return std::string (trim (raw));
}

bool
parse_line (std::string_view line, std::map<std::string, std::string> &out,
    std::string &what)
{
  line = trim (line);
  if (line.empty () || line[0] == '#')
    return true;
  if (line.size () > 7 && line.substr (0, 6) == "export" && is_blank (line[6]))
    line = trim (line.substr (7));
  const size_t equals = line.find ('=');
  if (equals == std::string_view::npos) {
    what = "expected KEY=VALUE, found \"" + std::string (line) + "\"";
    return false;
  }
  const std::string_view key = trim (line.substr (0, equals));
  if (!is_key (key)) {
    what = "invalid key \"" + std::string (key) + "\" (letters, digits and _, not starting with a digit)";
    return false;
  }
  const std::string_view raw = trim (line.substr (equals + 1));
  std::string value;
  if (!raw.empty () && raw[0] == '\'') {
    if (!unquote_single (raw, value, what))
      return false;
  } else if (!raw.empty () && raw[0] == '"') {
    if (!unquote_double (raw, value, what))
      return false;
  } else {
    value = unquoted_value (raw);
  }
  out[std::string (key)] = std::move (value);
  return true;
}

}  // namespace

bool
parse_dotenv (std::string_view text, std::map<std::string, std::string> &out,
    std::string *error)
{
  unsigned number = 0;
  while (!text.empty ()) {
    number++;
    const size_t end = text.find ('\n');
    std::string_view line = text.substr (0, end);
    text.remove_prefix (end == std::string_view::npos ? text.size () : end + 1);
    if (!line.empty () && line.back () == '\r')
      line.remove_suffix (1);
    std::string what;
    if (!parse_line (line, out, what)) {
      if (error != nullptr)
        *error = "line " + std::to_string (number) + ": " + what;
      return false;
    }
  }
  return true;
}

}  // namespace callstreamd
