// callstream-load's fake OpenAI Realtime server, and the byte stream both
// ends of a realtime run check.
//
// The server speaks the GA protocol (session.created, session.updated,
// response.created .. response.done around each reply) and echoes the
// caller's audio back as the model's reply, delta_ms at a time. Its sockets
// sit in an epoll set on a thread of its own: the RFC 6455 opening handshake
// read here (headers parsed by libsoup's parser, Sec-WebSocket-Accept from
// GLib's SHA-1), client frames decoded and server frames encoded with
// protocol/websocket_frames.h, input_audio_buffer.append read with simdjson
// On Demand (json-glib only for the rare messages).
//
// Why not SoupServer + SoupWebsocketConnection: at 300 calls they and
// json-glib cost the tool more CPU than the daemon's own bridge, on the same
// 2 cores, so the latency figures measured the tool as much as the daemon.
#pragma once

#include <glib.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "load_realtime.h"

namespace callstream_load {

constexpr size_t kBytesPerMs = 8;  // u-law 8 kHz

// ---------------------------------------------------------------------------
// The byte stream of a call: in each aligned 8-byte block, the call index
// then the block index (little-endian uint32 each). Whatever the bridge
// gathers or splits, each piece says which call and which position it is.

uint8_t stream_byte (uint32_t call, uint64_t position);
// @size bytes of @call's stream from @position into @out.
void fill_stream (uint32_t call, uint64_t position, uint8_t *out, size_t size);
bool matches_stream (uint32_t call, uint64_t position, const uint8_t *data, size_t size);
// Where @data sits in some call's stream: (call, position), if anywhere.
std::optional<std::pair<uint32_t, uint64_t>> locate_in_streams (const uint8_t *data,
    size_t size, size_t calls);

// One direction of one call, as its receiving end sees it.
struct ByteCheck {
  uint64_t position = 0;  // next byte expected
  uint64_t intact = 0;    // bytes taken in order
  uint64_t skipped = 0;   // bytes jumped over (a gap mid-stream)
  uint32_t reordered = 0; // pieces from before the position (late or again)
  uint32_t corrupted = 0; // pieces that are no part of this call's stream
  std::vector<std::pair<uint64_t, gint64>> arrivals;  // (end position, us), in order

  void take (uint32_t call, size_t calls, const uint8_t *data, size_t size, gint64 now);
};

// ---------------------------------------------------------------------------
// The fake server.

// What the server saw of one call.
struct ServerCall {
  ByteCheck inbound;
  uint64_t echoed_bytes = 0;
  std::vector<std::pair<uint64_t, gint64>> deltas;  // (end position, send us)
  uint32_t appends = 0;
  bool dropped_one = false;
};

class FakeRealtimeServer {
 public:
  // @options.calls, delta_ms, drop_append and realtime_port (0: any free
  // port, see port()) are read; @options must outlive the server.
  explicit FakeRealtimeServer (const RealtimeLoadOptions &options);
  ~FakeRealtimeServer ();
  FakeRealtimeServer (const FakeRealtimeServer &) = delete;
  FakeRealtimeServer &operator= (const FakeRealtimeServer &) = delete;

  // Listens on 127.0.0.1 on its thread; the reason in @error if not.
  bool start (std::string *error);
  // Ends the thread (open sockets get a Close 1001); the records are the
  // caller's from then on.
  void stop ();
  // The port listened on, once started.
  guint port () const { return port_; }

  std::vector<ServerCall> calls;
  // Written on the server thread; read after stop.
  int connections = 0;       // WebSocket upgrades accepted
  int refused = 0;           // upgrade requests answered 4xx
  int unknown_sessions = 0;  // sockets whose audio named no call of ours
  uint64_t responses = 0;
  std::string problem;       // the first protocol problem seen

 private:
  struct Session;

  void run ();
  void accept_all ();
  void on_readable (Session &s);
  void read_request (Session &s);
  void refuse (Session &s, guint status, const char *reason, const std::string &why);
  // Decodes in place (@data is unmasked where it lies): the messages are
  // handled before it returns.
  void feed (Session &s, uint8_t *data, size_t size);
  void on_message (Session &s, std::string_view text);
  void on_rare_message (Session &s, std::string_view text);
  void on_append (Session &s, const uint8_t *audio, size_t size);
  void send (Session &s, std::string_view text);
  void flush (Session &s);
  void want_write (Session &s, bool on);
  void end_session (Session &s);
  void send_delta (Session &s, size_t size);
  void open_reply (Session &s);
  void close_reply (Session &s);
  void idle_check (gint64 now);
  std::string next_id (const char *prefix) { return prefix + std::to_string (++ids_); }
  void note_problem (const std::string &what)
  {
    if (problem.empty ())
      problem = what;
  }

  const RealtimeLoadOptions &options_;
  size_t delta_bytes_;
  uint64_t ids_ = 0;
  guint port_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: stop() asks the thread to end
  std::thread thread_;
  std::vector<std::unique_ptr<Session>> sessions_;  // server thread
  std::vector<uint8_t> audio_;                      // an append's decoded audio
};

}  // namespace callstream_load
