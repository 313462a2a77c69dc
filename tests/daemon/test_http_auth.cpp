// Basic auth, the IP allow-list and Twilio's request signatures.
// Signature vectors: Twilio's own (twilio-python tests/unit/test_request_validator.py,
// token "12345") and ones computed with python3 hmac/hashlib/base64.
#include <gio/gio.h>

#include <string>

#include "http_auth.h"

using callstreamd::FormParams;
using callstreamd::IpAllowList;

namespace {

constexpr const char *kTwilioUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";

const FormParams kTwilioParams = {
  { "CallSid", "CA1234567890ABCDE" },
  { "Digits", "1234" },
  { "From", "+14158675309" },
  { "To", "+18005551212" },
  { "Caller", "+14158675309" },
};

bool
allows (const IpAllowList &list, const char *address_text)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (address_text);
  g_assert_nonnull (address);
  return list.allows (address);
}

IpAllowList
parse_ok (const char *spec)
{
  IpAllowList list;
  std::string error;
  if (!IpAllowList::parse (spec, list, &error))
    g_error ("allow-list \"%s\" refused: %s", spec, error.c_str ());
  return list;
}

}  // namespace

static void
test_basic_accepts_the_right_credentials ()
{
  // base64 ("exotel:s3cret:with:colons"): the password may hold colons.
  const char *header = "Basic ZXhvdGVsOnMzY3JldDp3aXRoOmNvbG9ucw==";
  g_assert_true (callstreamd::basic_auth_matches (header, "exotel", "s3cret:with:colons"));
  g_assert_true (callstreamd::basic_auth_matches (
      "basic  ZXhvdGVsOnMzY3JldDp3aXRoOmNvbG9ucw== ", "exotel", "s3cret:with:colons"));
}

static void
test_basic_rejects_wrong_or_garbled_credentials ()
{
  const char *good = "Basic ZXhvdGVsOnMzY3JldDp3aXRoOmNvbG9ucw==";
  g_assert_false (callstreamd::basic_auth_matches (good, "exotel", "s3cret"));
  g_assert_false (callstreamd::basic_auth_matches (good, "exote", "s3cret:with:colons"));
  g_assert_false (callstreamd::basic_auth_matches (good, "", ""));
  // base64 ("exotel:wrong")
  g_assert_false (callstreamd::basic_auth_matches ("Basic ZXhvdGVsOndyb25n", "exotel", "right"));
  g_assert_false (callstreamd::basic_auth_matches (nullptr, "exotel", "x"));
  g_assert_false (callstreamd::basic_auth_matches ("", "", ""));
  g_assert_false (callstreamd::basic_auth_matches ("Basic", "", ""));
  g_assert_false (callstreamd::basic_auth_matches ("Basic ", "", ""));
  g_assert_false (callstreamd::basic_auth_matches ("Bearer ZXhvdGVsOndyb25n", "exotel", "wrong"));
  g_assert_false (callstreamd::basic_auth_matches ("Basic !!!!", "", ""));
  g_assert_false (callstreamd::basic_auth_matches ("Basic ZXhvdGVsOndyb25", "exotel", "wrong"));
  g_assert_false (callstreamd::basic_auth_matches ("Basic Z=XhvdGVsOndyb2", "exotel", "wrong"));
  // base64 ("nocolon"): no separator, no user.
  g_assert_false (callstreamd::basic_auth_matches ("Basic bm9jb2xvbg==", "nocolon", ""));
}

static void
test_constant_time_equals_compares_bytes_and_lengths ()
{
  g_assert_true (callstreamd::constant_time_equals ("abc", "abc"));
  g_assert_true (callstreamd::constant_time_equals ("", ""));
  g_assert_false (callstreamd::constant_time_equals ("abc", "abd"));
  g_assert_false (callstreamd::constant_time_equals ("abc", "abcd"));
  g_assert_false (callstreamd::constant_time_equals (std::string_view ("a\0b", 3), "a"));
}

static void
test_allow_list_empty_spec_allows_everyone ()
{
  for (const char *spec : { "", "  ", " , ,\n" }) {
    const IpAllowList list = parse_ok (spec);
    g_assert_true (list.allows_everyone ());
    g_assert_true (allows (list, "198.51.100.1"));
    g_assert_true (allows (list, "2001:db8::5"));
  }
}

static void
test_allow_list_matches_addresses_and_ranges ()
{
  const IpAllowList list =
      parse_ok ("203.0.113.7, 10.0.0.0/8 2001:db8::/32,\t::1");
  g_assert_cmpuint (list.size (), ==, 4);
  g_assert_false (list.allows_everyone ());
  g_assert_true (allows (list, "203.0.113.7"));
  g_assert_false (allows (list, "203.0.113.8"));
  g_assert_true (allows (list, "10.200.3.4"));
  g_assert_false (allows (list, "11.0.0.1"));
  g_assert_true (allows (list, "2001:db8:1234::1"));
  g_assert_false (allows (list, "2001:db9::1"));
  g_assert_true (allows (list, "::1"));
  g_assert_false (allows (list, "127.0.0.1"));
  g_assert_false (list.allows (nullptr));
}

static void
test_allow_list_ipv4_mapped_ipv6_matches_ipv4_entries ()
{
  const IpAllowList list = parse_ok ("192.0.2.0/24");
  g_assert_true (allows (list, "::ffff:192.0.2.44"));
  g_assert_false (allows (list, "::ffff:192.0.3.44"));
  // Only the ::ffff:0:0/96 prefix is a mapped address.
  g_assert_false (allows (list, "::192.0.2.44"));
  g_assert_false (allows (list, "64:ff9b::192.0.2.44"));
}

static void
test_allow_list_bad_entry_is_named ()
{
  IpAllowList list = parse_ok ("127.0.0.1");
  std::string error;
  g_assert_false (IpAllowList::parse ("10.0.0.0/8, 300.1.1.1", list, &error));
  g_assert_nonnull (strstr (error.c_str (), "\"300.1.1.1\""));
  // The list given is left as it was.
  g_assert_cmpuint (list.size (), ==, 1);
  g_assert_true (allows (list, "127.0.0.1"));

  g_assert_false (IpAllowList::parse ("10.0.0.1/8", list, &error));
  g_assert_nonnull (strstr (error.c_str (), "\"10.0.0.1/8\""));
  g_assert_false (IpAllowList::parse ("2001:db8::/129", list, &error));
  g_assert_nonnull (strstr (error.c_str (), "\"2001:db8::/129\""));
  g_assert_false (IpAllowList::parse ("example.com", list, nullptr));
}

static void
test_twilio_signature_matches_twilios_vector ()
{
  const std::string signature = callstreamd::twilio_signature ("12345", kTwilioUrl, kTwilioParams);
  g_assert_cmpstr (signature.c_str (), ==, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  g_assert_true (callstreamd::twilio_signature_valid ("12345", kTwilioUrl, kTwilioParams,
      "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

static void
test_twilio_signature_matches_python_vector ()
{
  // python3: base64 (hmac.new (token, url + "".join (k + v for k, v in sorted (params)), sha1))
  const FormParams params = {
    { "SpeechResult", "Wake up & <go>" },
    { "From", "+15551230000" },
    { "CallSid", "CA0123456789abcdef0123456789abcdef" },
  };
  const std::string signature = callstreamd::twilio_signature ("s3cr3t-token",
      "https://calls.example.org/voice?tenant=a%20b", params);
  g_assert_cmpstr (signature.c_str (), ==, "yOadgM00use6n0+RxMQXoVznURQ=");
}

static void
test_twilio_signature_sorts_repeated_keys_by_value ()
{
  const FormParams params = {
    { "Sid", "CA123" }, { "SidAccount", "AC123" }, { "Digits", "5678" }, { "Digits", "1234" },
  };
  const std::string signature = callstreamd::twilio_signature ("12345", kTwilioUrl, params);
  g_assert_cmpstr (signature.c_str (), ==, "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
}

static void
test_twilio_signature_rejects_tampering ()
{
  const char *good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
  FormParams changed = kTwilioParams;
  changed[1].second = "9999";
  g_assert_false (callstreamd::twilio_signature_valid ("12345", kTwilioUrl, changed, good));
  FormParams extra = kTwilioParams;
  extra.emplace_back ("Extra", "1");
  g_assert_false (callstreamd::twilio_signature_valid ("12345", kTwilioUrl, extra, good));
  g_assert_false (callstreamd::twilio_signature_valid ("12345",
      "https://mycompany.com/myapp.php?foo=1&bar=3", kTwilioParams, good));
  g_assert_false (callstreamd::twilio_signature_valid ("54321", kTwilioUrl, kTwilioParams, good));
  g_assert_false (
      callstreamd::twilio_signature_valid ("12345", kTwilioUrl, kTwilioParams, nullptr));
  g_assert_false (callstreamd::twilio_signature_valid ("12345", kTwilioUrl, kTwilioParams, ""));
  g_assert_false (callstreamd::twilio_signature_valid ("12345", kTwilioUrl, kTwilioParams,
      "RSOYDt4T1cUTdK1PDd93/VVr8B8"));
  // No token configured: nothing validates, not even a signature made with "".
  const std::string empty_key = callstreamd::twilio_signature ("", kTwilioUrl, kTwilioParams);
  g_assert_false (callstreamd::twilio_signature_valid ("", kTwilioUrl, kTwilioParams,
      empty_key.c_str ()));
}

static void
test_twilio_signature_accepts_either_port_form ()
{
  // Twilio's vectors: signed without a port, received with one, and the reverse.
  g_assert_true (callstreamd::twilio_signature_valid ("12345",
      "https://mycompany.com:1234/myapp.php?foo=1&bar=2", kTwilioParams,
      "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  g_assert_true (callstreamd::twilio_signature_valid ("12345", kTwilioUrl, kTwilioParams,
      "kvajT1Ptam85bY51eRf/AJRuM3w="));  // signed as https://mycompany.com:443/...
  g_assert_true (callstreamd::twilio_signature_valid ("12345",
      "http://mycompany.com/myapp.php?foo=1&bar=2", kTwilioParams,
      "0ZXoZLH/DfblKGATFgpif+LLRf4="));  // signed as http://mycompany.com:80/...
  // python3 vectors: a port kept as given, and an IPv6 literal with its port.
  const FormParams params = { { "CallSid", "CA1" } };
  g_assert_true (callstreamd::twilio_signature_valid ("s3cr3t-token",
      "https://calls.example.org:8443/voice", params, "Kw7D+FW6AWSoRIuoB2KBe6LsAdc="));
  g_assert_true (callstreamd::twilio_signature_valid ("s3cr3t-token",
      "http://[2001:db8::1]/voice", params, "2MXSikYKo6s0EfbiL8p1l7ag3J8="));
  // Another host is not another port form.
  g_assert_false (callstreamd::twilio_signature_valid ("s3cr3t-token",
      "https://calls.example.net:8443/voice", params, "Kw7D+FW6AWSoRIuoB2KBe6LsAdc="));
}

static void
test_twilio_body_signature_checks_url_and_body ()
{
  // Twilio's vector.
  const char *body = "{\"property\": \"value\", \"boolean\": true}";
  const std::string url = std::string (kTwilioUrl)
      + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
  g_assert_true (callstreamd::twilio_body_signature_valid ("12345", url, body,
      "a9nBmqA0ju/hNViExpshrM61xv4="));
  g_assert_false (callstreamd::twilio_body_signature_valid ("12345", url,
      "{\"property\": \"value\", \"boolean\": false}", "a9nBmqA0ju/hNViExpshrM61xv4="));
  g_assert_false (callstreamd::twilio_body_signature_valid ("12345", url, body,
      "RSOYDt4T1cUTdK1PDd93/VVr8B8="));

  // python3 vector, bodySHA256 as the only parameter.
  const char *status_body =
      "{\"CallSid\":\"CA0123456789abcdef0123456789abcdef\",\"Status\":\"ringing\"}";
  const char *status_url = "https://calls.example.org/status?bodySHA256="
                           "92f8171718766fe4b470f670dc6176e131bf6d3f985a9acec8cb18d4009c2c47";
  g_assert_true (callstreamd::twilio_body_signature_valid ("s3cr3t-token", status_url,
      status_body, "0GilO7BTBPC0KTB2yV4CfqghhTM="));
  // No bodySHA256 in the URL: a JSON body cannot be validated.
  g_assert_false (callstreamd::twilio_body_signature_valid ("s3cr3t-token",
      "https://calls.example.org/status", status_body, "0GilO7BTBPC0KTB2yV4CfqghhTM="));
}

static void
test_public_request_url_prefers_the_configured_url ()
{
  std::string url = callstreamd::public_request_url ("https://calls.example.org/",
      "10.0.0.5:8080", "http", "/voice?x=1");
  g_assert_cmpstr (url.c_str (), ==, "https://calls.example.org/voice?x=1");
  url = callstreamd::public_request_url ("https://example.org/callstream", nullptr, nullptr,
      "/voice");
  g_assert_cmpstr (url.c_str (), ==, "https://example.org/callstream/voice");
}

static void
test_public_base_url_has_no_trailing_slash ()
{
  const std::string configured = callstreamd::public_base_url ("https://calls.example.org/",
      "ignored.example", "http");
  g_assert_cmpstr (configured.c_str (), ==, "https://calls.example.org");
  const std::string from_host = callstreamd::public_base_url ("", "calls.example.org:8765",
      "https");
  g_assert_cmpstr (from_host.c_str (), ==, "https://calls.example.org:8765");
  g_assert_true (callstreamd::public_base_url ("", nullptr, nullptr).empty ());
}

static void
test_public_request_url_from_host_and_forwarded_proto ()
{
  std::string url = callstreamd::public_request_url ("", "calls.example.org:8765", nullptr,
      "/voice-realtime");
  g_assert_cmpstr (url.c_str (), ==, "http://calls.example.org:8765/voice-realtime");
  url = callstreamd::public_request_url ("", "calls.example.org", "HTTPS, http", "/voice");
  g_assert_cmpstr (url.c_str (), ==, "https://calls.example.org/voice");
  url = callstreamd::public_request_url ("", "[::1]:8765", "http", "/voice");
  g_assert_cmpstr (url.c_str (), ==, "http://[::1]:8765/voice");
}

static void
test_public_request_url_refuses_a_missing_or_odd_host ()
{
  g_assert_true (callstreamd::public_request_url ("", nullptr, "https", "/voice").empty ());
  g_assert_true (callstreamd::public_request_url ("", "", nullptr, "/voice").empty ());
  g_assert_true (callstreamd::public_request_url ("", "evil.example/x?", nullptr, "/v").empty ());
  g_assert_true (callstreamd::public_request_url ("", "a b", nullptr, "/v").empty ());
  g_assert_true (callstreamd::public_request_url ("", "user@host", nullptr, "/v").empty ());
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/http-auth/basic/accepts-the-right-credentials",
      test_basic_accepts_the_right_credentials);
  g_test_add_func ("/http-auth/basic/rejects-wrong-or-garbled-credentials",
      test_basic_rejects_wrong_or_garbled_credentials);
  g_test_add_func ("/http-auth/constant-time-equals/compares-bytes-and-lengths",
      test_constant_time_equals_compares_bytes_and_lengths);
  g_test_add_func ("/http-auth/allow-list/empty-spec-allows-everyone",
      test_allow_list_empty_spec_allows_everyone);
  g_test_add_func ("/http-auth/allow-list/matches-addresses-and-ranges",
      test_allow_list_matches_addresses_and_ranges);
  g_test_add_func ("/http-auth/allow-list/ipv4-mapped-ipv6-matches-ipv4-entries",
      test_allow_list_ipv4_mapped_ipv6_matches_ipv4_entries);
  g_test_add_func ("/http-auth/allow-list/bad-entry-is-named", test_allow_list_bad_entry_is_named);
  g_test_add_func ("/http-auth/twilio/signature-matches-twilios-vector",
      test_twilio_signature_matches_twilios_vector);
  g_test_add_func ("/http-auth/twilio/signature-matches-python-vector",
      test_twilio_signature_matches_python_vector);
  g_test_add_func ("/http-auth/twilio/repeated-keys-sort-by-value",
      test_twilio_signature_sorts_repeated_keys_by_value);
  g_test_add_func ("/http-auth/twilio/tampering-is-rejected",
      test_twilio_signature_rejects_tampering);
  g_test_add_func ("/http-auth/twilio/either-port-form-is-accepted",
      test_twilio_signature_accepts_either_port_form);
  g_test_add_func ("/http-auth/twilio/json-body-checks-url-and-body-hash",
      test_twilio_body_signature_checks_url_and_body);
  g_test_add_func ("/http-auth/public-url/base-has-no-trailing-slash",
      test_public_base_url_has_no_trailing_slash);
  g_test_add_func ("/http-auth/public-url/configured-url-wins",
      test_public_request_url_prefers_the_configured_url);
  g_test_add_func ("/http-auth/public-url/host-and-forwarded-proto",
      test_public_request_url_from_host_and_forwarded_proto);
  g_test_add_func ("/http-auth/public-url/missing-or-odd-host-gives-empty",
      test_public_request_url_refuses_a_missing_or_odd_host);
  return g_test_run ();
}
