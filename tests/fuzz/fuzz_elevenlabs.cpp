// Fuzz target: any bytes as one ElevenLabs webhook body, and its first line
// as an ElevenLabs-Signature header over the rest. Nothing may crash, hang or
// make GLib warn; a located audio string lies inside the body and decodes or
// is refused with a reason; a signature we make validates; file names never
// leave their directory.
#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/elevenlabs.h"

namespace {

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

void
check_file_name (const std::string &name)
{
  check (!name.empty () && name != "." && name != ".." && name.front () != '.');
  check (name.find ('/') == std::string::npos && name.find ('\0') == std::string::npos);
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
  namespace el = callstream::elevenlabs;

  const std::string_view body (reinterpret_cast<const char *> (data), size);
  const auto result = el::parse_webhook (body);
  if (const auto *hook = std::get_if<el::Webhook> (&result)) {
    if (hook->full_audio) {
      check (hook->full_audio->offset + hook->full_audio->length <= body.size ());
      size_t decoded = 0;
      std::string error;
      const bool ok = el::decode_base64_to (
          body.substr (hook->full_audio->offset, hook->full_audio->length),
          [&decoded] (const uint8_t *, size_t piece) {
            decoded += piece;
            return true;
          },
          &error);
      check (ok ? decoded <= hook->full_audio->length : !error.empty ());
    }
    check_file_name (el::storage_directory (hook->caller_phone, hook->conversation_id));
    check_file_name (el::transcription_file_name (hook->conversation_id));
    check_file_name (el::audio_file_name (hook->conversation_id));
  } else {
    check (!std::get<el::ParseError> (result).reason.empty ());
  }
  el::find_recording_url_in_json (body);

  const size_t newline = std::min (body.find ('\n'), body.size ());
  const std::string_view header = body.substr (0, newline);
  const std::string_view rest = body.substr (std::min (newline + 1, body.size ()));
  el::verify_signature (header, rest, "fuzz-secret", 1739537297);
  check (el::verify_signature (el::signature_header ("fuzz-secret", 1739537297, rest), rest,
             "fuzz-secret", 1739537297)
      == el::SignatureResult::kValid);
  return 0;
}
