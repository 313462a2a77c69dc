// Serving a saved file (a call recording) from a libsoup server handler, so
// an <audio> element can play and seek it: GET and HEAD, Accept-Ranges,
// single byte ranges (206 with Content-Range; an unsatisfiable one 416 with
// Content-Range: bytes */size: libsoup's server does the Range part itself
// on a complete 200 body), a weak ETag with If-None-Match (304), and the
// file mapped rather than read, so a large recording costs page cache, not
// heap. The file must stay under @root: a path that leaves it is a 404.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace callstreamd {

void serve_file (SoupServerMessage *msg, const std::string &root, const std::string &relative,
    const char *content_type);

}  // namespace callstreamd
