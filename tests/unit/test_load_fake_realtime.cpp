// The load generator's fake OpenAI Realtime server (tools/load_fake_realtime.h)
// against a raw loopback client: the opening handshake refused with 404, 400
// or 401 as RFC 6455 4.2.1 and the Realtime API would, accepted with the
// Sec-WebSocket-Accept of RFC 6455 1.3; then Ping answered, Close echoed, and
// an append echoed as the model's audio.
#include <gio/gio.h>
#include <glib.h>

#include <string>
#include <vector>

#include "load_fake_realtime.h"
#include "protocol/websocket_frames.h"

namespace ws = callstream::websocket;
using callstream_load::FakeRealtimeServer;
using callstream_load::RealtimeLoadOptions;

namespace {

// RFC 6455 1.3's example: this key must be answered with this accept.
constexpr const char *kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char *kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

struct ServerFrame {
  uint8_t opcode = 0;
  bool masked = false;
  std::string payload;
};

// A blocking client socket, its reads with a 5 s timeout.
class RawClient {
 public:
  explicit RawClient (guint port)
  {
    socket_ = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
        nullptr);
    g_assert_nonnull (socket_);
    g_socket_set_timeout (socket_, 5);
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback,
        static_cast<guint16> (port));
    g_assert_true (g_socket_connect (socket_, address, nullptr, nullptr));
  }
  ~RawClient () { g_object_unref (socket_); }

  void write (const std::string &bytes)
  {
    g_assert_cmpint (g_socket_send (socket_, bytes.data (), bytes.size (), nullptr, nullptr),
        ==, static_cast<gssize> (bytes.size ()));
  }

  void send_frame (ws::Opcode opcode, const std::string &payload)
  {
    std::vector<uint8_t> frame;
    ws::append_client_frame (frame, opcode, ws::as_bytes (payload), { 0x12, 0x34, 0x56, 0x78 });
    write (std::string (frame.begin (), frame.end ()));
  }

  // The response's status line and headers, up to the blank line.
  std::string read_head ()
  {
    while (buffer_.find ("\r\n\r\n") == std::string::npos)
      g_assert_true (fill ());
    const size_t end = buffer_.find ("\r\n\r\n") + 4;
    std::string head = buffer_.substr (0, end);
    buffer_.erase (0, end);
    return head;
  }

  ServerFrame read_frame ()
  {
    while (buffer_.size () < 2)
      g_assert_true (fill ());
    const auto byte = [this] (size_t i) { return static_cast<uint8_t> (buffer_[i]); };
    ServerFrame frame;
    frame.opcode = byte (0) & 0x0f;
    frame.masked = (byte (1) & 0x80) != 0;
    size_t length = byte (1) & 0x7f, header = 2;
    if (length == 126) {
      while (buffer_.size () < 4)
        g_assert_true (fill ());
      length = (static_cast<size_t> (byte (2)) << 8) | byte (3);
      header = 4;
    }
    g_assert_cmpuint (length, <, 65536);
    while (buffer_.size () < header + length)
      g_assert_true (fill ());
    frame.payload = buffer_.substr (header, length);
    buffer_.erase (0, header + length);
    return frame;
  }

  // True once the server has closed the connection (after what is buffered).
  bool at_eof () { return buffer_.empty () && !fill (); }

  // Everything until the server closes the connection.
  std::string read_to_eof ()
  {
    while (fill ()) {
    }
    return std::move (buffer_);
  }

 private:
  bool fill ()
  {
    char chunk[4096];
    const gssize got = g_socket_receive (socket_, chunk, sizeof chunk, nullptr, nullptr);
    g_assert_cmpint (got, >=, 0);
    buffer_.append (chunk, static_cast<size_t> (got));
    return got > 0;
  }

  GSocket *socket_ = nullptr;
  std::string buffer_;
};

RealtimeLoadOptions
test_options ()
{
  RealtimeLoadOptions options;
  options.calls = 2;
  options.delta_ms = 20;
  options.realtime_port = 0;  // any free port
  return options;
}

std::string
upgrade_request (const std::string &path, const char *key, const char *auth)
{
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  if (key != nullptr)
    request += std::string ("Sec-WebSocket-Key: ") + key + "\r\n";
  if (auth != nullptr)
    request += std::string ("Authorization: ") + auth + "\r\n";
  return request + "\r\n";
}

std::string
status_line (const std::string &head)
{
  return head.substr (0, head.find ("\r\n"));
}

// The value of header @name in @head ("" when absent).
std::string
header_value (const std::string &head, const std::string &name)
{
  const size_t at = head.find ("\r\n" + name + ": ");
  if (at == std::string::npos)
    return "";
  const size_t start = at + 4 + name.size ();
  return head.substr (start, head.find ("\r\n", start) - start);
}

struct Refusal {
  const char *path;
  const char *key;
  const char *auth;
  const char *status;
};

void
test_refused (gconstpointer data)
{
  const auto *refusal = static_cast<const Refusal *> (data);
  const RealtimeLoadOptions options = test_options ();
  FakeRealtimeServer server (options);
  std::string error;
  g_assert_true (server.start (&error));
  {
    RawClient client (server.port ());
    client.write (upgrade_request (refusal->path, refusal->key, refusal->auth));
    const std::string head = client.read_head ();
    const std::string status = status_line (head);
    g_assert_cmpstr (status.c_str (), ==, refusal->status);
    g_assert_true (header_value (head, "Sec-WebSocket-Accept").empty ());
    // The reason comes as the body, then the server hangs up.
    const std::string body = client.read_to_eof ();
    g_assert_cmpuint (body.size (), >, 1);
    const std::string length = header_value (head, "Content-Length");
    const std::string body_size = std::to_string (body.size ());
    g_assert_cmpstr (length.c_str (), ==, body_size.c_str ());
  }
  server.stop ();
  g_assert_cmpint (server.connections, ==, 0);
  g_assert_cmpint (server.refused, ==, 1);
}

// A good upgrade: 101 with RFC 6455's accept, then session.created.
void
open_session (RawClient &client)
{
  client.write (upgrade_request ("/v1/realtime?model=gpt-realtime", kRfcKey, "Bearer sk-test"));
  const std::string head = client.read_head ();
  const std::string status = status_line (head);
  g_assert_cmpstr (status.c_str (), ==, "HTTP/1.1 101 Switching Protocols");
  const std::string accept = header_value (head, "Sec-WebSocket-Accept");
  g_assert_cmpstr (accept.c_str (), ==, kRfcAccept);
  g_assert_true (header_value (head, "Sec-WebSocket-Extensions").empty ());
  const ServerFrame created = client.read_frame ();
  g_assert_cmpuint (created.opcode, ==, static_cast<uint8_t> (ws::Opcode::Text));
  g_assert_false (created.masked);
  g_assert_true (g_str_has_prefix (created.payload.c_str (),
      "{\"type\":\"session.created\",\"event_id\":\"event_"));
}

void
test_upgrade_accepted ()
{
  const RealtimeLoadOptions options = test_options ();
  FakeRealtimeServer server (options);
  std::string error;
  g_assert_true (server.start (&error));
  {
    RawClient client (server.port ());
    open_session (client);
  }
  server.stop ();
  g_assert_cmpint (server.connections, ==, 1);
  g_assert_cmpint (server.refused, ==, 0);
  g_assert_cmpstr (server.problem.c_str (), ==, "");
}

void
test_ping_answered_close_echoed ()
{
  const RealtimeLoadOptions options = test_options ();
  FakeRealtimeServer server (options);
  std::string error;
  g_assert_true (server.start (&error));
  {
    RawClient client (server.port ());
    open_session (client);
    client.send_frame (ws::Opcode::Ping, "are you there");
    const ServerFrame pong = client.read_frame ();
    g_assert_cmpuint (pong.opcode, ==, static_cast<uint8_t> (ws::Opcode::Pong));
    g_assert_cmpstr (pong.payload.c_str (), ==, "are you there");
    client.send_frame (ws::Opcode::Close, std::string ("\x03\xe8", 2) + "bye");
    const ServerFrame close = client.read_frame ();
    g_assert_cmpuint (close.opcode, ==, static_cast<uint8_t> (ws::Opcode::Close));
    g_assert_cmpuint (close.payload.size (), >=, 2);
    g_assert_cmpuint ((static_cast<uint8_t> (close.payload[0]) << 8)
        | static_cast<uint8_t> (close.payload[1]), ==, 1000);
    g_assert_true (client.at_eof ());
  }
  server.stop ();
  g_assert_cmpstr (server.problem.c_str (), ==, "");
}

// The model's reply is the caller's audio: one append of call 1's stream
// comes back as one delta of the same bytes, inside a response.
void
test_append_echoed_as_delta ()
{
  const RealtimeLoadOptions options = test_options ();
  FakeRealtimeServer server (options);
  std::string error;
  g_assert_true (server.start (&error));
  std::vector<uint8_t> audio (20 * callstream_load::kBytesPerMs);
  for (size_t i = 0; i < audio.size (); i++)
    audio[i] = callstream_load::stream_byte (1, i);
  g_autofree gchar *encoded = g_base64_encode (audio.data (), audio.size ());
  {
    RawClient client (server.port ());
    open_session (client);
    client.send_frame (ws::Opcode::Text, "{\"type\":\"session.update\",\"session\":{"
        "\"type\":\"realtime\",\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcmu\"}}}}}");
    const ServerFrame updated = client.read_frame ();
    g_assert_true (g_str_has_prefix (updated.payload.c_str (),
        "{\"type\":\"session.updated\","));
    client.send_frame (ws::Opcode::Text, std::string ("{\"type\":\"input_audio_buffer.append\","
        "\"audio\":\"") + encoded + "\"}");
    std::vector<std::string> types;
    std::string delta;
    while (delta.empty ()) {
      const ServerFrame frame = client.read_frame ();
      g_assert_cmpuint (frame.opcode, ==, static_cast<uint8_t> (ws::Opcode::Text));
      const size_t type_at = frame.payload.find ("\"type\":\"") + 8;
      types.push_back (frame.payload.substr (type_at, frame.payload.find ('"', type_at)
          - type_at));
      const size_t delta_at = frame.payload.find ("\"delta\":\"");
      if (delta_at != std::string::npos)
        delta = frame.payload.substr (delta_at + 9, frame.payload.find ('"', delta_at + 9)
            - delta_at - 9);
    }
    g_assert_cmpuint (types.size (), ==, 4);
    g_assert_cmpstr (types[0].c_str (), ==, "response.created");
    g_assert_cmpstr (types[1].c_str (), ==, "response.output_item.added");
    g_assert_cmpstr (types[2].c_str (), ==, "response.content_part.added");
    g_assert_cmpstr (types[3].c_str (), ==, "response.output_audio.delta");
    g_assert_cmpstr (delta.c_str (), ==, encoded);
  }
  server.stop ();
  g_assert_cmpstr (server.problem.c_str (), ==, "");
  g_assert_cmpuint (server.calls[1].appends, ==, 1);
  g_assert_cmpuint (server.calls[1].inbound.intact, ==, audio.size ());
  g_assert_cmpuint (server.calls[1].echoed_bytes, ==, audio.size ());
  g_assert_cmpuint (server.calls[0].appends, ==, 0);
}

void
test_port_taken_fails_clearly ()
{
  RealtimeLoadOptions first_options = test_options ();
  FakeRealtimeServer first (first_options);
  std::string error;
  g_assert_true (first.start (&error));
  RealtimeLoadOptions options = test_options ();
  options.realtime_port = static_cast<int> (first.port ());
  FakeRealtimeServer second (options);
  g_assert_false (second.start (&error));
  const std::string expected = "the fake Realtime server cannot listen on 127.0.0.1:"
      + std::to_string (first.port ()) + ": bind: ";
  g_assert_true (g_str_has_prefix (error.c_str (), expected.c_str ()));
}

// The block-wise fill and check agree with the stream's definition byte by
// byte, from any position and for any size (across the check's 512-byte pieces).
void
test_stream_fill_matches_bytes ()
{
  const uint32_t call = 0x01020304;
  std::vector<uint8_t> filled (1100);
  for (const uint64_t position : { 0ull, 1ull, 7ull, 8ull, 13ull, 8ull * 0xfffffffull + 5 }) {
    for (const size_t size : { 0ul, 1ul, 7ul, 8ul, 9ul, 160ul, 511ul, 512ul, 513ul, 1100ul }) {
      callstream_load::fill_stream (call, position, filled.data (), size);
      for (size_t i = 0; i < size; i++)
        g_assert_cmpuint (filled[i], ==, callstream_load::stream_byte (call, position + i));
      g_assert_true (callstream_load::matches_stream (call, position, filled.data (), size));
      if (size == 0)
        continue;
      filled[size - 1] ^= 0x40;
      g_assert_false (callstream_load::matches_stream (call, position, filled.data (), size));
      g_assert_false (callstream_load::matches_stream (call + 1, position, filled.data (),
          size));
    }
  }
}

const Refusal kWrongPath = { "/v1/other", kRfcKey, "Bearer sk-test", "HTTP/1.1 404 Not Found" };
const Refusal kNoKey = { "/v1/realtime", nullptr, "Bearer sk-test", "HTTP/1.1 400 Bad Request" };
const Refusal kShortKey = { "/v1/realtime", "c2hvcnQ=", "Bearer sk-test",
  "HTTP/1.1 400 Bad Request" };
const Refusal kNoBearer = { "/v1/realtime", kRfcKey, nullptr, "HTTP/1.1 401 Unauthorized" };
const Refusal kEmptyBearer = { "/v1/realtime", kRfcKey, "Bearer ", "HTTP/1.1 401 Unauthorized" };

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_data_func ("/load-fake-realtime/wrong-path-404", &kWrongPath, test_refused);
  g_test_add_data_func ("/load-fake-realtime/no-key-400", &kNoKey, test_refused);
  g_test_add_data_func ("/load-fake-realtime/short-key-400", &kShortKey, test_refused);
  g_test_add_data_func ("/load-fake-realtime/no-bearer-401", &kNoBearer, test_refused);
  g_test_add_data_func ("/load-fake-realtime/empty-bearer-401", &kEmptyBearer, test_refused);
  g_test_add_func ("/load-fake-realtime/upgrade-101-with-rfc-accept", test_upgrade_accepted);
  g_test_add_func ("/load-fake-realtime/ping-answered-close-echoed",
      test_ping_answered_close_echoed);
  g_test_add_func ("/load-fake-realtime/append-echoed-as-delta", test_append_echoed_as_delta);
  g_test_add_func ("/load-fake-realtime/stream-fill-matches-bytes",
      test_stream_fill_matches_bytes);
  g_test_add_func ("/load-fake-realtime/port-taken-fails-clearly",
      test_port_taken_fails_clearly);
  return g_test_run ();
}
