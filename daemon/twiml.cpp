#include "twiml.h"

#include <glib.h>

#include "http_auth.h"

namespace callstreamd {

namespace {

constexpr std::string_view kXmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

bool
starts_with_case (std::string_view text, std::string_view prefix)
{
  return text.size () >= prefix.size ()
      && g_ascii_strncasecmp (text.data (), prefix.data (), prefix.size ()) == 0;
}

bool
forwarded_https (const char *forwarded_proto)
{
  if (forwarded_proto == nullptr)
    return false;
  std::string_view proto = forwarded_proto;
  proto = proto.substr (0, proto.find (','));
  while (!proto.empty () && (proto.front () == ' ' || proto.front () == '\t'))
    proto.remove_prefix (1);
  while (!proto.empty () && (proto.back () == ' ' || proto.back () == '\t'))
    proto.remove_suffix (1);
  return proto.size () == 5 && starts_with_case (proto, "https");
}

void
append_say (std::string &document, std::string_view text)
{
  if (text.empty ())
    return;
  document += "<Say>";
  document += xml_escape (text);
  document += "</Say>";
}

}  // namespace

std::string
xml_escape (std::string_view text)
{
  g_autofree gchar *valid = g_utf8_make_valid (text.data (), static_cast<gssize> (text.size ()));
  // XML 1.0 has no character references for these; GMarkup would write &#x1;.
  for (gchar *c = valid; *c != '\0'; c++)
    if (static_cast<guchar> (*c) < 0x20 && *c != '\t' && *c != '\n' && *c != '\r')
      *c = ' ';
  g_autofree gchar *escaped = g_markup_escape_text (valid, -1);
  return escaped;
}

std::string
media_stream_url (const std::string &public_url, const char *host_header,
    const char *forwarded_proto, std::string_view path)
{
  std::string path_text (path);
  std::string url = public_request_url (public_url, host_header, nullptr, path_text.c_str ());
  if (url.empty ())
    return {};
  const size_t scheme_end = url.find ("://");
  const bool secure = starts_with_case (url, "https://") || forwarded_https (forwarded_proto);
  return (secure ? "wss" : "ws") + url.substr (scheme_end);
}

std::string
connect_stream_twiml (std::string_view say_text, std::string_view stream_url,
    const std::vector<std::pair<std::string, std::string>> &parameters)
{
  std::string document (kXmlDeclaration);
  document += "<Response>";
  append_say (document, say_text);
  document += "<Connect><Stream url=\"";
  document += xml_escape (stream_url);
  document += "\">";
  for (const auto &[name, value] : parameters) {
    document += "<Parameter name=\"";
    document += xml_escape (name);
    document += "\" value=\"";
    document += xml_escape (value);
    document += "\"/>";
  }
  document += "</Stream></Connect></Response>";
  return document;
}

std::string
gather_twiml (std::string_view say_text, std::string_view action_url)
{
  const std::string action = xml_escape (action_url);
  std::string document (kXmlDeclaration);
  document += "<Response><Gather input=\"speech dtmf\" action=\"";
  document += action;
  document += "\" method=\"POST\" speechTimeout=\"auto\">";
  append_say (document, say_text);
  document += "</Gather>";
  append_say (document, kGatherNoInputText);
  document += "<Redirect method=\"POST\">";
  document += action;
  document += "</Redirect></Response>";
  return document;
}

}  // namespace callstreamd
