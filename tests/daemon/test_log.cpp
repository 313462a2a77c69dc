// The structured log line format operators grep for.
#include <glib.h>

#include "log.h"

namespace log = callstreamd::log;

static void
test_fields_follow_the_event_in_order ()
{
  const std::string line = log::format (log::Level::kInfo, "connection_accepted",
      { { "provider", "exotel" }, { "call", "c42" }, { "remote", "127.0.0.1:5060" } });
  g_assert_cmpstr (line.c_str (), ==,
      "info connection_accepted provider=exotel call=c42 remote=127.0.0.1:5060");
}

static void
test_values_with_spaces_or_quotes_are_quoted ()
{
  const std::string line = log::format (log::Level::kWarning, "bad_message",
      { { "reason", "invalid \"base64\"" }, { "empty", "" }, { "eq", "a=b" } });
  g_assert_cmpstr (line.c_str (), ==,
      "warning bad_message reason=\"invalid \\\"base64\\\"\" empty=\"\" eq=\"a=b\"");
}

static void
test_control_characters_cannot_forge_a_line ()
{
  // A peer-supplied id with a newline stays on one line.
  const std::string line = log::format (log::Level::kInfo, "start",
      { { "call", "CA1\ninfo fake_event" } });
  g_assert_null (strchr (line.c_str (), '\n'));
  g_assert_cmpstr (line.c_str (), ==, "info start call=\"CA1\\ninfo fake_event\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/log/fields-follow-the-event-in-order", test_fields_follow_the_event_in_order);
  g_test_add_func ("/log/values-with-spaces-or-quotes-are-quoted",
      test_values_with_spaces_or_quotes_are_quoted);
  g_test_add_func ("/log/control-characters-cannot-forge-a-line",
      test_control_characters_cannot_forge_a_line);
  return g_test_run ();
}
