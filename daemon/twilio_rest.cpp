#include "twilio_rest.h"

#include <json-glib/json-glib.h>

#include <memory>

#include "log.h"

namespace callstreamd {

namespace {

constexpr size_t kSidHexDigits = 32;

// Never let the token out, whatever a server or library echoes back.
std::string
redact (std::string text, const std::string &secret)
{
  if (secret.empty ())
    return text;
  for (size_t at = text.find (secret); at != std::string::npos; at = text.find (secret, at))
    text.replace (at, secret.size (), "[redacted]");
  return text;
}

bool
is_http_url (const std::string &url)
{
  if (!g_str_has_prefix (url.c_str (), "http://") && !g_str_has_prefix (url.c_str (), "https://"))
    return false;
  g_autoptr (GUri) uri = g_uri_parse (url.c_str (), G_URI_FLAGS_ENCODED, nullptr);
  return uri != nullptr && g_uri_get_host (uri) != nullptr && *g_uri_get_host (uri) != '\0';
}

// A SID from a peer may be anything: show a bounded, printable prefix.
std::string
shown (const std::string &value)
{
  g_autofree gchar *escaped = g_strescape (value.substr (0, 40).c_str (), nullptr);
  return std::string ("\"") + escaped + (value.size () > 40 ? "...\"" : "\"");
}

// "Twilio answered 404: <message> (code 20404, <more_info>)", from Twilio's
// JSON error body {"code","message","more_info","status"} when it has one.
std::string
describe_failure (guint status, const char *reason, GBytes *body)
{
  std::string detail = "Twilio answered " + std::to_string (status);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize size = 0;
  const auto *data = body != nullptr ? static_cast<const gchar *> (g_bytes_get_data (body, &size))
                                     : nullptr;
  if (data != nullptr && size > 0
      && json_parser_load_from_data (parser, data, static_cast<gssize> (size), nullptr)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    JsonObject *error = json_node_get_object (json_parser_get_root (parser));
    const char *message = json_object_get_string_member_with_default (error, "message", nullptr);
    if (message != nullptr) {
      detail += std::string (": ") + message;
      const gint64 code = json_object_get_int_member_with_default (error, "code", 0);
      const char *more_info =
          json_object_get_string_member_with_default (error, "more_info", nullptr);
      if (code != 0 || more_info != nullptr) {
        detail += " (";
        if (code != 0)
          detail += "code " + std::to_string (code);
        if (code != 0 && more_info != nullptr)
          detail += ", ";
        if (more_info != nullptr)
          detail += more_info;
        detail += ")";
      }
      return detail;
    }
  }
  if (reason != nullptr && *reason != '\0')
    detail += std::string (" ") + reason;
  return detail;
}

// The updated call's "status" ("in-progress"), or "".
std::string
call_status (GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize size = 0;
  const auto *data = static_cast<const gchar *> (g_bytes_get_data (body, &size));
  if (data == nullptr || size == 0
      || !json_parser_load_from_data (parser, data, static_cast<gssize> (size), nullptr)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return {};
  JsonObject *call = json_node_get_object (json_parser_get_root (parser));
  return json_object_get_string_member_with_default (call, "status", "");
}

}  // namespace

bool
valid_twilio_sid (std::string_view sid, std::string_view prefix)
{
  if (prefix.size () != 2 || sid.size () != prefix.size () + kSidHexDigits
      || sid.substr (0, 2) != prefix)
    return false;
  for (char c : sid.substr (2))
    if (!g_ascii_isxdigit (c))
      return false;
  return true;
}

struct TwilioRest::Request {
  Done done;
  std::string call_sid;
  std::string api_base;
  std::string auth_token;  // only to redact it from what comes back
  GCancellable *cancellable;
  SoupMessage *message;
  std::string early_failure;  // set when the request never went out

  ~Request ()
  {
    g_clear_object (&cancellable);
    g_clear_object (&message);
  }

  void finish (bool ok, guint status, std::string detail)
  {
    detail = redact (std::move (detail), auth_token);
    const std::string status_text = std::to_string (status);
    if (ok)
      log::info ("twilio_redirect", { { "call", call_sid }, { "status", status_text } });
    else
      log::warning ("twilio_redirect_failed",
          { { "call", call_sid }, { "status", status_text }, { "detail", detail } });
    done (ok, status, std::move (detail));
  }
};

TwilioRest::TwilioRest (std::string api_base, std::string account_sid, std::string auth_token)
    : api_base_ (std::move (api_base)),
      account_sid_ (std::move (account_sid)),
      auth_token_ (std::move (auth_token)),
      session_ (soup_session_new_with_options ("timeout", kDefaultTimeoutSeconds,
          "user-agent", "callstreamd", nullptr)),
      cancellable_ (g_cancellable_new ())
{
  while (!api_base_.empty () && api_base_.back () == '/')
    api_base_.pop_back ();
}

TwilioRest::~TwilioRest ()
{
  g_cancellable_cancel (cancellable_);
  g_object_unref (cancellable_);
  g_object_unref (session_);
}

void
TwilioRest::set_timeout (guint seconds)
{
  g_object_set (session_, "timeout", seconds, nullptr);
}

void
TwilioRest::fail_later (const std::string &call_sid, std::string detail, Done done)
{
  auto *request = new Request { std::move (done), call_sid, api_base_, auth_token_,
    G_CANCELLABLE (g_object_ref (cancellable_)), nullptr, std::move (detail) };
  g_autoptr (GSource) idle = g_idle_source_new ();
  g_source_set_callback (idle, [] (gpointer data) -> gboolean {
    auto *request = static_cast<Request *> (data);
    if (!g_cancellable_is_cancelled (request->cancellable))
      request->finish (false, 0, request->early_failure);
    return G_SOURCE_REMOVE;
  }, request, [] (gpointer data) { delete static_cast<Request *> (data); });
  g_source_attach (idle, g_main_context_get_thread_default ());
}

void
TwilioRest::redirect_call (const std::string &call_sid, const std::string &twiml_url, Done done)
{
  if (!valid_twilio_sid (account_sid_, "AC"))
    return fail_later (call_sid, "invalid Twilio account SID " + shown (account_sid_)
        + " (expected AC and 32 hex digits)", std::move (done));
  if (!valid_twilio_sid (call_sid, "CA"))
    return fail_later (call_sid, "invalid call SID " + shown (call_sid)
        + " (expected CA and 32 hex digits)", std::move (done));
  if (!is_http_url (api_base_))
    return fail_later (call_sid, "invalid Twilio API URL " + shown (api_base_), std::move (done));
  if (!is_http_url (twiml_url))
    return fail_later (call_sid, "invalid TwiML URL " + shown (twiml_url)
        + " (expected an absolute http(s) URL)", std::move (done));

  const std::string url = api_base_ + "/2010-04-01/Accounts/" + account_sid_ + "/Calls/"
      + call_sid + ".json";
  gchar *form = soup_form_encode ("Url", twiml_url.c_str (), "Method", "POST", nullptr);
  SoupMessage *message = soup_message_new_from_encoded_form ("POST", url.c_str (), form);
  if (message == nullptr)
    return fail_later (call_sid, "invalid Twilio API URL " + shown (api_base_), std::move (done));

  const std::string credentials = account_sid_ + ":" + auth_token_;
  g_autofree gchar *encoded = g_base64_encode (
      reinterpret_cast<const guchar *> (credentials.data ()), credentials.size ());
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  soup_message_headers_replace (headers, "Authorization",
      (std::string ("Basic ") + encoded).c_str ());
  soup_message_headers_replace (headers, "Accept", "application/json");

  auto *request = new Request { std::move (done), call_sid, api_base_, auth_token_,
    G_CANCELLABLE (g_object_ref (cancellable_)), message, {} };
  soup_session_send_and_read_async (session_, message, G_PRIORITY_DEFAULT, cancellable_,
      on_sent, request);
}

void
TwilioRest::on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  std::unique_ptr<Request> request (static_cast<Request *> (user_data));
  g_autoptr (GError) error = nullptr;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
      &error);
  if (g_cancellable_is_cancelled (request->cancellable))
    return;  // the TwilioRest is gone: nobody to tell
  if (body == nullptr) {
    request->finish (false, 0,
        "no answer from Twilio at " + request->api_base + ": " + error->message);
    return;
  }
  const guint status = soup_message_get_status (request->message);
  if (SOUP_STATUS_IS_SUCCESSFUL (status)) {
    request->finish (true, status, call_status (body));
    return;
  }
  request->finish (false, status,
      describe_failure (status, soup_message_get_reason_phrase (request->message), body));
}

}  // namespace callstreamd
