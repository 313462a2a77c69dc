// Fuzz target: the simdjson fast path for media frames and mark echoes
// against json-glib. Whenever plain_media reads a text, the full json-glib
// parsers of both providers must read the same message from it; any
// difference (a field, a spelling, an escape, trailing bytes) traps. The
// media-only reader agrees with the one that reads marks too.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/exotel.h"
#include "protocol/plain_media.h"
#include "protocol/twilio.h"

namespace {

using callstream::plain_media::PlainMark;
using callstream::plain_media::PlainMedia;

template <typename MediaT>
void
check_same (const PlainMedia &plain, const MediaT *media)
{
  if (media == nullptr || media->sequence_number != plain.sequence_number
      || media->stream_sid != plain.stream_sid || media->chunk != plain.chunk
      || media->timestamp_ms != plain.timestamp || media->payload != plain.payload)
    __builtin_trap ();
}

template <typename MarkT>
void
check_same (const PlainMark &plain, const MarkT *mark)
{
  if (mark == nullptr || mark->sequence_number != plain.sequence_number
      || mark->stream_sid != plain.stream_sid || mark->name != plain.name)
    __builtin_trap ();
}

void
check_media (std::string_view text, const PlainMedia &plain)
{
  const auto media_only = callstream::plain_media::read (text);
  if (!media_only || media_only->sequence_number != plain.sequence_number
      || media_only->stream_sid != plain.stream_sid || media_only->track != plain.track
      || media_only->chunk != plain.chunk || media_only->timestamp != plain.timestamp
      || media_only->payload != plain.payload)
    __builtin_trap ();
  const auto exotel = callstream::exotel::parse_message_with_json_glib (text);
  check_same (plain, std::get_if<callstream::exotel::Media> (&exotel));
  const auto twilio = callstream::twilio::parse_message_with_json_glib (text);
  const auto *media = std::get_if<callstream::twilio::Media> (&twilio);
  check_same (plain, media);
  if (media->track != plain.track.value_or ("inbound"))
    __builtin_trap ();
}

void
check_mark (std::string_view text, const PlainMark &plain)
{
  if (callstream::plain_media::read (text))
    __builtin_trap ();
  const auto exotel = callstream::exotel::parse_message_with_json_glib (text);
  check_same (plain, std::get_if<callstream::exotel::Mark> (&exotel));
  const auto twilio = callstream::twilio::parse_message_with_json_glib (text);
  check_same (plain, std::get_if<callstream::twilio::Mark> (&twilio));
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view text (reinterpret_cast<const char *> (data), size);
  const auto plain = callstream::plain_media::read_media_or_mark (text);
  if (!plain) {
    if (callstream::plain_media::read (text))
      __builtin_trap ();
    return 0;
  }
  if (const auto *media = std::get_if<PlainMedia> (&*plain))
    check_media (text, *media);
  else
    check_mark (text, std::get<PlainMark> (*plain));
  return 0;
}
