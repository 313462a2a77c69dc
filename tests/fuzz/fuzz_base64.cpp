// Fuzz target: base64_decode_into against the reference built on GLib's
// decoder (tests/unit/base64_reference.h). Both must agree on validity and
// on every byte, and nothing may be written past base64_decoded_max. The same
// bytes, encoded with base64_encode_into, must give g_base64_encode's text
// exactly, with nothing written past base64_encoded_size.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <glib.h>

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

  const size_t encoded_size = callstream::base64_encoded_size (size);
  std::string encoded (encoded_size + 8, static_cast<char> (kCanary));
  char *end = callstream::base64_encode_into (data, size, encoded.data ());
  check (end == encoded.data () + encoded_size);
  for (size_t i = encoded_size; i < encoded.size (); i++)
    check (encoded[i] == static_cast<char> (kCanary));
  g_autofree gchar *glib = g_base64_encode (data, size);
  check (std::string_view (encoded.data (), encoded_size) == glib);
  return 0;
}
