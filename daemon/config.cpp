#include "config.h"

#include <glib.h>

#include <cmath>
#include <cstring>
#include <variant>
#include <vector>

namespace callstreamd {

namespace {

using Member = std::variant<std::string Config::*, bool Config::*, unsigned Config::*,
    double Config::*>;

// One environment variable: where it goes, what it must be.
struct Variable {
  const char *name;
  Member member;
  const char *what;                  // completes "NAME: \"value\" is not <what>"
  double min = 0;                    // numbers: inclusive range
  double max = 0;
  bool (*valid) (const std::string &) = nullptr;  // text: extra rule
  bool secret = false;
};

bool
has_scheme (const std::string &text, std::initializer_list<const char *> schemes)
{
  g_autoptr (GUri) uri = g_uri_parse (text.c_str (), G_URI_FLAGS_NONE, nullptr);
  if (uri == nullptr)
    return false;
  for (const char *scheme : schemes)
    if (g_ascii_strcasecmp (g_uri_get_scheme (uri), scheme) == 0)
      return g_strcmp0 (scheme, "unix") == 0 || (g_uri_get_host (uri) != nullptr
          && g_uri_get_host (uri)[0] != '\0');
  return false;
}

bool
is_ip_address (const std::string &text)
{
  return g_hostname_is_ip_address (text.c_str ());
}

bool
is_redis_url (const std::string &text)
{
  return text.empty () || has_scheme (text, { "redis", "unix" });
}

bool
is_redis_streams (const std::string &text)
{
  return text == "redis_streams";
}

bool
is_dump_format (const std::string &text)
{
  return text == "wav" || text == "flac" || text == "raw";
}

bool
is_websocket_url (const std::string &text)
{
  return has_scheme (text, { "ws", "wss" });
}

bool
is_http_url (const std::string &text)
{
  return has_scheme (text, { "http", "https" });
}

bool
is_empty_or_http_url (const std::string &text)
{
  return text.empty () || is_http_url (text);
}

bool
is_not_empty (const std::string &text)
{
  return !text.empty ();
}

const std::vector<Variable> &
variables ()
{
  static const std::vector<Variable> table = {
    { "PORT", &Config::port, "a port number (0-65535)", 0, 65535 },
    { "HOST", &Config::host, "an IP address to listen on (0.0.0.0, 127.0.0.1, ::)", 0, 0,
      is_ip_address },
    { "MAX_CALLS", &Config::max_calls, "a number of calls (1-1000000)", 1, 1000000 },
    { "IDLE_TIMEOUT_S", &Config::idle_timeout_s, "a number of seconds (1-86400)", 1, 86400 },
    { "MAX_MESSAGE_BYTES", &Config::max_message_bytes,
      "a message size in bytes (1024-67108864)", 1024, 64.0 * 1024 * 1024 },
    { "SHUTDOWN_TIMEOUT_S", &Config::shutdown_timeout_s, "a number of seconds (0-3600)", 0,
      3600 },
    { "PIPELINES_DIR", &Config::pipelines_dir, "a directory" },
    { "REDIS_URL", &Config::redis_url, "a redis:// or unix:// URL (or empty)", 0, 0,
      is_redis_url },
    { "PUBSUB_ADAPTER", &Config::pubsub_adapter, "a supported adapter (redis_streams)", 0, 0,
      is_redis_streams },
    { "REDIS_STREAM", &Config::redis_stream, "a stream key", 0, 0, is_not_empty },
    { "SUPPORT_EXOTEL", &Config::support_exotel, nullptr },
    { "EXOTEL_BASIC_USER", &Config::exotel_basic_user, "a user name" },
    { "EXOTEL_BASIC_PASSWORD", &Config::exotel_basic_password, "a password", 0, 0, nullptr,
      true },
    { "EXOTEL_IP_ALLOWLIST", &Config::exotel_ip_allowlist, "an address list" },
    { "AUDIO_DUMP_ENABLED", &Config::audio_dump_enabled, nullptr },
    { "AUDIO_DUMP_DIR", &Config::audio_dump_dir, "a directory", 0, 0, is_not_empty },
    { "AUDIO_DUMP_FORMAT", &Config::audio_dump_format, "one of wav, flac, raw", 0, 0,
      is_dump_format },
    { "OPENAI_API_KEY", &Config::openai_api_key, "an API key", 0, 0, nullptr, true },
    { "OPENAI_REALTIME_URL", &Config::openai_realtime_url, "a ws:// or wss:// URL", 0, 0,
      is_websocket_url },
    { "OPENAI_REALTIME_MODEL", &Config::openai_realtime_model, "a model name", 0, 0,
      is_not_empty },
    { "OPENAI_VOICE", &Config::openai_voice, "a voice name" },
    { "REALTIME_INSTRUCTIONS", &Config::realtime_instructions, "instructions" },
    { "REALTIME_GREETING", &Config::realtime_greeting, "a greeting" },
    { "REALTIME_API_PROBABILITY", &Config::realtime_api_probability,
      "a probability (0-1, e.g. 0.25)", 0, 1 },
    { "TWILIO_AUTH_TOKEN", &Config::twilio_auth_token, "a token", 0, 0, nullptr, true },
    { "TWILIO_ACCOUNT_SID", &Config::twilio_account_sid, "an account SID" },
    { "TWILIO_API_URL", &Config::twilio_api_url, "an http:// or https:// URL", 0, 0,
      is_http_url },
    { "PUBLIC_URL", &Config::public_url, "an http:// or https:// URL (or empty)", 0, 0,
      is_empty_or_http_url },
    { "VOICE_GREETING", &Config::voice_greeting, "a greeting" },
    { "ELEVENLABS_WEBHOOK_SECRET", &Config::elevenlabs_webhook_secret, "a secret", 0, 0,
      nullptr, true },
    { "ELEVENLABS_API_KEY", &Config::elevenlabs_api_key, "an API key", 0, 0, nullptr, true },
    { "ELEVENLABS_API_URL", &Config::elevenlabs_api_url, "an http:// or https:// URL", 0, 0,
      is_http_url },
    { "WEBHOOK_DATA_DIR", &Config::webhook_data_dir, "a directory", 0, 0, is_not_empty },
    { "AUDIO_CACHE_TTL", &Config::audio_cache_ttl, "a number of seconds (1-604800)", 1,
      604800 },
    { "MAX_WEBHOOK_BYTES", &Config::max_webhook_bytes,
      "a body size in bytes (1024-1073741824)", 1024, 1024.0 * 1024 * 1024 },
    { "API_TOKEN", &Config::api_token, "a token", 0, 0, nullptr, true },
    { "REDIS_INDEX_STREAM", &Config::redis_index_stream, "a stream key (or empty)" },
    { "TRANSCRIPTS_STREAM", &Config::transcripts_stream, "a stream key", 0, 0, is_not_empty },
    { "ASSIST_STREAM", &Config::assist_stream, "a stream key", 0, 0, is_not_empty },
    { "ASR_GROUP", &Config::asr_group, "a consumer group name", 0, 0, is_not_empty },
    { "ASR_CONSUMER", &Config::asr_consumer, "a consumer name (or empty)" },
    { "ASR_WORKER_ENABLED", &Config::asr_worker_enabled, nullptr },
    { "KNOWLEDGE_BASE", &Config::knowledge_base, "a file", 0, 0, is_not_empty },
    { "ASSIST_RECORDINGS_DIR", &Config::assist_recordings_dir, "a directory", 0, 0,
      is_not_empty },
  };
  return table;
}

// Sets the field of `variable` from `text`; false when `text` is not valid.
bool
apply (const Variable &variable, const std::string &text, Config &config)
{
  if (auto member = std::get_if<std::string Config::*> (&variable.member)) {
    if (variable.valid != nullptr && !variable.valid (text))
      return false;
    config.**member = text;
    return true;
  }
  if (auto member = std::get_if<bool Config::*> (&variable.member)) {
    const std::optional<bool> value = parse_boolean (text);
    if (value)
      config.**member = *value;
    return value.has_value ();
  }
  if (auto member = std::get_if<unsigned Config::*> (&variable.member)) {
    guint64 value = 0;
    if (!g_ascii_string_to_unsigned (text.c_str (), 10, static_cast<guint64> (variable.min),
            static_cast<guint64> (variable.max), &value, nullptr))
      return false;
    config.**member = static_cast<unsigned> (value);
    return true;
  }
  const auto member = std::get<double Config::*> (variable.member);
  char *end = nullptr;
  const double value = g_ascii_strtod (text.c_str (), &end);
  if (text.empty () || *end != '\0' || !std::isfinite (value) || value < variable.min
      || value > variable.max)
    return false;
  config.*member = value;
  return true;
}

std::string
shown (const Config &config, const Variable &variable)
{
  if (auto member = std::get_if<std::string Config::*> (&variable.member))
    return config.**member;
  if (auto member = std::get_if<bool Config::*> (&variable.member))
    return config.**member ? "true" : "false";
  if (auto member = std::get_if<unsigned Config::*> (&variable.member))
    return std::to_string (config.**member);
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_dtostr (text, sizeof text, config.*std::get<double Config::*> (
      variable.member));
}

std::string
quoted (const std::string &value)
{
  g_autofree gchar *escaped = g_strescape (value.c_str (), nullptr);
  return std::string ("\"") + escaped + "\"";
}

bool
check_pairs (const Config &config, std::string &what)
{
  if (!config.exotel_basic_user.empty () && config.exotel_basic_password.empty ())
    what = "EXOTEL_BASIC_USER: set without EXOTEL_BASIC_PASSWORD (set both or neither)";
  else if (config.exotel_basic_user.empty () && !config.exotel_basic_password.empty ())
    what = "EXOTEL_BASIC_PASSWORD: set without EXOTEL_BASIC_USER (set both or neither)";
  return what.empty ();
}

}  // namespace

std::optional<bool>
parse_boolean (std::string_view text)
{
  for (const char *yes : { "true", "1", "yes", "on" })
    if (text.size () == strlen (yes) && g_ascii_strncasecmp (text.data (), yes, text.size ()) == 0)
      return true;
  for (const char *no : { "false", "0", "no", "off" })
    if (text.size () == strlen (no) && g_ascii_strncasecmp (text.data (), no, text.size ()) == 0)
      return false;
  return std::nullopt;
}

bool
is_secret_variable (std::string_view name)
{
  for (const Variable &variable : variables ())
    if (variable.secret && name == variable.name)
      return true;
  return false;
}

bool
Config::load (const std::map<std::string, std::string> &env, Config &out, std::string *error)
{
  out = Config ();
  out.raw = env;
  std::string what;
  for (const Variable &variable : variables ()) {
    const auto found = env.find (variable.name);
    if (found == env.end () || apply (variable, found->second, out))
      continue;
    if (std::holds_alternative<bool Config::*> (variable.member))
      what = std::string (variable.name) + ": " + quoted (found->second)
          + " is not a boolean (true/false, 1/0, yes/no, on/off)";
    else
      what = std::string (variable.name) + ": " + quoted (found->second) + " is not "
          + variable.what;
    break;
  }
  if (what.empty ())
    check_pairs (out, what);
  if (!what.empty () && error != nullptr)
    *error = what;
  return what.empty ();
}

std::map<std::string, std::string>
Config::template_variables () const
{
  std::map<std::string, std::string> out;
  for (const Variable &variable : variables ())
    if (!variable.secret)
      out[variable.name] = shown (*this, variable);
  return out;
}

std::map<std::string, std::string>
merged_environment (const std::map<std::string, std::string> &dotenv)
{
  std::map<std::string, std::string> merged = dotenv;
  g_auto (GStrv) environment = g_get_environ ();
  for (gchar **entry = environment; *entry != nullptr; entry++) {
    const std::string_view text (*entry);
    const size_t equals = text.find ('=');
    if (equals != std::string_view::npos)
      merged[std::string (text.substr (0, equals))] = std::string (text.substr (equals + 1));
  }
  return merged;
}

}  // namespace callstreamd
