// Fuzz target: the entries redisstreamsrc reads back (redis_entry.h). The
// input is an entry as field/value lines ("name=value", a value may hold any
// byte but a newline; "\n\n" would end a field list) and a first byte that
// picks the payload (even: binary, odd: base64). Nothing may crash or hang;
// what parses is usable: an interaction id, a format in range, audio that
// is a non-empty whole number of sample frames; an error is a non-empty line;
// and the same fields parse the same way twice.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/redis_entry.h"

namespace {

using callstream::RedisEntryField;

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

std::vector<RedisEntryField>
split_fields (std::string_view text)
{
  std::vector<RedisEntryField> fields;
  while (!text.empty ()) {
    const size_t end = std::min (text.find ('\n'), text.size ());
    std::string_view line = text.substr (0, end);
    text.remove_prefix (std::min (end + 1, text.size ()));
    const size_t equals = line.find ('=');
    if (equals == std::string_view::npos)
      fields.push_back ({line, {}});
    else
      fields.push_back ({line.substr (0, equals), line.substr (equals + 1)});
  }
  return fields;
}

void
check_format (const callstream::RedisAudioFormat &format)
{
  check (format.sample_rate >= callstream::kRedisMinSampleRate);
  check (format.sample_rate <= callstream::kRedisMaxSampleRate);
  check (format.channels >= 1 && format.channels <= 8);
}

void
check_entry (const callstream::RedisReadEntry &entry)
{
  if (const auto *error = std::get_if<callstream::RedisEntryError> (&entry)) {
    check (!error->reason.empty ());
    check (error->reason.find ('\n') == std::string::npos);
  } else if (const auto *start =
      std::get_if<callstream::RedisReadCallStart> (&entry)) {
    check (!start->ids.interaction_id.empty ());
    check_format (start->start.format);
  } else if (const auto *audio = std::get_if<callstream::RedisReadAudio> (&entry)) {
    check (!audio->ids.interaction_id.empty ());
    check_format (audio->format);
    check (audio->seq >= 1);
    check (audio->timestamp_ms >= 0);
    const size_t frame = static_cast<size_t> (audio->format.channels)
        * (audio->format.encoding == callstream::RedisAudioEncoding::kPcm16
        ? 2 : 1);
    check (!audio->audio.empty () && audio->audio.size () % frame == 0);
  } else {
    check (!std::get<callstream::RedisReadCallEnd> (entry).ids
        .interaction_id.empty ());
  }
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  const auto payload = (data[0] & 1) ? callstream::RedisPayload::kBase64
      : callstream::RedisPayload::kBinary;
  const std::string_view text (reinterpret_cast<const char *> (data + 1),
      size - 1);
  const std::vector<RedisEntryField> fields = split_fields (text);

  const callstream::RedisReadEntry entry =
      callstream::parse_audio_stream_entry (fields, payload);
  check_entry (entry);
  const callstream::RedisReadEntry again =
      callstream::parse_audio_stream_entry (fields, payload);
  check (entry.index () == again.index ());
  if (const auto *audio = std::get_if<callstream::RedisReadAudio> (&entry))
    check (audio->audio == std::get<callstream::RedisReadAudio> (again).audio);

  const auto index = callstream::parse_index_entry (fields);
  if (const auto *ok = std::get_if<callstream::RedisIndexEntry> (&index))
    check (!ok->stream.empty () && !ok->ids.interaction_id.empty ());
  else
    check (!std::get<callstream::RedisEntryError> (index).reason.empty ());
  return 0;
}
