// One pass: each character is looked up once, for both its 6 bits and its
// validity. GLib's decoder (g_base64_decode_step) skips bad characters
// silently, so it needed a separate validating pass, and it is a per-byte
// state machine: the two together were 61 % of the instructions of a media
// message's push through exotelsrc (callgrind, tests/bench), about 20
// instructions per character against about 7 with one table, 4 with one per
// position in a quad (below). The unit tests and
// fuzz-base64 compare every result with GLib's.
//
// Encoding: g_base64_encode_step is a byte-at-a-time state machine too
// (about 15 instructions per input byte); here each 3 bytes are two lookups
// in a table of the 4,096 character pairs of 12 bits.
#include "protocol/base64.h"

#include <array>
#include <bit>
#include <cstring>

namespace callstream {
namespace {

// The 6-bit value of each alphabet byte; kInvalid for every other byte, '='
// included. OR-ing the lookups of a quad catches any bad byte in it with no
// branch per byte.
constexpr uint8_t kInvalid = 0x80;

constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> table{};
  table.fill(kInvalid);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); i++)
    table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
  return table;
}

constexpr std::array<uint8_t, 256> kDecodeTable = make_decode_table();

// The same, one table per position in a quad, each value already shifted to
// its place in the quad's 24 bits, and kInvalidBit (above them) for a bad
// byte: a whole quad is four loads and three ORs.
constexpr uint32_t kInvalidBit = 0x80000000u;

constexpr std::array<std::array<uint32_t, 256>, 4> make_quad_tables() {
  std::array<std::array<uint32_t, 256>, 4> tables{};
  for (size_t position = 0; position < 4; position++) {
    for (size_t byte = 0; byte < 256; byte++) {
      const uint8_t value = kDecodeTable[byte];
      tables[position][byte] = value & kInvalid
                                   ? kInvalidBit
                                   : uint32_t{value} << (18 - 6 * position);
    }
  }
  return tables;
}

constexpr std::array<std::array<uint32_t, 256>, 4> kQuadTables = make_quad_tables();

constexpr std::string_view kEncodeAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The two characters of each 12-bit value, as they lie in memory (the first
// at the lower address): a group of 3 bytes is two lookups and one store.
constexpr std::array<uint16_t, 4096> make_pair_table() {
  std::array<uint16_t, 4096> table{};
  for (size_t value = 0; value < 4096; value++) {
    const uint16_t first = static_cast<uint8_t>(kEncodeAlphabet[value >> 6]);
    const uint16_t second = static_cast<uint8_t>(kEncodeAlphabet[value & 63]);
    table[value] = std::endian::native == std::endian::little
                       ? static_cast<uint16_t>(first | (second << 8))
                       : static_cast<uint16_t>((first << 8) | second);
  }
  return table;
}

constexpr std::array<uint16_t, 4096> kPairTable = make_pair_table();

// Length of the data part of @encoded, without its padding; nullopt when the
// length or the padding is wrong.
std::optional<size_t> data_length(std::string_view encoded) {
  size_t size = encoded.size();
  switch (size % 4) {
    case 1:
      return std::nullopt;
    case 2:
    case 3:
      return size;  // unpadded: any '=' is caught by the alphabet check
    default:
      break;
  }
  size_t padding = 0;
  if (size >= 4 && encoded[size - 1] == '=')
    padding = encoded[size - 2] == '=' ? 2 : 1;
  return size - padding;
}

}  // namespace

std::optional<size_t> base64_decode_into(std::string_view encoded, uint8_t *out) {
  auto length = data_length(encoded);
  if (!length)
    return std::nullopt;
  const auto *in = reinterpret_cast<const uint8_t *>(encoded.data());
  const size_t whole = *length - *length % 4;
  uint32_t invalid_quads = 0;
  uint8_t *at = out;
  for (size_t i = 0; i < whole; i += 4) {
    const uint32_t bits = kQuadTables[0][in[i]] | kQuadTables[1][in[i + 1]] |
                          kQuadTables[2][in[i + 2]] | kQuadTables[3][in[i + 3]];
    invalid_quads |= bits;
    // Four bytes stored, three kept: @out has room for one more byte after
    // the last whole quad (base64_decoded_max).
    uint32_t word = bits << 8;  // the 3 bytes on top, in reading order
    if constexpr (std::endian::native == std::endian::little)
      word = __builtin_bswap32(word);
    std::memcpy(at, &word, sizeof word);
    at += 3;
  }
  uint8_t invalid = invalid_quads & kInvalidBit ? kInvalid : 0;
  // A last group of 2 or 3 characters (its padding already cut off) holds
  // 1 or 2 bytes; its unused low bits are ignored, as GLib does.
  const size_t rest = *length - whole;
  if (rest == 1)
    return std::nullopt;  // cannot happen: data_length() refuses such lengths
  if (rest >= 2) {
    const uint8_t a = kDecodeTable[in[whole]], b = kDecodeTable[in[whole + 1]],
                  c = rest == 3 ? kDecodeTable[in[whole + 2]] : 0;
    invalid |= a | b | c;
    const uint32_t bits = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6);
    *at++ = static_cast<uint8_t>(bits >> 16);
    if (rest == 3)
      *at++ = static_cast<uint8_t>(bits >> 8);
  }
  if (invalid & kInvalid)
    return std::nullopt;
  return static_cast<size_t>(at - out);
}

char *base64_encode_into(const uint8_t *data, size_t size, char *out) {
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    const uint32_t first = kPairTable[v >> 12];
    const uint32_t second = kPairTable[v & 0xfff];
    const uint32_t chars = std::endian::native == std::endian::little
                               ? first | (second << 16)
                               : (first << 16) | second;
    std::memcpy(out, &chars, 4);
    out += 4;
  }
  if (i < size) {
    const bool two = i + 1 < size;
    const uint32_t v = (uint32_t{data[i]} << 16) | (two ? uint32_t{data[i + 1]} << 8 : 0);
    std::memcpy(out, &kPairTable[v >> 12], 2);
    out[2] = two ? kEncodeAlphabet[(v >> 6) & 63] : '=';
    out[3] = '=';
    out += 4;
  }
  return out;
}

}  // namespace callstream
