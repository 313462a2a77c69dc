// The strict base64 rules of protocol/base64.h, written the slow and obvious
// way on GLib's decoder: the reference the unit tests and fuzz-base64 hold
// base64_decode_into to. Valid when the length mod 4 is not 1, '=' appears
// only as one or two padding characters at the end of a padded input, and
// everything else is in the standard alphabet; the bytes are then what
// g_base64_decode gives for the data padded back to whole quads.
#pragma once

#include <glib.h>

#include <optional>
#include <string>
#include <string_view>

namespace test_support {

inline std::optional<std::string>
reference_decode (std::string_view text)
{
  if (text.size () % 4 == 1)
    return std::nullopt;
  std::string_view data = text;
  if (text.size () % 4 == 0 && !text.empty () && text.back () == '=')
    data = text.substr (0, text.size () - (text[text.size () - 2] == '=' ? 2 : 1));
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (char c : data)
    if (kAlphabet.find (c) == std::string_view::npos)
      return std::nullopt;
  std::string padded (data);
  while (padded.size () % 4 != 0)
    padded += '=';
  gsize size = 0;
  g_autofree guchar *bytes = g_base64_decode (padded.c_str (), &size);
  return std::string (reinterpret_cast<const char *> (bytes), size);
}

}  // namespace test_support
