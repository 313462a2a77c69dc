// WebSocket clients for daemon tests, on 127.0.0.1: libsoup's own client
// (driven by the test's default GMainContext, which also runs the server),
// and a raw socket client that writes exactly the bytes a test wants (a
// handshake with frames in the same write, bad frames, a client that never
// reads) and parses the server's unmasked frames.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/websocket_frames.h"

namespace ws_test {

namespace ws = callstream::websocket;

// Runs the default main context until @done, or fails the test after
// @timeout_ms (a guard against hangs, not a speed assertion).
inline void
spin_until (const std::function<bool ()> &done, gint64 timeout_ms = 20000)
{
  const gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      g_error ("timed out after %" G_GINT64_FORMAT " ms waiting for a condition", timeout_ms);
    if (!g_main_context_iteration (nullptr, FALSE))
      g_usleep (500);
  }
}

// ---- libsoup client ----

// One libsoup WebSocket client connection and what it received.
struct SoupClient {
  SoupWebsocketConnection *conn = nullptr;
  GError *error = nullptr;
  bool finished = false;  // the connect finished (conn or error)
  std::vector<std::pair<bool, std::string>> messages;  // (is_text, payload)
  bool closed = false;

  ~SoupClient ()
  {
    if (conn != nullptr) {
      g_signal_handlers_disconnect_by_data (conn, this);
      g_object_unref (conn);
    }
    g_clear_error (&error);
  }

  gushort close_code () const { return soup_websocket_connection_get_close_code (conn); }
  const char *close_data () const
  {
    const char *data = soup_websocket_connection_get_close_data (conn);
    return data != nullptr ? data : "";
  }
  void send_text (const char *text) { soup_websocket_connection_send_text (conn, text); }
};

inline void
soup_client_message (SoupWebsocketConnection *, gint type, GBytes *payload, gpointer data)
{
  auto *client = static_cast<SoupClient *> (data);
  gsize size;
  const auto *bytes = static_cast<const char *> (g_bytes_get_data (payload, &size));
  client->messages.emplace_back (type == SOUP_WEBSOCKET_DATA_TEXT, std::string (bytes, size));
}

inline void
soup_client_closed (SoupWebsocketConnection *, gpointer data)
{
  static_cast<SoupClient *> (data)->closed = true;
}

inline void
soup_client_connected (GObject *session, GAsyncResult *result, gpointer data)
{
  auto *client = static_cast<SoupClient *> (data);
  client->conn = soup_session_websocket_connect_finish (SOUP_SESSION (session), result,
      &client->error);
  client->finished = true;
  if (client->conn == nullptr)
    return;
  g_signal_connect (client->conn, "message", G_CALLBACK (soup_client_message), client);
  g_signal_connect (client->conn, "closed", G_CALLBACK (soup_client_closed), client);
}

// Starts connecting; spin until client->finished.
inline void
start_connect (SoupSession *session, const std::string &url, SoupClient *client)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url.c_str ());
  soup_session_websocket_connect_async (session, msg, nullptr, nullptr, G_PRIORITY_DEFAULT,
      nullptr, soup_client_connected, client);
}

inline void
connect (SoupSession *session, const std::string &url, SoupClient *client)
{
  start_connect (session, url, client);
  spin_until ([client] { return client->finished; });
  g_assert_no_error (client->error);
  g_assert_nonnull (client->conn);
}

// ---- raw client ----

constexpr const char *kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 1.3
constexpr const char *kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

inline std::string
upgrade_request (const std::string &path, guint port, const char *version = "13")
{
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string (port)
      + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + kKey
      + "\r\nSec-WebSocket-Version: " + version + "\r\n\r\n";
}

inline std::vector<uint8_t>
client_frame (ws::Opcode opcode, std::string_view payload, bool fin = true)
{
  std::vector<uint8_t> frame;
  ws::append_client_frame (frame, opcode, ws::as_bytes (payload), { 0x12, 0x34, 0x56, 0x78 },
      fin);
  return frame;
}

struct ServerFrame {
  uint8_t opcode = 0;
  bool fin = false;
  std::string payload;

  uint16_t close_code () const
  {
    return payload.size () >= 2
        ? static_cast<uint16_t> ((uint8_t (payload[0]) << 8) | uint8_t (payload[1]))
        : 0;
  }
  std::string close_reason () const { return payload.size () > 2 ? payload.substr (2) : ""; }
};

class RawClient {
 public:
  // Connects to 127.0.0.1:@port; @receive_buffer > 0 shrinks SO_RCVBUF first.
  explicit RawClient (guint port, int receive_buffer = 0)
  {
    g_autoptr (GError) error = nullptr;
    socket_ = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error (error);
    if (receive_buffer > 0)
      g_assert_true (g_socket_set_option (socket_, SOL_SOCKET, SO_RCVBUF, receive_buffer,
          &error));
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, port);
    g_assert_true (g_socket_connect (socket_, address, nullptr, &error));
    g_socket_set_timeout (socket_, 10);
  }
  ~RawClient () { g_object_unref (socket_); }
  RawClient (const RawClient &) = delete;
  RawClient &operator= (const RawClient &) = delete;

  void send (const void *data, size_t size)
  {
    const auto *bytes = static_cast<const char *> (data);
    while (size > 0) {
      g_autoptr (GError) error = nullptr;
      const gssize sent = g_socket_send (socket_, bytes, size, nullptr, &error);
      g_assert_no_error (error);
      bytes += sent;
      size -= static_cast<size_t> (sent);
    }
  }
  void send (const std::string &text) { send (text.data (), text.size ()); }
  void send (const std::vector<uint8_t> &bytes) { send (bytes.data (), bytes.size ()); }

  // Spins the main context (where the server answers) until a whole HTTP
  // response head arrived; returns it. Bytes after it stay for read_frame().
  std::string read_response_head ()
  {
    size_t end;
    spin_until ([this, &end] {
      read_available ();
      end = buffer_.find ("\r\n\r\n");
      return end != std::string::npos;
    });
    std::string head = buffer_.substr (0, end + 4);
    buffer_.erase (0, end + 4);
    return head;
  }

  // Reads until EOF (the server closed), spinning the main context.
  std::string read_until_eof ()
  {
    spin_until ([this] { return read_available () == 0; });
    return std::exchange (buffer_, {});
  }

  // One server frame, blocking (for use once the reactor owns the socket).
  ServerFrame read_frame ()
  {
    fill (2);
    ServerFrame frame;
    frame.fin = (uint8_t (buffer_[0]) & 0x80) != 0;
    frame.opcode = uint8_t (buffer_[0]) & 0x0f;
    g_assert_cmpuint (uint8_t (buffer_[1]) & 0x80, ==, 0);  // servers never mask
    size_t length = uint8_t (buffer_[1]) & 0x7f, header = 2;
    if (length == 126) {
      fill (4);
      length = (uint8_t (buffer_[2]) << 8) | uint8_t (buffer_[3]);
      header = 4;
    } else if (length == 127) {
      fill (10);
      length = 0;
      for (int i = 2; i < 10; i++)
        length = (length << 8) | uint8_t (buffer_[i]);
      header = 10;
    }
    fill (header + length);
    frame.payload = buffer_.substr (header, length);
    buffer_.erase (0, header + length);
    return frame;
  }

  // True once the server has closed: a read returns EOF (blocking).
  bool reads_eof ()
  {
    char byte;
    g_autoptr (GError) error = nullptr;
    return buffer_.empty () && g_socket_receive (socket_, &byte, 1, nullptr, &error) == 0;
  }

  GSocket *socket () const { return socket_; }

 private:
  // Non-blocking read of whatever is there; returns bytes read, 0 at EOF, -1 if none.
  gssize read_available ()
  {
    char chunk[4096];
    g_autoptr (GError) error = nullptr;
    const gssize got = g_socket_receive_with_blocking (socket_, chunk, sizeof chunk, FALSE,
        nullptr, &error);
    if (got > 0)
      buffer_.append (chunk, static_cast<size_t> (got));
    return got;
  }

  void fill (size_t size)
  {
    while (buffer_.size () < size) {
      char chunk[4096];
      g_autoptr (GError) error = nullptr;
      const gssize got = g_socket_receive (socket_, chunk, sizeof chunk, nullptr, &error);
      g_assert_no_error (error);
      g_assert_cmpint (got, >, 0);
      buffer_.append (chunk, static_cast<size_t> (got));
    }
  }

  GSocket *socket_ = nullptr;
  std::string buffer_;
};

}  // namespace ws_test
