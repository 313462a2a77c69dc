// A fake OpenAI Realtime server for the element tests: a libsoup WebSocket
// server on 127.0.0.1, a random port, its own thread and GMainContext. It
// checks the Authorization header, the model query and the session.update
// shape, records every message, echoes the caller's audio back as reply
// audio in small deltas (to exercise the bridge's 50 ms gathering), and on
// demand sends speech_started, an error event, a close, or any text. It can
// also refuse the handshake with 401, delay it, or accept TCP and never
// answer.
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "loopback_listener.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

class FakeRealtimeServer {
 public:
  enum class Handshake { Accept, Refuse401, NeverAnswer };

  struct Options {
    Handshake handshake = Handshake::Accept;
    guint handshake_delay_ms = 0;     // the server thread sleeps before answering
    size_t echo_every_bytes = 0;      // answer each this many appended bytes; 0: never
    size_t delta_bytes = 80;          // audio per delta
    bool old_delta_name = false;      // response.audio.delta instead of output_audio
  };

  // One message the bridge sent.
  struct Received {
    std::string type;
    std::string text;
  };

  explicit FakeRealtimeServer (Options options) : options_ (options)
  {
    context_ = g_main_context_new ();
    loop_ = g_main_loop_new (context_, FALSE);
    if (options_.handshake == Handshake::NeverAnswer) {
      // Listens, so TCP connects; never accepts nor answers.
      guint port = 0;
      listener_ = test_support::listen_on_loopback (&port);
      port_ = static_cast<int> (port);
      return;
    }
    std::mutex ready_lock;
    std::condition_variable ready;
    bool started = false;
    thread_ = std::thread ([&] {
      g_main_context_push_thread_default (context_);
      server_ = soup_server_new (nullptr, nullptr);
      if (options_.handshake == Handshake::Refuse401) {
        soup_server_add_handler (server_, "/v1/realtime", +[] (SoupServer *,
                SoupServerMessage *msg, const char *, GHashTable *, gpointer) {
              static const char kBody[] =
                  "{\"error\":{\"message\":\"Incorrect API key provided\"}}";
              soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, nullptr);
              soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                  kBody, sizeof kBody - 1);
            }, this, nullptr);
      } else {
        soup_server_add_early_handler (server_, "/v1/realtime", +[] (SoupServer *,
                SoupServerMessage *msg, const char *, GHashTable *query, gpointer data) {
              auto *self = static_cast<FakeRealtimeServer *> (data);
              std::lock_guard guard (self->lock_);
              const char *auth = soup_message_headers_get_one (
                  soup_server_message_get_request_headers (msg), "Authorization");
              self->authorization_ = auth != nullptr ? auth : "";
              const char *model = query != nullptr
                  ? static_cast<const char *> (g_hash_table_lookup (query, "model")) : nullptr;
              self->model_ = model != nullptr ? model : "";
              if (self->options_.handshake_delay_ms > 0)
                g_usleep (self->options_.handshake_delay_ms * 1000);
            }, this, nullptr);
        soup_server_add_websocket_handler (server_, "/v1/realtime", nullptr, nullptr,
            +[] (SoupServer *, SoupServerMessage *, const char *,
                SoupWebsocketConnection *connection, gpointer data) {
              static_cast<FakeRealtimeServer *> (data)->on_connection (connection);
            }, this, nullptr);
      }
      g_assert_true (soup_server_listen_local (server_, 0, SOUP_SERVER_LISTEN_IPV4_ONLY,
              nullptr));
      GSList *uris = soup_server_get_uris (server_);
      port_ = g_uri_get_port (static_cast<GUri *> (uris->data));
      g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
      {
        std::lock_guard guard (ready_lock);
        started = true;
      }
      ready.notify_all ();
      g_main_loop_run (loop_);
      if (connection_ != nullptr) {
        g_signal_handlers_disconnect_by_data (connection_, this);
        g_object_unref (connection_);
      }
      soup_server_disconnect (server_);
      g_object_unref (server_);
      while (g_main_context_iteration (context_, FALSE)) {
      }
      g_main_context_pop_thread_default (context_);
    });
    std::unique_lock held (ready_lock);
    ready.wait (held, [&] { return started; });
  }

  ~FakeRealtimeServer ()
  {
    if (thread_.joinable ()) {
      run ([this] { g_main_loop_quit (loop_); });
      thread_.join ();
    }
    g_clear_object (&listener_);
    g_main_loop_unref (loop_);
    g_main_context_unref (context_);
  }

  int port () const { return port_; }
  std::string url () const
  {
    return "ws://127.0.0.1:" + std::to_string (port_) + "/v1/realtime";
  }

  // --- on demand (any thread) ------------------------------------------------

  void send_text (std::string text)
  {
    run ([this, text = std::move (text)] {
      if (connection_ != nullptr
          && soup_websocket_connection_get_state (connection_) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (connection_, text.c_str ());
    });
  }

  void speech_started (int audio_start_ms = 0)
  {
    send_text ("{\"type\":\"input_audio_buffer.speech_started\",\"audio_start_ms\":"
        + std::to_string (audio_start_ms) + ",\"item_id\":\"item_caller\"}");
  }

  void send_error (const std::string &message)
  {
    send_text ("{\"type\":\"error\",\"event_id\":\"evt_1\",\"error\":{\"type\":"
        "\"invalid_request_error\",\"code\":\"session_expired\",\"message\":\""
        + message + "\",\"param\":null,\"event_id\":null}}");
  }

  void close (gushort code, const std::string &reason)
  {
    run ([this, code, reason] {
      if (connection_ != nullptr)
        soup_websocket_connection_close (connection_, code, reason.c_str ());
    });
  }

  // Sends @audio as the reply @item_id in delta_bytes pieces, then done.
  void answer (const std::string &item_id, const std::string &audio, bool done = true)
  {
    const std::string delta_type = options_.old_delta_name
        ? "response.audio.delta" : "response.output_audio.delta";
    const std::string response_id = "resp_" + item_id;
    for (size_t at = 0; at < audio.size (); at += options_.delta_bytes) {
      const std::string piece = audio.substr (at, options_.delta_bytes);
      g_autofree gchar *b64 = g_base64_encode (
          reinterpret_cast<const guchar *> (piece.data ()), piece.size ());
      send_text ("{\"type\":\"" + delta_type + "\",\"event_id\":\"e\",\"response_id\":\""
          + response_id + "\",\"item_id\":\"" + item_id
          + "\",\"output_index\":0,\"content_index\":0,\"delta\":\"" + b64 + "\"}");
    }
    if (!done)
      return;
    send_text ("{\"type\":\"response.output_audio.done\",\"response_id\":\"" + response_id
        + "\",\"item_id\":\"" + item_id + "\",\"output_index\":0,\"content_index\":0}");
    send_text ("{\"type\":\"response.done\",\"response\":{\"id\":\"" + response_id
        + "\",\"status\":\"completed\"}}");
  }

  // --- what was received (any thread) ----------------------------------------

  bool wait_for (const std::function<bool ()> &done, int timeout_ms = 5000)
  {
    std::unique_lock held (lock_);
    return changed_.wait_for (held, std::chrono::milliseconds (timeout_ms), done);
  }

  // Call with lock() held, or after wait_for.
  std::vector<Received> received ()
  {
    std::lock_guard guard (lock_);
    return received_;
  }
  std::string audio () { std::lock_guard guard (lock_); return audio_; }
  std::string authorization () { std::lock_guard guard (lock_); return authorization_; }
  std::string model () { std::lock_guard guard (lock_); return model_; }
  std::string session_problem () { std::lock_guard guard (lock_); return session_problem_; }
  size_t count (const std::string &type)
  {
    std::lock_guard guard (lock_);
    return count_locked (type);
  }
  size_t count_locked (const std::string &type) const
  {
    size_t n = 0;
    for (const Received &r : received_)
      n += r.type == type;
    return n;
  }
  size_t audio_size_locked () const { return audio_.size (); }
  bool connected () { std::lock_guard guard (lock_); return connected_; }

 private:
  void run (std::function<void ()> fn)
  {
    g_main_context_invoke_full (context_, G_PRIORITY_DEFAULT, +[] (gpointer data) -> gboolean {
          (*static_cast<std::function<void ()> *> (data)) ();
          return G_SOURCE_REMOVE;
        }, new std::function<void ()> (std::move (fn)), +[] (gpointer data) {
          delete static_cast<std::function<void ()> *> (data);
        });
  }

  void on_connection (SoupWebsocketConnection *connection)
  {
    connection_ = SOUP_WEBSOCKET_CONNECTION (g_object_ref (connection));
    soup_websocket_connection_set_max_incoming_payload_size (connection_, 0);
    g_signal_connect (connection_, "message", G_CALLBACK (+[] (SoupWebsocketConnection *,
                gint, GBytes *message, gpointer data) {
          gsize size = 0;
          const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
          static_cast<FakeRealtimeServer *> (data)->on_message (std::string (text, size));
        }), this);
    {
      std::lock_guard guard (lock_);
      connected_ = true;
    }
    changed_.notify_all ();
    send_text ("{\"type\":\"session.created\",\"event_id\":\"e0\",\"session\":"
        "{\"id\":\"sess_fake\",\"type\":\"realtime\"}}");
  }

  // Why @root is not the GA session.update shape, or "".
  static std::string check_session_update (JsonObject *root)
  {
    JsonObject *session = json_object_get_object_member (root, "session");
    if (session == nullptr)
      return "no session";
    if (g_strcmp0 (json_object_get_string_member_with_default (session, "type", ""),
            "realtime") != 0)
      return "session.type is not realtime";
    JsonArray *modalities = json_object_get_array_member (session, "output_modalities");
    if (modalities == nullptr || json_array_get_length (modalities) != 1
        || g_strcmp0 (json_array_get_string_element (modalities, 0), "audio") != 0)
      return "output_modalities is not [audio]";
    if (!json_object_has_member (session, "model"))
      return "no model";
    JsonObject *audio = json_object_get_object_member (session, "audio");
    JsonObject *input = audio ? json_object_get_object_member (audio, "input") : nullptr;
    JsonObject *output = audio ? json_object_get_object_member (audio, "output") : nullptr;
    if (input == nullptr || output == nullptr)
      return "no audio.input / audio.output";
    JsonObject *in_format = json_object_get_object_member (input, "format");
    JsonObject *out_format = json_object_get_object_member (output, "format");
    if (in_format == nullptr || out_format == nullptr)
      return "no formats";
    const char *type = json_object_get_string_member_with_default (in_format, "type", "");
    if (g_strcmp0 (type, "audio/pcmu") != 0 && g_strcmp0 (type, "audio/pcm") != 0)
      return "input format type is not audio/pcmu or audio/pcm";
    if (g_strcmp0 (type, "audio/pcm") == 0
        && json_object_get_int_member_with_default (in_format, "rate", 0) != 24000)
      return "audio/pcm without rate 24000";
    if (g_strcmp0 (json_object_get_string_member_with_default (out_format, "type", ""),
            type) != 0)
      return "output format differs from input";
    JsonObject *vad = json_object_get_object_member (input, "turn_detection");
    if (vad == nullptr
        || g_strcmp0 (json_object_get_string_member_with_default (vad, "type", ""),
            "server_vad") != 0
        || !json_object_has_member (vad, "threshold")
        || !json_object_has_member (vad, "prefix_padding_ms")
        || !json_object_has_member (vad, "silence_duration_ms"))
      return "turn_detection is not a full server_vad";
    return "";
  }

  void on_message (std::string text)
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    Received r;
    r.text = text;
    if (json_parser_load_from_data (parser, text.c_str (), -1, nullptr)
        && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
      JsonObject *root = json_node_get_object (json_parser_get_root (parser));
      r.type = json_object_get_string_member_with_default (root, "type", "");
      std::string reply;
      {
        std::lock_guard guard (lock_);
        if (r.type == "session.update") {
          if (count_locked ("session.update") == 0)
            session_problem_ = check_session_update (root);
        } else if (r.type == "input_audio_buffer.append") {
          gsize size = 0;
          g_autofree guchar *audio = g_base64_decode (
              json_object_get_string_member_with_default (root, "audio", ""), &size);
          audio_.append (reinterpret_cast<char *> (audio), size);
          pending_echo_.append (reinterpret_cast<char *> (audio), size);
          if (options_.echo_every_bytes > 0
              && pending_echo_.size () >= options_.echo_every_bytes) {
            reply = pending_echo_.substr (0, options_.echo_every_bytes);
            pending_echo_.erase (0, options_.echo_every_bytes);
          }
        }
        received_.push_back (r);
      }
      if (r.type == "session.update")
        send_text ("{\"type\":\"session.updated\",\"session\":{\"id\":\"sess_fake\"}}");
      if (!reply.empty ())
        answer ("item_" + std::to_string (++answers_), reply);
    } else {
      std::lock_guard guard (lock_);
      received_.push_back (r);
    }
    changed_.notify_all ();
  }

  Options options_;
  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  std::thread thread_;
  SoupServer *server_ = nullptr;
  GSocket *listener_ = nullptr;
  SoupWebsocketConnection *connection_ = nullptr;  // server thread
  int port_ = 0;
  int answers_ = 0;                                 // server thread

  std::mutex lock_;
  std::condition_variable changed_;
  std::vector<Received> received_;
  std::string audio_;
  std::string pending_echo_;
  std::string authorization_;
  std::string model_;
  std::string session_problem_ = "no session.update yet";
  bool connected_ = false;
};

}  // namespace test_support
