// TwiML answers: parsed back with GMarkupParseContext, so each document is
// proven well-formed and its elements, attributes and text are checked.
#include <glib.h>

#include <map>
#include <string>
#include <vector>

#include "twiml.h"

namespace {

struct Element {
  std::string path;  // "Response/Connect/Stream"
  std::map<std::string, std::string> attributes;
  std::string text;
};

struct ParseState {
  std::vector<Element> elements;
  std::vector<size_t> open;  // indexes into elements
};

void
on_start (GMarkupParseContext *, const gchar *name, const gchar **attribute_names,
    const gchar **attribute_values, gpointer user_data, GError **)
{
  auto *state = static_cast<ParseState *> (user_data);
  Element element;
  element.path = name;
  if (!state->open.empty ())
    element.path = state->elements[state->open.back ()].path + "/" + name;
  for (size_t i = 0; attribute_names[i] != nullptr; i++)
    element.attributes[attribute_names[i]] = attribute_values[i];
  state->open.push_back (state->elements.size ());
  state->elements.push_back (std::move (element));
}

void
on_end (GMarkupParseContext *, const gchar *, gpointer user_data, GError **)
{
  static_cast<ParseState *> (user_data)->open.pop_back ();
}

void
on_text (GMarkupParseContext *, const gchar *text, gsize length, gpointer user_data, GError **)
{
  auto *state = static_cast<ParseState *> (user_data);
  if (!state->open.empty ())
    state->elements[state->open.back ()].text.append (text, length);
}

std::vector<Element>
parse (const std::string &document)
{
  g_assert_true (g_str_has_prefix (document.c_str (),
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"));
  static const GMarkupParser parser = { on_start, on_end, on_text, nullptr, nullptr };
  ParseState state;
  GMarkupParseContext *context = g_markup_parse_context_new (&parser,
      G_MARKUP_PREFIX_ERROR_POSITION, &state, nullptr);
  g_autoptr (GError) error = nullptr;
  const bool ok = g_markup_parse_context_parse (context, document.data (),
                      static_cast<gssize> (document.size ()), &error)
      && g_markup_parse_context_end_parse (context, &error);
  g_markup_parse_context_free (context);
  if (!ok)
    g_error ("not well-formed: %s\n%s", error->message, document.c_str ());
  return state.elements;
}

std::vector<std::string>
paths (const std::vector<Element> &elements)
{
  std::vector<std::string> result;
  for (const auto &element : elements)
    result.push_back (element.path);
  return result;
}

void
assert_paths (const std::vector<Element> &elements, const std::vector<std::string> &expected)
{
  const std::vector<std::string> got = paths (elements);
  g_assert_cmpuint (got.size (), ==, expected.size ());
  for (size_t i = 0; i < got.size (); i++)
    g_assert_cmpstr (got[i].c_str (), ==, expected[i].c_str ());
}

void
assert_attribute (const Element &element, const char *name, const char *value)
{
  const auto found = element.attributes.find (name);
  g_assert_true (found != element.attributes.end ());
  g_assert_cmpstr (found->second.c_str (), ==, value);
}

}  // namespace

static void
test_connect_stream_has_say_stream_and_parameters ()
{
  const std::string document = callstreamd::connect_stream_twiml (
      "Good morning! Connecting you to your wake-up coach.",
      "wss://calls.example.org/media-stream",
      { { "mode", "realtime" }, { "caller", "+15551230000" } });
  const auto elements = parse (document);
  assert_paths (elements, { "Response", "Response/Say", "Response/Connect",
      "Response/Connect/Stream", "Response/Connect/Stream/Parameter",
      "Response/Connect/Stream/Parameter" });
  g_assert_cmpstr (elements[1].text.c_str (), ==,
      "Good morning! Connecting you to your wake-up coach.");
  assert_attribute (elements[3], "url", "wss://calls.example.org/media-stream");
  assert_attribute (elements[4], "name", "mode");
  assert_attribute (elements[4], "value", "realtime");
  assert_attribute (elements[5], "name", "caller");
  assert_attribute (elements[5], "value", "+15551230000");
}

static void
test_connect_stream_without_say_text_has_no_say ()
{
  const std::string document =
      callstreamd::connect_stream_twiml ("", "ws://127.0.0.1:8765/media-stream", {});
  g_assert_cmpstr (document.c_str (), ==,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect>"
      "<Stream url=\"ws://127.0.0.1:8765/media-stream\"></Stream></Connect></Response>");
  assert_paths (parse (document), { "Response", "Response/Connect", "Response/Connect/Stream" });
}

static void
test_text_and_attributes_are_escaped ()
{
  const std::string hostile = "\"/><Hangup/><Say a='1'>&amp;";
  const std::string document = callstreamd::connect_stream_twiml ("Tom & Jerry <3 \"you\"",
      "wss://h/media-stream", { { hostile, hostile } });
  const auto elements = parse (document);
  assert_paths (elements, { "Response", "Response/Say", "Response/Connect",
      "Response/Connect/Stream", "Response/Connect/Stream/Parameter" });
  g_assert_cmpstr (elements[1].text.c_str (), ==, "Tom & Jerry <3 \"you\"");
  assert_attribute (elements[4], "name", hostile.c_str ());
  assert_attribute (elements[4], "value", hostile.c_str ());
}

static void
test_control_characters_and_bad_utf8_cannot_break_the_document ()
{
  const std::string text ("a\x01" "b\x1f" "c\xff" "d\0e", 9);
  const auto elements = parse (callstreamd::gather_twiml (text, "https://h/voice?x=1&y=2"));
  g_assert_cmpstr (elements[2].path.c_str (), ==, "Response/Gather/Say");
  g_assert_cmpstr (elements[2].text.c_str (), ==, "a b c\xef\xbf\xbd" "d\xef\xbf\xbd" "e");
  assert_attribute (elements[1], "action", "https://h/voice?x=1&y=2");
}

static void
test_gather_prompts_then_redirects_when_silent ()
{
  const std::string document = callstreamd::gather_twiml ("What time should I call tomorrow?",
      "https://calls.example.org/voice/gather");
  const auto elements = parse (document);
  assert_paths (elements, { "Response", "Response/Gather", "Response/Gather/Say",
      "Response/Say", "Response/Redirect" });
  assert_attribute (elements[1], "input", "speech dtmf");
  assert_attribute (elements[1], "action", "https://calls.example.org/voice/gather");
  assert_attribute (elements[1], "method", "POST");
  g_assert_cmpstr (elements[2].text.c_str (), ==, "What time should I call tomorrow?");
  const std::string no_input_text (callstreamd::kGatherNoInputText);
  g_assert_cmpstr (elements[3].text.c_str (), ==, no_input_text.c_str ());
  assert_attribute (elements[4], "method", "POST");
  g_assert_cmpstr (elements[4].text.c_str (), ==, "https://calls.example.org/voice/gather");
}

static void
test_stream_url_from_public_url ()
{
  std::string url = callstreamd::media_stream_url ("https://calls.example.org", "10.0.0.5:8765",
      nullptr, "/media-stream");
  g_assert_cmpstr (url.c_str (), ==, "wss://calls.example.org/media-stream");
  url = callstreamd::media_stream_url ("http://calls.example.org:8765/", nullptr, nullptr,
      "media-stream");
  g_assert_cmpstr (url.c_str (), ==, "ws://calls.example.org:8765/media-stream");
  url = callstreamd::media_stream_url ("https://example.org/callstream", nullptr, nullptr,
      "/media-stream");
  g_assert_cmpstr (url.c_str (), ==, "wss://example.org/callstream/media-stream");
}

static void
test_stream_url_from_host_and_forwarded_proto ()
{
  std::string url = callstreamd::media_stream_url ("", "calls.example.org:8765", nullptr,
      "/media-stream");
  g_assert_cmpstr (url.c_str (), ==, "ws://calls.example.org:8765/media-stream");
  url = callstreamd::media_stream_url ("", "calls.example.org", "https", "/media-stream");
  g_assert_cmpstr (url.c_str (), ==, "wss://calls.example.org/media-stream");
  // A TLS-terminating proxy in front of an http PUBLIC_URL still means wss.
  url = callstreamd::media_stream_url ("http://calls.example.org", nullptr, "https,http",
      "/media-stream");
  g_assert_cmpstr (url.c_str (), ==, "wss://calls.example.org/media-stream");
  g_assert_true (callstreamd::media_stream_url ("", nullptr, "https", "/media-stream").empty ());
  g_assert_true (callstreamd::media_stream_url ("", "bad host", nullptr, "/m").empty ());
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/twiml/connect-stream/has-say-stream-and-parameters",
      test_connect_stream_has_say_stream_and_parameters);
  g_test_add_func ("/twiml/connect-stream/empty-say-text-leaves-say-out",
      test_connect_stream_without_say_text_has_no_say);
  g_test_add_func ("/twiml/escaping/text-and-attributes-are-escaped",
      test_text_and_attributes_are_escaped);
  g_test_add_func ("/twiml/escaping/control-characters-and-bad-utf8-are-replaced",
      test_control_characters_and_bad_utf8_cannot_break_the_document);
  g_test_add_func ("/twiml/gather/prompts-then-says-and-redirects-when-silent",
      test_gather_prompts_then_redirects_when_silent);
  g_test_add_func ("/twiml/stream-url/public-url-wins", test_stream_url_from_public_url);
  g_test_add_func ("/twiml/stream-url/host-and-forwarded-proto",
      test_stream_url_from_host_and_forwarded_proto);
  return g_test_run ();
}
