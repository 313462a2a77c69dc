// RFC 6455 framing for the daemon's media reactor and the realtimebridge's
// client: an incremental decoder of client frames (or of server frames),
// encoders of server frames and of masked client frames. No GStreamer, no
// sockets, no extensions (a peer that sets RSV bits is refused). Never throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace callstream::websocket {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
};

// The close codes this module sends or reports (RFC 6455 7.4.1).
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kUnsupportedData = 1003;
constexpr uint16_t kNoStatus = 1005;        // reported only: a Close without a body
constexpr uint16_t kInvalidPayload = 1007;  // e.g. text that is not UTF-8
constexpr uint16_t kPolicyViolation = 1008;
constexpr uint16_t kMessageTooBig = 1009;
constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

// Whether @code may appear in a Close frame, following RFC 6455 7.4: 1000-1003,
// 1007-1011 and 3000-4999. Refused: below 1000, 1004-1006, 1012-2999 (1015
// included; 1012-1014 were registered with IANA after the RFC) and 5000 up.
bool is_valid_close_code(uint16_t code);

// Whether @bytes is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool is_valid_utf8(std::span<const uint8_t> bytes);

// Streaming UTF-8 check: a character may straddle calls, so a text message
// is refused at its first bad byte whatever the framing.
class Utf8Validator {
 public:
  // False at the first byte that cannot be part of well-formed UTF-8.
  bool feed(const uint8_t *bytes, size_t size);
  // No character left unfinished.
  bool complete() const { return pending_ == 0; }

 private:
  uint8_t pending_ = 0;  // continuation bytes still expected
  uint8_t lower_ = 0x80;  // range allowed for the next continuation byte
  uint8_t upper_ = 0xbf;
};

constexpr size_t kMaxControlPayload = 125;
constexpr size_t kDefaultMaxMessageSize = 1024 * 1024;

enum class MessageType : uint8_t { Text, Binary, Ping, Pong, Close };

// One complete message. Views into the decoder (or, after feed_in_place(),
// maybe into the caller's buffer): valid until the next call of feed(),
// feed_in_place(), take_data() or the decoder's destruction, and for a message
// from feed_in_place() only as long as the caller leaves its buffer alone.
struct Message {
  MessageType type = MessageType::Binary;
  // Text/Binary: the reassembled, unmasked payload (Text is valid UTF-8).
  // Ping/Pong: the frame's payload. Close: the reason (UTF-8, maybe empty).
  std::span<const uint8_t> payload;
  // Close only: the peer's code, or close_code::kNoStatus when it sent none.
  uint16_t close_code = 0;

  std::string_view text() const {
    return {reinterpret_cast<const char *>(payload.data()), payload.size()};
  }
};

// Why the connection must be failed: send a Close with @close_code (1002,
// 1007 or 1009) and drop the connection.
struct DecodeError {
  uint16_t close_code = 0;
  std::string reason;  // one line, for a log or the Close frame
};

// Whose frames a FrameDecoder reads: a client's are masked, a server's are not
// (RFC 6455 5.1), and a frame the other way round fails the connection (1002).
enum class Sender : uint8_t { Client, Server };

// Streaming decoder of the frames a client sends to a server (or, made with
// Sender::Server, of the frames a server sends to a client). Bytes may be fed
// in slices of any size. Payload bytes are copied once, straight from the
// slice into the message buffer, and unmasked there in place; the buffer keeps
// its capacity from message to message. A data message's size is checked
// against the limit from each frame header, before its payload is buffered.
// feed_in_place() skips even that copy for a whole data frame in one slice.
//
//   while (size > 0) {
//     auto result = decoder.feed(data, size);
//     data += result.consumed;
//     size -= result.consumed;
//     if (result.status == FeedStatus::Message)
//       handle(decoder.message());
//     else if (result.status == FeedStatus::Failed)
//       return close_with(decoder.error());
//   }
class FrameDecoder {
 public:
  enum class FeedStatus : uint8_t {
    NeedMore,  // every byte consumed, no complete message yet
    Message,   // message() is ready; feed the rest of the slice after it
    Failed,    // error() says why; the decoder stays failed
  };

  struct FeedResult {
    size_t consumed = 0;
    FeedStatus status = FeedStatus::NeedMore;
  };

  explicit FrameDecoder(size_t max_message_size = kDefaultMaxMessageSize,
                        Sender sender = Sender::Client);

  // Consumes bytes up to the end of the first message that completes in them
  // (then stops, so it can be read), or up to the first error (the bad byte
  // included), or all of them. After a Close message, the peer may not send
  // anything more (RFC 6455 5.5.1): further bytes are consumed and ignored.
  FeedResult feed(const uint8_t *data, size_t size);

  // feed() for a buffer the caller lets the decoder write to, with no copy for
  // the common case: when the decoder is between messages and @data starts
  // with a whole unfragmented Text or Binary frame that passes every check of
  // feed(), the payload is unmasked in place in @data and message().payload
  // points into @data, so it is valid only until the caller reuses @data (or
  // calls take_data(), which copies it). Anything else (control frames,
  // fragments, a frame cut by the end of the slice, errors, a decoder that is
  // closed or failed) goes through feed() unchanged, so the results, the
  // consumed counts and the errors are exactly those of feed() for the same
  // bytes. The bytes of @data that were consumed may have been rewritten
  // either way; bytes after result.consumed are untouched.
  FeedResult feed_in_place(uint8_t *data, size_t size);

  // The message completed by the last feed() that returned Message.
  const Message &message() const { return message_; }

  // Moves the last Text or Binary message's payload out, so it can outlive
  // the next feed() with no copy; message().payload becomes empty and the
  // next message gets a fresh buffer. Empty for any other message type. A
  // message that feed_in_place() left in the caller's buffer is copied.
  std::string take_data();

  bool failed() const { return state_ == State::Failed; }
  bool closed() const { return state_ == State::Closed; }
  const DecodeError &error() const { return error_; }
  size_t max_message_size() const { return max_message_size_; }

 private:
  enum class State : uint8_t { Header, Payload, Closed, Failed };

  size_t header_size() const;
  bool is_control() const;
  FeedResult check_header_byte(size_t consumed);
  FeedResult start_frame(size_t consumed);
  FeedResult finish_frame(size_t consumed);
  FeedResult fail(size_t consumed, uint16_t code, std::string_view reason);
  bool take_whole_frame(uint8_t *data, size_t size, size_t &consumed);

  size_t max_message_size_;
  bool masked_;  // Sender::Client: every frame carries a masking key
  State state_ = State::Header;

  // The frame being read.
  std::array<uint8_t, 14> header_{};
  size_t header_have_ = 0;
  bool fin_ = false;
  Opcode opcode_ = Opcode::Continuation;
  std::array<uint8_t, 4> mask_{};
  uint64_t payload_left_ = 0;
  size_t mask_offset_ = 0;  // payload bytes of this frame read so far, mod 4

  // The data message being reassembled.
  bool in_message_ = false;
  MessageType message_type_ = MessageType::Binary;
  std::string data_;
  Utf8Validator utf8_;

  // A control frame's payload; control frames may come between fragments.
  std::array<uint8_t, kMaxControlPayload> control_{};
  size_t control_size_ = 0;

  Message message_;
  bool message_in_place_ = false;  // message_.payload points into a caller's buffer
  DecodeError error_;
};

// Server frames, unmasked (RFC 6455 5.1). Each appends one whole frame to
// @out: the header, then the payload copied once, straight into @out.

// Writes the header of an unmasked frame into @header; returns its size (2, 4
// or 10). For writev() of header + payload with no copy at all.
size_t encode_frame_header(std::array<uint8_t, 10> &header, Opcode opcode,
                           uint64_t payload_size, bool fin = true);

void append_frame(std::string &out, Opcode opcode, std::span<const uint8_t> payload,
                   bool fin = true);
void append_frame(std::vector<uint8_t> &out, Opcode opcode,
                  std::span<const uint8_t> payload, bool fin = true);

void append_text(std::string &out, std::string_view text);
void append_text(std::vector<uint8_t> &out, std::string_view text);
void append_binary(std::string &out, std::span<const uint8_t> payload);
void append_binary(std::vector<uint8_t> &out, std::span<const uint8_t> payload);

// Control frames carry at most 125 bytes: a longer payload appends nothing and
// returns false.
bool append_ping(std::string &out, std::span<const uint8_t> payload);
bool append_ping(std::vector<uint8_t> &out, std::span<const uint8_t> payload);
bool append_pong(std::string &out, std::span<const uint8_t> payload);
bool append_pong(std::vector<uint8_t> &out, std::span<const uint8_t> payload);

// A Close with @code and @reason, the reason cut at a character boundary to
// fit in 123 bytes. Returns false and appends nothing when @code is not
// is_valid_close_code(). append_close_empty() sends a Close with no body.
bool append_close(std::string &out, uint16_t code, std::string_view reason = {});
bool append_close(std::vector<uint8_t> &out, uint16_t code, std::string_view reason = {});
void append_close_empty(std::string &out);
void append_close_empty(std::vector<uint8_t> &out);

// A masked frame as a client sends it, masked while the payload is copied in
// (@mask must be unpredictable to the network: RFC 6455 10.3).
void append_client_frame(std::vector<uint8_t> &out, Opcode opcode,
                         std::span<const uint8_t> payload, std::array<uint8_t, 4> mask,
                         bool fin = true);

inline std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t *>(text.data()), text.size()};
}

}  // namespace callstream::websocket
