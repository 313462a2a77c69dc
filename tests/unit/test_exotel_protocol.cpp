// Every Exotel message variant of shared PROTOCOLS.md section 1, parsed and
// compared field by field, byte-exact; and every way a frame can be refused.
#include "protocol/exotel.h"

#include "protocol_test_support.h"

#include <glib.h>

#include <cstring>
#include <string>
#include <string_view>

using namespace std::string_view_literals;
using namespace callstream::exotel;

// The tables name only the fields a case sets and leave the rest at their
// defaults, which is what designated initializers are for; GCC 12 warns anyway.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using protocol_test::assert_optional_equal;
using protocol_test::assert_text_equal;

template <typename T>
const T &expect(const Message &message) {
  return protocol_test::expect<T, ParseError>(message);
}

// --- start ---------------------------------------------------------------

struct StartCase {
  const char *path;
  std::string_view json;
  Start want;
};

const StartCase kStartCases[] = {
  {"/exotel/start/numbers-as-strings",
   R"({"event":"start","sequence_number":"1","stream_sid":"b0f1c2",
       "start":{"stream_sid":"b0f1c2","call_sid":"CA1234abc","account_sid":"acme1",
                "from":"+919876543210","to":"08047112345",
                "custom_parameters":{"lang":"hi"},
                "media_format":{"encoding":"raw","sample_rate":"8000","bit_rate":"128"}}})",
   {.sequence_number = 1, .stream_sid = "b0f1c2", .call_sid = "CA1234abc",
    .account_sid = "acme1", .from = "+919876543210", .to = "08047112345",
    .custom_parameters = {{"lang", "hi"}},
    .media_format = {Encoding::Pcm16, "raw", 8000, 128}}},
  {"/exotel/start/numbers-as-numbers",
   R"({"event":"start","sequence_number":1,"stream_sid":"s1",
       "start":{"call_sid":"CA1","account_sid":"a1","from":"111","to":"222",
                "media_format":{"encoding":"slin","sample_rate":16000,"bit_rate":16}}})",
   {.sequence_number = 1, .stream_sid = "s1", .call_sid = "CA1", .account_sid = "a1",
    .from = "111", .to = "222",
    .media_format = {Encoding::Pcm16, "slin", 16000, 16}}},
  {"/exotel/start/numbers-as-integral-doubles",
   R"({"event":"start","sequence_number":2.0,"stream_sid":"s1",
       "start":{"media_format":{"encoding":"raw","sample_rate":8000.0,"bit_rate":128.0}}})",
   {.sequence_number = 2, .stream_sid = "s1",
    .media_format = {Encoding::Pcm16, "raw", 8000, 128}}},
  {"/exotel/start/camel-case",
   R"({"event":"start","sequenceNumber":"7","streamSid":"MZ99",
       "start":{"streamSid":"MZ99","callSid":"CA77","accountSid":"AC55",
                "from":"a","to":"b","customParameters":{"k":"v"},
                "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"bitRate":"64"}}})",
   {.sequence_number = 7, .stream_sid = "MZ99", .call_sid = "CA77",
    .account_sid = "AC55", .from = "a", .to = "b",
    .custom_parameters = {{"k", "v"}},
    .media_format = {Encoding::Mulaw, "audio/x-mulaw", 8000, 64}}},
  {"/exotel/start/stream-sid-nested-only",
   R"({"event":"start","start":{"stream_sid":"nested1","call_sid":"c"}})",
   {.stream_sid = "nested1", .call_sid = "c"}},
  {"/exotel/start/stream-sid-top-level-first",
   R"({"event":"start","stream_sid":"top","start":{"stream_sid":"nested","call_sid":"c"}})",
   {.stream_sid = "top", .call_sid = "c"}},
  {"/exotel/start/stream-sid-camel-nested",
   R"({"event":"start","start":{"streamSid":"nestedCamel"}})",
   {.stream_sid = "nestedCamel"}},
  {"/exotel/start/encoding-raw",
   R"({"event":"start","start":{"media_format":{"encoding":"raw"}}})",
   {.media_format = {Encoding::Pcm16, "raw", 8000, 0}}},
  {"/exotel/start/encoding-audio-x-raw",
   R"({"event":"start","start":{"media_format":{"encoding":"audio/x-raw","sample_rate":"24000"}}})",
   {.media_format = {Encoding::Pcm16, "audio/x-raw", 24000, 0}}},
  {"/exotel/start/encoding-slin",
   R"({"event":"start","start":{"media_format":{"encoding":"slin","sample_rate":"16000"}}})",
   {.media_format = {Encoding::Pcm16, "slin", 16000, 0}}},
  {"/exotel/start/encoding-audio-x-mulaw",
   R"({"event":"start","start":{"media_format":{"encoding":"audio/x-mulaw","sample_rate":"8000"}}})",
   {.media_format = {Encoding::Mulaw, "audio/x-mulaw", 8000, 0}}},
  {"/exotel/start/encoding-upper-case-kept-as-sent",
   R"({"event":"start","start":{"media_format":{"encoding":"Audio/X-MULAW"}}})",
   {.media_format = {Encoding::Mulaw, "Audio/X-MULAW", 8000, 0}}},
  {"/exotel/start/encoding-raw-upper-case",
   R"({"event":"start","start":{"media_format":{"encoding":"RAW"}}})",
   {.media_format = {Encoding::Pcm16, "RAW", 8000, 0}}},
  {"/exotel/start/rate-8000",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"8000"}}})",
   {.media_format = {Encoding::Pcm16, "raw", 8000, 0}}},
  {"/exotel/start/rate-16000",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"16000"}}})",
   {.media_format = {Encoding::Pcm16, "raw", 16000, 0}}},
  {"/exotel/start/rate-24000",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":24000}}})",
   {.media_format = {Encoding::Pcm16, "raw", 24000, 0}}},
  {"/exotel/start/rate-11025",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"11025"}}})",
   {.media_format = {Encoding::Pcm16, "raw", 11025, 0}}},
  {"/exotel/start/rate-lowest",
   R"({"event":"start","start":{"media_format":{"sample_rate":1}}})",
   {.media_format = {Encoding::Pcm16, "", 1, 0}}},
  {"/exotel/start/rate-highest",
   R"({"event":"start","start":{"media_format":{"sample_rate":"384000"}}})",
   {.media_format = {Encoding::Pcm16, "", 384000, 0}}},
  {"/exotel/start/bit-rate-16",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"8000","bit_rate":"16"}}})",
   {.media_format = {Encoding::Pcm16, "raw", 8000, 16}}},
  {"/exotel/start/bit-rate-128",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"8000","bit_rate":"128"}}})",
   {.media_format = {Encoding::Pcm16, "raw", 8000, 128}}},
  {"/exotel/start/missing-media-format",
   R"({"event":"start","stream_sid":"s","start":{"call_sid":"c"}})",
   {.stream_sid = "s", .call_sid = "c",
    .media_format = {Encoding::Pcm16, "", 8000, 0}}},
  {"/exotel/start/null-media-format",
   R"({"event":"start","start":{"media_format":null}})",
   {.media_format = {Encoding::Pcm16, "", 8000, 0}}},
  {"/exotel/start/empty-media-format",
   R"({"event":"start","start":{"media_format":{}}})",
   {.media_format = {Encoding::Pcm16, "", 8000, 0}}},
  {"/exotel/start/missing-optional-fields",
   R"({"event":"start","start":{}})",
   {}},
  {"/exotel/start/null-optional-fields",
   R"({"event":"start","sequence_number":null,"stream_sid":null,
       "start":{"call_sid":null,"from":null,"custom_parameters":null}})",
   {}},
  {"/exotel/start/numeric-ids-as-text",
   R"({"event":"start","stream_sid":12345,"start":{"call_sid":678,"from":919876543210}})",
   {.stream_sid = "12345", .call_sid = "678", .from = "919876543210"}},
  {"/exotel/start/custom-parameters-values-and-order",
   R"({"event":"start","start":{"custom_parameters":{
       "zeta":"first","alpha":2,"mid":true,"off":false,"ratio":1.5,"whole":3.0,
       "neg":-3,"nothing":null,"obj":{"a":1},"arr":[1,"x"],"empty":""}}})",
   {.custom_parameters = {{"zeta", "first"}, {"alpha", "2"}, {"mid", "true"},
                          {"off", "false"}, {"ratio", "1.5"}, {"whole", "3"},
                          {"neg", "-3"}, {"nothing", ""}, {"obj", R"({"a":1})"},
                          {"arr", R"([1,"x"])"}, {"empty", ""}}}},
  {"/exotel/start/custom-parameters-camel-case",
   R"({"event":"start","start":{"customParameters":{"b":"2","a":"1","c":"3"}}})",
   {.custom_parameters = {{"b", "2"}, {"a", "1"}, {"c", "3"}}}},
  {"/exotel/start/custom-parameters-empty",
   R"({"event":"start","start":{"custom_parameters":{}}})",
   {}},
  {"/exotel/start/custom-parameters-utf8",
   R"({"event":"start","start":{"custom_parameters":{"name":"Zoë","city":"\u0928\u0908 \u0926\u093f\u0932\u094d\u0932\u0940"}}})",
   {.custom_parameters = {{"name", "Zo\xc3\xab"},
                          {"city", "\xe0\xa4\xa8\xe0\xa4\x88 \xe0\xa4\xa6\xe0\xa4\xbf"
                                   "\xe0\xa4\xb2\xe0\xa5\x8d\xe0\xa4\xb2\xe0\xa5\x80"}}}},
  {"/exotel/start/extra-fields-ignored",
   R"({"event":"start","unknown":[1,2],"start":{"tracks":["inbound"],"stream_sid":"s"}})",
   {.stream_sid = "s"}},
};

void test_start(gconstpointer data) {
  const auto &c = *static_cast<const StartCase *>(data);
  Message message = parse_message(c.json);
  const Start &got = expect<Start>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.call_sid, c.want.call_sid);
  assert_text_equal(got.account_sid, c.want.account_sid);
  assert_text_equal(got.from, c.want.from);
  assert_text_equal(got.to, c.want.to);
  g_assert_cmpuint(got.custom_parameters.size(), ==, c.want.custom_parameters.size());
  for (size_t i = 0; i < got.custom_parameters.size(); i++) {
    assert_text_equal(got.custom_parameters[i].first, c.want.custom_parameters[i].first);
    assert_text_equal(got.custom_parameters[i].second, c.want.custom_parameters[i].second);
  }
  g_assert_cmpint(static_cast<int>(got.media_format.encoding), ==,
                  static_cast<int>(c.want.media_format.encoding));
  assert_text_equal(got.media_format.encoding_name, c.want.media_format.encoding_name);
  g_assert_cmpint(got.media_format.sample_rate, ==, c.want.media_format.sample_rate);
  g_assert_cmpint(got.media_format.bit_rate, ==, c.want.media_format.bit_rate);
}

// --- media ---------------------------------------------------------------

struct MediaCase {
  const char *path;
  std::string_view json;
  Media want;
};

const MediaCase kMediaCases[] = {
  {"/exotel/media/numbers-as-strings",
   R"({"event":"media","sequence_number":"3","stream_sid":"s1",
       "media":{"chunk":"2","timestamp":"200","payload":"AAD/fw=="}})",
   {.sequence_number = 3, .stream_sid = "s1", .chunk = 2, .timestamp_ms = 200,
    .payload = "AAD/fw=="}},
  {"/exotel/media/numbers-as-numbers",
   R"({"event":"media","sequence_number":4,"stream_sid":"s1",
       "media":{"chunk":3,"timestamp":300,"payload":"AAAA"}})",
   {.sequence_number = 4, .stream_sid = "s1", .chunk = 3, .timestamp_ms = 300,
    .payload = "AAAA"}},
  {"/exotel/media/camel-case",
   R"({"event":"media","sequenceNumber":"5","streamSid":"MZ1",
       "media":{"chunk":"4","timestamp":"3600000","payload":"AQID"}})",
   {.sequence_number = 5, .stream_sid = "MZ1", .chunk = 4, .timestamp_ms = 3600000,
    .payload = "AQID"}},
  {"/exotel/media/empty-payload",
   R"({"event":"media","stream_sid":"s1","media":{"payload":""}})",
   {.stream_sid = "s1", .payload = ""}},
  {"/exotel/media/missing-optional-numbers",
   R"({"event":"media","media":{"payload":"AAAA"}})",
   {.payload = "AAAA"}},
  {"/exotel/media/null-optional-numbers",
   R"({"event":"media","sequence_number":null,"media":{"chunk":null,"timestamp":null,"payload":"AAAA"}})",
   {.payload = "AAAA"}},
  {"/exotel/media/stream-sid-nested",
   R"({"event":"media","media":{"stream_sid":"inner","payload":"AAAA"}})",
   {.stream_sid = "inner", .payload = "AAAA"}},
  {"/exotel/media/payload-kept-encoded",
   R"({"event":"media","media":{"payload":"not base64 at all!"}})",
   {.payload = "not base64 at all!"}},
  {"/exotel/media/large-sequence-number",
   R"({"event":"media","sequence_number":"9007199254740993","media":{"payload":"AAAA"}})",
   {.sequence_number = 9007199254740993, .payload = "AAAA"}},
};

void test_media(gconstpointer data) {
  const auto &c = *static_cast<const MediaCase *>(data);
  Message message = parse_message(c.json);
  const Media &got = expect<Media>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_optional_equal(got.chunk, c.want.chunk);
  assert_optional_equal(got.timestamp_ms, c.want.timestamp_ms);
  assert_text_equal(got.payload, c.want.payload);
}

// --- dtmf ----------------------------------------------------------------

struct DtmfCase {
  const char *path;
  std::string_view json;
  Dtmf want;
};

const DtmfCase kDtmfCases[] = {
  {"/exotel/dtmf/strings",
   R"({"event":"dtmf","sequence_number":"12","stream_sid":"s1","dtmf":{"digit":"5","duration":"250"}})",
   {.sequence_number = 12, .stream_sid = "s1", .digit = "5", .duration_ms = 250}},
  {"/exotel/dtmf/numbers",
   R"({"event":"dtmf","sequenceNumber":13,"stream_sid":"s1","dtmf":{"digit":7,"duration":100}})",
   {.sequence_number = 13, .stream_sid = "s1", .digit = "7", .duration_ms = 100}},
  {"/exotel/dtmf/hash-without-duration",
   R"({"event":"dtmf","streamSid":"s2","dtmf":{"digit":"#"}})",
   {.stream_sid = "s2", .digit = "#"}},
  {"/exotel/dtmf/star",
   R"({"event":"dtmf","dtmf":{"digit":"*","duration":0}})",
   {.digit = "*", .duration_ms = 0}},
};

void test_dtmf(gconstpointer data) {
  const auto &c = *static_cast<const DtmfCase *>(data);
  Message message = parse_message(c.json);
  const Dtmf &got = expect<Dtmf>(message);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.digit, c.want.digit);
  assert_optional_equal(got.duration_ms, c.want.duration_ms);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
}

// --- mark ----------------------------------------------------------------

struct MarkCase {
  const char *path;
  std::string_view json;
  Mark want;
};

const MarkCase kMarkCases[] = {
  {"/exotel/mark/snake-case",
   R"({"event":"mark","sequence_number":"7","stream_sid":"s1","mark":{"name":"chunk-42"}})",
   {.sequence_number = 7, .stream_sid = "s1", .name = "chunk-42"}},
  {"/exotel/mark/camel-case",
   R"({"event":"mark","streamSid":"s2","mark":{"name":"item_abc:1200"}})",
   {.stream_sid = "s2", .name = "item_abc:1200"}},
  {"/exotel/mark/empty-name",
   R"({"event":"mark","stream_sid":"s1","mark":{"name":""}})",
   {.stream_sid = "s1", .name = ""}},
};

void test_mark(gconstpointer data) {
  const auto &c = *static_cast<const MarkCase *>(data);
  Message message = parse_message(c.json);
  const Mark &got = expect<Mark>(message);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.name, c.want.name);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
}

// --- stop ----------------------------------------------------------------

struct StopCase {
  const char *path;
  std::string_view json;
  Stop want;
};

const StopCase kStopCases[] = {
  {"/exotel/stop/reason-stopped",
   R"({"event":"stop","sequence_number":"99","stream_sid":"s1",
       "stop":{"call_sid":"CA1","account_sid":"acc","reason":"stopped"}})",
   {.sequence_number = 99, .stream_sid = "s1", .call_sid = "CA1", .account_sid = "acc",
    .reason = "stopped"}},
  {"/exotel/stop/reason-callended",
   R"({"event":"stop","stream_sid":"s1",
       "stop":{"call_sid":"CA1","account_sid":"acc","reason":"callended"}})",
   {.stream_sid = "s1", .call_sid = "CA1", .account_sid = "acc", .reason = "callended"}},
  {"/exotel/stop/camel-case",
   R"({"event":"stop","streamSid":"s3","stop":{"callSid":"CA3","accountSid":"AC3"}})",
   {.stream_sid = "s3", .call_sid = "CA3", .account_sid = "AC3"}},
  {"/exotel/stop/bad-sequence-still-stops",
   R"({"event":"stop","sequence_number":"x","stream_sid":"s6"})",
   {.stream_sid = "s6"}},
  {"/exotel/stop/without-stop-object",
   R"({"event":"stop","stream_sid":"s4"})",
   {.stream_sid = "s4"}},
  {"/exotel/stop/stop-not-an-object",
   R"({"event":"stop","stream_sid":"s5","stop":"bye"})",
   {.stream_sid = "s5"}},
};

void test_stop(gconstpointer data) {
  const auto &c = *static_cast<const StopCase *>(data);
  Message message = parse_message(c.json);
  const Stop &got = expect<Stop>(message);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.call_sid, c.want.call_sid);
  assert_text_equal(got.account_sid, c.want.account_sid);
  assert_text_equal(got.reason, c.want.reason);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
}

// --- connected and unknown events ------------------------------------------

struct EventCase {
  const char *path;
  std::string_view json;
  const char *unknown_event;  // nullptr: expect Connected
};

const EventCase kEventCases[] = {
  {"/exotel/connected/plain", R"({"event":"connected"})", nullptr},
  {"/exotel/connected/with-extra-fields",
   R"({"event":"connected","protocol":"Call","version":"1.0.0"})", nullptr},
  {"/exotel/connected/whitespace-around", " \n{ \"event\" : \"connected\" }\r\n", nullptr},
  {"/exotel/unknown/clear", R"({"event":"clear","stream_sid":"s1"})", "clear"},
  {"/exotel/unknown/empty-event", R"({"event":""})", ""},
  {"/exotel/unknown/event-names-are-case-sensitive", R"({"event":"Start"})", "Start"},
  {"/exotel/unknown/future-event",
   R"({"event":"transcript","transcript":{"text":"hi"}})", "transcript"},
  // json-glib lets a raw control byte through inside a string; it stays text.
  {"/exotel/unknown/raw-control-byte-kept", "{\"event\":\"conn\x01" "ected\"}", "conn\x01" "ected"},
};

void test_event(gconstpointer data) {
  const auto &c = *static_cast<const EventCase *>(data);
  Message message = parse_message(c.json);
  if (c.unknown_event == nullptr) {
    expect<Connected>(message);
    return;
  }
  assert_text_equal(expect<Unknown>(message).event, c.unknown_event);
}

// --- encoding names --------------------------------------------------------

struct EncodingCase {
  const char *path;
  std::string_view name;
  std::optional<Encoding> want;
};

const EncodingCase kEncodingCases[] = {
  {"/exotel/encoding/empty-is-pcm16", "", Encoding::Pcm16},
  {"/exotel/encoding/raw", "raw", Encoding::Pcm16},
  {"/exotel/encoding/raw-upper", "RAW", Encoding::Pcm16},
  {"/exotel/encoding/audio-x-raw", "audio/x-raw", Encoding::Pcm16},
  {"/exotel/encoding/audio-x-raw-mixed", "Audio/X-Raw", Encoding::Pcm16},
  {"/exotel/encoding/slin", "slin", Encoding::Pcm16},
  {"/exotel/encoding/slin16", "slin16", Encoding::Pcm16},
  {"/exotel/encoding/slin8", "slin8", Encoding::Pcm16},
  {"/exotel/encoding/slin48-upper", "SLIN48", Encoding::Pcm16},
  {"/exotel/encoding/pcm16", "pcm16", Encoding::Pcm16},
  {"/exotel/encoding/pcm_s16le", "pcm_s16le", Encoding::Pcm16},
  {"/exotel/encoding/s16le", "S16LE", Encoding::Pcm16},
  {"/exotel/encoding/linear16", "linear16", Encoding::Pcm16},
  {"/exotel/encoding/audio-l16", "audio/L16", Encoding::Pcm16},
  {"/exotel/encoding/audio-x-mulaw", "audio/x-mulaw", Encoding::Mulaw},
  {"/exotel/encoding/audio-x-mulaw-upper", "AUDIO/X-MULAW", Encoding::Mulaw},
  {"/exotel/encoding/mulaw", "mulaw", Encoding::Mulaw},
  {"/exotel/encoding/ulaw", "uLaw", Encoding::Mulaw},
  {"/exotel/encoding/pcmu", "PCMU", Encoding::Mulaw},
  {"/exotel/encoding/audio-pcmu", "audio/pcmu", Encoding::Mulaw},
  {"/exotel/encoding/g711_ulaw", "g711_ulaw", Encoding::Mulaw},
  {"/exotel/encoding/unsupported-alaw", "audio/x-alaw", std::nullopt},
  {"/exotel/encoding/unsupported-pcma", "pcma", std::nullopt},
  {"/exotel/encoding/unsupported-opus", "opus", std::nullopt},
  {"/exotel/encoding/unsupported-slin-letters", "slinx", std::nullopt},
  {"/exotel/encoding/unsupported-slin-dash", "slin-16", std::nullopt},
  {"/exotel/encoding/unsupported-slin-digits-then-letter", "slin16k", std::nullopt},
  {"/exotel/encoding/unsupported-leading-space", " raw", std::nullopt},
  {"/exotel/encoding/unsupported-trailing-space", "raw ", std::nullopt},
  {"/exotel/encoding/unsupported-raw-with-nul", "raw\0"sv, std::nullopt},
  {"/exotel/encoding/unsupported-prefix", "audio/x-", std::nullopt},
};

void test_encoding(gconstpointer data) {
  const auto &c = *static_cast<const EncodingCase *>(data);
  std::optional<Encoding> got = encoding_from_name(c.name);
  g_assert_cmpint(got.has_value(), ==, c.want.has_value());
  if (c.want)
    g_assert_cmpint(static_cast<int>(*got), ==, static_cast<int>(*c.want));
}

// --- errors --------------------------------------------------------------

struct ErrorCase {
  const char *path;
  std::string_view text;
  const char *reason_contains;
};

const ErrorCase kErrorCases[] = {
  {"/exotel/error/empty-string", "", "not JSON"},
  {"/exotel/error/whitespace-only", " \n\t ", "not JSON"},
  {"/exotel/error/invalid-json", R"({"event":)", "not JSON"},
  {"/exotel/error/plain-text", "hello", "not JSON"},
  {"/exotel/error/trailing-garbage", R"({"event":"connected"}x)", "not JSON"},
  {"/exotel/error/unclosed-string", R"({"event":"connected)", "not JSON"},
  {"/exotel/error/array-top-level", R"([{"event":"connected"}])", "not a JSON object"},
  {"/exotel/error/string-top-level", R"("connected")", "not a JSON object"},
  {"/exotel/error/number-top-level", "42", "not a JSON object"},
  {"/exotel/error/null-top-level", "null", "not a JSON object"},
  {"/exotel/error/no-event", R"({"stream_sid":"s1"})", "no \"event\" field"},
  {"/exotel/error/event-null", R"({"event":null})", "no \"event\" field"},
  {"/exotel/error/event-number", R"({"event":1})", "\"event\" is not a string"},
  {"/exotel/error/event-bool", R"({"event":true})", "\"event\" is not a string"},
  {"/exotel/error/event-object", R"({"event":{"name":"start"}})", "\"event\" is not a string"},
  {"/exotel/error/event-array", R"({"event":["start"]})", "\"event\" is not a string"},
  {"/exotel/error/start-without-start", R"({"event":"start","stream_sid":"s1"})", "start"},
  {"/exotel/error/start-not-object", R"({"event":"start","start":"x"})", "start"},
  {"/exotel/error/start-is-array", R"({"event":"start","start":[]})", "start"},
  {"/exotel/error/unsupported-encoding",
   R"({"event":"start","start":{"media_format":{"encoding":"audio/x-alaw"}}})",
   "unsupported encoding \"audio/x-alaw\""},
  {"/exotel/error/unsupported-encoding-control-chars",
   R"({"event":"start","start":{"media_format":{"encoding":"a\nb\u0001c"}}})",
   "unsupported encoding \"a?b?c\""},
  {"/exotel/error/unsupported-encoding-long",
   R"({"event":"start","start":{"media_format":{"encoding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}})",
   "unsupported encoding \"xxxx"},
  {"/exotel/error/encoding-not-string",
   R"({"event":"start","start":{"media_format":{"encoding":16}}})", "encoding"},
  {"/exotel/error/media-format-not-object",
   R"({"event":"start","start":{"media_format":"raw"}})", "media_format"},
  {"/exotel/error/sample-rate-abc",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"abc"}}})",
   "sample_rate"},
  {"/exotel/error/sample-rate-zero",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":0}}})",
   "sample_rate"},
  {"/exotel/error/sample-rate-zero-string",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"0"}}})",
   "sample_rate"},
  {"/exotel/error/sample-rate-negative",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":-8000}}})",
   "sample_rate"},
  {"/exotel/error/sample-rate-negative-string",
   R"({"event":"start","start":{"media_format":{"encoding":"raw","sample_rate":"-8000"}}})",
   "sample_rate"},
  {"/exotel/error/sample-rate-too-high",
   R"({"event":"start","start":{"media_format":{"sample_rate":384001}}})", "sample_rate"},
  {"/exotel/error/sample-rate-huge",
   R"({"event":"start","start":{"media_format":{"sample_rate":"99999999999999999999999"}}})",
   "sample_rate"},
  {"/exotel/error/sample-rate-fraction",
   R"({"event":"start","start":{"media_format":{"sample_rate":8000.5}}})", "sample_rate"},
  {"/exotel/error/sample-rate-fraction-string",
   R"({"event":"start","start":{"media_format":{"sample_rate":"8000.0"}}})", "sample_rate"},
  {"/exotel/error/sample-rate-empty-string",
   R"({"event":"start","start":{"media_format":{"sample_rate":""}}})", "sample_rate"},
  {"/exotel/error/sample-rate-spaces",
   R"({"event":"start","start":{"media_format":{"sample_rate":" 8000"}}})", "sample_rate"},
  {"/exotel/error/sample-rate-bool",
   R"({"event":"start","start":{"media_format":{"sample_rate":true}}})", "sample_rate"},
  {"/exotel/error/sample-rate-object",
   R"({"event":"start","start":{"media_format":{"sample_rate":{"hz":8000}}}})", "sample_rate"},
  {"/exotel/error/bit-rate-abc",
   R"({"event":"start","start":{"media_format":{"bit_rate":"16k"}}})", "bit_rate"},
  {"/exotel/error/start-sequence-number-abc",
   R"({"event":"start","sequence_number":"one","start":{}})", "sequence_number"},
  {"/exotel/error/custom-parameters-not-object",
   R"({"event":"start","start":{"custom_parameters":["a","b"]}})", "custom_parameters"},
  {"/exotel/error/media-without-media", R"({"event":"media","stream_sid":"s1"})", "media"},
  {"/exotel/error/media-not-object", R"({"event":"media","media":"AAAA"})", "media"},
  {"/exotel/error/media-without-payload",
   R"({"event":"media","media":{"chunk":1,"timestamp":"100"}})", "payload"},
  {"/exotel/error/media-payload-number",
   R"({"event":"media","media":{"payload":1234}})", "payload"},
  {"/exotel/error/media-payload-null",
   R"({"event":"media","media":{"payload":null}})", "payload"},
  {"/exotel/error/media-payload-array",
   R"({"event":"media","media":{"payload":["AAAA"]}})", "payload"},
  {"/exotel/error/media-sequence-number-abc",
   R"({"event":"media","sequence_number":"x1","media":{"payload":"AAAA"}})",
   "sequence_number"},
  {"/exotel/error/media-chunk-abc",
   R"({"event":"media","media":{"chunk":"two","payload":"AAAA"}})", "chunk"},
  {"/exotel/error/media-timestamp-abc",
   R"({"event":"media","media":{"timestamp":"12:00","payload":"AAAA"}})", "timestamp"},
  {"/exotel/error/dtmf-without-dtmf", R"({"event":"dtmf"})", "dtmf"},
  {"/exotel/error/dtmf-without-digit", R"({"event":"dtmf","dtmf":{"duration":100}})", "digit"},
  {"/exotel/error/dtmf-digit-empty", R"({"event":"dtmf","dtmf":{"digit":""}})", "digit"},
  {"/exotel/error/dtmf-digit-object", R"({"event":"dtmf","dtmf":{"digit":{}}})", "digit"},
  {"/exotel/error/dtmf-duration-abc",
   R"({"event":"dtmf","dtmf":{"digit":"1","duration":"long"}})", "duration"},
  {"/exotel/error/dtmf-sequence-abc",
   R"({"event":"dtmf","sequence_number":"abc","dtmf":{"digit":"1"}})", "sequence_number"},
  {"/exotel/error/mark-sequence-abc",
   R"({"event":"mark","sequence_number":"abc","mark":{"name":"m"}})", "sequence_number"},
  {"/exotel/error/mark-without-mark", R"({"event":"mark","stream_sid":"s1"})", "name"},
  {"/exotel/error/mark-without-name", R"({"event":"mark","mark":{}})", "name"},
  {"/exotel/error/mark-name-number", R"({"event":"mark","mark":{"name":5}})", "name"},
  {"/exotel/error/binary-garbage", "\xff\xfe\x00\x01\x02garbage\x80\x81"sv, "not JSON"},
  {"/exotel/error/pcm-bytes", "\x00\x00\xff\x7f\x00\x80\x01\x00"sv, "not JSON"},
  {"/exotel/error/nul-after-object", "{\"event\":\"connected\"}\0"sv, "not JSON"},
  {"/exotel/error/nul-inside-string", "{\"event\":\"conn\0ected\"}"sv, "not JSON"},
  {"/exotel/error/invalid-utf8-in-string", "{\"event\":\"connected\xc3\"}"sv, "not JSON"},
};

void assert_error(const Message &message, const char *reason_contains) {
  const auto *error = std::get_if<ParseError>(&message);
  g_assert_nonnull(error);
  g_test_message("reason: %s", error->reason.c_str());
  g_assert_false(error->reason.empty());
  g_assert_cmpuint(error->reason.find('\n'), ==, std::string::npos);
  g_assert_cmpuint(error->reason.find('\0'), ==, std::string::npos);
  g_assert_nonnull(strstr(error->reason.c_str(), reason_contains));
}

void test_error(gconstpointer data) {
  const auto &c = *static_cast<const ErrorCase *>(data);
  assert_error(parse_message(c.text), c.reason_contains);
}

// json-glib 1.6 recurses per level: this must be refused, not crash.
void test_deep_nesting() {
  std::string brackets(1000000, '[');
  assert_error(parse_message(brackets), "nested too deeply");
  std::string objects = R"({"event":"connected","x":)";
  for (int i = 0; i < 100000; i++)
    objects += R"({"a":)";
  assert_error(parse_message(objects), "nested too deeply");
}

// Brackets inside strings are text, not nesting.
void test_brackets_in_strings() {
  std::string text = R"({"event":"mark","mark":{"name":")" + std::string(1000, '[') +
                     R"(\"{{{"}})";
  Message message = parse_message(text);
  const Mark &mark = expect<Mark>(message);
  assert_text_equal(mark.name, std::string(1000, '[') + "\"{{{");
}

// Every byte value alone and every prefix of a real frame: refused, never a crash.
void test_no_crash_on_fragments() {
  for (int byte = 0; byte < 256; byte++) {
    char c = static_cast<char>(byte);
    Message message = parse_message(std::string_view(&c, 1));
    g_assert_true(std::holds_alternative<ParseError>(message));
  }
  std::string_view frame = kStartCases[0].json;
  for (size_t length = 0; length < frame.size(); length++) {
    Message message = parse_message(frame.substr(0, length));
    g_assert_true(std::holds_alternative<ParseError>(message));
    g_assert_false(std::get<ParseError>(message).reason.empty());
  }
}

template <typename Case, size_t N>
void add_cases(const Case (&cases)[N], GTestDataFunc test) {
  for (const Case &c : cases)
    g_test_add_data_func(c.path, &c, test);
}

}  // namespace

#pragma GCC diagnostic pop

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  add_cases(kEventCases, test_event);
  add_cases(kStartCases, test_start);
  add_cases(kMediaCases, test_media);
  add_cases(kDtmfCases, test_dtmf);
  add_cases(kMarkCases, test_mark);
  add_cases(kStopCases, test_stop);
  add_cases(kEncodingCases, test_encoding);
  add_cases(kErrorCases, test_error);
  g_test_add_func("/exotel/error/deep-nesting", test_deep_nesting);
  g_test_add_func("/exotel/mark/brackets-in-name", test_brackets_in_strings);
  g_test_add_func("/exotel/error/no-crash-on-fragments", test_no_crash_on_fragments);
  return g_test_run();
}
