// Ids come from the network: a hostile one must not name another directory.
#include "protocol/names.h"

#include <algorithm>

namespace callstream {
namespace {

constexpr size_t kMaxComponentBytes = 128;

// ASCII only and locale-independent: the same id gives the same name anywhere.
bool is_kept(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' ||
         c == '=' || c == '@' || c == '-';
}

}  // namespace

std::string sanitize_path_component(std::string_view id) {
  std::string component(id.substr(0, kMaxComponentBytes));
  for (char &c : component) {
    if (!is_kept(c))
      c = '_';
  }
  // Every leading dot, so ".." becomes "__" and no name starts with '.'.
  auto first_other = component.find_first_not_of('.');
  std::fill_n(component.begin(),
              first_other == std::string::npos ? component.size() : first_other,
              '_');
  return component;
}

}  // namespace callstream
