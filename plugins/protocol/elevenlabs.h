// ElevenLabs post-call webhooks (shared PROTOCOLS.md section 4): the
// ElevenLabs-Signature check, the webhook envelope and its three types, the
// recording URL search of seed 001, base64 audio decoded in steps, and the
// file names the daemon stores them under. Pure functions over GLib and
// json-glib: no sockets, no GStreamer; safe to call from any thread.
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace callstream::elevenlabs {

// --- signature --------------------------------------------------------------

// ElevenLabs rejects nothing older than 30 minutes in its SDKs; neither do we.
constexpr gint64 kSignatureToleranceS = 30 * 60;

enum class SignatureResult {
  kValid,
  kMissing,    // no header (or an empty one)
  kMalformed,  // no t=, no v0=, a t= that is no decimal, a v0= that is no 64-hex digest
  kStale,      // t more than the tolerance away from now, in the past or the future
  kMismatch,   // well formed, in time, but no v0= matches (or the secret is empty)
};

// One short line for a log or a 401 body ("signature does not match the body").
const char *signature_result_reason(SignatureResult result);

// Checks `ElevenLabs-Signature: t=<unix s>,v0=<hex>` where hex is
// HMAC-SHA256(secret, "<t>.<body>") over the raw body bytes. Entries are split
// on ',' and may carry spaces around them; unknown schemes (v1=...) are
// ignored; several v0= entries are allowed and any one matching is enough (a
// secret being rotated). Hex digits in either case. The digests are compared
// in constant time, every entry is compared. A future t within the tolerance
// is clock skew and accepted; beyond it is kStale, like an old one. An empty
// secret never verifies.
SignatureResult verify_signature(std::string_view header, std::string_view body,
                                 std::string_view secret, gint64 now_unix,
                                 gint64 tolerance_s = kSignatureToleranceS);

// The header ElevenLabs would send for @body at @timestamp ("t=...,v0=..."),
// for tests and fakes.
std::string signature_header(std::string_view secret, gint64 timestamp,
                             std::string_view body);

// --- webhooks ---------------------------------------------------------------

enum class WebhookType {
  kPostCallTranscription,
  kPostCallAudio,
  kCallInitiationFailure,
  kUnknown,  // a well-formed envelope with another "type": see Webhook::type_name
};

// Where the caller phone came from, in the order it is looked for.
enum class PhoneSource {
  kCallerId,        // data.conversation_initiation_client_data.dynamic_variables.system__caller_id
  kExternalNumber,  // data.metadata.phone_call.external_number
  kFailureBody,     // call_initiation_failure only: data.metadata.body "To" / "to_number"
  kNone,            // files go under the conversation id
};

// The base64 text of data.full_audio inside the body given to parse_webhook:
// body.substr(offset, length), the characters between the quotes.
struct AudioLocation {
  size_t offset = 0;
  size_t length = 0;
};

// Everything the daemon keeps of one webhook. Strings are "" and optionals
// empty when the payload does not have them.
struct Webhook {
  WebhookType type = WebhookType::kUnknown;
  std::string type_name;             // "type" as sent
  std::optional<int64_t> event_timestamp;  // unix seconds
  std::string conversation_id;       // never empty for the three known types
  std::string agent_id;
  std::string user_id;
  std::string status;                // data.status ("done", "failed", ...)
  std::string caller_phone;          // see PhoneSource
  PhoneSource caller_phone_source = PhoneSource::kNone;
  std::string called_number;         // system__called_number, else phone_call.agent_number
  std::string direction;             // phone_call.direction ("inbound", "outbound")
  std::string call_sid;              // phone_call.call_sid, else system__call_sid
  std::string phone_call_type;       // phone_call.type ("twilio", "sip_trunking") or failure metadata.type
  std::optional<int64_t> start_time_unix_secs;
  std::optional<int64_t> call_duration_secs;
  std::string transcript_summary;    // data.analysis.transcript_summary
  std::string call_successful;       // data.analysis.call_successful ("success", ...)
  std::string termination_reason;    // data.metadata.termination_reason
  std::string failure_reason;        // call_initiation_failure: data.failure_reason
  size_t transcript_turns = 0;       // entries of data.transcript
  std::optional<bool> has_audio;
  std::string recording_url;         // find_recording_url over the payload, "" when none
  std::optional<AudioLocation> full_audio;  // post_call_audio only, always set there
};

// Why a body is not a usable webhook: one line, no control bytes.
struct ParseError {
  std::string reason;
};

// Parses one webhook body. The three known types need data.conversation_id
// (a non-empty string); post_call_audio needs data.full_audio, a non-empty
// string with no JSON escapes (base64 needs none). Numbers are accepted as
// JSON numbers or decimal strings; one that is neither is left out rather
// than losing the call's record over it. Never throws.
//
// Memory: data.full_audio is never copied. A scan over @body (iterative, a
// stack of at most json_fields::kMaxNesting containers) finds the string
// value of the member "full_audio" of the root member "data", tracking
// strings, escapes, and which strings are member names. The rest of the body
// is copied with that string emptied ("full_audio":"") and only that copy goes
// to json-glib. So a 20 MB audio webhook costs the caller's body plus a copy
// of the few kB around the audio and their JsonNode tree; the audio is then
// decoded straight from @body with decode_base64_to (measured on a 27 MB
// body: peak RSS +0.2 MB for parse_webhook, +0.05 MB for decoding). The result's
// full_audio points into @body, which the caller keeps alive while decoding.
std::variant<Webhook, ParseError> parse_webhook(std::string_view body);

// Decodes strict base64 (RFC 4648 standard alphabet, length a multiple of 4,
// at most two '=' and only at the end; no whitespace, no other byte: what
// ElevenLabs' Python base64 sends) and hands the bytes to @sink in
// pieces of at most 48 KiB (64 KiB of input per g_base64_decode_step). The
// whole input is validated first, so @sink sees nothing of invalid input. A
// sink returning false stops the decoding. False with *@error (when given)
// saying why: the first bad character and its offset, a bad length, or the
// sink refusing. Holds one 48 KiB heap buffer, whatever the input size.
bool decode_base64_to(std::string_view b64,
                      const std::function<bool(const uint8_t *, size_t)> &sink,
                      std::string *error);

// --- recording URLs ---------------------------------------------------------

// The recording URL in a conversation (GET /v1/convai/conversations/{id}) or
// a webhook payload, searched as seed 001's
// extract_recording_url_from_conversation does, breadth first so the
// shallowest match wins, in three passes over every object and array
// (transcript turns included), at most json_fields::kMaxNesting deep:
//   1. a known member: recording_url, recordingUrl, audio_url, audioUrl,
//      download_url, downloadUrl, playback_url, playbackUrl, media_url,
//      mediaUrl, file_url, recording, audio; holding an http(s) URL, or an
//      object whose "url" or "href" member does;
//   2. any string that is an http(s) URL whose path ends in an audio file
//      extension (.mp3 .wav .m4a .ogg .oga .opus .flac .aac .webm .weba
//      .mpga; any case; query and fragment ignored);
//   3. any http(s) URL containing the conversation id (conversation_id at
//      the top or in "data") and "audio" or "recording".
// A URL is a string that GLib parses as an absolute http or https URI with a
// host. "" when none; nullptr and non-containers give "".
std::string find_recording_url(JsonNode *conversation_or_payload);

// The same over JSON text; "" when @json is not JSON or nested too deeply.
// For a post_call_audio body use parse_webhook, which never copies the audio.
std::string find_recording_url_in_json(std::string_view json);

// --- file names ---------------------------------------------------------------

// The directory under data/webhooks/ for a call: the caller phone when known,
// else the conversation id, else "unknown"; each through
// sanitize_path_component (protocol/names.h), so never "..", never a '/'.
std::string storage_directory(std::string_view caller_phone,
                              std::string_view conversation_id);

// "conv_<id>_transcription.json" and "conv_<id>_audio.mp3", the id through
// sanitize_path_component ("unknown" when that leaves nothing). Ids longer
// than 128 bytes are cut there, so two such ids sharing 128 bytes share a name.
std::string transcription_file_name(std::string_view conversation_id);
std::string audio_file_name(std::string_view conversation_id);

}  // namespace callstream::elevenlabs
