// ElevenLabs webhooks read with json-glib and the shared defensive helpers;
// the audio string is located by a scan of its own so json-glib never copies it.
#include "protocol/elevenlabs.h"

#include "protocol/json_fields.h"
#include "protocol/names.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

namespace callstream::elevenlabs {

using namespace json_fields;

namespace {

constexpr size_t kDigestBytes = 32;  // SHA-256
// Input per g_base64_decode_step: 64 KiB of text, 48 KiB of bytes.
constexpr size_t kDecodeStep = 64 * 1024;

// --- signature ---------------------------------------------------------------

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

std::optional<std::array<guint8, kDigestBytes>> hex_digest(std::string_view hex) {
  if (hex.size() != 2 * kDigestBytes)
    return std::nullopt;
  std::array<guint8, kDigestBytes> digest{};
  for (size_t i = 0; i < kDigestBytes; i++) {
    int high = g_ascii_xdigit_value(hex[2 * i]);
    int low = g_ascii_xdigit_value(hex[2 * i + 1]);
    if (high < 0 || low < 0)
      return std::nullopt;
    digest[i] = static_cast<guint8>(high << 4 | low);
  }
  return digest;
}

struct SignatureHeader {
  std::string_view timestamp_text;
  int64_t timestamp = 0;
  std::vector<std::array<guint8, kDigestBytes>> digests;
};

// The t= and v0= entries; false when the header does not have that shape.
bool parse_signature_header(std::string_view header, SignatureHeader &parsed) {
  bool have_timestamp = false;
  while (true) {
    size_t comma = header.find(',');
    std::string_view entry = trim(header.substr(0, comma));
    size_t equals = entry.find('=');
    std::string_view key = entry.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? std::string_view() : entry.substr(equals + 1);
    if (key == "t") {
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(),
                                          parsed.timestamp);
      if (have_timestamp || value.empty() || value.front() == '-' ||
          error != std::errc{} || end != value.data() + value.size())
        return false;
      have_timestamp = true;
      parsed.timestamp_text = value;
    } else if (key == "v0") {
      auto digest = hex_digest(value);
      if (!digest)
        return false;
      parsed.digests.push_back(*digest);
    }
    if (comma == std::string_view::npos)
      break;
    header.remove_prefix(comma + 1);
  }
  return have_timestamp && !parsed.digests.empty();
}

std::array<guint8, kDigestBytes> hmac_sha256(std::string_view secret,
                                             std::string_view timestamp,
                                             std::string_view body) {
  GHmac *hmac = g_hmac_new(G_CHECKSUM_SHA256,
                           reinterpret_cast<const guchar *>(secret.data()),
                           secret.size());
  auto update = [hmac](std::string_view part) {
    g_hmac_update(hmac, reinterpret_cast<const guchar *>(part.data()),
                  static_cast<gssize>(part.size()));
  };
  update(timestamp);
  update(".");
  update(body);
  std::array<guint8, kDigestBytes> digest{};
  gsize length = digest.size();
  g_hmac_get_digest(hmac, digest.data(), &length);
  g_hmac_unref(hmac);
  return digest;
}

// --- the full_audio scan --------------------------------------------------------

struct AudioScan {
  std::optional<AudioLocation> location;
  std::optional<std::string> problem;
};

// One open container of the scan; for an object, the member being read.
struct ScanFrame {
  bool object = false;
  bool expect_name = false;
  bool name_escaped = false;
  std::string_view name;
};

bool names(const ScanFrame &frame, std::string_view name) {
  return frame.object && !frame.name_escaped && frame.name == name;
}

// Locates the string value of data.full_audio (see parse_webhook). Strings
// are skipped the way JSON defines them, so brackets or names inside them
// never count; a string right after '{' or ',' in an object is a member name.
// An unterminated string ends the scan: json-glib then says what is wrong.
AudioScan scan_full_audio(std::string_view body) {
  AudioScan scan;
  std::vector<ScanFrame> stack;
  size_t i = 0;
  while (i < body.size()) {
    char c = body[i];
    if (c == '"') {
      size_t end = i + 1;
      bool escaped = false;
      while (end < body.size() && body[end] != '"') {
        if (body[end] == '\\') {
          escaped = true;
          end++;
        }
        end++;
      }
      if (end >= body.size())
        return scan;
      std::string_view text = body.substr(i + 1, end - i - 1);
      if (!stack.empty() && stack.back().object && stack.back().expect_name) {
        stack.back().name = text;
        stack.back().name_escaped = escaped;
      } else if (stack.size() == 2 && names(stack[0], "data") &&
                 names(stack[1], "full_audio")) {
        if (scan.location)
          return {std::nullopt, "data.full_audio appears twice"};
        if (escaped)
          return {std::nullopt, "data.full_audio holds JSON escapes, base64 needs none"};
        scan.location = AudioLocation{i + 1, text.size()};
      }
      i = end + 1;
      continue;
    }
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', c == '{', false, {}});
      if (stack.size() > static_cast<size_t>(kMaxNesting))
        return {std::nullopt, "not JSON: nested too deeply"};
    } else if (c == '}' || c == ']') {
      if (!stack.empty())
        stack.pop_back();
    } else if (c == ':' && !stack.empty()) {
      stack.back().expect_name = false;
    } else if (c == ',' && !stack.empty()) {
      stack.back().expect_name = stack.back().object;
    }
    i++;
  }
  return scan;
}

// json-glib quotes the offending token, which may hold any byte.
std::string one_line(std::string text) {
  std::replace_if(text.begin(), text.end(),
                  [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }, '?');
  return text;
}

// Parses @text into @parser; the root object, or why there is none.
std::variant<JsonObject *, ParseError> load_object(std::string_view text,
                                                   JsonParser *parser) {
  if (text.empty())
    return ParseError{"not JSON: empty body"};
  if (auto reason = raw_text_problem(text))
    return ParseError{*reason};
  g_autoptr(GError) error = nullptr;
  if (!json_parser_load_from_data(parser, text.data(),
                                  static_cast<gssize>(text.size()), &error))
    return ParseError{one_line(std::string("not JSON: ") + error->message)};
  JsonNode *root = json_parser_get_root(parser);
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root))
    return ParseError{"not a JSON object"};
  return json_node_get_object(root);
}

// --- webhook fields ---------------------------------------------------------------

WebhookType type_from_name(std::string_view name) {
  if (name == "post_call_transcription")
    return WebhookType::kPostCallTranscription;
  if (name == "post_call_audio")
    return WebhookType::kPostCallAudio;
  if (name == "call_initiation_failure")
    return WebhookType::kCallInitiationFailure;
  return WebhookType::kUnknown;
}

// A string-ish member path; "" when any step is missing.
std::string text_at(JsonObject *obj, const char *name,
                    const char *alternative = nullptr) {
  return scalar_text(member(obj, name, alternative));
}

std::optional<int64_t> integer_at(JsonObject *obj, const char *name) {
  return read_integer(member(obj, name)).value;
}

void read_phone_numbers(Webhook &hook, JsonObject *data, JsonObject *metadata) {
  JsonObject *client_data = object_member(data, "conversation_initiation_client_data");
  JsonObject *variables = object_member(client_data, "dynamic_variables");
  JsonObject *phone_call = object_member(metadata, "phone_call");
  // Twilio's status callback (type "twilio") or the SIP details of a failure.
  JsonObject *failure_body = hook.type == WebhookType::kCallInitiationFailure
      ? object_member(metadata, "body") : nullptr;

  if (hook.caller_phone = text_at(variables, "system__caller_id");
      !hook.caller_phone.empty())
    hook.caller_phone_source = PhoneSource::kCallerId;
  else if (hook.caller_phone = text_at(phone_call, "external_number");
           !hook.caller_phone.empty())
    hook.caller_phone_source = PhoneSource::kExternalNumber;
  else if (hook.caller_phone = text_at(failure_body, "To", "to_number");
           !hook.caller_phone.empty())
    hook.caller_phone_source = PhoneSource::kFailureBody;

  hook.called_number = text_at(variables, "system__called_number");
  if (hook.called_number.empty())
    hook.called_number = text_at(phone_call, "agent_number");
  if (hook.called_number.empty())
    hook.called_number = text_at(failure_body, "From", "from_number");
  hook.direction = text_at(phone_call, "direction");
  if (hook.direction.empty())
    hook.direction = text_at(failure_body, "Direction", "direction");
  hook.call_sid = text_at(phone_call, "call_sid");
  if (hook.call_sid.empty())
    hook.call_sid = text_at(variables, "system__call_sid");
  if (hook.call_sid.empty())
    hook.call_sid = text_at(failure_body, "CallSid", "call_sid");
  hook.phone_call_type = text_at(phone_call, "type");
  if (hook.phone_call_type.empty() && hook.type == WebhookType::kCallInitiationFailure)
    hook.phone_call_type = text_at(metadata, "type");
}

void read_data(Webhook &hook, JsonObject *data) {
  JsonObject *metadata = object_member(data, "metadata");
  JsonObject *analysis = object_member(data, "analysis");
  hook.conversation_id = text_at(data, "conversation_id");
  hook.agent_id = text_at(data, "agent_id");
  hook.user_id = text_at(data, "user_id");
  hook.status = text_at(data, "status");
  read_phone_numbers(hook, data, metadata);
  hook.start_time_unix_secs = integer_at(metadata, "start_time_unix_secs");
  hook.call_duration_secs = integer_at(metadata, "call_duration_secs");
  hook.termination_reason = text_at(metadata, "termination_reason");
  hook.transcript_summary = text_at(analysis, "transcript_summary");
  hook.call_successful = text_at(analysis, "call_successful");
  hook.failure_reason = text_at(data, "failure_reason");
  JsonNode *transcript = member(data, "transcript");
  if (transcript != nullptr && JSON_NODE_HOLDS_ARRAY(transcript))
    hook.transcript_turns = json_array_get_length(json_node_get_array(transcript));
  JsonNode *has_audio = member(data, "has_audio");
  if (value_type(has_audio) == G_TYPE_BOOLEAN)
    hook.has_audio = json_node_get_boolean(has_audio) != FALSE;
}

// The audio's place in the body, or why a post_call_audio has none.
std::optional<ParseError> read_full_audio(Webhook &hook, JsonObject *data,
                                          const AudioScan &scan) {
  if (scan.location) {
    if (scan.location->length == 0)
      return ParseError{"data.full_audio is empty"};
    hook.full_audio = scan.location;
    return std::nullopt;
  }
  JsonNode *audio = member(data, "full_audio");
  if (is_absent(audio))
    return ParseError{"post_call_audio without data.full_audio"};
  if (value_type(audio) == G_TYPE_STRING)
    return ParseError{"data.full_audio is not where the scan looks (a name with escapes?)"};
  return ParseError{"data.full_audio is not a string"};
}

// --- recording URLs ------------------------------------------------------------------

constexpr const char *kRecordingKeys[] = {
    "recording_url", "recordingUrl", "audio_url", "audioUrl", "download_url",
    "downloadUrl", "playback_url", "playbackUrl", "media_url", "mediaUrl",
    "file_url", "recording", "audio"};

constexpr std::string_view kAudioExtensions[] = {
    ".mp3", ".wav", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".aac",
    ".webm", ".weba", ".mpga"};

// Absolute http(s) URL with a host; its path into @path when given.
bool is_http_url(std::string_view text, std::string *path = nullptr) {
  if (text.size() < 8 || text.size() > 8192)
    return false;
  if (!equals_ignoring_case(text.substr(0, 7), "http://") &&
      !equals_ignoring_case(text.substr(0, 8), "https://"))
    return false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return false;
  }
  std::string copy(text);
  g_autoptr(GUri) uri = g_uri_parse(copy.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (uri == nullptr)
    return false;
  const char *host = g_uri_get_host(uri);
  if (host == nullptr || *host == '\0')
    return false;
  if (path != nullptr)
    *path = g_uri_get_path(uri);
  return true;
}

bool ends_in_audio_extension(std::string_view path) {
  return std::any_of(std::begin(kAudioExtensions), std::end(kAudioExtensions),
                     [path](std::string_view extension) {
                       return path.size() > extension.size() &&
                              equals_ignoring_case(
                                  path.substr(path.size() - extension.size()),
                                  extension);
                     });
}

bool contains_ignoring_case(std::string_view text, std::string_view part) {
  if (part.size() > text.size())
    return false;
  for (size_t i = 0; i + part.size() <= text.size(); i++) {
    if (equals_ignoring_case(text.substr(i, part.size()), part))
      return true;
  }
  return false;
}

// Every object and array under @root, shallowest first, in the order sent.
std::vector<JsonNode *> containers_breadth_first(JsonNode *root) {
  std::vector<JsonNode *> order;
  if (root == nullptr || !(JSON_NODE_HOLDS_OBJECT(root) || JSON_NODE_HOLDS_ARRAY(root)))
    return order;
  order.push_back(root);
  for (size_t next = 0; next < order.size(); next++) {
    JsonNode *node = order[next];
    auto visit = [&order](JsonNode *child) {
      if (child != nullptr && (JSON_NODE_HOLDS_OBJECT(child) || JSON_NODE_HOLDS_ARRAY(child)))
        order.push_back(child);
    };
    if (JSON_NODE_HOLDS_OBJECT(node)) {
      JsonObjectIter iter;
      const gchar *name = nullptr;
      JsonNode *child = nullptr;
      json_object_iter_init_ordered(&iter, json_node_get_object(node));
      while (json_object_iter_next_ordered(&iter, &name, &child))
        visit(child);
    } else {
      JsonArray *array = json_node_get_array(node);
      for (guint i = 0; i < json_array_get_length(array); i++)
        visit(json_array_get_element(array, i));
    }
  }
  return order;
}

// The first string directly inside @container (members or elements, in the
// order sent) that @accepts; "" when none.
template <typename Accepts>
std::string first_string_in(JsonNode *container, const Accepts &accepts) {
  auto check = [&accepts](JsonNode *child) {
    return value_type(child) == G_TYPE_STRING && accepts(string_of(child));
  };
  if (JSON_NODE_HOLDS_OBJECT(container)) {
    JsonObjectIter iter;
    const gchar *name = nullptr;
    JsonNode *child = nullptr;
    json_object_iter_init_ordered(&iter, json_node_get_object(container));
    while (json_object_iter_next_ordered(&iter, &name, &child)) {
      if (check(child))
        return string_of(child);
    }
    return "";
  }
  JsonArray *array = json_node_get_array(container);
  for (guint i = 0; i < json_array_get_length(array); i++) {
    if (JsonNode *child = json_array_get_element(array, i); check(child))
      return string_of(child);
  }
  return "";
}

// Pass 1 on one object: the known members, in the order of kRecordingKeys.
std::string known_member_url(JsonObject *obj) {
  for (const char *key : kRecordingKeys) {
    JsonNode *value = member(obj, key);
    if (value_type(value) == G_TYPE_STRING && is_http_url(string_of(value)))
      return string_of(value);
    JsonObject *nested = object_member(obj, key);
    for (const char *link : {"url", "href"}) {
      JsonNode *url = member(nested, link);
      if (value_type(url) == G_TYPE_STRING && is_http_url(string_of(url)))
        return string_of(url);
    }
  }
  return "";
}

std::string conversation_id_of(JsonNode *root) {
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root))
    return "";
  JsonObject *obj = json_node_get_object(root);
  std::string id = text_at(obj, "conversation_id");
  return id.empty() ? text_at(object_member(obj, "data"), "conversation_id") : id;
}

}  // namespace

// --- signature ---------------------------------------------------------------------

const char *signature_result_reason(SignatureResult result) {
  switch (result) {
    case SignatureResult::kValid:
      return "signature valid";
    case SignatureResult::kMissing:
      return "no ElevenLabs-Signature header";
    case SignatureResult::kMalformed:
      return "ElevenLabs-Signature is not t=<unix seconds>,v0=<64 hex digits>";
    case SignatureResult::kStale:
      return "ElevenLabs-Signature timestamp is more than 30 minutes away from now";
    case SignatureResult::kMismatch:
      return "ElevenLabs-Signature does not match the body";
  }
  return "unknown signature result";
}

SignatureResult verify_signature(std::string_view header, std::string_view body,
                                 std::string_view secret, gint64 now_unix,
                                 gint64 tolerance_s) {
  if (trim(header).empty())
    return SignatureResult::kMissing;
  SignatureHeader parsed;
  if (!parse_signature_header(header, parsed))
    return SignatureResult::kMalformed;
  // t is never negative, so t - now cannot overflow for any real clock.
  if (parsed.timestamp < now_unix - tolerance_s ||
      parsed.timestamp - now_unix > tolerance_s)
    return SignatureResult::kStale;
  if (secret.empty())
    return SignatureResult::kMismatch;

  auto expected = hmac_sha256(secret, parsed.timestamp_text, body);
  bool matched = false;
  // Every entry, every byte: the time taken says nothing about which matched.
  for (const auto &digest : parsed.digests) {
    guint8 difference = 0;
    for (size_t i = 0; i < kDigestBytes; i++)
      difference |= digest[i] ^ expected[i];
    matched |= difference == 0;
  }
  return matched ? SignatureResult::kValid : SignatureResult::kMismatch;
}

std::string signature_header(std::string_view secret, gint64 timestamp,
                             std::string_view body) {
  std::string t = std::to_string(timestamp);
  auto digest = hmac_sha256(secret, t, body);
  std::string header = "t=" + t + ",v0=";
  for (guint8 byte : digest) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", byte);
    header += hex;
  }
  return header;
}

// --- webhooks --------------------------------------------------------------------------

std::variant<Webhook, ParseError> parse_webhook(std::string_view body) {
  AudioScan scan = scan_full_audio(body);
  if (scan.problem)
    return ParseError{*scan.problem};
  // The body minus the audio: all json-glib ever sees.
  std::string rest;
  std::string_view text = body;
  if (scan.location) {
    rest.reserve(body.size() - scan.location->length);
    rest.append(body.substr(0, scan.location->offset));
    rest.append(body.substr(scan.location->offset + scan.location->length));
    text = rest;
  }

  g_autoptr(JsonParser) parser = json_parser_new();
  auto loaded = load_object(text, parser);
  if (auto *error = std::get_if<ParseError>(&loaded))
    return *error;
  JsonObject *root = std::get<JsonObject *>(loaded);

  JsonNode *type = member(root, "type");
  if (value_type(type) != G_TYPE_STRING || *string_of(type) == '\0')
    return ParseError{"no \"type\" string"};
  JsonObject *data = object_member(root, "data");
  if (data == nullptr)
    return ParseError{"no \"data\" object"};

  Webhook hook;
  hook.type_name = string_of(type);
  hook.type = type_from_name(hook.type_name);
  hook.event_timestamp = integer_at(root, "event_timestamp");
  read_data(hook, data);
  if (hook.type == WebhookType::kUnknown)
    return hook;
  if (value_type(member(data, "conversation_id")) != G_TYPE_STRING ||
      hook.conversation_id.empty())
    return ParseError{hook.type_name + " without a data.conversation_id string"};
  if (hook.type == WebhookType::kPostCallAudio) {
    if (auto error = read_full_audio(hook, data, scan))
      return *error;
  }
  hook.recording_url = find_recording_url(json_parser_get_root(parser));
  return hook;
}

bool decode_base64_to(std::string_view b64,
                      const std::function<bool(const uint8_t *, size_t)> &sink,
                      std::string *error) {
  auto fail = [error](std::string reason) {
    if (error != nullptr)
      *error = std::move(reason);
    return false;
  };
  if (b64.size() % 4 != 0)
    return fail("base64 length " + std::to_string(b64.size()) +
                " is not a multiple of 4");
  size_t padding = 0;
  while (padding < 2 && padding < b64.size() && b64[b64.size() - 1 - padding] == '=')
    padding++;
  for (size_t i = 0; i < b64.size() - padding; i++) {
    char c = b64[i];
    if (g_ascii_isalnum(c) || c == '+' || c == '/')
      continue;
    char shown[8];
    std::snprintf(shown, sizeof shown, "0x%02x", static_cast<unsigned char>(c));
    return fail(std::string(c == '=' ? "'=' padding" : "byte ") +
                (c == '=' ? "" : shown) + " at offset " + std::to_string(i) +
                (c == '=' ? " before the end" : " is not base64"));
  }

  std::vector<guchar> bytes(kDecodeStep / 4 * 3 + 3);
  gint state = 0;
  guint save = 0;
  for (size_t offset = 0; offset < b64.size(); offset += kDecodeStep) {
    size_t length = std::min(kDecodeStep, b64.size() - offset);
    gsize decoded = g_base64_decode_step(b64.data() + offset, length, bytes.data(),
                                         &state, &save);
    if (decoded > 0 && !sink(bytes.data(), decoded))
      return fail("the audio could not be stored (the sink stopped at input offset " +
                  std::to_string(offset) + ")");
  }
  return true;
}

// --- recording URLs ---------------------------------------------------------------------

std::string find_recording_url(JsonNode *conversation_or_payload) {
  std::vector<JsonNode *> containers = containers_breadth_first(conversation_or_payload);
  for (JsonNode *node : containers) {
    if (JSON_NODE_HOLDS_OBJECT(node)) {
      if (std::string url = known_member_url(json_node_get_object(node)); !url.empty())
        return url;
    }
  }
  for (JsonNode *node : containers) {
    std::string url = first_string_in(node, [](std::string_view text) {
      std::string path;
      return is_http_url(text, &path) && ends_in_audio_extension(path);
    });
    if (!url.empty())
      return url;
  }
  std::string id = conversation_id_of(conversation_or_payload);
  if (id.empty())
    return "";
  for (JsonNode *node : containers) {
    std::string url = first_string_in(node, [&id](std::string_view text) {
      return text.find(id) != std::string_view::npos &&
             (contains_ignoring_case(text, "audio") ||
              contains_ignoring_case(text, "recording")) &&
             is_http_url(text);
    });
    if (!url.empty())
      return url;
  }
  return "";
}

std::string find_recording_url_in_json(std::string_view json) {
  g_autoptr(JsonParser) parser = json_parser_new();
  if (json.empty() || raw_text_problem(json))
    return "";
  if (!json_parser_load_from_data(parser, json.data(), static_cast<gssize>(json.size()),
                                  nullptr))
    return "";
  return find_recording_url(json_parser_get_root(parser));
}

// --- file names ------------------------------------------------------------------------------

std::string storage_directory(std::string_view caller_phone,
                              std::string_view conversation_id) {
  std::string name = sanitize_path_component(caller_phone);
  if (name.empty())
    name = sanitize_path_component(conversation_id);
  return name.empty() ? "unknown" : name;
}

namespace {

std::string conversation_file_name(std::string_view conversation_id,
                                   const char *suffix) {
  // ElevenLabs ids already start with "conv_" (seed 000:
  // conv_0901k9nsfrp6e4s9d81jt0jhe75n_audio.mp3): the prefix is not doubled.
  std::string id = sanitize_path_component(conversation_id);
  if (id.empty())
    id = "unknown";
  return (id.rfind("conv_", 0) == 0 ? id : "conv_" + id) + suffix;
}

}  // namespace

std::string transcription_file_name(std::string_view conversation_id) {
  return conversation_file_name(conversation_id, "_transcription.json");
}

std::string audio_file_name(std::string_view conversation_id) {
  return conversation_file_name(conversation_id, "_audio.mp3");
}

}  // namespace callstream::elevenlabs
