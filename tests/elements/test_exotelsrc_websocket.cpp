// exotelsrc taking a call over a real WebSocket: its own server (port=) with
// a libsoup client, and a connection accepted by an application (connection=).
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "test_support.h"

using test_support::base64_of;
using test_support::buffer_bytes;
using test_support::pattern_bytes;

namespace {

const std::string kStart =
    "{\"event\":\"start\",\"sequence_number\":1,\"stream_sid\":\"MZws\","
    "\"start\":{\"call_sid\":\"CAws\",\"media_format\":{\"encoding\":\"slin\","
    "\"sample_rate\":8000,\"bit_rate\":\"16\"}}}";
const std::string kStop =
    "{\"event\":\"stop\",\"stop\":{\"call_sid\":\"CAws\",\"reason\":\"stopped\"}}";

std::string
media (int sequence, const std::string &audio)
{
  return "{\"event\":\"media\",\"sequence_number\":\"" + std::to_string (sequence)
      + "\",\"media\":{\"chunk\":1,\"timestamp\":\"0\",\"payload\":\""
      + base64_of (audio) + "\"}}";
}

// Iterates the default context until @done or 10 s have passed.
bool
pump_until (const std::function<bool ()> &done)
{
  const gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      return false;
    if (!g_main_context_iteration (nullptr, FALSE))
      g_usleep (1000);
  }
  return true;
}

struct Client {
  SoupSession *session = soup_session_new ();
  SoupWebsocketConnection *connection = nullptr;
  GError *error = nullptr;
  bool done = false;
  bool closed = false;

  ~Client ()
  {
    g_clear_object (&connection);
    g_clear_error (&error);
    g_object_unref (session);
  }

  static void on_closed (SoupWebsocketConnection *, gpointer data)
  {
    static_cast<Client *> (data)->closed = true;
  }

  // Connects and waits; false when the handshake fails (error set).
  bool connect (int port, const char *path = "/v1/ingest")
  {
    g_autofree gchar *url = g_strdup_printf ("ws://127.0.0.1:%d%s", port, path);
    g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
    soup_session_websocket_connect_async (session, msg, nullptr, nullptr,
        G_PRIORITY_DEFAULT, nullptr, [] (GObject *source, GAsyncResult *result,
            gpointer data) {
          auto *self = static_cast<Client *> (data);
          self->connection = soup_session_websocket_connect_finish (
              SOUP_SESSION (source), result, &self->error);
          self->done = true;
        }, this);
    g_assert_true (pump_until ([this] { return done; }));
    if (connection != nullptr)
      g_signal_connect (connection, "closed", G_CALLBACK (on_closed), this);
    return connection != nullptr;
  }

  void send (const std::string &text)
  {
    soup_websocket_connection_send_text (connection, text.c_str ());
  }
  void send_binary (const std::string &data)
  {
    soup_websocket_connection_send_binary (connection, data.data (), data.size ());
  }
};

GstHarness *
server_harness (int port = 0)
{
  GstElement *src = gst_element_factory_make ("exotelsrc", nullptr);
  g_object_set (src, "port", port, nullptr);
  GstHarness *h = gst_harness_new_with_element (src, nullptr, "src");
  gst_object_unref (src);
  gst_harness_play (h);
  return h;
}

int
bound_port (GstHarness *h)
{
  int port = 0;
  g_object_get (h->element, "bound-port", &port, nullptr);
  return port;
}

// Pulls buffers and events off @h until EOS, pumping the default context.
struct Received {
  std::vector<std::string> buffers;
  bool eos = false;
};

void
collect (GstHarness *h, Received &received, const std::function<bool ()> &until)
{
  g_assert_true (pump_until ([&] {
        while (GstBuffer *buffer = gst_harness_try_pull (h)) {
          received.buffers.push_back (buffer_bytes (buffer));
          gst_buffer_unref (buffer);
        }
        while (GstEvent *event = gst_harness_try_pull_event (h)) {
          received.eos |= GST_EVENT_TYPE (event) == GST_EVENT_EOS;
          gst_event_unref (event);
        }
        return until ();
      }));
}

}  // namespace

static void
test_server_takes_a_call ()
{
  GstHarness *h = server_harness ();
  const int port = bound_port (h);
  g_assert_cmpint (port, >, 0);

  Client client;
  g_assert_true (client.connect (port));
  client.send ("{\"event\":\"connected\"}");
  client.send (kStart);
  std::vector<std::string> sent;
  for (int i = 0; i < 5; i++) {
    sent.push_back (pattern_bytes (1600, i));
    client.send (media (i + 2, sent.back ()));
  }
  // A binary frame is raw audio in the call's format.
  sent.push_back (pattern_bytes (320, 99));
  client.send_binary (sent.back ());
  client.send (kStop);

  Received received;
  collect (h, received, [&] { return received.eos; });
  g_assert_cmpuint (received.buffers.size (), ==, sent.size ());
  for (size_t i = 0; i < sent.size (); i++)
    g_assert_true (received.buffers[i] == sent[i]);
  gst_harness_teardown (h);
}

static void
test_second_connection_refused ()
{
  GstHarness *h = server_harness ();
  Client first;
  g_assert_true (first.connect (bound_port (h)));
  first.send (kStart);

  Client second;
  g_assert_true (second.connect (bound_port (h)));
  g_assert_true (pump_until ([&] { return second.closed; }));
  g_assert_cmpint (soup_websocket_connection_get_close_code (second.connection), ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  const char *reason = soup_websocket_connection_get_close_data (second.connection);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, "already has a call"));

  // The first call goes on undisturbed.
  const std::string audio = pattern_bytes (640, 7);
  first.send (media (2, audio));
  Received received;
  collect (h, received, [&] { return received.buffers.size () == 1; });
  g_assert_true (received.buffers[0] == audio);
  g_assert_false (first.closed);
  gst_harness_teardown (h);
}

static void
test_socket_close_is_eos ()
{
  GstHarness *h = server_harness ();
  Client client;
  g_assert_true (client.connect (bound_port (h)));
  client.send (kStart);
  client.send (media (2, pattern_bytes (320, 1)));
  Received received;
  collect (h, received, [&] { return received.buffers.size () == 1; });
  soup_websocket_connection_close (client.connection, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
  collect (h, received, [&] { return received.eos; });

  // After its call the source takes no other.
  Client late;
  g_assert_true (late.connect (bound_port (h)));
  g_assert_true (pump_until ([&] { return late.closed; }));
  g_assert_cmpint (soup_websocket_connection_get_close_code (late.connection), ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  gst_harness_teardown (h);
}

static void
test_wrong_path_is_not_found ()
{
  GstHarness *h = server_harness ();
  Client client;
  g_assert_false (client.connect (bound_port (h), "/elsewhere"));
  g_assert_nonnull (client.error);
  gst_harness_teardown (h);
}

static void
test_large_message_accepted ()
{
  // Exotel allows 100 KB of audio in one message: 133 KB of base64.
  GstHarness *h = server_harness ();
  Client client;
  g_assert_true (client.connect (bound_port (h)));
  client.send (kStart);
  const std::string audio = pattern_bytes (100000, 3);
  client.send (media (2, audio));
  Received received;
  collect (h, received, [&] { return received.buffers.size () == 1; });
  g_assert_true (received.buffers[0] == audio);
  gst_harness_teardown (h);
}

static void
test_port_in_use_is_an_error ()
{
  GstHarness *h = server_harness ();
  g_autofree gchar *description = g_strdup_printf (
      "exotelsrc port=%d ! fakesink", bound_port (h));
  g_autoptr (GstElement) pipeline = gst_parse_launch (description, nullptr);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), ==,
      GST_STATE_CHANGE_FAILURE);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage) error = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (error);
  g_autoptr (GError) gerror = nullptr;
  gst_message_parse_error (error, &gerror, nullptr);
  g_assert_error (gerror, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_harness_teardown (h);
}

// An application's own server hands each accepted connection to a source.
struct AppServer {
  SoupServer *server = soup_server_new (nullptr, nullptr);
  GstHarness *h = nullptr;
  int port = 0;

  AppServer ()
  {
    soup_server_add_websocket_handler (server, "/v1/ingest", nullptr, nullptr,
        [] (SoupServer *, SoupServerMessage *, const char *,
            SoupWebsocketConnection *connection, gpointer data) {
          auto *self = static_cast<AppServer *> (data);
          GstElement *src = gst_element_factory_make ("exotelsrc", nullptr);
          g_object_set (src, "connection", connection, nullptr);
          self->h = gst_harness_new_with_element (src, nullptr, "src");
          gst_object_unref (src);
          gst_harness_play (self->h);
        }, this, nullptr);
    g_assert_true (soup_server_listen_local (server, 0,
            SOUP_SERVER_LISTEN_IPV4_ONLY, nullptr));
    GSList *uris = soup_server_get_uris (server);
    port = g_uri_get_port (static_cast<GUri *> (uris->data));
    g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  }
  ~AppServer ()
  {
    if (h != nullptr)
      gst_harness_teardown (h);
    soup_server_disconnect (server);
    g_object_unref (server);
  }
};

static void
test_connection_from_application ()
{
  AppServer app;
  Client client;
  g_assert_true (client.connect (app.port));
  g_assert_true (pump_until ([&] { return app.h != nullptr; }));
  client.send (kStart);
  const std::string audio = pattern_bytes (1600, 5);
  client.send (media (2, audio));
  client.send (kStop);
  Received received;
  collect (app.h, received, [&] { return received.eos; });
  g_assert_cmpuint (received.buffers.size (), ==, 1);
  g_assert_true (received.buffers[0] == audio);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/exotelsrc-websocket/server/takes-a-call", test_server_takes_a_call);
  g_test_add_func ("/exotelsrc-websocket/server/second-connection-refused",
      test_second_connection_refused);
  g_test_add_func ("/exotelsrc-websocket/server/close-is-eos", test_socket_close_is_eos);
  g_test_add_func ("/exotelsrc-websocket/server/wrong-path", test_wrong_path_is_not_found);
  g_test_add_func ("/exotelsrc-websocket/server/large-message", test_large_message_accepted);
  g_test_add_func ("/exotelsrc-websocket/server/port-in-use", test_port_in_use_is_an_error);
  g_test_add_func ("/exotelsrc-websocket/connection/from-application",
      test_connection_from_application);
  return g_test_run ();
}
