#include "protocol/plain_json.h"

#include <cstring>

namespace callstream::plain_json {

bool PaddedParser::begin(std::string_view text, od::document &doc, od::object &root) {
  if (text.empty() || std::memchr(text.data(), '\0', text.size()) != nullptr)
    return false;
  buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), text.data(), text.size());
  if (parser.iterate(buffer.data(), text.size(), buffer.size()).get(doc) != simdjson::SUCCESS)
    return false;
  return doc.get_object().get(root) == simdjson::SUCCESS;
}

bool ends_after_root(od::document &doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

}  // namespace callstream::plain_json
