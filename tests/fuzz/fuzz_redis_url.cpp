// Fuzz target: the Redis side of redisstreamsink that reads configuration
// (redis_entry.h). Input lines: a Redis URL, a stream key template, a call
// sid, a stream sid. Nothing may crash or hang; a parsed URL is usable (a
// host and a port in range, or an absolute socket path, neither with a NUL
// that would cut it short); display() never depends on the password and
// masks it; redacting a parsed URL hides the password and keeps all the rest
// of a redis:// URL; the handshake is [AUTH] [SELECT] PING; an
// expanded key replaces exactly its placeholders, and the XADD built on it
// is well-formed RESP that reads back as its arguments.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/redis_entry.h"

namespace {

using callstream::RedisUrl;

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

std::vector<std::string_view>
split_lines (std::string_view text)
{
  std::vector<std::string_view> lines;
  while (!text.empty ()) {
    const size_t end = std::min (text.find ('\n'), text.size ());
    lines.push_back (text.substr (0, end));
    text.remove_prefix (std::min (end + 1, text.size ()));
  }
  while (lines.size () < 4)
    lines.emplace_back ();
  return lines;
}

void
check_usable (const RedisUrl &url)
{
  if (url.transport == RedisUrl::Transport::kTcp) {
    check (!url.host.empty () && url.port >= 1 && url.port <= 65535);
    check (url.socket_path.empty ());
    check (url.host.find ('\0') == std::string::npos);
  } else {
    check (!url.socket_path.empty () && url.socket_path.front () == '/');
    check (url.socket_path.find ('\0') == std::string::npos);
  }
  check (url.db >= 0);
  check (url.user.empty () || !url.password.empty ());
}

void
check_display (const RedisUrl &url)
{
  const std::string display = url.display ();
  RedisUrl other = url;
  if (!url.password.empty ()) {
    check (display.find (":***@") != std::string::npos);
    other.password = url.password == "x" ? "y" : "x";
    check (other.display () == display);
    check (other.connection_key () != url.connection_key ());
  } else {
    check (display.find ("***") == std::string::npos || url.host.find ("***") != std::string::npos
        || url.socket_path.find ("***") != std::string::npos);
  }
}

// Where the userinfo of a parsed URL ends: its last '@' before the path.
size_t
userinfo_end (std::string_view text, const RedisUrl &url)
{
  const size_t start = text.find ("://") + 3;
  const char *ends = url.transport == RedisUrl::Transport::kTcp ? "/?" : "/";
  const std::string_view authority = text.substr (start, text.find_first_of (ends, start) - start);
  return start + authority.rfind ('@');
}

// Redacting a URL that parses hides its password: what follows "***" is a
// tail of the URL from the userinfo's '@' on (or later: redaction may take
// more, never less). A redis:// URL keeps everything but the password.
void
check_redacted (std::string_view text, const RedisUrl &url)
{
  const std::string redacted = callstream::redact_redis_url (text);
  if (url.password.empty ())
    return;
  const size_t at = userinfo_end (text, url);
  const size_t colon = text.find (':', text.find ("://") + 3);
  check (colon < at);
  const std::string head = std::string (text.substr (0, colon + 1)) + "***";
  check (redacted.starts_with (head));
  const std::string_view tail = std::string_view (redacted).substr (head.size ());
  check (text.ends_with (tail) && text.size () - tail.size () >= at);
  if (url.transport != RedisUrl::Transport::kTcp)
    return;
  const auto again = callstream::parse_redis_url (redacted);
  const auto *parsed = std::get_if<RedisUrl> (&again);
  check (parsed != nullptr);
  check (parsed->password == "***");
  check (parsed->host == url.host && parsed->port == url.port && parsed->user == url.user
      && parsed->db == url.db);
}

void
check_handshake (const RedisUrl &url)
{
  using Step = callstream::RedisHandshakeStep;
  const auto steps = callstream::redis_handshake (url);
  std::vector<Step> expected;
  if (!url.password.empty ())
    expected.push_back (Step::kAuth);
  if (url.db != 0)
    expected.push_back (Step::kSelect);
  expected.push_back (Step::kPing);
  check (steps.size () == expected.size ());
  for (size_t i = 0; i < steps.size (); i++)
    check (steps[i].step == expected[i] && !steps[i].command.empty ());
}

size_t
occurrences (std::string_view text, std::string_view what)
{
  size_t count = 0;
  for (size_t at = text.find (what); at != std::string_view::npos; at = text.find (what, at + 1))
    count++;
  return count;
}

// Reads one RESP array of bulk strings, the whole of @resp.
std::vector<std::string>
read_resp (std::string_view resp)
{
  auto number = [&resp] (char kind) {
    check (!resp.empty () && resp.front () == kind);
    const size_t end = resp.find ("\r\n");
    check (end != std::string_view::npos && end > 1);
    size_t value = 0;
    for (const char c : resp.substr (1, end - 1)) {
      check (c >= '0' && c <= '9');
      value = value * 10 + static_cast<size_t> (c - '0');
    }
    resp.remove_prefix (end + 2);
    return value;
  };
  std::vector<std::string> args (number ('*'));
  for (std::string &arg : args) {
    const size_t length = number ('$');
    check (resp.size () >= length + 2 && resp.substr (length, 2) == "\r\n");
    arg = resp.substr (0, length);
    resp.remove_prefix (length + 2);
  }
  check (resp.empty ());
  return args;
}

void
check_key (std::string_view key_template, std::string_view call_sid, std::string_view stream_sid)
{
  const std::string key = callstream::expand_stream_key (key_template, call_sid, stream_sid);
  // Placeholders cannot overlap ('{' opens each), so counting finds each once.
  const size_t calls = occurrences (key_template, "{call_sid}");
  const size_t streams = occurrences (key_template, "{stream_sid}");
  check (key.size () + calls * 10 + streams * 12
      == key_template.size () + calls * call_sid.size () + streams * stream_sid.size ());
  if (calls == 0 && streams == 0)
    check (key == key_template);

  const std::vector<std::string> args = read_resp (callstream::format_redis_command (
      { "XADD", key, "*", "call_sid", call_sid, "stream_sid", stream_sid }));
  check (args == std::vector<std::string> ({ "XADD", key, "*", "call_sid", std::string (call_sid),
      "stream_sid", std::string (stream_sid) }));
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const auto lines = split_lines (std::string_view (reinterpret_cast<const char *> (data), size));
  const auto result = callstream::parse_redis_url (lines[0]);
  if (const auto *url = std::get_if<RedisUrl> (&result)) {
    check_usable (*url);
    check_display (*url);
    check_redacted (lines[0], *url);
    check_handshake (*url);
  } else {
    check (!std::get<callstream::RedisUrlError> (result).reason.empty ());
    callstream::redact_redis_url (lines[0]);
  }
  check_key (lines[1], lines[2], lines[3]);
  return 0;
}
