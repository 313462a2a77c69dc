// A WebSocket server that plays one script per test against one client: on
// 127.0.0.1, a port the kernel picks, its own thread, GIO blocking streams
// (TLS is g_tls_server_connection_new around the same TCP stream). The script
// reads the upgrade request, answers it (or not, or wrongly), writes raw
// server frames (so it may also write malformed ones) and reads the client's
// frames with websocket::FrameDecoder. Everything the client sent is recorded
// for the test, which waits on it with a deadline, never with a sleep.
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/websocket_frames.h"

namespace test_support {

// What the server saw of its client.
struct WebSocketRecord {
  bool accepted = false;       // a TCP connection came
  std::string tls_error;       // the TLS handshake failed: why
  std::string request_line;    // "GET /path?query HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> texts;
  std::vector<std::string> binaries;
  std::vector<std::string> pings;
  std::vector<std::string> pongs;
  int close_code = -1;         // the client's Close: its code (1005: none); -1: no Close
  std::string close_reason;
  std::string decode_error;    // the client's frames broke RFC 6455
  bool ended = false;          // the client's end of the connection closed
  bool script_done = false;

  // The value of header @name (any case), or nullopt.
  std::optional<std::string> header (std::string_view name) const
  {
    for (const auto &[key, value] : headers)
      if (g_ascii_strcasecmp (key.c_str (), std::string (name).c_str ()) == 0)
        return value;
    return std::nullopt;
  }
};

class ScriptedWebSocketServer {
 public:
  class Peer;
  using Script = std::function<void (Peer &)>;

  // @certificate (with its key): serve TLS. @receive_buffer (bytes): a small
  // SO_RCVBUF, so that a reader that does not read holds the client back.
  explicit ScriptedWebSocketServer (Script script, GTlsCertificate *certificate = nullptr,
                                    int receive_buffer = 0)
      : cancellable_ (g_cancellable_new ()),
        certificate_ (certificate != nullptr ? G_TLS_CERTIFICATE (g_object_ref (certificate))
                                             : nullptr)
  {
    g_autoptr (GError) error = nullptr;
    g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error (error);
    // Set before listen(): accepted sockets inherit it, and the window scale
    // is chosen from it.
    if (receive_buffer > 0)
      g_assert_true (g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, receive_buffer,
          &error));
    g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
    g_assert_true (g_socket_bind (socket, address, TRUE, &error));
    g_assert_true (g_socket_listen (socket, &error));
    g_autoptr (GSocketAddress) bound = g_socket_get_local_address (socket, &error);
    g_assert_no_error (error);
    port_ = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    listener_ = g_socket_listener_new ();
    g_assert_true (g_socket_listener_add_socket (listener_, socket, nullptr, &error));
    thread_ = std::thread ([this, script = std::move (script)] { run (script); });
  }

  // Ends a script still blocked in a read, an accept or the gate.
  ~ScriptedWebSocketServer ()
  {
    {
      std::lock_guard guard (lock_);
      stopping_ = true;
    }
    changed_.notify_all ();
    g_cancellable_cancel (cancellable_);
    thread_.join ();
    g_socket_listener_close (listener_);
    g_object_unref (listener_);
    g_clear_object (&certificate_);
    g_object_unref (cancellable_);
  }

  ScriptedWebSocketServer (const ScriptedWebSocketServer &) = delete;
  ScriptedWebSocketServer &operator= (const ScriptedWebSocketServer &) = delete;

  guint port () const { return port_; }

  std::string url (const std::string &path = "/v1/realtime") const
  {
    return std::string (certificate_ != nullptr ? "wss" : "ws") + "://127.0.0.1:"
        + std::to_string (port_) + path;
  }

  WebSocketRecord record () const
  {
    std::lock_guard guard (lock_);
    return record_;
  }

  // Waits until @done holds for the record, @timeout_ms at most; whether it did.
  bool wait_until (const std::function<bool (const WebSocketRecord &)> &done,
                   guint timeout_ms = 5000) const
  {
    std::unique_lock guard (lock_);
    return changed_.wait_for (guard, std::chrono::milliseconds (timeout_ms),
        [&] { return done (record_); });
  }

  // Lets a script waiting in Peer::wait_gate() go on.
  void open_gate ()
  {
    {
      std::lock_guard guard (lock_);
      gate_open_ = true;
    }
    changed_.notify_all ();
  }

  // The server's side of the one connection, for the script (server thread).
  class Peer {
   public:
    Peer (ScriptedWebSocketServer &server, GIOStream *stream, GSocket *socket)
        : server_ (server), stream_ (stream), socket_ (socket),
          input_ (g_io_stream_get_input_stream (stream)),
          output_ (g_io_stream_get_output_stream (stream)),
          decoder_ (16 * 1024 * 1024) {}

    // Reads the upgrade request up to its blank line and records its request
    // line and headers; the request, or "" when the client left first.
    std::string read_request ()
    {
      size_t end = std::string::npos;
      while ((end = buffer_.find ("\r\n\r\n")) == std::string::npos)
        if (!fill ())
          return {};
      std::string request = buffer_.substr (0, end + 4);
      buffer_.erase (0, end + 4);
      WebSocketRecord parsed;
      size_t line_end = request.find ("\r\n");
      parsed.request_line = request.substr (0, line_end);
      for (size_t at = line_end + 2; at < end;) {
        const size_t next = request.find ("\r\n", at);
        const std::string line = request.substr (at, next - at);
        const size_t colon = line.find (':');
        if (colon != std::string::npos) {
          g_autofree gchar *value = g_strstrip (g_strdup (line.c_str () + colon + 1));
          parsed.headers.emplace_back (line.substr (0, colon), value);
        }
        at = next + 2;
      }
      server_.update ([&] (WebSocketRecord &r) {
            r.request_line = parsed.request_line;
            r.headers = parsed.headers;
          });
      key_ = parsed.header ("Sec-WebSocket-Key").value_or ("");
      return request;
    }

    // RFC 6455 4.2.2: base64 (SHA-1 (key + GUID)).
    static std::string accept_for (const std::string &key)
    {
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

    // The 101 with the accept the request's key asks for (or @accept), and
    // @then in the same write.
    bool answer_upgrade (const std::string &then = {},
                         std::optional<std::string> accept = std::nullopt)
    {
      return write ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
          + accept.value_or (accept_for (key_)) + "\r\n\r\n" + then);
    }

    bool answer_status (const std::string &status_line, const std::string &body)
    {
      return write ("HTTP/1.1 " + status_line + "\r\nContent-Type: application/json\r\n"
                    "Content-Length: " + std::to_string (body.size ())
          + "\r\nConnection: close\r\n\r\n" + body);
    }

    bool write (std::string_view bytes)
    {
      return g_output_stream_write_all (output_, bytes.data (), bytes.size (), nullptr,
          server_.cancellable_, nullptr);
    }

    bool send_frame (callstream::websocket::Opcode opcode, std::string_view payload,
                     bool fin = true)
    {
      std::string frame;
      callstream::websocket::append_frame (frame, opcode,
          callstream::websocket::as_bytes (payload), fin);
      return write (frame);
    }

    bool send_text (std::string_view text)
    {
      return send_frame (callstream::websocket::Opcode::Text, text);
    }

    bool send_close (uint16_t code, std::string_view reason = {})
    {
      std::string frame;
      g_assert_true (callstream::websocket::append_close (frame, code, reason));
      close_sent_ = true;
      return write (frame);
    }

    // Reads until one whole message from the client, and records it; its
    // type, or nullopt when the connection ended or the client broke the
    // protocol (both recorded).
    std::optional<callstream::websocket::MessageType> read_message ()
    {
      using callstream::websocket::FrameDecoder;
      using callstream::websocket::MessageType;
      for (;;) {
        while (!buffer_.empty ()) {
          const auto result = decoder_.feed (
              reinterpret_cast<const uint8_t *> (buffer_.data ()), buffer_.size ());
          buffer_.erase (0, result.consumed);
          if (result.status == FrameDecoder::FeedStatus::Failed) {
            server_.update ([&] (WebSocketRecord &r) {
                  r.decode_error = decoder_.error ().reason;
                });
            return std::nullopt;
          }
          if (result.status == FrameDecoder::FeedStatus::Message)
            return take_message ();
        }
        if (!fill ())
          return std::nullopt;
      }
    }

    // Reads and records until the client ends the connection; answers its
    // Close with a Close of the same code, as RFC 6455 5.5.1 asks.
    void serve () { serve_messages (false); }

    // serve(), and each text the client sends is written back as it came.
    void serve_echo () { serve_messages (true); }

    // Drops the TCP connection with no Close.
    void drop ()
    {
      g_io_stream_close (stream_, nullptr, nullptr);
    }

    // Bytes the kernel holds for this end, not read yet.
    gssize unread_bytes () const { return g_socket_get_available_bytes (socket_); }

    // Each read takes at most @size bytes (a slow reader).
    void set_read_size (size_t size) { read_size_ = size; }

    // Blocks until the test calls open_gate(); false when the server stops.
    bool wait_gate ()
    {
      std::unique_lock guard (server_.lock_);
      server_.changed_.wait (guard, [this] { return server_.gate_open_ || server_.stopping_; });
      return server_.gate_open_;
    }

   private:
    void serve_messages (bool echo)
    {
      using callstream::websocket::MessageType;
      while (auto type = read_message ()) {
        if (*type == MessageType::Text && echo) {
          if (!close_sent_ && !send_text (last_text_))
            break;
        } else if (*type == MessageType::Close && !close_sent_) {
          const int code = server_.record ().close_code;
          std::string frame;
          if (code < 0 || !callstream::websocket::append_close (frame,
                  static_cast<uint16_t> (code)))
            callstream::websocket::append_close_empty (frame);
          close_sent_ = true;
          write (frame);
        }
      }
      // A protocol error leaves the rest unread: wait for the end anyway.
      while (fill ())
        buffer_.clear ();
    }

    callstream::websocket::MessageType take_message ()
    {
      using callstream::websocket::MessageType;
      const auto &message = decoder_.message ();
      const MessageType type = message.type;
      const uint16_t code = message.close_code;
      std::string payload = type == MessageType::Text || type == MessageType::Binary
          ? decoder_.take_data () : std::string (message.text ());
      if (type == MessageType::Text)
        last_text_ = payload;
      server_.update ([&] (WebSocketRecord &r) {
            switch (type) {
              case MessageType::Text: r.texts.push_back (std::move (payload)); break;
              case MessageType::Binary: r.binaries.push_back (std::move (payload)); break;
              case MessageType::Ping: r.pings.push_back (std::move (payload)); break;
              case MessageType::Pong: r.pongs.push_back (std::move (payload)); break;
              case MessageType::Close:
                r.close_code = code;
                r.close_reason = std::move (payload);
                break;
            }
          });
      return type;
    }

    // One read into the buffer; false at the end of the connection (recorded).
    bool fill ()
    {
      if (!ended_) {
        char chunk[65536];
        const gssize got = g_input_stream_read (input_, chunk,
            std::min (sizeof chunk, read_size_), server_.cancellable_, nullptr);
        if (got > 0) {
          buffer_.append (chunk, static_cast<size_t> (got));
          return true;
        }
        ended_ = true;
        server_.update ([] (WebSocketRecord &r) { r.ended = true; });
      }
      return false;
    }

    ScriptedWebSocketServer &server_;
    GIOStream *stream_;
    GSocket *socket_;
    GInputStream *input_;
    GOutputStream *output_;
    callstream::websocket::FrameDecoder decoder_;
    std::string buffer_;
    std::string key_;
    std::string last_text_;  // the client's last text, for serve_echo()
    size_t read_size_ = 65536;
    bool close_sent_ = false;
    bool ended_ = false;
  };

 private:
  void update (const std::function<void (WebSocketRecord &)> &change)
  {
    {
      std::lock_guard guard (lock_);
      change (record_);
    }
    changed_.notify_all ();
  }

  void run (const Script &script)
  {
    g_autoptr (GSocketConnection) connection = g_socket_listener_accept (listener_, nullptr,
        cancellable_, nullptr);
    if (connection == nullptr) {
      update ([] (WebSocketRecord &r) { r.script_done = true; });
      return;
    }
    update ([] (WebSocketRecord &r) { r.accepted = true; });
    g_autoptr (GIOStream) stream = G_IO_STREAM (g_object_ref (connection));
    if (certificate_ != nullptr) {
      g_autoptr (GError) error = nullptr;
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection), certificate_,
          &error);
      g_assert_no_error (error);
      g_object_unref (stream);
      stream = tls;
      if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), cancellable_, &error)) {
        const std::string why = error->message;
        g_io_stream_close (G_IO_STREAM (connection), nullptr, nullptr);
        update ([&] (WebSocketRecord &r) {
              r.tls_error = why;
              r.ended = true;
              r.script_done = true;
            });
        return;
      }
    }
    {
      Peer peer (*this, stream, g_socket_connection_get_socket (connection));
      script (peer);
    }
    g_io_stream_close (stream, nullptr, nullptr);
    update ([] (WebSocketRecord &r) { r.script_done = true; });
  }

  mutable std::mutex lock_;
  mutable std::condition_variable changed_;
  WebSocketRecord record_;     // under lock_
  bool gate_open_ = false;     // under lock_
  bool stopping_ = false;      // under lock_
  GCancellable *cancellable_;
  GTlsCertificate *certificate_;
  GSocketListener *listener_ = nullptr;
  guint port_ = 0;
  std::thread thread_;
};

}  // namespace test_support
