// Expiring signed links to recordings, and the Bearer token of the JSON APIs.
#include <libsoup/soup.h>

#include <string>

#include "url_signing.h"

using callstreamd::bearer_token_matches;
using callstreamd::sign_path;
using callstreamd::verify_signed_path;

namespace {

constexpr const char *kSecret = "s3cret-token";
constexpr const char *kPath = "/recordings/conv_abc.mp3";
constexpr gint64 kExpires = 1767225600;  // 2026-01-01T00:00:00Z
// python3: hmac.new(b"s3cret-token", b"/recordings/conv_abc.mp3\n1767225600",
//     hashlib.sha256).hexdigest()
constexpr const char *kSig = "739ba7d7b14f62125dd02901f4379484cd5df172460c821876bdf3faf928dec8";

// The query of a signed link as a SoupServer handler receives it.
GHashTable *
query_of (const std::string &link)
{
  const size_t question = link.find ('?');
  g_assert_cmpuint (question, !=, std::string::npos);
  GHashTable *query = g_uri_parse_params (link.c_str () + question + 1, -1, "&",
      G_URI_PARAMS_NONE, nullptr);
  g_assert_nonnull (query);
  return query;
}

void
assert_refused (const char *expires, const char *sig, gint64 now, const char *secret,
    const char *path, const char *reason_part)
{
  std::string reason;
  g_assert_false (verify_signed_path (secret, path, expires, sig, now, &reason));
  if (reason.find (reason_part) == std::string::npos)
    g_error ("reason \"%s\" does not contain \"%s\"", reason.c_str (), reason_part);
}

}  // namespace

static void
test_signed_path_carries_expiry_and_hmac ()
{
  const std::string link = sign_path (kSecret, kPath, kExpires);
  const std::string expected = std::string (kPath) + "?expires=1767225600&sig=" + kSig;
  g_assert_cmpstr (link.c_str (), ==, expected.c_str ());
}

static void
test_valid_link_verifies_until_it_expires ()
{
  g_autoptr (GHashTable) query = query_of (sign_path (kSecret, kPath, kExpires));
  std::string reason = "untouched";
  g_assert_true (verify_signed_path (kSecret, kPath, query, kExpires - 3600, &reason));
  g_assert_true (verify_signed_path (kSecret, kPath, query, kExpires, &reason));
  g_assert_cmpstr (reason.c_str (), ==, "untouched");
  // Hex case is not part of the secret.
  g_assert_true (verify_signed_path (kSecret, kPath, "1767225600",
      "739BA7D7B14F62125DD02901F4379484CD5DF172460C821876BDF3FAF928DEC8", kExpires, nullptr));
}

static void
test_expired_link_is_refused ()
{
  assert_refused ("1767225600", kSig, kExpires + 1, kSecret, kPath,
      "expired at 1767225600");
}

static void
test_tampered_path_is_refused ()
{
  assert_refused ("1767225600", kSig, kExpires - 1, kSecret, "/recordings/conv_abd.mp3",
      "signature does not match");
  assert_refused ("1767225600", kSig, kExpires - 1, kSecret, "/recordings/conv_abc.mp3/",
      "signature does not match");
}

static void
test_tampered_signature_or_expiry_is_refused ()
{
  std::string sig (kSig);
  sig[10] = sig[10] == '0' ? '1' : '0';
  assert_refused ("1767225600", sig.c_str (), kExpires - 1, kSecret, kPath,
      "signature does not match");
  assert_refused ("1767225600", std::string (kSig).substr (0, 63).c_str (), kExpires - 1,
      kSecret, kPath, "signature does not match");
  assert_refused ("", "", kExpires - 1, kSecret, kPath, "not a Unix time");
  // Pushing the expiry later breaks the signature.
  assert_refused ("1767229200", kSig, kExpires - 1, kSecret, kPath,
      "signature does not match");
}

static void
test_wrong_secret_is_refused ()
{
  assert_refused ("1767225600", kSig, kExpires - 1, "another-token", kPath,
      "signature does not match");
  assert_refused ("1767225600", kSig, kExpires - 1, "", kPath, "no signing secret");
}

static void
test_missing_or_malformed_parameters_are_named ()
{
  assert_refused (nullptr, kSig, kExpires - 1, kSecret, kPath, "no expires parameter");
  assert_refused ("1767225600", nullptr, kExpires - 1, kSecret, kPath, "no sig parameter");
  for (const char *expires : { "+1767225600", "-1", " 1767225600", "1767225600x", "1e9",
         "99999999999999999999" })
    assert_refused (expires, kSig, 0, kSecret, kPath, "expires is not a Unix time");
  // A handler's query without the parameters at all.
  std::string reason;
  g_assert_false (verify_signed_path (kSecret, kPath, static_cast<GHashTable *> (nullptr),
      0, &reason));
  g_assert_cmpstr (reason.c_str (), ==, "the link has no expires parameter");
}

static void
test_bearer_token_matches_exactly ()
{
  const char *token = "tok-9f8e7d6c5b4a";
  g_assert_true (bearer_token_matches ("Bearer tok-9f8e7d6c5b4a", token));
  g_assert_true (bearer_token_matches ("bearer tok-9f8e7d6c5b4a", token));
  g_assert_true (bearer_token_matches ("BEARER   tok-9f8e7d6c5b4a ", token));
  g_assert_false (bearer_token_matches ("Bearer tok-9f8e7d6c5b4", token));
  g_assert_false (bearer_token_matches ("Bearer tok-9f8e7d6c5b4ab", token));
  g_assert_false (bearer_token_matches ("Basic dG9rLTlmOGU3ZDZjNWI0YQ==", token));
  g_assert_false (bearer_token_matches ("Bearertok-9f8e7d6c5b4a", token));
  g_assert_false (bearer_token_matches ("Bearer ", token));
  g_assert_false (bearer_token_matches (nullptr, token));
  // An empty token is never a credential.
  g_assert_false (bearer_token_matches ("Bearer ", ""));
  g_assert_false (bearer_token_matches ("Bearer x", ""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/url-signing/signed-path-carries-expiry-and-hmac",
      test_signed_path_carries_expiry_and_hmac);
  g_test_add_func ("/url-signing/valid-link-verifies-until-it-expires",
      test_valid_link_verifies_until_it_expires);
  g_test_add_func ("/url-signing/expired-link-is-refused", test_expired_link_is_refused);
  g_test_add_func ("/url-signing/tampered-path-is-refused", test_tampered_path_is_refused);
  g_test_add_func ("/url-signing/tampered-signature-or-expiry-is-refused",
      test_tampered_signature_or_expiry_is_refused);
  g_test_add_func ("/url-signing/wrong-secret-is-refused", test_wrong_secret_is_refused);
  g_test_add_func ("/url-signing/missing-or-malformed-parameters-are-named",
      test_missing_or_malformed_parameters_are_named);
  g_test_add_func ("/url-signing/bearer-token-matches-exactly",
      test_bearer_token_matches_exactly);
  return g_test_run ();
}
