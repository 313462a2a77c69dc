// A stand-in for ElevenLabs' Conversational AI API on 127.0.0.1 (random
// port), for tests of the manual sync (POST /elevenlabs/conversation/{id}/process).
// It serves what ElevenLabs serves for a conversation:
//
//   GET /v1/convai/conversations/{conversation_id}
//       200 application/json: {agent_id, conversation_id, status, user_id,
//       transcript[{role, message, time_in_call_secs}], metadata{
//       start_time_unix_secs, call_duration_secs, termination_reason,
//       phone_call{type, direction, phone_number_id, agent_number,
//       external_number, call_sid, stream_sid}}, analysis{call_successful,
//       transcript_summary}, conversation_initiation_client_data{
//       dynamic_variables{system__caller_id, system__called_number}},
//       has_audio, has_user_audio, has_response_audio}
//   GET /v1/convai/conversations/{conversation_id}/audio
//       200 audio/mpeg, the recording's bytes
//
// Authentication is the `xi-api-key` header. Errors have ElevenLabs' shape
// {"detail":{"status":..,"message":..}}: 401 "needs_authorization" (no key)
// and "invalid_api_key" (wrong key) as ElevenLabs sends them; 404 for an
// unknown conversation or one without audio (the status words of those two
// are this fake's: the API documents only the shape); 405 for another method.
//
// It records every request, and can be made to never answer (timeouts).
// Runs on the thread-default GMainContext of the thread that creates it.
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace callstream_test {

class FakeElevenLabsApi {
 public:
  struct Request {
    std::string method;
    std::string path;      // percent-decoded, as libsoup hands it over
    std::string api_key;   // the xi-api-key header, "" when absent
  };

  // A conversation as the fake builds its JSON; empty strings and unset
  // optionals are left out of the phone_call / dynamic_variables objects.
  struct Conversation {
    std::string conversation_id;
    std::string agent_id = "agent_7f3b2c1d";
    std::string status = "done";
    std::string caller_id;            // dynamic_variables.system__caller_id
    std::string called_number;        // dynamic_variables.system__called_number
    std::string external_number;      // metadata.phone_call.external_number
    std::string agent_number = "+15550001111";
    std::string direction = "inbound";
    std::string call_sid = "CA5e0f9a2b";
    int64_t start_time_unix_secs = 1739537297;
    int64_t call_duration_secs = 22;
    std::string termination_reason = "end_call tool was called.";
    std::string transcript_summary = "The caller asked about the weather.";
    std::vector<std::pair<std::string, std::string>> transcript = {
        {"agent", "Hello, how can I help?"}, {"user", "What is the weather today?"}};
    std::string recording_url;        // a top-level "recording_url" when set
  };

  explicit FakeElevenLabsApi (std::string api_key)
      : api_key_ (std::move (api_key)),
        server_ (soup_server_new ("server-header", "fake-elevenlabs", nullptr))
  {
    soup_server_add_handler (server_, "/v1/convai/conversations", on_request, this, nullptr);
    g_autoptr (GError) error = nullptr;
    if (!soup_server_listen_local (server_, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
      g_error ("fake ElevenLabs cannot listen: %s", error->message);
    GSList *uris = soup_server_get_uris (server_);
    port_ = g_uri_get_port (static_cast<GUri *> (uris->data));
    g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  }

  ~FakeElevenLabsApi ()
  {
    soup_server_disconnect (server_);
    g_object_unref (server_);
  }

  FakeElevenLabsApi (const FakeElevenLabsApi &) = delete;
  FakeElevenLabsApi &operator= (const FakeElevenLabsApi &) = delete;

  // What ELEVENLABS_API_URL is set to: "http://127.0.0.1:<port>".
  std::string base_url () const { return "http://127.0.0.1:" + std::to_string (port_); }

  // A conversation the API knows; with @audio it has a recording
  // (has_audio true and GET .../audio serves these bytes).
  void add_conversation (const Conversation &conversation, std::string audio = {})
  {
    std::string json = conversation_json (conversation, !audio.empty ());
    add_conversation_json (conversation.conversation_id, std::move (json), std::move (audio));
  }

  // A conversation served with exactly @json (for shapes the builder lacks).
  void add_conversation_json (const std::string &conversation_id, std::string json,
      std::string audio = {})
  {
    conversations_[conversation_id] = { std::move (json), std::move (audio) };
  }

  // Requests are read but never answered.
  void set_unresponsive (bool unresponsive) { unresponsive_ = unresponsive; }

  const std::vector<Request> &requests () const { return requests_; }

  // The JSON GET /v1/convai/conversations/{id} answers for @c.
  static std::string conversation_json (const Conversation &c, bool has_audio)
  {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    add_string (b, "agent_id", c.agent_id);
    add_string (b, "conversation_id", c.conversation_id);
    add_string (b, "status", c.status);
    json_builder_set_member_name (b, "user_id");
    json_builder_add_null_value (b);
    json_builder_set_member_name (b, "transcript");
    json_builder_begin_array (b);
    int64_t time_in_call = 0;
    for (const auto &[role, message] : c.transcript) {
      json_builder_begin_object (b);
      add_string (b, "role", role);
      add_string (b, "message", message);
      json_builder_set_member_name (b, "time_in_call_secs");
      json_builder_add_int_value (b, time_in_call);
      json_builder_end_object (b);
      time_in_call += 3;
    }
    json_builder_end_array (b);
    add_metadata (b, c);
    json_builder_set_member_name (b, "analysis");
    json_builder_begin_object (b);
    add_string (b, "call_successful", "success");
    add_string (b, "transcript_summary", c.transcript_summary);
    json_builder_end_object (b);
    json_builder_set_member_name (b, "conversation_initiation_client_data");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dynamic_variables");
    json_builder_begin_object (b);
    add_string_if_set (b, "system__caller_id", c.caller_id);
    add_string_if_set (b, "system__called_number", c.called_number);
    json_builder_end_object (b);
    json_builder_end_object (b);
    for (const char *name : { "has_audio", "has_user_audio", "has_response_audio" }) {
      json_builder_set_member_name (b, name);
      json_builder_add_boolean_value (b, has_audio);
    }
    add_string_if_set (b, "recording_url", c.recording_url);
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    g_autofree gchar *text = json_to_string (root, FALSE);
    return text;
  }

 private:
  struct Stored {
    std::string json;
    std::string audio;
  };

  static void add_string (JsonBuilder *b, const char *name, const std::string &value)
  {
    json_builder_set_member_name (b, name);
    json_builder_add_string_value (b, value.c_str ());
  }

  static void add_string_if_set (JsonBuilder *b, const char *name, const std::string &value)
  {
    if (!value.empty ())
      add_string (b, name, value);
  }

  static void add_metadata (JsonBuilder *b, const Conversation &c)
  {
    json_builder_set_member_name (b, "metadata");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "start_time_unix_secs");
    json_builder_add_int_value (b, c.start_time_unix_secs);
    json_builder_set_member_name (b, "call_duration_secs");
    json_builder_add_int_value (b, c.call_duration_secs);
    add_string (b, "termination_reason", c.termination_reason);
    json_builder_set_member_name (b, "phone_call");
    json_builder_begin_object (b);
    add_string (b, "type", "twilio");
    add_string (b, "direction", c.direction);
    add_string (b, "phone_number_id", "phnum_0123");
    add_string_if_set (b, "agent_number", c.agent_number);
    add_string_if_set (b, "external_number", c.external_number);
    add_string (b, "call_sid", c.call_sid);
    add_string (b, "stream_sid", "MZ" + c.call_sid);
    json_builder_end_object (b);
    json_builder_end_object (b);
  }

  static void on_request (SoupServer *, SoupServerMessage *message, const char *path,
      GHashTable *, gpointer user_data)
  {
    static_cast<FakeElevenLabsApi *> (user_data)->handle (message, path);
  }

  void handle (SoupServerMessage *message, const char *path)
  {
    SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
    const char *key = soup_message_headers_get_one (headers, "xi-api-key");
    Request request { soup_server_message_get_method (message), path, key != nullptr ? key : "" };
    requests_.push_back (request);
    if (unresponsive_) {
      soup_server_message_pause (message);
      return;
    }
    if (request.method != "GET") {
      soup_server_message_set_status (message, 405, nullptr);
      const char *body = R"({"detail":"Method Not Allowed"})";
      soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC, body,
          strlen (body));
      return;
    }
    if (key == nullptr)
      return answer_error (message, 401, "needs_authorization",
          "Neither authorization header nor xi-api-key received, please provide one.");
    if (request.api_key != api_key_)
      return answer_error (message, 401, "invalid_api_key", "Invalid API key");

    // "/v1/convai/conversations/{id}" or ".../{id}/audio". libsoup hands the
    // path percent-decoded, so an id sent with %2F arrives with its '/'.
    std::string rest = request.path.substr (strlen ("/v1/convai/conversations"));
    bool audio = false;
    if (rest.size () > strlen ("/audio") && g_str_has_suffix (rest.c_str (), "/audio")) {
      rest.resize (rest.size () - strlen ("/audio"));
      audio = true;
    }
    std::optional<std::string> id;
    if (rest.size () > 1 && rest[0] == '/')
      id = rest.substr (1);
    const auto found = id ? conversations_.find (*id) : conversations_.end ();
    if (found == conversations_.end ())
      return answer_error (message, 404, "conversation_not_found",
          "Conversation " + id.value_or (request.path) + " not found");
    if (!audio) {
      soup_server_message_set_status (message, 200, nullptr);
      soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY,
          found->second.json.data (), found->second.json.size ());
      return;
    }
    if (found->second.audio.empty ())
      return answer_error (message, 404, "conversation_audio_not_found",
          "Conversation " + *id + " has no audio");
    soup_server_message_set_status (message, 200, nullptr);
    soup_server_message_set_response (message, "audio/mpeg", SOUP_MEMORY_COPY,
        found->second.audio.data (), found->second.audio.size ());
  }

  static void answer_error (SoupServerMessage *message, guint status, const char *word,
      const std::string &text)
  {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "detail");
    json_builder_begin_object (b);
    add_string (b, "status", word);
    add_string (b, "message", text);
    json_builder_end_object (b);
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    gchar *body = json_to_string (root, FALSE);
    soup_server_message_set_status (message, status, nullptr);
    soup_server_message_set_response (message, "application/json", SOUP_MEMORY_TAKE, body,
        strlen (body));
  }

  std::string api_key_;
  SoupServer *server_;
  guint port_ = 0;
  bool unresponsive_ = false;
  std::map<std::string, Stored> conversations_;
  std::vector<Request> requests_;
};

}  // namespace callstream_test
