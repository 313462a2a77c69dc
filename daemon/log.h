// Structured log lines, one per event, for the operators' greps: a UTC
// timestamp, the level, the event name, then key=value fields in the order
// given. Values with spaces, quotes or '=' are quoted with C escapes:
//
//   2026-11-21T18:30:00.123Z info connection_accepted provider=exotel call=c42 remote=127.0.0.1:5060
//
// Lines go to stderr (one write per line, so lines from several threads
// never interleave); CALLSTREAMD_LOG=quiet keeps only warnings and errors.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace callstreamd::log {

enum class Level { kDebug, kInfo, kWarning, kError };

using Field = std::pair<std::string_view, std::string_view>;

// The line, without its trailing newline and timestamp (for tests).
std::string format (Level level, std::string_view event,
    std::initializer_list<Field> fields);

void write (Level level, std::string_view event, std::initializer_list<Field> fields);

inline void info (std::string_view event, std::initializer_list<Field> fields = {})
{
  write (Level::kInfo, event, fields);
}

inline void warning (std::string_view event, std::initializer_list<Field> fields = {})
{
  write (Level::kWarning, event, fields);
}

inline void error (std::string_view event, std::initializer_list<Field> fields = {})
{
  write (Level::kError, event, fields);
}

}  // namespace callstreamd::log
