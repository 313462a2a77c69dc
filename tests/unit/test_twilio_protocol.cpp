// Every Twilio Media Streams message variant of shared PROTOCOLS.md section 2,
// parsed and compared field by field, byte-exact; and every way a frame can be
// refused.
#include "protocol/twilio.h"

#include "protocol_test_support.h"

#include <glib.h>

#include <cstring>
#include <string>
#include <string_view>

using namespace std::string_view_literals;
using namespace callstream::twilio;

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

// --- connected -------------------------------------------------------------

struct ConnectedCase {
  const char *path;
  std::string_view json;
  Connected want;
};

const ConnectedCase kConnectedCases[] = {
  {"/twilio/connected/documented",
   R"({"event":"connected","protocol":"Call","version":"1.0.0"})",
   {.protocol = "Call", .version = "1.0.0"}},
  {"/twilio/connected/bare", R"({"event":"connected"})", {}},
  {"/twilio/connected/null-fields",
   R"({"event":"connected","protocol":null,"version":null})", {}},
  {"/twilio/connected/version-number",
   R"({"event":"connected","protocol":"Call","version":2})",
   {.protocol = "Call", .version = "2"}},
  {"/twilio/connected/whitespace-around",
   " \n{ \"event\" : \"connected\", \"protocol\" : \"Call\" }\r\n",
   {.protocol = "Call"}},
};

void test_connected(gconstpointer data) {
  const auto &c = *static_cast<const ConnectedCase *>(data);
  Message message = parse_message(c.json);
  const Connected &got = expect<Connected>(message);
  assert_text_equal(got.protocol, c.want.protocol);
  assert_text_equal(got.version, c.want.version);
}

// --- start -------------------------------------------------------------------

struct StartCase {
  const char *path;
  std::string_view json;
  Start want;
};

const StartCase kStartCases[] = {
  {"/twilio/start/documented",
   R"({"event":"start","sequenceNumber":"1",
       "start":{"accountSid":"AC123","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0",
                "callSid":"CA456","tracks":["inbound"],
                "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},
                "customParameters":{"FirstName":"Jane","LastName":"Doe"}},
       "streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})",
   {.sequence_number = 1, .stream_sid = "MZ18ad3ab5a668481ce02b83e7395059f0",
    .account_sid = "AC123", .call_sid = "CA456", .tracks = {"inbound"},
    .custom_parameters = {{"FirstName", "Jane"}, {"LastName", "Doe"}},
    .media_format = {Encoding::Mulaw, "audio/x-mulaw", 8000, 1}}},
  {"/twilio/start/both-tracks",
   R"({"event":"start","sequenceNumber":"1","streamSid":"MZ2",
       "start":{"accountSid":"AC1","streamSid":"MZ2","callSid":"CA2",
                "tracks":["inbound","outbound"],
                "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}})",
   {.sequence_number = 1, .stream_sid = "MZ2", .account_sid = "AC1", .call_sid = "CA2",
    .tracks = {"inbound", "outbound"},
    .media_format = {Encoding::Mulaw, "audio/x-mulaw", 8000, 1}}},
  {"/twilio/start/tracks-kept-as-sent",
   R"({"event":"start","start":{"tracks":["outbound","inbound_track",""]}})",
   {.tracks = {"outbound", "inbound_track", ""}}},
  {"/twilio/start/tracks-empty",
   R"({"event":"start","start":{"tracks":[]}})",
   {}},
  {"/twilio/start/tracks-null",
   R"({"event":"start","start":{"tracks":null}})",
   {}},
  {"/twilio/start/numbers-as-numbers",
   R"({"event":"start","sequenceNumber":1,"streamSid":"MZ3",
       "start":{"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":"8000","channels":"1"}}})",
   {.sequence_number = 1, .stream_sid = "MZ3",
    .media_format = {Encoding::Mulaw, "audio/x-mulaw", 8000, 1}}},
  {"/twilio/start/snake-case",
   R"({"event":"start","sequence_number":"2","stream_sid":"MZ4",
       "start":{"account_sid":"AC4","call_sid":"CA4","tracks":["inbound"],
                "custom_parameters":{"k":"v"},
                "media_format":{"encoding":"mulaw","sample_rate":8000,"channels":1}}})",
   {.sequence_number = 2, .stream_sid = "MZ4", .account_sid = "AC4", .call_sid = "CA4",
    .tracks = {"inbound"}, .custom_parameters = {{"k", "v"}},
    .media_format = {Encoding::Mulaw, "mulaw", 8000, 1}}},
  {"/twilio/start/camel-case-wins-over-snake",
   R"({"event":"start","streamSid":"camel","stream_sid":"snake","start":{}})",
   {.stream_sid = "camel"}},
  {"/twilio/start/stream-sid-nested-only",
   R"({"event":"start","start":{"streamSid":"MZnested","callSid":"CA"}})",
   {.stream_sid = "MZnested", .call_sid = "CA"}},
  {"/twilio/start/call-sid-top-level",
   R"({"event":"start","callSid":"CAtop","accountSid":"ACtop","start":{}})",
   {.account_sid = "ACtop", .call_sid = "CAtop"}},
  {"/twilio/start/missing-media-format-is-mulaw-8k-mono",
   R"({"event":"start","streamSid":"MZ5","start":{"callSid":"CA5"}})",
   {.stream_sid = "MZ5", .call_sid = "CA5",
    .media_format = {Encoding::Mulaw, "", 8000, 1}}},
  {"/twilio/start/empty-media-format",
   R"({"event":"start","start":{"mediaFormat":{}}})",
   {}},
  {"/twilio/start/null-optional-fields",
   R"({"event":"start","sequenceNumber":null,"streamSid":null,
       "start":{"callSid":null,"customParameters":null,"mediaFormat":null}})",
   {}},
  {"/twilio/start/encoding-pcmu",
   R"({"event":"start","start":{"mediaFormat":{"encoding":"PCMU"}}})",
   {.media_format = {Encoding::Mulaw, "PCMU", 8000, 1}}},
  {"/twilio/start/encoding-upper-case-kept-as-sent",
   R"({"event":"start","start":{"mediaFormat":{"encoding":"Audio/X-MULAW"}}})",
   {.media_format = {Encoding::Mulaw, "Audio/X-MULAW", 8000, 1}}},
  {"/twilio/start/encoding-unsupported-still-parses",
   R"({"event":"start","streamSid":"MZ6",
       "start":{"mediaFormat":{"encoding":"audio/x-alaw","sampleRate":8000,"channels":1}}})",
   {.stream_sid = "MZ6", .media_format = {std::nullopt, "audio/x-alaw", 8000, 1}}},
  {"/twilio/start/encoding-pcm16-unsupported",
   R"({"event":"start","start":{"mediaFormat":{"encoding":"audio/l16","sampleRate":16000}}})",
   {.media_format = {std::nullopt, "audio/l16", 16000, 1}}},
  {"/twilio/start/stereo-and-16k-reported",
   R"({"event":"start","start":{"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":16000,"channels":2}}})",
   {.media_format = {Encoding::Mulaw, "audio/x-mulaw", 16000, 2}}},
  {"/twilio/start/bounds",
   R"({"event":"start","start":{"mediaFormat":{"sampleRate":"384000","channels":64}}})",
   {.media_format = {Encoding::Mulaw, "", 384000, 64}}},
  {"/twilio/start/custom-parameters-values-and-order",
   R"({"event":"start","start":{"customParameters":{
       "zeta":"first","alpha":2,"mid":true,"ratio":1.5,"whole":3.0,"nothing":null,
       "obj":{"a":1},"empty":""}}})",
   {.custom_parameters = {{"zeta", "first"}, {"alpha", "2"}, {"mid", "true"},
                          {"ratio", "1.5"}, {"whole", "3"}, {"nothing", ""},
                          {"obj", R"({"a":1})"}, {"empty", ""}}}},
  {"/twilio/start/custom-parameters-utf8",
   R"({"event":"start","start":{"customParameters":{"name":"Zoë","q":"a\"b\\c"}}})",
   {.custom_parameters = {{"name", "Zo\xc3\xab"}, {"q", "a\"b\\c"}}}},
  {"/twilio/start/numeric-ids-as-text",
   R"({"event":"start","streamSid":12345,"start":{"callSid":678}})",
   {.stream_sid = "12345", .call_sid = "678"}},
  {"/twilio/start/extra-fields-ignored",
   R"({"event":"start","unknown":[1,2],"start":{"from":"+1555","streamSid":"s"}})",
   {.stream_sid = "s"}},
};

void test_start(gconstpointer data) {
  const auto &c = *static_cast<const StartCase *>(data);
  Message message = parse_message(c.json);
  const Start &got = expect<Start>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.account_sid, c.want.account_sid);
  assert_text_equal(got.call_sid, c.want.call_sid);
  g_assert_cmpuint(got.tracks.size(), ==, c.want.tracks.size());
  for (size_t i = 0; i < got.tracks.size(); i++)
    assert_text_equal(got.tracks[i], c.want.tracks[i]);
  g_assert_cmpuint(got.custom_parameters.size(), ==, c.want.custom_parameters.size());
  for (size_t i = 0; i < got.custom_parameters.size(); i++) {
    assert_text_equal(got.custom_parameters[i].first, c.want.custom_parameters[i].first);
    assert_text_equal(got.custom_parameters[i].second, c.want.custom_parameters[i].second);
  }
  const MediaFormat &format = got.media_format;
  g_assert_cmpint(format.encoding.has_value(), ==, c.want.media_format.encoding.has_value());
  if (c.want.media_format.encoding)
    g_assert_cmpint(static_cast<int>(*format.encoding), ==,
                    static_cast<int>(*c.want.media_format.encoding));
  assert_text_equal(format.encoding_name, c.want.media_format.encoding_name);
  g_assert_cmpint(format.sample_rate, ==, c.want.media_format.sample_rate);
  g_assert_cmpint(format.channels, ==, c.want.media_format.channels);
}

// --- media -------------------------------------------------------------------

struct MediaCase {
  const char *path;
  std::string_view json;
  Media want;
};

const MediaCase kMediaCases[] = {
  {"/twilio/media/documented-inbound",
   R"({"event":"media","sequenceNumber":"3",
       "media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"no+JhoaJjpzSHxAKBgYJ"},
       "streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})",
   {.sequence_number = 3, .stream_sid = "MZ18ad3ab5a668481ce02b83e7395059f0",
    .track = "inbound", .chunk = 1, .timestamp_ms = 5, .payload = "no+JhoaJjpzSHxAKBgYJ"}},
  {"/twilio/media/outbound",
   R"({"event":"media","sequenceNumber":"4","streamSid":"MZ1",
       "media":{"track":"outbound","chunk":"2","timestamp":"25","payload":"//8="}})",
   {.sequence_number = 4, .stream_sid = "MZ1", .track = "outbound", .chunk = 2,
    .timestamp_ms = 25, .payload = "//8="}},
  {"/twilio/media/track-absent-is-inbound",
   R"({"event":"media","streamSid":"MZ1","media":{"payload":"AAAA"}})",
   {.stream_sid = "MZ1", .track = "inbound", .payload = "AAAA"}},
  {"/twilio/media/track-null-is-inbound",
   R"({"event":"media","media":{"track":null,"payload":"AAAA"}})",
   {.track = "inbound", .payload = "AAAA"}},
  {"/twilio/media/track-kept-as-sent",
   R"({"event":"media","media":{"track":"inbound_track","payload":"AAAA"}})",
   {.track = "inbound_track", .payload = "AAAA"}},
  {"/twilio/media/numbers-as-numbers",
   R"({"event":"media","sequenceNumber":5,"streamSid":"MZ1",
       "media":{"track":"inbound","chunk":3,"timestamp":45,"payload":"AAAA"}})",
   {.sequence_number = 5, .stream_sid = "MZ1", .track = "inbound", .chunk = 3,
    .timestamp_ms = 45, .payload = "AAAA"}},
  {"/twilio/media/snake-case",
   R"({"event":"media","sequence_number":"6","stream_sid":"MZ1",
       "media":{"chunk":"4","timestamp":"3600000","payload":"AQID"}})",
   {.sequence_number = 6, .stream_sid = "MZ1", .chunk = 4, .timestamp_ms = 3600000,
    .payload = "AQID"}},
  {"/twilio/media/empty-payload",
   R"({"event":"media","media":{"payload":""}})",
   {.payload = ""}},
  {"/twilio/media/payload-kept-encoded",
   R"({"event":"media","media":{"payload":"not base64 at all!"}})",
   {.payload = "not base64 at all!"}},
  {"/twilio/media/large-sequence-number",
   R"({"event":"media","sequenceNumber":"9007199254740993","media":{"payload":"AAAA"}})",
   {.sequence_number = 9007199254740993, .payload = "AAAA"}},
};

void test_media(gconstpointer data) {
  const auto &c = *static_cast<const MediaCase *>(data);
  Message message = parse_message(c.json);
  const Media &got = expect<Media>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.track, c.want.track);
  assert_optional_equal(got.chunk, c.want.chunk);
  assert_optional_equal(got.timestamp_ms, c.want.timestamp_ms);
  assert_text_equal(got.payload, c.want.payload);
}

// --- dtmf --------------------------------------------------------------------

struct DtmfCase {
  const char *path;
  std::string_view json;
  Dtmf want;
};

const DtmfCase kDtmfCases[] = {
  {"/twilio/dtmf/documented",
   R"({"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5",
       "dtmf":{"track":"inbound_track","digit":"1"}})",
   {.sequence_number = 5, .stream_sid = "MZ1", .track = "inbound_track", .digit = "1"}},
  {"/twilio/dtmf/hash-without-track",
   R"({"event":"dtmf","streamSid":"MZ1","dtmf":{"digit":"#"}})",
   {.stream_sid = "MZ1", .digit = "#"}},
  {"/twilio/dtmf/digit-number",
   R"({"event":"dtmf","sequenceNumber":6,"dtmf":{"track":"inbound_track","digit":7}})",
   {.sequence_number = 6, .track = "inbound_track", .digit = "7"}},
  {"/twilio/dtmf/star-snake-case",
   R"({"event":"dtmf","stream_sid":"MZ2","sequence_number":"7","dtmf":{"digit":"*"}})",
   {.sequence_number = 7, .stream_sid = "MZ2", .digit = "*"}},
};

void test_dtmf(gconstpointer data) {
  const auto &c = *static_cast<const DtmfCase *>(data);
  Message message = parse_message(c.json);
  const Dtmf &got = expect<Dtmf>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.track, c.want.track);
  assert_text_equal(got.digit, c.want.digit);
}

// --- mark --------------------------------------------------------------------

struct MarkCase {
  const char *path;
  std::string_view json;
  Mark want;
};

const MarkCase kMarkCases[] = {
  {"/twilio/mark/documented",
   R"({"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"my label"}})",
   {.sequence_number = 4, .stream_sid = "MZ1", .name = "my label"}},
  {"/twilio/mark/snake-case",
   R"({"event":"mark","stream_sid":"MZ2","mark":{"name":"item_abc:1200"}})",
   {.stream_sid = "MZ2", .name = "item_abc:1200"}},
  {"/twilio/mark/empty-name",
   R"({"event":"mark","streamSid":"MZ1","mark":{"name":""}})",
   {.stream_sid = "MZ1", .name = ""}},
  {"/twilio/mark/escaped-name",
   R"({"event":"mark","mark":{"name":"a\"b\\c\nd\u0001"}})",
   {.name = "a\"b\\c\nd\x01"}},
};

void test_mark(gconstpointer data) {
  const auto &c = *static_cast<const MarkCase *>(data);
  Message message = parse_message(c.json);
  const Mark &got = expect<Mark>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.name, c.want.name);
}

// --- stop --------------------------------------------------------------------

struct StopCase {
  const char *path;
  std::string_view json;
  Stop want;
};

const StopCase kStopCases[] = {
  {"/twilio/stop/documented",
   R"({"event":"stop","sequenceNumber":"5","streamSid":"MZ1",
       "stop":{"accountSid":"AC1","callSid":"CA1"}})",
   {.sequence_number = 5, .stream_sid = "MZ1", .account_sid = "AC1", .call_sid = "CA1"}},
  {"/twilio/stop/snake-case",
   R"({"event":"stop","stream_sid":"MZ3","stop":{"account_sid":"AC3","call_sid":"CA3"}})",
   {.stream_sid = "MZ3", .account_sid = "AC3", .call_sid = "CA3"}},
  {"/twilio/stop/bad-sequence-still-stops",
   R"({"event":"stop","sequenceNumber":"x","streamSid":"MZ6"})",
   {.stream_sid = "MZ6"}},
  {"/twilio/stop/without-stop-object",
   R"({"event":"stop","streamSid":"MZ4"})",
   {.stream_sid = "MZ4"}},
  {"/twilio/stop/stop-not-an-object",
   R"({"event":"stop","streamSid":"MZ5","stop":"bye"})",
   {.stream_sid = "MZ5"}},
};

void test_stop(gconstpointer data) {
  const auto &c = *static_cast<const StopCase *>(data);
  Message message = parse_message(c.json);
  const Stop &got = expect<Stop>(message);
  assert_optional_equal(got.sequence_number, c.want.sequence_number);
  assert_text_equal(got.stream_sid, c.want.stream_sid);
  assert_text_equal(got.account_sid, c.want.account_sid);
  assert_text_equal(got.call_sid, c.want.call_sid);
}

// --- unknown events ------------------------------------------------------------

struct UnknownCase {
  const char *path;
  std::string_view json;
  std::string_view event;
};

const UnknownCase kUnknownCases[] = {
  // What we send; Twilio never does, but an echo must not be a media frame.
  {"/twilio/unknown/clear", R"({"event":"clear","streamSid":"MZ1"})", "clear"},
  {"/twilio/unknown/empty-event", R"({"event":""})", ""},
  {"/twilio/unknown/event-names-are-case-sensitive", R"({"event":"Media"})", "Media"},
  {"/twilio/unknown/future-event",
   R"({"event":"transcription","transcription":{"text":"hi"}})", "transcription"},
};

void test_unknown(gconstpointer data) {
  const auto &c = *static_cast<const UnknownCase *>(data);
  Message message = parse_message(c.json);
  const Unknown &got = expect<Unknown>(message);
  assert_text_equal(got.event, std::string(c.event));
}

// --- encoding names ------------------------------------------------------------

struct EncodingCase {
  const char *path;
  std::string_view name;
  std::optional<Encoding> want;
};

const EncodingCase kEncodingCases[] = {
  {"/twilio/encoding/empty-is-mulaw", "", Encoding::Mulaw},
  {"/twilio/encoding/audio-x-mulaw", "audio/x-mulaw", Encoding::Mulaw},
  {"/twilio/encoding/audio-x-mulaw-upper", "AUDIO/X-MULAW", Encoding::Mulaw},
  {"/twilio/encoding/mulaw", "mulaw", Encoding::Mulaw},
  {"/twilio/encoding/ulaw", "uLaw", Encoding::Mulaw},
  {"/twilio/encoding/pcmu", "pcmu", Encoding::Mulaw},
  {"/twilio/encoding/pcmu-upper", "PCMU", Encoding::Mulaw},
  {"/twilio/encoding/audio-pcmu", "audio/pcmu", Encoding::Mulaw},
  {"/twilio/encoding/g711_ulaw", "g711_ulaw", Encoding::Mulaw},
  {"/twilio/encoding/unsupported-alaw", "audio/x-alaw", std::nullopt},
  {"/twilio/encoding/unsupported-pcma", "pcma", std::nullopt},
  {"/twilio/encoding/unsupported-raw", "raw", std::nullopt},
  {"/twilio/encoding/unsupported-l16", "audio/l16", std::nullopt},
  {"/twilio/encoding/unsupported-trailing-space", "mulaw ", std::nullopt},
  {"/twilio/encoding/unsupported-with-nul", "mulaw\0"sv, std::nullopt},
};

void test_encoding(gconstpointer data) {
  const auto &c = *static_cast<const EncodingCase *>(data);
  std::optional<Encoding> got = encoding_from_name(c.name);
  g_assert_cmpint(got.has_value(), ==, c.want.has_value());
  if (c.want)
    g_assert_cmpint(static_cast<int>(*got), ==, static_cast<int>(*c.want));
}

// --- errors ------------------------------------------------------------------

struct ErrorCase {
  const char *path;
  std::string_view text;
  std::string_view reason;  // the whole reason, byte for byte
};

const ErrorCase kErrorCases[] = {
  {"/twilio/error/empty-string", "", "not JSON: empty text"},
  {"/twilio/error/nul-byte", "{\"event\":\"connected\"}\0"sv, "not JSON: NUL byte in text"},
  {"/twilio/error/array-top-level", R"([{"event":"connected"}])", "not a JSON object"},
  {"/twilio/error/string-top-level", R"("media")", "not a JSON object"},
  {"/twilio/error/no-event", R"({"streamSid":"MZ1"})", "no \"event\" field"},
  {"/twilio/error/event-null", R"({"event":null})", "no \"event\" field"},
  {"/twilio/error/event-number", R"({"event":1})", "\"event\" is not a string"},
  {"/twilio/error/start-without-start", R"({"event":"start","streamSid":"MZ1"})",
   "start without a \"start\" object"},
  {"/twilio/error/start-not-object", R"({"event":"start","start":"x"})",
   "start without a \"start\" object"},
  {"/twilio/error/start-sequence-number-abc",
   R"({"event":"start","sequenceNumber":"abc","start":{}})", "sequenceNumber is not an integer"},
  {"/twilio/error/tracks-not-array",
   R"({"event":"start","start":{"tracks":"inbound"}})", "tracks is not an array"},
  {"/twilio/error/tracks-holds-number",
   R"({"event":"start","start":{"tracks":["inbound",1]}})",
   "tracks holds something other than a string"},
  {"/twilio/error/custom-parameters-not-object",
   R"({"event":"start","start":{"customParameters":["a"]}})",
   "customParameters is not an object"},
  {"/twilio/error/media-format-not-object",
   R"({"event":"start","start":{"mediaFormat":"audio/x-mulaw"}})",
   "mediaFormat is not an object"},
  {"/twilio/error/encoding-not-string",
   R"({"event":"start","start":{"mediaFormat":{"encoding":0}}})", "encoding is not a string"},
  {"/twilio/error/sample-rate-abc",
   R"({"event":"start","start":{"mediaFormat":{"sampleRate":"8k"}}})",
   "sampleRate is not an integer"},
  {"/twilio/error/sample-rate-zero",
   R"({"event":"start","start":{"mediaFormat":{"sampleRate":0}}})",
   "sampleRate 0 is outside 1..384000"},
  {"/twilio/error/sample-rate-too-high",
   R"({"event":"start","start":{"mediaFormat":{"sample_rate":"384001"}}})",
   "sampleRate 384001 is outside 1..384000"},
  {"/twilio/error/channels-zero",
   R"({"event":"start","start":{"mediaFormat":{"channels":0}}})",
   "channels 0 is outside 1..64"},
  {"/twilio/error/channels-fraction",
   R"({"event":"start","start":{"mediaFormat":{"channels":1.5}}})",
   "channels is not an integer"},
  {"/twilio/error/media-without-media", R"({"event":"media","streamSid":"MZ1"})",
   "media without a \"media\" object"},
  {"/twilio/error/media-without-payload",
   R"({"event":"media","media":{"track":"inbound","chunk":"1","timestamp":"5"}})",
   "media without a \"payload\" string"},
  {"/twilio/error/media-payload-number",
   R"({"event":"media","media":{"payload":1234}})", "media without a \"payload\" string"},
  {"/twilio/error/media-payload-null",
   R"({"event":"media","media":{"payload":null}})", "media without a \"payload\" string"},
  {"/twilio/error/media-payload-array",
   R"({"event":"media","media":{"payload":["AAAA"]}})", "media without a \"payload\" string"},
  {"/twilio/error/media-track-number",
   R"({"event":"media","media":{"track":1,"payload":"AAAA"}})",
   "media \"track\" is not a string"},
  {"/twilio/error/media-sequence-number-abc",
   R"({"event":"media","sequenceNumber":"abc","media":{"payload":"AAAA"}})",
   "sequenceNumber is not an integer"},
  {"/twilio/error/media-chunk-abc",
   R"({"event":"media","media":{"chunk":"one","payload":"AAAA"}})", "chunk is not an integer"},
  {"/twilio/error/media-timestamp-abc",
   R"({"event":"media","media":{"timestamp":"5ms","payload":"AAAA"}})",
   "timestamp is not an integer"},
  {"/twilio/error/dtmf-without-dtmf", R"({"event":"dtmf"})", "dtmf without a \"dtmf\" object"},
  {"/twilio/error/dtmf-without-digit",
   R"({"event":"dtmf","dtmf":{"track":"inbound_track"}})", "dtmf without a \"digit\""},
  {"/twilio/error/dtmf-digit-empty", R"({"event":"dtmf","dtmf":{"digit":""}})",
   "dtmf with an empty \"digit\""},
  {"/twilio/error/dtmf-sequence-abc",
   R"({"event":"dtmf","sequenceNumber":"abc","dtmf":{"digit":"1"}})",
   "sequenceNumber is not an integer"},
  {"/twilio/error/mark-without-mark", R"({"event":"mark","streamSid":"MZ1"})",
   "mark without a \"name\" string"},
  {"/twilio/error/mark-name-number", R"({"event":"mark","mark":{"name":5}})",
   "mark without a \"name\" string"},
  {"/twilio/error/mark-sequence-abc",
   R"({"event":"mark","sequenceNumber":"abc","mark":{"name":"m"}})",
   "sequenceNumber is not an integer"},
};

void assert_error(const Message &message, std::string_view prefix, bool whole) {
  const auto *error = std::get_if<ParseError>(&message);
  g_assert_nonnull(error);
  g_test_message("reason: %s", error->reason.c_str());
  g_assert_cmpuint(error->reason.find('\n'), ==, std::string::npos);
  g_assert_cmpuint(error->reason.find('\0'), ==, std::string::npos);
  std::string_view got = error->reason;
  if (!whole)
    got = got.substr(0, prefix.size());
  g_assert_cmpmem(got.data(), got.size(), prefix.data(), prefix.size());
}

void test_error(gconstpointer data) {
  const auto &c = *static_cast<const ErrorCase *>(data);
  assert_error(parse_message(c.text), c.reason, true);
}

// json-glib's own messages are not ours to pin down: only the prefix is.
struct InvalidJsonCase {
  const char *path;
  std::string_view text;
};

const InvalidJsonCase kInvalidJsonCases[] = {
  {"/twilio/error/invalid-json", R"({"event":)"},
  {"/twilio/error/plain-text", "hello"},
  {"/twilio/error/trailing-garbage", R"({"event":"connected"}x)"},
  {"/twilio/error/whitespace-only", " \n\t "},
  {"/twilio/error/binary-garbage", "\xff\xfe\x01\x02garbage\x80\x81"},
  {"/twilio/error/invalid-utf8-in-string", "{\"event\":\"media\xc3\"}"},
};

void test_invalid_json(gconstpointer data) {
  const auto &c = *static_cast<const InvalidJsonCase *>(data);
  assert_error(parse_message(c.text), "not JSON: ", false);
}

// json-glib 1.6 recurses per level: this must be refused, not crash.
void test_deep_nesting() {
  std::string brackets(1000000, '[');
  assert_error(parse_message(brackets), "not JSON: nested too deeply", true);
  std::string objects = R"({"event":"start","start":{"customParameters":)";
  for (int i = 0; i < 100000; i++)
    objects += R"({"a":)";
  assert_error(parse_message(objects), "not JSON: nested too deeply", true);
}

// Every prefix of a real frame: refused, never a crash.
void test_no_crash_on_fragments() {
  std::string_view frame = kMediaCases[0].json;
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
  add_cases(kConnectedCases, test_connected);
  add_cases(kStartCases, test_start);
  add_cases(kMediaCases, test_media);
  add_cases(kDtmfCases, test_dtmf);
  add_cases(kMarkCases, test_mark);
  add_cases(kStopCases, test_stop);
  add_cases(kUnknownCases, test_unknown);
  add_cases(kEncodingCases, test_encoding);
  add_cases(kErrorCases, test_error);
  add_cases(kInvalidJsonCases, test_invalid_json);
  g_test_add_func("/twilio/error/deep-nesting", test_deep_nesting);
  g_test_add_func("/twilio/error/no-crash-on-fragments", test_no_crash_on_fragments);
  return g_test_run();
}
