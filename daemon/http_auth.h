// Who may talk to callstreamd over HTTP: HTTP Basic credentials (Exotel's
// stream applet can send them), an IP allow-list of addresses and CIDR
// ranges, and Twilio's X-Twilio-Signature request validation
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
//
// Everything here is pure computation over GLib types: no I/O, no global
// state, safe to call from any thread. Secrets are compared in constant time.
#pragma once

#include <gio/gio.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callstreamd {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// True when a and b hold the same bytes; the time taken depends on neither
// their contents nor their lengths (both are hashed first).
bool constant_time_equals (std::string_view a, std::string_view b);

// True when the Authorization header is "Basic base64(user:password)" with
// exactly these credentials (scheme case-insensitive, RFC 7617). nullptr,
// another scheme or bad base64 give false.
bool basic_auth_matches (const char *authorization_header, std::string_view user,
    std::string_view password);

// Addresses and CIDR ranges, IPv4 and IPv6, that may connect. An empty list
// allows everyone. Copies share the immutable masks.
class IpAllowList {
 public:
  // spec: entries separated by commas and/or whitespace, each an address
  // ("203.0.113.7", "2001:db8::1") or a range ("10.0.0.0/8", "2001:db8::/32").
  // On a bad entry returns false, leaves out untouched and sets *error
  // (when not nullptr) to a message naming the entry.
  static bool parse (std::string_view spec, IpAllowList &out, std::string *error);

  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1, what a dual-stack socket
  // reports) matches the IPv4 entries too.
  bool allows (GInetAddress *address) const;

  bool allows_everyone () const { return masks_.empty (); }
  size_t size () const { return masks_.size (); }

 private:
  std::vector<std::shared_ptr<GInetAddressMask>> masks_;
};

// X-Twilio-Signature for a request: base64 (HMAC-SHA1 (auth_token, url +
// every form parameter as key + value, sorted by key then value)).
std::string twilio_signature (std::string_view auth_token, std::string_view url,
    const FormParams &form_params);

// True when header (may be nullptr) is the signature of url + form_params.
// Like Twilio's own validators it also accepts the URL without its port and,
// when it has none, with the scheme's default port (443 or 80): proxies
// differ in which form they hand on. An empty auth token never validates.
bool twilio_signature_valid (std::string_view auth_token, std::string_view url,
    const FormParams &form_params, const char *header);

// For requests with a JSON body: Twilio signs the URL alone (no parameters)
// and puts bodySHA256=hex(SHA-256(body)) in its query. True when both the
// signature and the body hash match; false when the URL has no bodySHA256.
bool twilio_body_signature_valid (std::string_view auth_token, std::string_view url,
    std::string_view body, const char *header);

// The URL Twilio requested, to validate its signature. With public_url
// ("https://calls.example.org" or with a path prefix, from configuration) it
// is public_url + path_and_query; otherwise scheme://Host + path_and_query,
// the scheme https when the first X-Forwarded-Proto entry is "https".
// Returns "" when there is no public_url and the Host header is missing or
// not a plain host[:port].
std::string public_request_url (const std::string &public_url, const char *host_header,
    const char *forwarded_proto, const char *path_and_query);

// The scheme://host[:port][/prefix] requests reach us on (PUBLIC_URL, else
// Host and X-Forwarded-Proto), without a trailing '/'; "" without a host.
std::string public_base_url (const std::string &public_url, const char *host_header,
    const char *forwarded_proto);

}  // namespace callstreamd
