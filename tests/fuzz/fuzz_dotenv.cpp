// Fuzz target: any bytes as a .env file (dotenv.h). Parsing must never crash
// or hang; every key is [A-Za-z_][A-Za-z0-9_]* (so never holds '=' or a
// blank); an error names a line that exists, and the entries kept are those
// of the lines before it; and what parses, written back one double-quoted
// KEY="VALUE" line per entry, parses to the same entries.
#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "dotenv.h"

namespace {

using Entries = std::map<std::string, std::string>;

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

void
check_key (const std::string &key)
{
  check (!key.empty () && !g_ascii_isdigit (key[0]));
  for (const char c : key)
    check (g_ascii_isalnum (c) || c == '_');
}

// The entries as a .env file the parser must read back unchanged.
std::string
write_back (const Entries &entries)
{
  std::string text;
  for (const auto &[key, value] : entries) {
    text += key + "=\"";
    for (const char c : value) {
      if (c == '\n')
        text += "\\n";
      else if (c == '\t')
        text += "\\t";
      else if (c == '"' || c == '\\')
        text += std::string ("\\") + c;
      else
        text += c;
    }
    text += "\"\n";
  }
  return text;
}

// The number of lines parse_dotenv counts in @text.
unsigned
line_count (std::string_view text)
{
  unsigned lines = 0;
  size_t start = 0;
  while (start < text.size ()) {
    lines++;
    const size_t end = text.find ('\n', start);
    start = end == std::string_view::npos ? text.size () : end + 1;
  }
  return lines;
}

// @text up to (not including) line @number, 1-based.
std::string_view
lines_before (std::string_view text, unsigned number)
{
  size_t end = 0;
  for (unsigned line = 1; line < number; line++)
    end = text.find ('\n', end) + 1;
  return text.substr (0, end);
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view text (reinterpret_cast<const char *> (data), size);
  Entries entries;
  std::string error;
  if (callstreamd::parse_dotenv (text, entries, &error)) {
    check (error.empty ());
    for (const auto &[key, value] : entries)
      check_key (key);
    Entries again;
    check (callstreamd::parse_dotenv (write_back (entries), again, nullptr));
    check (again == entries);
    return 0;
  }
  // "line N: <what>", N a line of the file, and the entries before it kept.
  check (g_str_has_prefix (error.c_str (), "line "));
  const unsigned number = static_cast<unsigned> (g_ascii_strtoull (error.c_str () + 5, nullptr, 10));
  check (number >= 1 && number <= line_count (text));
  check (error.find (": ") != std::string::npos && error.size () > error.find (": ") + 2);
  for (const auto &[key, value] : entries)
    check_key (key);
  Entries before;
  check (callstreamd::parse_dotenv (lines_before (text, number), before, nullptr));
  check (before == entries);
  return 0;
}
