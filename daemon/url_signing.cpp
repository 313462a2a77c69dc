#include "url_signing.h"

#include "http_auth.h"

namespace callstreamd {

namespace {

std::string
signature (std::string_view secret, std::string_view path, std::string_view expires)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256,
      reinterpret_cast<const guchar *> (secret.data ()), secret.size ());
  g_hmac_update (hmac, reinterpret_cast<const guchar *> (path.data ()),
      static_cast<gssize> (path.size ()));
  g_hmac_update (hmac, reinterpret_cast<const guchar *> ("\n"), 1);
  g_hmac_update (hmac, reinterpret_cast<const guchar *> (expires.data ()),
      static_cast<gssize> (expires.size ()));
  return g_hmac_get_string (hmac);
}

}  // namespace

std::string
sign_path (std::string_view secret, std::string_view path, gint64 expires_unix)
{
  const std::string expires = std::to_string (expires_unix);
  return std::string (path) + "?expires=" + expires + "&sig="
      + signature (secret, path, expires);
}

bool
verify_signed_path (std::string_view secret, std::string_view path, std::string_view expires,
    std::string_view sig, gint64 now_unix, std::string *reason)
{
  guint64 when = 0;
  const std::string expires_text (expires);
  if (expires.empty () || sig.empty ()) {
    *reason = "Bearer token or signature (expires, sig) required";
    return false;
  }
  if (!g_ascii_string_to_unsigned (expires_text.c_str (), 10, 0, G_MAXINT64, &when, nullptr)) {
    *reason = "expires is not a time";
    return false;
  }
  if (static_cast<gint64> (when) < now_unix) {
    *reason = "the signature has expired";
    return false;
  }
  if (!constant_time_equals (signature (secret, path, expires), sig)) {
    *reason = "the signature does not match";
    return false;
  }
  return true;
}

bool
bearer_token_matches (const char *authorization_header, std::string_view token)
{
  if (authorization_header == nullptr || token.empty ())
    return false;
  const std::string_view header (authorization_header);
  if (header.size () < 7 || g_ascii_strncasecmp (header.data (), "Bearer ", 7) != 0)
    return false;
  return constant_time_equals (header.substr (7), token);
}

}  // namespace callstreamd
