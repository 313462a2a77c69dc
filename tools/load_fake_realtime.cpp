#include "load_fake_realtime.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <simdjson.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "protocol/base64.h"
#include "protocol/outbound.h"
#include "protocol/plain_json.h"
#include "load_json.h"
#include "load_websocket.h"
#include "protocol/websocket_frames.h"
#include "protocol/websocket_handshake.h"

namespace ws = callstream::websocket;
namespace od = simdjson::ondemand;

namespace callstream_load {

namespace {

constexpr gint64 kReplyMs = 1000;             // audio per response before response.done
constexpr gint64 kIdleFlushUs = 100 * 1000;   // no append for this long: the reply ends
constexpr gint64 kIdleCheckUs = 20 * 1000;
constexpr size_t kMaxRequestHeaders = 16 * 1024;
constexpr size_t kMaxMessageSize = 16 * 1024 * 1024;
constexpr const char *kPath = "/v1/realtime";

// RFC 6455 4.1: the key is 16 random bytes, base64-encoded (24 characters).
bool
is_websocket_key (const char *key)
{
  if (key == nullptr || std::strlen (key) != 24)
    return false;
  uint8_t nonce[callstream::base64_decoded_max (24)];
  const auto size = callstream::base64_decode_into (key, nonce);
  return size && *size == 16;
}

// The "audio" of an input_audio_buffer.append in @text, read with simdjson
// On Demand; nullopt for any other message (or any doubt), which then goes
// the json-glib way.
struct AppendReader {
  callstream::plain_json::PaddedParser parser;

  std::optional<std::string_view> audio_of (std::string_view text)
  {
    od::document doc;
    od::object root;
    if (!parser.begin (text, doc, root))
      return std::nullopt;
    std::string_view type, audio;
    bool has_audio = false;
    for (auto field : root) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key ().get (key) != simdjson::SUCCESS
          || field.value ().get (value) != simdjson::SUCCESS)
        return std::nullopt;
      if (key == "type") {
        if (value.get_string ().get (type) != simdjson::SUCCESS)
          return std::nullopt;
      } else if (key == "audio") {
        if (value.get_string ().get (audio) != simdjson::SUCCESS)
          return std::nullopt;
        has_audio = true;
      }
    }
    if (type != "input_audio_buffer.append" || !has_audio)
      return std::nullopt;
    return audio;
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// The byte stream.

uint8_t
stream_byte (uint32_t call, uint64_t position)
{
  const uint32_t value = position % 8 < 4 ? call : static_cast<uint32_t> (position / 8);
  return static_cast<uint8_t> (value >> (8 * (position % 4)));
}

void
fill_stream (uint32_t call, uint64_t position, uint8_t *out, size_t size)
{
  // Whole blocks eight bytes at a time: this runs for every frame both ways.
  size_t i = 0;
  for (; i < size && (position + i) % 8 != 0; i++)
    out[i] = stream_byte (call, position + i);
  const uint32_t call_le = GUINT32_TO_LE (call);
  for (; i + 8 <= size; i += 8) {
    const uint32_t block_le = GUINT32_TO_LE (static_cast<uint32_t> ((position + i) / 8));
    std::memcpy (out + i, &call_le, 4);
    std::memcpy (out + i + 4, &block_le, 4);
  }
  for (; i < size; i++)
    out[i] = stream_byte (call, position + i);
}

bool
matches_stream (uint32_t call, uint64_t position, const uint8_t *data, size_t size)
{
  uint8_t expected[512];
  for (size_t done = 0; done < size; done += sizeof expected) {
    const size_t piece = std::min (size - done, sizeof expected);
    fill_stream (call, position + done, expected, piece);
    if (std::memcmp (data + done, expected, piece) != 0)
      return false;
  }
  return true;
}

std::optional<std::pair<uint32_t, uint64_t>>
locate_in_streams (const uint8_t *data, size_t size, size_t calls)
{
  // Each candidate for the first block boundary in @data.
  for (size_t at = 0; at < 8 && at + 8 <= size; at++) {
    uint32_t call = 0, block = 0;
    std::memcpy (&call, data + at, 4);
    std::memcpy (&block, data + at + 4, 4);
    if (call >= calls || static_cast<uint64_t> (block) * 8 < at)
      continue;
    const uint64_t position = static_cast<uint64_t> (block) * 8 - at;
    if (matches_stream (call, position, data, size))
      return std::make_pair (call, position);
  }
  return std::nullopt;
}

void
ByteCheck::take (uint32_t call, size_t calls, const uint8_t *data, size_t size, gint64 now)
{
  if (size == 0)
    return;
  if (!matches_stream (call, position, data, size)) {
    const auto found = locate_in_streams (data, size, calls);
    if (!found || found->first != call) {
      corrupted++;
      return;
    }
    if (found->second < position) {
      reordered++;
      return;
    }
    skipped += found->second - position;
    position = found->second;
  }
  position += size;
  intact += size;
  arrivals.emplace_back (position, now);
}

// ---------------------------------------------------------------------------
// The server.

struct FakeRealtimeServer::Session {
  enum class State : uint8_t { kRequest, kOpen, kDone };

  int fd = -1;
  State state = State::kRequest;
  bool writing = false;   // EPOLLOUT registered
  std::string request;    // the upgrade request until its blank line
  ws::FrameDecoder decoder { kMaxMessageSize };
  std::string out;        // bytes not yet taken by the socket
  size_t out_sent = 0;

  long call = -1;
  bool session_updated = false;
  std::string pending;  // echo not yet sent
  std::string response_id, item_id;
  gint64 reply_bytes = 0;
  gint64 last_append_us = 0;
};

namespace {
// simdjson parser and buffer of the server thread.
thread_local AppendReader append_reader;
}  // namespace

FakeRealtimeServer::FakeRealtimeServer (const RealtimeLoadOptions &options)
    : calls (static_cast<size_t> (std::max (options.calls, 0))), options_ (options),
      delta_bytes_ (static_cast<size_t> (options.delta_ms) * kBytesPerMs)
{
}

FakeRealtimeServer::~FakeRealtimeServer ()
{
  stop ();
}

bool
FakeRealtimeServer::start (std::string *error)
{
  const std::string where = "127.0.0.1:" + std::to_string (options_.realtime_port);
  auto failed = [&] (const char *what) {
    *error = "the fake Realtime server cannot listen on " + where + ": " + what + ": "
        + g_strerror (errno);
    for (int *fd : { &listen_fd_, &epoll_fd_, &wake_fd_ })
      if (*fd >= 0) {
        close (*fd);
        *fd = -1;
      }
    return false;
  };
  listen_fd_ = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    return failed ("socket");
  const int one = 1;
  setsockopt (listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address {};
  address.sin_family = AF_INET;
  address.sin_port = htons (static_cast<uint16_t> (options_.realtime_port));
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (listen_fd_, reinterpret_cast<sockaddr *> (&address), sizeof address) != 0)
    return failed ("bind");
  if (listen (listen_fd_, 4096) != 0)
    return failed ("listen");
  socklen_t length = sizeof address;
  if (getsockname (listen_fd_, reinterpret_cast<sockaddr *> (&address), &length) != 0)
    return failed ("getsockname");
  port_ = ntohs (address.sin_port);

  epoll_fd_ = epoll_create1 (EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    return failed ("epoll_create1");
  wake_fd_ = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    return failed ("eventfd");
  epoll_event event {};
  event.events = EPOLLIN;
  event.data.ptr = &listen_fd_;
  if (epoll_ctl (epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event) != 0)
    return failed ("epoll_ctl");
  event.data.ptr = &wake_fd_;
  if (epoll_ctl (epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0)
    return failed ("epoll_ctl");
  thread_ = std::thread ([this] { run (); });
  return true;
}

void
FakeRealtimeServer::stop ()
{
  if (thread_.joinable ()) {
    const uint64_t one = 1;
    if (write (wake_fd_, &one, sizeof one) != sizeof one)
      g_warning ("the fake Realtime server cannot be woken: %s", g_strerror (errno));
    thread_.join ();
  }
  for (int *fd : { &listen_fd_, &epoll_fd_, &wake_fd_ })
    if (*fd >= 0) {
      close (*fd);
      *fd = -1;
    }
}

void
FakeRealtimeServer::run ()
{
  std::array<epoll_event, 256> events;
  gint64 next_check = g_get_monotonic_time () + kIdleCheckUs;
  bool stopping = false;
  while (!stopping) {
    gint64 now = g_get_monotonic_time ();
    const int timeout_ms = next_check > now ? static_cast<int> ((next_check - now + 999) / 1000)
                                            : 0;
    const int n = epoll_wait (epoll_fd_, events.data (), static_cast<int> (events.size ()),
        timeout_ms);
    if (n < 0 && errno != EINTR) {
      note_problem (std::string ("epoll_wait: ") + g_strerror (errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      void *tag = events[i].data.ptr;
      if (tag == &wake_fd_) {
        stopping = true;
      } else if (tag == &listen_fd_) {
        accept_all ();
      } else {
        Session &s = *static_cast<Session *> (tag);
        if (s.fd < 0)
          continue;  // ended earlier in this batch
        if (events[i].events & EPOLLOUT)
          flush (s);
        if (s.fd >= 0 && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
          on_readable (s);
      }
    }
    now = g_get_monotonic_time ();
    if (now >= next_check) {
      idle_check (now);
      next_check = now + kIdleCheckUs;
    }
  }
  // Going away: a Close if the socket takes it, then gone.
  for (auto &s : sessions_) {
    if (s->fd < 0)
      continue;
    if (s->state == Session::State::kOpen) {
      ws::append_close (s->out, ws::close_code::kGoingAway);
      flush (*s);
    }
    end_session (*s);
  }
  sessions_.clear ();
}

void
FakeRealtimeServer::accept_all ()
{
  for (;;) {
    const int fd = accept4 (listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        // Out of fds, most likely: say so once and stop listening, or the
        // listener would stay ready and spin this thread.
        note_problem (std::string ("cannot accept a bridge's connection: ")
            + g_strerror (errno));
        epoll_ctl (epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
      }
      return;
    }
    // Each delta is its own write: no waiting for more to fill a segment.
    const int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto session = std::make_unique<Session> ();
    session->fd = fd;
    epoll_event event {};
    event.events = EPOLLIN;
    event.data.ptr = session.get ();
    if (epoll_ctl (epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      note_problem (std::string ("epoll_ctl: ") + g_strerror (errno));
      close (fd);
      continue;
    }
    sessions_.push_back (std::move (session));
  }
}

void
FakeRealtimeServer::on_readable (Session &s)
{
  // Everything the socket has, then one write for all the answers.
  static thread_local std::array<uint8_t, 64 * 1024> buffer;
  for (;;) {
    const ssize_t got = recv (s.fd, buffer.data (), buffer.size (), 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (got <= 0) {
      // The bridge went away (after its Close, or without one).
      end_session (s);
      return;
    }
    if (s.state == Session::State::kRequest) {
      s.request.append (reinterpret_cast<const char *> (buffer.data ()),
          static_cast<size_t> (got));
      read_request (s);
    } else if (s.state == Session::State::kOpen) {
      feed (s, buffer.data (), static_cast<size_t> (got));
    }
    if (s.fd < 0)
      return;
    if (static_cast<size_t> (got) < buffer.size ())
      break;
  }
  flush (s);
}

void
FakeRealtimeServer::refuse (Session &s, guint status, const char *reason,
    const std::string &why)
{
  refused++;
  const std::string body = why + "\n";
  s.out = "HTTP/1.1 " + std::to_string (status) + " " + reason
      + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
      + std::to_string (body.size ()) + "\r\nConnection: close\r\n\r\n" + body;
  s.out_sent = 0;
  // One small answer into an empty socket buffer; then the connection ends.
  flush (s);
  end_session (s);
}

void
FakeRealtimeServer::read_request (Session &s)
{
  const size_t end = s.request.find ("\r\n\r\n");
  if (end == std::string::npos) {
    if (s.request.size () > kMaxRequestHeaders)
      refuse (s, SOUP_STATUS_BAD_REQUEST, "Bad Request", "request headers over 16 KiB");
    return;
  }
  const size_t header_size = end + 4;
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (
      SOUP_MESSAGE_HEADERS_REQUEST);
  g_autofree char *method = nullptr;
  g_autofree char *target = nullptr;
  SoupHTTPVersion version = SOUP_HTTP_1_1;
  if (soup_headers_parse_request (s.request.data (), static_cast<int> (header_size), headers,
          &method, &target, &version) != SOUP_STATUS_OK) {
    refuse (s, SOUP_STATUS_BAD_REQUEST, "Bad Request", "unreadable HTTP request");
    return;
  }
  const std::string_view path = std::string_view (target).substr (0,
      std::string_view (target).find ('?'));
  if (path != kPath) {
    refuse (s, SOUP_STATUS_NOT_FOUND, "Not Found",
        "no such path: " + std::string (path) + " (the Realtime API is at " + kPath + ")");
    return;
  }
  const char *key = soup_message_headers_get_one (headers, "Sec-WebSocket-Key");
  if (!g_str_equal (method, "GET") || version != SOUP_HTTP_1_1) {
    refuse (s, SOUP_STATUS_BAD_REQUEST, "Bad Request",
        "a WebSocket upgrade is a GET over HTTP/1.1");
    return;
  }
  if (!soup_message_headers_header_contains (headers, "Upgrade", "websocket")
      || !soup_message_headers_header_contains (headers, "Connection", "upgrade")) {
    refuse (s, SOUP_STATUS_BAD_REQUEST, "Bad Request",
        "not a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade)");
    return;
  }
  if (!soup_message_headers_header_equals (headers, "Sec-WebSocket-Version", "13")) {
    refuse (s, SOUP_STATUS_BAD_REQUEST, "Bad Request", "Sec-WebSocket-Version is not 13");
    return;
  }
  if (!is_websocket_key (key)) {
    refuse (s, SOUP_STATUS_BAD_REQUEST, "Bad Request",
        key == nullptr ? "no Sec-WebSocket-Key"
                       : "Sec-WebSocket-Key is not 16 bytes in base64");
    return;
  }
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  if (auth == nullptr || !g_str_has_prefix (auth, "Bearer ") || auth[7] == '\0') {
    note_problem ("a bridge connected without Authorization: Bearer KEY");
    refuse (s, SOUP_STATUS_UNAUTHORIZED, "Unauthorized",
        "no Authorization: Bearer KEY");
    return;
  }

  connections++;
  // No Sec-WebSocket-Extensions in the answer: whatever the client offered
  // (libsoup offers permessage-deflate), frames go uncompressed.
  std::string rest = s.request.substr (header_size);
  s.request.clear ();
  s.request.shrink_to_fit ();
  s.out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " + callstream::websocket::accept_for_key (key) + "\r\n\r\n";
  s.out_sent = 0;
  s.state = Session::State::kOpen;
  send (s, "{\"type\":\"session.created\",\"event_id\":\"" + next_id ("event_")
      + "\",\"session\":{\"type\":\"realtime\",\"object\":\"realtime.session\",\"id\":\""
      + next_id ("sess_") + "\",\"model\":\"gpt-realtime\",\"output_modalities\":[\"audio\"]}}");
  // The client's first frames may have come with its request.
  if (!rest.empty ())
    feed (s, reinterpret_cast<uint8_t *> (rest.data ()), rest.size ());
}

void
FakeRealtimeServer::feed (Session &s, uint8_t *data, size_t size)
{
  while (size > 0 && s.state == Session::State::kOpen) {
    if (s.decoder.failed () || s.decoder.closed ())
      return;
    const auto result = s.decoder.feed_in_place (data, size);
    data += result.consumed;
    size -= result.consumed;
    if (result.status == ws::FrameDecoder::FeedStatus::Failed) {
      note_problem ("a bridge sent a bad WebSocket frame: " + s.decoder.error ().reason);
      ws::append_close (s.out, s.decoder.error ().close_code, s.decoder.error ().reason);
      flush (s);
      end_session (s);
      return;
    }
    if (result.status != ws::FrameDecoder::FeedStatus::Message)
      continue;
    const ws::Message &message = s.decoder.message ();
    switch (message.type) {
      case ws::MessageType::Text:
        on_message (s, message.text ());
        break;
      case ws::MessageType::Binary:
        note_problem ("a bridge sent a binary message (the Realtime API speaks text)");
        break;
      case ws::MessageType::Ping:
        ws::append_pong (s.out, message.payload);
        break;
      case ws::MessageType::Pong:
        break;
      case ws::MessageType::Close:
        // Echo the bridge's code (RFC 6455 5.5.1); the server closes the TCP
        // connection first (7.1.1).
        if (message.close_code == ws::close_code::kNoStatus
            || !ws::append_close (s.out, message.close_code, message.text ()))
          ws::append_close_empty (s.out);
        flush (s);
        end_session (s);
        return;
    }
  }
}

void
FakeRealtimeServer::send (Session &s, std::string_view text)
{
  // Queued; the handler of the event that caused it writes it (flush).
  if (s.state == Session::State::kOpen)
    ws::append_text (s.out, text);
}

void
FakeRealtimeServer::flush (Session &s)
{
  while (s.fd >= 0 && s.out_sent < s.out.size ()) {
    const ssize_t n = ::send (s.fd, s.out.data () + s.out_sent, s.out.size () - s.out_sent,
        MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_write (s, true);
      return;
    }
    if (n < 0) {
      end_session (s);  // the bridge is gone
      return;
    }
    s.out_sent += static_cast<size_t> (n);
  }
  s.out.clear ();
  s.out_sent = 0;
  want_write (s, false);
}

void
FakeRealtimeServer::want_write (Session &s, bool on)
{
  if (on == s.writing || s.fd < 0)
    return;
  epoll_event event {};
  event.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  event.data.ptr = &s;
  epoll_ctl (epoll_fd_, EPOLL_CTL_MOD, s.fd, &event);
  s.writing = on;
}

void
FakeRealtimeServer::end_session (Session &s)
{
  // The session stays (its call's records go on); its socket goes.
  if (s.fd >= 0) {
    epoll_ctl (epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
    close (s.fd);
    s.fd = -1;
  }
  s.state = Session::State::kDone;
  s.out.clear ();
  s.out_sent = 0;
  s.request.clear ();
}

void
FakeRealtimeServer::on_message (Session &s, std::string_view text)
{
  if (const auto audio = append_reader.audio_of (text)) {
    audio_.resize (callstream::base64_decoded_max (audio->size ()));
    if (const auto size = callstream::base64_decode_into (*audio, audio_.data ())) {
      on_append (s, audio_.data (), *size);
      return;
    }
  }
  on_rare_message (s, text);
}

// Everything but a plain append, with json-glib.
void
FakeRealtimeServer::on_rare_message (Session &s, std::string_view text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *type = nullptr;
  JsonObject *root = parse_json_object (parser, text, "type", &type);
  if (g_str_equal (type, "input_audio_buffer.append")) {
    gsize size = 0;
    g_autofree guchar *audio = g_base64_decode (
        json_object_get_string_member_with_default (root, "audio", ""), &size);
    on_append (s, audio, size);
  } else if (g_str_equal (type, "session.update")) {
    JsonNode *session = json_object_get_member (root, "session");
    JsonObject *fields = json_object_member (root, "session");
    JsonObject *format = json_object_member (
        json_object_member (json_object_member (fields, "audio"), "input"), "format");
    if (fields == nullptr
        || g_strcmp0 (json_object_get_string_member_with_default (fields, "type", ""),
            "realtime") != 0)
      note_problem ("session.update without session.type realtime (the GA shape)");
    else if (format == nullptr
        || g_strcmp0 (json_object_get_string_member_with_default (format, "type", ""),
            "audio/pcmu") != 0)
      note_problem ("session.update without audio.input.format audio/pcmu");
    s.session_updated = true;
    // The real server answers with the whole session, its id added.
    g_autoptr (JsonGenerator) generator = json_generator_new ();
    if (fields != nullptr) {
      json_object_set_string_member (fields, "object", "realtime.session");
      json_object_set_string_member (fields, "id", next_id ("sess_").c_str ());
      json_generator_set_root (generator, session);
    }
    g_autofree gchar *echoed = fields != nullptr
        ? json_generator_to_data (generator, nullptr) : g_strdup ("{}");
    send (s, "{\"type\":\"session.updated\",\"event_id\":\"" + next_id ("event_")
        + "\",\"session\":" + echoed + "}");
  } else if (g_str_equal (type, "response.create")) {
    // A greeting: an empty reply, so the caller's stream stays the only audio.
    open_reply (s);
    close_reply (s);
  } else if (root == nullptr) {
    note_problem ("a bridge sent text that is not a JSON object");
  }
}

void
FakeRealtimeServer::on_append (Session &s, const uint8_t *audio, size_t size)
{
  const gint64 now = g_get_monotonic_time ();
  if (!s.session_updated)
    note_problem ("input_audio_buffer.append before session.update");
  if (s.call < 0) {
    const auto found = locate_in_streams (audio, size, calls.size ());
    if (!found) {
      unknown_sessions++;
      note_problem ("an append whose audio is no call's of this run");
      return;
    }
    s.call = found->first;
  }
  ServerCall &call = calls[s.call];
  call.appends++;
  if (s.call == 0 && options_.drop_append > 0
      && call.appends == static_cast<uint32_t> (options_.drop_append)) {
    call.dropped_one = true;
    return;
  }
  call.inbound.take (static_cast<uint32_t> (s.call), calls.size (), audio, size, now);
  s.last_append_us = now;
  s.pending.append (reinterpret_cast<const char *> (audio), size);
  while (s.pending.size () >= delta_bytes_)
    send_delta (s, delta_bytes_);
}

void
FakeRealtimeServer::open_reply (Session &s)
{
  responses++;
  s.response_id = next_id ("resp_");
  s.item_id = next_id ("item_");
  s.reply_bytes = 0;
  send (s, "{\"type\":\"response.created\",\"event_id\":\"" + next_id ("event_")
      + "\",\"response\":{\"object\":\"realtime.response\",\"id\":\"" + s.response_id
      + "\",\"status\":\"in_progress\",\"status_details\":null,\"output\":[],"
        "\"output_modalities\":[\"audio\"],\"usage\":null,\"metadata\":null}}");
  send (s, "{\"type\":\"response.output_item.added\",\"event_id\":\"" + next_id ("event_")
      + "\",\"response_id\":\"" + s.response_id + "\",\"output_index\":0,\"item\":{\"id\":\""
      + s.item_id + "\",\"object\":\"realtime.item\",\"type\":\"message\",\"status\":"
        "\"in_progress\",\"role\":\"assistant\",\"content\":[]}}");
  send (s, "{\"type\":\"response.content_part.added\",\"event_id\":\"" + next_id ("event_")
      + "\",\"response_id\":\"" + s.response_id + "\",\"item_id\":\"" + s.item_id
      + "\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"audio\","
        "\"transcript\":\"\"}}");
}

void
FakeRealtimeServer::close_reply (Session &s)
{
  const std::string ids = "\",\"response_id\":\"" + s.response_id + "\",\"item_id\":\""
      + s.item_id + "\",\"output_index\":0";
  send (s, "{\"type\":\"response.output_audio.done\",\"event_id\":\"" + next_id ("event_") + ids
      + ",\"content_index\":0}");
  send (s, "{\"type\":\"response.content_part.done\",\"event_id\":\"" + next_id ("event_") + ids
      + ",\"content_index\":0,\"part\":{\"type\":\"audio\",\"transcript\":\"\"}}");
  const std::string item = "{\"id\":\"" + s.item_id + "\",\"object\":\"realtime.item\","
      "\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":"
      "[{\"type\":\"output_audio\",\"transcript\":\"\"}]}";
  send (s, "{\"type\":\"response.output_item.done\",\"event_id\":\"" + next_id ("event_")
      + "\",\"response_id\":\"" + s.response_id + "\",\"output_index\":0,\"item\":" + item + "}");
  send (s, "{\"type\":\"response.done\",\"event_id\":\"" + next_id ("event_")
      + "\",\"response\":{\"object\":\"realtime.response\",\"id\":\"" + s.response_id
      + "\",\"status\":\"completed\",\"status_details\":null,\"output\":[" + item
      + "],\"output_modalities\":[\"audio\"],\"usage\":null,\"metadata\":null}}");
  s.response_id.clear ();
  s.item_id.clear ();
}

void
FakeRealtimeServer::send_delta (Session &s, size_t size)
{
  if (s.response_id.empty ())
    open_reply (s);
  ServerCall &call = calls[s.call];
  // The hot message: one string, its size reserved, the audio base64-encoded
  // straight into it.
  static thread_local std::string text;
  constexpr std::string_view kHead = "{\"type\":\"response.output_audio.delta\",\"event_id\":\"";
  const std::string event_id = next_id ("event_");
  text.clear ();
  text.reserve (kHead.size () + event_id.size () + s.response_id.size () + s.item_id.size ()
      + size / 3 * 4 + 128);
  text += kHead;
  text += event_id;
  text += "\",\"response_id\":\"";
  text += s.response_id;
  text += "\",\"item_id\":\"";
  text += s.item_id;
  text += "\",\"output_index\":0,\"content_index\":0,\"delta\":\"";
  const size_t at = text.size ();
  text.resize (at + callstream::base64_encoded_size (size));
  callstream::base64_encode_into (reinterpret_cast<const uint8_t *> (s.pending.data ()), size,
      text.data () + at);
  text += "\"}";
  s.pending.erase (0, size);
  send (s, text);
  call.echoed_bytes += size;
  call.deltas.emplace_back (call.echoed_bytes, g_get_monotonic_time ());
  s.reply_bytes += static_cast<gint64> (size);
  if (s.reply_bytes >= kReplyMs * static_cast<gint64> (kBytesPerMs))
    close_reply (s);
}

// The caller paused (or hung up): what is left goes and the reply ends, as
// server VAD would end it.
void
FakeRealtimeServer::idle_check (gint64 now)
{
  for (auto &s : sessions_) {
    if (s->call < 0 || now - s->last_append_us < kIdleFlushUs)
      continue;
    if (!s->pending.empty ())
      send_delta (*s, s->pending.size ());
    if (!s->response_id.empty ())
      close_reply (*s);
    flush (*s);
  }
}

}  // namespace callstream_load
