#include "log.h"

#include <glib.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace callstreamd::log {

namespace {

const char *
level_name (Level level)
{
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool
needs_quotes (std::string_view value)
{
  if (value.empty ())
    return true;
  for (unsigned char c : value)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
      return true;
  return false;
}

void
append_value (std::string &line, std::string_view value)
{
  if (!needs_quotes (value)) {
    line += value;
    return;
  }
  // g_strescape escapes control characters, quotes and bytes >= 0x7f.
  const std::string copy (value);
  g_autofree gchar *escaped = g_strescape (copy.c_str (), nullptr);
  line += '"';
  line += escaped;
  line += '"';
}

Level
minimum_level ()
{
  static const Level minimum = [] {
    const char *setting = g_getenv ("CALLSTREAMD_LOG");
    if (setting != nullptr && std::strcmp (setting, "quiet") == 0)
      return Level::kWarning;
    if (setting != nullptr && std::strcmp (setting, "debug") == 0)
      return Level::kDebug;
    return Level::kInfo;
  }();
  return minimum;
}

}  // namespace

std::string
format (Level level, std::string_view event, std::initializer_list<Field> fields)
{
  std::string line = level_name (level);
  line += ' ';
  line += event;
  for (const auto &[key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    append_value (line, value);
  }
  return line;
}

void
write (Level level, std::string_view event, std::initializer_list<Field> fields)
{
  if (level < minimum_level ())
    return;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");
  std::string line = stamp;
  char millis[8];
  g_snprintf (millis, sizeof millis, ".%03dZ ", g_date_time_get_microsecond (now) / 1000);
  line += millis;
  line += format (level, event, fields);
  line += '\n';
  // One write(2) per line: lines from several threads never interleave.
  const char *data = line.data ();
  size_t left = line.size ();
  while (left > 0) {
    const ssize_t written = ::write (STDERR_FILENO, data, left);
    if (written <= 0)
      break;
    data += written;
    left -= static_cast<size_t> (written);
  }
}

}  // namespace callstreamd::log
