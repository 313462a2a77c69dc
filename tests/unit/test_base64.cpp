// Strict base64: GLib-encoded input decodes byte-exact, padded or not, and
// anything outside RFC 4648's standard form is refused.
#include "protocol/base64.h"

#include "base64_reference.h"

#include <glib.h>

#include <cstring>

#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;
using callstream::base64_decode_into;
using callstream::base64_decoded_max;

namespace {

// Bytes past base64_decoded_max must never be written.
constexpr uint8_t kCanary = 0xa5;
constexpr size_t kCanaryBytes = 16;

// Decodes @encoded into a buffer of exactly base64_decoded_max bytes plus a
// canary, checks the canary, and returns the decoded bytes.
std::optional<std::vector<uint8_t>> decode(std::string_view encoded) {
  size_t max = base64_decoded_max(encoded.size());
  std::vector<uint8_t> buffer(max + kCanaryBytes, kCanary);
  std::optional<size_t> size = base64_decode_into(encoded, buffer.data());
  for (size_t i = max; i < buffer.size(); i++)
    g_assert_cmpuint(buffer[i], ==, kCanary);
  if (!size)
    return std::nullopt;
  g_assert_cmpuint(*size, <=, max);
  buffer.resize(*size);
  return buffer;
}

// Every byte value appears, in an order that differs with @size.
std::vector<uint8_t> sample_bytes(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; i++)
    bytes[i] = static_cast<uint8_t>(i * 37 + size * 11 + 5);
  return bytes;
}

void assert_round_trip(const std::vector<uint8_t> &bytes) {
  g_autofree gchar *encoded = g_base64_encode(bytes.data(), bytes.size());
  std::string padded = encoded;
  std::string unpadded = padded.substr(0, padded.find('='));

  for (const std::string &input : {padded, unpadded}) {
    auto decoded = decode(input);
    g_assert_true(decoded.has_value());
    g_assert_cmpmem(decoded->data(), decoded->size(), bytes.data(), bytes.size());
  }
}

void test_round_trip_length(gconstpointer data) {
  assert_round_trip(sample_bytes(GPOINTER_TO_SIZE(data)));
}

// One 100 ms chunk of 16 kHz PCM16, the size Exotel sends.
void test_round_trip_3200_bytes() {
  assert_round_trip(sample_bytes(3200));
}

void test_round_trip_every_byte_value() {
  std::vector<uint8_t> bytes(256);
  for (size_t i = 0; i < bytes.size(); i++)
    bytes[i] = static_cast<uint8_t>(i);
  assert_round_trip(bytes);
}

struct ValidCase {
  const char *path;
  std::string_view encoded;
  std::string_view decoded;
};

const ValidCase kValidCases[] = {
  {"/base64/valid/empty", "", ""},
  {"/base64/valid/two-pad", "TQ==", "M"},
  {"/base64/valid/one-pad", "TWE=", "Ma"},
  {"/base64/valid/no-pad-needed", "TWFu", "Man"},
  {"/base64/valid/unpadded-two", "TQ", "M"},
  {"/base64/valid/unpadded-three", "TWE", "Ma"},
  {"/base64/valid/two-quads-two-pad", "TWFuTQ==", "ManM"},
  {"/base64/valid/two-quads-unpadded", "TWFuTWE", "ManMa"},
  {"/base64/valid/pcm-bytes", "AAD/fw==", "\x00\x00\xff\x7f"sv},
  {"/base64/valid/zeros", "AAAA", "\x00\x00\x00"sv},
  {"/base64/valid/plus-slash", "+/+/", "\xfb\xff\xbf"},
  {"/base64/valid/all-ones", "////", "\xff\xff\xff"},
  {"/base64/valid/alphabet",
   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
   "\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93\x51\x55\x97"
   "\x61\x96\x9b\x71\xd7\x9f\x82\x18\xa3\x92\x59\xa7\xa2\x9a\xab\xb2\xdb\xaf"
   "\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb\xf3\xdf\xbf"sv},
};

void test_valid(gconstpointer data) {
  const auto &c = *static_cast<const ValidCase *>(data);
  auto decoded = decode(c.encoded);
  g_assert_true(decoded.has_value());
  g_assert_cmpmem(decoded->data(), decoded->size(), c.decoded.data(), c.decoded.size());
}

struct InvalidCase {
  const char *path;
  std::string_view encoded;
};

const InvalidCase kInvalidCases[] = {
  {"/base64/invalid/star", "TW*u"},
  {"/base64/invalid/url-safe-dash", "TW-u"},
  {"/base64/invalid/url-safe-underscore", "TW_u"},
  {"/base64/invalid/dot", "TWF."},
  {"/base64/invalid/non-ascii", "TW\xc3\xa9"},
  {"/base64/invalid/high-byte", "TWF\xff"},
  {"/base64/invalid/nul-byte", "TW\0u"sv},
  {"/base64/invalid/trailing-nul", "TWFu\0\0\0\0"sv},
  {"/base64/invalid/bad-char-in-long-input", "TWFuTWFuTWFuTWFuTWFuTWFuTWFu#WFu"},
  {"/base64/invalid/equals-in-middle", "TQ==TWFu"},
  {"/base64/invalid/equals-first", "=TWF"},
  {"/base64/invalid/equals-then-data", "TW=u"},
  {"/base64/invalid/equals-inside-quad", "AB=C"},
  {"/base64/invalid/three-pad", "A==="},
  {"/base64/invalid/four-pad", "===="},
  {"/base64/invalid/one-equals", "="},
  {"/base64/invalid/two-equals", "=="},
  {"/base64/invalid/unpadded-with-pad", "TQ="},
  {"/base64/invalid/too-much-pad", "TQ==="},
  {"/base64/invalid/pad-after-full-quad", "TWFu="},
  {"/base64/invalid/length-mod-4-is-1", "TWFuT"},
  {"/base64/invalid/single-char", "T"},
  {"/base64/invalid/space", "TW u"},
  {"/base64/invalid/space-between-quads", "TWFu TWFu TWFu"},
  {"/base64/invalid/trailing-newline", "TWFu\n"},
  {"/base64/invalid/crlf-between-quads", "TWFu\r\nTWFu"},
  {"/base64/invalid/leading-tab", "\tTWF"},
  {"/base64/invalid/newline-before-pad", "TQ\n="},
};

void test_invalid(gconstpointer data) {
  const auto &c = *static_cast<const InvalidCase *>(data);
  g_assert_false(decode(c.encoded).has_value());
}

// Each byte outside the alphabet, alone in an otherwise valid quad, is refused.
void test_every_byte_outside_alphabet() {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int byte = 0; byte < 256; byte++) {
    char c = static_cast<char>(byte);
    std::string quad = "TWF";
    quad += c;
    bool in_alphabet = kAlphabet.find(c) != std::string_view::npos;
    g_assert_cmpint(decode(quad).has_value(), ==, in_alphabet || c == '=');
    std::string first = std::string(1, c) + "WFu";
    g_assert_cmpint(decode(first).has_value(), ==, in_alphabet);
  }
}

// Encodings of every length up to 200, each then mutated at random places
// with alphabet bytes, '=', and any byte: the decoder agrees with the
// GLib-based reference on validity and bytes every time (fixed seed).
void test_matches_glib_on_mutated_inputs() {
  g_autoptr(GRand) rand = g_rand_new_with_seed(20261121);
  const std::string_view picks = "AZaz09+/=\n -_\x80\xff";
  size_t valid = 0, invalid = 0;
  for (int round = 0; round < 20000; round++) {
    const size_t length = static_cast<size_t>(g_rand_int_range(rand, 0, 200));
    std::vector<uint8_t> bytes(length);
    for (uint8_t &b : bytes)
      b = static_cast<uint8_t>(g_rand_int_range(rand, 0, 256));
    g_autofree gchar *encoded = g_base64_encode(bytes.data(), bytes.size());
    std::string text = encoded;
    if (g_rand_boolean(rand))
      text = text.substr(0, text.find('='));
    const int mutations = g_rand_int_range(rand, 0, 3);
    for (int m = 0; m < mutations && !text.empty(); m++) {
      const size_t at = static_cast<size_t>(g_rand_int_range(rand, 0, static_cast<gint32>(text.size())));
      text[at] = picks[static_cast<size_t>(g_rand_int_range(rand, 0, static_cast<gint32>(picks.size())))];
    }
    if (g_rand_int_range(rand, 0, 10) == 0 && !text.empty())
      text.pop_back();
    const auto decoded = decode(text);
    const auto expected = test_support::reference_decode(text);
    g_assert_cmpint(decoded.has_value(), ==, expected.has_value());
    if (decoded) {
      g_assert_cmpmem(decoded->data(), decoded->size(), expected->data(), expected->size());
      valid++;
    } else {
      invalid++;
    }
  }
  // Both outcomes were exercised.
  g_assert_cmpuint(valid, >, 1000);
  g_assert_cmpuint(invalid, >, 1000);
}

// The encoder gives exactly g_base64_encode's text for every length up to
// 400 and random bytes (fixed seed), writes nothing past its size, and its
// text decodes back.
void test_encode_matches_glib() {
  g_autoptr(GRand) rand = g_rand_new_with_seed(20261122);
  for (size_t length = 0; length <= 400; length++) {
    for (int round = 0; round < 8; round++) {
      std::vector<uint8_t> bytes(length);
      for (uint8_t &b : bytes)
        b = static_cast<uint8_t>(g_rand_int_range(rand, 0, 256));
      g_autofree gchar *expected = g_base64_encode(bytes.data(), bytes.size());
      const size_t size = callstream::base64_encoded_size(length);
      g_assert_cmpuint(size, ==, strlen(expected));
      std::string out(size + 8, '#');
      char *end = callstream::base64_encode_into(bytes.data(), bytes.size(), out.data());
      g_assert_true(end == out.data() + size);
      const std::string after = out.substr(size);
      g_assert_cmpstr(after.c_str(), ==, "########");
      out.resize(size);
      g_assert_cmpstr(out.c_str(), ==, expected);
      const auto decoded = decode(out);
      g_assert_true(decoded.has_value());
      g_assert_cmpmem(decoded->data(), decoded->size(), bytes.data(), bytes.size());
    }
  }
}

// Every 12-bit pair and every padding form: RFC 4648 section 10's vectors.
void test_encode_rfc_vectors() {
  const std::pair<const char *, const char *> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto &[plain, encoded] : vectors) {
    std::string out(callstream::base64_encoded_size(strlen(plain)), '\0');
    callstream::base64_encode_into(reinterpret_cast<const uint8_t *>(plain), strlen(plain),
                                   out.data());
    g_assert_cmpstr(out.c_str(), ==, encoded);
  }
  std::vector<uint8_t> every(256);
  for (size_t i = 0; i < every.size(); i++)
    every[i] = static_cast<uint8_t>(i);
  g_autofree gchar *expected = g_base64_encode(every.data(), every.size());
  std::string out(callstream::base64_encoded_size(every.size()), '\0');
  callstream::base64_encode_into(every.data(), every.size(), out.data());
  g_assert_cmpstr(out.c_str(), ==, expected);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  for (size_t length = 0; length <= 64; length++) {
    g_autofree gchar *path = g_strdup_printf("/base64/round-trip/length-%zu", length);
    g_test_add_data_func(path, GSIZE_TO_POINTER(length), test_round_trip_length);
  }
  g_test_add_func("/base64/round-trip/3200-bytes", test_round_trip_3200_bytes);
  g_test_add_func("/base64/encode/matches-glib", test_encode_matches_glib);
  g_test_add_func("/base64/encode/rfc-vectors", test_encode_rfc_vectors);
  g_test_add_func("/base64/round-trip/every-byte-value", test_round_trip_every_byte_value);
  for (const ValidCase &c : kValidCases)
    g_test_add_data_func(c.path, &c, test_valid);
  for (const InvalidCase &c : kInvalidCases)
    g_test_add_data_func(c.path, &c, test_invalid);
  g_test_add_func("/base64/invalid/every-byte-outside-alphabet",
                  test_every_byte_outside_alphabet);
  g_test_add_func("/base64/matches-glib/mutated-inputs", test_matches_glib_on_mutated_inputs);
  return g_test_run();
}
