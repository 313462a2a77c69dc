// Expiring signatures for URLs we hand out (recording URLs, so an <audio>
// element can fetch them without an Authorization header), and the Bearer
// check of the JSON APIs. HMAC-SHA256 (GHmac), constant-time comparisons.
#pragma once

#include <glib.h>

#include <string>
#include <string_view>

namespace callstreamd {

// @path + "?expires=<t>&sig=<hex HMAC-SHA256(secret, path + "\n" + t)>".
std::string sign_path (std::string_view secret, std::string_view path, gint64 expires_unix);

// Whether @expires / @sig (the query values) sign @path and are not past.
bool verify_signed_path (std::string_view secret, std::string_view path,
    std::string_view expires, std::string_view sig, gint64 now_unix, std::string *reason);

// "Bearer <token>" (scheme case-insensitive) with @token exactly.
bool bearer_token_matches (const char *authorization_header, std::string_view token);

}  // namespace callstreamd
