// The simdjson fast path for media frames: which texts it reads itself, and
// that for those it reads exactly what json-glib reads, for both providers;
// every text it declines is still parsed (by json-glib) with the same answer.
#include <glib.h>

#include <string>
#include <variant>

#include "protocol/exotel.h"
#include "protocol/plain_media.h"
#include "protocol/twilio.h"
#include "protocol_test_support.h"

namespace {

using callstream::plain_media::PlainMedia;
using protocol_test::assert_optional_equal;
using protocol_test::assert_text_equal;

struct Case {
  const char *path;
  const char *text;
  bool plain;  // read by the fast path
};

constexpr Case kCases[] = {
  {"/plain-media/exotel-shape",
   R"({"event":"media","sequence_number":"3","stream_sid":"MZ1","media":{"chunk":"2","timestamp":"40","payload":"AAAA"}})",
   true},
  {"/plain-media/twilio-shape",
   R"({"event":"media","sequenceNumber":"4","media":{"track":"outbound","chunk":"2","timestamp":"5","payload":"fn5+"},"streamSid":"MZ2"})",
   true},
  {"/plain-media/json-integers",
   R"({"event":"media","sequence_number":3,"media":{"chunk":-2,"timestamp":0,"payload":"AAAA"}})",
   true},
  {"/plain-media/only-payload", R"({"event":"media","media":{"payload":""}})", true},
  {"/plain-media/stream-sid-in-media",
   R"({"event":"media","stream_sid":"","media":{"streamSid":"MZ3","payload":"AAAA"}})",
   true},
  {"/plain-media/escaped-keys-and-values",
   R"({"ev\u0065nt":"media","media":{"payl\u006fad":"AA\/AA"}})", true},
  {"/plain-media/whitespace", " {\n \"event\" : \"media\" , \"media\" : { \"payload\" : \"AAAA\" } } \n",
   true},
  // Declined: json-glib decides (the answers differ from "Media" or need
  // json-glib's own reading).
  {"/plain-media/declines-other-events", R"({"event":"stop","stop":{}})", false},
  {"/plain-media/declines-unknown-key",
   R"({"event":"media","extra":[1],"media":{"payload":"AAAA"}})", false},
  {"/plain-media/declines-unknown-media-key",
   R"({"event":"media","media":{"payload":"AAAA","x":1}})", false},
  {"/plain-media/declines-repeated-key",
   R"({"event":"media","media":{"payload":"AAAA"},"media":{"payload":"BBBB"}})", false},
  {"/plain-media/declines-two-spellings",
   R"({"event":"media","sequence_number":1,"sequenceNumber":2,"media":{"payload":"AAAA"}})",
   false},
  {"/plain-media/declines-null", R"({"event":"media","stream_sid":null,"media":{"payload":"AAAA"}})",
   false},
  {"/plain-media/declines-double", R"({"event":"media","sequence_number":1.0,"media":{"payload":"AAAA"}})",
   false},
  {"/plain-media/declines-exponent-string",
   R"({"event":"media","sequence_number":"1e2","media":{"payload":"AAAA"}})", false},
  {"/plain-media/declines-huge-number",
   R"({"event":"media","sequence_number":99999999999999999999,"media":{"payload":"AAAA"}})",
   false},
  {"/plain-media/declines-escaped-nul", R"({"event":"media","media":{"payload":"AA\u0000AA"}})",
   false},
  {"/plain-media/declines-trailing-bytes", R"({"event":"media","media":{"payload":"AAAA"}} {})",
   false},
  {"/plain-media/declines-truncated", R"({"event":"media","media":{"payload":"AAAA"})", false},
  {"/plain-media/declines-no-payload", R"({"event":"media","media":{"chunk":1}})", false},
  {"/plain-media/declines-numeric-sid",
   R"({"event":"media","stream_sid":12,"media":{"payload":"AAAA"}})", false},
  {"/plain-media/declines-bad-utf8", "{\"event\":\"media\",\"media\":{\"payload\":\"A\xff\"}}", false},
  {"/plain-media/declines-empty", "", false},
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

// Both parse_message and the json-glib reference give the same message.
template <typename Message, typename MediaT>
void
assert_same_message (const Message &fast, const Message &reference)
{
  g_assert_cmpuint (fast.index (), ==, reference.index ());
  if (const auto *media = std::get_if<MediaT> (&reference))
    assert_same_media (PlainMedia {media->sequence_number, media->stream_sid,
            std::nullopt, media->chunk, media->timestamp_ms, media->payload},
        std::get<MediaT> (fast));
}

void
test_case (gconstpointer data)
{
  const Case &c = *static_cast<const Case *> (data);
  const auto plain = callstream::plain_media::read (c.text);
  g_assert_cmpint (plain.has_value (), ==, c.plain);

  const auto exotel = callstream::exotel::parse_message_with_json_glib (c.text);
  const auto twilio = callstream::twilio::parse_message_with_json_glib (c.text);
  if (plain) {
    assert_same_media (*plain, std::get<callstream::exotel::Media> (exotel));
    const auto &media = std::get<callstream::twilio::Media> (twilio);
    assert_same_media (*plain, media);
    assert_text_equal (media.track, plain->track.value_or ("inbound"));
  }
  assert_same_message<callstream::exotel::Message, callstream::exotel::Media> (
      callstream::exotel::parse_message (c.text), exotel);
  assert_same_message<callstream::twilio::Message, callstream::twilio::Media> (
      callstream::twilio::parse_message (c.text), twilio);
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
