// Fuzz target: any bytes as one Exotel text frame. Parsing must never crash,
// hang or leak, and every media payload is decoded as exotelsrc would.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/base64.h"
#include "protocol/exotel.h"
#include "protocol/names.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view text (reinterpret_cast<const char *> (data), size);
  const auto message = callstream::exotel::parse_message (text);
  if (const auto *media = std::get_if<callstream::exotel::Media> (&message)) {
    std::vector<uint8_t> audio (callstream::base64_decoded_max (media->payload.size ()));
    callstream::base64_decode_into (media->payload, audio.data ());
  } else if (const auto *start = std::get_if<callstream::exotel::Start> (&message)) {
    const std::string dir = callstream::sanitize_path_component (start->call_sid);
    if (dir == "." || dir == ".." || dir.find ('/') != std::string::npos)
      __builtin_trap ();
  }
  return 0;
}
