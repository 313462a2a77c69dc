// Base64 (RFC 4648 standard alphabet, padded) straight into caller memory:
// strict decoding, so a media payload lands in its output buffer with no copy
// in between, and encoding of the audio the elements send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace callstream {

// Upper bound of the decoded size of @encoded.
constexpr size_t base64_decoded_max(size_t encoded_size) {
  return (encoded_size / 4 + 1) * 3;
}

// Decodes @encoded into @out (at least base64_decoded_max bytes; any of them
// may be written, past the decoded size too). Returns the
// decoded size, or nullopt when @encoded is not valid base64: a character
// outside the alphabet, padding anywhere but at the end, or a length that is
// not a multiple of 4 (unpadded input is accepted if its length mod 4 is 2
// or 3). Whitespace is not accepted.
std::optional<size_t> base64_decode_into(std::string_view encoded, uint8_t *out);

// The encoded size of @size bytes, padding included.
constexpr size_t base64_encoded_size(size_t size) {
  return (size + 2) / 3 * 4;
}

// Writes the base64 of @data (padded, no line breaks: what g_base64_encode
// gives) at @out, which has room for base64_encoded_size(@size) characters;
// returns the end of what it wrote.
char *base64_encode_into(const uint8_t *data, size_t size, char *out);

}  // namespace callstream
