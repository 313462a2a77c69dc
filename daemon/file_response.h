// Serving a file from a directory to an HTTP client that seeks: what a
// browser's <audio> element needs to play a saved call recording
// (GET /recordings/<conversation_id>.mp3).
//
// - GET and HEAD (anything else: 405 with Allow).
// - Range (RFC 9110 section 14) on GET: one range "bytes=a-b", "bytes=a-" or
//   "bytes=-n" gets 206 with Content-Range; a single unsatisfiable range gets
//   416 with "Content-Range: bytes */<size>". A malformed Range, another
//   unit, several ranges, an empty file and a failed If-Range all get the
//   whole file with 200: RFC 9110 lets a server ignore Range, and players only
//   ever ask for one range (multipart/byteranges would cost a copy).
// - Validators: a weak ETag from size and modification time, Last-Modified;
//   If-None-Match (weak comparison, "*") and, without it, If-Modified-Since
//   answer 304. If-Range honours a date equal to Last-Modified only (a weak
//   ETag never matches If-Range, by the RFC).
// - The body is the file mapped into memory (GMappedFile) and handed to
//   libsoup as GBytes, the whole file or a slice of it: no copy, no read of
//   the file up front; the kernel pages it in while libsoup writes it out and
//   may drop those pages again. The price of a mapping: a file truncated in
//   place while it is being served raises SIGBUS, so writers must replace
//   files atomically (g_file_set_contents writes a temporary and renames).
//
// We parse Range ourselves rather than with soup_message_headers_get_ranges
// (libsoup 3.2): that one takes "bytes=5" for "bytes=5-", leaves a suffix
// longer than the file with a negative start and last positions past the
// end unclamped. For the same reasons serve_file removes the Range header
// from a request it answers with 200, so that libsoup's own automatic range
// handling (which applies to any 200 GET with a Range) does not undo the
// choice.
//
// Threads: call from a SoupServer handler, on the server's thread. The
// open, stat and mmap happen there and are short; nothing is read up front.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace callstreamd {

// What a Range header asks of a representation of a given size.
struct ByteRangeRequest {
  enum class Kind {
    kWholeFile,      // no Range, or one to ignore: 200 with everything
    kPartial,        // 206 with bytes first..last (inclusive)
    kUnsatisfiable,  // 416: the one range starts at or past the end
  };
  Kind kind = Kind::kWholeFile;
  guint64 first = 0;
  guint64 last = 0;
};

// range_header: the Range field value (may be nullptr). Follows the RFC 9110
// grammar: unit "bytes" (case-insensitive) "=" and a comma-separated list
// with optional whitespace around the commas; last positions past the end
// are clamped, a suffix longer than the file means the whole file, a suffix
// of zero is unsatisfiable; a last position before its first makes the
// header invalid (ignored). Numbers too large for 64 bits saturate.
ByteRangeRequest parse_byte_range (const char *range_header, guint64 size);

// Answers msg with the file at root_dir/relative_path, as described above.
// relative_path is relative to root_dir ("conv_abc.mp3", "1555/x.mp3"): an
// absolute path or one with a ".." component gets 403 without looking at
// the disk, and a path that resolves (through symlinks) outside root_dir
// gets 403 too, as does a file we may not read; a missing file or one that
// is not a regular file gets 404 (a missing root_dir too: nothing saved
// yet); other errors 500. The bodies of these are one line of text/plain
// naming relative_path and the reason, never the absolute path.
// content_type goes on 200, 206 and HEAD answers.
//
// Sets the status, the body and the headers named above; the caller may add
// other headers (Cache-Control...) before or after.
void serve_file (SoupServerMessage *msg, const std::string &root_dir,
    const std::string &relative_path, const char *content_type);

}  // namespace callstreamd
