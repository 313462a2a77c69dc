// Fuzz target: the request-authentication code that reads what a stranger
// sends (http_auth.h). Input lines: auth token, URL (also tried as an IP
// allow-list spec), header value (signature, Authorization, Host), then
// key=value form parameters. Nothing may crash or make GLib warn, a
// signature we compute must validate, and Basic credentials we encode must
// match.
#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http_auth.h"

namespace {

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

std::vector<std::string>
split_lines (std::string_view text)
{
  std::vector<std::string> lines;
  while (!text.empty ()) {
    const size_t end = std::min (text.find ('\n'), text.size ());
    lines.emplace_back (text.substr (0, end));
    text.remove_prefix (std::min (end + 1, text.size ()));
  }
  while (lines.size () < 3)
    lines.emplace_back ();
  return lines;
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  // A GLib warning or critical (a bad property value, say) is a finding too.
  static const bool fatal = [] {
    g_log_set_always_fatal (static_cast<GLogLevelFlags> (
        G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
    return true;
  }();
  (void) fatal;

  const auto lines = split_lines (std::string_view (reinterpret_cast<const char *> (data), size));
  const std::string &token = lines[0];
  const std::string &url = lines[1];
  const std::string &header = lines[2];
  callstreamd::FormParams params;
  for (size_t i = 3; i < lines.size (); i++) {
    const size_t eq = lines[i].find ('=');
    params.emplace_back (lines[i].substr (0, eq),
        eq == std::string::npos ? std::string () : lines[i].substr (eq + 1));
  }

  const std::string signature = callstreamd::twilio_signature (token, url, params);
  check (callstreamd::twilio_signature_valid (token, url, params, signature.c_str ())
      == !token.empty ());
  callstreamd::twilio_signature_valid (token, url, params, header.c_str ());
  callstreamd::twilio_body_signature_valid (token, url, header, header.c_str ());

  callstreamd::basic_auth_matches (header.c_str (), token, url);
  std::string user = token;
  for (char &c : user)
    if (c == ':')
      c = '_';
  const std::string credentials = user + ":" + url;
  g_autofree gchar *encoded = g_base64_encode (
      reinterpret_cast<const guchar *> (credentials.data ()), credentials.size ());
  check (callstreamd::basic_auth_matches ((std::string ("Basic ") + encoded).c_str (), user, url));

  callstreamd::IpAllowList list;
  std::string error;
  if (callstreamd::IpAllowList::parse (url, list, &error)) {
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
    list.allows (loopback);
  } else {
    check (!error.empty ());
  }

  callstreamd::public_request_url ({}, header.c_str (), token.c_str (), url.c_str ());
  return 0;
}
