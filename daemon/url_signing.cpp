#include "url_signing.h"

#include "http_auth.h"

namespace callstreamd {

namespace {

std::string
signature_hex (std::string_view secret, std::string_view path, gint64 expires_unix)
{
  std::string message (path);
  message += '\n';
  message += std::to_string (expires_unix);
  const char *key = secret.data () != nullptr ? secret.data () : "";
  g_autofree gchar *hex = g_compute_hmac_for_data (G_CHECKSUM_SHA256,
      reinterpret_cast<const guchar *> (key), secret.size (),
      reinterpret_cast<const guchar *> (message.data ()), message.size ());
  return hex;
}

bool
fail (std::string *reason, std::string text)
{
  if (reason != nullptr)
    *reason = std::move (text);
  return false;
}

}  // namespace

std::string
sign_path (std::string_view secret, std::string_view path, gint64 expires_unix)
{
  return std::string (path) + "?expires=" + std::to_string (expires_unix) + "&sig="
      + signature_hex (secret, path, expires_unix);
}

bool
verify_signed_path (std::string_view secret, std::string_view path, const char *expires,
    const char *sig, gint64 now_unix, std::string *reason)
{
  if (secret.empty ())
    return fail (reason, "no signing secret is configured");
  if (expires == nullptr || sig == nullptr)
    return fail (reason, std::string ("the link has no ") + (expires == nullptr ? "expires"
            : "sig") + " parameter");
  guint64 expires_unix = 0;
  if (!g_ascii_isdigit (expires[0]) || !g_ascii_string_to_unsigned (expires, 10, 0,
          G_MAXINT64, &expires_unix, nullptr))
    return fail (reason, std::string ("expires is not a Unix time: \"") + expires + "\"");
  g_autofree gchar *sig_lowercase = g_ascii_strdown (sig, -1);
  const std::string expected = signature_hex (secret, path, static_cast<gint64> (expires_unix));
  if (!constant_time_equals (expected, sig_lowercase))
    return fail (reason, "the signature does not match the path and expiry");
  if (now_unix > static_cast<gint64> (expires_unix))
    return fail (reason, "the link expired at " + std::to_string (expires_unix));
  return true;
}

bool
verify_signed_path (std::string_view secret, std::string_view path, GHashTable *query,
    gint64 now_unix, std::string *reason)
{
  const auto value = [query] (const char *key) {
    return query != nullptr ? static_cast<const char *> (g_hash_table_lookup (query, key))
                            : nullptr;
  };
  return verify_signed_path (secret, path, value ("expires"), value ("sig"), now_unix, reason);
}

bool
bearer_token_matches (const char *authorization_header, std::string_view token)
{
  if (authorization_header == nullptr || token.empty ())
    return false;
  const std::string_view header (authorization_header);
  if (header.size () < 7 || g_ascii_strncasecmp (authorization_header, "Bearer ", 7) != 0)
    return false;
  std::string_view credentials = header.substr (7);
  const size_t start = credentials.find_first_not_of (" \t");
  if (start == std::string_view::npos)
    return false;
  credentials = credentials.substr (start, credentials.find_last_not_of (" \t") - start + 1);
  return constant_time_equals (credentials, token);
}

}  // namespace callstreamd
