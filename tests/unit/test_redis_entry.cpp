// The Redis side with no network: URLs (every accepted form and every refusal
// with its reason), key templates, the handshake, and the XADD of each entry
// kind, decoded back from RESP argument by argument and checked byte-exact.
#include "protocol/redis_entry.h"

#include <glib.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

using namespace std::string_view_literals;
using callstream::RedisUrl;

namespace {

using Argv = std::vector<std::string>;

// g_assert_cmpstr keeps only the pointer: a temporary string would be gone.
void expect_eq(const std::string &got, std::string_view want) {
  if (got != want)
    g_error("got \"%s\", want \"%.*s\"", got.c_str(),
            static_cast<int>(want.size()), want.data());
}

// Splits one RESP array of bulk strings; fails the test on anything else.
Argv decode_resp(const std::string &command) {
  Argv argv;
  size_t at = 0;
  auto read_line = [&](char kind) {
    g_assert_cmpint(command[at], ==, kind);
    size_t end = command.find("\r\n", at);
    g_assert_true(end != std::string::npos);
    long value = std::stol(command.substr(at + 1, end - at - 1));
    at = end + 2;
    return value;
  };
  long argc = read_line('*');
  for (long i = 0; i < argc; i++) {
    long size = read_line('$');
    argv.push_back(command.substr(at, size));
    at += size;
    expect_eq(command.substr(at, 2), "\r\n");
    at += 2;
  }
  g_assert_cmpuint(at, ==, command.size());
  return argv;
}

void assert_argv(const Argv &got, const Argv &want) {
  for (size_t i = 0; i < std::min(got.size(), want.size()); i++) {
    if (got[i] != want[i])
      g_error("argument %zu: got \"%s\", want \"%s\"", i, got[i].c_str(),
              want[i].c_str());
  }
  g_assert_cmpuint(got.size(), ==, want.size());
}

// ---- URLs ----

struct UrlCase {
  const char *path;
  const char *url;
  // Expected on success (error_part == nullptr).
  RedisUrl::Transport transport = RedisUrl::Transport::kTcp;
  const char *host = "";
  int port = 0;
  const char *socket_path = "";
  const char *user = "";
  std::string password;
  int db = 0;
  const char *display = "";
  // Expected on failure: a part of the reason.
  const char *error_part = nullptr;
};

constexpr auto kTcp = RedisUrl::Transport::kTcp;
constexpr auto kUnix = RedisUrl::Transport::kUnix;

const UrlCase kUrlCases[] = {
  {"/redis-url/default", "redis://127.0.0.1:6379", kTcp, "127.0.0.1", 6379,
   "", "", "", 0, "redis://127.0.0.1:6379"},
  {"/redis-url/no-port", "redis://redis.internal", kTcp, "redis.internal",
   6379, "", "", "", 0, "redis://redis.internal:6379"},
  {"/redis-url/db", "redis://localhost:6380/3", kTcp, "localhost", 6380, "",
   "", "", 3, "redis://localhost:6380/3"},
  {"/redis-url/trailing-slash", "redis://localhost:6380/", kTcp, "localhost",
   6380, "", "", "", 0, "redis://localhost:6380"},
  {"/redis-url/db-query", "redis://localhost?db=2", kTcp, "localhost", 6379,
   "", "", "", 2, "redis://localhost:6379/2"},
  {"/redis-url/password-only", "redis://:s3cret@10.0.0.5:6379/1", kTcp,
   "10.0.0.5", 6379, "", "", "s3cret", 1, "redis://:***@10.0.0.5:6379/1"},
  {"/redis-url/user-and-password", "redis://ingest:pa55@host:7000", kTcp,
   "host", 7000, "", "ingest", "pa55", 0, "redis://ingest:***@host:7000"},
  {"/redis-url/percent-decoded", "redis://us%40er:p%3Aw%2Fd%25@host:1", kTcp,
   "host", 1, "", "us@er", "p:w/d%", 0, "redis://us@er:***@host:1"},
  {"/redis-url/at-in-password", "redis://:a@b@host:6379", kTcp, "host", 6379,
   "", "", "a@b", 0, "redis://:***@host:6379"},
  {"/redis-url/nul-in-password", "redis://:a%00b@host", kTcp, "host", 6379,
   "", "", std::string("a\0b"sv), 0, "redis://:***@host:6379"},
  {"/redis-url/ipv6", "redis://[::1]:6390/4", kTcp, "::1", 6390, "", "", "",
   4, "redis://[::1]:6390/4"},
  {"/redis-url/ipv6-no-port", "redis://[fe80::1]", kTcp, "fe80::1", 6379, "",
   "", "", 0, "redis://[fe80::1]:6379"},
  {"/redis-url/scheme-case", "REDIS://Host:6379", kTcp, "Host", 6379, "", "",
   "", 0, "redis://Host:6379"},
  {"/redis-url/max-port", "redis://h:65535", kTcp, "h", 65535, "", "", "", 0,
   "redis://h:65535"},
  {"/redis-url/unix", "unix:///run/redis/redis.sock", kUnix, "", 0,
   "/run/redis/redis.sock", "", "", 0, "unix:///run/redis/redis.sock"},
  {"/redis-url/unix-db", "unix:///tmp/r.sock?db=5", kUnix, "", 0,
   "/tmp/r.sock", "", "", 5, "unix:///tmp/r.sock?db=5"},
  {"/redis-url/unix-password", "unix://:pw@/tmp/r.sock", kUnix, "", 0,
   "/tmp/r.sock", "", "pw", 0, "unix://:***@/tmp/r.sock"},
  {"/redis-url/unix-percent-path", "unix:///tmp/my%20dir/r.sock", kUnix, "",
   0, "/tmp/my dir/r.sock", "", "", 0, "unix:///tmp/my dir/r.sock"},

  {"/redis-url/error/empty", "", kTcp, "", 0, "", "", "", 0, "", "not a URL"},
  {"/redis-url/error/no-scheme", "127.0.0.1:6379", kTcp, "", 0, "", "", "", 0,
   "", "not a URL"},
  {"/redis-url/error/http", "http://127.0.0.1:6379", kTcp, "", 0, "", "", "",
   0, "", "unsupported scheme \"http\""},
  {"/redis-url/error/tls", "rediss://host:6380", kTcp, "", 0, "", "", "", 0,
   "", "TLS"},
  {"/redis-url/error/no-host", "redis://:6379", kTcp, "", 0, "", "", "", 0, "",
   "no host"},
  {"/redis-url/error/nothing", "redis://", kTcp, "", 0, "", "", "", 0, "",
   "no host"},
  {"/redis-url/error/port-word", "redis://host:abc", kTcp, "", 0, "", "", "",
   0, "", "port \"abc\" is not a number"},
  {"/redis-url/error/port-zero", "redis://host:0", kTcp, "", 0, "", "", "", 0,
   "", "port \"0\""},
  {"/redis-url/error/port-too-big", "redis://host:65536", kTcp, "", 0, "", "",
   "", 0, "", "port \"65536\""},
  {"/redis-url/error/port-negative", "redis://host:-1", kTcp, "", 0, "", "",
   "", 0, "", "port \"-1\""},
  {"/redis-url/error/port-empty", "redis://host:", kTcp, "", 0, "", "", "", 0,
   "", "empty port"},
  {"/redis-url/error/db-word", "redis://host:6379/zero", kTcp, "", 0, "", "",
   "", 0, "", "database \"zero\" is not a number"},
  {"/redis-url/error/db-negative", "redis://host/-2", kTcp, "", 0, "", "", "",
   0, "", "database \"-2\""},
  {"/redis-url/error/ipv6-no-brackets", "redis://::1:6379", kTcp, "", 0, "",
   "", "", 0, "", "brackets"},
  {"/redis-url/error/ipv6-unclosed", "redis://[::1:6379", kTcp, "", 0, "", "",
   "", 0, "", "unclosed"},
  {"/redis-url/error/user-without-password", "redis://bob@host", kTcp, "", 0,
   "", "", "", 0, "", "needs a password"},
  {"/redis-url/error/empty-password", "redis://bob:@host", kTcp, "", 0, "",
   "", "", 0, "", "empty password"},
  {"/redis-url/error/bad-percent", "redis://:p%zz@host", kTcp, "", 0, "", "",
   "", 0, "", "percent-encoding"},
  {"/redis-url/error/truncated-percent", "redis://:p%4@host", kTcp, "", 0, "",
   "", "", 0, "", "percent-encoding"},
  {"/redis-url/error/unknown-param", "redis://host?timeout=5", kTcp, "", 0, "",
   "", "", 0, "", "unknown parameter \"timeout=5\""},
  {"/redis-url/error/unix-relative", "unix://redis.sock", kUnix, "", 0, "", "",
   "", 0, "", "absolute"},
  {"/redis-url/error/unix-empty", "unix://", kUnix, "", 0, "", "", "", 0, "",
   "absolute"},
  {"/redis-url/error/unix-root-only", "unix:///", kUnix, "", 0, "", "", "", 0,
   "", "no socket path"},
};

void test_url(gconstpointer data) {
  const auto &c = *static_cast<const UrlCase *>(data);
  auto parsed = callstream::parse_redis_url(c.url);
  if (c.error_part != nullptr) {
    auto *error = std::get_if<callstream::RedisUrlError>(&parsed);
    if (error == nullptr)
      g_error("\"%s\" was accepted", c.url);
    if (error->reason.find(c.error_part) == std::string::npos)
      g_error("reason \"%s\" lacks \"%s\"", error->reason.c_str(), c.error_part);
    g_assert_true(error->reason.find('\n') == std::string::npos);
    return;
  }
  auto *url = std::get_if<RedisUrl>(&parsed);
  if (url == nullptr)
    g_error("\"%s\" refused: %s", c.url,
            std::get<callstream::RedisUrlError>(parsed).reason.c_str());
  g_assert_true(url->transport == c.transport);
  g_assert_cmpstr(url->host.c_str(), ==, c.host);
  g_assert_cmpint(url->port, ==, c.port);
  g_assert_cmpstr(url->socket_path.c_str(), ==, c.socket_path);
  g_assert_cmpstr(url->user.c_str(), ==, c.user);
  g_assert_cmpmem(url->password.data(), url->password.size(),
                  c.password.data(), c.password.size());
  g_assert_cmpint(url->db, ==, c.db);
  const std::string display = url->display();
  g_assert_cmpstr(display.c_str(), ==, c.display);
  // A password never shows.
  if (url->password.size() > 1)
    g_assert_true(display.find(url->password) == std::string::npos);
}

void test_connection_key() {
  auto key = [](const char *text) {
    return std::get<RedisUrl>(callstream::parse_redis_url(text))
        .connection_key();
  };
  g_assert_true(key("redis://h:1") == key("redis://h:1/0"));
  g_assert_true(key("redis://h:6379") == key("redis://h"));
  g_assert_true(key("redis://h:1") != key("redis://h:2"));
  g_assert_true(key("redis://h:1/1") != key("redis://h:1/2"));
  g_assert_true(key("redis://:a@h:1") != key("redis://:b@h:1"));
  g_assert_true(key("redis://u:a@h:1") != key("redis://:a@h:1"));
  // Fields cannot run into each other.
  g_assert_true(key("redis://ab:c@h") != key("redis://a:bc@h"));
  g_assert_true(key("unix:///tmp/a") != key("redis://h"));
}

void test_redact() {
  struct {
    const char *in, *out;
  } cases[] = {
    {"redis://:secret@host:6379", "redis://:***@host:6379"},
    {"redis://user:secret@host:notaport", "redis://user:***@host:notaport"},
    {"redis://host:6379", "redis://host:6379"},
    {"unix://:pw@/tmp/s", "unix://:***@/tmp/s"},
    {"garbage", "garbage"},
  };
  for (const auto &c : cases)
    expect_eq(callstream::redact_redis_url(c.in), c.out);
}

// ---- Stream keys ----

void test_stream_keys() {
  struct {
    const char *key_template, *call, *stream, *want;
  } cases[] = {
    {"audio_stream", "CA1", "MZ1", "audio_stream"},
    {"audio:{call_sid}", "CA1", "MZ1", "audio:CA1"},
    {"audio:{stream_sid}", "CA1", "MZ1", "audio:MZ1"},
    {"{call_sid}/{stream_sid}/{call_sid}", "CA1", "MZ1", "CA1/MZ1/CA1"},
    {"audio:{{call_sid}}", "CA1", "MZ1", "audio:{CA1}"},
    {"audio_stream:{0}", "CA1", "MZ1", "audio_stream:{0}"},
    {"{call_sid", "CA1", "MZ1", "{call_sid"},
    {"{CALL_SID}", "CA1", "MZ1", "{CALL_SID}"},
    {"a:{stream_sid}:b", "CA1", "", "a::b"},
    {"{call_sid}", "{stream_sid}", "x", "{stream_sid}"},
    {"", "CA1", "MZ1", ""},
  };
  for (const auto &c : cases)
    expect_eq(callstream::expand_stream_key(c.key_template, c.call, c.stream),
              c.want);
}

// ---- RESP and the handshake ----

void test_resp_bytes() {
  expect_eq(callstream::format_redis_command({"PING"}),
            "*1\r\n$4\r\nPING\r\n");
  std::string with_binary = callstream::format_redis_command(
      {"SET", "k", std::string_view("a\r\n\0b", 5), ""});
  std::string want("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\n\0b\r\n$0\r\n\r\n",
                   37);
  g_assert_cmpmem(with_binary.data(), with_binary.size(), want.data(),
                  want.size());
}

void test_handshake() {
  struct {
    const char *url;
    Argv want[3];
  } cases[] = {
    {"redis://h", {{"PING"}}},
    {"redis://h/2", {{"SELECT", "2"}, {"PING"}}},
    {"redis://:pw@h", {{"AUTH", "pw"}, {"PING"}}},
    {"redis://bob:pw@h/15", {{"AUTH", "bob", "pw"}, {"SELECT", "15"}, {"PING"}}},
    {"unix://:pw@/s?db=1", {{"AUTH", "pw"}, {"SELECT", "1"}, {"PING"}}},
  };
  for (const auto &c : cases) {
    auto url = std::get<RedisUrl>(callstream::parse_redis_url(c.url));
    auto commands = callstream::redis_handshake(url);
    size_t want_count = 0;
    while (want_count < 3 && !c.want[want_count].empty())
      want_count++;
    g_assert_cmpuint(commands.size(), ==, want_count);
    for (size_t i = 0; i < commands.size(); i++) {
      Argv argv = decode_resp(commands[i].command);
      assert_argv(argv, c.want[i]);
      g_assert_cmpstr(callstream::redis_handshake_step_name(commands[i].step),
                      ==, argv[0].c_str());
    }
  }
}

void test_handshake_refusals() {
  using Step = callstream::RedisHandshakeStep;
  struct {
    Step step;
    const char *error;
    bool refused;
  } cases[] = {
    {Step::kAuth, "WRONGPASS invalid username-password pair or user is disabled.",
     true},
    {Step::kAuth,
     "ERR AUTH <password> called without any password configured for the "
     "default user. Are you sure your configuration is correct?",
     true},
    {Step::kSelect, "ERR DB index is out of range", true},
    {Step::kSelect, "NOAUTH Authentication required.", true},
    {Step::kPing, "NOAUTH Authentication required.", true},
    {Step::kPing, "LOADING Redis is loading the dataset in memory", false},
    {Step::kPing, "MASTERDOWN Link with MASTER is down", false},
    {Step::kPing, "BUSY Redis is busy running a script.", false},
  };
  for (const auto &c : cases)
    g_assert_cmpint(callstream::redis_handshake_refused(c.step, c.error), ==,
                    c.refused);
}

// ---- Entries ----

std::vector<uint8_t> sample_audio(size_t size) {
  std::vector<uint8_t> audio(size);
  for (size_t i = 0; i < size; i++)
    audio[i] = static_cast<uint8_t>(i * 37 + 11);
  return audio;
}

std::string as_string(const std::vector<uint8_t> &bytes) {
  return std::string(bytes.begin(), bytes.end());
}

void test_audio_entry() {
  const auto audio = sample_audio(320);
  callstream::RedisAudioFrame frame;
  frame.seq = 42;
  frame.timestamp_ms = 820;
  frame.format = {8000, 1, callstream::RedisAudioEncoding::kPcm16};
  frame.audio = audio;
  std::string command = callstream::format_audio_entry(
      {"audio_stream", 0}, {"CA123", "MZ456"}, frame,
      callstream::RedisPayload::kBinary);
  assert_argv(decode_resp(command),
              {"XADD", "audio_stream", "*", "event", "audio", "interaction_id",
               "CA123", "stream_sid", "MZ456", "seq", "42", "timestamp_ms",
               "820", "sample_rate", "8000", "channels", "1", "encoding",
               "pcm16", "audio", as_string(audio)});
  // The head byte for byte: argument count and the first arguments.
  g_assert_true(command.starts_with(
      "*21\r\n$4\r\nXADD\r\n$12\r\naudio_stream\r\n$1\r\n*\r\n$5\r\nevent\r\n"
      "$5\r\naudio\r\n"));
}

void test_audio_entry_maxlen_mulaw() {
  const auto audio = sample_audio(160);
  callstream::RedisAudioFrame frame;
  frame.seq = 1;
  frame.timestamp_ms = 0;
  frame.format = {16000, 2, callstream::RedisAudioEncoding::kMulaw};
  frame.audio = audio;
  std::string command = callstream::format_audio_entry(
      {"audio:{CA1}", 100000}, {"CA1", ""}, frame,
      callstream::RedisPayload::kBinary);
  assert_argv(decode_resp(command),
              {"XADD", "audio:{CA1}", "MAXLEN", "~", "100000", "*", "event",
               "audio", "interaction_id", "CA1", "stream_sid", "", "seq", "1",
               "timestamp_ms", "0", "sample_rate", "16000", "channels", "2",
               "encoding", "mulaw", "audio", as_string(audio)});
}

void test_audio_entry_base64() {
  // Every length mod 3, and a frame's worth, against GLib's encoder.
  for (size_t size : {0, 1, 2, 3, 4, 5, 6, 7, 320, 321, 322}) {
    const auto audio = sample_audio(size);
    callstream::RedisAudioFrame frame;
    frame.seq = 7;
    frame.timestamp_ms = 140;
    frame.audio = audio;
    Argv argv = decode_resp(callstream::format_audio_entry(
        {"s", 0}, {"CA1", "MZ1"}, frame, callstream::RedisPayload::kBase64));
    g_autofree gchar *want = g_base64_encode(audio.data(), audio.size());
    g_assert_cmpstr(argv.back().c_str(), ==, want);
    g_assert_cmpstr(argv[argv.size() - 2].c_str(), ==, "audio");
  }
}

// One writer for a call's frames gives, frame after frame, exactly what a
// fresh format_audio_entry() gives, while the format changes under it (its
// cached fields are rebuilt) and the audio's size varies; every entry reads
// back with the frame's own values.
void test_audio_writer_reused() {
  const callstream::RedisAudioFormat formats[] = {
      {8000, 1, callstream::RedisAudioEncoding::kPcm16},
      {8000, 1, callstream::RedisAudioEncoding::kMulaw},
      {16000, 1, callstream::RedisAudioEncoding::kMulaw},
      {16000, 2, callstream::RedisAudioEncoding::kMulaw},
  };
  for (uint64_t maxlen : {uint64_t{0}, uint64_t{5000}}) {
    for (auto payload : {callstream::RedisPayload::kBinary, callstream::RedisPayload::kBase64}) {
      const callstream::RedisStreamTarget target{"calls:{CA77}", maxlen};
      const callstream::RedisCallIds ids{"CA77", "MZ88"};
      callstream::RedisAudioEntryWriter writer(target, ids, payload);
      std::string command;
      for (uint64_t seq = 1; seq <= 40; seq++) {
        const auto audio = sample_audio((seq * 37) % 400);
        callstream::RedisAudioFrame frame;
        frame.seq = seq * 1000003;
        frame.timestamp_ms = static_cast<int64_t>(seq * 20);
        frame.format = formats[(seq / 3) % 4];
        frame.audio = audio;
        writer.format(command, frame);
        const std::string fresh = callstream::format_audio_entry(target, ids, frame, payload);
        g_assert_cmpmem(command.data(), command.size(), fresh.data(), fresh.size());
        const Argv argv = decode_resp(command);
        const size_t at = maxlen > 0 ? 3 : 0;  // MAXLEN ~ N
        const std::string seq_text = std::to_string(frame.seq);
        const std::string timestamp_text = std::to_string(frame.timestamp_ms);
        const std::string rate_text = std::to_string(frame.format.sample_rate);
        g_assert_cmpstr(argv[at + 10].c_str(), ==, seq_text.c_str());
        g_assert_cmpstr(argv[at + 12].c_str(), ==, timestamp_text.c_str());
        g_assert_cmpstr(argv[at + 14].c_str(), ==, rate_text.c_str());
        if (payload == callstream::RedisPayload::kBase64) {
          g_autofree gchar *want = g_base64_encode(audio.data(), audio.size());
          g_assert_cmpstr(argv.back().c_str(), ==, want);
        } else {
          g_assert_true(argv.back() == as_string(audio));
        }
      }
    }
  }
}

void test_large_numbers() {
  callstream::RedisAudioFrame frame;
  frame.seq = UINT64_MAX;
  frame.timestamp_ms = INT64_MAX;
  Argv argv = decode_resp(callstream::format_audio_entry(
      {"s", UINT64_MAX}, {"", ""}, frame, callstream::RedisPayload::kBinary));
  g_assert_cmpstr(argv[4].c_str(), ==, "18446744073709551615");
  g_assert_cmpstr(argv[13].c_str(), ==, "18446744073709551615");
  g_assert_cmpstr(argv[15].c_str(), ==, "9223372036854775807");
  g_assert_cmpstr(argv.back().c_str(), ==, "");
}

void test_call_start_entry() {
  callstream::RedisCallStart start;
  start.provider = "exotel";
  start.account_sid = "AC9";
  start.from = "+919876543210";
  start.to = "08012345678";
  start.custom_parameters = {{"lang", "hi-IN"}, {"note", "say \"hi\"\\\n\x01"}};
  start.format = {8000, 1, callstream::RedisAudioEncoding::kPcm16};
  start.payload = callstream::RedisPayload::kBase64;
  assert_argv(
      decode_resp(callstream::format_call_start_entry(
          {"audio_stream", 500}, {"CA123", "MZ456"}, start)),
      {"XADD", "audio_stream", "MAXLEN", "~", "500", "*", "event",
       "call_start", "interaction_id", "CA123", "stream_sid", "MZ456",
       "provider", "exotel", "account_sid", "AC9", "from", "+919876543210",
       "to", "08012345678", "custom_parameters",
       "{\"lang\":\"hi-IN\",\"note\":\"say \\\"hi\\\"\\\\\\n\\u0001\"}",
       "sample_rate", "8000", "channels", "1", "encoding", "pcm16", "payload",
       "base64"});

  // Unknown metadata is left out, never written as "".
  callstream::RedisCallStart bare;
  bare.format = {8000, 1, callstream::RedisAudioEncoding::kMulaw};
  assert_argv(decode_resp(callstream::format_call_start_entry(
                  {"k", 0}, {"stream-1", ""}, bare)),
              {"XADD", "k", "*", "event", "call_start", "interaction_id",
               "stream-1", "stream_sid", "", "sample_rate", "8000", "channels",
               "1", "encoding", "mulaw", "payload", "binary"});
}

void test_custom_parameters_json_escapes() {
  callstream::RedisCallStart start;
  start.custom_parameters = {{"a", "1"}, {"\xc3\xa9t\xc3\xa9", "\t\"\x1f"}};
  Argv argv = decode_resp(
      callstream::format_call_start_entry({"k", 0}, {"c", "s"}, start));
  auto json = std::find(argv.begin(), argv.end(), "custom_parameters") + 1;
  g_assert_cmpstr(json->c_str(), ==,
                  "{\"a\":\"1\",\"\xc3\xa9t\xc3\xa9\":\"\\t\\\"\\u001f\"}");
}

void test_call_end_entry() {
  assert_argv(decode_resp(callstream::format_call_end_entry(
                  {"audio_stream", 0}, {"CA123", "MZ456"}, {1500, 12, "eos"})),
              {"XADD", "audio_stream", "*", "event", "call_end",
               "interaction_id", "CA123", "stream_sid", "MZ456", "frames",
               "1500", "dropped", "12", "reason", "eos"});
}

void test_index_entry() {
  assert_argv(decode_resp(callstream::format_index_entry(
                  {"calls", 0}, {"CA123", "MZ456"}, "call_start",
                  "audio:{CA123}")),
              {"XADD", "calls", "*", "event", "call_start", "interaction_id",
               "CA123", "stream_sid", "MZ456", "stream", "audio:{CA123}"});
}

// ---- Entries read back (redisstreamsrc) ----

using Fields = std::vector<std::pair<std::string, std::string>>;

callstream::RedisReadEntry parse_entry(
    const Fields &fields,
    callstream::RedisPayload payload = callstream::RedisPayload::kBinary) {
  std::vector<callstream::RedisEntryField> views;
  for (const auto &[name, value] : fields)
    views.push_back({name, value});
  return callstream::parse_audio_stream_entry(views, payload);
}

Fields audio_fields(std::string audio, std::string encoding = "pcm16",
                    std::string channels = "1") {
  return {{"event", "audio"},        {"interaction_id", "CA1"},
          {"stream_sid", "MZ1"},     {"seq", "7"},
          {"timestamp_ms", "140"},   {"sample_rate", "8000"},
          {"channels", channels},    {"encoding", encoding},
          {"audio", std::move(audio)}};
}

Fields with(Fields fields, const std::string &name, const std::string &value) {
  bool found = false;
  for (auto &field : fields) {
    if (field.first == name) {
      field.second = value;
      found = true;
    }
  }
  if (!found)
    fields.emplace_back(name, value);
  return fields;
}

Fields without(Fields fields, const std::string &name) {
  std::erase_if(fields, [&](const auto &field) { return field.first == name; });
  return fields;
}

void test_read_call_start() {
  callstream::RedisReadEntry entry = parse_entry(
      {{"event", "call_start"}, {"interaction_id", "CA123"},
       {"stream_sid", "MZ456"}, {"provider", "exotel"},
       {"account_sid", "AC9"}, {"from", "+919876543210"},
       {"to", "08012345678"},
       {"custom_parameters", "{\"lang\":\"hi-IN\",\"note\":\"say \\\"hi\\\"\"}"},
       {"sample_rate", "16000"}, {"channels", "2"}, {"encoding", "mulaw"},
       {"payload", "base64"}});
  const auto *start = std::get_if<callstream::RedisReadCallStart>(&entry);
  g_assert_nonnull(start);
  expect_eq(start->ids.interaction_id, "CA123");
  expect_eq(start->ids.stream_sid, "MZ456");
  expect_eq(start->start.provider, "exotel");
  expect_eq(start->start.account_sid, "AC9");
  expect_eq(start->start.from, "+919876543210");
  expect_eq(start->start.to, "08012345678");
  g_assert_cmpuint(start->start.custom_parameters.size(), ==, 2);
  expect_eq(start->start.custom_parameters[0].first, "lang");
  expect_eq(start->start.custom_parameters[0].second, "hi-IN");
  expect_eq(start->start.custom_parameters[1].first, "note");
  expect_eq(start->start.custom_parameters[1].second, "say \"hi\"");
  g_assert_cmpint(start->start.format.sample_rate, ==, 16000);
  g_assert_cmpint(start->start.format.channels, ==, 2);
  g_assert_true(start->start.format.encoding ==
                callstream::RedisAudioEncoding::kMulaw);
  g_assert_true(start->start.payload == callstream::RedisPayload::kBase64);
}

// What the sink writes reads back as what it was given.
void test_read_round_trip() {
  callstream::RedisCallStart start;
  start.provider = "twilio";
  start.custom_parameters = {{"k", "v"}};
  start.format = {8000, 1, callstream::RedisAudioEncoding::kPcm16};
  Argv argv = decode_resp(callstream::format_call_start_entry(
      {"k", 0}, {"CA9", ""}, start));
  Fields fields;
  for (size_t i = 3; i + 1 < argv.size(); i += 2)
    fields.emplace_back(argv[i], argv[i + 1]);
  auto entry = parse_entry(fields);
  const auto *read = std::get_if<callstream::RedisReadCallStart>(&entry);
  g_assert_nonnull(read);
  expect_eq(read->ids.interaction_id, "CA9");
  expect_eq(read->ids.stream_sid, "");
  expect_eq(read->start.provider, "twilio");
  expect_eq(read->start.from, "");
  g_assert_true(read->start.payload == callstream::RedisPayload::kBinary);

  const std::vector<uint8_t> bytes = {1, 2, 3, 4, 0, 255};
  callstream::RedisAudioFrame frame;
  frame.seq = 12;
  frame.timestamp_ms = 9223372036854;
  frame.format = {48000, 3, callstream::RedisAudioEncoding::kPcm16};
  frame.audio = bytes;
  for (auto payload : {callstream::RedisPayload::kBinary,
                       callstream::RedisPayload::kBase64}) {
    argv = decode_resp(callstream::format_audio_entry({"k", 0}, {"CA9", "MZ"},
                                                      frame, payload));
    fields.clear();
    for (size_t i = 3; i + 1 < argv.size(); i += 2)
      fields.emplace_back(argv[i], argv[i + 1]);
    entry = parse_entry(fields, payload);
    const auto *audio = std::get_if<callstream::RedisReadAudio>(&entry);
    g_assert_nonnull(audio);
    g_assert_cmpuint(audio->seq, ==, 12);
    g_assert_cmpint(audio->timestamp_ms, ==, 9223372036854);
    g_assert_cmpint(audio->format.sample_rate, ==, 48000);
    g_assert_cmpint(audio->format.channels, ==, 3);
    g_assert_true(audio->audio == bytes);
  }

  argv = decode_resp(callstream::format_call_end_entry({"k", 0}, {"CA9", "MZ"},
                                                       {1500, 12, "eos"}));
  fields.clear();
  for (size_t i = 3; i + 1 < argv.size(); i += 2)
    fields.emplace_back(argv[i], argv[i + 1]);
  entry = parse_entry(fields);
  const auto *end = std::get_if<callstream::RedisReadCallEnd>(&entry);
  g_assert_nonnull(end);
  g_assert_cmpuint(end->end.frames, ==, 1500);
  g_assert_cmpuint(end->end.dropped, ==, 12);
  expect_eq(end->end.reason, "eos");
}

void test_read_audio_mulaw() {
  auto entry = parse_entry(audio_fields("\x01\x02\x03", "mulaw"));
  const auto *audio = std::get_if<callstream::RedisReadAudio>(&entry);
  g_assert_nonnull(audio);
  g_assert_true(audio->format.encoding == callstream::RedisAudioEncoding::kMulaw);
  g_assert_cmpuint(audio->audio.size(), ==, 3);
  g_assert_cmpuint(audio->seq, ==, 7);
  g_assert_cmpint(audio->timestamp_ms, ==, 140);
}

struct BadEntryCase {
  const char *name;
  Fields fields;
  callstream::RedisPayload payload;
  const char *reason;  // exactly
};

void test_read_refusals() {
  const Fields good = audio_fields("abcd");
  const auto b64 = callstream::RedisPayload::kBase64;
  const auto bin = callstream::RedisPayload::kBinary;
  const BadEntryCase cases[] = {
      {"no event", without(good, "event"), bin, "missing field event"},
      {"unknown event", with(good, "event", "hangup"), bin,
       "event is \"hangup\", not call_start, audio or call_end"},
      {"no interaction", without(good, "interaction_id"), bin,
       "missing field interaction_id"},
      {"empty interaction", with(good, "interaction_id", ""), bin,
       "interaction_id is empty"},
      {"no seq", without(good, "seq"), bin, "missing field seq"},
      {"seq 0", with(good, "seq", "0"), bin,
       "seq is \"0\", not a number in [1, 9223372036854775807]"},
      {"seq sign", with(good, "seq", "+3"), bin,
       "seq is \"+3\", not a number in [1, 9223372036854775807]"},
      {"seq overflow", with(good, "seq", "99999999999999999999"), bin,
       "seq is \"99999999999999999999\", not a number in [1, "
       "9223372036854775807]"},
      {"timestamp text", with(good, "timestamp_ms", "12ms"), bin,
       "timestamp_ms is \"12ms\", not a number in [0, 9223372036854]"},
      {"timestamp too large", with(good, "timestamp_ms", "9223372036855"), bin,
       "timestamp_ms is \"9223372036855\", not a number in [0, 9223372036854]"},
      {"rate 0", with(good, "sample_rate", "0"), bin,
       "sample_rate is \"0\", not a number in [1000, 192000]"},
      {"rate absurd", with(good, "sample_rate", "8000000"), bin,
       "sample_rate is \"8000000\", not a number in [1000, 192000]"},
      {"channels 9", with(good, "channels", "9"), bin,
       "channels is \"9\", not a number in [1, 8]"},
      {"encoding", with(good, "encoding", "opus"), bin,
       "encoding is \"opus\", not pcm16 or mulaw"},
      {"no audio", without(good, "audio"), bin, "missing field audio"},
      {"empty audio", with(good, "audio", ""), bin, "audio is empty"},
      {"odd pcm16", with(good, "audio", "abc"), bin,
       "audio is 3 bytes, not a whole number of 2-byte sample frames (pcm16, "
       "1 channel(s))"},
      {"stereo pcm16 6 bytes", audio_fields("abcdef", "pcm16", "2"), bin,
       "audio is 6 bytes, not a whole number of 4-byte sample frames (pcm16, "
       "2 channel(s))"},
      {"bad base64 padding", with(good, "audio", "a=bc"), b64,
       "audio is not valid base64 (payload=base64): \"a=bc\""},
      {"base64 alphabet", with(good, "audio", "ab$d"), b64,
       "audio is not valid base64 (payload=base64): \"ab$d\""},
      {"start no payload",
       {{"event", "call_start"}, {"interaction_id", "CA1"},
        {"sample_rate", "8000"}, {"channels", "1"}, {"encoding", "pcm16"}},
       bin, "missing field payload"},
      {"start payload",
       {{"event", "call_start"}, {"interaction_id", "CA1"},
        {"sample_rate", "8000"}, {"channels", "1"}, {"encoding", "pcm16"},
        {"payload", "hex"}},
       bin, "payload is \"hex\", not binary or base64"},
      {"start custom",
       {{"event", "call_start"}, {"interaction_id", "CA1"},
        {"sample_rate", "8000"}, {"channels", "1"}, {"encoding", "pcm16"},
        {"payload", "binary"}, {"custom_parameters", "{\"a\":1}"}},
       bin, "custom_parameters is \"{\"a\":1}\", not a JSON object of strings"},
      {"end frames",
       {{"event", "call_end"}, {"interaction_id", "CA1"}, {"frames", "-1"},
        {"dropped", "0"}, {"reason", "eos"}},
       bin, "frames is \"-1\", not a number in [0, 9223372036854775807]"},
      {"end reason",
       {{"event", "call_end"}, {"interaction_id", "CA1"}, {"frames", "1"},
        {"dropped", "0"}},
       bin, "missing field reason"},
  };
  for (const BadEntryCase &c : cases) {
    g_test_message("case: %s", c.name);
    auto entry = parse_entry(c.fields, c.payload);
    const auto *error = std::get_if<callstream::RedisEntryError>(&entry);
    g_assert_nonnull(error);
    expect_eq(error->reason, c.reason);
  }
  // base64 that decodes to an odd PCM16 length is refused for the length.
  auto entry = parse_entry(with(good, "audio", "AAAA"), b64);
  const auto *error = std::get_if<callstream::RedisEntryError>(&entry);
  g_assert_nonnull(error);
  expect_eq(error->reason,
            "audio is 3 bytes, not a whole number of 2-byte sample frames "
            "(pcm16, 1 channel(s))");
  // Non-printable bytes in a quoted value are masked, long ones cut.
  entry = parse_entry(with(good, "seq", std::string("1\0\n", 3)));
  error = std::get_if<callstream::RedisEntryError>(&entry);
  g_assert_nonnull(error);
  expect_eq(error->reason,
            "seq is \"1??\", not a number in [1, 9223372036854775807]");
}

void test_read_index_entry() {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"event", "call_start"}, {"interaction_id", "CA1"},
      {"stream_sid", "MZ1"}, {"stream", "audio:{CA1}"}};
  auto parse = [](const Fields &f) {
    std::vector<callstream::RedisEntryField> views;
    for (const auto &[name, value] : f)
      views.push_back({name, value});
    return callstream::parse_index_entry(views);
  };
  auto entry = parse(fields);
  const auto *index = std::get_if<callstream::RedisIndexEntry>(&entry);
  g_assert_nonnull(index);
  g_assert_true(index->call_start);
  expect_eq(index->ids.interaction_id, "CA1");
  expect_eq(index->ids.stream_sid, "MZ1");
  expect_eq(index->stream, "audio:{CA1}");
  entry = parse(with(fields, "event", "call_end"));
  g_assert_false(std::get<callstream::RedisIndexEntry>(entry).call_start);
  const std::pair<Fields, const char *> bad[] = {
      {without(fields, "stream"), "missing field stream"},
      {with(fields, "stream", ""), "stream is empty"},
      {without(fields, "interaction_id"), "missing field interaction_id"},
      {with(fields, "event", "audio"),
       "event is \"audio\", not call_start or call_end"},
  };
  for (const auto &[f, reason] : bad) {
    entry = parse(f);
    expect_eq(std::get<callstream::RedisEntryError>(entry).reason, reason);
  }
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  for (const UrlCase &c : kUrlCases)
    g_test_add_data_func(c.path, &c, test_url);
  g_test_add_func("/redis-url/connection-key", test_connection_key);
  g_test_add_func("/redis-url/redact", test_redact);
  g_test_add_func("/redis-entry/stream-keys", test_stream_keys);
  g_test_add_func("/redis-entry/resp-bytes", test_resp_bytes);
  g_test_add_func("/redis-entry/handshake", test_handshake);
  g_test_add_func("/redis-entry/handshake-refusals", test_handshake_refusals);
  g_test_add_func("/redis-entry/audio", test_audio_entry);
  g_test_add_func("/redis-entry/index", test_index_entry);
  g_test_add_func("/redis-entry/audio-maxlen-mulaw",
                  test_audio_entry_maxlen_mulaw);
  g_test_add_func("/redis-entry/audio-base64", test_audio_entry_base64);
  g_test_add_func("/redis-entry/audio-writer/reused-for-a-call", test_audio_writer_reused);
  g_test_add_func("/redis-entry/large-numbers", test_large_numbers);
  g_test_add_func("/redis-entry/call-start", test_call_start_entry);
  g_test_add_func("/redis-entry/custom-parameters-json",
                  test_custom_parameters_json_escapes);
  g_test_add_func("/redis-entry/call-end", test_call_end_entry);
  g_test_add_func("/redis-entry/read/call-start", test_read_call_start);
  g_test_add_func("/redis-entry/read/round-trip", test_read_round_trip);
  g_test_add_func("/redis-entry/read/audio-mulaw", test_read_audio_mulaw);
  g_test_add_func("/redis-entry/read/refusals", test_read_refusals);
  g_test_add_func("/redis-entry/read/index-entry", test_read_index_entry);
  return g_test_run();
}
