// Fuzz target: the simdjson fast path for media frames against json-glib.
// Whenever plain_media::read accepts a text, the full json-glib parsers of
// both providers must read the same media message from it; any difference
// (a field, a spelling, an escape, trailing bytes) traps.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/exotel.h"
#include "protocol/plain_media.h"
#include "protocol/twilio.h"

namespace {

template <typename MediaT>
void
check_same (const callstream::plain_media::PlainMedia &plain, const MediaT *media)
{
  if (media == nullptr || media->sequence_number != plain.sequence_number
      || media->stream_sid != plain.stream_sid || media->chunk != plain.chunk
      || media->timestamp_ms != plain.timestamp || media->payload != plain.payload)
    __builtin_trap ();
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view text (reinterpret_cast<const char *> (data), size);
  const auto plain = callstream::plain_media::read (text);
  if (!plain)
    return 0;
  const auto exotel = callstream::exotel::parse_message_with_json_glib (text);
  check_same (*plain, std::get_if<callstream::exotel::Media> (&exotel));
  const auto twilio = callstream::twilio::parse_message_with_json_glib (text);
  const auto *media = std::get_if<callstream::twilio::Media> (&twilio);
  check_same (*plain, media);
  if (media->track != plain->track.value_or ("inbound"))
    __builtin_trap ();
  return 0;
}
