// The simdjson fast path for Realtime audio deltas: which texts it reads
// itself, and that for those it reads exactly the AudioDelta json-glib's
// parse_server_event reads; texts it declines are left to that parser.
// Differential over a table and over generated frames (key order, optional
// keys, escapes, numbers, and every truncation of a frame).
#include <glib.h>

#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "protocol/realtime.h"
#include "protocol/realtime_delta.h"

namespace {

namespace rt = callstream::realtime;
using callstream::realtime_delta::PlainDelta;

struct Case {
  const char *path;
  const char *text;
  bool plain;  // read by the fast path
};

constexpr Case kCases[] = {
  {"/realtime-delta/ga-shape",
   R"({"type":"response.output_audio.delta","event_id":"event_1","response_id":"resp_1",)"
   R"("item_id":"item_1","output_index":0,"content_index":0,"delta":"AAEC"})",
   true},
  {"/realtime-delta/old-name",
   R"({"type":"response.audio.delta","response_id":"r","item_id":"i","output_index":2,)"
   R"("content_index":-1,"delta":"fn5+"})",
   true},
  {"/realtime-delta/only-required", R"({"type":"response.output_audio.delta","item_id":"i","delta":""})",
   true},
  {"/realtime-delta/other-order",
   R"({"delta":"AAAA","content_index":3,"item_id":"item_x","type":"response.output_audio.delta"})",
   true},
  {"/realtime-delta/escapes",
   R"({"t\u0079pe":"response.output_audio.delt\u0061","item_id":"it\"em","delta":"AA\/A",)"
   R"("response_id":"r\u00e9"})",
   true},
  {"/realtime-delta/whitespace",
   " {\n \"type\" : \"response.audio.delta\" ,\t\"item_id\" : \"i\" , \"delta\" : \"AAAA\" } \n",
   true},
  {"/realtime-delta/not-base64-still-read",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"!!"})", true},
  // Declined: parse_server_event decides.
  {"/realtime-delta/declines-other-events",
   R"({"type":"response.output_audio.done","item_id":"i","response_id":"r"})", false},
  {"/realtime-delta/declines-speech-started",
   R"({"type":"input_audio_buffer.speech_started","audio_start_ms":10,"item_id":"i"})", false},
  {"/realtime-delta/declines-no-delta", R"({"type":"response.output_audio.delta","item_id":"i"})",
   false},
  {"/realtime-delta/declines-numeric-delta",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":12})", false},
  {"/realtime-delta/declines-no-item", R"({"type":"response.output_audio.delta","delta":"AAAA"})",
   false},
  {"/realtime-delta/declines-empty-item",
   R"({"type":"response.output_audio.delta","item_id":"","delta":"AAAA"})", false},
  {"/realtime-delta/declines-numeric-item",
   R"({"type":"response.output_audio.delta","item_id":7,"delta":"AAAA"})", false},
  {"/realtime-delta/declines-null-response",
   R"({"type":"response.output_audio.delta","item_id":"i","response_id":null,"delta":"AAAA"})",
   false},
  {"/realtime-delta/declines-string-index",
   R"({"type":"response.output_audio.delta","item_id":"i","output_index":"1","delta":"AAAA"})",
   false},
  {"/realtime-delta/declines-double-index",
   R"({"type":"response.output_audio.delta","item_id":"i","content_index":1.0,"delta":"AAAA"})",
   false},
  {"/realtime-delta/declines-huge-index",
   R"({"type":"response.output_audio.delta","item_id":"i","output_index":99999999999999999999,"delta":"A"})",
   false},
  {"/realtime-delta/declines-unknown-key",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"AAAA","x":[1]})", false},
  {"/realtime-delta/declines-repeated-key",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"AAAA","delta":"BBBB"})", false},
  {"/realtime-delta/declines-escaped-nul",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"AA\u0000AA"})", false},
  {"/realtime-delta/declines-nul-byte",
   "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"A\"}\0", false},
  {"/realtime-delta/declines-bad-utf8",
   "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\xff\",\"delta\":\"AAAA\"}", false},
  {"/realtime-delta/declines-trailing-bytes",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"AAAA"} {})", false},
  {"/realtime-delta/declines-truncated",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"AAAA")", false},
  {"/realtime-delta/declines-array", R"([{"type":"response.output_audio.delta"}])", false},
  {"/realtime-delta/declines-empty", "", false},
};

// The fast path's answer is parse_server_event's, field by field; when it
// declines, parse_server_event still answers (whatever that is).
void
assert_same (std::string_view text, const std::optional<PlainDelta> &plain)
{
  const rt::ServerEvent reference = rt::parse_server_event (text);
  if (!plain)
    return;
  const auto *delta = std::get_if<rt::AudioDelta> (&reference);
  if (delta == nullptr)
    g_test_message ("fast path read a delta json-glib does not: %.*s",
        static_cast<int> (text.size ()), text.data ());
  g_assert_nonnull (delta);
  g_assert_cmpmem (plain->response_id.data (), plain->response_id.size (),
      delta->response_id.data (), delta->response_id.size ());
  g_assert_cmpmem (plain->item_id.data (), plain->item_id.size (), delta->item_id.data (),
      delta->item_id.size ());
  g_assert_cmpint (plain->output_index, ==, delta->output_index);
  g_assert_cmpint (plain->content_index, ==, delta->content_index);
  g_assert_cmpmem (plain->delta.data (), plain->delta.size (), delta->delta.data (),
      delta->delta.size ());
}

void
test_case (gconstpointer data)
{
  const Case &c = *static_cast<const Case *> (data);
  // sizeof-1 keeps a NUL inside the literal for the nul-byte case.
  std::string_view text (c.text);
  if (g_str_has_suffix (c.path, "nul-byte"))
    text = std::string_view (c.text, text.size () + 1);
  const auto plain = callstream::realtime_delta::read (text);
  g_assert_cmpint (plain.has_value (), ==, c.plain);
  assert_same (text, plain);
}

// A delta frame from @rand: members in any order, optional ones left out,
// strings with escapes and non-ASCII, numbers of any size; sometimes one
// member of a shape the fast path declines.
std::string
generated_frame (GRand *rand)
{
  static const char *const kStrings[] = {"item_1", "", "r\\u00e9sum\\u00e9", "a\\\"b",
      "\\/x", "\xc3\xa9t\xc3\xa9", "\\n\\t", "AAEC", "fn5+", "////", "A", "\\u0041B=="};
  static const char *const kNumbers[] = {"0", "1", "-1", "42", "9223372036854775807",
      "-9223372036854775808", "9223372036854775808", "1.0", "1e2", "\"3\"", "null", "true"};
  auto string = [&] {
    return std::string ("\"") + kStrings[g_rand_int_range (rand, 0, G_N_ELEMENTS (kStrings))]
        + "\"";
  };
  auto number = [&] {
    // Mostly plain integers, now and then something else.
    return g_rand_int_range (rand, 0, 4) != 0
        ? std::to_string (g_rand_int_range (rand, -1000, 1000))
        : kNumbers[g_rand_int_range (rand, 0, G_N_ELEMENTS (kNumbers))];
  };
  std::vector<std::string> members;
  members.push_back (std::string ("\"type\":\"") + (g_rand_boolean (rand)
          ? "response.output_audio.delta" : "response.audio.delta") + "\"");
  members.push_back ("\"item_id\":" + string ());
  members.push_back ("\"delta\":" + string ());
  if (g_rand_boolean (rand))
    members.push_back ("\"event_id\":" + string ());
  if (g_rand_boolean (rand))
    members.push_back ("\"response_id\":" + string ());
  if (g_rand_boolean (rand))
    members.push_back ("\"output_index\":" + number ());
  if (g_rand_boolean (rand))
    members.push_back ("\"content_index\":" + number ());
  if (g_rand_int_range (rand, 0, 8) == 0)
    members.push_back ("\"extra\":" + number ());
  if (g_rand_int_range (rand, 0, 8) == 0)
    members.push_back (members[g_rand_int_range (rand, 0, members.size ())]);
  for (size_t i = members.size (); i > 1; i--)
    std::swap (members[i - 1], members[g_rand_int_range (rand, 0, i)]);
  std::string text = "{";
  for (size_t i = 0; i < members.size (); i++)
    text += (i ? (g_rand_boolean (rand) ? "," : " , ") : "") + members[i];
  return text + "}";
}

void
test_generated_frames ()
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261122);
  guint read = 0, declined = 0;
  for (int i = 0; i < 3000; i++) {
    const std::string text = generated_frame (rand);
    const auto plain = callstream::realtime_delta::read (text);
    (plain ? read : declined)++;
    assert_same (text, plain);
  }
  g_test_message ("%u read by the fast path, %u declined", read, declined);
  // Both halves of the shape were exercised.
  g_assert_cmpuint (read, >, 1000);
  g_assert_cmpuint (declined, >, 300);
}

// Every cut of @text short of its end is declined by @read, and @check
// compares with parse_server_event all the same.
template <typename Read, typename Check>
void
assert_every_truncation_declined (const std::string &text, Read read, Check check)
{
  for (size_t size = 0; size < text.size (); size++) {
    const std::string_view cut (text.data (), size);
    const auto result = read (cut);
    g_assert_false (result.has_value ());
    check (cut, result);
  }
}

void
test_every_truncation ()
{
  assert_every_truncation_declined (kCases[0].text, callstream::realtime_delta::read,
      assert_same);
}

void
test_threads_have_their_own_parser ()
{
  auto work = [] (gpointer) -> gpointer {
    for (int i = 0; i < 2000; i++) {
      const std::string item = "item_" + std::to_string (i);
      const std::string text = "{\"type\":\"response.output_audio.delta\",\"item_id\":\""
          + item + "\",\"output_index\":" + std::to_string (i) + ",\"delta\":\""
          + std::string (static_cast<size_t> (i % 700), 'A') + "\"}";
      const auto plain = callstream::realtime_delta::read (text);
      if (!plain || plain->item_id != item || plain->output_index != i
          || plain->delta.size () != size_t (i % 700))
        return GINT_TO_POINTER (1);
    }
    return nullptr;
  };
  GThread *a = g_thread_new ("a", work, nullptr);
  GThread *b = g_thread_new ("b", work, nullptr);
  g_assert_null (g_thread_join (a));
  g_assert_null (g_thread_join (b));
}

/* ---- read_unhandled_type: the events the bridge only logs ---- */

struct UnhandledCase {
  const char *path;
  const char *text;
  const char *type;  // what the fast path reads; nullptr: it declines
};

constexpr UnhandledCase kUnhandledCases[] = {
  {"/realtime-delta/unhandled/response-created",
   R"({"type":"response.created","event_id":"event_2","response":{"object":"realtime.response",)"
   R"("id":"resp_1","status":"in_progress","output":[],"usage":null,"metadata":{"a":[1,2.5,-3e2,)"
   R"(true,false,null]}}})",
   "response.created"},
  {"/realtime-delta/unhandled/content-part-added",
   R"({"event_id":"e","type":"response.content_part.added","response_id":"r","item_id":"i",)"
   R"("output_index":0,"content_index":0,"part":{"type":"audio","transcript":""}})",
   "response.content_part.added"},
  {"/realtime-delta/unhandled/transcript-delta-with-escapes",
   R"({"type":"response.output_audio_transcript.delta","delta":"l\u00e0 \"quoted\"\n"})", nullptr},
  {"/realtime-delta/unhandled/transcript-delta",
   R"({"type":"response.output_audio_transcript.delta","delta":"h\u00e9llo","item_id":"i"})",
   nullptr},
  {"/realtime-delta/unhandled/plain-escapes-read",
   "{\"type\":\"rate_limits.updated\",\"note\":\"a\\\"b\\\\c\\/d\\n\",\"rate_limits\":[]}",
   "rate_limits.updated"},
  {"/realtime-delta/unhandled/non-ascii-type",
   "{\"type\":\"x.\xc3\xa9v\xc3\xa9nement\"}", "x.\xc3\xa9v\xc3\xa9nement"},
  {"/realtime-delta/unhandled/empty-type", R"({"type":""})", ""},
  // Declined: handled events, and everything json-glib should judge.
  {"/realtime-delta/unhandled/declines-handled-done",
   R"({"type":"response.done","response":{"id":"r","status":"completed"}})", nullptr},
  {"/realtime-delta/unhandled/declines-delta",
   R"({"type":"response.output_audio.delta","item_id":"i","delta":"AAAA"})", nullptr},
  {"/realtime-delta/unhandled/declines-error",
   R"({"type":"error","error":{"message":"m"}})", nullptr},
  {"/realtime-delta/unhandled/declines-no-type", R"({"event_id":"e"})", nullptr},
  {"/realtime-delta/unhandled/declines-type-twice",
   R"({"type":"response.created","type":"response.done"})", nullptr},
  {"/realtime-delta/unhandled/declines-numeric-type", R"({"type":7})", nullptr},
  {"/realtime-delta/unhandled/declines-null-type", R"({"type":null})", nullptr},
  {"/realtime-delta/unhandled/declines-array", R"([{"type":"response.created"}])", nullptr},
  {"/realtime-delta/unhandled/declines-trailing-bytes", R"({"type":"response.created"} x)",
   nullptr},
  {"/realtime-delta/unhandled/declines-trailing-comma", R"({"type":"response.created",})",
   nullptr},
  {"/realtime-delta/unhandled/declines-bad-utf8", "{\"type\":\"a\xff\"}", nullptr},
  {"/realtime-delta/unhandled/declines-control-byte", "{\"type\":\"a\x01\"}", nullptr},
  {"/realtime-delta/unhandled/declines-big-integer",
   R"({"type":"response.created","n":123456789012345678901234567890})", nullptr},
  {"/realtime-delta/unhandled/declines-huge-double", R"({"type":"response.created","n":1e400})",
   nullptr},
  {"/realtime-delta/unhandled/declines-lone-surrogate",
   R"({"type":"response.created","s":"\ud800"})", nullptr},
  {"/realtime-delta/unhandled/declines-escaped-nul", R"({"type":"response.created","s":"\u0000"})",
   nullptr},
  {"/realtime-delta/unhandled/declines-deep-nesting",
   "{\"type\":\"response.created\",\"d\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
   "[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
   nullptr},
  {"/realtime-delta/unhandled/declines-empty", "", nullptr},
  {"/realtime-delta/unhandled/declines-nul-byte", "{\"type\":\"response.created\"}", nullptr},
};

// Whenever the fast path reads a type, parse_server_event says Unknown with
// that same type.
void
assert_unhandled_same (std::string_view text, const std::optional<std::string_view> &type)
{
  const rt::ServerEvent reference = rt::parse_server_event (text);
  if (!type)
    return;
  const auto *unknown = std::get_if<rt::Unknown> (&reference);
  if (unknown == nullptr)
    g_test_message ("fast path read an unhandled event json-glib does not: %.*s",
        static_cast<int> (text.size ()), text.data ());
  g_assert_nonnull (unknown);
  g_assert_cmpmem (type->data (), type->size (), unknown->type.data (), unknown->type.size ());
}

void
test_unhandled_case (gconstpointer data)
{
  const UnhandledCase &c = *static_cast<const UnhandledCase *> (data);
  std::string_view text (c.text);
  if (g_str_has_suffix (c.path, "nul-byte"))
    text = std::string_view (c.text, text.size () + 1);
  const auto type = callstream::realtime_delta::read_unhandled_type (text);
  g_assert_cmpint (type.has_value (), ==, c.type != nullptr);
  if (type)
    g_assert_cmpmem (type->data (), type->size (), c.type, strlen (c.type));
  assert_unhandled_same (text, type);
}

// Every type parse_server_event reads into something else is declined, and
// is_handled_event_type knows each of them.
void
test_handled_types_are_declined ()
{
  const char *const types[] = { "response.output_audio.delta", "response.audio.delta",
    "response.output_audio.done", "response.audio.done", "response.done",
    "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
    "conversation.item.input_audio_transcription.completed",
    "response.output_audio_transcript.done", "response.audio_transcript.done", "error",
    "session.created", "session.updated" };
  for (const char *type : types) {
    const std::string text = std::string ("{\"type\":\"") + type + "\"}";
    g_assert_true (rt::is_handled_event_type (type));
    g_assert_false (callstream::realtime_delta::read_unhandled_type (text).has_value ());
    g_assert_false (std::holds_alternative<rt::Unknown> (rt::parse_server_event (text)));
  }
}

void
test_unhandled_every_truncation ()
{
  assert_every_truncation_declined (kUnhandledCases[0].text,
      callstream::realtime_delta::read_unhandled_type, assert_unhandled_same);
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  for (const Case &c : kCases)
    g_test_add_data_func (c.path, &c, test_case);
  g_test_add_func ("/realtime-delta/generated-frames-read-as-json-glib-reads-them",
      test_generated_frames);
  g_test_add_func ("/realtime-delta/every-truncation-declined", test_every_truncation);
  g_test_add_func ("/realtime-delta/threads-have-their-own-parser",
      test_threads_have_their_own_parser);
  for (const UnhandledCase &c : kUnhandledCases)
    g_test_add_data_func (c.path, &c, test_unhandled_case);
  g_test_add_func ("/realtime-delta/unhandled/handled-types-are-declined",
      test_handled_types_are_declined);
  g_test_add_func ("/realtime-delta/unhandled/every-truncation-declined",
      test_unhandled_every_truncation);
  return g_test_run ();
}
