// chunkdumper under GstHarness: what lands on disk, byte for byte, and when.
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <sndfile.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callstream-events.h"
#include "common/write_pool.h"
#include "test_support.h"

namespace {

using Bytes = std::vector<guint8>;

constexpr const char *kPcm8k =
    "audio/x-raw,format=S16LE,layout=interleaved,rate=8000,channels=1";
constexpr const char *kMulaw8k = "audio/x-mulaw,rate=8000,channels=1";
constexpr gsize kPcm20msBytes = 320;  // 8 kHz mono S16LE

// A fresh directory per test, removed afterwards.
using TestDir = test_support::TempDir;
using test_support::list_dir;

// A harness around chunkdumper, with a bus to catch its warnings.
class Dumper {
 public:
  explicit Dumper(const TestDir &dir)
      : harness_(gst_harness_new("chunkdumper")), bus_(gst_bus_new()) {
    gst_element_set_bus(harness_->element, bus_);
    g_object_set(harness_->element, "location", dir.path().c_str(), nullptr);
  }
  ~Dumper() {
    gst_bus_set_flushing(bus_, TRUE);  // queued messages hold the element
    gst_harness_teardown(harness_);
    gst_object_unref(bus_);
  }
  Dumper(const Dumper &) = delete;
  Dumper &operator=(const Dumper &) = delete;

  GstHarness *h() const { return harness_; }
  GstElement *element() const { return harness_->element; }

  void start(const char *caps, const char *call_sid = "CA123") {
    gst_harness_set_src_caps_str(harness_, caps);
    if (call_sid != nullptr)
      push_call_info(call_sid);
  }
  void push_call_info(const char *call_sid) {
    g_assert_true(gst_harness_push_event(
        harness_, callstream_call_info_event_new(gst_structure_new(
                      CALLSTREAM_CALL_INFO_NAME, "provider", G_TYPE_STRING,
                      "exotel", "call-sid", G_TYPE_STRING, call_sid,
                      "stream-sid", G_TYPE_STRING, "MZ-stream", nullptr))));
  }
  void push(const Bytes &bytes) {
    GstBuffer *buffer = gst_buffer_new_memdup(bytes.data(), bytes.size());
    g_assert_cmpint(gst_harness_push(harness_, buffer), ==, GST_FLOW_OK);
  }
  void eos() {
    g_assert_true(gst_harness_push_event(harness_, gst_event_new_eos()));
  }
  guint64 counter(const char *name) const {
    guint64 value = 0;
    g_object_get(harness_->element, name, &value, nullptr);
    return value;
  }
  std::optional<std::string> current_directory() const {
    g_autofree gchar *directory = nullptr;
    g_object_get(harness_->element, "current-directory", &directory, nullptr);
    if (directory == nullptr)
      return std::nullopt;
    return directory;
  }
  // Warnings posted so far; fails the test on any error message.
  std::vector<std::string> take_warnings() {
    std::vector<std::string> warnings;
    while (GstMessage *message = gst_bus_pop_filtered(
               bus_, static_cast<GstMessageType>(GST_MESSAGE_WARNING |
                                                 GST_MESSAGE_ERROR))) {
      g_autoptr(GError) error = nullptr;
      g_autofree gchar *debug = nullptr;
      const bool is_error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
      if (is_error)
        gst_message_parse_error(message, &error, &debug);
      else
        gst_message_parse_warning(message, &error, &debug);
      gst_message_unref(message);
      g_assert_false(is_error);
      warnings.push_back(std::string(error->message) + " | " + debug);
    }
    return warnings;
  }

 private:
  GstHarness *harness_;
  GstBus *bus_;
};

// Distinct, recognisable bytes for buffer @seed.
Bytes pattern(gsize size, guint seed) {
  Bytes bytes(size);
  for (gsize i = 0; i < size; i++)
    bytes[i] = static_cast<guint8>((i * 7 + seed * 31 + (i >> 8)) & 0xff);
  return bytes;
}

Bytes concat(const std::vector<Bytes> &parts) {
  Bytes all;
  for (const Bytes &part : parts)
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

std::string chunk_name(guint number, const char *extension = "wav") {
  g_autofree gchar *name = g_strdup_printf("chunk-%06u.%s", number, extension);
  return name;
}

std::vector<std::string> chunk_names(guint count,
                                     const char *extension = "wav") {
  std::vector<std::string> names;
  for (guint i = 1; i <= count; i++) names.push_back(chunk_name(i, extension));
  return names;
}

Bytes read_file(const std::string &path) {
  g_autofree gchar *contents = nullptr;
  gsize length = 0;
  g_autoptr(GError) error = nullptr;
  g_file_get_contents(path.c_str(), &contents, &length, &error);
  g_assert_no_error(error);
  return Bytes(contents, contents + length);
}

// A sound file's header and its audio bytes, through libsndfile.
struct SoundFile {
  SF_INFO info{};
  Bytes raw_audio;             // sf_read_raw: the data chunk as stored
  std::vector<short> samples;  // sf_read_short (FLAC)
};

SoundFile read_sound_file(const std::string &path, bool as_samples = false) {
  SoundFile file;
  SNDFILE *sndfile = sf_open(path.c_str(), SFM_READ, &file.info);
  if (sndfile == nullptr)
    g_error("sf_open %s: %s", path.c_str(), sf_strerror(nullptr));
  const int bytes_per_frame =
      file.info.channels *
      ((file.info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_ULAW ? 1 : 2);
  if (as_samples) {
    file.samples.resize(file.info.frames * file.info.channels);
    g_assert_cmpint(
        sf_read_short(sndfile, file.samples.data(), file.samples.size()), ==,
        file.samples.size());
  } else {
    file.raw_audio.resize(file.info.frames * bytes_per_frame);
    g_assert_cmpint(
        sf_read_raw(sndfile, file.raw_audio.data(), file.raw_audio.size()), ==,
        file.raw_audio.size());
  }
  sf_close(sndfile);
  return file;
}

void assert_bytes_equal(const Bytes &actual, const Bytes &expected) {
  g_assert_cmpmem(actual.data(), actual.size(), expected.data(),
                  expected.size());
}

void assert_wav(const std::string &path, int format, int rate, int channels,
                const Bytes &expected) {
  SoundFile file = read_sound_file(path);
  g_assert_cmphex(file.info.format, ==, format);
  g_assert_cmpint(file.info.samplerate, ==, rate);
  g_assert_cmpint(file.info.channels, ==, channels);
  assert_bytes_equal(file.raw_audio, expected);
}

// Waits (bounded) for the write pool; only for looking at a call in progress.
bool wait_until(const std::function<bool()> &done) {
  for (int i = 0; i < 500; i++) {
    if (done())
      return true;
    g_usleep(10 * 1000);
  }
  return done();
}

// ---- tests ----

void test_wav_one_file_per_buffer() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kPcm8k);
  std::vector<Bytes> pushed;
  for (guint i = 0; i < 5; i++) {
    pushed.push_back(pattern(kPcm20msBytes, i));
    dumper.push(pushed.back());
  }
  dumper.eos();

  const std::string call_dir = dir / "CA123";
  g_assert_true(list_dir(call_dir) == chunk_names(5));  // no .part left
  for (guint i = 0; i < 5; i++)
    assert_wav(call_dir + "/" + chunk_name(i + 1),
               SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, pushed[i]);
  g_assert_cmpuint(dumper.counter("files-written"), ==, 5);
  g_assert_cmpuint(dumper.counter("bytes-written"), ==, 5 * kPcm20msBytes);
  g_assert_cmpuint(dumper.counter("write-errors"), ==, 0);
  g_assert_true(dumper.take_warnings().empty());
}

void test_wav_mulaw() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kMulaw8k);
  const Bytes first = pattern(160, 1), second = pattern(160, 2);
  dumper.push(first);
  dumper.push(second);
  dumper.eos();

  assert_wav(dir / "CA123/chunk-000001.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW,
             8000, 1, first);
  assert_wav(dir / "CA123/chunk-000002.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW,
             8000, 1, second);
}

void test_wav_rates_and_channels() {
  struct Case {
    int rate;
    int channels;
  };
  for (const Case &c : {Case{16000, 1}, Case{24000, 1}, Case{16000, 2}}) {
    TestDir dir;
    Dumper dumper(dir);
    g_autofree gchar *caps = g_strdup_printf(
        "audio/x-raw,format=S16LE,layout=interleaved,rate=%d,channels=%d",
        c.rate, c.channels);
    dumper.start(caps);
    const Bytes audio = pattern(c.rate / 50 * 2 * c.channels, 3);
    dumper.push(audio);
    dumper.eos();
    assert_wav(dir / "CA123/chunk-000001.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16,
               c.rate, c.channels, audio);
  }
}

void test_flac_samples() {
  TestDir dir;
  Dumper dumper(dir);
  gst_util_set_object_arg(G_OBJECT(dumper.element()), "format", "flac");
  dumper.start(kPcm8k);
  const Bytes audio = pattern(kPcm20msBytes * 3, 4);
  dumper.push(audio);
  dumper.eos();

  g_assert_true(list_dir(dir / "CA123") ==
                std::vector<std::string>{"chunk-000001.flac"});
  SoundFile file = read_sound_file(dir / "CA123/chunk-000001.flac", true);
  g_assert_cmphex(file.info.format, ==, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  g_assert_cmpint(file.info.samplerate, ==, 8000);
  g_assert_cmpint(file.info.channels, ==, 1);
  g_assert_cmpuint(file.samples.size(), ==, audio.size() / 2);
  for (gsize i = 0; i < file.samples.size(); i++) {
    const auto expected =
        static_cast<short>(audio[2 * i] | audio[2 * i + 1] << 8);
    g_assert_cmpint(file.samples[i], ==, expected);
  }
}

void test_flac_refuses_mulaw() {
  TestDir dir;
  Dumper dumper(dir);
  gst_util_set_object_arg(G_OBJECT(dumper.element()), "format", "flac");
  g_autoptr(GstPad) sinkpad =
      gst_element_get_static_pad(dumper.element(), "sink");
  g_autoptr(GstCaps) caps = gst_pad_query_caps(sinkpad, nullptr);
  g_assert_false(gst_caps_is_empty(caps));
  for (guint i = 0; i < gst_caps_get_size(caps); i++)
    g_assert_cmpstr(gst_structure_get_name(gst_caps_get_structure(caps, i)), ==,
                    "audio/x-raw");
  g_autoptr(GstCaps) mulaw = gst_caps_from_string(kMulaw8k);
  g_assert_false(gst_pad_query_accept_caps(sinkpad, mulaw));

  // WAV takes both.
  gst_util_set_object_arg(G_OBJECT(dumper.element()), "format", "wav");
  g_assert_true(gst_pad_query_accept_caps(sinkpad, mulaw));
}

void test_raw_bytes() {
  TestDir dir;
  Dumper dumper(dir);
  gst_util_set_object_arg(G_OBJECT(dumper.element()), "format", "raw");
  dumper.start(kMulaw8k);
  const Bytes first = pattern(160, 5), second = pattern(160, 6);
  dumper.push(first);
  dumper.push(second);
  dumper.eos();

  g_assert_true(list_dir(dir / "CA123") == chunk_names(2, "raw"));
  assert_bytes_equal(read_file(dir / "CA123/chunk-000001.raw"), first);
  assert_bytes_equal(read_file(dir / "CA123/chunk-000002.raw"), second);
}

void test_chunk_duration_groups_buffers() {
  TestDir dir;
  Dumper dumper(dir);
  g_object_set(dumper.element(), "chunk-duration", 100u, nullptr);
  dumper.start(kPcm8k);
  std::vector<Bytes> pushed;
  for (guint i = 0; i < 12; i++) {
    pushed.push_back(pattern(kPcm20msBytes, 10 + i));
    dumper.push(pushed.back());
  }
  dumper.eos();

  const std::string call_dir = dir / "CA123";
  g_assert_true(list_dir(call_dir) == chunk_names(3));
  auto group = [&](gsize from, gsize to) {
    return concat({pushed.begin() + from, pushed.begin() + to});
  };
  const int pcm16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  assert_wav(call_dir + "/chunk-000001.wav", pcm16, 8000, 1, group(0, 5));
  assert_wav(call_dir + "/chunk-000002.wav", pcm16, 8000, 1, group(5, 10));
  assert_wav(call_dir + "/chunk-000003.wav", pcm16, 8000, 1, group(10, 12));
  g_assert_cmpuint(dumper.counter("files-written"), ==, 3);
  g_assert_cmpuint(dumper.counter("bytes-written"), ==, 12 * kPcm20msBytes);
}

void test_caps_change_closes_chunk() {
  TestDir dir;
  Dumper dumper(dir);
  g_object_set(dumper.element(), "chunk-duration", 100u, nullptr);
  dumper.start(kPcm8k);
  const Bytes narrow = pattern(kPcm20msBytes, 1);
  dumper.push(narrow);
  gst_harness_set_src_caps_str(
      dumper.h(),
      "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1");
  const Bytes wide = pattern(2 * kPcm20msBytes, 2);
  dumper.push(wide);
  dumper.eos();

  const int pcm16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  assert_wav(dir / "CA123/chunk-000001.wav", pcm16, 8000, 1, narrow);
  assert_wav(dir / "CA123/chunk-000002.wav", pcm16, 16000, 1, wide);
}

void test_call_mode_one_file() {
  TestDir dir;
  Dumper dumper(dir);
  gst_util_set_object_arg(G_OBJECT(dumper.element()), "mode", "call");
  dumper.start(kPcm8k);
  std::vector<Bytes> pushed;
  for (guint i = 0; i < 10; i++) {
    pushed.push_back(pattern(kPcm20msBytes, 20 + i));
    dumper.push(pushed.back());
  }

  // During the call only the hidden part file exists, with a valid header.
  const std::string call_dir = dir / "CA123";
  g_assert_true(wait_until(
      [&] { return dumper.counter("bytes-written") == 10 * kPcm20msBytes; }));
  g_assert_true(list_dir(call_dir) ==
                std::vector<std::string>{".call.wav.part"});
  assert_wav(call_dir + "/.call.wav.part", SF_FORMAT_WAV | SF_FORMAT_PCM_16,
             8000, 1, concat(pushed));
  g_assert_cmpuint(dumper.counter("files-written"), ==, 0);

  dumper.eos();
  g_assert_true(list_dir(call_dir) == std::vector<std::string>{"call.wav"});
  assert_wav(call_dir + "/call.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
             concat(pushed));
  g_assert_cmpuint(dumper.counter("files-written"), ==, 1);
}

// mode=call: a caps change closes call.wav and continues in call-000002.wav.
void test_call_mode_caps_change() {
  TestDir dir;
  Dumper dumper(dir);
  gst_util_set_object_arg(G_OBJECT(dumper.element()), "mode", "call");
  dumper.start(kPcm8k);
  const Bytes narrow = pattern(kPcm20msBytes, 1);
  dumper.push(narrow);
  gst_harness_set_src_caps_str(dumper.h(), kMulaw8k);
  const Bytes mulaw = pattern(160, 2);
  dumper.push(mulaw);
  dumper.eos();

  g_assert_true(list_dir(dir / "CA123") ==
                (std::vector<std::string>{"call-000002.wav", "call.wav"}));
  assert_wav(dir / "CA123/call.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
             narrow);
  assert_wav(dir / "CA123/call-000002.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW,
             8000, 1, mulaw);
}

void test_directory_from_call_sid() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kPcm8k, "CA0123456789abcdef");
  g_assert_false(dumper.current_directory().has_value());
  dumper.push(pattern(kPcm20msBytes, 1));
  dumper.eos();
  g_assert_true(dumper.current_directory() == dir / "CA0123456789abcdef");
  g_assert_true(list_dir(dir.path()) ==
                std::vector<std::string>{"CA0123456789abcdef"});
}

void test_directory_sanitised() {
  TestDir dir;
  const std::string location = dir / "dumps";
  Dumper dumper(dir);
  g_object_set(dumper.element(), "location", location.c_str(), nullptr);
  dumper.start(kPcm8k, "../evil/CA1");
  dumper.push(pattern(kPcm20msBytes, 1));
  dumper.eos();

  // Nothing outside location; one directory inside, named without '/'.
  g_assert_true(list_dir(dir.path()) == std::vector<std::string>{"dumps"});
  g_assert_true(list_dir(location) == std::vector<std::string>{"___evil_CA1"});
  g_assert_true(list_dir(location + "/___evil_CA1") == chunk_names(1));
}

void test_directory_from_stream_id() {
  TestDir dir;
  Dumper dumper(dir);
  g_assert_true(gst_harness_push_event(
      dumper.h(), gst_event_new_stream_start("streams/../MZ9")));
  dumper.start(kPcm8k, nullptr);
  const Bytes audio = pattern(kPcm20msBytes, 1);
  dumper.push(audio);
  dumper.push(audio);
  dumper.eos();

  g_assert_true(list_dir(dir.path()) ==
                std::vector<std::string>{"streams_.._MZ9"});
  g_assert_true(list_dir(dir / "streams_.._MZ9") == chunk_names(2));
  g_assert_cmpuint(dumper.counter("files-written"), ==, 2);
  g_assert_cmpuint(dumper.counter("bytes-written"), ==, 2 * audio.size());
}

void test_directory_generated() {
  TestDir dir;
  Dumper dumper(dir);
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_stream_start("")));
  dumper.start(kPcm8k, nullptr);
  dumper.push(pattern(kPcm20msBytes, 1));
  dumper.eos();

  const std::vector<std::string> names = list_dir(dir.path());
  g_assert_cmpuint(names.size(), ==, 1);
  g_assert_true(g_str_has_prefix(names[0].c_str(), "call-"));
  g_assert_true(g_uuid_string_is_valid(names[0].c_str() + 5));
  g_assert_true(list_dir(dir / names[0]) == chunk_names(1));
}

void test_write_error_is_a_warning() {
  TestDir dir;
  const std::string not_a_dir = dir / "file-not-dir";
  g_assert_true(g_file_set_contents(not_a_dir.c_str(), "x", 1, nullptr));
  Dumper dumper(dir);
  g_object_set(dumper.element(), "location", (not_a_dir + "/x").c_str(),
               nullptr);
  dumper.start(kPcm8k);
  for (guint i = 0; i < 3; i++)
    dumper.push(pattern(kPcm20msBytes, i));  // asserts GST_FLOW_OK
  dumper.eos();

  const std::vector<std::string> warnings = dumper.take_warnings();
  g_assert_cmpuint(warnings.size(), ==, 3);
  g_assert_nonnull(strstr(warnings[0].c_str(), "file-not-dir/x/CA123"));
  g_assert_nonnull(strstr(warnings[0].c_str(), g_strerror(ENOTDIR)));
  g_assert_cmpuint(dumper.counter("write-errors"), ==, 3);
  g_assert_cmpuint(dumper.counter("files-written"), ==, 0);
  g_assert_true(list_dir(dir.path()) ==
                std::vector<std::string>{"file-not-dir"});
}

void test_write_error_details_name_the_call() {
  TestDir dir;
  const std::string not_a_dir = dir / "file-not-dir";
  g_assert_true(g_file_set_contents(not_a_dir.c_str(), "x", 1, nullptr));
  Dumper dumper(dir);
  g_object_set(dumper.element(), "location", not_a_dir.c_str(), nullptr);
  GstBus *bus = gst_element_get_bus(dumper.element());
  dumper.start(kPcm8k, "CA-broken");
  dumper.push(pattern(kPcm20msBytes, 1));
  dumper.eos();

  GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  g_assert_nonnull(message);
  const GstStructure *details = nullptr;
  gst_message_parse_warning_details(message, &details);
  g_assert_nonnull(details);
  g_assert_cmpstr(gst_structure_get_string(details, "call-id"), ==,
                  "CA-broken");
  gst_message_unref(message);
  gst_object_unref(bus);
}

// A failed file leaves no temporary behind; the next buffer gets a new file.
void test_failed_file_is_removed() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kPcm8k);
  dumper.push(Bytes{1, 2, 3});  // not a whole S16LE frame: cannot be a WAV
  const Bytes audio = pattern(kPcm20msBytes, 1);
  dumper.push(audio);
  dumper.eos();

  g_assert_cmpuint(dumper.take_warnings().size(), ==, 1);
  g_assert_cmpuint(dumper.counter("write-errors"), ==, 1);
  // The lost chunk keeps its number, so the gap shows.
  g_assert_true(list_dir(dir / "CA123") ==
                std::vector<std::string>{"chunk-000002.wav"});
  assert_wav(dir / "CA123/chunk-000002.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16,
             8000, 1, audio);
}

void test_eos_means_files_complete() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kPcm8k);
  std::vector<Bytes> pushed;
  for (guint i = 0; i < 200; i++) {
    pushed.push_back(pattern(kPcm20msBytes, i));
    dumper.push(pushed.back());
  }
  dumper.eos();  // no waiting after this

  const std::string call_dir = dir / "CA123";
  g_assert_true(list_dir(call_dir) == chunk_names(200));
  for (guint i = 0; i < 200; i++)
    assert_bytes_equal(
        read_sound_file(call_dir + "/" + chunk_name(i + 1)).raw_audio,
        pushed[i]);
  g_assert_cmpuint(dumper.counter("files-written"), ==, 200);
}

void test_new_call_after_eos() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kPcm8k, "CA-first");
  dumper.push(pattern(kPcm20msBytes, 1));
  dumper.push(pattern(kPcm20msBytes, 2));
  dumper.eos();

  // GstBaseSink 1.22 drops everything after EOS until a flush.
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_flush_start()));
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_flush_stop(TRUE)));
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_stream_start("second")));
  dumper.start(kPcm8k, "CA-second");
  const Bytes audio = pattern(kPcm20msBytes, 3);
  dumper.push(audio);
  dumper.eos();

  g_assert_true(list_dir(dir.path()) ==
                (std::vector<std::string>{"CA-first", "CA-second"}));
  g_assert_true(list_dir(dir / "CA-first") == chunk_names(2));
  g_assert_true(list_dir(dir / "CA-second") == chunk_names(1));
  assert_wav(dir / "CA-second/chunk-000001.wav",
             SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, audio);
  g_assert_true(dumper.current_directory() == dir / "CA-second");
}

// The same call again (its call-info is sticky): numbering goes on, nothing
// already written is overwritten.
void test_same_call_after_eos_keeps_files() {
  TestDir dir;
  Dumper dumper(dir);
  dumper.start(kPcm8k);
  const Bytes first = pattern(kPcm20msBytes, 1),
              second = pattern(kPcm20msBytes, 2);
  dumper.push(first);
  dumper.eos();

  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_flush_start()));
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_flush_stop(TRUE)));
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_stream_start("again")));
  dumper.start(kPcm8k, nullptr);
  dumper.push(second);
  dumper.eos();

  g_assert_true(list_dir(dir / "CA123") == chunk_names(2));
  const int pcm16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  assert_wav(dir / "CA123/chunk-000001.wav", pcm16, 8000, 1, first);
  assert_wav(dir / "CA123/chunk-000002.wav", pcm16, 8000, 1, second);
}

// A flush writes what was gathered; a call-info after it starts a new call.
void test_flush_keeps_audio() {
  TestDir dir;
  Dumper dumper(dir);
  g_object_set(dumper.element(), "chunk-duration", 100u, nullptr);
  dumper.start(kPcm8k, "CA-before");
  const Bytes before = pattern(kPcm20msBytes, 1);
  dumper.push(before);
  dumper.push(before);

  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_flush_start()));
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  g_assert_true(
      gst_harness_push_event(dumper.h(), gst_event_new_segment(&segment)));
  dumper.push_call_info("CA-after");
  const Bytes after = pattern(kPcm20msBytes, 2);
  dumper.push(after);
  dumper.eos();

  const int pcm16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  assert_wav(dir / "CA-before/chunk-000001.wav", pcm16, 8000, 1,
             concat({before, before}));
  assert_wav(dir / "CA-after/chunk-000001.wav", pcm16, 8000, 1, after);
}

// Many queues at once: each keeps its order, drain() waits for all of it.
void test_write_queue_order() {
  constexpr int kQueues = 4, kJobs = 2000;
  std::vector<std::vector<int>> seen(kQueues);
  {
    std::vector<std::unique_ptr<callstream::WriteQueue>> queues;
    for (int q = 0; q < kQueues; q++)
      queues.push_back(std::make_unique<callstream::WriteQueue>());
    for (int j = 0; j < kJobs; j++) {
      for (int q = 0; q < kQueues; q++)
        queues[q]->submit([&seen, q, j] { seen[q].push_back(j); });
    }
    queues[0]->drain();
    g_assert_cmpuint(seen[0].size(), ==, kJobs);
  }  // the destructors drain the others
  for (int q = 0; q < kQueues; q++) {
    g_assert_cmpuint(seen[q].size(), ==, kJobs);
    for (int j = 0; j < kJobs; j++) g_assert_cmpint(seen[q][j], ==, j);
  }
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);

  g_test_add_func("/chunkdumper/wav/one-file-per-buffer",
                  test_wav_one_file_per_buffer);
  g_test_add_func("/chunkdumper/wav/mulaw", test_wav_mulaw);
  g_test_add_func("/chunkdumper/wav/rates-and-channels",
                  test_wav_rates_and_channels);
  g_test_add_func("/chunkdumper/flac/samples", test_flac_samples);
  g_test_add_func("/chunkdumper/flac/refuses-mulaw", test_flac_refuses_mulaw);
  g_test_add_func("/chunkdumper/raw/bytes", test_raw_bytes);
  g_test_add_func("/chunkdumper/chunk-duration/groups-buffers",
                  test_chunk_duration_groups_buffers);
  g_test_add_func("/chunkdumper/chunk-duration/caps-change-closes-chunk",
                  test_caps_change_closes_chunk);
  g_test_add_func("/chunkdumper/call-mode/one-file", test_call_mode_one_file);
  g_test_add_func("/chunkdumper/call-mode/caps-change",
                  test_call_mode_caps_change);
  g_test_add_func("/chunkdumper/directory/call-sid",
                  test_directory_from_call_sid);
  g_test_add_func("/chunkdumper/directory/sanitised", test_directory_sanitised);
  g_test_add_func("/chunkdumper/directory/stream-id",
                  test_directory_from_stream_id);
  g_test_add_func("/chunkdumper/directory/generated", test_directory_generated);
  g_test_add_func("/chunkdumper/errors/warning-and-continue",
                  test_write_error_is_a_warning);
  g_test_add_func("/chunkdumper/errors/details-name-the-call",
                  test_write_error_details_name_the_call);
  g_test_add_func("/chunkdumper/errors/failed-file-removed",
                  test_failed_file_is_removed);
  g_test_add_func("/chunkdumper/eos/files-complete",
                  test_eos_means_files_complete);
  g_test_add_func("/chunkdumper/eos/new-call-after-eos",
                  test_new_call_after_eos);
  g_test_add_func("/chunkdumper/eos/same-call-keeps-files",
                  test_same_call_after_eos_keeps_files);
  g_test_add_func("/chunkdumper/flush/keeps-audio", test_flush_keeps_audio);
  g_test_add_func("/write-queue/order-and-drain", test_write_queue_order);
  return g_test_run();
}
