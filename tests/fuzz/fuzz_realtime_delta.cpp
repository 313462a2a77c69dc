// Fuzz target: the simdjson readers of Realtime server events against
// json-glib. Whenever realtime_delta::read accepts a text, the full parser
// (realtime::parse_server_event) must read the same AudioDelta from it, and
// whenever realtime_delta::read_unhandled_type reads a type, the full parser
// must read Unknown with that type; any difference (a field, an escape, a
// number, trailing bytes, a text json-glib refuses) traps.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/realtime.h"
#include "protocol/realtime_delta.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view text (reinterpret_cast<const char *> (data), size);
  if (const auto type = callstream::realtime_delta::read_unhandled_type (text)) {
    const auto event = callstream::realtime::parse_server_event (text);
    const auto *unknown = std::get_if<callstream::realtime::Unknown> (&event);
    if (unknown == nullptr || unknown->type != *type)
      __builtin_trap ();
  }
  const auto plain = callstream::realtime_delta::read (text);
  if (!plain)
    return 0;
  const auto event = callstream::realtime::parse_server_event (text);
  const auto *delta = std::get_if<callstream::realtime::AudioDelta> (&event);
  if (delta == nullptr || delta->response_id != plain->response_id
      || delta->item_id != plain->item_id || delta->output_index != plain->output_index
      || delta->content_index != plain->content_index || delta->delta != plain->delta)
    __builtin_trap ();
  return 0;
}
