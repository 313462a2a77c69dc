#include "file_response.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory>

namespace callstreamd {

namespace {

void
not_found (SoupServerMessage *msg, const char *reason)
{
  soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, reason);
  const std::string body = std::string (reason) + "\n";
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
      body.data (), body.size ());
}

// realpath(3), or "" when the path does not exist.
std::string
resolved (const std::string &path)
{
  std::unique_ptr<char, decltype (&free)> real (realpath (path.c_str (), nullptr), free);
  return real ? std::string (real.get ()) : std::string ();
}

}  // namespace

void
serve_file (SoupServerMessage *msg, const std::string &root, const std::string &relative,
    const char *content_type)
{
  const char *method = soup_server_message_get_method (msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
        "GET, HEAD");
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET or HEAD");
    return;
  }
  const std::string real_root = resolved (root);
  const std::string real_path = resolved (root + "/" + relative);
  if (real_root.empty () || real_path.empty ())
    return not_found (msg, "no such recording");
  if (real_path.compare (0, real_root.size () + 1, real_root + "/") != 0)
    return not_found (msg, "no such recording");
  GStatBuf st;
  if (g_stat (real_path.c_str (), &st) != 0 || !S_ISREG (st.st_mode))
    return not_found (msg, "no such recording");

  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  g_autofree gchar *etag = g_strdup_printf ("W/\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER
      "x\"", static_cast<gint64> (st.st_size), static_cast<gint64> (st.st_mtime));
  soup_message_headers_replace (response, "ETag", etag);
  soup_message_headers_replace (response, "Accept-Ranges", "bytes");
  g_autoptr (GDateTime) modified = g_date_time_new_from_unix_utc (st.st_mtime);
  g_autofree gchar *last_modified = g_date_time_format (modified, "%a, %d %b %Y %H:%M:%S GMT");
  soup_message_headers_replace (response, "Last-Modified", last_modified);
  const char *if_none_match = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "If-None-Match");
  if (if_none_match != nullptr && g_strcmp0 (if_none_match, etag) == 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, nullptr);
    return;
  }
  g_autoptr (GError) error = nullptr;
  GMappedFile *mapped = st.st_size > 0 ? g_mapped_file_new (real_path.c_str (), FALSE, &error)
      : nullptr;
  if (st.st_size > 0 && mapped == nullptr)
    return not_found (msg, "recording cannot be read");
  g_autoptr (GBytes) bytes = mapped ? g_mapped_file_get_bytes (mapped)
      : g_bytes_new_static ("", 0);
  if (mapped)
    g_mapped_file_unref (mapped);
  // libsoup answers a Range itself (206, or 416 for a range past the end);
  // the 416 should also say how long the file is.
  const char *range = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Range");
  guint64 first = 0;
  if (range != nullptr && g_str_has_prefix (range, "bytes=")) {
    g_autofree gchar *start = g_strndup (range + 6, strcspn (range + 6, "-,"));
    if (g_ascii_string_to_unsigned (start, 10, 0, G_MAXUINT64, &first, nullptr)
        && first >= static_cast<guint64> (st.st_size)) {
      g_autofree gchar *all = g_strdup_printf ("bytes */%" G_GINT64_FORMAT,
          static_cast<gint64> (st.st_size));
      soup_message_headers_replace (response, "Content-Range", all);
    }
  }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_set_content_type (response, content_type, nullptr);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  soup_message_body_append_bytes (body, bytes);
  soup_message_body_complete (body);
}

}  // namespace callstreamd
