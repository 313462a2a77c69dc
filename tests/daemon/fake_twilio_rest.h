// A stand-in for Twilio's REST API on 127.0.0.1 (random port), for tests of
// code that updates calls. It serves what Twilio serves for the Call
// resource, as Twilio documents it:
//
//   GET|POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json
//   HTTP Basic auth AccountSid:AuthToken, form-encoded POST bodies,
//   200 with the call's JSON; errors as {"code","message","more_info","status"}:
//   401 20003 Authenticate, 404 20404 not found, 400 21220 not in progress,
//   400 21205 bad Url.
//
// It records every request, and can be made to never answer (timeouts).
// Runs on the thread-default GMainContext of the thread that creates it.
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <map>
#include <string>
#include <vector>

namespace callstream_test {

class FakeTwilioRest {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::string content_type;
    std::string user;      // from Basic auth, "" when absent
    std::string password;
    std::map<std::string, std::string> form;
  };

  FakeTwilioRest (std::string account_sid, std::string auth_token)
      : account_sid_ (std::move (account_sid)), auth_token_ (std::move (auth_token)),
        server_ (soup_server_new ("server-header", "fake-twilio", nullptr))
  {
    soup_server_add_handler (server_, "/2010-04-01/Accounts", on_request, this, nullptr);
    g_autoptr (GError) error = nullptr;
    if (!soup_server_listen_local (server_, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
      g_error ("fake Twilio cannot listen: %s", error->message);
    GSList *uris = soup_server_get_uris (server_);
    port_ = g_uri_get_port (static_cast<GUri *> (uris->data));
    g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  }

  ~FakeTwilioRest ()
  {
    soup_server_disconnect (server_);
    g_object_unref (server_);
  }

  FakeTwilioRest (const FakeTwilioRest &) = delete;
  FakeTwilioRest &operator= (const FakeTwilioRest &) = delete;

  std::string base_url () const { return "http://127.0.0.1:" + std::to_string (port_); }

  // A call Twilio knows, with its status ("in-progress", "completed"...).
  void add_call (const std::string &call_sid, const std::string &status = "in-progress")
  {
    calls_[call_sid] = { status, "" };
  }

  // The Url a redirect last set on the call ("" when none).
  std::string call_url (const std::string &call_sid) const
  {
    const auto found = calls_.find (call_sid);
    return found == calls_.end () ? std::string () : found->second.url;
  }

  // Requests are read but never answered.
  void set_unresponsive (bool unresponsive) { unresponsive_ = unresponsive; }

  const std::vector<Request> &requests () const { return requests_; }

 private:
  struct Call {
    std::string status;
    std::string url;
  };

  static void on_request (SoupServer *, SoupServerMessage *message, const char *path,
      GHashTable *, gpointer user_data)
  {
    static_cast<FakeTwilioRest *> (user_data)->handle (message, path);
  }

  void handle (SoupServerMessage *message, const char *path)
  {
    Request request = record (message, path);
    requests_.push_back (request);
    if (unresponsive_) {
      soup_server_message_pause (message);
      return;
    }
    if (request.user != account_sid_ || request.password != auth_token_) {
      soup_message_headers_replace (soup_server_message_get_response_headers (message),
          "WWW-Authenticate", "Basic realm=\"Twilio API\"");
      return answer_error (message, 401, 20003, "Authenticate",
          "Your AccountSid or AuthToken was incorrect.");
    }
    const std::string prefix = "/2010-04-01/Accounts/" + account_sid_ + "/Calls/";
    const std::string not_found = std::string ("The requested resource ") + path
        + " was not found";
    if (!g_str_has_prefix (path, prefix.c_str ()) || !g_str_has_suffix (path, ".json"))
      return answer_error (message, 404, 20404, not_found.c_str ());
    const std::string call_sid = std::string (path).substr (prefix.size (),
        strlen (path) - prefix.size () - strlen (".json"));
    const auto call = calls_.find (call_sid);
    if (call == calls_.end ())
      return answer_error (message, 404, 20404, not_found.c_str ());

    if (request.method == "POST") {
      const auto url = request.form.find ("Url");
      if (url != request.form.end ()) {
        if (!g_str_has_prefix (url->second.c_str (), "http://")
            && !g_str_has_prefix (url->second.c_str (), "https://"))
          return answer_error (message, 400, 21205, "Url is not a valid URL.");
        if (call->second.status != "in-progress")
          return answer_error (message, 400, 21220, "Call is not in-progress. Cannot redirect.");
        call->second.url = url->second;
      }
    } else if (request.method != "GET") {
      return answer_error (message, 405, 20004, "Method not allowed");
    }
    answer_call (message, call_sid, call->second.status);
  }

  static Request record (SoupServerMessage *message, const char *path)
  {
    Request request;
    request.method = soup_server_message_get_method (message);
    request.path = path;
    SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
    const char *content_type = soup_message_headers_get_one (headers, "Content-Type");
    request.content_type = content_type != nullptr ? content_type : "";
    const char *authorization = soup_message_headers_get_one (headers, "Authorization");
    if (authorization != nullptr && g_str_has_prefix (authorization, "Basic ")) {
      gsize length = 0;
      g_autofree guchar *decoded = g_base64_decode (authorization + 6, &length);
      const std::string credentials (reinterpret_cast<const char *> (decoded), length);
      const size_t colon = credentials.find (':');
      request.user = credentials.substr (0, colon);
      if (colon != std::string::npos)
        request.password = credentials.substr (colon + 1);
    }
    SoupMessageBody *body = soup_server_message_get_request_body (message);
    if (body->length > 0 && request.content_type.find ("application/x-www-form-urlencoded") == 0) {
      const std::string text (body->data, body->length);
      GHashTable *form = soup_form_decode (text.c_str ());
      GHashTableIter iter;
      gpointer key, value;
      g_hash_table_iter_init (&iter, form);
      while (g_hash_table_iter_next (&iter, &key, &value))
        request.form[static_cast<const char *> (key)] = static_cast<const char *> (value);
      g_hash_table_unref (form);
    }
    return request;
  }

  static void answer_json (SoupServerMessage *message, guint status, JsonBuilder *builder)
  {
    g_autoptr (JsonNode) root = json_builder_get_root (builder);
    gchar *text = json_to_string (root, FALSE);
    soup_server_message_set_status (message, status, nullptr);
    soup_server_message_set_response (message, "application/json", SOUP_MEMORY_TAKE, text,
        strlen (text));
  }

  static void answer_error (SoupServerMessage *message, guint status, gint64 code,
      const char *text, const char *detail = nullptr)
  {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "code");
    json_builder_add_int_value (builder, code);
    if (detail != nullptr) {
      json_builder_set_member_name (builder, "detail");
      json_builder_add_string_value (builder, detail);
    }
    json_builder_set_member_name (builder, "message");
    json_builder_add_string_value (builder, text);
    json_builder_set_member_name (builder, "more_info");
    const std::string more_info = "https://www.twilio.com/docs/errors/" + std::to_string (code);
    json_builder_add_string_value (builder, more_info.c_str ());
    json_builder_set_member_name (builder, "status");
    json_builder_add_int_value (builder, status);
    json_builder_end_object (builder);
    answer_json (message, status, builder);
  }

  void answer_call (SoupServerMessage *message, const std::string &call_sid,
      const std::string &status)
  {
    const std::string uri = "/2010-04-01/Accounts/" + account_sid_ + "/Calls/" + call_sid + ".json";
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_object (builder);
    const std::pair<const char *, std::string> members[] = {
      { "account_sid", account_sid_ }, { "api_version", "2010-04-01" },
      { "direction", "inbound" }, { "sid", call_sid }, { "status", status }, { "uri", uri },
    };
    for (const auto &[name, value] : members) {
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, value.c_str ());
    }
    json_builder_end_object (builder);
    answer_json (message, 200, builder);
  }

  std::string account_sid_;
  std::string auth_token_;
  SoupServer *server_;
  guint port_ = 0;
  bool unresponsive_ = false;
  std::map<std::string, Call> calls_;
  std::vector<Request> requests_;
};

}  // namespace callstream_test
