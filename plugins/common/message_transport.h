// How a provider source element gets its messages: a capture file, its own
// WebSocket server, or a connection accepted by someone else. The provider
// parsing lives in protocol/; this is transport only, shared by every
// provider source.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace callstream {

// Called on the thread that owns the socket, one message at a time.
struct MessageCallbacks {
  std::function<void(std::string_view text)> on_text;
  std::function<void(const uint8_t *data, size_t size)> on_binary;
  // The peer closed the socket (or it broke): no more messages.
  std::function<void(int close_code, std::string_view reason)> on_closed;
  // Optional: SingleCallServer accepted @connection, called on its thread.
  std::function<void(SoupWebsocketConnection *connection)> on_connected;
};

// Reads a capture one WebSocket text message per line (JSON Lines).
class CaptureReader {
 public:
  // nullptr and @error set when @path cannot be opened.
  static std::unique_ptr<CaptureReader> open(const std::string &path,
                                             GError **error);
  ~CaptureReader();
  // Next non-empty line into @line; false at the end of the file or on a read
  // error (@error set then).
  bool next_line(std::string &line, GError **error);

 private:
  explicit CaptureReader(GDataInputStream *stream) : stream_(stream) {}
  GDataInputStream *stream_;
};

// Delivers the messages of one SoupWebsocketConnection to callbacks. The
// callbacks may still run once after the reader is destroyed if a message is
// being delivered at that moment on the connection's thread: whatever they
// capture must stay valid until then (capture references, not raw pointers).
class WebSocketReader {
 public:
  WebSocketReader(SoupWebsocketConnection *connection,
                  MessageCallbacks callbacks);
  ~WebSocketReader();
  WebSocketReader(const WebSocketReader &) = delete;
  WebSocketReader &operator=(const WebSocketReader &) = delete;

  SoupWebsocketConnection *connection() const { return connection_; }

 private:
  SoupWebsocketConnection *connection_;
  gulong message_handler_ = 0;
  gulong closed_handler_ = 0;
};

// A libsoup WebSocket server on its own thread and GMainContext, taking one
// call per start: a second connection, while a call is in progress or after
// it, is closed at once with kCloseCodeRefused and a reason.
class SingleCallServer {
 public:
  // Binds @address:@port (0 picks a free port) and serves @path. nullptr and
  // @error set when the socket cannot be bound.
  static std::unique_ptr<SingleCallServer> start(const std::string &address,
                                                 int port,
                                                 const std::string &path,
                                                 MessageCallbacks callbacks,
                                                 GError **error);
  ~SingleCallServer();  // closes the call, stops the thread
  int port() const { return port_; }

  struct Impl;

 private:
  SingleCallServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

// Close code for a connection refused because the source already has a call:
// 1008 "policy violation". (1013 "try again later" would say it better, but
// libsoup 3.2 clients reject it as invalid and report 1002 instead.)
constexpr int kCloseCodeRefused = SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION;

}  // namespace callstream
