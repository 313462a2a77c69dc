// The .env file: KEY=VALUE lines read at start-up, before the process
// environment is merged over them (config.h). Accepted syntax, one entry a
// line:
//
//   # a comment line; blank lines are skipped
//   PORT=8443                      unquoted: trailing blanks and " #..." trimmed
//   export SUPPORT_EXOTEL=true     an optional "export " prefix (shell style)
//   AUDIO_DUMP_DIR='/var/x #1'     single quotes: taken literally
//   REALTIME_GREETING="Hi.\nHow can I help?"   double quotes: \n \t \" \\ escapes
//
// Keys are [A-Za-z_][A-Za-z0-9_]*. Later lines override earlier ones. There
// is no variable expansion ($X stays as written). Pure function, any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace callstreamd {

// Adds every entry of `text` to `out`. On a bad line, returns false with
// "line N: <what is wrong>" in `error` (when not null); `out` then holds the
// entries before that line.
bool parse_dotenv (std::string_view text, std::map<std::string, std::string> &out,
    std::string *error);

}  // namespace callstreamd
