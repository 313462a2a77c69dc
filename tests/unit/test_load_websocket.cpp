// The load generator's client WebSocket (tools/load_websocket.h) against a
// scripted loopback server: the opening handshake (a wrong accept or status
// fails the socket), masked text frames, pings answered, fragmented text
// gathered, the Close handshake either way.
#include <gio/gio.h>
#include <glib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "load_websocket.h"
#include "loopback_listener.h"
#include "protocol/websocket_frames.h"

namespace ws = callstream::websocket;
using callstream_load::LoadWebSocket;

namespace {

// One frame read from the client.
struct ClientFrame {
  uint8_t opcode = 0;
  bool fin = false;
  bool masked = false;
  std::string payload;
};

// The server end of one connection, blocking, on its own thread.
class ScriptedServer {
 public:
  using Script = std::function<void (ScriptedServer &)>;

  explicit ScriptedServer (Script script)
  {
    listener_ = test_support::listen_on_loopback (&port_);
    thread_ = std::thread ([this, script = std::move (script)] {
          socket_ = g_socket_accept (listener_, nullptr, nullptr);
          g_assert_nonnull (socket_);
          g_socket_set_timeout (socket_, 5);
          script (*this);
        });
  }

  ~ScriptedServer ()
  {
    join ();
    g_clear_object (&socket_);
    g_object_unref (listener_);
  }

  // Waits for the script to end.
  void join ()
  {
    if (thread_.joinable ())
      thread_.join ();
  }

  guint port () const { return port_; }

  // The request's headers, up to the blank line.
  std::string read_request ()
  {
    while (buffer_.find ("\r\n\r\n") == std::string::npos)
      fill ();
    const size_t end = buffer_.find ("\r\n\r\n") + 4;
    std::string request = buffer_.substr (0, end);
    buffer_.erase (0, end);
    return request;
  }

  // The Sec-WebSocket-Accept RFC 6455 4.2.2 asks for @request's key.
  static std::string accept_for (const std::string &request)
  {
    const std::string name = "Sec-WebSocket-Key: ";
    const size_t at = request.find (name);
    g_assert_true (at != std::string::npos);
    const std::string key = request.substr (at + name.size (),
        request.find ("\r\n", at) - at - name.size ());
    const std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    guint8 digest[20];
    gsize size = sizeof digest;
    g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
    g_checksum_update (sha1, reinterpret_cast<const guchar *> (text.data ()),
        static_cast<gssize> (text.size ()));
    g_checksum_get_digest (sha1, digest, &size);
    g_autofree gchar *accept = g_base64_encode (digest, size);
    return accept;
  }

  void write (const std::string &bytes)
  {
    g_assert_cmpint (g_socket_send (socket_, bytes.data (), bytes.size (), nullptr, nullptr),
        ==, static_cast<gssize> (bytes.size ()));
  }

  void answer_upgrade (const std::string &request)
  {
    write ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_for (request) + "\r\n\r\n");
  }

  void send_frame (ws::Opcode opcode, const std::string &payload, bool fin = true)
  {
    std::string frame;
    ws::append_frame (frame, opcode, ws::as_bytes (payload), fin);
    write (frame);
  }

  ClientFrame read_frame ()
  {
    while (buffer_.size () < 2)
      fill ();
    ClientFrame frame;
    const auto byte = [this] (size_t i) { return static_cast<uint8_t> (buffer_[i]); };
    frame.fin = (byte (0) & 0x80) != 0;
    frame.opcode = byte (0) & 0x0f;
    frame.masked = (byte (1) & 0x80) != 0;
    size_t length = byte (1) & 0x7f, header = 2;
    if (length == 126) {
      while (buffer_.size () < 4)
        fill ();
      length = (static_cast<size_t> (byte (2)) << 8) | byte (3);
      header = 4;
    }
    g_assert_cmpuint (length, <, 127 * 1024);
    const size_t mask_at = header;
    header += frame.masked ? 4 : 0;
    while (buffer_.size () < header + length)
      fill ();
    frame.payload = buffer_.substr (header, length);
    if (frame.masked)
      for (size_t i = 0; i < length; i++)
        frame.payload[i] = static_cast<char> (frame.payload[i] ^ buffer_[mask_at + i % 4]);
    buffer_.erase (0, header + length);
    return frame;
  }

 private:
  void fill ()
  {
    char chunk[4096];
    const gssize got = g_socket_receive (socket_, chunk, sizeof chunk, nullptr, nullptr);
    g_assert_cmpint (got, >, 0);
    buffer_.append (chunk, static_cast<size_t> (got));
  }

  GSocket *listener_ = nullptr;
  GSocket *socket_ = nullptr;
  guint port_ = 0;
  std::string buffer_;
  std::thread thread_;
};

// The client side: one socket in an epoll set, pumped until @done or 5 s.
struct Client {
  int epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  LoadWebSocket socket;
  std::vector<std::string> messages;

  Client () { socket.set_message_handler ([this] (std::string_view text) {
        messages.emplace_back (text);
      }); }
  ~Client ()
  {
    socket.abandon ();
    close (epoll_fd);
  }

  void start (guint port) { g_assert_true (socket.start (epoll_fd, 7, "127.0.0.1", port, "/call")); }

  void pump_until (const std::function<bool ()> &done)
  {
    const gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    while (!done () && g_get_monotonic_time () < deadline) {
      epoll_event events[4];
      const int n = epoll_wait (epoll_fd, events, 4, 20);
      for (int i = 0; i < n; i++) {
        g_assert_cmpuint (events[i].data.u64, ==, 7);
        socket.on_ready (events[i].events);
      }
    }
    g_assert_true (done ());
  }
};

void
test_opens_and_sends_masked_text ()
{
  std::string request;
  ClientFrame frame;
  ScriptedServer server ([&] (ScriptedServer &s) {
        request = s.read_request ();
        s.answer_upgrade (request);
        frame = s.read_frame ();
      });
  Client client;
  client.start (server.port ());
  client.pump_until ([&] { return client.socket.open (); });
  g_assert_true (client.socket.send_text ("{\"event\":\"media\"}"));
  server.join ();
  g_assert_true (g_str_has_prefix (request.c_str (), "GET /call HTTP/1.1\r\n"));
  g_assert_true (request.find ("\r\nUpgrade: websocket\r\n") != std::string::npos);
  g_assert_true (request.find ("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
  g_assert_cmpuint (frame.opcode, ==, static_cast<uint8_t> (ws::Opcode::Text));
  g_assert_true (frame.fin);
  g_assert_true (frame.masked);
  g_assert_cmpstr (frame.payload.c_str (), ==, "{\"event\":\"media\"}");
}

// A message given in pieces of every size mod 8 (the mask is applied eight
// bytes a step over the whole payload) and longer than 125 bytes arrives as
// one masked Text frame whose payload is the pieces joined; so do the next
// frames, each under a mask of its own.
void
test_pieces_sent_as_one_masked_message ()
{
  std::string text;
  std::vector<std::string> pieces;
  for (size_t size = 0; size < 40; size++)
    pieces.push_back (std::string (size, static_cast<char> ('a' + size % 26)));
  for (const std::string &piece : pieces)
    text += piece;
  std::vector<ClientFrame> frames;
  ScriptedServer server ([&] (ScriptedServer &s) {
        s.answer_upgrade (s.read_request ());
        for (int i = 0; i < 3; i++)
          frames.push_back (s.read_frame ());
      });
  Client client;
  client.start (server.port ());
  client.pump_until ([&] { return client.socket.open (); });
  g_assert_true (client.socket.send_text ({ pieces[3], pieces[0], pieces[17], pieces[39] }));
  g_assert_true (client.socket.send_text ({ pieces[1], pieces[2], pieces[4], pieces[5],
      pieces[6], pieces[7], pieces[30] }));
  g_assert_true (client.socket.send_text ({ text, "{\"end\":1}" }));
  server.join ();
  g_assert_cmpuint (frames.size (), ==, 3);
  const std::string expected[] = { pieces[3] + pieces[17] + pieces[39],
    pieces[1] + pieces[2] + pieces[4] + pieces[5] + pieces[6] + pieces[7] + pieces[30],
    text + "{\"end\":1}" };
  for (size_t i = 0; i < 3; i++) {
    g_assert_cmpuint (frames[i].opcode, ==, static_cast<uint8_t> (ws::Opcode::Text));
    g_assert_true (frames[i].masked);
    g_assert_true (frames[i].payload == expected[i]);
  }
}

// A 101 whose Sec-WebSocket-Accept does not answer our key, or another
// status: the socket fails with the reason.
void
test_wrong_answers_fail (gconstpointer data)
{
  const std::string answer = static_cast<const char *> (data);
  ScriptedServer server ([&] (ScriptedServer &s) {
        s.read_request ();
        s.write (answer);
      });
  Client client;
  client.start (server.port ());
  client.pump_until ([&] { return client.socket.state () == LoadWebSocket::State::kFailed; });
  const std::string expected = answer.find ("404") != std::string::npos
      ? "handshake answered 404" : "Sec-WebSocket-Accept";
  if (client.socket.error ().find (expected) == std::string::npos)
    g_error ("expected \"%s\" in \"%s\"", expected.c_str (), client.socket.error ().c_str ());
  g_assert_false (client.socket.send_text ("late"));
}

// Pings are answered with the same payload; text split over a Text frame
// and a Continuation reaches the handler whole, in order with the rest.
void
test_ping_answered_and_fragments_gathered ()
{
  ClientFrame pong;
  ScriptedServer server ([&] (ScriptedServer &s) {
        s.answer_upgrade (s.read_request ());
        s.send_frame (ws::Opcode::Ping, "are you there");
        s.send_frame (ws::Opcode::Text, "{\"event\":", false);
        s.send_frame (ws::Opcode::Continuation, "\"mark\"}", true);
        s.send_frame (ws::Opcode::Text, "{\"event\":\"clear\"}");
        pong = s.read_frame ();
      });
  Client client;
  client.start (server.port ());
  client.pump_until ([&] { return client.messages.size () == 2; });
  server.join ();
  g_assert_cmpstr (client.messages[0].c_str (), ==, "{\"event\":\"mark\"}");
  g_assert_cmpstr (client.messages[1].c_str (), ==, "{\"event\":\"clear\"}");
  g_assert_cmpuint (pong.opcode, ==, static_cast<uint8_t> (ws::Opcode::Pong));
  g_assert_true (pong.masked);
  g_assert_cmpstr (pong.payload.c_str (), ==, "are you there");
}

// The server closes: the client answers with the same code and is closed,
// with the code kept.
void
test_server_close_answered ()
{
  ClientFrame answer;
  ScriptedServer server ([&] (ScriptedServer &s) {
        s.answer_upgrade (s.read_request ());
        std::string body;
        ws::append_close (body, 1001, "going away");
        s.write (body);
        answer = s.read_frame ();
      });
  Client client;
  client.start (server.port ());
  client.pump_until ([&] { return client.socket.state () == LoadWebSocket::State::kClosed; });
  server.join ();
  g_assert_cmpuint (client.socket.close_code (), ==, 1001);
  g_assert_cmpuint (answer.opcode, ==, static_cast<uint8_t> (ws::Opcode::Close));
  g_assert_cmpuint (answer.payload.size (), ==, 2);
  g_assert_cmpuint ((static_cast<uint8_t> (answer.payload[0]) << 8)
      | static_cast<uint8_t> (answer.payload[1]), ==, 1001);
}

// We close: our Close carries the code, the server's answer ends the socket.
void
test_client_close_handshake ()
{
  ClientFrame close_frame;
  ScriptedServer server ([&] (ScriptedServer &s) {
        s.answer_upgrade (s.read_request ());
        close_frame = s.read_frame ();
        std::string body;
        ws::append_close (body, 1000);
        s.write (body);
      });
  Client client;
  client.start (server.port ());
  client.pump_until ([&] { return client.socket.open (); });
  client.socket.close (1000);
  g_assert_true (client.socket.state () == LoadWebSocket::State::kClosing);
  client.pump_until ([&] { return client.socket.state () == LoadWebSocket::State::kClosed; });
  server.join ();
  g_assert_cmpuint (close_frame.opcode, ==, static_cast<uint8_t> (ws::Opcode::Close));
  g_assert_true (close_frame.masked);
  g_assert_cmpuint (close_frame.payload.size (), ==, 2);
  g_assert_cmpuint (static_cast<uint8_t> (close_frame.payload[1]), ==, 1000 & 0xff);
  g_assert_cmpuint (client.socket.close_code (), ==, 1000);
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/load-websocket/opens-and-sends-masked-text",
      test_opens_and_sends_masked_text);
  g_test_add_func ("/load-websocket/pieces-sent-as-one-masked-message",
      test_pieces_sent_as_one_masked_message);
  g_test_add_data_func ("/load-websocket/wrong-accept-fails",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", test_wrong_answers_fail);
  g_test_add_data_func ("/load-websocket/refused-status-fails",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", test_wrong_answers_fail);
  g_test_add_func ("/load-websocket/ping-answered-and-fragments-gathered",
      test_ping_answered_and_fragments_gathered);
  g_test_add_func ("/load-websocket/server-close-answered", test_server_close_answered);
  g_test_add_func ("/load-websocket/client-close-handshake", test_client_close_handshake);
  return g_test_run ();
}
