// Fuzz target: any bytes as one Twilio Media Streams text frame. Parsing must
// never crash, hang, leak or make GLib warn; what parses obeys the header's
// promises: a sample rate in 1..384000 Hz, 1..64 channels, an encoding that
// matches its name, a non-empty DTMF digit, a media payload that decodes or
// is refused, ids that stay inside a directory, one-line error reasons.
#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/base64.h"
#include "protocol/names.h"
#include "protocol/twilio.h"

namespace {

namespace tw = callstream::twilio;

void
check (bool condition)
{
  if (!condition)
    __builtin_trap ();
}

// A path component made from a wire id never leaves its directory.
void
check_id (const std::string &id)
{
  const std::string dir = callstream::sanitize_path_component (id);
  check (dir.empty () == id.empty ());
  check (dir.size () <= 128);
  check (dir != "." && dir != ".." && (dir.empty () || dir.front () != '.'));
  check (dir.find ('/') == std::string::npos && dir.find ('\0') == std::string::npos);
}

// A reason fit for one warning line: not empty, no control bytes.
void
check_reason (const std::string &reason)
{
  check (!reason.empty ());
  for (const char c : reason)
    check (static_cast<unsigned char> (c) >= 0x20 && c != 0x7f);
}

void
check_start (const tw::Start &start)
{
  const tw::MediaFormat &format = start.media_format;
  check (format.sample_rate >= 1 && format.sample_rate <= 384000);
  check (format.channels >= 1 && format.channels <= 64);
  check (format.encoding == tw::encoding_from_name (format.encoding_name));
  check_id (start.stream_sid);
  check_id (start.call_sid);
  check_id (start.account_sid);
}

void
check_media (const tw::Media &media)
{
  std::vector<uint8_t> audio (callstream::base64_decoded_max (media.payload.size ()));
  const auto decoded = callstream::base64_decode_into (media.payload, audio.data ());
  if (decoded)
    check (*decoded <= audio.size ());
  check_id (media.stream_sid);
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
  const tw::Message message = tw::parse_message (text);
  if (const auto *error = std::get_if<tw::ParseError> (&message))
    check_reason (error->reason);
  else if (const auto *start = std::get_if<tw::Start> (&message))
    check_start (*start);
  else if (const auto *media = std::get_if<tw::Media> (&message))
    check_media (*media);
  else if (const auto *dtmf = std::get_if<tw::Dtmf> (&message))
    check (!dtmf->digit.empty ());
  else if (const auto *stop = std::get_if<tw::Stop> (&message))
    check_id (stop->call_sid);
  else if (const auto *unknown = std::get_if<tw::Unknown> (&message))
    check (unknown->event != "start" && unknown->event != "media" && unknown->event != "stop");
  return 0;
}
