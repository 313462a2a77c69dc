// Ids from the wire used as file or directory names.
#pragma once

#include <string>
#include <string_view>

namespace callstream {

// A single path component made from @id that cannot leave the directory it
// is joined to: only [A-Za-z0-9_.+=@-] are kept, every other byte (/, \, NUL,
// control characters, non-ASCII) becomes '_'; a leading '.' becomes '_' (no
// ".", "..", or hidden files); at most 128 bytes. Returns "" when @id is
// empty, so the caller can fall back to another id.
std::string sanitize_path_component(std::string_view id);

}  // namespace callstream
