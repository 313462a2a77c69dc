// The media path: libsoup answers the upgrade on a real server (port 0 on
// 127.0.0.1), the connection is stolen into the epoll Reactor, and real
// clients (libsoup's, or raw sockets for exact bytes) talk to it.
#include <glib.h>
#include <libsoup/soup.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>

#include "reactor.h"
#include "websocket_upgrade.h"
#include "ws_client.h"

using callstreamd::Reactor;
using namespace ws_test;

// Every operator new on the reactor thread (learnt from a Peer callback), to
// show the message path does not allocate.
static std::atomic<guint64> reactor_allocations { 0 };
static std::atomic<std::thread::id> reactor_thread;

void *
operator new (std::size_t size)
{
  if (std::this_thread::get_id () == reactor_thread.load (std::memory_order_relaxed))
    reactor_allocations.fetch_add (1, std::memory_order_relaxed);
  if (void *block = std::malloc (size == 0 ? 1 : size))
    return block;
  throw std::bad_alloc ();
}

// GCC takes free() inside a replaced operator delete for a mismatch; here the
// block did come from the malloc() in operator new above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void
operator delete (void *block) noexcept
{
  std::free (block);
}
#pragma GCC diagnostic pop

void
operator delete (void *block, std::size_t) noexcept
{
  ::operator delete (block);
}

namespace {

// A Peer that records what the reactor tells it; optionally echoes each
// message back, and records payloads only when asked (the allocation test).
class RecordingPeer : public Reactor::Peer {
 public:
  RecordingPeer (Reactor *reactor, bool echo, bool record)
    : reactor_ (reactor), echo_ (echo), record_ (record)
  {
  }

  void on_message (bool is_text, const uint8_t *data, size_t size) override
  {
    reactor_thread.store (std::this_thread::get_id (), std::memory_order_relaxed);
    if (record_) {
      std::lock_guard lock (mutex_);
      messages_.emplace_back (is_text, std::string (reinterpret_cast<const char *> (data), size));
    }
    count_.fetch_add (1);  // before the echo, which a client may see at once
    if (echo_) {
      if (is_text)
        reactor_->send_text (connection_id (),
            { reinterpret_cast<const char *> (data), size });
      else
        reactor_->send_binary (connection_id (), { data, size });
    }
  }

  void on_closed (uint16_t code, const std::string &reason) override
  {
    std::lock_guard lock (mutex_);
    close_code_ = code;
    close_reason_ = reason;
    closed_.store (true);
  }

  guint count () const { return count_.load (); }
  bool closed () const { return closed_.load (); }
  uint16_t close_code () const
  {
    std::lock_guard lock (mutex_);
    return close_code_;
  }
  // Written once, before closed() turns true.
  const std::string &close_reason () const { return close_reason_; }
  std::vector<std::pair<bool, std::string>> messages () const
  {
    std::lock_guard lock (mutex_);
    return messages_;
  }

 private:
  Reactor *reactor_;
  const bool echo_, record_;
  std::atomic<guint> count_ { 0 };
  std::atomic<bool> closed_ { false };
  mutable std::mutex mutex_;
  std::vector<std::pair<bool, std::string>> messages_;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

// A server with the upgrade handler on /media feeding one Reactor.
struct Fixture {
  explicit Fixture (Reactor::Limits limits = {}) : reactor (limits)
  {
    server = soup_server_new ("server-header", "callstreamd-test", nullptr);
    soup_server_add_handler (server, "/media", handle_media, this, nullptr);
    // GLib's default listen backlog (10) drops SYNs when 200 clients connect at once.
    g_autoptr (GError) error = nullptr;
    g_autoptr (GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error (error);
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
    g_assert_true (g_socket_bind (listener, any_port, TRUE, &error));
    g_socket_set_listen_backlog (listener, 1024);
    g_assert_true (g_socket_listen (listener, &error));
    g_assert_true (soup_server_listen_socket (server, listener, SoupServerListenOptions (0),
        &error));
    g_autoptr (GSocketAddress) bound = g_socket_get_local_address (listener, &error);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    session = soup_session_new_with_options ("max-conns", 1000, "max-conns-per-host", 1000,
        nullptr);
  }

  ~Fixture ()
  {
    stop_reactor ();
    g_object_unref (session);
    soup_server_disconnect (server);
    g_object_unref (server);
  }

  // stop() blocks until every peer closed; libsoup clients answer the Close
  // only while the main context runs, so it runs meanwhile.
  void stop_reactor ()
  {
    std::atomic<bool> stopped { false };
    std::thread stopper ([this, &stopped] {
      reactor.stop ();
      stopped.store (true);
    });
    spin_until ([&stopped] { return stopped.load (); });
    stopper.join ();
  }

  static void handle_media (SoupServer *, SoupServerMessage *msg, const char *, GHashTable *,
      gpointer data)
  {
    auto *self = static_cast<Fixture *> (data);
    callstreamd::accept_websocket_upgrade (msg,
        [self] (GIOStream *stream, GSocket *socket, GSocketAddress *remote) {
          g_assert_true (G_IS_INET_SOCKET_ADDRESS (remote));
          auto peer = std::make_shared<RecordingPeer> (&self->reactor, self->echo, self->record);
          self->reactor.adopt (stream, socket, peer);
          std::lock_guard lock (self->mutex);
          self->peers.push_back (peer);
        });
  }

  std::string url () const { return "ws://127.0.0.1:" + std::to_string (port) + "/media"; }

  size_t adopted () const
  {
    std::lock_guard lock (mutex);
    return peers.size ();
  }

  std::shared_ptr<RecordingPeer> peer (size_t index) const
  {
    std::lock_guard lock (mutex);
    return peers.at (index);
  }

  // A raw client that has done the handshake (checked) and been adopted.
  std::unique_ptr<RawClient> raw_connect (const std::string &first_bytes = {},
      int receive_buffer = 0)
  {
    const size_t before = adopted ();
    auto client = std::make_unique<RawClient> (port, receive_buffer);
    client->send (upgrade_request ("/media", port) + first_bytes);
    spin_until ([this, before] { return adopted () > before; });
    if (receive_buffer == 0) {
      const std::string head = client->read_response_head ();
      g_assert_true (g_str_has_prefix (head.c_str (), "HTTP/1.1 101"));
      g_assert_nonnull (strstr (head.c_str (), kAccept));
    }
    return client;
  }

  Reactor reactor;
  SoupServer *server = nullptr;
  SoupSession *session = nullptr;
  guint port = 0;
  bool echo = true;
  bool record = true;
  mutable std::mutex mutex;
  std::vector<std::shared_ptr<RecordingPeer>> peers;
};

Reactor::Limits
limits_with (size_t max_message, guint idle_ms, size_t max_queue)
{
  Reactor::Limits limits;
  limits.max_message_bytes = max_message;
  limits.idle_timeout_ms = idle_ms;
  limits.max_send_queue_bytes = max_queue;
  return limits;
}

}  // namespace

static void
test_echo_text_and_binary ()
{
  Fixture fixture;
  SoupClient client;
  connect (fixture.session, fixture.url (), &client);
  client.send_text ("hello");
  const uint8_t binary[] = { 0x00, 0xff, 0x80, 0x7f };
  soup_websocket_connection_send_binary (client.conn, binary, sizeof binary);
  spin_until ([&client] { return client.messages.size () == 2; });

  g_assert_true (client.messages[0].first);
  g_assert_cmpstr (client.messages[0].second.c_str (), ==, "hello");
  g_assert_false (client.messages[1].first);
  g_assert_cmpmem (client.messages[1].second.data (), client.messages[1].second.size (), binary,
      sizeof binary);
  const auto received = fixture.peer (0)->messages ();
  g_assert_cmpuint (received.size (), ==, 2);
  g_assert_cmpstr (received[0].second.c_str (), ==, "hello");
  const Reactor::Stats stats = fixture.reactor.stats ();
  g_assert_cmpuint (stats.messages_in, ==, 2);
  g_assert_cmpuint (stats.bytes_in, ==, 5 + sizeof binary);
  g_assert_cmpuint (stats.messages_out, ==, 2);
}

static void
test_many_messages_in_order ()
{
  Fixture fixture;
  SoupClient client;
  connect (fixture.session, fixture.url (), &client);
  constexpr guint kCount = 2000;
  for (guint i = 0; i < kCount; i++)
    client.send_text (("message " + std::to_string (i)).c_str ());
  spin_until ([&client] { return client.messages.size () == kCount; });
  const auto received = fixture.peer (0)->messages ();
  g_assert_cmpuint (received.size (), ==, kCount);
  for (guint i = 0; i < kCount; i++) {
    const std::string expected = "message " + std::to_string (i);
    g_assert_cmpstr (received[i].second.c_str (), ==, expected.c_str ());
    g_assert_cmpstr (client.messages[i].second.c_str (), ==, expected.c_str ());
  }
}

static void
test_fragmented_message_with_ping_between ()
{
  Fixture fixture;
  auto client = fixture.raw_connect ();
  // "héllo wörld" in three fragments, a Ping between the second and third,
  // and a multi-byte character split across fragments.
  const std::string text = "h\xc3\xa9llo w\xc3\xb6rld";
  client->send (client_frame (ws::Opcode::Text, text.substr (0, 2), false));
  client->send (client_frame (ws::Opcode::Continuation, text.substr (2, 6), false));
  client->send (client_frame (ws::Opcode::Ping, "are you there"));
  client->send (client_frame (ws::Opcode::Continuation, text.substr (8), true));

  const ServerFrame pong = client->read_frame ();
  g_assert_cmpuint (pong.opcode, ==, uint8_t (ws::Opcode::Pong));
  g_assert_cmpstr (pong.payload.c_str (), ==, "are you there");
  const ServerFrame echo = client->read_frame ();
  g_assert_cmpuint (echo.opcode, ==, uint8_t (ws::Opcode::Text));
  g_assert_true (echo.fin);
  g_assert_cmpstr (echo.payload.c_str (), ==, text.c_str ());
  const auto received = fixture.peer (0)->messages ();
  g_assert_cmpuint (received.size (), ==, 1);
  g_assert_cmpstr (received[0].second.c_str (), ==, text.c_str ());
}

static void
test_oversized_message_closes_with_1009_others_go_on ()
{
  Fixture fixture (limits_with (1024, 30000, 1 << 20));
  SoupClient big, small;
  connect (fixture.session, fixture.url (), &big);
  connect (fixture.session, fixture.url (), &small);
  const std::string too_big (2000, 'x');
  big.send_text (too_big.c_str ());
  spin_until ([&big] { return big.closed; });
  g_assert_cmpuint (big.close_code (), ==, 1009);
  auto big_peer = fixture.peer (0);
  spin_until ([&big_peer] { return big_peer->closed (); });
  g_assert_cmpuint (big_peer->close_code (), ==, 1009);
  g_assert_cmpuint (big_peer->count (), ==, 0);
  g_assert_cmpuint (fixture.reactor.stats ().protocol_errors, ==, 1);

  const std::string fits (1024, 'y');
  small.send_text (fits.c_str ());
  spin_until ([&small] { return small.messages.size () == 1; });
  g_assert_cmpstr (small.messages[0].second.c_str (), ==, fits.c_str ());
  g_assert_false (small.closed);
  g_assert_cmpuint (fixture.reactor.connections (), ==, 1);
}

static void
test_invalid_utf8_closes_with_1007 ()
{
  Fixture fixture;
  auto client = fixture.raw_connect ();
  client->send (client_frame (ws::Opcode::Text, "ok"));
  client->send (client_frame (ws::Opcode::Text, "bad \xc3\x28 text"));
  const ServerFrame echo = client->read_frame ();
  g_assert_cmpstr (echo.payload.c_str (), ==, "ok");
  const ServerFrame close = client->read_frame ();
  g_assert_cmpuint (close.opcode, ==, uint8_t (ws::Opcode::Close));
  g_assert_cmpuint (close.close_code (), ==, 1007);
  // After a protocol error the server hangs up first (its Close, then EOF).
  g_assert_true (client->reads_eof ());
  auto peer = fixture.peer (0);
  spin_until ([&peer] { return peer->closed (); });
  g_assert_cmpuint (peer->close_code (), ==, 1007);
  g_assert_cmpuint (peer->count (), ==, 1);
}

static void
test_client_close_is_answered ()
{
  Fixture fixture;
  SoupClient client;
  connect (fixture.session, fixture.url (), &client);
  soup_websocket_connection_close (client.conn, 1000, "bye");
  spin_until ([&client] { return client.closed; });
  // The client saw our Close echo its code.
  g_assert_cmpuint (client.close_code (), ==, 1000);
  auto peer = fixture.peer (0);
  spin_until ([&peer] { return peer->closed (); });
  g_assert_cmpuint (peer->close_code (), ==, 1000);
  g_assert_cmpstr (peer->close_reason ().c_str (), ==, "bye");
  spin_until ([&fixture] { return fixture.reactor.connections () == 0; });
  g_assert_false (fixture.reactor.send_text (peer->connection_id (), "late"));
}

static void
test_application_close_sends_its_code ()
{
  Fixture fixture;
  SoupClient client;
  connect (fixture.session, fixture.url (), &client);
  auto peer = fixture.peer (0);
  fixture.reactor.close (peer->connection_id (), 4000, "call ended");
  g_assert_false (fixture.reactor.send_text (peer->connection_id (), "after close"));
  spin_until ([&client] { return client.closed; });
  g_assert_cmpuint (client.close_code (), ==, 4000);
  g_assert_cmpstr (client.close_data (), ==, "call ended");
  spin_until ([&peer] { return peer->closed (); });
  g_assert_cmpuint (peer->close_code (), ==, 4000);
  g_assert_cmpstr (peer->close_reason ().c_str (), ==, "call ended");
  g_assert_true (client.messages.empty ());
}

static void
test_idle_connection_is_closed_with_1008 ()
{
  Fixture fixture (limits_with (1024, 500, 1 << 20));
  SoupClient idle, chatty;
  connect (fixture.session, fixture.url (), &idle);
  connect (fixture.session, fixture.url (), &chatty);
  // The chatty one sends within every idle period, the idle one never.
  guint sent = 0;
  gint64 next_send = 0;
  spin_until ([&] {
    if (g_get_monotonic_time () >= next_send) {
      chatty.send_text ("still here");
      sent++;
      next_send = g_get_monotonic_time () + 50 * 1000;
    }
    return idle.closed;
  });
  g_assert_cmpuint (idle.close_code (), ==, 1008);
  g_assert_cmpstr (idle.close_data (), ==, "idle timeout");
  auto peer = fixture.peer (0);
  spin_until ([&peer] { return peer->closed (); });
  g_assert_cmpuint (peer->close_code (), ==, 1008);
  g_assert_cmpstr (peer->close_reason ().c_str (), ==, "idle timeout");
  g_assert_cmpuint (fixture.reactor.stats ().idle_timeouts, ==, 1);
  g_assert_false (chatty.closed);
  g_assert_cmpuint (sent, >=, 1);
}

static void
test_client_not_reading_is_closed_with_1008 ()
{
  Fixture fixture (limits_with (1024, 30000, 64 * 1024));
  fixture.echo = false;
  fixture.record = false;
  SoupClient reader;
  connect (fixture.session, fixture.url (), &reader);
  // A client that does the handshake and then never reads a byte.
  auto stalled_client = fixture.raw_connect ({}, 4096);
  auto stalled = fixture.peer (1);

  const std::string chunk (16 * 1024, 'a');
  guint accepted = 0;
  while (accepted < 100000 && fixture.reactor.send_text (stalled->connection_id (), chunk))
    accepted++;
  g_assert_cmpuint (accepted, <, 100000);
  spin_until ([&stalled] { return stalled->closed (); });
  g_assert_cmpuint (stalled->close_code (), ==, 1008);
  g_assert_cmpstr (stalled->close_reason ().c_str (), ==, "client not reading");
  g_assert_cmpuint (fixture.reactor.stats ().overflows, ==, 1);

  // The other connection still gets its messages.
  g_assert_true (fixture.reactor.send_text (fixture.peer (0)->connection_id (), "for you"));
  spin_until ([&reader] { return reader.messages.size () == 1; });
  g_assert_cmpstr (reader.messages[0].second.c_str (), ==, "for you");
  g_assert_false (reader.closed);
}

static void
test_stop_closes_everyone_with_1001 ()
{
  Fixture fixture;
  constexpr int kClients = 5;
  SoupClient clients[kClients];
  for (SoupClient &client : clients)
    connect (fixture.session, fixture.url (), &client);
  spin_until ([&fixture] { return fixture.reactor.connections () == kClients; });

  fixture.stop_reactor ();
  g_assert_cmpuint (fixture.reactor.connections (), ==, 0);
  for (int i = 0; i < kClients; i++) {
    auto peer = fixture.peer (i);
    g_assert_true (peer->closed ());
    g_assert_cmpuint (peer->close_code (), ==, 1001);
    g_assert_cmpstr (peer->close_reason ().c_str (), ==, "going away");
  }
  spin_until ([&clients] {
    for (const SoupClient &client : clients)
      if (!client.closed)
        return false;
    return true;
  });
  for (const SoupClient &client : clients)
    g_assert_cmpuint (client.close_code (), ==, 1001);

  // Adopted after stop(): closed at once.
  auto late_client = fixture.raw_connect ();
  auto late = fixture.peer (kClients);
  spin_until ([&late] { return late->closed (); });
  g_assert_cmpuint (late->close_code (), ==, 1001);
  const ServerFrame close = late_client->read_frame ();
  g_assert_cmpuint (close.close_code (), ==, 1001);
  g_assert_true (late_client->reads_eof ());
}

static void
test_two_hundred_connections_exchange_messages ()
{
  Fixture fixture;
  constexpr int kClients = 200, kMessages = 5;
  std::vector<std::unique_ptr<SoupClient>> clients;
  for (int i = 0; i < kClients; i++) {
    clients.push_back (std::make_unique<SoupClient> ());
    start_connect (fixture.session, fixture.url (), clients.back ().get ());
  }
  spin_until ([&clients] {
    for (auto &client : clients)
      if (!client->finished)
        return false;
    return true;
  });
  for (int i = 0; i < kClients; i++) {
    g_assert_no_error (clients[i]->error);
    for (int m = 0; m < kMessages; m++)
      clients[i]->send_text (("client " + std::to_string (i) + " #" + std::to_string (m)).c_str ());
  }
  spin_until ([&clients] {
    for (auto &client : clients)
      if (client->messages.size () < kMessages)
        return false;
    return true;
  });
  for (int i = 0; i < kClients; i++) {
    g_assert_cmpuint (clients[i]->messages.size (), ==, kMessages);
    for (int m = 0; m < kMessages; m++) {
      const std::string expected = "client " + std::to_string (i) + " #" + std::to_string (m);
      g_assert_cmpstr (clients[i]->messages[m].second.c_str (), ==, expected.c_str ());
    }
  }
  g_assert_cmpuint (fixture.reactor.connections (), ==, kClients);
  g_assert_cmpuint (fixture.reactor.stats ().messages_in, ==, kClients * kMessages);
}

static void
test_steady_state_messages_do_not_allocate ()
{
  Fixture fixture;
  fixture.record = false;  // the recording peer's own strings would count
  auto client = fixture.raw_connect ();
  const auto frame = client_frame (ws::Opcode::Text, "a 20 ms media packet, base64");
  std::vector<uint8_t> burst;
  for (int i = 0; i < 500; i++)
    burst.insert (burst.end (), frame.begin (), frame.end ());
  auto peer = fixture.peer (0);

  client->send (burst);  // warm up: buffers reach their working size
  for (int i = 0; i < 500; i++)
    client->read_frame ();
  const guint64 before = reactor_allocations.load ();
  client->send (burst);
  for (int i = 0; i < 500; i++)
    client->read_frame ();
  const guint64 allocations = reactor_allocations.load () - before;
  g_assert_cmpuint (peer->count (), ==, 1000);
  // 500 messages in and 500 echoes out on the reactor thread: nothing per message.
  g_assert_cmpuint (allocations, <, 10);
}

// ---- The upgrade ----

static void
test_frames_sent_with_the_handshake_are_not_lost ()
{
  Fixture fixture;
  // The handshake and three frames in one write: libsoup reads some of the
  // frames into its own buffer along with the request.
  std::string first_bytes;
  for (const char *text : { "first", "second", "third" }) {
    const auto frame = client_frame (ws::Opcode::Text, text);
    first_bytes.append (frame.begin (), frame.end ());
  }
  auto client = fixture.raw_connect (first_bytes);
  for (const char *text : { "first", "second", "third" }) {
    const ServerFrame echo = client->read_frame ();
    g_assert_cmpstr (echo.payload.c_str (), ==, text);
  }
  const auto received = fixture.peer (0)->messages ();
  g_assert_cmpuint (received.size (), ==, 3);
  g_assert_cmpstr (received[2].second.c_str (), ==, "third");
}

static std::string
refused (Fixture &fixture, const std::string &request)
{
  RawClient client (fixture.port);
  client.send (request);
  std::string response = client.read_until_eof ();
  g_assert_cmpuint (fixture.adopted (), ==, 0);
  return response;
}

static void
test_plain_request_gets_426_with_reason ()
{
  Fixture fixture;
  const std::string response = refused (fixture,
      "GET /media HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  g_assert_true (g_str_has_prefix (response.c_str (),
      "HTTP/1.1 426 WebSocket upgrade required (Upgrade: websocket, Connection: Upgrade)\r\n"));
  g_assert_nonnull (strstr (response.c_str (), "\r\nUpgrade: websocket\r\n"));
}

static void
test_wrong_version_gets_426_naming_13 ()
{
  Fixture fixture;
  const std::string response = refused (fixture, upgrade_request ("/media", fixture.port, "8"));
  g_assert_true (g_str_has_prefix (response.c_str (),
      "HTTP/1.1 426 Unsupported Sec-WebSocket-Version, need 13\r\n"));
  g_assert_nonnull (strstr (response.c_str (), "\r\nSec-WebSocket-Version: 13\r\n"));
}

static void
test_bad_key_gets_400 ()
{
  Fixture fixture;
  std::string request = upgrade_request ("/media", fixture.port);
  request.replace (request.find (kKey), strlen (kKey), "not-a-key");
  const std::string response = refused (fixture, request);
  g_assert_true (g_str_has_prefix (response.c_str (), "HTTP/1.1 400 Invalid WebSocket key\r\n"));
}

static void
test_post_gets_405 ()
{
  Fixture fixture;
  const std::string response = refused (fixture,
      "POST /media HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
  g_assert_true (g_str_has_prefix (response.c_str (),
      "HTTP/1.1 405 WebSocket upgrade needs a GET request\r\n"));
  g_assert_nonnull (strstr (response.c_str (), "\r\nAllow: GET\r\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/reactor/echo-text-and-binary", test_echo_text_and_binary);
  g_test_add_func ("/reactor/many-messages-in-order", test_many_messages_in_order);
  g_test_add_func ("/reactor/fragmented-message-with-ping-between",
      test_fragmented_message_with_ping_between);
  g_test_add_func ("/reactor/oversized-message-closes-with-1009-others-go-on",
      test_oversized_message_closes_with_1009_others_go_on);
  g_test_add_func ("/reactor/invalid-utf8-closes-with-1007", test_invalid_utf8_closes_with_1007);
  g_test_add_func ("/reactor/client-close-is-answered", test_client_close_is_answered);
  g_test_add_func ("/reactor/application-close-sends-its-code",
      test_application_close_sends_its_code);
  g_test_add_func ("/reactor/idle-connection-is-closed-with-1008",
      test_idle_connection_is_closed_with_1008);
  g_test_add_func ("/reactor/client-not-reading-is-closed-with-1008",
      test_client_not_reading_is_closed_with_1008);
  g_test_add_func ("/reactor/stop-closes-everyone-with-1001", test_stop_closes_everyone_with_1001);
  g_test_add_func ("/reactor/two-hundred-connections-exchange-messages",
      test_two_hundred_connections_exchange_messages);
  g_test_add_func ("/reactor/steady-state-messages-do-not-allocate",
      test_steady_state_messages_do_not_allocate);
  g_test_add_func ("/upgrade/frames-sent-with-the-handshake-are-not-lost",
      test_frames_sent_with_the_handshake_are_not_lost);
  g_test_add_func ("/upgrade/plain-request-gets-426-with-reason",
      test_plain_request_gets_426_with_reason);
  g_test_add_func ("/upgrade/wrong-version-gets-426-naming-13",
      test_wrong_version_gets_426_naming_13);
  g_test_add_func ("/upgrade/bad-key-gets-400", test_bad_key_gets_400);
  g_test_add_func ("/upgrade/post-gets-405", test_post_gets_405);
  return g_test_run ();
}
