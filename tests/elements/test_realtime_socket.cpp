// callstream::RealtimeSocket, the realtimebridge's WebSocket client, against a
// scripted loopback server (scripted_websocket_server.h): the contract of
// realtime_socket.h, whatever carries the frames. Tests marked "new contract"
// describe behaviour the libsoup implementation does not have.
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "realtimebridge/realtime_socket.h"
#include "scripted_websocket_server.h"

namespace ws = callstream::websocket;
using callstream::RealtimeSocket;
using test_support::ScriptedWebSocketServer;
using test_support::WebSocketRecord;
using Peer = ScriptedWebSocketServer::Peer;

namespace {

constexpr guint kWaitMs = 10000;

// What the handlers saw, and when.
struct Events {
  mutable std::mutex lock;
  std::condition_variable changed;
  int opened = 0;
  std::vector<std::string> texts;
  std::vector<std::string> failures;
  std::vector<std::string> thread_names;
  bool stopped = false;  // the test's stop() returned
  int after_stop = 0;    // handler calls once it had
  // Runs inside the text handler, after it is recorded.
  std::function<void ()> on_text;

  RealtimeSocket::Handlers handlers ()
  {
    RealtimeSocket::Handlers h;
    h.opened = [this] { record ([this] { opened++; }); };
    h.text = [this] (std::string_view text) {
      record ([this, text] { texts.emplace_back (text); });
      if (on_text)
        on_text ();
    };
    h.failed = [this] (const std::string &reason) {
      record ([this, &reason] { failures.push_back (reason); });
    };
    return h;
  }

  void record (const std::function<void ()> &change)
  {
    char name[16] = "";
    pthread_getname_np (pthread_self (), name, sizeof name);
    {
      std::lock_guard guard (lock);
      change ();
      thread_names.emplace_back (name);
      if (stopped)
        after_stop++;
    }
    changed.notify_all ();
  }

  bool wait_until (const std::function<bool ()> &done, guint timeout_ms = kWaitMs)
  {
    std::unique_lock guard (lock);
    return changed.wait_for (guard, std::chrono::milliseconds (timeout_ms), done);
  }

  // stop(), then no handler may run.
  void stop (RealtimeSocket &socket)
  {
    socket.stop ();
    std::lock_guard guard (lock);
    stopped = true;
  }

  int failed_count () const
  {
    std::lock_guard guard (lock);
    return static_cast<int> (failures.size ());
  }
  std::string failure () const
  {
    std::lock_guard guard (lock);
    return failures.empty () ? std::string () : failures.front ();
  }
};

// For what nothing signals (the socket's counters, /proc): polled, with a deadline.
bool
poll_until (const std::function<bool ()> &done, guint timeout_ms = kWaitMs)
{
  const gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      return false;
    g_usleep (2000);
  }
  return true;
}

RealtimeSocket::Options
options_for (const ScriptedWebSocketServer &server, const std::string &model = "gpt-realtime")
{
  RealtimeSocket::Options options;
  options.url = server.url ();
  options.model = model;
  options.api_key = "sk-test-key";
  options.connect_timeout_ms = 5000;
  return options;
}

// Takes a copy: never g_assert_cmpstr on a temporary's c_str().
void
assert_equal (const std::string &actual, const char *expected)
{
  if (actual != expected)
    g_error ("expected \"%s\", got \"%s\"", expected, actual.c_str ());
}

void
assert_prefix (const std::string &text, const char *prefix)
{
  if (!g_str_has_prefix (text.c_str (), prefix))
    g_error ("expected \"%s\" to start with \"%s\"", text.c_str (), prefix);
}

void
assert_contains (const std::string &text, const char *part)
{
  if (text.find (part) == std::string::npos)
    g_error ("expected \"%s\" in \"%s\"", part, text.c_str ());
}

// The script most tests run: open, then record until the client leaves.
void
open_and_serve (Peer &peer)
{
  peer.read_request ();
  peer.answer_upgrade ();
  peer.serve ();
}

/* ---- opening ------------------------------------------------------------ */

// The opening messages go first, then what send() got while connecting, in
// order; both counters count them.
void
test_opens ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        if (!peer.wait_gate ())
          return;
        peer.answer_upgrade ();
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.opening = { "{\"type\":\"session.update\"}", "{\"type\":\"opening.2\"}" };
  socket.start (options);
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return !r.request_line.empty (); }));
  for (int i = 0; i < 3; i++)
    socket.send ("{\"queued\":" + std::to_string (i) + "}");
  g_assert_cmpuint (socket.queued_before_open (), ==, 3);
  server.open_gate ();
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return r.texts.size () >= 5; }));
  g_assert_true (poll_until ([&] { return socket.frames_sent () == 5; }));
  const WebSocketRecord record = server.record ();
  const std::vector<std::string> expected = { "{\"type\":\"session.update\"}",
    "{\"type\":\"opening.2\"}", "{\"queued\":0}", "{\"queued\":1}", "{\"queued\":2}" };
  g_assert_cmpuint (record.texts.size (), ==, expected.size ());
  for (size_t i = 0; i < expected.size (); i++)
    g_assert_cmpstr (record.texts[i].c_str (), ==, expected[i].c_str ());
  // Sent once open: straight out, not counted as queued.
  socket.send ("{\"after\":1}");
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return r.texts.size () == 6; }));
  assert_equal (server.record ().texts[5], "{\"after\":1}");
  g_assert_true (poll_until ([&] { return socket.frames_sent () == 6; }));
  g_assert_cmpuint (socket.queued_before_open (), ==, 3);
  events.stop (socket);
  g_assert_cmpint (events.opened, ==, 1);
  g_assert_cmpint (events.failed_count (), ==, 0);
}

// The key as a bearer token; the model escaped into the query.
void
test_request_bearer_and_model ()
{
  Events events;
  ScriptedWebSocketServer server (open_and_serve);
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server, "my model&x/y"));
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  const WebSocketRecord record = server.record ();
  g_assert_cmpstr (record.request_line.c_str (), ==,
      "GET /v1/realtime?model=my%20model%26x%2Fy HTTP/1.1");
  assert_equal (record.header ("Authorization").value_or ("(none)"), "Bearer sk-test-key");
  const std::string upgrade = record.header ("Upgrade").value_or ("(none)");
  g_assert_cmpint (g_ascii_strcasecmp (upgrade.c_str (), "websocket"), ==, 0);
  assert_equal (record.header ("Sec-WebSocket-Version").value_or ("(none)"), "13");
  events.stop (socket);
}

// No key, no Authorization header; a url with a query gets "&model=".
void
test_request_no_key_and_query ()
{
  Events events;
  ScriptedWebSocketServer server (open_and_serve);
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.url = server.url ("/v1/realtime?beta=1");
  options.api_key.clear ();
  socket.start (options);
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  const WebSocketRecord record = server.record ();
  g_assert_cmpstr (record.request_line.c_str (), ==,
      "GET /v1/realtime?beta=1&model=gpt-realtime HTTP/1.1");
  g_assert_false (record.header ("Authorization").has_value ());
  events.stop (socket);
}

/* ---- what the server sends ---------------------------------------------- */

// @frames written by the server once open; the texts the handler must get.
void
check_texts (const std::function<void (Peer &)> &frames,
             const std::vector<std::string> &expected, bool in_101 = false)
{
  Events events;
  ScriptedWebSocketServer server ([&] (Peer &peer) {
        peer.read_request ();
        if (in_101) {
          std::string first;
          ws::append_text (first, expected.front ());
          peer.answer_upgrade (first);
        } else {
          peer.answer_upgrade ();
        }
        frames (peer);
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return events.texts.size () >= expected.size (); }));
  events.stop (socket);
  g_assert_cmpuint (events.texts.size (), ==, expected.size ());
  for (size_t i = 0; i < expected.size (); i++) {
    g_assert_cmpuint (events.texts[i].size (), ==, expected[i].size ());
    g_assert_true (events.texts[i] == expected[i]);
  }
  g_assert_cmpint (events.opened, ==, 1);
  g_assert_cmpint (events.failed_count (), ==, 0);
}

void
test_text_unfragmented ()
{
  check_texts ([] (Peer &peer) {
        peer.send_text ("{\"type\":\"session.created\"}");
        peer.send_text ("{\"type\":\"response.done\"}");
      }, { "{\"type\":\"session.created\"}", "{\"type\":\"response.done\"}" });
}

// Text + continuations with a ping between them: one whole message.
void
test_text_fragmented_with_ping ()
{
  check_texts ([] (Peer &peer) {
        peer.send_frame (ws::Opcode::Text, "{\"type\":", false);
        peer.send_frame (ws::Opcode::Ping, "between");
        peer.send_frame (ws::Opcode::Continuation, "\"response.", false);
        peer.send_frame (ws::Opcode::Continuation, "done\"}", true);
        peer.send_text ("{\"next\":1}");
      }, { "{\"type\":\"response.done\"}", "{\"next\":1}" });
}

void
test_text_two_megabytes ()
{
  std::string big = "{\"delta\":\"";
  for (size_t i = 0; big.size () < 2 * 1024 * 1024 - 2; i++)
    big += static_cast<char> ('A' + i % 26);
  big += "\"}";
  check_texts ([&] (Peer &peer) {
        peer.send_text (big);
        peer.send_text ("{\"after\":1}");
      }, { big, "{\"after\":1}" });
}

// A text frame in the same write as the 101 response.
void
test_text_in_101_write ()
{
  check_texts ([] (Peer &peer) { peer.send_text ("{\"second\":2}"); },
      { "{\"first\":1}", "{\"second\":2}" }, true);
}

// A ping gets a pong with its payload; binary messages never reach text.
void
test_ping_and_binary ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.send_frame (ws::Opcode::Ping, "ping-payload-1");
        peer.send_frame (ws::Opcode::Binary, std::string ("\x00\x01\xff", 3));
        peer.send_text ("{\"after\":\"binary\"}");
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return !r.pongs.empty (); }));
  g_assert_true (events.wait_until ([&] { return !events.texts.empty (); }));
  events.stop (socket);
  assert_equal (server.record ().pongs[0], "ping-payload-1");
  g_assert_cmpuint (events.texts.size (), ==, 1);
  g_assert_cmpstr (events.texts[0].c_str (), ==, "{\"after\":\"binary\"}");
}

/* ---- the server ends it ------------------------------------------------- */

// The server's Close: failed once with its code and reason; answered.
void
test_server_close ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.send_close (4000, "bye");
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return r.close_code >= 0 && r.ended; }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  assert_equal (events.failure (), "socket closed mid-call (code 4000): bye");
}

// TCP dropped with no Close: failed once.
void
test_server_drops_tcp ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.drop ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  assert_prefix (events.failure (), "socket closed mid-call");
}

void
test_refused_401 ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_status ("401 Unauthorized",
            "{\"error\":{\"message\":\"Incorrect API key provided\"}}");
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  g_assert_cmpint (events.opened, ==, 0);
  assert_contains (events.failure (), "HTTP 401");
  g_assert_true (events.failure ().find ("sk-test-key") == std::string::npos);
}

void
test_wrong_accept ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ({}, std::string ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  g_assert_cmpint (events.opened, ==, 0);
}

// A port that was free a moment ago: nothing listens there.
void
test_nothing_listening ()
{
  guint port = 0;
  {
    g_autoptr (GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, nullptr);
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
    g_assert_true (g_socket_bind (probe, address, FALSE, nullptr));
    g_autoptr (GSocketAddress) bound = g_socket_get_local_address (probe, nullptr);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  }
  Events events;
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options;
  options.url = "ws://127.0.0.1:" + std::to_string (port) + "/v1/realtime";
  options.model = "m";
  options.connect_timeout_ms = 5000;
  socket.start (options);
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  assert_prefix (events.failure (), "cannot connect");
}

// TCP accepted, the request never answered.
void
test_connect_timeout ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.connect_timeout_ms = 300;
  socket.start (options);
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  assert_equal (events.failure (), "connect timeout after 300 ms");
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  g_assert_cmpint (events.opened, ==, 0);
}

/* ---- stop() ------------------------------------------------------------- */

// Stopped while the request waits for its answer: the 101 and a text that
// come after reach no handler, and the connection ends.
void
test_stop_while_connecting ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        if (!peer.wait_gate ())
          return;
        std::string text;
        ws::append_text (text, "{\"late\":1}");
        peer.answer_upgrade (text);
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return !r.request_line.empty (); }));
  events.stop (socket);
  server.open_gate ();
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  std::lock_guard guard (events.lock);
  g_assert_cmpint (events.after_stop, ==, 0);
  g_assert_cmpint (events.opened, ==, 0);
  g_assert_cmpuint (events.failures.size (), ==, 0);
}

// Stopped when open: a Close 1000, no failure.
void
test_stop_when_open ()
{
  Events events;
  ScriptedWebSocketServer server (open_and_serve);
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  events.stop (socket);
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return r.close_code >= 0 && r.ended; }));
  g_assert_cmpint (server.record ().close_code, ==, 1000);
  std::lock_guard guard (events.lock);
  g_assert_cmpint (events.after_stop, ==, 0);
  g_assert_cmpuint (events.failures.size (), ==, 0);
}

// stop() from the text handler returns; the next text reaches no handler.
void
test_stop_from_text_handler ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        std::string texts;
        ws::append_text (texts, "{\"n\":1}");
        ws::append_text (texts, "{\"n\":2}");
        peer.answer_upgrade (texts);
        peer.send_text ("{\"n\":3}");
        peer.serve ();
      });
  auto socket = std::make_unique<RealtimeSocket> (events.handlers ());
  std::atomic<bool> stop_returned { false };
  events.on_text = [&] {
    if (stop_returned.load ())
      return;
    events.stop (*socket);
    stop_returned = true;
  };
  socket->start (options_for (server));
  g_assert_true (poll_until ([&] { return stop_returned.load (); }));
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  socket.reset ();
  std::lock_guard guard (events.lock);
  g_assert_cmpuint (events.texts.size (), ==, 1);
  g_assert_cmpstr (events.texts[0].c_str (), ==, "{\"n\":1}");
  g_assert_cmpint (events.after_stop, ==, 0);
  g_assert_cmpuint (events.failures.size (), ==, 0);
}

/* ---- send() ------------------------------------------------------------- */

// After a failure send() drops the text: neither counter moves.
void
test_send_after_failed_dropped ()
{
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.read_message ();
        peer.send_close (4000, "bye");
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  socket.send ("{\"first\":1}");
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  g_assert_cmpuint (socket.frames_sent (), ==, 1);
  socket.send ("{\"late\":1}");
  socket.send ("{\"late\":2}");
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  g_assert_cmpuint (socket.frames_sent (), ==, 1);
  g_assert_cmpuint (socket.queued_before_open (), ==, 0);
  events.stop (socket);
  const WebSocketRecord record = server.record ();
  g_assert_cmpuint (record.texts.size (), ==, 1);
  g_assert_cmpint (events.failed_count (), ==, 1);
}

// Before start() there is no socket: send() is ignored, not queued.
void
test_send_before_start_ignored ()
{
  Events events;
  ScriptedWebSocketServer server (open_and_serve);
  RealtimeSocket socket (events.handlers ());
  socket.send ("{\"too\":\"early\"}");
  g_assert_cmpuint (socket.queued_before_open (), ==, 0);
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  socket.send ("{\"in\":\"time\"}");
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return !r.texts.empty (); }));
  g_assert_true (poll_until ([&] { return socket.frames_sent () == 1; }));
  events.stop (socket);
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  const WebSocketRecord record = server.record ();
  g_assert_cmpuint (record.texts.size (), ==, 1);
  g_assert_cmpstr (record.texts[0].c_str (), ==, "{\"in\":\"time\"}");
  g_assert_cmpuint (socket.queued_before_open (), ==, 0);
}

// The server (a 4 KiB receive buffer, so the kernel cannot take the whole
// text) reads nothing until every send() is in and the big text has begun to
// arrive, then 1 KiB a read: the 1 MB text arrives whole, the later ones
// after it.
void
test_large_send_slow_reader ()
{
  Events events;
  std::atomic<gssize> unread_at_gate { -1 };
  ScriptedWebSocketServer server ([&] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        if (!peer.wait_gate ())
          return;
        // Once the big text has begun to arrive: the client holds the rest.
        poll_until ([&] { return peer.unread_bytes () > 1024; });
        unread_at_gate = peer.unread_bytes ();
        peer.set_read_size (1024);
        peer.serve ();
      }, nullptr, 4096);
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  std::string big = "{\"audio\":\"";
  for (size_t i = 0; big.size () < 1024 * 1024 - 2; i++)
    big += static_cast<char> ('a' + i % 26);
  big += "\"}";
  socket.send ("{\"before\":1}");
  socket.send (big);
  for (int i = 0; i < 20; i++)
    socket.send ("{\"after\":" + std::to_string (i) + "}");
  server.open_gate ();
  const gint64 gate_opened = g_get_monotonic_time ();
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return r.texts.size () >= 22; }, 30000));
  g_test_message ("1 MiB through a 4 KiB receive buffer, 1 KiB reads: %.1f ms",
      (g_get_monotonic_time () - gate_opened) / 1000.0);
  g_assert_true (poll_until ([&] { return socket.frames_sent () == 22; }));
  // The setup's own check: the text had begun, the kernel could not take it all.
  g_test_message ("unread when reading began: %" G_GSSIZE_FORMAT " bytes",
      unread_at_gate.load ());
  g_assert_cmpint (unread_at_gate.load (), >, 1024);
  g_assert_cmpint (unread_at_gate.load (), <, static_cast<gssize> (big.size ()));
  events.stop (socket);
  const WebSocketRecord record = server.record ();
  g_assert_cmpuint (record.texts.size (), ==, 22);
  g_assert_cmpstr (record.texts[0].c_str (), ==, "{\"before\":1}");
  g_assert_cmpuint (record.texts[1].size (), ==, big.size ());
  g_assert_true (record.texts[1] == big);
  for (int i = 0; i < 20; i++) {
    const std::string expected = "{\"after\":" + std::to_string (i) + "}";
    g_assert_cmpstr (record.texts[2 + i].c_str (), ==, expected.c_str ());
  }
  g_assert_cmpint (events.failed_count (), ==, 0);
}

/* ---- bad input ---------------------------------------------------------- */

void
test_malformed_url (gconstpointer data)
{
  Events events;
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options;
  options.url = static_cast<const char *> (data);
  options.model = "m";
  options.connect_timeout_ms = 5000;
  socket.start (options);
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  g_assert_cmpint (events.opened, ==, 0);
  assert_equal (events.failure (),
      "the url is not a valid ws:// or wss:// address");
}

// New contract (the libsoup implementation fails it): a frame that breaks
// RFC 6455 fails the socket once, after a Close with @code.
void
check_protocol_error (const std::function<void (Peer &)> &bad_frame, int code)
{
  Events events;
  ScriptedWebSocketServer server ([&] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.send_text ("{\"good\":1}");
        bad_frame (peer);
        peer.serve ();
      });
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  assert_prefix (events.failure (), "WebSocket protocol error:");
  g_assert_cmpuint (events.texts.size (), ==, 1);
  g_assert_cmpint (server.record ().close_code, ==, code);
}

void
test_masked_server_frame ()
{
  check_protocol_error ([] (Peer &peer) {
        std::vector<uint8_t> frame;
        ws::append_client_frame (frame, ws::Opcode::Text, ws::as_bytes ("{\"masked\":1}"),
            { 0x11, 0x22, 0x33, 0x44 });
        peer.write (std::string_view (reinterpret_cast<const char *> (frame.data ()),
            frame.size ()));
      }, ws::close_code::kProtocolError);
}

void
test_invalid_utf8 ()
{
  check_protocol_error ([] (Peer &peer) {
        peer.send_text (std::string ("{\"bad\":\"\xc3\x28\xff\"}"));
      }, ws::close_code::kInvalidPayload);
}

/* ---- TLS (new contract: Options::tls_ca_file) --------------------------- */

// A self-signed certificate for IP 127.0.0.1, made by openssl in a
// temporary directory that goes with it.
struct TestCertificate {
  std::string dir;
  std::string cert_file;
  std::string key_file;
  GTlsCertificate *certificate = nullptr;

  TestCertificate ()
  {
    g_autoptr (GError) error = nullptr;
    g_autofree gchar *made = g_dir_make_tmp ("realtime-socket-tls-XXXXXX", &error);
    g_assert_no_error (error);
    dir = made;
    cert_file = dir + "/cert.pem";
    key_file = dir + "/key.pem";
    const gchar *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
      "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key_file.c_str (), "-out",
      cert_file.c_str (), nullptr };
    gint status = 0;
    g_autofree gchar *err = nullptr;
    if (!g_spawn_sync (nullptr, const_cast<gchar **> (argv), nullptr, G_SPAWN_SEARCH_PATH,
            nullptr, nullptr, nullptr, &err, &status, &error))
      g_error ("openssl: %s (scripts/install-deps installs it)", error->message);
    if (!g_spawn_check_wait_status (status, &error))
      g_error ("openssl req failed: %s", err);
    certificate = g_tls_certificate_new_from_files (cert_file.c_str (), key_file.c_str (),
        &error);
    g_assert_no_error (error);
  }

  ~TestCertificate ()
  {
    g_clear_object (&certificate);
    g_unlink (cert_file.c_str ());
    g_unlink (key_file.c_str ());
    g_rmdir (dir.c_str ());
  }
};

// New contract: wss:// to a server whose CA is in tls_ca_file opens.
void
test_tls_trusted_ca ()
{
  TestCertificate certificate;
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.send_text ("{\"over\":\"tls\"}");
        peer.serve ();
      }, certificate.certificate);
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.tls_ca_file = certificate.cert_file;
  socket.start (options);
  g_assert_true (events.wait_until ([&] {
        return !events.texts.empty () || !events.failures.empty (); }));
  assert_equal (events.failure (), "");
  g_assert_cmpint (events.opened, ==, 1);
  g_assert_cmpstr (events.texts[0].c_str (), ==, "{\"over\":\"tls\"}");
  socket.send ("{\"back\":\"tls\"}");
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
        return !r.texts.empty (); }));
  assert_equal (server.record ().texts[0], "{\"back\":\"tls\"}");
  assert_equal (server.record ().header ("Authorization").value_or ("(none)"),
      "Bearer sk-test-key");
  events.stop (socket);
}

// The same server, its certificate not trusted: no connection.
void
test_tls_untrusted ()
{
  TestCertificate certificate;
  Events events;
  ScriptedWebSocketServer server (open_and_serve, certificate.certificate);
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return !events.failures.empty (); }));
  events.stop (socket);
  g_assert_cmpint (events.failed_count (), ==, 1);
  g_assert_cmpint (events.opened, ==, 0);
  assert_prefix (events.failure (), "cannot connect");
  g_assert_true (server.record ().request_line.empty ());
}

/* ---- the shared threads ------------------------------------------------- */

// Threads named @name in this process.
int
threads_named (const char *name)
{
  int n = 0;
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, nullptr);
  g_assert_nonnull (dir);
  while (const gchar *tid = g_dir_read_name (dir)) {
    g_autofree gchar *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
    g_autofree gchar *comm = nullptr;
    if (g_file_get_contents (path, &comm, nullptr, nullptr)
        && g_strcmp0 (g_strstrip (comm), name) == 0)
      n++;
  }
  return n;
}

// Three sockets at once: handlers on the named threads; once all three are
// closed, no such thread is left.
void
test_threads_shared_and_ended ()
{
  constexpr int kSockets = 3;
  Events events[kSockets];
  std::vector<std::unique_ptr<ScriptedWebSocketServer>> servers;
  std::vector<std::unique_ptr<RealtimeSocket>> sockets;
  for (int i = 0; i < kSockets; i++) {
    servers.push_back (std::make_unique<ScriptedWebSocketServer> ([] (Peer &peer) {
          peer.read_request ();
          peer.answer_upgrade ();
          peer.send_text ("{\"hello\":1}");
          peer.serve ();
        }));
    sockets.push_back (std::make_unique<RealtimeSocket> (events[i].handlers ()));
    sockets[i]->start (options_for (*servers[i]));
  }
  for (int i = 0; i < kSockets; i++)
    g_assert_true (events[i].wait_until ([&] { return !events[i].texts.empty (); }));
  g_assert_cmpint (threads_named (RealtimeSocket::kThreadName), >=, 1);
  g_assert_cmpint (threads_named (RealtimeSocket::kThreadName), <=, static_cast<int> (RealtimeSocket::kMaxLoops));
  for (int i = 0; i < kSockets; i++) {
    events[i].stop (*sockets[i]);
    std::lock_guard guard (events[i].lock);
    g_assert_cmpuint (events[i].thread_names.size (), ==, 2);
    for (const std::string &name : events[i].thread_names)
      g_assert_cmpstr (name.c_str (), ==, RealtimeSocket::kThreadName);
  }
  for (int i = 0; i < kSockets; i++) {
    g_assert_true (servers[i]->wait_until ([] (const WebSocketRecord &r) {
          return r.close_code == 1000 && r.ended; }));
  }
  sockets.clear ();
  g_assert_true (poll_until ([] { return threads_named (RealtimeSocket::kThreadName) == 0; }));
}


/* ---- stress: each run many times under ASan and TSan -------------------- */


// Every socket closed: no loop thread and no opening thread is left behind.
void
assert_no_socket_threads ()
{
  if (!poll_until ([] {
        return threads_named (RealtimeSocket::kThreadName) == 0
            && threads_named (RealtimeSocket::kConnectThreadName) == 0; }))
    g_error ("left behind: %d %s, %d %s threads", threads_named (RealtimeSocket::kThreadName),
        RealtimeSocket::kThreadName, threads_named (RealtimeSocket::kConnectThreadName),
        RealtimeSocket::kConnectThreadName);
}

// A socket is used once: start() after stop() starts no thread and
// connects to nothing, and no handler runs.
void
test_start_after_stop_does_nothing ()
{
  Events events;
  ScriptedWebSocketServer server (open_and_serve);
  RealtimeSocket socket (events.handlers ());
  socket.start (options_for (server));
  g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
  events.stop (socket);
  g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
  g_assert_true (poll_until ([] {
        return threads_named (RealtimeSocket::kThreadName) == 0; }));
  socket.start (options_for (server));
  // A start would have made its loop thread before returning.
  g_assert_cmpuint (threads_named (RealtimeSocket::kThreadName), ==, 0);
  g_assert_cmpuint (threads_named (RealtimeSocket::kConnectThreadName), ==, 0);
  socket.send ("{\"after\":\"stop\"}");
  g_assert_cmpuint (socket.queued_before_open (), ==, 0);
  g_assert_true (events.wait_until ([&] {
        return events.opened == 1 && events.failures.empty (); }));
}

void
open_and_echo (Peer &peer)
{
  peer.read_request ();
  peer.answer_upgrade ();
  peer.serve_echo ();
}

// 64 sockets open at once, each sends 20 texts (some before it opened) and
// gets each back in order, then all close with 1000 and the threads end.
void
test_stress_many_sockets ()
{
  constexpr int kSockets = 64;
  constexpr int kTexts = 20;
  std::vector<std::unique_ptr<Events>> events;
  std::vector<std::unique_ptr<ScriptedWebSocketServer>> servers;
  std::vector<std::unique_ptr<RealtimeSocket>> sockets;
  for (int i = 0; i < kSockets; i++) {
    events.push_back (std::make_unique<Events> ());
    servers.push_back (std::make_unique<ScriptedWebSocketServer> (open_and_echo));
    sockets.push_back (std::make_unique<RealtimeSocket> (events[i]->handlers ()));
  }
  for (int i = 0; i < kSockets; i++) {
    sockets[i]->start (options_for (*servers[i]));
    for (int n = 0; n < kTexts / 2; n++)
      sockets[i]->send ("{\"socket\":" + std::to_string (i) + ",\"n\":" + std::to_string (n)
          + "}");
  }
  for (int i = 0; i < kSockets; i++)
    g_assert_true (events[i]->wait_until ([&] { return events[i]->opened == 1; }));
  for (int i = 0; i < kSockets; i++)
    for (int n = kTexts / 2; n < kTexts; n++)
      sockets[i]->send ("{\"socket\":" + std::to_string (i) + ",\"n\":" + std::to_string (n)
          + "}");
  for (int i = 0; i < kSockets; i++) {
    g_assert_true (events[i]->wait_until ([&] {
          return events[i]->texts.size () >= kTexts || !events[i]->failures.empty (); }));
    std::lock_guard guard (events[i]->lock);
    assert_equal (events[i]->failures.empty () ? "" : events[i]->failures[0], "");
    g_assert_cmpuint (events[i]->texts.size (), ==, kTexts);
    for (int n = 0; n < kTexts; n++) {
      const std::string expected = "{\"socket\":" + std::to_string (i) + ",\"n\":"
          + std::to_string (n) + "}";
      assert_equal (events[i]->texts[n], expected.c_str ());
    }
  }
  g_assert_cmpint (threads_named (RealtimeSocket::kThreadName), <=,
      static_cast<int> (RealtimeSocket::kMaxLoops));
  for (int i = 0; i < kSockets; i++)
    events[i]->stop (*sockets[i]);
  for (int i = 0; i < kSockets; i++) {
    g_assert_true (servers[i]->wait_until ([] (const WebSocketRecord &r) {
          return r.close_code >= 0 && r.ended; }));
    g_assert_cmpint (servers[i]->record ().close_code, ==, 1000);
    g_assert_cmpuint (servers[i]->record ().texts.size (), ==, kTexts);
    std::lock_guard guard (events[i]->lock);
    g_assert_cmpint (events[i]->after_stop, ==, 0);
  }
  sockets.clear ();
  assert_no_socket_threads ();
}

// Four threads send at once, from before the open (queued) to after it
// (written directly, partly left for the loop thread: the server reads
// through a 4 KiB buffer, 512 bytes a read): the server gets every text of
// each thread, in that thread's order, and echoes them.
void
test_stress_send_from_threads ()
{
  constexpr int kThreads = 4;
  constexpr int kTexts = 300;
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.set_read_size (512);
        peer.serve_echo ();
      }, nullptr, 4096);
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.opening = { "{\"opening\":1}" };
  const std::string padding (1500, 'p');
  std::atomic<int> ready { 0 };
  std::atomic<bool> go { false };
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; t++) {
    senders.emplace_back ([&, t] {
      ready++;
      while (!go.load ())
        std::this_thread::yield ();
      // Paced, so that the sends span the open: some queued, some direct.
      for (int n = 0; n < kTexts; n++) {
        socket.send ("{\"t\":" + std::to_string (t) + ",\"n\":" + std::to_string (n)
            + ",\"pad\":\"" + padding + "\"}");
        g_usleep (g_random_int_range (0, 200));
      }
    });
  }
  g_assert_true (poll_until ([&] { return ready.load () == kThreads; }));
  socket.start (options);
  go = true;
  for (std::thread &sender : senders)
    sender.join ();
  const size_t total = kThreads * kTexts + 1;
  g_assert_true (server.wait_until ([&] (const WebSocketRecord &r) {
        return r.texts.size () >= total || r.ended; }, 60000));
  g_assert_true (events.wait_until ([&] {
        return events.texts.size () >= total || !events.failures.empty (); }, 60000));
  g_test_message ("queued before open: %" G_GUINT64_FORMAT " of %d",
      socket.queued_before_open (), kThreads * kTexts);
  g_assert_cmpuint (socket.frames_sent (), ==, total);
  events.stop (socket);
  const WebSocketRecord record = server.record ();
  g_assert_cmpuint (record.texts.size (), ==, total);
  assert_equal (record.texts[0], "{\"opening\":1}");
  int next[kThreads] = {};
  for (size_t i = 1; i < record.texts.size (); i++) {
    int t = -1, n = -1;
    if (sscanf (record.texts[i].c_str (), "{\"t\":%d,\"n\":%d", &t, &n) != 2 || t < 0
        || t >= kThreads)
      g_error ("unexpected text %zu: %.40s", i, record.texts[i].c_str ());
    if (n != next[t])
      g_error ("thread %d: text %d came where %d was due", t, n, next[t]);
    next[t]++;
  }
  std::lock_guard guard (events.lock);
  g_assert_cmpuint (events.failures.size (), ==, 0);
  g_assert_cmpuint (events.texts.size (), ==, total);
}

// stop() at many points of the opening: at once, while the request waits,
// right after the 101, from the opened handler, after a random pause. No
// handler runs after stop(), nothing fails, the server sees its end of the
// connection, and no thread is left.
void
test_stress_stop_racing_open ()
{
  constexpr int kRounds = 60;
  for (int round = 0; round < kRounds; round++) {
    const int how = round % 5;
    Events events;
    ScriptedWebSocketServer server ([] (Peer &peer) {
          peer.read_request ();
          peer.answer_upgrade ();
          peer.send_text ("{\"hello\":1}");
          peer.serve ();
        });
    auto socket = std::make_unique<RealtimeSocket> (events.handlers ());
    std::atomic<bool> stopped_in_handler { false };
    RealtimeSocket::Handlers handlers = events.handlers ();
    if (how == 3) {
      handlers.opened = [&] {
        events.record ([&] { events.opened++; });
        socket->stop ();
        std::lock_guard guard (events.lock);
        events.stopped = true;
        stopped_in_handler = true;
      };
      socket = std::make_unique<RealtimeSocket> (handlers);
    }
    socket->start (options_for (server));
    switch (how) {
      case 0:
        break;
      case 1:
        server.wait_until ([] (const WebSocketRecord &r) { return !r.request_line.empty (); });
        break;
      case 2:
        server.wait_until ([] (const WebSocketRecord &r) { return !r.request_line.empty (); });
        g_usleep (g_random_int_range (0, 2000));
        break;
      case 3:
        g_assert_true (poll_until ([&] { return stopped_in_handler.load (); }));
        break;
      case 4:
        g_usleep (g_random_int_range (0, 5000));
        break;
    }
    if (how != 3)
      events.stop (*socket);
    socket.reset ();
    assert_no_socket_threads ();
    const WebSocketRecord record = server.record ();
    if (record.accepted)
      g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
    // A Close, if any, is a normal one.
    g_assert_true (record.close_code == -1 || record.close_code == 1000);
    std::lock_guard guard (events.lock);
    g_assert_cmpint (events.after_stop, ==, 0);
    g_assert_cmpuint (events.failures.size (), ==, 0);
  }
}

// A connect timeout so short that the opening thread often finishes as the
// loop gives it up: each round ends either opened or failed with the
// timeout, never both, once at most each.
void
test_stress_timeout_racing_open ()
{
  constexpr int kRounds = 60;
  int opened = 0, timed_out = 0;
  for (int round = 0; round < kRounds; round++) {
    Events events;
    ScriptedWebSocketServer server (open_and_serve);
    RealtimeSocket socket (events.handlers ());
    RealtimeSocket::Options options = options_for (server);
    options.connect_timeout_ms = 1 + round % 8;
    socket.start (options);
    g_assert_true (events.wait_until ([&] {
          return events.opened > 0 || !events.failures.empty (); }));
    // Whatever came second would come soon.
    g_usleep (20000);
    events.stop (socket);
    std::lock_guard guard (events.lock);
    g_assert_cmpint (events.opened + static_cast<int> (events.failures.size ()), ==, 1);
    if (!events.failures.empty ())
      assert_prefix (events.failures[0], "connect timeout after");
    opened += events.opened;
    timed_out += static_cast<int> (events.failures.size ());
  }
  g_test_message ("%d opened, %d timed out", opened, timed_out);
  assert_no_socket_threads ();
}

// The server closes (a Close, or only TCP) while a thread keeps sending:
// one failure, the texts it got are a prefix of those sent, in order.
void
test_stress_server_closes_while_sending (gconstpointer data)
{
  const bool with_close = GPOINTER_TO_INT (data) != 0;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; round++) {
    Events events;
    ScriptedWebSocketServer server ([with_close, round] (Peer &peer) {
          peer.read_request ();
          peer.answer_upgrade ();
          for (int i = 0; i < 10 + round; i++)
            peer.read_message ();
          if (with_close) {
            peer.send_close (1001, "going away");
            peer.serve ();
          } else {
            peer.drop ();
          }
        });
    RealtimeSocket socket (events.handlers ());
    socket.start (options_for (server));
    std::atomic<bool> done { false };
    std::thread sender ([&] {
      for (int n = 0; n < 100000 && !done.load (); n++)
        socket.send ("{\"n\":" + std::to_string (n) + "}");
    });
    const bool failed = events.wait_until ([&] { return !events.failures.empty (); });
    done = true;
    sender.join ();
    g_assert_true (failed);
    const guint64 sent = socket.frames_sent ();
    // Dropped after the failure.
    socket.send ("{\"late\":1}");
    g_assert_cmpuint (socket.frames_sent (), ==, sent);
    // drop() ends the script without reading to the end.
    g_assert_true (server.wait_until ([] (const WebSocketRecord &r) {
          return r.ended || r.script_done; }));
    events.stop (socket);
    const WebSocketRecord record = server.record ();
    for (size_t i = 0; i < record.texts.size (); i++) {
      const std::string expected = "{\"n\":" + std::to_string (i) + "}";
      assert_equal (record.texts[i], expected.c_str ());
    }
    g_assert_cmpuint (record.texts.size (), <=, sent);
    std::lock_guard guard (events.lock);
    g_assert_cmpuint (events.failures.size (), ==, 1);
    if (with_close) {
      assert_equal (events.failures[0], "socket closed mid-call (code 1001): going away");
      // Answered with the same code.
      g_assert_cmpint (record.close_code, ==, 1001);
    } else {
      assert_prefix (events.failures[0], "socket closed mid-call");
    }
  }
  assert_no_socket_threads ();
}

// The server's Close and the client's own cross: no failure after stop(),
// each side saw the other's Close 1000 or its end, no thread is left.
void
test_stress_close_crossing ()
{
  constexpr int kRounds = 60;
  for (int round = 0; round < kRounds; round++) {
    Events events;
    ScriptedWebSocketServer server ([] (Peer &peer) {
          peer.read_request ();
          peer.answer_upgrade ();
          if (!peer.wait_gate ())
            return;
          peer.send_close (1000, "done");
          peer.serve ();
        });
    RealtimeSocket socket (events.handlers ());
    socket.start (options_for (server));
    g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
    server.open_gate ();
    if (round % 2 == 1)
      g_usleep (g_random_int_range (0, 300));
    events.stop (socket);
    g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
    assert_no_socket_threads ();
    const WebSocketRecord record = server.record ();
    g_assert_cmpint (record.close_code, ==, 1000);
    g_assert_cmpstr (record.decode_error.c_str (), ==, "");
    std::lock_guard guard (events.lock);
    g_assert_cmpint (events.after_stop, ==, 0);
    g_assert_cmpuint (events.failures.size (), <=, 1);
    if (!events.failures.empty ())
      assert_equal (events.failures[0], "socket closed mid-call (code 1000): done");
  }
}

// wss://: 3000 texts, each its own write (its own TLS record), then nothing
// until the client answers: every one reaches the handler without the
// socket becoming readable again (nothing left in the TLS layer unread).
void
test_stress_tls_many_records ()
{
  constexpr int kTexts = 3000;
  TestCertificate certificate;
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        for (int n = 0; n < kTexts; n++)
          if (!peer.send_text ("{\"n\":" + std::to_string (n) + "}"))
            return;
        peer.serve ();
      }, certificate.certificate);
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.tls_ca_file = certificate.cert_file;
  socket.start (options);
  g_assert_true (events.wait_until ([&] {
        return events.texts.size () >= kTexts || !events.failures.empty (); }, 30000));
  events.stop (socket);
  std::lock_guard guard (events.lock);
  g_assert_cmpuint (events.failures.size (), ==, 0);
  g_assert_cmpuint (events.texts.size (), ==, kTexts);
  for (int n = 0; n < kTexts; n++) {
    const std::string expected = "{\"n\":" + std::to_string (n) + "}";
    assert_equal (events.texts[n], expected.c_str ());
  }
}

// wss://, a server that stops reading with the client's writes pending:
// stop() still ends the connection within the close grace, the shared
// thread is not held in a blocking TLS close, and no thread is left while
// the server still holds its end open.
void
test_tls_stop_server_not_reading ()
{
  TestCertificate certificate;
  Events events;
  ScriptedWebSocketServer server ([] (Peer &peer) {
        peer.read_request ();
        peer.answer_upgrade ();
        peer.wait_gate ();
      }, certificate.certificate, 4096);
  RealtimeSocket socket (events.handlers ());
  RealtimeSocket::Options options = options_for (server);
  options.tls_ca_file = certificate.cert_file;
  socket.start (options);
  g_assert_true (events.wait_until ([&] {
        return events.opened == 1 || !events.failures.empty (); }));
  g_assert_cmpint (events.opened, ==, 1);
  const std::string chunk (64 * 1024, 'x');
  for (int i = 0; i < 256; i++)
    socket.send ("{\"audio\":\"" + chunk + "\"}");
  events.stop (socket);
  assert_no_socket_threads ();
  g_assert_false (server.record ().ended);
  server.open_gate ();
  std::lock_guard guard (events.lock);
  g_assert_cmpint (events.after_stop, ==, 0);
  g_assert_cmpuint (events.failures.size (), ==, 0);
}


// send() from one thread while another stop()s: send() is thread-safe, so it
// may race stop(); nothing reaches the server after its Close.
void
test_stress_send_racing_stop ()
{
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; round++) {
    Events events;
    ScriptedWebSocketServer server (open_and_serve);
    RealtimeSocket socket (events.handlers ());
    socket.start (options_for (server));
    g_assert_true (events.wait_until ([&] { return events.opened == 1; }));
    std::atomic<bool> done { false };
    std::thread sender ([&] {
      for (int n = 0; !done.load (); n++)
        socket.send ("{\"n\":" + std::to_string (n) + "}");
    });
    g_usleep (g_random_int_range (0, 2000));
    events.stop (socket);
    done = true;
    sender.join ();
    g_assert_true (server.wait_until ([] (const WebSocketRecord &r) { return r.ended; }));
    const WebSocketRecord record = server.record ();
    g_assert_cmpint (record.close_code, ==, 1000);
    g_assert_cmpstr (record.decode_error.c_str (), ==, "");
    std::lock_guard guard (events.lock);
    g_assert_cmpuint (events.failures.size (), ==, 0);
  }
  assert_no_socket_threads ();
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/realtime-socket/opens-opening-then-queued-in-order", test_opens);
  g_test_add_func ("/realtime-socket/request/bearer-key-and-escaped-model",
      test_request_bearer_and_model);
  g_test_add_func ("/realtime-socket/request/no-key-no-header-and-model-after-query",
      test_request_no_key_and_query);
  g_test_add_func ("/realtime-socket/text/unfragmented", test_text_unfragmented);
  g_test_add_func ("/realtime-socket/text/fragmented-with-ping-between",
      test_text_fragmented_with_ping);
  g_test_add_func ("/realtime-socket/text/two-megabytes", test_text_two_megabytes);
  g_test_add_func ("/realtime-socket/text/in-same-write-as-101", test_text_in_101_write);
  g_test_add_func ("/realtime-socket/ping-answered-binary-ignored", test_ping_and_binary);
  g_test_add_func ("/realtime-socket/server-close-fails-once-and-is-answered",
      test_server_close);
  g_test_add_func ("/realtime-socket/server-drops-tcp-fails-once", test_server_drops_tcp);
  g_test_add_func ("/realtime-socket/handshake-refused-401", test_refused_401);
  g_test_add_func ("/realtime-socket/handshake-wrong-accept-never-opens", test_wrong_accept);
  g_test_add_func ("/realtime-socket/nothing-listening-cannot-connect",
      test_nothing_listening);
  g_test_add_func ("/realtime-socket/never-answered-connect-timeout", test_connect_timeout);
  g_test_add_func ("/realtime-socket/stop/while-connecting-no-handler-after",
      test_stop_while_connecting);
  g_test_add_func ("/realtime-socket/stop/when-open-close-1000-no-failure",
      test_stop_when_open);
  g_test_add_func ("/realtime-socket/stop/from-text-handler-returns",
      test_stop_from_text_handler);
  g_test_add_func ("/realtime-socket/send/after-failed-dropped",
      test_send_after_failed_dropped);
  g_test_add_func ("/realtime-socket/send/before-start-ignored",
      test_send_before_start_ignored);
  g_test_add_func ("/realtime-socket/start-after-stop-does-nothing",
      test_start_after_stop_does_nothing);
  g_test_add_func ("/realtime-socket/send/one-megabyte-to-slow-reader-in-order",
      test_large_send_slow_reader);
  g_test_add_data_func ("/realtime-socket/malformed-url/http-scheme",
      "http://127.0.0.1:1/v1/realtime",
      test_malformed_url);
  g_test_add_data_func ("/realtime-socket/malformed-url/not-a-url", "not a url",
      test_malformed_url);
  // New contract: the libsoup implementation fails these.
  g_test_add_func ("/realtime-socket/protocol-error/masked-server-frame-close-1002",
      test_masked_server_frame);
  g_test_add_func ("/realtime-socket/protocol-error/invalid-utf8-close-1007",
      test_invalid_utf8);
  g_test_add_func ("/realtime-socket/tls/trusted-ca-file-opens", test_tls_trusted_ca);
  g_test_add_func ("/realtime-socket/tls/untrusted-cannot-connect", test_tls_untrusted);
  g_test_add_func ("/realtime-socket/threads/shared-named-and-ended",
      test_threads_shared_and_ended);
  g_test_add_func ("/realtime-socket/tls/stop-with-server-not-reading-leaves-no-thread",
      test_tls_stop_server_not_reading);
  g_test_add_func ("/realtime-socket/stress/64-sockets-open-echo-close",
      test_stress_many_sockets);
  g_test_add_func ("/realtime-socket/stress/send-from-4-threads-each-in-order",
      test_stress_send_from_threads);
  g_test_add_func ("/realtime-socket/stress/stop-racing-open", test_stress_stop_racing_open);
  g_test_add_func ("/realtime-socket/stress/timeout-racing-open-one-outcome",
      test_stress_timeout_racing_open);
  g_test_add_data_func ("/realtime-socket/stress/server-close-frame-while-sending",
      GINT_TO_POINTER (1), test_stress_server_closes_while_sending);
  g_test_add_data_func ("/realtime-socket/stress/server-drops-tcp-while-sending",
      GINT_TO_POINTER (0), test_stress_server_closes_while_sending);
  g_test_add_func ("/realtime-socket/stress/close-crossing", test_stress_close_crossing);
  g_test_add_func ("/realtime-socket/stress/send-racing-stop", test_stress_send_racing_stop);
  g_test_add_func ("/realtime-socket/stress/tls-many-records-all-read",
      test_stress_tls_many_records);
  return g_test_run ();
}
