// The frames we send to Twilio and Exotel (shared PROTOCOLS.md sections 1 and
// 2), byte-exact; string escaping for any bytes; base64; and a round trip
// through json-glib and through our own parsers.
#include "protocol/exotel.h"
#include "protocol/outbound.h"
#include "protocol/twilio.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <string>
#include <string_view>
#include <vector>

using namespace std::string_view_literals;
using namespace callstream;
using namespace callstream::outbound;

namespace {

void assert_text_equal(std::string_view got, std::string_view want) {
  if (got != want)
    g_test_message("got  %.*s\nwant %.*s", static_cast<int>(got.size()), got.data(),
                   static_cast<int>(want.size()), want.data());
  g_assert_cmpmem(got.data(), got.size(), want.data(), want.size());
}

enum class Kind { TwilioMedia, TwilioMark, TwilioClear, ExotelMedia, ExotelMark, ExotelClear };

std::string serialize(Kind kind, std::string_view sid, std::string_view text) {
  switch (kind) {
    case Kind::TwilioMedia: return twilio_media(sid, text);
    case Kind::TwilioMark: return twilio_mark(sid, text);
    case Kind::TwilioClear: return twilio_clear(sid);
    case Kind::ExotelMedia: return exotel_media(sid, text);
    case Kind::ExotelMark: return exotel_mark(sid, text);
    case Kind::ExotelClear: return exotel_clear(sid);
  }
  g_assert_not_reached();
}

// --- frames, byte for byte -------------------------------------------------

struct FrameCase {
  const char *path;
  Kind kind;
  std::string_view stream_sid;
  std::string_view text;  // payload or mark name; unused by clear
  std::string_view want;
};

const FrameCase kFrameCases[] = {
  {"/outbound/twilio/media", Kind::TwilioMedia, "MZ18ad3ab5a668481ce02b83e7395059f0",
   "/v7+fn5+", R"({"event":"media","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","media":{"payload":"/v7+fn5+"}})"},
  {"/outbound/twilio/media-empty-payload", Kind::TwilioMedia, "MZ1", "",
   R"({"event":"media","streamSid":"MZ1","media":{"payload":""}})"},
  {"/outbound/twilio/mark", Kind::TwilioMark, "MZ1", "item_abc:1200",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":"item_abc:1200"}})"},
  {"/outbound/twilio/mark-empty-name", Kind::TwilioMark, "MZ1", "",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":""}})"},
  {"/outbound/twilio/clear", Kind::TwilioClear, "MZ1", "",
   R"({"event":"clear","streamSid":"MZ1"})"},
  {"/outbound/twilio/clear-empty-sid", Kind::TwilioClear, "", "",
   R"({"event":"clear","streamSid":""})"},
  {"/outbound/exotel/media", Kind::ExotelMedia, "b0f1c2", "AAD/fw==",
   R"({"event":"media","stream_sid":"b0f1c2","media":{"payload":"AAD/fw=="}})"},
  {"/outbound/exotel/mark", Kind::ExotelMark, "b0f1c2", "chunk-42",
   R"({"event":"mark","stream_sid":"b0f1c2","mark":{"name":"chunk-42"}})"},
  {"/outbound/exotel/clear", Kind::ExotelClear, "b0f1c2", "",
   R"({"event":"clear","stream_sid":"b0f1c2"})"},
  // Escaping, in the mark name and in the stream sid.
  {"/outbound/escape/quotes", Kind::TwilioMark, "MZ1", R"(say "hi")",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":"say \"hi\""}})"},
  {"/outbound/escape/backslash", Kind::TwilioMark, "MZ1", R"(a\b\\c)",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":"a\\b\\\\c"}})"},
  {"/outbound/escape/named-controls", Kind::TwilioMark, "MZ1", "n\nr\rt\tb\bf\f",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":"n\nr\rt\tb\bf\f"}})"},
  {"/outbound/escape/other-controls", Kind::TwilioMark, "MZ1", "\x01\x1f\x0b\x1b",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":"\u0001\u001f\u000b\u001b"}})"},
  {"/outbound/escape/nul", Kind::TwilioMark, "MZ1", "a\0b"sv,
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":"a\u0000b"}})"},
  {"/outbound/escape/slash-and-del-kept", Kind::TwilioMark, "MZ1", "a/b\x7f",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":\"a/b\x7f\"}}"},
  {"/outbound/escape/utf8-kept", Kind::TwilioMark, "MZ1",
   "Zo\xc3\xab \xe0\xa4\xa8 \xf0\x9f\x98\x80 \xef\xbf\xbf",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":"
   "\"Zo\xc3\xab \xe0\xa4\xa8 \xf0\x9f\x98\x80 \xef\xbf\xbf\"}}"},
  {"/outbound/escape/invalid-utf8-stray-byte", Kind::TwilioMark, "MZ1", "a\xff" "b",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":\"a\xef\xbf\xbd" "b\"}}"},
  {"/outbound/escape/invalid-utf8-truncated-at-end", Kind::TwilioMark, "MZ1",
   "a\xf0\x9f\x98",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":"
   "\"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}"},
  {"/outbound/escape/invalid-utf8-truncated-before-quote", Kind::TwilioMark, "MZ1",
   "\xc3\"",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":\"\xef\xbf\xbd\\\"\"}}"},
  {"/outbound/escape/invalid-utf8-overlong", Kind::TwilioMark, "MZ1", "\xc0\xaf",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":\"\xef\xbf\xbd\xef\xbf\xbd\"}}"},
  {"/outbound/escape/invalid-utf8-surrogate", Kind::TwilioMark, "MZ1", "\xed\xa0\x80",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":"
   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}"},
  {"/outbound/escape/invalid-utf8-above-10ffff", Kind::TwilioMark, "MZ1", "\xf4\x90\x80\x80",
   "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":"
   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}"},
  {"/outbound/escape/stream-sid", Kind::ExotelClear, "s\"\\\n\x02", "",
   R"({"event":"clear","stream_sid":"s\"\\\n\u0002"})"},
  {"/outbound/escape/payload", Kind::ExotelMedia, "s", "A\"A\\",
   R"({"event":"media","stream_sid":"s","media":{"payload":"A\"A\\"}})"},
};

void test_frame(gconstpointer data) {
  const auto &c = *static_cast<const FrameCase *>(data);
  assert_text_equal(serialize(c.kind, c.stream_sid, c.text), c.want);
}

// --- base64 ------------------------------------------------------------------

struct Base64Case {
  const char *path;
  std::string_view bytes;
  std::string_view want;
};

// RFC 4648 section 10, and every byte value class.
const Base64Case kBase64Cases[] = {
  {"/outbound/base64/empty", "", ""},
  {"/outbound/base64/f", "f", "Zg=="},
  {"/outbound/base64/fo", "fo", "Zm8="},
  {"/outbound/base64/foo", "foo", "Zm9v"},
  {"/outbound/base64/foob", "foob", "Zm9vYg=="},
  {"/outbound/base64/fooba", "fooba", "Zm9vYmE="},
  {"/outbound/base64/foobar", "foobar", "Zm9vYmFy"},
  {"/outbound/base64/binary", "\x00\x01\x02\xff\xfe\xfd"sv, "AAEC//79"},
  {"/outbound/base64/plus-and-slash", "\xfb\xff\xbf"sv, "+/+/"},
};

const uint8_t *bytes_of(std::string_view text) {
  return reinterpret_cast<const uint8_t *>(text.data());
}

void test_base64(gconstpointer data) {
  const auto &c = *static_cast<const Base64Case *>(data);
  assert_text_equal(base64_encode(bytes_of(c.bytes), c.bytes.size()), c.want);
}

// Every length up to a few 20 ms u-law frames, against GLib's one-shot encoder.
void test_base64_lengths() {
  std::vector<uint8_t> audio(1000);
  for (size_t i = 0; i < audio.size(); i++)
    audio[i] = static_cast<uint8_t>(i * 37 + 11);
  for (size_t size = 0; size <= audio.size(); size++) {
    g_autofree gchar *want = g_base64_encode(audio.data(), size);
    assert_text_equal(base64_encode(audio.data(), size), want);
  }
  assert_text_equal(base64_encode(nullptr, 0), "");
}

// --- media straight from audio ------------------------------------------------

void test_media_audio() {
  const uint8_t audio[] = {0x00, 0x01, 0x02, 0xff};
  assert_text_equal(twilio_media_audio("MZ1", audio, sizeof audio),
                    R"({"event":"media","streamSid":"MZ1","media":{"payload":"AAEC/w=="}})");
  assert_text_equal(exotel_media_audio("s\"1", audio, sizeof audio),
                    R"({"event":"media","stream_sid":"s\"1","media":{"payload":"AAEC/w=="}})");
  assert_text_equal(twilio_media_audio("MZ1", nullptr, 0),
                    R"({"event":"media","streamSid":"MZ1","media":{"payload":""}})");

  // A 100 KB Exotel chunk: the same bytes as encoding first, then framing.
  std::vector<uint8_t> chunk(102400);
  for (size_t i = 0; i < chunk.size(); i++)
    chunk[i] = static_cast<uint8_t>(i ^ (i >> 8));
  std::string payload = base64_encode(chunk.data(), chunk.size());
  assert_text_equal(exotel_media_audio("s1", chunk.data(), chunk.size()),
                    exotel_media("s1", payload));
  assert_text_equal(twilio_media_audio("MZ1", chunk.data(), 160),
                    twilio_media("MZ1", base64_encode(chunk.data(), 160)));
}

// --- round trip ----------------------------------------------------------------

// Valid UTF-8 that needs every kind of escape; comes back unchanged.
constexpr std::string_view kAwkward =
    "q\"b\\s/n\nr\rt\tc\x01\x1f" "d\x7f" "u\xc3\xab\xf0\x9f\x98\x80 end"sv;
constexpr std::string_view kAwkwardSid = "MZ\"\\\n\x02\xe0\xa4\xa8"sv;

struct RoundTripCase {
  const char *path;
  Kind kind;
  const char *event;
  const char *sid_key;
  const char *body_key;   // nullptr for clear
  const char *text_key;
};

const RoundTripCase kRoundTripCases[] = {
  {"/outbound/round-trip/json-glib/twilio-media", Kind::TwilioMedia, "media", "streamSid",
   "media", "payload"},
  {"/outbound/round-trip/json-glib/twilio-mark", Kind::TwilioMark, "mark", "streamSid",
   "mark", "name"},
  {"/outbound/round-trip/json-glib/twilio-clear", Kind::TwilioClear, "clear", "streamSid",
   nullptr, nullptr},
  {"/outbound/round-trip/json-glib/exotel-media", Kind::ExotelMedia, "media", "stream_sid",
   "media", "payload"},
  {"/outbound/round-trip/json-glib/exotel-mark", Kind::ExotelMark, "mark", "stream_sid",
   "mark", "name"},
  {"/outbound/round-trip/json-glib/exotel-clear", Kind::ExotelClear, "clear", "stream_sid",
   nullptr, nullptr},
};

const char *string_member(JsonObject *obj, const char *name) {
  g_assert_true(json_object_has_member(obj, name));
  JsonNode *node = json_object_get_member(obj, name);
  g_assert_true(JSON_NODE_HOLDS_VALUE(node));
  g_assert_cmpint(json_node_get_value_type(node), ==, G_TYPE_STRING);
  return json_node_get_string(node);
}

void test_round_trip_json_glib(gconstpointer data) {
  const auto &c = *static_cast<const RoundTripCase *>(data);
  std::string frame = serialize(c.kind, kAwkwardSid, kAwkward);
  g_assert_true(g_utf8_validate(frame.data(), static_cast<gssize>(frame.size()), nullptr));

  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = nullptr;
  g_assert_true(json_parser_load_from_data(parser, frame.data(),
                                           static_cast<gssize>(frame.size()), &error));
  g_assert_no_error(error);
  JsonNode *root_node = json_parser_get_root(parser);
  g_assert_true(JSON_NODE_HOLDS_OBJECT(root_node));
  JsonObject *root = json_node_get_object(root_node);

  g_assert_cmpuint(json_object_get_size(root), ==, c.body_key != nullptr ? 3 : 2);
  g_assert_cmpstr(string_member(root, "event"), ==, c.event);
  assert_text_equal(string_member(root, c.sid_key), kAwkwardSid);
  if (c.body_key == nullptr)
    return;
  JsonObject *body = json_object_get_object_member(root, c.body_key);
  g_assert_nonnull(body);
  g_assert_cmpuint(json_object_get_size(body), ==, 1);
  assert_text_equal(string_member(body, c.text_key), kAwkward);
}

// NUL and invalid UTF-8 do not survive as such, but the frame stays valid.
void test_round_trip_lossy() {
  std::string frame = twilio_mark("MZ1", "a\0b\xff" "c"sv);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_data(parser, frame.data(),
                                           static_cast<gssize>(frame.size()), nullptr));
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonObject *mark = json_object_get_object_member(root, "mark");
  // json-glib stops a string at its NUL: what it returns is the text before.
  assert_text_equal(string_member(mark, "name"), "a");
}

// Our own parsers read back what we send: an echo test of each provider's side.
void test_round_trip_parsers() {
  {
    auto message = twilio::parse_message(twilio_media(kAwkwardSid, "AAEC/w=="));
    const auto &media = std::get<twilio::Media>(message);
    assert_text_equal(media.stream_sid, kAwkwardSid);
    assert_text_equal(media.payload, "AAEC/w==");
    assert_text_equal(media.track, "inbound");
  }
  {
    auto message = twilio::parse_message(twilio_mark(kAwkwardSid, kAwkward));
    const auto &mark = std::get<twilio::Mark>(message);
    assert_text_equal(mark.stream_sid, kAwkwardSid);
    assert_text_equal(mark.name, kAwkward);
  }
  {
    auto message = twilio::parse_message(twilio_clear(kAwkwardSid));
    assert_text_equal(std::get<twilio::Unknown>(message).event, "clear");
  }
  {
    auto message = exotel::parse_message(exotel_media(kAwkwardSid, "AAEC/w=="));
    const auto &media = std::get<exotel::Media>(message);
    assert_text_equal(media.stream_sid, kAwkwardSid);
    assert_text_equal(media.payload, "AAEC/w==");
  }
  {
    auto message = exotel::parse_message(exotel_mark(kAwkwardSid, kAwkward));
    const auto &mark = std::get<exotel::Mark>(message);
    assert_text_equal(mark.stream_sid, kAwkwardSid);
    assert_text_equal(mark.name, kAwkward);
  }
  {
    auto message = exotel::parse_message(exotel_clear(kAwkwardSid));
    assert_text_equal(std::get<exotel::Unknown>(message).event, "clear");
  }
}

// Every single byte as a mark name: always valid UTF-8 JSON that json-glib reads.
void test_every_byte() {
  for (int byte = 0; byte < 256; byte++) {
    char c = static_cast<char>(byte);
    std::string frame = exotel_mark("s", std::string_view(&c, 1));
    g_assert_true(g_utf8_validate(frame.data(), static_cast<gssize>(frame.size()), nullptr));
    g_autoptr(JsonParser) parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, frame.data(),
                                             static_cast<gssize>(frame.size()), nullptr));
  }
}

template <typename Case, size_t N>
void add_cases(const Case (&cases)[N], GTestDataFunc test) {
  for (const Case &c : cases)
    g_test_add_data_func(c.path, &c, test);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  add_cases(kFrameCases, test_frame);
  add_cases(kBase64Cases, test_base64);
  add_cases(kRoundTripCases, test_round_trip_json_glib);
  g_test_add_func("/outbound/base64/every-length", test_base64_lengths);
  g_test_add_func("/outbound/media-audio", test_media_audio);
  g_test_add_func("/outbound/round-trip/lossy", test_round_trip_lossy);
  g_test_add_func("/outbound/round-trip/parsers", test_round_trip_parsers);
  g_test_add_func("/outbound/escape/every-byte", test_every_byte);
  return g_test_run();
}
