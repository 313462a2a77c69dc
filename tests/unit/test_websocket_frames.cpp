// RFC 6455 framing: the section 5.7 examples byte-exact, every way a client
// can break the protocol with the close code a server must answer, the same
// result however the stream is sliced, and encoder output at every length
// boundary.
#include "protocol/websocket_frames.h"

#include <glib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::string_literals;
using namespace std::string_view_literals;
using namespace callstream::websocket;

namespace {

using Bytes = std::string;  // raw bytes; std::string for easy literals
using FeedStatus = FrameDecoder::FeedStatus;

constexpr std::array<uint8_t, 4> kRfcMask = {0x37, 0xfa, 0x21, 0x3d};

// A client frame, built here independently of append_client_frame.
Bytes client_frame(uint8_t first_byte, std::string_view payload,
                   std::array<uint8_t, 4> mask = kRfcMask) {
  Bytes frame(1, static_cast<char>(first_byte));
  const size_t size = payload.size();
  if (size < 126) {
    frame += static_cast<char>(0x80 | size);
  } else if (size <= 0xffff) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(size >> 8);
    frame += static_cast<char>(size & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      frame += static_cast<char>((static_cast<uint64_t>(size) >> shift) & 0xff);
  }
  frame.append(reinterpret_cast<const char *>(mask.data()), 4);
  for (size_t i = 0; i < size; i++)
    frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return frame;
}

Bytes text(std::string_view payload, bool fin = true) {
  return client_frame((fin ? 0x80 : 0x00) | 0x1, payload);
}
Bytes binary(std::string_view payload, bool fin = true) {
  return client_frame((fin ? 0x80 : 0x00) | 0x2, payload);
}
Bytes continuation(std::string_view payload, bool fin = true) {
  return client_frame((fin ? 0x80 : 0x00) | 0x0, payload);
}
Bytes ping(std::string_view payload) { return client_frame(0x89, payload); }
Bytes pong(std::string_view payload) { return client_frame(0x8a, payload); }
Bytes close_frame(uint16_t code, std::string_view reason = {}) {
  Bytes body;
  body += static_cast<char>(code >> 8);
  body += static_cast<char>(code & 0xff);
  body += reason;
  return client_frame(0x88, body);
}

// Every byte value, in an order that differs with @size.
Bytes sample_payload(size_t size) {
  Bytes bytes(size, '\0');
  for (size_t i = 0; i < size; i++)
    bytes[i] = static_cast<char>(i * 37 + size * 11 + 5);
  return bytes;
}

struct Expected {
  MessageType type;
  Bytes payload;
  uint16_t close_code = 0;

  bool operator==(const Expected &) const = default;
};

struct Outcome {
  std::vector<Expected> messages;
  bool failed = false;
  uint16_t error_code = 0;
};

enum class Split { Whole, Bytewise, Random };

// Feeds @stream as one slice, byte by byte, or in random slices (fixed seed),
// collecting every message and the error; checks feed()'s contract as it goes.
Outcome decode(const Bytes &stream, Split split, size_t max_size = kDefaultMaxMessageSize,
               Sender sender = Sender::Client) {
  FrameDecoder decoder(max_size, sender);
  Outcome outcome;
  g_autoptr(GRand) rand = g_rand_new_with_seed(0x6455);
  const auto *data = reinterpret_cast<const uint8_t *>(stream.data());
  size_t pos = 0;
  while (pos < stream.size() && !outcome.failed) {
    size_t slice = stream.size() - pos;
    if (split == Split::Bytewise)
      slice = 1;
    else if (split == Split::Random)
      slice = std::min<size_t>(slice, g_rand_int_range(rand, 1, 20));
    size_t left = slice;
    const uint8_t *at = data + pos;
    while (left > 0) {
      auto result = decoder.feed(at, left);
      g_assert_cmpuint(result.consumed, <=, left);
      at += result.consumed;
      left -= result.consumed;
      if (result.status == FeedStatus::Message) {
        const Message &message = decoder.message();
        outcome.messages.push_back(
            {message.type, Bytes(message.text()), message.close_code});
      } else if (result.status == FeedStatus::Failed) {
        g_assert_true(decoder.failed());
        outcome.failed = true;
        outcome.error_code = decoder.error().close_code;
        g_assert_cmpstr(decoder.error().reason.c_str(), !=, "");
        g_assert_null(strchr(decoder.error().reason.c_str(), '\n'));
        break;
      } else {
        g_assert_cmpuint(left, ==, 0);
      }
    }
    pos += slice;
  }
  if (outcome.failed) {
    // Failed for good: nothing more is consumed, valid input included.
    Bytes valid = text("ok");
    auto again = decoder.feed(reinterpret_cast<const uint8_t *>(valid.data()), valid.size());
    g_assert_cmpint(static_cast<int>(again.status), ==, static_cast<int>(FeedStatus::Failed));
    g_assert_cmpuint(again.consumed, ==, 0);
  }
  return outcome;
}

void assert_messages(const std::vector<Expected> &got, const std::vector<Expected> &want) {
  g_assert_cmpuint(got.size(), ==, want.size());
  for (size_t i = 0; i < got.size(); i++) {
    g_assert_cmpint(static_cast<int>(got[i].type), ==, static_cast<int>(want[i].type));
    g_assert_cmpuint(got[i].close_code, ==, want[i].close_code);
    g_assert_cmpmem(got[i].payload.data(), got[i].payload.size(), want[i].payload.data(),
                    want[i].payload.size());
  }
}

const char *split_name(Split split) {
  switch (split) {
    case Split::Whole: return "whole";
    case Split::Bytewise: return "bytewise";
    case Split::Random: return "random-splits";
  }
  return "";
}

// ---- Streams that decode --------------------------------------------------

struct ValidCase {
  std::string name;
  Bytes stream;
  std::vector<Expected> messages;
  size_t max_size = kDefaultMaxMessageSize;
};

std::vector<ValidCase> valid_cases() {
  const Bytes b256 = sample_payload(256);
  const Bytes b64k = sample_payload(65536);
  std::vector<ValidCase> cases = {
      // RFC 6455 5.7: "A single-frame masked text message".
      {"rfc-masked-hello", "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s,
       {{MessageType::Text, "Hello"}}},
      // RFC 6455 5.7: "Unmasked Ping request and masked Ping response" (the
      // masked Pong, byte-exact; the unmasked Ping is an error case below).
      {"rfc-masked-pong", "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s,
       {{MessageType::Pong, "Hello"}}},
      // The remaining 5.7 examples, masked as a client must send them.
      {"rfc-fragmented-hello", text("Hel", false) + continuation("lo"),
       {{MessageType::Text, "Hello"}}},
      {"rfc-ping-hello", ping("Hello"), {{MessageType::Ping, "Hello"}}},
      {"rfc-binary-256-16bit-length", binary(b256), {{MessageType::Binary, b256}}},
      {"rfc-binary-65536-64bit-length", binary(b64k), {{MessageType::Binary, b64k}}},
      {"empty-text", text(""), {{MessageType::Text, ""}}},
      {"empty-binary", binary(""), {{MessageType::Binary, ""}}},
      {"empty-fragments", text("", false) + continuation("", false) + continuation(""),
       {{MessageType::Text, ""}}},
      {"length-125", binary(sample_payload(125)), {{MessageType::Binary, sample_payload(125)}}},
      {"length-126", binary(sample_payload(126)), {{MessageType::Binary, sample_payload(126)}}},
      {"length-65535", binary(sample_payload(65535)),
       {{MessageType::Binary, sample_payload(65535)}}},
      {"ping-125-bytes", ping(sample_payload(125)), {{MessageType::Ping, sample_payload(125)}}},
      {"empty-ping", ping(""), {{MessageType::Ping, ""}}},
      {"ping-inside-fragmented-message",
       text("Hel", false) + ping("are you there") + continuation("l", false) +
           pong("") + continuation("o"),
       {{MessageType::Ping, "are you there"}, {MessageType::Pong, ""},
        {MessageType::Text, "Hello"}}},
      {"utf8-split-across-fragments",
       text("caf\xc3", false) + continuation("\xa9 \xe2\x82", false) +
           continuation("\xac \xf0\x9f\x8e", false) + continuation("\xb5"),
       {{MessageType::Text, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5"}}},
      {"utf8-boundaries",
       text("\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
            "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"),
       {{MessageType::Text,
         "\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
         "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"}}},
      {"binary-is-not-utf8-checked", binary("\xff\xfe\xc0\x80"),
       {{MessageType::Binary, "\xff\xfe\xc0\x80"}}},
      {"several-messages", text("a") + binary("b") + ping("c") + text("d"),
       {{MessageType::Text, "a"}, {MessageType::Binary, "b"}, {MessageType::Ping, "c"},
        {MessageType::Text, "d"}}},
      {"close-empty", client_frame(0x88, ""), {{MessageType::Close, "", 1005}}},
      {"close-code-only", close_frame(1000), {{MessageType::Close, "", 1000}}},
      {"close-with-reason", close_frame(1001, "caf\xc3\xa9"),
       {{MessageType::Close, "caf\xc3\xa9", 1001}}},
      {"close-reason-123-bytes", close_frame(4000, Bytes(123, 'r')),
       {{MessageType::Close, Bytes(123, 'r'), 4000}}},
      {"bytes-after-close-ignored", close_frame(1000) + text("late") + "\xff\xff"s,
       {{MessageType::Close, "", 1000}}},
      {"non-minimal-16bit-length",
       "\x82\xfe\x00\x03"s + "\x00\x00\x00\x00"s + "abc", {{MessageType::Binary, "abc"}}},
      {"non-minimal-64bit-length",
       "\x82\xff\x00\x00\x00\x00\x00\x00\x00\x03"s + "\x01\x02\x03\x04"s + "\x60\x60\x60"s,
       {{MessageType::Binary, "abc"}}},
      {"message-at-max-size", text("0123456789abcdef"), {{MessageType::Text, "0123456789abcdef"}},
       16},
      {"fragments-at-max-size", binary("01234567", false) + continuation("89abcdef"),
       {{MessageType::Binary, "0123456789abcdef"}}, 16},
      {"control-frames-ignore-max-size", ping(Bytes(100, 'p')),
       {{MessageType::Ping, Bytes(100, 'p')}}, 16},
  };
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
                        4000, 4999}) {
    cases.push_back({"close-code-" + std::to_string(code), close_frame(code, "r"),
                     {{MessageType::Close, "r", code}}});
  }
  return cases;
}

struct SplitCase {
  const void *test_case;
  Split split;
};

void test_valid(gconstpointer data) {
  const auto &split_case = *static_cast<const SplitCase *>(data);
  const auto &c = *static_cast<const ValidCase *>(split_case.test_case);
  Outcome outcome = decode(c.stream, split_case.split, c.max_size);
  g_assert_false(outcome.failed);
  assert_messages(outcome.messages, c.messages);
}

// ---- Streams that must fail the connection ----------------------------------

struct ErrorCase {
  std::string name;
  Bytes stream;
  uint16_t close_code;
  size_t messages_before = 0;
  size_t max_size = kDefaultMaxMessageSize;
};

std::vector<ErrorCase> error_cases() {
  std::vector<ErrorCase> cases = {
      // RFC 6455 5.7's unmasked examples are server frames: from a client, 5.1.
      {"rfc-unmasked-hello", "\x81\x05\x48\x65\x6c\x6c\x6f"s, 1002},
      {"rfc-unmasked-fragmented-hello", "\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f"s, 1002},
      {"rfc-unmasked-ping", "\x89\x05\x48\x65\x6c\x6c\x6f"s, 1002},
      {"unmasked-after-valid", text("ok") + "\x82\x00"s, 1002, 1},
      {"rsv1", client_frame(0xc1, "Hi"), 1002},
      {"rsv2", client_frame(0xa1, "Hi"), 1002},
      {"rsv3", client_frame(0x91, "Hi"), 1002},
      {"rsv-on-continuation", text("a", false) + client_frame(0x90, "b"), 1002},
      {"rsv-on-ping", client_frame(0xc9, ""), 1002},
      {"ping-126-bytes", ping(Bytes(126, 'p')), 1002},
      {"close-126-bytes", close_frame(1000, Bytes(124, 'r')), 1002},
      {"pong-65536-bytes", pong(Bytes(65536, 'p')), 1002},
      {"fragmented-ping", client_frame(0x09, "a"), 1002},
      {"fragmented-pong", client_frame(0x0a, "a"), 1002},
      {"fragmented-close", client_frame(0x08, "\x03\xe8"), 1002},
      {"continuation-without-start", continuation("lo"), 1002},
      {"continuation-after-complete-message", text("Hel") + continuation("lo"), 1002, 1},
      {"text-while-fragmented", text("Hel", false) + text("lo"), 1002},
      {"binary-while-fragmented", binary("Hel", false) + binary("lo"), 1002},
      {"text-while-fragmented-after-ping", text("a", false) + ping("") + text("b"), 1002, 1},
      {"64bit-length-top-bit",
       "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"s + "\x00\x00\x00\x00"s, 1002},
      {"64bit-length-all-ones",
       "\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff"s + "\x00\x00\x00\x00"s, 1002},
      {"close-1-byte-body", client_frame(0x88, "\x03"), 1002},
      {"close-reason-invalid-utf8", close_frame(1000, "\xff"), 1007},
      {"close-reason-truncated-utf8", close_frame(1000, "caf\xc3"), 1007},
      {"text-invalid-byte", text("Hello \xff"), 1007},
      {"text-overlong-2-byte", text("\xc0\x80"), 1007},
      {"text-overlong-3-byte", text("\xe0\x80\xaf"), 1007},
      {"text-overlong-4-byte", text("\xf0\x80\x80\xaf"), 1007},
      {"text-surrogate", text("\xed\xa0\x80"), 1007},
      {"text-above-10ffff", text("\xf4\x90\x80\x80"), 1007},
      {"text-lead-f5", text("\xf5\x80\x80\x80"), 1007},
      {"text-stray-continuation", text("a\x80"), 1007},
      {"text-ends-inside-character", text("caf\xc3"), 1007},
      {"text-fragments-end-inside-character", text("caf", false) + continuation("\xe2\x82"),
       1007},
      {"text-invalid-across-fragments", text("caf\xc3", false) + continuation("(", true),
       1007},
      {"too-big-single-frame", text("0123456789abcdefg"), 1009, 0, 16},
      {"too-big-over-fragments", binary("0123456789", false) + continuation("abcdefg"), 1009,
       0, 16},
      {"too-big-after-a-good-message", text("fits") + binary(Bytes(17, 'x')), 1009, 1, 16},
      {"too-big-64bit-length",
       "\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00"s + "\x00\x00\x00\x00"s, 1009},
      {"too-big-default-limit", binary(Bytes(kDefaultMaxMessageSize + 1, 'x')), 1009},
  };
  for (uint8_t opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    g_autofree gchar *name = g_strdup_printf("unknown-opcode-0x%x", opcode);
    cases.push_back({name, client_frame(0x80 | opcode, "x"), 1002});
  }
  for (uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100,
                        2000, 2999, 5000, 65535}) {
    cases.push_back({"close-code-" + std::to_string(code), close_frame(code), 1002});
  }
  return cases;
}

void test_error(gconstpointer data) {
  const auto &split_case = *static_cast<const SplitCase *>(data);
  const auto &c = *static_cast<const ErrorCase *>(split_case.test_case);
  Outcome outcome = decode(c.stream, split_case.split, c.max_size);
  g_assert_true(outcome.failed);
  g_assert_cmpuint(outcome.error_code, ==, c.close_code);
  g_assert_cmpuint(outcome.messages.size(), ==, c.messages_before);
}

// ---- Decoder behaviour --------------------------------------------------------

FrameDecoder::FeedResult feed(FrameDecoder &decoder, std::string_view bytes) {
  return decoder.feed(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

// The limit is applied from the header alone: the payload never has to arrive.
void test_max_size_before_buffering() {
  FrameDecoder decoder(1000);
  Bytes frame = binary(Bytes(1001, 'x'));
  auto result = feed(decoder, std::string_view(frame).substr(0, 8));  // 4 length + 4 mask
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Failed));
  g_assert_cmpuint(result.consumed, ==, 8);
  g_assert_cmpuint(decoder.error().close_code, ==, 1009);
  g_assert_cmpuint(decoder.max_message_size(), ==, 1000);

  FrameDecoder fragmented(1000);
  Bytes first = binary(Bytes(600, 'x'), false);
  g_assert_cmpint(static_cast<int>(feed(fragmented, first).status), ==,
                  static_cast<int>(FeedStatus::NeedMore));
  Bytes second = continuation(Bytes(401, 'y'));
  result = feed(fragmented, std::string_view(second).substr(0, 8));
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Failed));
  g_assert_cmpuint(fragmented.error().close_code, ==, 1009);
}

// Errors decided by the first header byte are reported on that byte.
void test_fails_on_first_bad_byte() {
  FrameDecoder decoder;
  auto result = feed(decoder, "\xc1\x85\x00\x00\x00\x00"sv);
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Failed));
  g_assert_cmpuint(result.consumed, ==, 1);
}

// feed() stops after each message so its view can be read.
void test_stops_after_each_message() {
  FrameDecoder decoder;
  Bytes first = text("one");
  Bytes stream = first + text("two");
  auto result = feed(decoder, stream);
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Message));
  g_assert_cmpuint(result.consumed, ==, first.size());
  g_assert_true(Bytes(decoder.message().text()) == "one");
  result = feed(decoder, std::string_view(stream).substr(first.size()));
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Message));
  g_assert_cmpuint(result.consumed, ==, stream.size() - first.size());
  g_assert_true(Bytes(decoder.message().text()) == "two");
  g_assert_cmpint(static_cast<int>(feed(decoder, "").status), ==,
                  static_cast<int>(FeedStatus::NeedMore));
}

// A ping between fragments has its own buffer: the message keeps growing.
void test_ping_does_not_disturb_message() {
  FrameDecoder decoder;
  feed(decoder, text("Hel", false));
  auto result = feed(decoder, ping("p"));
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Message));
  g_assert_cmpint(static_cast<int>(decoder.message().type), ==,
                  static_cast<int>(MessageType::Ping));
  g_assert_true(Bytes(decoder.message().text()) == "p");
  result = feed(decoder, continuation("lo"));
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Message));
  g_assert_true(Bytes(decoder.message().text()) == "Hello");
}

void test_take_data() {
  FrameDecoder decoder;
  feed(decoder, text("first message"));
  std::string taken = decoder.take_data();
  g_assert_cmpstr(taken.c_str(), ==, "first message");
  g_assert_cmpuint(decoder.message().payload.size(), ==, 0);
  g_assert_true(decoder.take_data().empty());
  feed(decoder, binary("second"));
  g_assert_true(Bytes(decoder.message().text()) == "second");
  g_assert_cmpstr(taken.c_str(), ==, "first message");
  feed(decoder, ping("p"));
  g_assert_true(decoder.take_data().empty());
}

void test_closed_ignores_rest() {
  FrameDecoder decoder;
  Bytes stream = close_frame(1000, "bye") + text("late");
  auto result = feed(decoder, stream);
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::Message));
  g_assert_true(decoder.closed());
  g_assert_cmpuint(decoder.message().close_code, ==, 1000);
  result = feed(decoder, std::string_view(stream).substr(result.consumed));
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(FeedStatus::NeedMore));
  g_assert_cmpuint(result.consumed, ==, text("late").size());
  g_assert_false(decoder.failed());
}

// ---- feed_in_place ------------------------------------------------------------

// Every result of one decoder over a stream: what feed() (or feed_in_place())
// returned each time, the messages and the error.
struct Trace {
  std::vector<std::pair<size_t, FeedStatus>> results;
  std::vector<Expected> messages;
  bool failed = false;
  uint16_t error_code = 0;
  std::string error_reason;
  size_t in_place = 0;  // messages whose payload was in the slice

  bool same_outcome(const Trace &other) const {
    return messages == other.messages && failed == other.failed &&
           error_code == other.error_code && error_reason == other.error_reason;
  }
};

// Feeds @stream in slices of the sizes @slices gives (the rest in one when they
// run out), each slice first copied into a buffer of its own as recv() would.
Trace trace(const Bytes &stream, bool in_place, const std::vector<size_t> &slices,
            size_t max_size = kDefaultMaxMessageSize, Sender sender = Sender::Client) {
  FrameDecoder decoder(max_size, sender);
  Trace trace;
  size_t pos = 0;
  for (size_t n = 0; pos < stream.size() && !trace.failed; n++) {
    const size_t slice = std::min(stream.size() - pos,
                                  n < slices.size() ? slices[n] : stream.size());
    std::vector<uint8_t> buffer(stream.begin() + pos, stream.begin() + pos + slice);
    uint8_t *at = buffer.data();
    size_t left = slice;
    while (left > 0) {
      auto result = in_place ? decoder.feed_in_place(at, left) : decoder.feed(at, left);
      g_assert_cmpuint(result.consumed, <=, left);
      trace.results.emplace_back(result.consumed, result.status);
      if (result.status == FeedStatus::Message) {
        const Message &message = decoder.message();
        if (!message.payload.empty() && message.payload.data() >= at &&
            message.payload.data() < at + left)
          trace.in_place++;
        trace.messages.push_back({message.type, Bytes(message.text()), message.close_code});
      } else if (result.status == FeedStatus::Failed) {
        trace.failed = true;
        trace.error_code = decoder.error().close_code;
        trace.error_reason = decoder.error().reason;
        break;
      }
      at += result.consumed;
      left -= result.consumed;
    }
    pos += slice;
  }
  return trace;
}

std::vector<size_t> bytewise(size_t size) { return std::vector<size_t>(size, 1); }

std::vector<size_t> random_slices(size_t size, guint32 seed) {
  g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
  std::vector<size_t> slices;
  for (size_t total = 0; total < size;) {
    slices.push_back(g_rand_int_range(rand, 1, 40));
    total += slices.back();
  }
  return slices;
}

// The same results as feed() under the same slicing, consumed counts included.
void assert_same_trace(const Trace &in_place, const Trace &copied) {
  g_assert_cmpuint(in_place.results.size(), ==, copied.results.size());
  for (size_t i = 0; i < copied.results.size(); i++) {
    g_assert_cmpuint(in_place.results[i].first, ==, copied.results[i].first);
    g_assert_cmpint(static_cast<int>(in_place.results[i].second), ==,
                    static_cast<int>(copied.results[i].second));
  }
  assert_messages(in_place.messages, copied.messages);
  g_assert_cmpint(in_place.failed, ==, copied.failed);
  g_assert_cmpuint(in_place.error_code, ==, copied.error_code);
  g_assert_cmpstr(in_place.error_reason.c_str(), ==, copied.error_reason.c_str());
}

// Differential: feed_in_place() gives what feed() gives, whole, byte by byte
// and in random slices; and whole through feed_in_place() the same outcome as
// byte by byte through feed().
void check_same_as_feed(const Bytes &stream, size_t max_size,
                        Sender sender = Sender::Client) {
  const Trace by_byte = trace(stream, false, bytewise(stream.size()), max_size, sender);
  const Trace whole = trace(stream, true, {}, max_size, sender);
  g_assert_true(whole.same_outcome(by_byte));
  assert_same_trace(whole, trace(stream, false, {}, max_size, sender));
  assert_same_trace(trace(stream, true, bytewise(stream.size()), max_size, sender), by_byte);
  for (guint32 seed : {1u, 2u, 3u}) {
    const auto slices = random_slices(stream.size(), seed);
    assert_same_trace(trace(stream, true, slices, max_size, sender),
                      trace(stream, false, slices, max_size, sender));
  }
}

void test_in_place_valid_case(gconstpointer data) {
  const auto &c = *static_cast<const ValidCase *>(data);
  check_same_as_feed(c.stream, c.max_size);
}

void test_in_place_error_case(gconstpointer data) {
  const auto &c = *static_cast<const ErrorCase *>(data);
  check_same_as_feed(c.stream, c.max_size);
}

FrameDecoder::FeedResult feed_in_place(FrameDecoder &decoder, std::vector<uint8_t> &buffer,
                                       size_t offset = 0) {
  return decoder.feed_in_place(buffer.data() + offset, buffer.size() - offset);
}

std::vector<uint8_t> buffer_of(const Bytes &bytes) { return {bytes.begin(), bytes.end()}; }

void assert_status(FrameDecoder::FeedResult result, FeedStatus status) {
  g_assert_cmpint(static_cast<int>(result.status), ==, static_cast<int>(status));
}

// The payload is unmasked where it lies: message() points into the slice.
void test_in_place_whole_frames() {
  const Bytes media = "{\"event\":\"media\",\"media\":{\"payload\":\"caf\xc3\xa9\"}}";
  const Bytes b300 = sample_payload(300);
  const Bytes b70k = sample_payload(70000);
  const struct {
    Bytes frame;
    MessageType type;
    Bytes payload;
    size_t header;
  } cases[] = {
      {text(media), MessageType::Text, media, 6},
      {binary("\xff\x00\xfe"s), MessageType::Binary, "\xff\x00\xfe"s, 6},
      {binary(b300), MessageType::Binary, b300, 8},
      {text(Bytes(300, 'x')), MessageType::Text, Bytes(300, 'x'), 8},
      {binary(b70k), MessageType::Binary, b70k, 14},
      {text(""), MessageType::Text, "", 6},
  };
  for (const auto &c : cases) {
    FrameDecoder decoder;
    std::vector<uint8_t> buffer = buffer_of(c.frame);
    auto result = feed_in_place(decoder, buffer);
    assert_status(result, FeedStatus::Message);
    g_assert_cmpuint(result.consumed, ==, buffer.size());
    const Message &message = decoder.message();
    g_assert_cmpint(static_cast<int>(message.type), ==, static_cast<int>(c.type));
    g_assert_true(message.payload.data() == buffer.data() + c.header);
    g_assert_cmpmem(message.payload.data(), message.payload.size(), c.payload.data(),
                    c.payload.size());
  }
}

void test_in_place_several_frames() {
  const Bytes stream = text("one") + binary("two") + text("three");
  std::vector<uint8_t> buffer = buffer_of(stream);
  FrameDecoder decoder;
  size_t offset = 0;
  for (const char *want : {"one", "two", "three"}) {
    auto result = feed_in_place(decoder, buffer, offset);
    assert_status(result, FeedStatus::Message);
    g_assert_true(decoder.message().payload.data() == buffer.data() + offset + 6);
    g_assert_true(Bytes(decoder.message().text()) == want);
    offset += result.consumed;
  }
  g_assert_cmpuint(offset, ==, buffer.size());
}

// A frame the slice cuts goes through feed(): same message, in the decoder's
// own buffer; the next whole frame is in place again.
void test_in_place_split_frame() {
  const Bytes stream = text("Hello, split") + text("whole");
  for (size_t cut = 1; cut < text("Hello, split").size(); cut++) {
    FrameDecoder decoder;
    std::vector<uint8_t> first(stream.begin(), stream.begin() + cut);
    std::vector<uint8_t> second(stream.begin() + cut, stream.end());
    auto result = feed_in_place(decoder, first);
    assert_status(result, FeedStatus::NeedMore);
    g_assert_cmpuint(result.consumed, ==, cut);
    result = feed_in_place(decoder, second);
    assert_status(result, FeedStatus::Message);
    g_assert_true(Bytes(decoder.message().text()) == "Hello, split");
    g_assert_false(decoder.message().payload.data() >= second.data() &&
                   decoder.message().payload.data() < second.data() + second.size());
    const size_t offset = result.consumed;
    result = feed_in_place(decoder, second, offset);
    assert_status(result, FeedStatus::Message);
    g_assert_true(decoder.message().payload.data() == second.data() + offset + 6);
    g_assert_true(Bytes(decoder.message().text()) == "whole");
  }
}

// Frames the fast path declines fail exactly as through feed(): code, reason
// and the bytes consumed up to the bad one.
void test_in_place_errors() {
  const struct {
    const char *name;
    Bytes stream;
    uint16_t code;
    size_t max_size;
  } cases[] = {
      {"invalid-utf8", text("Hello \xff world"), 1007, kDefaultMaxMessageSize},
      {"utf8-cut", text("caf\xc3"), 1007, kDefaultMaxMessageSize},
      {"surrogate", text("\xed\xa0\x80"), 1007, kDefaultMaxMessageSize},
      {"rsv1", client_frame(0xc1, "Hi"), 1002, kDefaultMaxMessageSize},
      {"rsv3-binary", client_frame(0x92, "Hi"), 1002, kDefaultMaxMessageSize},
      {"unmasked", "\x81\x05Hello"s, 1002, kDefaultMaxMessageSize},
      {"oversize", text("0123456789abcdefg"), 1009, 16},
      {"oversize-16bit", binary(Bytes(200, 'x')), 1009, 199},
      {"64bit-top-bit", "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01"s + "\x00\x00\x00\x00x"s,
       1002, kDefaultMaxMessageSize},
      {"unknown-opcode", client_frame(0x83, "x"), 1002, kDefaultMaxMessageSize},
  };
  for (const auto &c : cases) {
    FrameDecoder in_place(c.max_size), copied(c.max_size);
    std::vector<uint8_t> buffer = buffer_of(c.stream);
    auto got = feed_in_place(in_place, buffer);
    auto want = copied.feed(reinterpret_cast<const uint8_t *>(c.stream.data()),
                            c.stream.size());
    g_test_message("%s", c.name);
    assert_status(got, FeedStatus::Failed);
    assert_status(want, FeedStatus::Failed);
    g_assert_cmpuint(got.consumed, ==, want.consumed);
    g_assert_cmpuint(in_place.error().close_code, ==, c.code);
    g_assert_cmpuint(copied.error().close_code, ==, c.code);
    g_assert_cmpstr(in_place.error().reason.c_str(), ==, copied.error().reason.c_str());
    g_assert_true(in_place.failed());
    assert_status(feed_in_place(in_place, buffer), FeedStatus::Failed);
  }
}

// RFC 6455 asks for the shortest length encoding; feed() does not enforce it,
// so neither does the fast path: the same message, in place.
void test_in_place_non_minimal_length() {
  const Bytes frames[] = {
      "\x82\xfe\x00\x03"s + "\x00\x00\x00\x00"s + "abc",
      "\x81\xff\x00\x00\x00\x00\x00\x00\x00\x03"s + "\x01\x02\x03\x04"s + "\x60\x60\x60"s,
  };
  for (const Bytes &frame : frames) {
    FrameDecoder decoder;
    std::vector<uint8_t> buffer = buffer_of(frame);
    assert_status(feed_in_place(decoder, buffer), FeedStatus::Message);
    g_assert_true(Bytes(decoder.message().text()) == "abc");
    g_assert_true(decoder.message().payload.data() == buffer.data() + buffer.size() - 3);
    check_same_as_feed(frame, kDefaultMaxMessageSize);
  }
}

// Control frames and fragments go through feed(); the whole frames around
// them stay in place.
void test_in_place_control_frames() {
  const Bytes stream = text("a") + ping("p") + binary("b") + pong("") + text("c", false) +
                       ping("q") + continuation("d") + text("e") + close_frame(1000, "bye") +
                       text("late");
  std::vector<uint8_t> buffer = buffer_of(stream);
  FrameDecoder decoder;
  const struct {
    MessageType type;
    const char *payload;
    bool in_place;
  } want[] = {
      {MessageType::Text, "a", true},   {MessageType::Ping, "p", false},
      {MessageType::Binary, "b", true}, {MessageType::Pong, "", false},
      {MessageType::Ping, "q", false},  {MessageType::Text, "cd", false},
      {MessageType::Text, "e", true},   {MessageType::Close, "bye", false},
  };
  size_t offset = 0;
  for (const auto &w : want) {
    auto result = feed_in_place(decoder, buffer, offset);
    assert_status(result, FeedStatus::Message);
    const Message &message = decoder.message();
    g_assert_cmpint(static_cast<int>(message.type), ==, static_cast<int>(w.type));
    g_assert_true(Bytes(message.text()) == w.payload);
    const bool in_buffer = message.payload.data() >= buffer.data() + offset &&
                           message.payload.data() < buffer.data() + buffer.size();
    g_assert_cmpint(in_buffer, ==, w.in_place);
    offset += result.consumed;
  }
  g_assert_true(decoder.closed());
  auto result = feed_in_place(decoder, buffer, offset);
  assert_status(result, FeedStatus::NeedMore);
  g_assert_cmpuint(offset + result.consumed, ==, buffer.size());
}

// take_data() copies a payload that lives in the caller's buffer.
void test_in_place_take_data() {
  std::vector<uint8_t> buffer = buffer_of(text("in place"));
  FrameDecoder decoder;
  assert_status(feed_in_place(decoder, buffer), FeedStatus::Message);
  std::string taken = decoder.take_data();
  std::fill(buffer.begin(), buffer.end(), 0);
  g_assert_cmpstr(taken.c_str(), ==, "in place");
  g_assert_cmpuint(decoder.message().payload.size(), ==, 0);
  g_assert_true(decoder.take_data().empty());
  // A later copied message still moves out of the decoder.
  const Bytes cut = binary("copied");
  std::vector<uint8_t> head(cut.begin(), cut.begin() + 3), tail(cut.begin() + 3, cut.end());
  feed_in_place(decoder, head);
  assert_status(feed_in_place(decoder, tail), FeedStatus::Message);
  const std::string copied = decoder.take_data();
  g_assert_cmpstr(copied.c_str(), ==, "copied");
  // After a NeedMore, the last in-place message is gone, as after feed().
  buffer = buffer_of(text("again"));
  assert_status(feed_in_place(decoder, buffer), FeedStatus::Message);
  feed_in_place(decoder, head);
  g_assert_true(decoder.take_data().empty());
}

// ---- Encoders ---------------------------------------------------------------

struct EncoderCase {
  const char *path;
  Bytes (*encode)();
  Bytes expected;
};

Bytes encode_text_hello() { Bytes out; append_text(out, "Hello"); return out; }
Bytes encode_fragmented_hello() {
  Bytes out;
  append_frame(out, Opcode::Text, as_bytes("Hel"), false);
  append_frame(out, Opcode::Continuation, as_bytes("lo"));
  return out;
}
Bytes encode_ping_hello() { Bytes out; append_ping(out, as_bytes("Hello")); return out; }
Bytes encode_pong_hello() { Bytes out; append_pong(out, as_bytes("Hello")); return out; }
Bytes encode_binary_256() {
  Bytes out; append_binary(out, as_bytes(sample_payload(256))); return out;
}
Bytes encode_binary_65536() {
  Bytes out; append_binary(out, as_bytes(sample_payload(65536))); return out;
}
Bytes encode_close_normal() { Bytes out; append_close(out, 1000, "bye"); return out; }
Bytes encode_close_protocol_error() { Bytes out; append_close(out, 1002); return out; }
Bytes encode_close_empty() { Bytes out; append_close_empty(out); return out; }
Bytes encode_after_existing() { Bytes out = "prefix"; append_text(out, "x"); return out; }

const EncoderCase kEncoderCases[] = {
    // RFC 6455 5.7, byte-exact.
    {"/websocket/encode/rfc-text-hello", encode_text_hello, "\x81\x05Hello"},
    {"/websocket/encode/rfc-fragmented-hello", encode_fragmented_hello,
     "\x01\x03Hel\x80\x02lo"},
    {"/websocket/encode/rfc-ping-hello", encode_ping_hello, "\x89\x05Hello"},
    {"/websocket/encode/pong-hello", encode_pong_hello, "\x8a\x05Hello"},
    {"/websocket/encode/rfc-binary-256", encode_binary_256,
     "\x82\x7e\x01\x00"s + sample_payload(256)},
    {"/websocket/encode/rfc-binary-65536", encode_binary_65536,
     "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s + sample_payload(65536)},
    {"/websocket/encode/close-normal", encode_close_normal, "\x88\x05\x03\xe8" "bye"},
    {"/websocket/encode/close-protocol-error", encode_close_protocol_error,
     "\x88\x02\x03\xea"},
    {"/websocket/encode/close-empty", encode_close_empty, "\x88\x00"s},
    {"/websocket/encode/appends", encode_after_existing, "prefix\x81\x01x"},
};

void test_encoder(gconstpointer data) {
  const auto &c = *static_cast<const EncoderCase *>(data);
  Bytes out = c.encode();
  g_assert_cmpmem(out.data(), out.size(), c.expected.data(), c.expected.size());
}

// The header every payload length gets, at each boundary of the three forms.
struct LengthCase {
  size_t length;
  Bytes header;  // after the first byte
};

const LengthCase kLengthCases[] = {
    {0, "\x00"s},
    {1, "\x01"s},
    {125, "\x7d"s},
    {126, "\x7e\x00\x7e"s},
    {127, "\x7e\x00\x7f"s},
    {65535, "\x7e\xff\xff"s},
    {65536, "\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s},
    {65537, "\x7f\x00\x00\x00\x00\x00\x01\x00\x01"s},
};

void test_encode_length(gconstpointer data) {
  const auto &c = *static_cast<const LengthCase *>(data);
  const Bytes payload = sample_payload(c.length);
  const Bytes text_expected = "\x81"s + c.header + payload;
  const Bytes binary_expected = "\x82"s + c.header + payload;

  Bytes out;
  append_text(out, payload);
  g_assert_cmpmem(out.data(), out.size(), text_expected.data(), text_expected.size());
  out.clear();
  append_binary(out, as_bytes(payload));
  g_assert_cmpmem(out.data(), out.size(), binary_expected.data(), binary_expected.size());

  std::vector<uint8_t> vector_out;
  append_binary(vector_out, as_bytes(payload));
  g_assert_cmpmem(vector_out.data(), vector_out.size(), binary_expected.data(),
                  binary_expected.size());
  vector_out.clear();
  append_text(vector_out, payload);
  g_assert_cmpmem(vector_out.data(), vector_out.size(), text_expected.data(),
                  text_expected.size());

  std::array<uint8_t, 10> header;
  size_t header_size = encode_frame_header(header, Opcode::Binary, c.length);
  g_assert_cmpmem(header.data(), header_size, binary_expected.data(), 1 + c.header.size());

  // Control frames: up to 125 bytes, and nothing at all past that.
  for (bool is_ping : {true, false}) {
    Bytes control = "kept";
    std::vector<uint8_t> control_vector;
    bool appended = is_ping ? append_ping(control, as_bytes(payload))
                            : append_pong(control, as_bytes(payload));
    bool appended_vector = is_ping ? append_ping(control_vector, as_bytes(payload))
                                   : append_pong(control_vector, as_bytes(payload));
    g_assert_cmpint(appended, ==, c.length <= 125);
    g_assert_cmpint(appended_vector, ==, c.length <= 125);
    Bytes expected = "kept"s;
    if (c.length <= 125)
      expected += (is_ping ? "\x89"s : "\x8a"s) + c.header + payload;
    g_assert_cmpmem(control.data(), control.size(), expected.data(), expected.size());
    g_assert_cmpmem(control_vector.data(), control_vector.size(), expected.data() + 4,
                    expected.size() - 4);
  }
}

void test_encode_close_rules() {
  std::vector<uint8_t> out;
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000}) {
    g_assert_false(append_close(out, code, "x"));
    g_assert_cmpuint(out.size(), ==, 0);
  }
  // A reason too long for a control frame is cut at a character boundary.
  const Bytes reason = Bytes(122, 'a') + "\xc3\xa9";
  g_assert_true(append_close(out, 1001, reason));
  g_assert_cmpuint(out.size(), ==, 2 + 2 + 122);
  g_assert_cmpuint(out[1], ==, 2 + 122);
  g_assert_true(is_valid_utf8(std::span<const uint8_t>(out).subspan(4)));
  out.clear();
  g_assert_true(append_close(out, 4000, Bytes(200, 'b')));
  g_assert_cmpuint(out[1], ==, 125);
}

// Our client encoder against the test's own: identical bytes.
void test_client_frame_encoder() {
  for (size_t length : {0, 5, 125, 126, 65535, 65536}) {
    const Bytes payload = sample_payload(length);
    std::vector<uint8_t> out;
    append_client_frame(out, Opcode::Binary, as_bytes(payload), kRfcMask);
    const Bytes expected = binary(payload);
    g_assert_cmpmem(out.data(), out.size(), expected.data(), expected.size());
  }
}

// Encoded as a client would (random masks, random fragmentation, pings in
// between), sliced at random, decoded back to the same messages.
void test_round_trip() {
  g_autoptr(GRand) rand = g_rand_new_with_seed(20240611);
  for (size_t length : {0, 1, 7, 125, 126, 127, 1000, 65535, 65536, 70001}) {
    for (MessageType type : {MessageType::Text, MessageType::Binary}) {
      Bytes payload = type == MessageType::Text ? Bytes(length, 'x') : sample_payload(length);
      if (type == MessageType::Text && length >= 4)
        payload.replace(length / 2 - 1, 3, "\xe2\x82\xac");  // a character to split
      std::vector<uint8_t> stream;
      const size_t fragments = 1 + g_rand_int_range(rand, 0, 4);
      size_t offset = 0;
      for (size_t f = 0; f < fragments; f++) {
        const size_t end = f + 1 == fragments ? length : offset + (length - offset) / 2;
        std::array<uint8_t, 4> mask;
        for (uint8_t &byte : mask)
          byte = static_cast<uint8_t>(g_rand_int(rand));
        Opcode opcode = f > 0 ? Opcode::Continuation
                              : (type == MessageType::Text ? Opcode::Text : Opcode::Binary);
        append_client_frame(stream, opcode,
                            as_bytes(std::string_view(payload).substr(offset, end - offset)),
                            mask, f + 1 == fragments);
        if (f + 1 < fragments)
          append_client_frame(stream, Opcode::Ping, as_bytes("hb"), mask);
        offset = end;
      }
      const Bytes bytes(stream.begin(), stream.end());
      for (Split split : {Split::Whole, Split::Random}) {
        Outcome outcome = decode(bytes, split);
        g_assert_false(outcome.failed);
        g_assert_cmpuint(outcome.messages.size(), ==, fragments);
        assert_messages({outcome.messages.back()}, {{type, payload}});
      }
    }
  }
}

void test_utf8_validator() {
  g_assert_true(is_valid_utf8(as_bytes("")));
  g_assert_true(is_valid_utf8(as_bytes("plain ascii, longer than a word")));
  g_assert_false(is_valid_utf8(as_bytes("plain ascii, then \xff")));
  // Every 1-, 2- and 3-byte sequence agrees with GLib (which refuses NUL, so
  // NUL bytes are left out).
  for (int first = 1; first < 256; first++) {
    for (int second = 1; second < 256; second++) {
      const char pair[2] = {static_cast<char>(first), static_cast<char>(second)};
      g_assert_cmpint(is_valid_utf8(as_bytes(std::string_view(pair, 2))), ==,
                      g_utf8_validate_len(pair, 2, nullptr));
      if (first < 0xc0)
        continue;
      for (int third = 1; third < 256; third++) {
        const char triple[3] = {static_cast<char>(first), static_cast<char>(second),
                                static_cast<char>(third)};
        g_assert_cmpint(is_valid_utf8(as_bytes(std::string_view(triple, 3))), ==,
                        g_utf8_validate_len(triple, 3, nullptr));
      }
    }
  }
  // 4-byte forms at the edges: U+10000, U+10FFFF, and just past them.
  g_assert_true(is_valid_utf8(as_bytes("\xf0\x90\x80\x80")));
  g_assert_true(is_valid_utf8(as_bytes("\xf4\x8f\xbf\xbf")));
  g_assert_false(is_valid_utf8(as_bytes("\xf0\x8f\xbf\xbf")));
  g_assert_false(is_valid_utf8(as_bytes("\xf4\x90\x80\x80")));
}

// ---- Frames a server sends (Sender::Server: unmasked) -------------------------

struct ServerCase {
  std::string name;
  Bytes stream;
  std::vector<Expected> messages;
  uint16_t error_code = 0;  // 0: no error
};

Bytes server_text(std::string_view payload) { Bytes out; append_text(out, payload); return out; }

std::vector<ServerCase> server_cases() {
  const Bytes b256 = sample_payload(256);
  const Bytes b70k = sample_payload(70000);
  Bytes binary_70k;
  append_binary(binary_70k, as_bytes(b70k));
  return {
      // RFC 6455 5.7's unmasked examples.
      {"rfc-hello", "\x81\x05Hello"s, {{MessageType::Text, "Hello"}}},
      {"rfc-fragmented-hello", "\x01\x03Hel\x80\x02lo"s, {{MessageType::Text, "Hello"}}},
      {"rfc-ping", "\x89\x05Hello"s, {{MessageType::Ping, "Hello"}}},
      {"rfc-binary-256", "\x82\x7e\x01\x00"s + b256, {{MessageType::Binary, b256}}},
      {"binary-70000", binary_70k, {{MessageType::Binary, b70k}}},
      {"ping-between-fragments", "\x01\x03Hel\x89\x01p\x80\x02lo"s,
       {{MessageType::Ping, "p"}, {MessageType::Text, "Hello"}}},
      {"two-texts", server_text("caf\xc3\xa9") + server_text("{}"),
       {{MessageType::Text, "caf\xc3\xa9"}, {MessageType::Text, "{}"}}},
      {"close-with-reason", "\x88\x05\x0f\xa0" "bye"s, {{MessageType::Close, "bye", 4000}}},
      // The other way round is what a client must refuse (RFC 6455 5.1).
      {"rfc-masked-hello", "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s, {}, 1002},
      {"masked-after-valid", server_text("ok") + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s,
       {{MessageType::Text, "ok"}}, 1002},
      {"text-invalid-utf8", server_text("Hello \xff"), {}, 1007},
      {"text-lone-surrogate", server_text("\xed\xa0\x80"), {}, 1007},
  };
}

void test_server_case(gconstpointer data) {
  const auto &c = *static_cast<const ServerCase *>(data);
  for (Split split : {Split::Whole, Split::Bytewise, Split::Random}) {
    const Outcome outcome = decode(c.stream, split, kDefaultMaxMessageSize, Sender::Server);
    assert_messages(outcome.messages, c.messages);
    g_assert_cmpint(outcome.failed, ==, c.error_code != 0);
    g_assert_cmpuint(outcome.error_code, ==, c.error_code);
  }
  check_same_as_feed(c.stream, kDefaultMaxMessageSize, Sender::Server);
}

// A server's frame is read in place, like a client's, with nothing to unmask.
void test_server_in_place() {
  const Bytes json = "{\"type\":\"response.output_audio.delta\",\"delta\":\"AAAA\"}";
  std::vector<uint8_t> buffer = buffer_of(server_text(json) + server_text("caf\xc3\xa9"));
  FrameDecoder decoder(kDefaultMaxMessageSize, Sender::Server);
  auto result = decoder.feed_in_place(buffer.data(), buffer.size());
  assert_status(result, FeedStatus::Message);
  g_assert_true(decoder.message().payload.data() == buffer.data() + 2);
  const std::string got(decoder.message().text());
  g_assert_cmpstr(got.c_str(), ==, json.c_str());
  const size_t first = result.consumed;
  result = decoder.feed_in_place(buffer.data() + first, buffer.size() - first);
  assert_status(result, FeedStatus::Message);
  g_assert_true(decoder.message().payload.data() == buffer.data() + first + 2);
  g_assert_cmpuint(first + result.consumed, ==, buffer.size());
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);

  // Kept alive for the whole run: the tests get pointers into them.
  static const std::vector<ValidCase> kValid = valid_cases();
  static const std::vector<ErrorCase> kErrors = error_cases();
  static std::vector<SplitCase> split_cases;
  split_cases.reserve(3 * (kValid.size() + kErrors.size()));
  const Split kSplits[] = {Split::Whole, Split::Bytewise, Split::Random};

  for (const ValidCase &c : kValid) {
    for (Split split : kSplits) {
      split_cases.push_back({&c, split});
      g_autofree gchar *path =
          g_strdup_printf("/websocket/decode/%s/%s", c.name.c_str(), split_name(split));
      g_test_add_data_func(path, &split_cases.back(), test_valid);
    }
  }
  for (const ErrorCase &c : kErrors) {
    for (Split split : kSplits) {
      split_cases.push_back({&c, split});
      g_autofree gchar *path =
          g_strdup_printf("/websocket/error/%s/%s", c.name.c_str(), split_name(split));
      g_test_add_data_func(path, &split_cases.back(), test_error);
    }
  }
  g_test_add_func("/websocket/decoder/max-size-before-buffering",
                  test_max_size_before_buffering);
  g_test_add_func("/websocket/decoder/fails-on-first-bad-byte", test_fails_on_first_bad_byte);
  g_test_add_func("/websocket/decoder/stops-after-each-message",
                  test_stops_after_each_message);
  g_test_add_func("/websocket/decoder/ping-does-not-disturb-message",
                  test_ping_does_not_disturb_message);
  g_test_add_func("/websocket/decoder/take-data", test_take_data);
  g_test_add_func("/websocket/decoder/closed-ignores-rest", test_closed_ignores_rest);
  g_test_add_func("/websocket/in-place/whole-frames", test_in_place_whole_frames);
  g_test_add_func("/websocket/in-place/several-frames-one-slice", test_in_place_several_frames);
  g_test_add_func("/websocket/in-place/split-frame-falls-back", test_in_place_split_frame);
  g_test_add_func("/websocket/in-place/errors-as-feed", test_in_place_errors);
  g_test_add_func("/websocket/in-place/non-minimal-length", test_in_place_non_minimal_length);
  g_test_add_func("/websocket/in-place/control-frames-between-messages",
                  test_in_place_control_frames);
  g_test_add_func("/websocket/in-place/take-data-copies", test_in_place_take_data);
  for (const ValidCase &c : kValid) {
    g_autofree gchar *path =
        g_strdup_printf("/websocket/in-place/same-as-feed/%s", c.name.c_str());
    g_test_add_data_func(path, &c, test_in_place_valid_case);
  }
  for (const ErrorCase &c : kErrors) {
    g_autofree gchar *path =
        g_strdup_printf("/websocket/in-place/same-as-feed/error-%s", c.name.c_str());
    g_test_add_data_func(path, &c, test_in_place_error_case);
  }
  for (const EncoderCase &c : kEncoderCases)
    g_test_add_data_func(c.path, &c, test_encoder);
  for (const LengthCase &c : kLengthCases) {
    g_autofree gchar *path = g_strdup_printf("/websocket/encode/length-%zu", c.length);
    g_test_add_data_func(path, &c, test_encode_length);
  }
  g_test_add_func("/websocket/encode/close-rules", test_encode_close_rules);
  g_test_add_func("/websocket/encode/client-frame", test_client_frame_encoder);
  g_test_add_func("/websocket/round-trip", test_round_trip);
  static const std::vector<ServerCase> kServer = server_cases();
  for (const ServerCase &c : kServer) {
    g_autofree gchar *path = g_strdup_printf("/websocket/server-frames/%s", c.name.c_str());
    g_test_add_data_func(path, &c, test_server_case);
  }
  g_test_add_func("/websocket/server-frames/in-place", test_server_in_place);
  g_test_add_func("/websocket/utf8/validator", test_utf8_validator);
  return g_test_run();
}
