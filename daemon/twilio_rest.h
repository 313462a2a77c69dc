// The one Twilio REST call callstreamd makes: "Update a Call" to redirect a
// live call to new TwiML, used to fall back to the traditional flow when the
// OpenAI Realtime bridge cannot connect
// (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource):
//
//   POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json
//   Authorization: Basic base64(AccountSid:AuthToken)
//   Content-Type: application/x-www-form-urlencoded
//   Url=<twiml url>&Method=POST
//
// Threads: a TwilioRest belongs to the thread that created it and runs on
// that thread's default GMainContext (g_main_context_get_thread_default);
// call it and destroy it there. Callbacks arrive on that context, never
// from inside redirect_call. The auth token appears in no log line and no
// error detail.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <string>
#include <string_view>

namespace callstreamd {

// A Twilio SID: the two-letter prefix (AC account, CA call, MZ stream...)
// followed by 32 hex digits. Checked before a SID goes into a URL.
bool valid_twilio_sid (std::string_view sid, std::string_view prefix);

class TwilioRest {
 public:
  // ok: Twilio answered 2xx. status: the HTTP status, 0 when no answer came
  // (bad input, unreachable, timed out). detail: on success the call's
  // status ("in-progress"); on failure what went wrong, with Twilio's error
  // message, code and more_info link when its JSON error body has them.
  using Done = std::function<void (bool ok, guint status, std::string detail)>;

  static constexpr guint kDefaultTimeoutSeconds = 10;

  // api_base: "https://api.twilio.com" (tests: the fake's loopback URL);
  // a trailing '/' is ignored.
  TwilioRest (std::string api_base, std::string account_sid, std::string auth_token);
  // Cancels requests in flight; their done callbacks are not called.
  ~TwilioRest ();
  TwilioRest (const TwilioRest &) = delete;
  TwilioRest &operator= (const TwilioRest &) = delete;

  // How long a request may wait for Twilio, connecting and answering.
  void set_timeout (guint seconds);

  // Makes the call fetch twiml_url (absolute http(s) URL) with POST and run
  // what it answers. done is called exactly once unless this is destroyed
  // first. A bad call SID, account SID, API URL or twiml_url fails without
  // any request.
  void redirect_call (const std::string &call_sid, const std::string &twiml_url, Done done);

 private:
  struct Request;
  static void on_sent (GObject *source, GAsyncResult *result, gpointer user_data);
  void fail_later (const std::string &call_sid, std::string detail, Done done);

  std::string api_base_;
  std::string account_sid_;
  std::string auth_token_;
  SoupSession *session_;
  GCancellable *cancellable_;  // cancelled by the destructor, shared by every request
};

}  // namespace callstreamd
