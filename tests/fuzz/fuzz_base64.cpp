// Fuzz target: base64_decode_into against the reference built on GLib's
// decoder (tests/unit/base64_reference.h). Both must agree on validity and
// on every byte, and nothing may be written past base64_decoded_max.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/base64.h"
#include "../unit/base64_reference.h"

namespace {

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const std::string_view text (reinterpret_cast<const char *> (data), size);
  constexpr uint8_t kCanary = 0xa5;
  const size_t max = callstream::base64_decoded_max (size);
  std::vector<uint8_t> out (max + 8, kCanary);
  const std::optional<size_t> decoded = callstream::base64_decode_into (text, out.data ());
  for (size_t i = max; i < out.size (); i++)
    check (out[i] == kCanary);
  const std::optional<std::string> expected = test_support::reference_decode (text);
  check (decoded.has_value () == expected.has_value ());
  if (decoded) {
    check (*decoded == expected->size ());
    check (std::memcmp (out.data (), expected->data (), *decoded) == 0);
  }
  return 0;
}
