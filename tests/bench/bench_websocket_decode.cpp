// Prints what decoding one client frame costs the daemon's reactor: a
// 216-character Exotel media message, masked, read into one shared buffer
// (as recv() fills Reactor::read_buffer_) and decoded by one of 1,000
// FrameDecoders in turn, through feed() (payload copied into the decoder's
// own buffer) and through feed_in_place() (unmasked where it lies). "cold"
// walks a 32 MiB buffer between rounds, untimed, as the rest of the daemon
// does to the caches between two frames of one call. Figures, not pass/fail:
//   meson test -C build --benchmark --verbose websocket-decode
// Instructions per frame, the decode loops alone counted:
//   valgrind --tool=callgrind --toggle-collect='*decode_round*'
//       build/tests/bench-websocket-decode 1000 20
#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "protocol/websocket_frames.h"

namespace ws = callstream::websocket;

namespace {

constexpr size_t kMessageChars = 216;

// An Exotel media message of exactly kMessageChars characters.
std::string
media_message ()
{
  const std::string head = "{\"event\":\"media\",\"sequence_number\":\"1207\","
      "\"stream_sid\":\"a9c1f1e0b7d84c2f9e3a6b5d4c3b2a10\",\"media\":{\"chunk\":\"1206\","
      "\"timestamp\":\"24120\",\"payload\":\"";
  const std::string tail = "\"}}";
  std::string payload;
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  while (head.size () + payload.size () + tail.size () < kMessageChars)
    payload += alphabet[(payload.size () * 7) % 64];
  return head + payload + tail;
}

enum class Mode { kCopy, kInPlace };

// Not inlined: callgrind counts these alone (--toggle-collect). One frame
// for each decoder, each first "received" into @read_buffer.
template <Mode mode>
G_GNUC_NO_INLINE size_t
decode_round (std::vector<std::unique_ptr<ws::FrameDecoder>> &decoders,
    const std::vector<uint8_t> &frame, std::vector<uint8_t> &read_buffer)
{
  size_t checksum = 0;
  for (auto &decoder : decoders) {
    std::memcpy (read_buffer.data (), frame.data (), frame.size ());  // recv()
    uint8_t *data = read_buffer.data ();
    size_t size = frame.size ();
    while (size > 0) {
      const auto result = mode == Mode::kInPlace ? decoder->feed_in_place (data, size)
                                                 : decoder->feed (data, size);
      data += result.consumed;
      size -= result.consumed;
      if (result.status == ws::FrameDecoder::FeedStatus::Message) {
        const auto payload = decoder->message ().payload;
        checksum += payload.size () + payload[payload.size () / 2];  // the Peer reads it
      } else if (result.status == ws::FrameDecoder::FeedStatus::Failed) {
        g_error ("decode failed: %s", decoder->error ().reason.c_str ());
      }
    }
  }
  return checksum;
}

template <Mode mode>
void
run (const char *what, size_t connections, int rounds, bool cold,
    const std::vector<uint8_t> &frame)
{
  std::vector<std::unique_ptr<ws::FrameDecoder>> decoders;
  for (size_t i = 0; i < connections; i++)
    decoders.push_back (std::make_unique<ws::FrameDecoder> ());
  std::vector<uint8_t> read_buffer (64 * 1024);
  std::vector<uint8_t> other_work (cold ? 32 * 1024 * 1024 : 0);
  size_t checksum = decode_round<mode> (decoders, frame, read_buffer);  // warm-up
  std::chrono::nanoseconds spent {};
  for (int round = 0; round < rounds; round++) {
    for (size_t i = 0; i < other_work.size (); i += 64)
      other_work[i]++;
    const auto start = std::chrono::steady_clock::now ();
    checksum += decode_round<mode> (decoders, frame, read_buffer);
    spent += std::chrono::steady_clock::now () - start;
  }
  const double frames = double (connections) * rounds;
  g_print ("%-36s %-5s %8.1f ns per frame (%zu decoders x %d rounds, checksum %zu)\n", what,
      cold ? "cold" : "warm", double (spent.count ()) / frames, connections, rounds,
      checksum);
}

}  // namespace

int
main (int argc, char **argv)
{
  const size_t connections = argc > 1 ? std::strtoul (argv[1], nullptr, 10) : 1000;
  const int rounds = argc > 2 ? std::atoi (argv[2]) : 200;
  const std::string message = media_message ();
  g_assert_cmpuint (message.size (), ==, kMessageChars);
  std::vector<uint8_t> frame;
  ws::append_client_frame (frame, ws::Opcode::Text, ws::as_bytes (message),
      { 0x5a, 0x13, 0xc7, 0x8e });

  g_print ("one %zu-byte frame (%zu-character text), %s\n", frame.size (), message.size (),
      "time spent in the decode loop only, recv() replaced by a memcpy");
  for (bool cold : { false, true }) {
    run<Mode::kCopy> ("feed (copy into the decoder)", connections, rounds, cold, frame);
    run<Mode::kInPlace> ("feed_in_place (zero copy)", connections, rounds, cold, frame);
  }
  return 0;
}
