// The simdjson fast path for media frames and mark echoes: which texts it
// reads itself, and that for those it reads exactly what json-glib reads, for
// both providers; every text it declines is still parsed (by json-glib) with
// the same answer.
#include <glib.h>

#include <string>
#include <variant>

#include "protocol/exotel.h"
#include "protocol/plain_media.h"
#include "protocol/twilio.h"
#include "protocol_test_support.h"

namespace {

using callstream::plain_media::PlainMark;
using callstream::plain_media::PlainMedia;
using protocol_test::assert_optional_equal;
using protocol_test::assert_text_equal;

// What the fast path reads a text as (PlainMessage's index + 1), if at all.
enum Plain { kDeclined, kMedia, kMark };

struct Case {
  const char *path;
  const char *text;
  Plain plain;
};

constexpr Case kCases[] = {
  {"/plain-media/exotel-shape",
   R"({"event":"media","sequence_number":"3","stream_sid":"MZ1","media":{"chunk":"2","timestamp":"40","payload":"AAAA"}})",
   kMedia},
  {"/plain-media/twilio-shape",
   R"({"event":"media","sequenceNumber":"4","media":{"track":"outbound","chunk":"2","timestamp":"5","payload":"fn5+"},"streamSid":"MZ2"})",
   kMedia},
  {"/plain-media/json-integers",
   R"({"event":"media","sequence_number":3,"media":{"chunk":-2,"timestamp":0,"payload":"AAAA"}})",
   kMedia},
  {"/plain-media/only-payload", R"({"event":"media","media":{"payload":""}})", kMedia},
  {"/plain-media/stream-sid-in-media",
   R"({"event":"media","stream_sid":"","media":{"streamSid":"MZ3","payload":"AAAA"}})",
   kMedia},
  {"/plain-media/escaped-keys-and-values",
   R"({"ev\u0065nt":"media","media":{"payl\u006fad":"AA\/AA"}})", kMedia},
  {"/plain-media/whitespace", " {\n \"event\" : \"media\" , \"media\" : { \"payload\" : \"AAAA\" } } \n",
   kMedia},
  // Declined: json-glib decides (the answers differ from "Media" or need
  // json-glib's own reading).
  {"/plain-media/declines-other-events", R"({"event":"stop","stop":{}})", kDeclined},
  {"/plain-media/declines-unknown-key",
   R"({"event":"media","extra":[1],"media":{"payload":"AAAA"}})", kDeclined},
  {"/plain-media/declines-unknown-media-key",
   R"({"event":"media","media":{"payload":"AAAA","x":1}})", kDeclined},
  {"/plain-media/declines-repeated-key",
   R"({"event":"media","media":{"payload":"AAAA"},"media":{"payload":"BBBB"}})", kDeclined},
  {"/plain-media/declines-two-spellings",
   R"({"event":"media","sequence_number":1,"sequenceNumber":2,"media":{"payload":"AAAA"}})",
   kDeclined},
  {"/plain-media/declines-null", R"({"event":"media","stream_sid":null,"media":{"payload":"AAAA"}})",
   kDeclined},
  {"/plain-media/declines-double", R"({"event":"media","sequence_number":1.0,"media":{"payload":"AAAA"}})",
   kDeclined},
  {"/plain-media/declines-exponent-string",
   R"({"event":"media","sequence_number":"1e2","media":{"payload":"AAAA"}})", kDeclined},
  {"/plain-media/declines-huge-number",
   R"({"event":"media","sequence_number":99999999999999999999,"media":{"payload":"AAAA"}})",
   kDeclined},
  {"/plain-media/declines-escaped-nul", R"({"event":"media","media":{"payload":"AA\u0000AA"}})",
   kDeclined},
  {"/plain-media/declines-trailing-bytes", R"({"event":"media","media":{"payload":"AAAA"}} {})",
   kDeclined},
  {"/plain-media/declines-truncated", R"({"event":"media","media":{"payload":"AAAA"})", kDeclined},
  {"/plain-media/declines-no-payload", R"({"event":"media","media":{"chunk":1}})", kDeclined},
  {"/plain-media/declines-numeric-sid",
   R"({"event":"media","stream_sid":12,"media":{"payload":"AAAA"}})", kDeclined},
  {"/plain-media/declines-bad-utf8", "{\"event\":\"media\",\"media\":{\"payload\":\"A\xff\"}}", kDeclined},
  {"/plain-media/declines-empty", "", kDeclined},
  // Marks, the echo of every chunk a sink sends.
  {"/plain-media/twilio-mark",
   R"({"event":"mark","sequenceNumber":"4","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","mark":{"name":"chunk-3"}})",
   kMark},
  {"/plain-media/exotel-mark",
   R"({"event":"mark","sequence_number":"5","stream_sid":"MZ1","mark":{"name":"m1"}})", kMark},
  {"/plain-media/mark-json-integer", R"({"event":"mark","sequenceNumber":-7,"mark":{"name":"a"}})",
   kMark},
  {"/plain-media/mark-only-name", R"({"event":"mark","mark":{"name":""}})", kMark},
  {"/plain-media/mark-stream-sid-in-mark",
   R"({"event":"mark","streamSid":"","mark":{"stream_sid":"MZ3","name":"a"}})", kMark},
  {"/plain-media/mark-keys-in-any-order",
   R"({"mark":{"name":"a","streamSid":"MZ4"},"streamSid":"MZ5","event":"mark","sequenceNumber":"7"})",
   kMark},
  {"/plain-media/mark-escapes",
   R"({"ev\u0065nt":"m\u0061rk","mark":{"n\u0061me":"caf\u00e9 \"1\"\/\ud83d\ude00"}})", kMark},
  {"/plain-media/mark-whitespace", "\t{ \"event\" : \"mark\" ,\n\"mark\" : { \"name\" : \"a\" } }\r\n",
   kMark},
  {"/plain-media/declines-mark-unknown-key",
   R"({"event":"mark","mark":{"name":"a"},"extra":{}})", kDeclined},
  {"/plain-media/declines-mark-unknown-mark-key",
   R"({"event":"mark","mark":{"name":"a","x":true}})", kDeclined},
  {"/plain-media/declines-mark-with-media",
   R"({"event":"mark","mark":{"name":"a"},"media":{"payload":"AAAA"}})", kDeclined},
  {"/plain-media/declines-media-with-mark",
   R"({"event":"media","media":{"payload":"AAAA"},"mark":{"name":"a"}})", kDeclined},
  {"/plain-media/declines-mark-without-name", R"({"event":"mark","mark":{}})", kDeclined},
  {"/plain-media/declines-mark-numeric-name", R"({"event":"mark","mark":{"name":5}})", kDeclined},
  {"/plain-media/declines-mark-null-name", R"({"event":"mark","mark":{"name":null}})", kDeclined},
  {"/plain-media/declines-mark-not-an-object", R"({"event":"mark","mark":"a"})", kDeclined},
  {"/plain-media/declines-mark-without-mark", R"({"event":"mark","streamSid":"MZ"})", kDeclined},
  {"/plain-media/declines-mark-repeated-name", R"({"event":"mark","mark":{"name":"a","name":"b"}})",
   kDeclined},
  {"/plain-media/declines-mark-repeated-mark",
   R"({"event":"mark","mark":{"name":"a"},"mark":{"name":"b"}})", kDeclined},
  {"/plain-media/declines-mark-two-spellings",
   R"({"event":"mark","streamSid":"A","stream_sid":"B","mark":{"name":"a"}})", kDeclined},
  {"/plain-media/declines-mark-bad-sequence",
   R"({"event":"mark","sequenceNumber":"4x","mark":{"name":"a"}})", kDeclined},
  {"/plain-media/declines-mark-double-sequence",
   R"({"event":"mark","sequenceNumber":4.0,"mark":{"name":"a"}})", kDeclined},
  {"/plain-media/declines-mark-numeric-sid", R"({"event":"mark","streamSid":9,"mark":{"name":"a"}})",
   kDeclined},
  {"/plain-media/declines-mark-escaped-nul", R"({"event":"mark","mark":{"name":"a\u0000b"}})",
   kDeclined},
  {"/plain-media/declines-mark-trailing-bytes", R"({"event":"mark","mark":{"name":"a"}}x)",
   kDeclined},
  {"/plain-media/declines-mark-truncated", R"({"event":"mark","mark":{"name":"a"})", kDeclined},
  {"/plain-media/declines-mark-bad-utf8", "{\"event\":\"mark\",\"mark\":{\"name\":\"\xc3\"}}",
   kDeclined},
  {"/plain-media/declines-mark-other-case", R"({"event":"Mark","mark":{"name":"a"}})", kDeclined},
  {"/plain-media/declines-mark-array-root", R"([{"event":"mark","mark":{"name":"a"}}])",
   kDeclined},
};

template <typename MediaT>
void
assert_same_media (const PlainMedia &plain, const MediaT &media)
{
  assert_optional_equal (media.sequence_number, plain.sequence_number);
  assert_text_equal (media.stream_sid, plain.stream_sid);
  assert_optional_equal (media.chunk, plain.chunk);
  assert_optional_equal (media.timestamp_ms, plain.timestamp);
  assert_text_equal (media.payload, plain.payload);
}

template <typename MarkT>
void
assert_same_mark (const PlainMark &plain, const MarkT &mark)
{
  assert_optional_equal (mark.sequence_number, plain.sequence_number);
  assert_text_equal (mark.stream_sid, plain.stream_sid);
  assert_text_equal (mark.name, plain.name);
}

// Both parse_message and the json-glib reference give the same message.
template <typename Message, typename MediaT, typename MarkT>
void
assert_same_message (const Message &fast, const Message &reference)
{
  g_assert_cmpuint (fast.index (), ==, reference.index ());
  if (const auto *media = std::get_if<MediaT> (&reference))
    assert_same_media (PlainMedia {media->sequence_number, media->stream_sid,
            std::nullopt, media->chunk, media->timestamp_ms, media->payload},
        std::get<MediaT> (fast));
  if (const auto *mark = std::get_if<MarkT> (&reference))
    assert_same_mark (PlainMark {mark->sequence_number, mark->stream_sid, mark->name},
        std::get<MarkT> (fast));
}

void
test_case (gconstpointer data)
{
  const Case &c = *static_cast<const Case *> (data);
  const auto plain = callstream::plain_media::read_media_or_mark (c.text);
  g_assert_cmpuint (plain ? plain->index () + 1 : 0, ==, c.plain);
  g_assert_cmpint (callstream::plain_media::read (c.text).has_value (), ==, c.plain == kMedia);

  const auto exotel = callstream::exotel::parse_message_with_json_glib (c.text);
  const auto twilio = callstream::twilio::parse_message_with_json_glib (c.text);
  if (const auto *media = plain ? std::get_if<PlainMedia> (&*plain) : nullptr) {
    assert_same_media (*media, std::get<callstream::exotel::Media> (exotel));
    const auto &twilio_media = std::get<callstream::twilio::Media> (twilio);
    assert_same_media (*media, twilio_media);
    assert_text_equal (twilio_media.track, media->track.value_or ("inbound"));
  }
  if (const auto *mark = plain ? std::get_if<PlainMark> (&*plain) : nullptr) {
    assert_same_mark (*mark, std::get<callstream::exotel::Mark> (exotel));
    assert_same_mark (*mark, std::get<callstream::twilio::Mark> (twilio));
  }
  assert_same_message<callstream::exotel::Message, callstream::exotel::Media,
      callstream::exotel::Mark> (callstream::exotel::parse_message (c.text), exotel);
  assert_same_message<callstream::twilio::Message, callstream::twilio::Media,
      callstream::twilio::Mark> (callstream::twilio::parse_message (c.text), twilio);
}

void
test_threads_have_their_own_parser ()
{
  // Interleaved frames on two threads read with no shared state.
  auto work = [] (gpointer) -> gpointer {
    for (int i = 0; i < 2000; i++) {
      const std::string text = "{\"event\":\"media\",\"sequence_number\":" + std::to_string (i)
          + ",\"media\":{\"payload\":\"" + std::string (static_cast<size_t> (i % 700), 'A')
          + "\"}}";
      const auto plain = callstream::plain_media::read (text);
      if (!plain || plain->sequence_number != i || plain->payload.size () != size_t (i % 700))
        return GINT_TO_POINTER (1);
    }
    return nullptr;
  };
  GThread *a = g_thread_new ("a", work, nullptr);
  GThread *b = g_thread_new ("b", work, nullptr);
  g_assert_null (g_thread_join (a));
  g_assert_null (g_thread_join (b));
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  for (const Case &c : kCases)
    g_test_add_data_func (c.path, &c, test_case);
  g_test_add_func ("/plain-media/threads-have-their-own-parser",
      test_threads_have_their_own_parser);
  return g_test_run ();
}
