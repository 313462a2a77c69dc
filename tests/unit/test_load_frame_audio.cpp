// The audio of the load generator's ingest frames (tools/load_common.h
// FrameAudio): the base64 sent, made of a per-frame header and a body
// encoded once, is the frame's own base64; the check a frame read back from
// Redis goes through catches every changed byte and every other frame.
#include <glib.h>

#include <string>
#include <vector>

#include "load_common.h"

using callstream_load::FrameAudio;

namespace {

// PCM16 and u-law at 20 and 100 ms.
constexpr size_t kFrameSizes[] = { 160, 320, 800, 1600 };
constexpr uint32_t kCalls[] = { 0, 1, 7, 1999, 65536, 0xffffffffu };
constexpr uint32_t kSeqs[] = { 1, 2, 3, 60, 61, 62, 255, 256, 3000, 0x01000000u };

void
test_sent_base64_is_the_frames_base64 ()
{
  for (size_t size : kFrameSizes) {
    const FrameAudio audio (size);
    std::vector<uint8_t> bytes (size);
    for (uint32_t call : kCalls)
      for (uint32_t seq : kSeqs) {
        audio.fill (call, seq, bytes.data ());
        g_autofree gchar *expected = g_base64_encode (bytes.data (), bytes.size ());
        char header[FrameAudio::kHeaderBase64];
        audio.header_base64 (call, seq, header);
        const std::string sent = std::string (header, sizeof header)
            + std::string (audio.body_base64 (call, seq));
        g_assert_cmpstr (sent.c_str (), ==, expected);
        g_assert_true (audio.matches (call, seq, bytes.data (), bytes.size ()));
      }
  }
}

void
test_every_changed_byte_is_caught ()
{
  for (size_t size : kFrameSizes) {
    const FrameAudio audio (size);
    std::vector<uint8_t> bytes (size);
    audio.fill (7, 61, bytes.data ());
    for (size_t i = 0; i < size; i++) {
      for (uint8_t flip : { 0x01, 0x80, 0xff }) {
        bytes[i] ^= flip;
        if (audio.matches (7, 61, bytes.data (), size))
          g_error ("byte %zu of %zu changed by %#x went unseen", i, size, flip);
        bytes[i] ^= flip;
      }
    }
    g_assert_true (audio.matches (7, 61, bytes.data (), size));
    g_assert_false (audio.matches (7, 61, bytes.data (), size - 1));
  }
}

// A frame is no other frame: not another seq of its call (reordered or
// relabelled frames), not the same seq of another call, even where the two
// share a body ((call + seq) mod kBodies equal).
void
test_frames_differ_from_each_other ()
{
  const FrameAudio audio (320);
  std::vector<uint8_t> bytes (320);
  for (uint32_t call : kCalls)
    for (uint32_t seq : kSeqs) {
      audio.fill (call, seq, bytes.data ());
      for (uint32_t other : { seq + 1, seq - 1, seq + FrameAudio::kBodies })
        g_assert_false (audio.matches (call, other, bytes.data (), bytes.size ()));
      for (uint32_t other : { call + 1, call + FrameAudio::kBodies })
        g_assert_false (audio.matches (other, seq, bytes.data (), bytes.size ()));
      // Bodies differ too: a header pasted onto another frame's body is caught.
      std::vector<uint8_t> next (320);
      audio.fill (call, seq + 1, next.data ());
      std::copy (bytes.begin (), bytes.begin () + FrameAudio::kHeaderBytes, next.begin ());
      g_assert_false (audio.matches (call, seq, next.data (), next.size ()));
    }
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/load-frame-audio/sent-base64-is-the-frames-base64",
      test_sent_base64_is_the_frames_base64);
  g_test_add_func ("/load-frame-audio/every-changed-byte-is-caught",
      test_every_changed_byte_is_caught);
  g_test_add_func ("/load-frame-audio/frames-differ-from-each-other",
      test_frames_differ_from_each_other);
  return g_test_run ();
}
