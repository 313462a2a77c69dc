// Small helpers shared by the element tests.
#pragma once

#include <gst/gst.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <string>
#include <vector>

// Defined when this program is built with AddressSanitizer (gcc or clang).
#if defined(__SANITIZE_ADDRESS__)
#define CALLSTREAM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CALLSTREAM_TEST_ASAN 1
#endif
#endif

namespace test_support {

// g_assert_cmpstr keeps only the pointers: a temporary string would be gone
// by the time a failure is printed, so the values are held here first.
#define assert_text(got, expected) \
  do { \
    const std::string got_ (got), expected_ (expected); \
    g_assert_cmpstr (got_.c_str (), ==, expected_.c_str ()); \
  } while (0)

// Runs a program (found on PATH) to its end and asserts it succeeded; its
// standard error is dropped when @quiet.
inline void
run_program (const std::vector<std::string> &argv, bool quiet = false)
{
  std::vector<const gchar *> args;
  for (const std::string &arg : argv)
    args.push_back (arg.c_str ());
  args.push_back (nullptr);
  gint status = 0;
  GError *error = nullptr;
  const int flags = G_SPAWN_SEARCH_PATH | (quiet ? G_SPAWN_STDERR_TO_DEV_NULL : 0);
  g_spawn_sync (nullptr, const_cast<gchar **> (args.data ()), nullptr,
      static_cast<GSpawnFlags> (flags), nullptr, nullptr, nullptr, nullptr, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, nullptr));
}

// A fresh directory, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir ()
  {
    gchar *path = g_dir_make_tmp ("callstream-test-XXXXXX", nullptr);
    path_ = path;
    g_free (path);
  }
  ~TempDir () { remove_tree (path_); }
  TempDir (const TempDir &) = delete;
  TempDir &operator= (const TempDir &) = delete;
  const std::string &path () const { return path_; }
  std::string operator/ (const std::string &name) const { return path_ + "/" + name; }

  static void remove_tree (const std::string &path)
  {
    if (g_file_test (path.c_str (), G_FILE_TEST_IS_DIR)
        && !g_file_test (path.c_str (), G_FILE_TEST_IS_SYMLINK)) {
      if (GDir *dir = g_dir_open (path.c_str (), 0, nullptr)) {
        while (const gchar *name = g_dir_read_name (dir))
          remove_tree (path + "/" + name);
        g_dir_close (dir);
      }
      g_rmdir (path.c_str ());
    } else {
      g_unlink (path.c_str ());
    }
  }

 private:
  std::string path_;
};

// Sorted names in @dir (hidden ones included).
inline std::vector<std::string>
list_dir (const std::string &dir)
{
  std::vector<std::string> names;
  if (GDir *d = g_dir_open (dir.c_str (), 0, nullptr)) {
    while (const gchar *name = g_dir_read_name (d))
      names.emplace_back (name);
    g_dir_close (d);
  }
  std::sort (names.begin (), names.end ());
  return names;
}

// Every message of @type posted so far on @bus.
inline std::vector<GstMessage *>
pop_messages (GstBus *bus, GstMessageType type)
{
  std::vector<GstMessage *> messages;
  while (GstMessage *m = gst_bus_pop_filtered (bus, type))
    messages.push_back (m);
  return messages;
}

inline void
unref_messages (std::vector<GstMessage *> &messages)
{
  for (GstMessage *m : messages)
    gst_message_unref (m);
  messages.clear ();
}

// Deterministic test audio: @size bytes of a pattern picked by @seed.
inline std::string
pattern_bytes (size_t size, int seed)
{
  std::string data (size, '\0');
  for (size_t i = 0; i < size; i++)
    data[i] = static_cast<char> ((i * 7 + seed * 13) & 0xff);
  return data;
}

inline std::string
base64_of (const std::string &data)
{
  gchar *b64 = g_base64_encode (reinterpret_cast<const guchar *> (data.data ()),
      data.size ());
  std::string text (b64);
  g_free (b64);
  return text;
}

// Provider messages for the source tests: a start that sets the caps, and a
// media frame carrying @audio.
inline std::string
exotel_start_message (const std::string &encoding = "raw", const std::string &rate = "\"8000\"")
{
  return "{\"event\":\"start\",\"sequence_number\":\"1\",\"stream_sid\":\"MZ1\","
      "\"start\":{\"stream_sid\":\"MZ1\",\"call_sid\":\"CA1\",\"account_sid\":\"AC1\","
      "\"from\":\"+911111\",\"to\":\"+912222\","
      "\"custom_parameters\":{\"lang\":\"hi\",\"tries\":3},"
      "\"media_format\":{\"encoding\":\"" + encoding + "\",\"sample_rate\":" + rate
      + ",\"bit_rate\":\"128\"}}}";
}

inline std::string
exotel_media_message (int sequence, const std::string &audio)
{
  return "{\"event\":\"media\",\"sequence_number\":" + std::to_string (sequence)
      + ",\"stream_sid\":\"MZ1\",\"media\":{\"chunk\":\"" + std::to_string (sequence)
      + "\",\"timestamp\":\"0\",\"payload\":\"" + base64_of (audio) + "\"}}";
}

inline std::string
twilio_start_message (const std::string &tracks = "[\"inbound\"]",
    const std::string &encoding = "audio/x-mulaw")
{
  return "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"MZt\","
      "\"start\":{\"accountSid\":\"ACt\",\"streamSid\":\"MZt\",\"callSid\":\"CAt\","
      "\"tracks\":" + tracks + ",\"customParameters\":{\"agent\":\"a1\"},"
      "\"mediaFormat\":{\"encoding\":\"" + encoding + "\",\"sampleRate\":8000,"
      "\"channels\":1}}}";
}

inline std::string
twilio_media_message (int chunk, const std::string &audio, const std::string &track = "inbound")
{
  return "{\"event\":\"media\",\"sequenceNumber\":\"" + std::to_string (chunk + 1)
      + "\",\"streamSid\":\"MZt\",\"media\":{\"track\":\"" + track + "\",\"chunk\":\""
      + std::to_string (chunk) + "\",\"timestamp\":\"" + std::to_string (chunk * 20)
      + "\",\"payload\":\"" + base64_of (audio) + "\"}}";
}

inline std::string
buffer_bytes (GstBuffer *buffer)
{
  GstMapInfo map;
  gst_buffer_map (buffer, &map, GST_MAP_READ);
  std::string data (reinterpret_cast<const char *> (map.data), map.size);
  gst_buffer_unmap (buffer, &map);
  return data;
}

inline std::string
read_file (const std::string &path)
{
  gchar *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents (path.c_str (), &contents, &length, nullptr))
    return {};
  std::string data (contents, length);
  g_free (contents);
  return data;
}

}  // namespace test_support
