// Validation is ours (GLib's decoder skips bad characters silently); the
// decoding itself is GLib's.
#include "protocol/base64.h"

#include <glib.h>

#include <array>

namespace callstream {
namespace {

// Marks a byte outside the alphabet, '=' included; alphabet bytes map to 0 so
// a whole run can be checked by OR-ing lookups, with no branch per byte.
constexpr uint8_t kInvalid = 1;

constexpr std::array<uint8_t, 256> make_invalid_table() {
  std::array<uint8_t, 256> table{};
  table.fill(kInvalid);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (char c : kAlphabet)
    table[static_cast<uint8_t>(c)] = 0;
  return table;
}

constexpr std::array<uint8_t, 256> kInvalidTable = make_invalid_table();

bool all_in_alphabet(std::string_view text) {
  uint8_t invalid = 0;
  for (char c : text)
    invalid |= kInvalidTable[static_cast<uint8_t>(c)];
  return invalid == 0;
}

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
  std::string_view data = encoded.substr(0, *length);
  if (!all_in_alphabet(data))
    return std::nullopt;
  if (data.empty())
    return 0;

  // GLib keeps a trailing partial quad in its state instead of writing it, so
  // the tail goes through again with its padding made explicit.
  size_t whole = data.size() - data.size() % 4;
  gint state = 0;
  guint save = 0;
  size_t written = 0;
  if (whole > 0)
    written = g_base64_decode_step(data.data(), whole, out, &state, &save);
  size_t rest = data.size() - whole;
  if (rest > 0) {
    char tail[4] = {'=', '=', '=', '='};
    data.copy(tail, rest, whole);
    written += g_base64_decode_step(tail, sizeof tail, out + written, &state, &save);
  }
  return written;
}

}  // namespace callstream
