// Fuzz target: any bytes as one OpenAI Realtime server event, and the same
// bytes as the text a client event carries. Parsing must never crash, hang,
// leak or make GLib warn; an audio delta has an item id and a payload that
// decodes or is refused; error reasons are one line. Every client event we
// build from hostile text is valid UTF-8 JSON that reads back as that text
// (bytes that are not UTF-8 as U+FFFD).
#include <glib.h>
#include <json-glib/json-glib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/base64.h"
#include "protocol/realtime.h"

namespace {

namespace rt = callstream::realtime;

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

void
check_reason (const std::string &reason)
{
  check (!reason.empty ());
  for (const char c : reason)
    check (static_cast<unsigned char> (c) >= 0x20 && c != 0x7f);
}

// Parses a frame we built; it must be a JSON object in valid UTF-8.
JsonObject *
parse_built (JsonParser *parser, const std::string &frame)
{
  check (g_utf8_validate (frame.data (), static_cast<gssize> (frame.size ()), nullptr));
  check (json_parser_load_from_data (parser, frame.data (), static_cast<gssize> (frame.size ()),
      nullptr));
  JsonNode *root = json_parser_get_root (parser);
  check (root != nullptr && JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

// @text as it must read back: itself when valid UTF-8 without NUL (a NUL
// ends json-glib's C string, so such text is only checked for validity).
bool
comparable (std::string_view text)
{
  return text.find ('\0') == std::string_view::npos
      && g_utf8_validate (text.data (), static_cast<gssize> (text.size ()), nullptr);
}

void
check_client_events (std::string_view text)
{
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *root = parse_built (parser, rt::item_truncate (text, 1234));
    check (g_str_equal (json_object_get_string_member (root, "type"),
        "conversation.item.truncate"));
    check (json_object_get_int_member (root, "audio_end_ms") == 1234);
    if (comparable (text))
      check (json_object_get_string_member (root, "item_id") == text);
  }
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *root = parse_built (parser, rt::response_create (text));
    if (!text.empty () && comparable (text)) {
      JsonObject *response = json_object_get_object_member (root, "response");
      check (json_object_get_string_member (response, "instructions") == text);
    }
  }
  rt::SessionConfig config;
  config.instructions = text;
  config.voice = text;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *session = json_object_get_object_member (
      parse_built (parser, rt::session_update (config)), "session");
  if (!text.empty () && comparable (text))
    check (json_object_get_string_member (session, "instructions") == text);
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const bool fatal = [] {
    g_log_set_always_fatal (static_cast<GLogLevelFlags> (
        G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
    return true;
  }();
  (void) fatal;

  const std::string_view text (reinterpret_cast<const char *> (data), size);
  const rt::ServerEvent event = rt::parse_server_event (text);
  if (const auto *error = std::get_if<rt::ParseError> (&event)) {
    check_reason (error->reason);
  } else if (const auto *delta = std::get_if<rt::AudioDelta> (&event)) {
    check (!delta->item_id.empty ());
    std::vector<uint8_t> audio (callstream::base64_decoded_max (delta->delta.size ()));
    const auto decoded = callstream::base64_decode_into (delta->delta, audio.data ());
    check (!decoded || *decoded <= audio.size ());
  } else if (const auto *unknown = std::get_if<rt::Unknown> (&event)) {
    check (unknown->type != "error" && unknown->type != "session.created");
  }
  check_client_events (text);
  return 0;
}
