// Fuzz target: any bytes as the stream a client sends, and the same bytes as
// the stream a server sends (unmasked frames). The first byte picks
// the message size limit and how the stream is sliced. Decoding must never
// crash, and must give the same messages and the same error whether the bytes
// come in one slice or in many; every message must obey RFC 6455 and survive
// a re-encode (masked for a client, plain for a server) and decode unchanged. feed_in_place(), over a copy
// sliced the same way, must give exactly what feed() gives: the same results
// (consumed counts included), messages and error.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protocol/websocket_frames.h"

namespace {

using namespace callstream::websocket;

struct Decoded {
  MessageType type;
  uint16_t close_code;
  std::vector<uint8_t> payload;

  bool operator==(const Decoded &) const = default;
};

struct Outcome {
  std::vector<std::pair<size_t, uint8_t>> results;  // consumed, status
  std::vector<Decoded> messages;
  bool failed = false;
  uint16_t error_code = 0;
  std::string error_reason;

  bool operator==(const Outcome &) const = default;
};

void check(bool condition) {
  if (!condition)
    __builtin_trap();
}

void check_message(const Message &message, size_t max_size) {
  switch (message.type) {
    case MessageType::Text:
      check(is_valid_utf8(message.payload));
      [[fallthrough]];
    case MessageType::Binary:
      check(message.payload.size() <= max_size);
      check(message.close_code == 0);
      break;
    case MessageType::Ping:
    case MessageType::Pong:
      check(message.payload.size() <= kMaxControlPayload);
      break;
    case MessageType::Close:
      check(message.payload.size() <= kMaxControlPayload - 2);
      check(message.close_code == close_code::kNoStatus ||
            is_valid_close_code(message.close_code));
      check(is_valid_utf8(message.payload));
      break;
  }
}

// Feeds @data in slices whose sizes come from @seed (all of it when 0),
// through feed(), or through feed_in_place() on a copy of each slice.
Outcome decode(Sender sender, const uint8_t *data, size_t size, size_t max_size,
               uint32_t seed, bool in_place = false) {
  FrameDecoder decoder(max_size, sender);
  Outcome outcome;
  std::vector<uint8_t> copy;
  size_t pos = 0;
  uint32_t state = seed;
  while (pos < size) {
    size_t slice = size - pos;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      slice = std::min<size_t>(slice, 1 + (state >> 16) % 9);
    }
    copy.assign(data + pos, data + pos + slice);  // what recv() wrote
    uint8_t *slice_data = copy.data();
    size_t left = slice;
    while (left > 0) {
      auto result = in_place ? decoder.feed_in_place(slice_data, left)
                             : decoder.feed(slice_data, left);
      check(result.consumed <= left);
      outcome.results.push_back({result.consumed, static_cast<uint8_t>(result.status)});
      slice_data += result.consumed;
      left -= result.consumed;
      if (result.status == FrameDecoder::FeedStatus::Message) {
        check(result.consumed > 0);
        const Message &message = decoder.message();
        check_message(message, max_size);
        outcome.messages.push_back(
            {message.type, message.close_code,
             std::vector<uint8_t>(message.payload.begin(), message.payload.end())});
      } else if (result.status == FrameDecoder::FeedStatus::Failed) {
        check(decoder.failed());
        outcome.failed = true;
        outcome.error_code = decoder.error().close_code;
        outcome.error_reason = decoder.error().reason;
        check(outcome.error_code == close_code::kProtocolError ||
              outcome.error_code == close_code::kInvalidPayload ||
              outcome.error_code == close_code::kMessageTooBig);
        check(decoder.feed(data, size).status == FrameDecoder::FeedStatus::Failed);
        return outcome;
      } else {
        check(left == 0);
      }
    }
    pos += slice;
  }
  return outcome;
}

Opcode opcode_of(MessageType type) {
  switch (type) {
    case MessageType::Text: return Opcode::Text;
    case MessageType::Binary: return Opcode::Binary;
    case MessageType::Ping: return Opcode::Ping;
    case MessageType::Pong: return Opcode::Pong;
    case MessageType::Close: return Opcode::Close;
  }
  return Opcode::Binary;
}

// Encodes @messages as @sender would, data messages split in two fragments.
std::vector<uint8_t> reencode(Sender sender, const std::vector<Decoded> &messages) {
  std::vector<uint8_t> stream;
  const std::array<uint8_t, 4> mask = {0x37, 0xfa, 0x21, 0x3d};
  const auto append_client_frame = [sender](std::vector<uint8_t> &out, Opcode opcode,
                                            std::span<const uint8_t> payload,
                                            std::array<uint8_t, 4> key, bool fin = true) {
    if (sender == Sender::Client)
      callstream::websocket::append_client_frame(out, opcode, payload, key, fin);
    else
      append_frame(out, opcode, payload, fin);
  };
  for (const Decoded &message : messages) {
    std::span<const uint8_t> payload(message.payload);
    if (message.type == MessageType::Close) {
      if (message.close_code == close_code::kNoStatus) {
        append_client_frame(stream, Opcode::Close, {}, mask);
      } else {
        std::vector<uint8_t> body = {static_cast<uint8_t>(message.close_code >> 8),
                                     static_cast<uint8_t>(message.close_code & 0xff)};
        body.insert(body.end(), payload.begin(), payload.end());
        append_client_frame(stream, Opcode::Close, body, mask);
      }
    } else if (message.type == MessageType::Text || message.type == MessageType::Binary) {
      size_t half = payload.size() / 2;
      append_client_frame(stream, opcode_of(message.type), payload.first(half), mask, false);
      append_client_frame(stream, Opcode::Continuation, payload.subspan(half), mask, true);
    } else {
      append_client_frame(stream, opcode_of(message.type), payload, mask);
    }
  }
  return stream;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const size_t max_size = size_t{16} << (data[0] & 0x0f);  // 16 B to 512 KiB
  const uint32_t seed = (data[0] >> 4) + 1;
  data++;
  size--;

  for (Sender sender : {Sender::Client, Sender::Server}) {
    const Outcome whole = decode(sender, data, size, max_size, 0);
    const Outcome sliced = decode(sender, data, size, max_size, seed);
    check(whole.messages == sliced.messages && whole.failed == sliced.failed &&
          whole.error_code == sliced.error_code && whole.error_reason == sliced.error_reason);
    check(decode(sender, data, size, max_size, 0, true) == whole);
    check(decode(sender, data, size, max_size, seed, true) == sliced);

    const std::vector<uint8_t> again = reencode(sender, whole.messages);
    const Outcome redecoded = decode(sender, again.data(), again.size(), max_size, seed);
    check(!redecoded.failed);
    check(redecoded.messages == whole.messages);
  }
  return 0;
}
