// Redirecting a live call through Twilio's REST API, against the loopback
// fake of that API (tests/daemon/fake_twilio_rest.h).
#include <gio/gio.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "fake_twilio_rest.h"
#include "twilio_rest.h"

using callstream_test::FakeTwilioRest;
using callstreamd::TwilioRest;

namespace {

constexpr const char *kAccount = "AC0123456789abcdef0123456789abcdef";
constexpr const char *kToken = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
constexpr const char *kCall = "CAfedcba9876543210fedcba9876543210";
constexpr const char *kTwimlUrl = "https://calls.example.org/voice?fallback=1&from=realtime";

struct Outcome {
  bool ok = false;
  guint status = 0;
  std::string detail;
};

// A hang guard only: fails the test if nothing ever answers.
void
iterate_until (const std::function<bool ()> &done)
{
  const gint64 give_up = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!done ()) {
    if (g_get_monotonic_time () > give_up)
      g_error ("nothing happened within 30 s");
    g_main_context_iteration (nullptr, TRUE);
  }
}

Outcome
redirect (TwilioRest &client, const char *call_sid, const char *twiml_url = kTwimlUrl)
{
  std::optional<Outcome> outcome;
  client.redirect_call (call_sid, twiml_url,
      [&outcome] (bool ok, guint status, std::string detail) {
        g_assert_false (outcome.has_value ());
        outcome = Outcome { ok, status, std::move (detail) };
      });
  // Never from inside redirect_call.
  g_assert_false (outcome.has_value ());
  iterate_until ([&outcome] { return outcome.has_value (); });
  return *outcome;
}

void
assert_contains (const std::string &text, const char *part)
{
  if (text.find (part) == std::string::npos)
    g_error ("\"%s\" does not contain \"%s\"", text.c_str (), part);
}

}  // namespace

static void
test_redirect_posts_url_and_method_with_basic_auth ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  twilio.add_call (kCall);
  TwilioRest client (twilio.base_url () + "/", kAccount, kToken);
  const Outcome outcome = redirect (client, kCall);
  g_assert_true (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 200);
  g_assert_cmpstr (outcome.detail.c_str (), ==, "in-progress");

  g_assert_cmpuint (twilio.requests ().size (), ==, 1);
  const auto &request = twilio.requests ()[0];
  g_assert_cmpstr (request.method.c_str (), ==, "POST");
  const std::string path = std::string ("/2010-04-01/Accounts/") + kAccount + "/Calls/" + kCall
      + ".json";
  g_assert_cmpstr (request.path.c_str (), ==, path.c_str ());
  g_assert_true (g_str_has_prefix (request.content_type.c_str (),
      "application/x-www-form-urlencoded"));
  g_assert_cmpstr (request.user.c_str (), ==, kAccount);
  g_assert_cmpstr (request.password.c_str (), ==, kToken);
  g_assert_cmpuint (request.form.size (), ==, 2);
  g_assert_cmpstr (request.form.at ("Url").c_str (), ==, kTwimlUrl);
  g_assert_cmpstr (request.form.at ("Method").c_str (), ==, "POST");
  const std::string url = twilio.call_url (kCall);
  g_assert_cmpstr (url.c_str (), ==, kTwimlUrl);
}

static void
test_unknown_call_gives_twilios_404_message ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  TwilioRest client (twilio.base_url (), kAccount, kToken);
  const Outcome outcome = redirect (client, kCall);
  g_assert_false (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 404);
  const std::string expected = std::string ("Twilio answered 404: The requested resource "
      "/2010-04-01/Accounts/") + kAccount + "/Calls/" + kCall + ".json was not found "
      "(code 20404, https://www.twilio.com/docs/errors/20404)";
  g_assert_cmpstr (outcome.detail.c_str (), ==, expected.c_str ());
}

static void
test_wrong_token_gives_401_and_never_shows_a_token ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  twilio.add_call (kCall);
  const char *wrong_token = "wrong-secret-0000000000000000000000";
  TwilioRest client (twilio.base_url (), kAccount, wrong_token);
  const Outcome outcome = redirect (client, kCall);
  g_assert_false (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 401);
  g_assert_cmpstr (outcome.detail.c_str (), ==, "Twilio answered 401: Authenticate "
      "(code 20003, https://www.twilio.com/docs/errors/20003)");
  g_assert_true (outcome.detail.find (wrong_token) == std::string::npos);
  g_assert_true (twilio.call_url (kCall).empty ());
}

static void
test_completed_call_cannot_be_redirected ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  twilio.add_call (kCall, "completed");
  TwilioRest client (twilio.base_url (), kAccount, kToken);
  const Outcome outcome = redirect (client, kCall);
  g_assert_false (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 400);
  assert_contains (outcome.detail, "Call is not in-progress. Cannot redirect. (code 21220");
}

static void
test_invalid_input_never_reaches_the_network ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  twilio.add_call (kCall);
  TwilioRest client (twilio.base_url (), kAccount, kToken);
  Outcome outcome = redirect (client, "CA../../Accounts/x");
  g_assert_false (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 0);
  assert_contains (outcome.detail, "invalid call SID \"CA../../Accounts/x\"");
  outcome = redirect (client, "CAfedcba9876543210fedcba987654321");  // 31 digits
  assert_contains (outcome.detail, "invalid call SID");
  outcome = redirect (client, kCall, "/voice");
  assert_contains (outcome.detail, "invalid TwiML URL \"/voice\"");
  outcome = redirect (client, kCall, "ftp://calls.example.org/voice");
  assert_contains (outcome.detail, "invalid TwiML URL");

  TwilioRest bad_account (twilio.base_url (), "AC123", kToken);
  outcome = redirect (bad_account, kCall);
  assert_contains (outcome.detail, "invalid Twilio account SID \"AC123\"");
  TwilioRest bad_base ("api.twilio.com", kAccount, kToken);
  outcome = redirect (bad_base, kCall);
  assert_contains (outcome.detail, "invalid Twilio API URL \"api.twilio.com\"");

  g_assert_cmpuint (twilio.requests ().size (), ==, 0);
}

static void
test_unreachable_api_is_reported_without_status ()
{
  // A port nobody listens on: bind one, note it, close it.
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, nullptr);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, any_port, TRUE, nullptr));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (socket, nullptr);
  const guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, nullptr);

  const std::string base = "http://127.0.0.1:" + std::to_string (port);
  TwilioRest client (base, kAccount, kToken);
  const Outcome outcome = redirect (client, kCall);
  g_assert_false (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 0);
  assert_contains (outcome.detail, ("no answer from Twilio at " + base + ": ").c_str ());
}

static void
test_no_answer_times_out ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  twilio.add_call (kCall);
  twilio.set_unresponsive (true);
  TwilioRest client (twilio.base_url (), kAccount, kToken);
  client.set_timeout (1);
  const Outcome outcome = redirect (client, kCall);
  g_assert_false (outcome.ok);
  g_assert_cmpuint (outcome.status, ==, 0);
  assert_contains (outcome.detail, "no answer from Twilio at ");
  g_assert_cmpuint (twilio.requests ().size (), ==, 1);
}

static void
test_destroying_the_client_cancels_without_calling_back ()
{
  FakeTwilioRest twilio (kAccount, kToken);
  twilio.add_call (kCall);
  twilio.set_unresponsive (true);
  auto client = std::make_unique<TwilioRest> (twilio.base_url (), kAccount, kToken);
  bool called = false;
  auto alive = std::make_shared<int> (0);
  client->redirect_call (kCall, kTwimlUrl, [&called, alive] (bool, guint, std::string) {
    called = true;
  });
  iterate_until ([&twilio] { return twilio.requests ().size () == 1; });
  client.reset ();
  // The request's state (holding the callback) is freed once the
  // cancellation has gone through; the callback itself never runs.
  iterate_until ([&alive] { return alive.use_count () == 1; });
  g_assert_false (called);
}

static void
test_sid_validation ()
{
  g_assert_true (callstreamd::valid_twilio_sid (kCall, "CA"));
  g_assert_true (callstreamd::valid_twilio_sid (kAccount, "AC"));
  g_assert_true (callstreamd::valid_twilio_sid ("MZ0123456789ABCDEF0123456789ABCDEF", "MZ"));
  g_assert_false (callstreamd::valid_twilio_sid (kCall, "AC"));
  g_assert_false (callstreamd::valid_twilio_sid ("CA0123456789abcdef0123456789abcdeg", "CA"));
  g_assert_false (callstreamd::valid_twilio_sid ("CA0123456789abcdef0123456789abcdef0", "CA"));
  g_assert_false (callstreamd::valid_twilio_sid ("", "CA"));
  g_assert_false (callstreamd::valid_twilio_sid ("CA", "CA"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_setenv ("CALLSTREAMD_LOG", "quiet", TRUE);
  g_test_add_func ("/twilio-rest/redirect/posts-url-and-method-with-basic-auth",
      test_redirect_posts_url_and_method_with_basic_auth);
  g_test_add_func ("/twilio-rest/redirect/unknown-call-gives-twilios-404-message",
      test_unknown_call_gives_twilios_404_message);
  g_test_add_func ("/twilio-rest/redirect/wrong-token-gives-401-and-shows-no-token",
      test_wrong_token_gives_401_and_never_shows_a_token);
  g_test_add_func ("/twilio-rest/redirect/completed-call-cannot-be-redirected",
      test_completed_call_cannot_be_redirected);
  g_test_add_func ("/twilio-rest/redirect/invalid-input-never-reaches-the-network",
      test_invalid_input_never_reaches_the_network);
  g_test_add_func ("/twilio-rest/redirect/unreachable-api-reported-without-status",
      test_unreachable_api_is_reported_without_status);
  g_test_add_func ("/twilio-rest/redirect/no-answer-times-out", test_no_answer_times_out);
  g_test_add_func ("/twilio-rest/redirect/destroying-the-client-cancels-without-callback",
      test_destroying_the_client_cancels_without_calling_back);
  g_test_add_func ("/twilio-rest/sid/two-letters-and-32-hex-digits", test_sid_validation);
  return g_test_run ();
}
