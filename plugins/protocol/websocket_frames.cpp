// The decoder is a byte-driven state machine (header, then payload) so a
// slice may end anywhere; every check RFC 6455 asks of a server runs as soon
// as the byte it needs has arrived. feed_in_place() first tries a whole data
// frame at the start of the slice, and hands anything else to the machine.
#include "protocol/websocket_frames.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace callstream::websocket {
namespace {

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kReservedBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0f;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLengthBits = 0x7f;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;
constexpr size_t kMaxCloseReason = kMaxControlPayload - 2;

bool is_known_opcode(uint8_t opcode) {
  switch (opcode) {
    case 0x0: case 0x1: case 0x2: case 0x8: case 0x9: case 0xa:
      return true;
    default:
      return false;
  }
}

// Sixteen bytes, one SSE2 register on x86-64 (GCC and Clang vector extension).
typedef uint8_t Block16 __attribute__((vector_size(16)));

// XORs @size bytes at @bytes with @mask, starting at mask phase @offset;
// sixteen, then eight bytes a step (multiples of four, so the phase holds).
// Returns whether every unmasked byte is ASCII: then text needs no UTF-8 check.
bool apply_mask(uint8_t *bytes, size_t size, const std::array<uint8_t, 4> &mask,
                size_t offset) {
  uint32_t key32;
  std::memcpy(&key32, mask.data(), sizeof key32);
  const int shift = static_cast<int>(8 * (offset & 3));  // mask[offset] first in memory
  key32 = std::endian::native == std::endian::little ? std::rotr(key32, shift)
                                                     : std::rotl(key32, shift);
  const uint64_t key = key32 * 0x0000000100000001ULL;
  const uint64_t keys[2] = {key, key};
  Block16 wide_key;
  std::memcpy(&wide_key, keys, sizeof wide_key);
  Block16 seen = {};
  size_t i = 0;
  for (; i + 16 <= size; i += 16) {
    Block16 block;
    std::memcpy(&block, bytes + i, sizeof block);
    block ^= wide_key;
    seen |= block;
    std::memcpy(bytes + i, &block, sizeof block);
  }
  uint64_t halves[2];
  std::memcpy(halves, &seen, sizeof halves);
  uint64_t seen_word = halves[0] | halves[1];
  if (i + 8 <= size) {
    uint64_t word;
    std::memcpy(&word, bytes + i, sizeof word);
    word ^= key;
    seen_word |= word;
    std::memcpy(bytes + i, &word, sizeof word);
    i += 8;
  }
  uint8_t key_bytes[8];
  std::memcpy(key_bytes, &key, sizeof key_bytes);
  uint8_t seen_byte = 0;
  for (; i < size; i++) {
    bytes[i] ^= key_bytes[i & 7];
    seen_byte |= bytes[i];
  }
  return ((seen_word & 0x8080808080808080ULL) | (seen_byte & 0x80)) == 0;
}

// Grows geometrically even when callers append one frame at a time.
template <typename Buffer>
void reserve_for(Buffer &out, size_t extra) {
  size_t needed = out.size() + extra;
  if (out.capacity() < needed)
    out.reserve(std::max(needed, out.capacity() * 2));
}

void append_bytes(std::string &out, const uint8_t *bytes, size_t size) {
  out.append(reinterpret_cast<const char *>(bytes), size);
}

void append_bytes(std::vector<uint8_t> &out, const uint8_t *bytes, size_t size) {
  out.insert(out.end(), bytes, bytes + size);
}

template <typename Buffer>
void append_frame_to(Buffer &out, Opcode opcode, std::span<const uint8_t> payload,
                     bool fin) {
  std::array<uint8_t, 10> header;
  size_t header_size = encode_frame_header(header, opcode, payload.size(), fin);
  reserve_for(out, header_size + payload.size());
  append_bytes(out, header.data(), header_size);
  if (!payload.empty())
    append_bytes(out, payload.data(), payload.size());
}

template <typename Buffer>
bool append_control(Buffer &out, Opcode opcode, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxControlPayload)
    return false;
  append_frame_to(out, opcode, payload, true);
  return true;
}

template <typename Buffer>
bool append_close_to(Buffer &out, uint16_t code, std::string_view reason) {
  if (!is_valid_close_code(code))
    return false;
  size_t cut = std::min(reason.size(), kMaxCloseReason);
  while (cut > 0 && cut < reason.size() &&
         (static_cast<uint8_t>(reason[cut]) & 0xc0) == 0x80)
    cut--;
  std::array<uint8_t, kMaxControlPayload> body;
  body[0] = static_cast<uint8_t>(code >> 8);
  body[1] = static_cast<uint8_t>(code & 0xff);
  if (cut > 0)
    std::memcpy(body.data() + 2, reason.data(), cut);
  append_frame_to(out, Opcode::Close, std::span<const uint8_t>(body.data(), 2 + cut), true);
  return true;
}

}  // namespace

bool is_valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

bool Utf8Validator::feed(const uint8_t *bytes, size_t size) {
  size_t i = 0;
  while (i < size) {
    if (pending_ > 0) {
      uint8_t byte = bytes[i++];
      if (byte < lower_ || byte > upper_)
        return false;
      pending_--;
      lower_ = 0x80;
      upper_ = 0xbf;
      continue;
    }
    // Media messages are JSON, nearly all ASCII: skip it a word at a time.
    while (i + 8 <= size) {
      uint64_t word;
      std::memcpy(&word, bytes + i, sizeof word);
      if (word & 0x8080808080808080ULL)
        break;
      i += 8;
    }
    if (i == size)
      break;
    uint8_t lead = bytes[i++];
    if (lead < 0x80)
      continue;
    if (lead < 0xc2)  // a stray continuation byte, or an overlong 2-byte form
      return false;
    if (lead < 0xe0) {
      pending_ = 1;
    } else if (lead < 0xf0) {
      pending_ = 2;
      lower_ = lead == 0xe0 ? 0xa0 : 0x80;  // overlong
      upper_ = lead == 0xed ? 0x9f : 0xbf;  // UTF-16 surrogates
    } else if (lead < 0xf5) {
      pending_ = 3;
      lower_ = lead == 0xf0 ? 0x90 : 0x80;  // overlong
      upper_ = lead == 0xf4 ? 0x8f : 0xbf;  // above U+10FFFF
    } else {
      return false;
    }
  }
  return true;
}

bool is_valid_utf8(std::span<const uint8_t> bytes) {
  Utf8Validator validator;
  return validator.feed(bytes.data(), bytes.size()) && validator.complete();
}

FrameDecoder::FrameDecoder(size_t max_message_size, Sender sender)
    : max_message_size_(max_message_size), masked_(sender == Sender::Client) {}

bool FrameDecoder::is_control() const {
  return (static_cast<uint8_t>(opcode_) & 0x8) != 0;
}

size_t FrameDecoder::header_size() const {
  size_t size = masked_ ? 2 + 4 : 2;
  uint8_t length = header_[1] & kLengthBits;
  if (length == kLength16)
    size += 2;
  else if (length == kLength64)
    size += 8;
  return size;
}

FrameDecoder::FeedResult FrameDecoder::fail(size_t consumed, uint16_t code,
                                            std::string_view reason) {
  state_ = State::Failed;
  error_.close_code = code;
  error_.reason.assign(reason);
  message_ = Message{};
  return {consumed, FeedStatus::Failed};
}

// Checks what the first two header bytes alone decide, as soon as each arrives.
FrameDecoder::FeedResult FrameDecoder::check_header_byte(size_t consumed) {
  if (header_have_ == 1) {
    uint8_t first = header_[0];
    uint8_t opcode = first & kOpcodeBits;
    if (first & kReservedBits)
      return fail(consumed, close_code::kProtocolError,
                  "reserved bits set without a negotiated extension");
    if (!is_known_opcode(opcode))
      return fail(consumed, close_code::kProtocolError, "unknown opcode");
    if ((opcode & 0x8) && !(first & kFin))
      return fail(consumed, close_code::kProtocolError, "fragmented control frame");
    if (opcode == 0x0 && !in_message_)
      return fail(consumed, close_code::kProtocolError,
                  "continuation frame with no message to continue");
    if ((opcode == 0x1 || opcode == 0x2) && in_message_)
      return fail(consumed, close_code::kProtocolError,
                  "new data frame inside a fragmented message");
  } else if (header_have_ == 2) {
    if (masked_ && !(header_[1] & kMaskBit))
      return fail(consumed, close_code::kProtocolError, "unmasked client frame");
    if (!masked_ && (header_[1] & kMaskBit))
      return fail(consumed, close_code::kProtocolError, "masked server frame");
    if ((header_[0] & 0x8) && (header_[1] & kLengthBits) > kMaxControlPayload)
      return fail(consumed, close_code::kProtocolError,
                  "control frame payload over 125 bytes");
  }
  return {consumed, FeedStatus::NeedMore};
}

// The header is complete: checks the length, and starts the frame.
FrameDecoder::FeedResult FrameDecoder::start_frame(size_t consumed) {
  uint64_t length = header_[1] & kLengthBits;
  size_t at = 2;
  if (length == kLength16 || length == kLength64) {
    size_t bytes = length == kLength16 ? 2 : 8;
    length = 0;
    for (size_t i = 0; i < bytes; i++)
      length = (length << 8) | header_[at + i];
    at += bytes;
    if (length >> 63)
      return fail(consumed, close_code::kProtocolError,
                  "64-bit payload length with the top bit set");
  }
  fin_ = (header_[0] & kFin) != 0;
  opcode_ = static_cast<Opcode>(header_[0] & kOpcodeBits);
  if (masked_)
    std::memcpy(mask_.data(), header_.data() + at, 4);
  header_have_ = 0;

  if (is_control()) {
    control_size_ = 0;
  } else {
    size_t buffered = opcode_ == Opcode::Continuation ? data_.size() : 0;
    if (length > max_message_size_ - buffered)
      return fail(consumed, close_code::kMessageTooBig,
                  "message larger than the maximum message size");
    if (opcode_ != Opcode::Continuation) {
      in_message_ = true;
      message_type_ = opcode_ == Opcode::Text ? MessageType::Text : MessageType::Binary;
      data_.clear();
      utf8_ = Utf8Validator{};
    }
  }
  payload_left_ = length;
  mask_offset_ = 0;
  state_ = State::Payload;
  return {consumed, FeedStatus::NeedMore};
}

// The frame's payload is all in: returns Message when it ends a message.
FrameDecoder::FeedResult FrameDecoder::finish_frame(size_t consumed) {
  state_ = State::Header;
  const std::span<const uint8_t> control(control_.data(), control_size_);
  switch (opcode_) {
    case Opcode::Ping:
      message_ = Message{MessageType::Ping, control, 0};
      return {consumed, FeedStatus::Message};
    case Opcode::Pong:
      message_ = Message{MessageType::Pong, control, 0};
      return {consumed, FeedStatus::Message};
    case Opcode::Close: {
      uint16_t code = close_code::kNoStatus;
      std::span<const uint8_t> reason;
      if (control_size_ == 1)
        return fail(consumed, close_code::kProtocolError, "close frame with a 1-byte body");
      if (control_size_ >= 2) {
        code = static_cast<uint16_t>((control_[0] << 8) | control_[1]);
        if (!is_valid_close_code(code))
          return fail(consumed, close_code::kProtocolError, "invalid close code");
        reason = control.subspan(2);
        if (!is_valid_utf8(reason))
          return fail(consumed, close_code::kInvalidPayload,
                      "close reason is not valid UTF-8");
      }
      message_ = Message{MessageType::Close, reason, code};
      state_ = State::Closed;
      return {consumed, FeedStatus::Message};
    }
    default:
      break;
  }
  if (!fin_)
    return {consumed, FeedStatus::NeedMore};
  if (message_type_ == MessageType::Text && !utf8_.complete())
    return fail(consumed, close_code::kInvalidPayload,
                "text message ends inside a UTF-8 character");
  in_message_ = false;
  message_ = Message{message_type_,
                     std::span<const uint8_t>(
                         reinterpret_cast<const uint8_t *>(data_.data()), data_.size()),
                     0};
  return {consumed, FeedStatus::Message};
}

// The fast path of feed_in_place(): true, with message_ set, when @data
// starts with a whole FIN Text or Binary frame that feed() would accept as a
// message; then @consumed is its size. False leaves @data as it was.
bool FrameDecoder::take_whole_frame(uint8_t *data, size_t size, size_t &consumed) {
  const size_t key_size = masked_ ? 4 : 0;
  if (size < 2 + key_size)
    return false;
  const uint8_t first = data[0];
  const uint8_t second = data[1];
  // FIN, no reserved bits, opcode Text or Binary; then the mask bit.
  if ((first != (kFin | 0x1) && first != (kFin | 0x2)) ||
      ((second & kMaskBit) != 0) != masked_)
    return false;
  uint64_t length = second & kLengthBits;
  size_t at = 2;
  if (length == kLength16 || length == kLength64) {
    const size_t bytes = length == kLength16 ? 2 : 8;
    if (size < at + bytes + key_size)
      return false;
    length = 0;
    for (size_t i = 0; i < bytes; i++)
      length = (length << 8) | data[at + i];
    at += bytes;
  }
  // Covers the 64-bit top bit too: feed() reports whichever applies.
  if (length > max_message_size_ || length > size - at - key_size)
    return false;
  std::array<uint8_t, 4> mask{};
  std::memcpy(mask.data(), data + at, key_size);
  uint8_t *payload = data + at + key_size;
  const size_t payload_size = static_cast<size_t>(length);
  const bool is_text = first == (kFin | 0x1);
  if (masked_) {
    const bool ascii = apply_mask(payload, payload_size, mask, 0);
    if (is_text && !ascii &&
        !simdjson::validate_utf8(reinterpret_cast<const char *>(payload), payload_size)) {
      apply_mask(payload, payload_size, mask, 0);  // as it came, for feed() to refuse
      return false;
    }
  } else if (is_text &&
             !simdjson::validate_utf8(reinterpret_cast<const char *>(payload), payload_size)) {
    return false;
  }
  message_ = Message{is_text ? MessageType::Text : MessageType::Binary,
                     std::span<const uint8_t>(payload, payload_size), 0};
  message_in_place_ = true;
  consumed = at + key_size + payload_size;
  return true;
}

FrameDecoder::FeedResult FrameDecoder::feed_in_place(uint8_t *data, size_t size) {
  if (state_ == State::Header && header_have_ == 0 && !in_message_) {
    size_t consumed = 0;
    if (take_whole_frame(data, size, consumed))
      return {consumed, FeedStatus::Message};
  }
  return feed(data, size);
}

FrameDecoder::FeedResult FrameDecoder::feed(const uint8_t *data, size_t size) {
  if (message_in_place_) {
    message_ = Message{};
    message_in_place_ = false;
  }
  size_t pos = 0;
  for (;;) {
    switch (state_) {
      case State::Failed:
        return {pos, FeedStatus::Failed};
      case State::Closed:
        return {size, FeedStatus::NeedMore};
      case State::Header: {
        if (pos == size)
          return {pos, FeedStatus::NeedMore};
        header_[header_have_++] = data[pos++];
        if (header_have_ <= 2) {
          FeedResult checked = check_header_byte(pos);
          if (checked.status == FeedStatus::Failed)
            return checked;
          if (header_have_ < 2)
            continue;
        }
        if (header_have_ < header_size())
          continue;
        FeedResult started = start_frame(pos);
        if (started.status == FeedStatus::Failed)
          return started;
        if (payload_left_ > 0)
          continue;
        FeedResult finished = finish_frame(pos);
        if (finished.status != FeedStatus::NeedMore)
          return finished;
        continue;
      }
      case State::Payload: {
        if (pos == size)
          return {pos, FeedStatus::NeedMore};
        size_t chunk = static_cast<size_t>(
            std::min<uint64_t>(payload_left_, static_cast<uint64_t>(size - pos)));
        uint8_t *dest;
        if (is_control()) {
          dest = control_.data() + control_size_;
          std::memcpy(dest, data + pos, chunk);
          control_size_ += chunk;
        } else {
          size_t old_size = data_.size();
          data_.append(reinterpret_cast<const char *>(data + pos), chunk);
          dest = reinterpret_cast<uint8_t *>(data_.data()) + old_size;
        }
        if (masked_)
          apply_mask(dest, chunk, mask_, mask_offset_);
        pos += chunk;
        payload_left_ -= chunk;
        mask_offset_ = (mask_offset_ + chunk) & 3;
        if (!is_control() && message_type_ == MessageType::Text && !utf8_.feed(dest, chunk))
          return fail(pos, close_code::kInvalidPayload, "text message is not valid UTF-8");
        if (payload_left_ > 0)
          return {pos, FeedStatus::NeedMore};
        FeedResult finished = finish_frame(pos);
        if (finished.status != FeedStatus::NeedMore)
          return finished;
        continue;
      }
    }
  }
}

std::string FrameDecoder::take_data() {
  if (message_.type != MessageType::Text && message_.type != MessageType::Binary)
    return {};
  if (message_in_place_) {
    std::string copied(reinterpret_cast<const char *>(message_.payload.data()),
                       message_.payload.size());
    message_.payload = {};
    message_in_place_ = false;
    return copied;
  }
  if (message_.payload.data() != reinterpret_cast<const uint8_t *>(data_.data()))
    return {};
  std::string taken = std::move(data_);
  data_ = std::string();
  message_.payload = {};
  return taken;
}

size_t encode_frame_header(std::array<uint8_t, 10> &header, Opcode opcode,
                           uint64_t payload_size, bool fin) {
  header[0] = static_cast<uint8_t>((fin ? kFin : 0) | static_cast<uint8_t>(opcode));
  if (payload_size < kLength16) {
    header[1] = static_cast<uint8_t>(payload_size);
    return 2;
  }
  size_t bytes = payload_size <= 0xffff ? 2 : 8;
  header[1] = bytes == 2 ? kLength16 : kLength64;
  for (size_t i = 0; i < bytes; i++)
    header[2 + i] = static_cast<uint8_t>(payload_size >> (8 * (bytes - 1 - i)));
  return 2 + bytes;
}

void append_frame(std::string &out, Opcode opcode, std::span<const uint8_t> payload,
                  bool fin) {
  append_frame_to(out, opcode, payload, fin);
}

void append_frame(std::vector<uint8_t> &out, Opcode opcode,
                  std::span<const uint8_t> payload, bool fin) {
  append_frame_to(out, opcode, payload, fin);
}

void append_text(std::string &out, std::string_view text) {
  append_frame_to(out, Opcode::Text, as_bytes(text), true);
}

void append_text(std::vector<uint8_t> &out, std::string_view text) {
  append_frame_to(out, Opcode::Text, as_bytes(text), true);
}

void append_binary(std::string &out, std::span<const uint8_t> payload) {
  append_frame_to(out, Opcode::Binary, payload, true);
}

void append_binary(std::vector<uint8_t> &out, std::span<const uint8_t> payload) {
  append_frame_to(out, Opcode::Binary, payload, true);
}

bool append_ping(std::string &out, std::span<const uint8_t> payload) {
  return append_control(out, Opcode::Ping, payload);
}

bool append_ping(std::vector<uint8_t> &out, std::span<const uint8_t> payload) {
  return append_control(out, Opcode::Ping, payload);
}

bool append_pong(std::string &out, std::span<const uint8_t> payload) {
  return append_control(out, Opcode::Pong, payload);
}

bool append_pong(std::vector<uint8_t> &out, std::span<const uint8_t> payload) {
  return append_control(out, Opcode::Pong, payload);
}

bool append_close(std::string &out, uint16_t code, std::string_view reason) {
  return append_close_to(out, code, reason);
}

bool append_close(std::vector<uint8_t> &out, uint16_t code, std::string_view reason) {
  return append_close_to(out, code, reason);
}

void append_close_empty(std::string &out) {
  append_frame_to(out, Opcode::Close, {}, true);
}

void append_close_empty(std::vector<uint8_t> &out) {
  append_frame_to(out, Opcode::Close, {}, true);
}

void append_client_frame(std::vector<uint8_t> &out, Opcode opcode,
                         std::span<const uint8_t> payload, std::array<uint8_t, 4> mask,
                         bool fin) {
  std::array<uint8_t, 10> header;
  size_t header_size = encode_frame_header(header, opcode, payload.size(), fin);
  header[1] |= kMaskBit;
  reserve_for(out, header_size + 4 + payload.size());
  append_bytes(out, header.data(), header_size);
  append_bytes(out, mask.data(), mask.size());
  size_t start = out.size();
  append_bytes(out, payload.data(), payload.size());
  apply_mask(out.data() + start, payload.size(), mask, 0);
}

}  // namespace callstream::websocket
