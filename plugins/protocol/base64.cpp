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
//
// On x86 with SSSE3 (checked at run time), both ways do 16 characters a step
// in SSE registers, as Muła and Lemire describe ("Faster Base64 Encoding and
// Decoding using AVX2 Instructions", 2018; here with 128-bit registers): a
// byte shuffle and two multiplies move the bits, and nibble-indexed shuffle
// tables translate and, when decoding, validate. The tails go through the
// tables above.
#include "protocol/base64.h"

#include <glib.h>

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CALLSTREAM_BASE64_SSSE3 1
#endif

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

#if CALLSTREAM_BASE64_SSSE3
// CALLSTREAM_NO_SIMD (any value) keeps to the tables: for the tests of
// that path and for comparisons.
bool has_ssse3() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") != 0 && g_getenv("CALLSTREAM_NO_SIMD") == nullptr;
  }();
  return has;
}

// Decodes the first 16-character blocks of @in (@size characters, all data:
// no padding) into 12 bytes each at @out; returns how many characters it
// took. @bad is set when any of them is outside the alphabet.
__attribute__((target("ssse3"))) size_t decode_blocks(const uint8_t *in, size_t size,
                                                      uint8_t *out, bool &bad) {
  // Bit k of lo[low nibble] & hi[high nibble] marks a byte outside the
  // alphabet; roll[high nibble, or 1 for '/'] turns a character into its value.
  const __m128i lo_table = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                         0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
  const __m128i hi_table = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
                                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  const __m128i roll_table = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71,
                                           0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const __m128i slash = _mm_set1_epi8('/');
  // (a << 6) | b in each 16-bit pair, then the two pairs into 24 bits.
  const __m128i pair_weights = _mm_set1_epi32(0x01400140);
  const __m128i quad_weights = _mm_set1_epi32(0x00011000);
  const __m128i order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  __m128i invalid = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 16 <= size; i += 16) {
    __m128i chars = _mm_loadu_si128(reinterpret_cast<const __m128i *>(in + i));
    const __m128i hi_nibbles = _mm_and_si128(_mm_srli_epi32(chars, 4), nibble);
    const __m128i lo_nibbles = _mm_and_si128(chars, nibble);
    invalid = _mm_or_si128(invalid, _mm_and_si128(_mm_shuffle_epi8(lo_table, lo_nibbles),
                                                  _mm_shuffle_epi8(hi_table, hi_nibbles)));
    const __m128i roll = _mm_shuffle_epi8(
        roll_table, _mm_add_epi8(_mm_cmpeq_epi8(chars, slash), hi_nibbles));
    chars = _mm_add_epi8(chars, roll);
    const __m128i merged = _mm_madd_epi16(_mm_maddubs_epi16(chars, pair_weights), quad_weights);
    const __m128i bytes = _mm_shuffle_epi8(merged, order);
    _mm_storel_epi64(reinterpret_cast<__m128i *>(out), bytes);
    const uint32_t last = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm_srli_si128(bytes, 8)));
    std::memcpy(out + 8, &last, sizeof last);
    out += 12;
  }
  bad = _mm_movemask_epi8(_mm_cmpeq_epi8(invalid, _mm_setzero_si128())) != 0xffff;
  return i;
}

// Encodes 12-byte groups of @data while 16 bytes can be read (@size bytes in
// all) into 16 characters each at @out; returns how many bytes it took.
__attribute__((target("ssse3"))) size_t encode_blocks(const uint8_t *data, size_t size,
                                                      char *out) {
  // Each 32-bit lane gets b1 b0 b2 b1, so each 6-bit index is one AND and
  // one 16-bit multiply away from its own byte.
  const __m128i spread = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  const __m128i mask_ac = _mm_set1_epi32(0x0fc0fc00);
  const __m128i shift_ac = _mm_set1_epi32(0x04000040);
  const __m128i mask_bd = _mm_set1_epi32(0x003f03f0);
  const __m128i shift_bd = _mm_set1_epi32(0x01000010);
  // What to add to an index for its character, by range: 13 for A-Z, 0 for
  // a-z, 1-10 for digits, 11 for '+', 12 for '/'.
  const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  size_t i = 0;
  for (; i + 16 <= size; i += 12) {
    const __m128i in = _mm_shuffle_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(data + i)), spread);
    const __m128i ac = _mm_mulhi_epu16(_mm_and_si128(in, mask_ac), shift_ac);
    const __m128i bd = _mm_mullo_epi16(_mm_and_si128(in, mask_bd), shift_bd);
    const __m128i indices = _mm_or_si128(ac, bd);
    __m128i range = _mm_subs_epu8(indices, _mm_set1_epi8(51));
    const __m128i upper = _mm_cmpgt_epi8(_mm_set1_epi8(26), indices);
    range = _mm_or_si128(range, _mm_and_si128(upper, _mm_set1_epi8(13)));
    const __m128i chars = _mm_add_epi8(_mm_shuffle_epi8(offsets, range), indices);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out), chars);
    out += 16;
  }
  return i;
}
#endif

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
  size_t i = 0;
#if CALLSTREAM_BASE64_SSSE3
  if (whole >= 16 && has_ssse3()) {
    bool bad = false;
    i = decode_blocks(in, whole, out, bad);
    if (bad)
      return std::nullopt;
    at += i / 4 * 3;
  }
#endif
  for (; i < whole; i += 4) {
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
#if CALLSTREAM_BASE64_SSSE3
  if (size >= 16 && has_ssse3()) {
    i = encode_blocks(data, size, out);
    out += i / 3 * 4;
  }
#endif
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
