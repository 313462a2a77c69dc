// Assertions shared by the table-driven protocol tests.
#pragma once

#include <glib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace protocol_test {

inline void
assert_optional_equal (const std::optional<int64_t> &got,
    const std::optional<int64_t> &want)
{
  g_assert_cmpint (got.has_value (), ==, want.has_value ());
  if (want)
    g_assert_cmpint (*got, ==, *want);
}

inline void
assert_text_equal (const std::string &got, const std::string &want)
{
  // cmpmem, not cmpstr: a NUL or trailing byte must not go unnoticed.
  g_assert_cmpmem (got.data (), got.size (), want.data (), want.size ());
}

// The message as a T, failing the test with the reason of a ParseError.
template <typename T, typename ParseError, typename Message>
const T &
expect (const Message &message)
{
  if (const auto *error = std::get_if<ParseError> (&message))
    g_test_message ("unexpected ParseError: %s", error->reason.c_str ());
  const T *value = std::get_if<T> (&message);
  g_assert_nonnull (value);
  return *value;
}

}  // namespace protocol_test
