#include "file_response.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace callstreamd {

namespace {

using Kind = ByteRangeRequest::Kind;

// A file descriptor closed when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor (int fd) : fd_ (fd) {}
  ~FileDescriptor ()
  {
    if (fd_ >= 0)
      close (fd_);
  }
  FileDescriptor (const FileDescriptor &) = delete;
  FileDescriptor &operator= (const FileDescriptor &) = delete;
  int get () const { return fd_; }

 private:
  int fd_;
};

std::string_view
trim_ows (std::string_view text)
{
  const size_t start = text.find_first_not_of (" \t");
  if (start == std::string_view::npos)
    return {};
  return text.substr (start, text.find_last_not_of (" \t") - start + 1);
}

// 1*DIGIT, saturating at G_MAXUINT64 (such a position is past any file).
bool
parse_position (std::string_view digits, guint64 &value)
{
  if (digits.empty ())
    return false;
  value = 0;
  for (const char c : digits) {
    if (!g_ascii_isdigit (c))
      return false;
    const guint64 digit = static_cast<guint64> (c - '0');
    value = value > (G_MAXUINT64 - digit) / 10 ? G_MAXUINT64 : value * 10 + digit;
  }
  return true;
}

// The non-empty elements of a comma-separated list (RFC 9110 section 5.6.1).
std::vector<std::string_view>
list_elements (std::string_view list)
{
  std::vector<std::string_view> elements;
  size_t start = 0;
  while (start <= list.size ()) {
    size_t end = list.find (',', start);
    if (end == std::string_view::npos)
      end = list.size ();
    const std::string_view element = trim_ows (list.substr (start, end - start));
    if (!element.empty ())
      elements.push_back (element);
    start = end + 1;
  }
  return elements;
}

ByteRangeRequest
parse_range_spec (std::string_view spec, guint64 size)
{
  ByteRangeRequest request;
  guint64 first = 0;
  guint64 last = size - 1;
  if (spec[0] == '-') {
    guint64 suffix = 0;
    if (!parse_position (spec.substr (1), suffix))
      return request;
    if (suffix == 0) {
      request.kind = Kind::kUnsatisfiable;
      return request;
    }
    first = suffix >= size ? 0 : size - suffix;
  } else {
    const size_t dash = spec.find ('-');
    if (dash == std::string_view::npos || !parse_position (spec.substr (0, dash), first))
      return request;
    const std::string_view last_digits = spec.substr (dash + 1);
    if (!last_digits.empty ()) {
      guint64 requested_last = 0;
      if (!parse_position (last_digits, requested_last) || requested_last < first)
        return request;
      last = std::min (requested_last, size - 1);
    }
    if (first >= size) {
      request.kind = Kind::kUnsatisfiable;
      return request;
    }
  }
  request.kind = Kind::kPartial;
  request.first = first;
  request.last = last;
  return request;
}

guint
status_for_errno (int error)
{
  if (error == ENOENT || error == ENOTDIR || error == ELOOP)
    return SOUP_STATUS_NOT_FOUND;
  return error == EACCES ? SOUP_STATUS_FORBIDDEN : SOUP_STATUS_INTERNAL_SERVER_ERROR;
}

// The absolute path with every symlink resolved; nullopt (errno set) when
// it cannot be resolved.
std::optional<std::string>
canonical_path (const std::string &path)
{
  std::unique_ptr<char, decltype (&free)> resolved (realpath (path.c_str (), nullptr), &free);
  if (!resolved)
    return std::nullopt;
  return std::string (resolved.get ());
}

bool
has_parent_component (std::string_view path)
{
  size_t start = 0;
  while (start <= path.size ()) {
    size_t end = path.find ('/', start);
    if (end == std::string_view::npos)
      end = path.size ();
    if (path.substr (start, end - start) == "..")
      return true;
    start = end + 1;
  }
  return false;
}

// root_dir/relative_path opened read-only, or -1 with *status and *reason.
int
open_under_root (const std::string &root_dir, const std::string &relative_path,
    guint *status, std::string *reason)
{
  if (relative_path.empty ()) {
    *status = SOUP_STATUS_NOT_FOUND;
    *reason = "no file name";
    return -1;
  }
  if (relative_path[0] == '/' || relative_path.find ('\0') != std::string::npos
      || has_parent_component (relative_path)) {
    *status = SOUP_STATUS_FORBIDDEN;
    *reason = "the path leaves the served directory";
    return -1;
  }
  const std::optional<std::string> root = canonical_path (root_dir);
  std::optional<std::string> file;
  if (root)
    file = canonical_path (*root + "/" + relative_path);
  if (!root || !file) {
    *status = status_for_errno (errno);
    *reason = g_strerror (errno);
    return -1;
  }
  const std::string prefix = root->back () == '/' ? *root : *root + "/";
  if (*file != *root && file->compare (0, prefix.size (), prefix) != 0) {
    *status = SOUP_STATUS_FORBIDDEN;
    *reason = "the path resolves outside the served directory";
    return -1;
  }
  const int fd = open (file->c_str (), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *status = status_for_errno (errno);
    *reason = g_strerror (errno);
  }
  return fd;
}

void
answer_text (SoupServerMessage *msg, guint status, const std::string &text)
{
  soup_server_message_set_status (msg, status, nullptr);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
      text.data (), text.size ());
}

struct Validators {
  std::string etag;
  std::string last_modified;
  gint64 mtime_seconds = 0;
};

Validators
validators_of (const struct stat &st)
{
  Validators validators;
  g_autofree gchar *etag = g_strdup_printf ("W/\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER
      "x-%lx\"", static_cast<gint64> (st.st_size), static_cast<gint64> (st.st_mtim.tv_sec),
      static_cast<unsigned long> (st.st_mtim.tv_nsec));
  validators.etag = etag;
  validators.mtime_seconds = st.st_mtim.tv_sec;
  g_autoptr (GDateTime) modified = g_date_time_new_from_unix_utc (validators.mtime_seconds);
  if (modified != nullptr) {
    g_autofree gchar *text = soup_date_time_to_string (modified, SOUP_DATE_HTTP);
    validators.last_modified = text;
  }
  return validators;
}

// If-None-Match with the weak comparison (RFC 9110 section 13.1.2).
bool
etag_list_matches (const char *if_none_match, std::string_view etag)
{
  const std::string_view opaque = etag.substr (2);  // without our "W/"
  bool matches = false;
  GSList *list = soup_header_parse_list (if_none_match);
  for (GSList *item = list; item != nullptr && !matches; item = item->next) {
    std::string_view tag = trim_ows (static_cast<const char *> (item->data));
    if (tag.substr (0, 2) == "W/")
      tag.remove_prefix (2);
    matches = tag == "*" || tag == opaque;
  }
  soup_header_free_list (list);
  return matches;
}

bool
not_modified (SoupMessageHeaders *request_headers, const Validators &validators)
{
  if (const char *if_none_match = soup_message_headers_get_one (request_headers,
          "If-None-Match"))
    return etag_list_matches (if_none_match, validators.etag);
  const char *since = soup_message_headers_get_one (request_headers, "If-Modified-Since");
  if (since == nullptr)
    return false;
  g_autoptr (GDateTime) date = soup_date_time_new_from_http_string (since);
  return date != nullptr && validators.mtime_seconds <= g_date_time_to_unix (date);
}

// If-Range: only a date equal to Last-Modified keeps the Range; an entity
// tag needs a strong match, which our weak ETag never gives.
bool
if_range_allows (const char *if_range, gint64 mtime_seconds)
{
  if (if_range == nullptr)
    return true;
  g_autoptr (GDateTime) date = soup_date_time_new_from_http_string (if_range);
  return date != nullptr && g_date_time_to_unix (date) == mtime_seconds;
}

void
serve_body (SoupServerMessage *msg, int fd, const std::string &relative_path,
    const Validators &validators, const char *content_type)
{
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  g_autoptr (GError) error = nullptr;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new_from_fd (fd, FALSE, &error);
  if (mapped == nullptr) {
    answer_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
        relative_path + ": cannot map the file: " + error->message + "\n");
    return;
  }
  g_autoptr (GBytes) whole = g_mapped_file_get_bytes (mapped);
  const guint64 size = g_bytes_get_size (whole);

  ByteRangeRequest range = parse_byte_range (
      soup_message_headers_get_one (request_headers, "Range"), size);
  if (!if_range_allows (soup_message_headers_get_one (request_headers, "If-Range"),
          validators.mtime_seconds))
    range = {};
  if (range.kind == Kind::kUnsatisfiable) {
    g_autofree gchar *content_range = g_strdup_printf ("bytes */%" G_GUINT64_FORMAT, size);
    soup_message_headers_replace (response_headers, "Content-Range", content_range);
    answer_text (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE,
        "range not satisfiable: " + relative_path + " has " + std::to_string (size)
        + " bytes\n");
    return;
  }

  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  soup_message_body_truncate (body);
  soup_message_headers_set_content_type (response_headers, content_type, nullptr);
  if (range.kind == Kind::kPartial) {
    soup_message_headers_set_content_range (response_headers, range.first, range.last, size);
    g_autoptr (GBytes) slice = g_bytes_new_from_bytes (whole, range.first,
        range.last - range.first + 1);
    soup_message_body_append_bytes (body, slice);
    soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, nullptr);
  } else {
    // Ignored on purpose: libsoup must not turn this 200 into a 206 after all.
    soup_message_headers_remove (request_headers, "Range");
    if (size > 0)  // libsoup refuses empty chunks
      soup_message_body_append_bytes (body, whole);
    soup_server_message_set_status (msg, SOUP_STATUS_OK, nullptr);
  }
}

}  // namespace

ByteRangeRequest
parse_byte_range (const char *range_header, guint64 size)
{
  if (range_header == nullptr || size == 0)
    return {};
  const std::string_view header (range_header);
  if (header.size () < 6 || g_ascii_strncasecmp (range_header, "bytes=", 6) != 0)
    return {};
  const std::vector<std::string_view> specs = list_elements (header.substr (6));
  if (specs.size () != 1)
    return {};
  return parse_range_spec (specs[0], size);
}

void
serve_file (SoupServerMessage *msg, const std::string &root_dir,
    const std::string &relative_path, const char *content_type)
{
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    soup_message_headers_replace (response_headers, "Allow", "GET, HEAD");
    answer_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
        std::string (method) + " not allowed: use GET or HEAD\n");
    return;
  }

  guint status = SOUP_STATUS_NONE;
  std::string reason;
  const FileDescriptor fd (open_under_root (root_dir, relative_path, &status, &reason));
  struct stat st;
  if (fd.get () >= 0 && fstat (fd.get (), &st) != 0) {
    status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
    reason = g_strerror (errno);
  } else if (fd.get () >= 0 && !S_ISREG (st.st_mode)) {
    status = SOUP_STATUS_NOT_FOUND;
    reason = "not a regular file";
  }
  if (status != SOUP_STATUS_NONE) {
    answer_text (msg, status, relative_path + ": " + reason + "\n");
    return;
  }

  const Validators validators = validators_of (st);
  soup_message_headers_replace (response_headers, "Accept-Ranges", "bytes");
  soup_message_headers_replace (response_headers, "ETag", validators.etag.c_str ());
  if (!validators.last_modified.empty ())
    soup_message_headers_replace (response_headers, "Last-Modified",
        validators.last_modified.c_str ());

  if (not_modified (soup_server_message_get_request_headers (msg), validators)) {
    // A 304's Content-Length, when sent, must be the 200's (RFC 9110 8.6).
    soup_message_headers_set_content_length (response_headers, st.st_size);
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, nullptr);
  } else if (method == SOUP_METHOD_HEAD) {
    // Range is defined for GET only (RFC 9110 section 14.2).
    soup_message_headers_set_content_type (response_headers, content_type, nullptr);
    soup_message_headers_set_content_length (response_headers, st.st_size);
    soup_server_message_set_status (msg, SOUP_STATUS_OK, nullptr);
  } else {
    serve_body (msg, fd.get (), relative_path, validators, content_type);
  }
}

}  // namespace callstreamd
