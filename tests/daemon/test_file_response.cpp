// serve_file behind a real SoupServer on 127.0.0.1 (its own thread and main
// context), asked by a real libsoup client: what an <audio> element does to
// play and seek a recording, and what an attacker does to read other files.
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "file_response.h"

using callstreamd::ByteRangeRequest;
using callstreamd::parse_byte_range;

namespace {

using Headers = std::vector<std::pair<const char *, std::string>>;

constexpr guint64 kSmallSize = 1000;
constexpr guint64 kLargeSize = 20 * 1024 * 1024;

// Byte @offset of every test file: not periodic over short distances, so
// a body from the wrong offset shows.
guint8
pattern_byte (guint64 offset)
{
  return static_cast<guint8> ((offset * 7) ^ (offset >> 9) ^ (offset >> 17));
}

std::string
pattern (guint64 first, guint64 length)
{
  std::string bytes (length, '\0');
  for (guint64 i = 0; i < length; i++)
    bytes[i] = static_cast<char> (pattern_byte (first + i));
  return bytes;
}

// Written 64 KiB at a time, so the test itself never holds a large file.
void
write_pattern_file (const std::string &path, guint64 size)
{
  FILE *file = fopen (path.c_str (), "wb");
  g_assert_nonnull (file);
  for (guint64 offset = 0; offset < size; offset += 65536) {
    const std::string block = pattern (offset, std::min<guint64> (65536, size - offset));
    g_assert_cmpuint (fwrite (block.data (), 1, block.size (), file), ==, block.size ());
  }
  g_assert_cmpint (fclose (file), ==, 0);
}

void
remove_tree (const std::string &path)
{
  if (g_file_test (path.c_str (), G_FILE_TEST_IS_DIR)
      && !g_file_test (path.c_str (), G_FILE_TEST_IS_SYMLINK)) {
    if (GDir *dir = g_dir_open (path.c_str (), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name (dir))
        remove_tree (path + "/" + name);
      g_dir_close (dir);
    }
  }
  g_remove (path.c_str ());
}

// A temporary directory holding recordings/ (the served root, with
// clip.mp3 of kSmallSize bytes) and secret.txt beside it, outside the root.
class Files {
 public:
  Files ()
  {
    g_autofree gchar *dir = g_dir_make_tmp ("callstream-file-response-XXXXXX", nullptr);
    g_assert_nonnull (dir);
    top_ = dir;
    g_assert_cmpint (g_mkdir (root ().c_str (), 0700), ==, 0);
    write_pattern_file (root () + "/clip.mp3", kSmallSize);
    g_assert_true (g_file_set_contents ((top_ + "/secret.txt").c_str (), "top secret", -1,
        nullptr));
  }
  ~Files () { remove_tree (top_); }
  Files (const Files &) = delete;
  Files &operator= (const Files &) = delete;

  std::string top () const { return top_; }
  std::string root () const { return top_ + "/recordings"; }

 private:
  std::string top_;
};

// GET|HEAD /files/<percent-encoded relative path> -> serve_file (root, the
// decoded path, "audio/mpeg"). raw-paths keeps libsoup from refusing "%2F.."
// itself, so the requests reach serve_file as an attacker would send them
// to a handler that decodes its own path.
class FileServer {
 public:
  explicit FileServer (std::string root) : root_ (std::move (root))
  {
    std::promise<guint> port;
    std::future<guint> port_ready = port.get_future ();
    thread_ = std::thread ([this, &port] { run (port); });
    port_ = port_ready.get ();
  }

  ~FileServer ()
  {
    g_main_context_invoke (context_, [] (gpointer loop) {
          g_main_loop_quit (static_cast<GMainLoop *> (loop));
          return G_SOURCE_REMOVE;
        }, loop_);
    thread_.join ();
  }

  FileServer (const FileServer &) = delete;
  FileServer &operator= (const FileServer &) = delete;

  std::string url (const std::string &encoded_path) const
  {
    return "http://127.0.0.1:" + std::to_string (port_) + "/files/" + encoded_path;
  }

 private:
  void run (std::promise<guint> &port)
  {
    context_ = g_main_context_new ();
    g_main_context_push_thread_default (context_);
    loop_ = g_main_loop_new (context_, FALSE);
    SoupServer *server = soup_server_new ("raw-paths", TRUE, nullptr);
    soup_server_add_handler (server, "/files", handle, this, nullptr);
    g_autoptr (GError) error = nullptr;
    if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
      g_error ("cannot listen: %s", error->message);
    GSList *uris = soup_server_get_uris (server);
    port.set_value (g_uri_get_port (static_cast<GUri *> (uris->data)));
    g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
    g_main_loop_run (loop_);
    soup_server_disconnect (server);
    g_object_unref (server);
    g_main_loop_unref (loop_);
    g_main_context_pop_thread_default (context_);
    g_main_context_unref (context_);
  }

  static void handle (SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
      gpointer data)
  {
    auto *self = static_cast<FileServer *> (data);
    g_autofree gchar *relative = g_str_has_prefix (path, "/files/")
        ? g_uri_unescape_string (path + strlen ("/files/"), nullptr) : nullptr;
    if (relative == nullptr) {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, nullptr);
      return;
    }
    callstreamd::serve_file (msg, self->root_, relative, "audio/mpeg");
  }

  std::string root_;
  std::thread thread_;
  guint port_ = 0;
  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
};

struct Reply {
  guint status = 0;
  std::string body;
  std::shared_ptr<SoupMessage> message;

  // The response header's value, "(none)" when absent.
  std::string header (const char *name) const
  {
    const char *value = soup_message_headers_get_one (
        soup_message_get_response_headers (message.get ()), name);
    return value != nullptr ? value : "(none)";
  }
};

Reply
request (const std::string &url, const Headers &headers = {}, const char *method = "GET")
{
  g_autoptr (SoupSession) session = soup_session_new ();
  SoupMessage *msg = soup_message_new (method, url.c_str ());
  g_assert_nonnull (msg);
  Reply reply;
  reply.message.reset (msg, g_object_unref);
  for (const auto &[name, value] : headers)
    soup_message_headers_replace (soup_message_get_request_headers (msg), name, value.c_str ());
  g_autoptr (GError) error = nullptr;
  g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, nullptr, &error);
  g_assert_no_error (error);
  reply.status = soup_message_get_status (msg);
  gsize size = 0;
  const auto *data = static_cast<const char *> (g_bytes_get_data (body, &size));
  reply.body.assign (data != nullptr ? data : "", size);
  return reply;
}

// Compares without printing a kilobyte of binary on failure.
void
assert_body (const Reply &reply, guint64 first, guint64 length)
{
  g_assert_cmpuint (reply.body.size (), ==, length);
  g_assert_true (reply.body == pattern (first, length));
}

void
assert_header (const Reply &reply, const char *name, const std::string &expected)
{
  const std::string value = reply.header (name);
  if (value != expected)
    g_error ("%s: \"%s\", expected \"%s\"", name, value.c_str (), expected.c_str ());
}

void
assert_contains (const std::string &text, const char *part)
{
  if (text.find (part) == std::string::npos)
    g_error ("\"%s\" does not contain \"%s\"", text.c_str (), part);
}

// This process's anonymous resident memory in KiB (heap, not mapped files);
// -1 where the kernel does not report it.
gint64
rss_anon_kib ()
{
  g_autofree gchar *status = nullptr;
  if (!g_file_get_contents ("/proc/self/status", &status, nullptr, nullptr))
    return -1;
  const char *line = strstr (status, "\nRssAnon:");
  return line != nullptr ? g_ascii_strtoll (line + strlen ("\nRssAnon:"), nullptr, 10) : -1;
}

}  // namespace

static void
test_get_sends_the_whole_file_with_validators ()
{
  Files files;
  FileServer server (files.root ());
  const Reply reply = request (server.url ("clip.mp3"));
  g_assert_cmpuint (reply.status, ==, SOUP_STATUS_OK);
  assert_body (reply, 0, kSmallSize);
  assert_header (reply, "Content-Type", "audio/mpeg");
  assert_header (reply, "Content-Length", "1000");
  assert_header (reply, "Accept-Ranges", "bytes");
  g_assert_true (g_str_has_prefix (reply.header ("ETag").c_str (), "W/\"3e8-"));
  g_autoptr (GDateTime) modified = soup_date_time_new_from_http_string (
      reply.header ("Last-Modified").c_str ());
  g_assert_nonnull (modified);
  GStatBuf st;
  g_assert_cmpint (g_stat ((files.root () + "/clip.mp3").c_str (), &st), ==, 0);
  g_assert_cmpint (g_date_time_to_unix (modified), ==, st.st_mtime);
}

static void
test_head_sends_headers_without_a_body ()
{
  Files files;
  FileServer server (files.root ());
  // Range is defined for GET only: HEAD answers for the whole file.
  for (const Headers &headers : { Headers {}, Headers { { "Range", "bytes=0-99" } } }) {
    const Reply reply = request (server.url ("clip.mp3"), headers, "HEAD");
    g_assert_cmpuint (reply.status, ==, SOUP_STATUS_OK);
    g_assert_cmpuint (reply.body.size (), ==, 0);
    assert_header (reply, "Content-Length", "1000");
    assert_header (reply, "Content-Type", "audio/mpeg");
    assert_header (reply, "Accept-Ranges", "bytes");
    assert_header (reply, "Content-Range", "(none)");
  }
}

static void
test_range_first_hundred_bytes ()
{
  Files files;
  FileServer server (files.root ());
  const Reply reply = request (server.url ("clip.mp3"), { { "Range", "bytes=0-99" } });
  g_assert_cmpuint (reply.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_header (reply, "Content-Range", "bytes 0-99/1000");
  assert_header (reply, "Content-Length", "100");
  assert_header (reply, "Content-Type", "audio/mpeg");
  assert_body (reply, 0, 100);
}

static void
test_open_range_runs_to_the_end ()
{
  Files files;
  FileServer server (files.root ());
  const Reply reply = request (server.url ("clip.mp3"), { { "Range", "bytes=100-" } });
  g_assert_cmpuint (reply.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_header (reply, "Content-Range", "bytes 100-999/1000");
  assert_body (reply, 100, 900);

  // A last position past the end is clamped to it.
  const Reply clamped = request (server.url ("clip.mp3"), { { "Range", "bytes=900-5000" } });
  g_assert_cmpuint (clamped.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_header (clamped, "Content-Range", "bytes 900-999/1000");
  assert_body (clamped, 900, 100);
}

static void
test_suffix_range_sends_the_last_bytes ()
{
  Files files;
  FileServer server (files.root ());
  const Reply reply = request (server.url ("clip.mp3"), { { "Range", "bytes=-50" } });
  g_assert_cmpuint (reply.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_header (reply, "Content-Range", "bytes 950-999/1000");
  assert_body (reply, 950, 50);

  // A suffix longer than the file is all of it.
  const Reply longer = request (server.url ("clip.mp3"), { { "Range", "bytes=-5000" } });
  g_assert_cmpuint (longer.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_header (longer, "Content-Range", "bytes 0-999/1000");
  assert_body (longer, 0, kSmallSize);
}

static void
test_range_past_the_end_is_416 ()
{
  Files files;
  FileServer server (files.root ());
  for (const char *range : { "bytes=1000-1099", "bytes=5000-", "bytes=-0" }) {
    const Reply reply = request (server.url ("clip.mp3"), { { "Range", range } });
    g_assert_cmpuint (reply.status, ==, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);
    assert_header (reply, "Content-Range", "bytes */1000");
    assert_contains (reply.body, "clip.mp3 has 1000 bytes");
  }
}

static void
test_malformed_or_multiple_ranges_get_the_whole_file ()
{
  Files files;
  FileServer server (files.root ());
  // Several ranges too: libsoup would answer those itself with a multipart
  // copy of the file if serve_file let it.
  for (const char *range : { "bytes=abc", "bytes=5", "bytes=99-10", "items=0-5", "bytes 0-5",
         "bytes=0-5,10-20", "bytes=-", "bytes=1-2-3", "bytes=+1-2" }) {
    const Reply reply = request (server.url ("clip.mp3"), { { "Range", range } });
    if (reply.status != SOUP_STATUS_OK)
      g_error ("Range \"%s\" answered %u", range, reply.status);
    assert_header (reply, "Content-Range", "(none)");
    assert_body (reply, 0, kSmallSize);
  }
}

static void
test_parse_byte_range_follows_rfc_9110 ()
{
  using Kind = ByteRangeRequest::Kind;
  const struct {
    const char *header;
    guint64 size;
    Kind kind;
    guint64 first;
    guint64 last;
  } cases[] = {
    { nullptr, 10, Kind::kWholeFile, 0, 0 },
    { "bytes=0-0", 10, Kind::kPartial, 0, 0 },
    { "BYTES=2-4", 10, Kind::kPartial, 2, 4 },  // the unit is case-insensitive
    { "bytes= 2-4 ,", 10, Kind::kPartial, 2, 4 },  // list whitespace, empty elements
    { "bytes=9-", 10, Kind::kPartial, 9, 9 },
    { "bytes=-1", 10, Kind::kPartial, 9, 9 },
    { "bytes=-99999999999999999999999", 10, Kind::kPartial, 0, 9 },  // saturates
    { "bytes=3-99999999999999999999999", 10, Kind::kPartial, 3, 9 },
    { "bytes=99999999999999999999999-", 10, Kind::kUnsatisfiable, 0, 0 },
    { "bytes=10-", 10, Kind::kUnsatisfiable, 0, 0 },
    { "bytes=-0", 10, Kind::kUnsatisfiable, 0, 0 },
    { "bytes=0-9", 0, Kind::kWholeFile, 0, 0 },  // an empty file ignores Range
    { "bytes=", 10, Kind::kWholeFile, 0, 0 },
    { "bytes=2 -4", 10, Kind::kWholeFile, 0, 0 },
    { "bytes=4-2", 10, Kind::kWholeFile, 0, 0 },
    { "bytes=0-1,3-4", 10, Kind::kWholeFile, 0, 0 },
    { "bytes = 0-1", 10, Kind::kWholeFile, 0, 0 },
    { "bytesx=0-1", 10, Kind::kWholeFile, 0, 0 },
  };
  for (const auto &c : cases) {
    const ByteRangeRequest got = parse_byte_range (c.header, c.size);
    if (got.kind != c.kind || got.first != c.first || got.last != c.last)
      g_error ("\"%s\" of %" G_GUINT64_FORMAT ": got kind %d %" G_GUINT64_FORMAT "-%"
          G_GUINT64_FORMAT, c.header ? c.header : "(null)", c.size,
          static_cast<int> (got.kind), got.first, got.last);
  }
}

static void
test_if_none_match_gives_304 ()
{
  Files files;
  FileServer server (files.root ());
  const Reply first = request (server.url ("clip.mp3"));
  const std::string etag = first.header ("ETag");
  const std::string strong = etag.substr (2);  // the weak comparison ignores W/

  for (const std::string &condition : { etag, strong, std::string ("\"x\", ") + etag,
         std::string ("*") }) {
    const Reply reply = request (server.url ("clip.mp3"), { { "If-None-Match", condition } });
    if (reply.status != SOUP_STATUS_NOT_MODIFIED)
      g_error ("If-None-Match: %s answered %u", condition.c_str (), reply.status);
    g_assert_cmpuint (reply.body.size (), ==, 0);
    assert_header (reply, "ETag", etag);
    // A 304's Content-Length is the 200's or absent, never 0.
    assert_header (reply, "Content-Length", "1000");
  }
  const Reply other = request (server.url ("clip.mp3"), { { "If-None-Match", "W/\"3e8-0-0\"" } });
  g_assert_cmpuint (other.status, ==, SOUP_STATUS_OK);
  assert_body (other, 0, kSmallSize);

  const Reply since = request (server.url ("clip.mp3"),
      { { "If-Modified-Since", first.header ("Last-Modified") } });
  g_assert_cmpuint (since.status, ==, SOUP_STATUS_NOT_MODIFIED);
  const Reply old = request (server.url ("clip.mp3"),
      { { "If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT" } });
  g_assert_cmpuint (old.status, ==, SOUP_STATUS_OK);
}

static void
test_if_range_keeps_the_range_only_for_the_same_date ()
{
  Files files;
  FileServer server (files.root ());
  const Reply first = request (server.url ("clip.mp3"));
  const Reply same = request (server.url ("clip.mp3"),
      { { "Range", "bytes=0-9" }, { "If-Range", first.header ("Last-Modified") } });
  g_assert_cmpuint (same.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_body (same, 0, 10);
  // A changed file (other date), or our weak ETag, which If-Range cannot use.
  for (const std::string &condition : { std::string ("Sat, 01 Jan 2000 00:00:00 GMT"),
         first.header ("ETag") }) {
    const Reply reply = request (server.url ("clip.mp3"),
        { { "Range", "bytes=0-9" }, { "If-Range", condition } });
    g_assert_cmpuint (reply.status, ==, SOUP_STATUS_OK);
    assert_body (reply, 0, kSmallSize);
  }
}

static void
test_missing_file_is_404_with_a_reason ()
{
  Files files;
  FileServer server (files.root ());
  const Reply missing = request (server.url ("conv_nope.mp3"));
  g_assert_cmpuint (missing.status, ==, SOUP_STATUS_NOT_FOUND);
  g_assert_cmpstr (missing.body.c_str (), ==, "conv_nope.mp3: No such file or directory\n");

  g_assert_cmpint (g_mkdir ((files.root () + "/folder").c_str (), 0700), ==, 0);
  const Reply folder = request (server.url ("folder"));
  g_assert_cmpuint (folder.status, ==, SOUP_STATUS_NOT_FOUND);
  g_assert_cmpstr (folder.body.c_str (), ==, "folder: not a regular file\n");

  // No served directory yet (nothing recorded): still 404, not 500.
  FileServer no_root (files.top () + "/absent");
  g_assert_cmpuint (request (no_root.url ("clip.mp3")).status, ==, SOUP_STATUS_NOT_FOUND);
}

static void
test_paths_leaving_the_root_are_refused ()
{
  Files files;
  FileServer server (files.root ());
  g_assert_cmpint (symlink ((files.top () + "/secret.txt").c_str (),
      (files.root () + "/link.mp3").c_str ()), ==, 0);
  g_assert_cmpint (symlink ("clip.mp3", (files.root () + "/inside.mp3").c_str ()), ==, 0);
  g_assert_cmpint (g_mkdir ((files.root () + "/sub").c_str (), 0700), ==, 0);

  for (const char *path : { "..%2Fsecret.txt", "sub%2F..%2F..%2Fsecret.txt", "sub%2F..",
         "%2Fetc%2Fpasswd", "link.mp3", "sub%2F..%2F..%2Frecordings%2Fclip.mp3",
         "sub%2F..%2Fclip.mp3" }) {
    const Reply reply = request (server.url (path));
    if (reply.status != SOUP_STATUS_FORBIDDEN)
      g_error ("%s answered %u: %s", path, reply.status, reply.body.c_str ());
    assert_contains (reply.body, "the served directory");
    g_assert_true (reply.body.find ("top secret") == std::string::npos);
    g_assert_true (reply.body.find (files.top ()) == std::string::npos);
  }
  // ".." is refused even where it would stay inside (sub/../clip.mp3), before
  // the disk is looked at; a symlink that stays inside is followed.
  const Reply inside = request (server.url ("inside.mp3"));
  g_assert_cmpuint (inside.status, ==, SOUP_STATUS_OK);
  assert_body (inside, 0, kSmallSize);
}

static void
test_other_methods_get_405 ()
{
  Files files;
  FileServer server (files.root ());
  const Reply reply = request (server.url ("clip.mp3"), {}, "POST");
  g_assert_cmpuint (reply.status, ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  assert_header (reply, "Allow", "GET, HEAD");
}

static void
test_empty_file_is_served_and_ignores_range ()
{
  Files files;
  FileServer server (files.root ());
  g_assert_true (g_file_set_contents ((files.root () + "/empty.mp3").c_str (), "", 0, nullptr));
  for (const Headers &headers : { Headers {}, Headers { { "Range", "bytes=0-10" } } }) {
    const Reply reply = request (server.url ("empty.mp3"), headers);
    g_assert_cmpuint (reply.status, ==, SOUP_STATUS_OK);
    g_assert_cmpuint (reply.body.size (), ==, 0);
    assert_header (reply, "Content-Length", "0");
  }
}

static void
test_large_file_streams_from_a_mapping ()
{
  Files files;
  write_pattern_file (files.root () + "/large.mp3", kLargeSize);
  FileServer server (files.root ());
  const gint64 before_kib = rss_anon_kib ();

  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", server.url ("large.mp3").c_str ());
  g_autoptr (GError) error = nullptr;
  g_autoptr (GInputStream) stream = soup_session_send (session, msg, nullptr, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_OK);
  // The handler has answered: a server that copied the file would hold all
  // 20 MiB of it now, before the client has read anything.
  const gint64 during_kib = rss_anon_kib ();

  std::vector<guint8> buffer (65536);
  guint64 received = 0;
  guint64 wrong = 0;
  gssize n;
  while ((n = g_input_stream_read (stream, buffer.data (), buffer.size (), nullptr, &error)) > 0) {
    for (gssize i = 0; i < n; i++)
      wrong += buffer[i] != pattern_byte (received + i);
    received += n;
  }
  g_assert_no_error (error);
  g_assert_cmpuint (received, ==, kLargeSize);
  g_assert_cmpuint (wrong, ==, 0);

  if (before_kib < 0) {
    g_test_message ("no RssAnon in /proc/self/status: memory not checked");
  } else {
    g_test_message ("anonymous RSS %" G_GINT64_FORMAT " KiB before, %" G_GINT64_FORMAT
        " KiB while serving 20 MiB", before_kib, during_kib);
    g_assert_cmpint (during_kib - before_kib, <, 8 * 1024);
  }

  // And by range, from the middle.
  const guint64 first = 10 * 1024 * 1024 + 3;
  const Reply reply = request (server.url ("large.mp3"),
      { { "Range", "bytes=" + std::to_string (first) + "-" + std::to_string (first + 99999) } });
  g_assert_cmpuint (reply.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_header (reply, "Content-Range", "bytes 10485763-10585762/20971520");
  assert_body (reply, first, 100000);
  const Reply tail = request (server.url ("large.mp3"), { { "Range", "bytes=-1" } });
  g_assert_cmpuint (tail.status, ==, SOUP_STATUS_PARTIAL_CONTENT);
  assert_body (tail, kLargeSize - 1, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/file-response/get-sends-the-whole-file-with-validators",
      test_get_sends_the_whole_file_with_validators);
  g_test_add_func ("/file-response/head-sends-headers-without-a-body",
      test_head_sends_headers_without_a_body);
  g_test_add_func ("/file-response/range-first-hundred-bytes", test_range_first_hundred_bytes);
  g_test_add_func ("/file-response/open-range-runs-to-the-end", test_open_range_runs_to_the_end);
  g_test_add_func ("/file-response/suffix-range-sends-the-last-bytes",
      test_suffix_range_sends_the_last_bytes);
  g_test_add_func ("/file-response/range-past-the-end-is-416", test_range_past_the_end_is_416);
  g_test_add_func ("/file-response/malformed-or-multiple-ranges-get-the-whole-file",
      test_malformed_or_multiple_ranges_get_the_whole_file);
  g_test_add_func ("/file-response/parse-byte-range-follows-rfc-9110",
      test_parse_byte_range_follows_rfc_9110);
  g_test_add_func ("/file-response/if-none-match-gives-304", test_if_none_match_gives_304);
  g_test_add_func ("/file-response/if-range-keeps-the-range-only-for-the-same-date",
      test_if_range_keeps_the_range_only_for_the_same_date);
  g_test_add_func ("/file-response/missing-file-is-404-with-a-reason",
      test_missing_file_is_404_with_a_reason);
  g_test_add_func ("/file-response/paths-leaving-the-root-are-refused",
      test_paths_leaving_the_root_are_refused);
  g_test_add_func ("/file-response/other-methods-get-405", test_other_methods_get_405);
  g_test_add_func ("/file-response/empty-file-is-served-and-ignores-range",
      test_empty_file_is_served_and_ignores_range);
  g_test_add_func ("/file-response/large-file-streams-from-a-mapping",
      test_large_file_streams_from_a_mapping);
  return g_test_run ();
}
