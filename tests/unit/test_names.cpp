// Ids from the wire turned into path components: exact output for each case,
// and the safety properties for every case and every single byte.
#include "protocol/names.h"

#include <glib.h>

#include <algorithm>
#include <string>
#include <string_view>

using namespace std::string_view_literals;
using callstream::sanitize_path_component;

namespace {

constexpr size_t kMaxBytes = 128;

struct NameCase {
  const char *path;
  std::string input;
  std::string want;
};

const NameCase kNameCases[] = {
  {"/names/exotel-call-sid-unchanged", "CA1234abc", "CA1234abc"},
  {"/names/phone-number-unchanged", "+919876543210", "+919876543210"},
  {"/names/every-kept-character",
   "AZaz09_.+=@-", "AZaz09_.+=@-"},
  {"/names/uuid-unchanged",
   "3f2b1c9e-8a7d-4e6f-9b1a-0c2d3e4f5a6b", "3f2b1c9e-8a7d-4e6f-9b1a-0c2d3e4f5a6b"},
  {"/names/email-like-unchanged", "agent@example.com", "agent@example.com"},
  {"/names/dot-traversal", "../etc/passwd", "___etc_passwd"},
  {"/names/deep-traversal", "../../../../tmp/x", "___.._.._.._tmp_x"},
  {"/names/absolute-path", "/etc/passwd", "_etc_passwd"},
  {"/names/single-dot", ".", "_"},
  {"/names/double-dot", "..", "__"},
  {"/names/triple-dot", "...", "___"},
  {"/names/hidden-file", ".hidden", "_hidden"},
  {"/names/inner-dots-kept", "a..b.c", "a..b.c"},
  {"/names/trailing-dot-kept", "name.", "name."},
  {"/names/slash-and-backslash", "a/b\\c", "a_b_c"},
  {"/names/windows-drive", "C:\\Windows", "C__Windows"},
  {"/names/embedded-nul", std::string("a\0b"sv), "a_b"},
  {"/names/only-nul", std::string("\0"sv), "_"},
  {"/names/nul-then-traversal", std::string("\0../x"sv), "_.._x"},
  {"/names/newline", "line\nbreak", "line_break"},
  {"/names/tab", "a\tb", "a_b"},
  {"/names/delete-char", "a\x7f" "b", "a_b"},
  {"/names/control-chars", "\x01\x1f\r\n", "____"},
  {"/names/space", "a b", "a_b"},
  {"/names/percent-encoded-traversal", "%2e%2e%2f", "_2e_2e_2f"},
  {"/names/shell-characters", "a;b|c$(d)`e`*?'\"<>", "a_b_c__d__e_______"},
  {"/names/utf8-e-acute", "\xc3\xa9", "__"},
  {"/names/utf8-in-word", "Zo\xc3\xab", "Zo__"},
  {"/names/utf8-devanagari", "\xe0\xa4\xa8", "___"},
  {"/names/invalid-utf8", "\xff\xfe", "__"},
  {"/names/max-length-unchanged", std::string(128, 'a'), std::string(128, 'a')},
  {"/names/one-over-max-truncated", std::string(129, 'b'), std::string(128, 'b')},
  {"/names/300-chars-truncated-to-128",
   std::string(150, 'x') + std::string(150, 'y'),
   std::string(128, 'x')},
  {"/names/long-utf8-truncated-by-bytes",
   [] { std::string s; for (int i = 0; i < 150; i++) s += "\xc3\xa9"; return s; }(),
   std::string(128, '_')},
  {"/names/long-dots-truncated", std::string(200, '.'), std::string(128, '_')},
  {"/names/empty", "", ""},
};

// What must hold whatever the input: the result stays inside its directory.
void assert_safe(std::string_view input, const std::string &got) {
  g_assert_cmpuint(got.size(), <=, kMaxBytes);
  g_assert_cmpuint(got.size(), ==, std::min(input.size(), kMaxBytes));
  g_assert_cmpint(got.empty(), ==, input.empty());
  if (!got.empty())
    g_assert_cmpint(got.front(), !=, '.');
  g_assert_true(got != "." && got != "..");
  for (char c : got) {
    bool kept = g_ascii_isalnum(c) || std::string_view("_.+=@-").find(c) !=
                                          std::string_view::npos;
    g_assert_true(kept);
  }
}

void test_name(gconstpointer data) {
  const auto &c = *static_cast<const NameCase *>(data);
  std::string got = sanitize_path_component(c.input);
  g_assert_cmpmem(got.data(), got.size(), c.want.data(), c.want.size());
  assert_safe(c.input, got);
}

// Each byte alone, and between two letters: kept as is or replaced by '_'.
void test_every_single_byte() {
  for (int byte = 0; byte < 256; byte++) {
    char c = static_cast<char>(byte);
    bool kept = g_ascii_isalnum(c) || std::string_view("_.+=@-").find(c) !=
                                          std::string_view::npos;
    std::string alone = sanitize_path_component(std::string_view(&c, 1));
    assert_safe(std::string_view(&c, 1), alone);
    g_assert_cmpint(alone[0], ==, kept && c != '.' ? c : '_');

    std::string between = std::string("a") + c + "b";
    std::string got = sanitize_path_component(between);
    std::string want = std::string("a") + (kept ? c : '_') + "b";
    g_assert_cmpmem(got.data(), got.size(), want.data(), want.size());
  }
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  for (const NameCase &c : kNameCases)
    g_test_add_data_func(c.path, &c, test_name);
  g_test_add_func("/names/every-single-byte", test_every_single_byte);
  return g_test_run();
}
