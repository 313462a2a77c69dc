#include "http_auth.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace callstreamd {

namespace {

constexpr std::string_view kSeparators = ", \t\r\n";

std::array<guint8, 32>
sha256 (std::string_view data)
{
  std::array<guint8, 32> digest {};
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, reinterpret_cast<const guchar *> (data.data ()),
      static_cast<gssize> (data.size ()));
  gsize length = digest.size ();
  g_checksum_get_digest (checksum, digest.data (), &length);
  return digest;
}

bool
is_base64_text (std::string_view text)
{
  if (text.size () % 4 != 0)
    return false;
  const size_t padding_start = text.find ('=');
  if (padding_start != std::string_view::npos
      && (text.size () - padding_start > 2
          || text.find_first_not_of ('=', padding_start) != std::string_view::npos))
    return false;
  for (size_t i = 0; i < std::min (padding_start, text.size ()); i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return false;
  return true;
}

std::string_view
trim (std::string_view text)
{
  const size_t start = text.find_first_not_of (" \t");
  if (start == std::string_view::npos)
    return {};
  return text.substr (start, text.find_last_not_of (" \t") - start + 1);
}

// url with its port removed, or with the scheme's default port added when it
// has none: the other form a proxy may have handed on. "" when not a URL.
std::string
url_with_other_port_form (std::string_view url)
{
  const size_t scheme_end = url.find ("://");
  if (scheme_end == std::string_view::npos)
    return {};
  const size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of ("/?#", authority_start);
  if (authority_end == std::string_view::npos)
    authority_end = url.size ();
  const std::string_view authority =
      url.substr (authority_start, authority_end - authority_start);
  const size_t at = authority.rfind ('@');
  const size_t host_start = at == std::string_view::npos ? 0 : at + 1;
  const size_t bracket = authority.rfind (']');
  size_t colon = authority.rfind (':');
  if (colon != std::string_view::npos
      && (colon < host_start || (bracket != std::string_view::npos && colon < bracket)))
    colon = std::string_view::npos;

  std::string other (url.substr (0, authority_start));
  if (colon != std::string_view::npos) {
    other += authority.substr (0, colon);
  } else {
    const std::string_view scheme = url.substr (0, scheme_end);
    other += authority;
    if (scheme.size () == 5 && g_ascii_strncasecmp (scheme.data (), "https", 5) == 0)
      other += ":443";
    else if (scheme.size () == 4 && g_ascii_strncasecmp (scheme.data (), "http", 4) == 0)
      other += ":80";
    else
      return {};
  }
  other += url.substr (authority_end);
  return other;
}

// The raw (still percent-encoded) value of a query parameter; false when absent.
bool
query_parameter (std::string_view url, std::string_view name, std::string &value)
{
  const size_t fragment = url.find ('#');
  url = url.substr (0, fragment);
  const size_t question = url.find ('?');
  if (question == std::string_view::npos)
    return false;
  std::string_view query = url.substr (question + 1);
  while (!query.empty ()) {
    const size_t amp = query.find ('&');
    const std::string_view pair = query.substr (0, amp);
    const size_t eq = pair.find ('=');
    if (pair.substr (0, eq) == name) {
      value = eq == std::string_view::npos ? std::string () : std::string (pair.substr (eq + 1));
      return true;
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix (amp + 1);
  }
  return false;
}

bool
is_plain_host (std::string_view host)
{
  if (host.empty ())
    return false;
  for (char c : host)
    if (!g_ascii_isalnum (c) && std::strchr (".-_:[]", c) == nullptr)
      return false;
  return true;
}

// Absent, or 1-3 digits up to 128.
bool
prefix_length_in_range (std::string_view entry)
{
  const size_t slash = entry.find ('/');
  if (slash == std::string_view::npos)
    return true;
  const std::string_view digits = entry.substr (slash + 1);
  if (digits.empty () || digits.size () > 3
      || digits.find_first_not_of ("0123456789") != std::string_view::npos)
    return false;
  return std::stoi (std::string (digits)) <= 128;
}

}  // namespace

bool
constant_time_equals (std::string_view a, std::string_view b)
{
  const auto digest_a = sha256 (a);
  const auto digest_b = sha256 (b);
  guint8 difference = a.size () == b.size () ? 0 : 1;
  for (size_t i = 0; i < digest_a.size (); i++)
    difference |= digest_a[i] ^ digest_b[i];
  return difference == 0;
}

bool
basic_auth_matches (const char *authorization_header, std::string_view user,
    std::string_view password)
{
  if (authorization_header == nullptr)
    return false;
  const std::string_view header = trim (authorization_header);
  if (header.size () < 6 || g_ascii_strncasecmp (header.data (), "Basic ", 6) != 0)
    return false;
  const std::string encoded (trim (header.substr (6)));
  if (encoded.empty () || !is_base64_text (encoded))
    return false;
  gsize length = 0;
  g_autofree guchar *decoded = g_base64_decode (encoded.c_str (), &length);
  const std::string_view credentials (reinterpret_cast<const char *> (decoded), length);
  const size_t colon = credentials.find (':');
  if (colon == std::string_view::npos)
    return false;
  // Both compared every time: a wrong user takes as long as a wrong password.
  const bool user_ok = constant_time_equals (credentials.substr (0, colon), user);
  const bool password_ok = constant_time_equals (credentials.substr (colon + 1), password);
  return user_ok & password_ok;
}

bool
IpAllowList::parse (std::string_view spec, IpAllowList &out, std::string *error)
{
  IpAllowList list;
  while (!spec.empty ()) {
    const size_t start = spec.find_first_not_of (kSeparators);
    if (start == std::string_view::npos)
      break;
    spec.remove_prefix (start);
    const size_t end = std::min (spec.find_first_of (kSeparators), spec.size ());
    const std::string entry (spec.substr (0, end));
    spec.remove_prefix (end);

    g_autoptr (GError) parse_error = nullptr;
    GInetAddressMask *mask = nullptr;
    // GLib warns (fatal in tests) instead of failing on a length over 128.
    if (prefix_length_in_range (entry))
      mask = g_inet_address_mask_new_from_string (entry.c_str (), &parse_error);
    if (mask == nullptr) {
      if (error != nullptr)
        *error = "IP allow-list entry \"" + entry + "\" is not an address or CIDR range"
            + (parse_error != nullptr ? std::string (" (") + parse_error->message + ")" : "");
      return false;
    }
    list.masks_.emplace_back (mask, g_object_unref);
  }
  out = std::move (list);
  return true;
}

bool
IpAllowList::allows (GInetAddress *address) const
{
  if (masks_.empty ())
    return true;
  if (address == nullptr)
    return false;
  g_autoptr (GInetAddress) mapped_ipv4 = nullptr;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6) {
    const guint8 *bytes = g_inet_address_to_bytes (address);
    static const guint8 kMappedPrefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (std::memcmp (bytes, kMappedPrefix, sizeof kMappedPrefix) == 0)
      mapped_ipv4 = g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
  }
  for (const auto &mask : masks_) {
    if (g_inet_address_mask_matches (mask.get (), address))
      return true;
    if (mapped_ipv4 != nullptr && g_inet_address_mask_matches (mask.get (), mapped_ipv4))
      return true;
  }
  return false;
}

std::string
twilio_signature (std::string_view auth_token, std::string_view url,
    const FormParams &form_params)
{
  FormParams sorted = form_params;
  std::sort (sorted.begin (), sorted.end ());
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1,
      reinterpret_cast<const guchar *> (auth_token.data ()), auth_token.size ());
  g_hmac_update (hmac, reinterpret_cast<const guchar *> (url.data ()),
      static_cast<gssize> (url.size ()));
  for (const auto &[key, value] : sorted) {
    g_hmac_update (hmac, reinterpret_cast<const guchar *> (key.data ()),
        static_cast<gssize> (key.size ()));
    g_hmac_update (hmac, reinterpret_cast<const guchar *> (value.data ()),
        static_cast<gssize> (value.size ()));
  }
  guint8 digest[20];
  gsize length = sizeof digest;
  g_hmac_get_digest (hmac, digest, &length);
  g_autofree gchar *encoded = g_base64_encode (digest, length);
  return encoded;
}

bool
twilio_signature_valid (std::string_view auth_token, std::string_view url,
    const FormParams &form_params, const char *header)
{
  if (header == nullptr || auth_token.empty ())
    return false;
  bool valid = constant_time_equals (twilio_signature (auth_token, url, form_params), header);
  const std::string other = url_with_other_port_form (url);
  if (!other.empty ())
    valid |= constant_time_equals (twilio_signature (auth_token, other, form_params), header);
  return valid;
}

bool
twilio_body_signature_valid (std::string_view auth_token, std::string_view url,
    std::string_view body, const char *header)
{
  std::string claimed_hash;
  if (!query_parameter (url, "bodySHA256", claimed_hash))
    return false;
  const bool signature_ok = twilio_signature_valid (auth_token, url, {}, header);
  g_autofree gchar *body_hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
      reinterpret_cast<const guchar *> (body.data ()), body.size ());
  g_autofree gchar *claimed_lower = g_ascii_strdown (claimed_hash.c_str (), -1);
  const bool body_ok = constant_time_equals (body_hash, claimed_lower);
  return signature_ok & body_ok;
}

std::string
public_request_url (const std::string &public_url, const char *host_header,
    const char *forwarded_proto, const char *path_and_query)
{
  std::string_view path = path_and_query != nullptr && *path_and_query != '\0'
      ? std::string_view (path_and_query) : std::string_view ("/");
  std::string url;
  if (!public_url.empty ()) {
    std::string_view base = public_url;
    while (!base.empty () && base.back () == '/')
      base.remove_suffix (1);
    url = base;
  } else {
    if (host_header == nullptr || !is_plain_host (host_header))
      return {};
    std::string_view proto = forwarded_proto != nullptr ? forwarded_proto : "";
    proto = trim (proto.substr (0, proto.find (',')));
    const bool https = proto.size () == 5 && g_ascii_strncasecmp (proto.data (), "https", 5) == 0;
    url = https ? "https://" : "http://";
    url += host_header;
  }
  if (path.front () != '/')
    url += '/';
  url += path;
  return url;
}

std::string
public_base_url (const std::string &public_url, const char *host_header,
    const char *forwarded_proto)
{
  std::string base = public_request_url (public_url, host_header, forwarded_proto, "");
  while (!base.empty () && base.back () == '/')
    base.pop_back ();
  return base;
}

}  // namespace callstreamd
