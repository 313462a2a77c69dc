// Links to recordings that an <audio> element can fetch without headers,
// and the Bearer token check of the JSON APIs, for when API_TOKEN is set.
//
// A signed link is the path with an expiry time and an HMAC-SHA256 over
// both, keyed with the secret (API_TOKEN):
//
//   /recordings/conv_abc.mp3?expires=1767225600&sig=<64 lowercase hex>
//   sig = hex (HMAC-SHA256 (secret, path + "\n" + expires))
//
// The path is signed as it appears in the URL (percent-encoded, which is
// what g_uri_get_path gives for a libsoup request), without its query.
// Pure computation: no I/O, no global state, safe from any thread.
// Signatures and tokens are compared in constant time.
#pragma once

#include <glib.h>

#include <string>
#include <string_view>

namespace callstreamd {

// path + "?expires=<expires_unix>&sig=<hex>". path must have no query.
// Never call with an empty secret: verify_signed_path rejects them all.
std::string sign_path (std::string_view secret, std::string_view path, gint64 expires_unix);

// True when sig is the signature of path and expires under secret, and
// now_unix <= expires. expires and sig are the decoded query values (either
// may be nullptr); expires must be a plain non-negative decimal number. On
// false, *reason (when not nullptr) says which check failed: an empty
// secret, a missing or malformed parameter, a wrong signature (the link was
// altered or signed with another secret), or the time it expired.
bool verify_signed_path (std::string_view secret, std::string_view path, const char *expires,
    const char *sig, gint64 now_unix, std::string *reason);

// The same with the query table a SoupServer handler receives (may be
// nullptr): its "expires" and "sig" entries.
bool verify_signed_path (std::string_view secret, std::string_view path, GHashTable *query,
    gint64 now_unix, std::string *reason);

// True when the Authorization header (may be nullptr) is "Bearer <token>"
// (scheme case-insensitive, RFC 6750) with exactly this token. An empty
// token never matches: whether an empty API_TOKEN turns checks off is the
// caller's decision.
bool bearer_token_matches (const char *authorization_header, std::string_view token);

}  // namespace callstreamd
