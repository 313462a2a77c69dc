// callstreamd's settings: environment variables (names kept from the
// services callstream replaces), read once at start-up.
//
//   std::map<std::string, std::string> dotenv;           // from .env, if any
//   parse_dotenv (text, dotenv, &error);
//   Config config;
//   if (!Config::load (merged_environment (dotenv), config, &error))
//     -> print error ("PORT: \"abc\" is not a port number (0-65535)"), exit
//
// The process environment wins over the .env file. Every variable has a
// default; a value that is set but wrong is an error naming the variable
// and the value (never the value of a secret). Booleans accept
// true/false, 1/0, yes/no, on/off in any case.
//
// Secrets (OPENAI_API_KEY, TWILIO_AUTH_TOKEN, EXOTEL_BASIC_PASSWORD) are kept
// in their fields and in `raw` only: template_variables() leaves them out,
// so they never reach a pipeline line or a log line (realtimebridge reads
// OPENAI_API_KEY from the environment itself).
//
// Threads: a Config is a plain value; build it on one thread, then share it
// read-only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace callstreamd {

struct Config {
  // HTTP and WebSocket server. PORT 0 takes any free port (tests).
  unsigned port = 8443;                       // PORT, 0-65535
  std::string host = "0.0.0.0";               // HOST, an IP address
  unsigned max_calls = 2000;                  // MAX_CALLS, >= 1
  unsigned idle_timeout_s = 30;               // IDLE_TIMEOUT_S, >= 1
  unsigned max_message_bytes = 262144;        // MAX_MESSAGE_BYTES, 1 KiB - 64 MiB
  unsigned shutdown_timeout_s = 10;           // SHUTDOWN_TIMEOUT_S
  std::string pipelines_dir;                  // PIPELINES_DIR, empty: the daemon decides

  // Redis Streams. An empty REDIS_URL: the daemon starts its own redis-server.
  std::string redis_url;                      // REDIS_URL, redis:// or unix://
  std::string pubsub_adapter = "redis_streams";  // PUBSUB_ADAPTER, only redis_streams
  std::string redis_stream = "audio_stream";  // REDIS_STREAM

  // Exotel.
  bool support_exotel = false;                // SUPPORT_EXOTEL
  std::string exotel_basic_user;              // EXOTEL_BASIC_USER, both or neither
  std::string exotel_basic_password;          // EXOTEL_BASIC_PASSWORD (secret)
  std::string exotel_ip_allowlist;            // EXOTEL_IP_ALLOWLIST, raw, parsed elsewhere

  // Audio dumps (chunkdumper).
  bool audio_dump_enabled = false;            // AUDIO_DUMP_ENABLED
  std::string audio_dump_dir = "./audio-dumps";  // AUDIO_DUMP_DIR
  std::string audio_dump_format = "wav";      // AUDIO_DUMP_FORMAT, wav|flac|raw

  // OpenAI Realtime (realtimebridge).
  std::string openai_api_key;                 // OPENAI_API_KEY (secret)
  std::string openai_realtime_url = "wss://api.openai.com/v1/realtime";  // ws:// or wss://
  std::string openai_realtime_model = "gpt-realtime";  // OPENAI_REALTIME_MODEL
  std::string openai_voice = "alloy";         // OPENAI_VOICE
  std::string realtime_instructions = kDefaultInstructions;  // REALTIME_INSTRUCTIONS
  std::string realtime_greeting;              // REALTIME_GREETING, empty: caller speaks first
  double realtime_api_probability = 1.0;      // REALTIME_API_PROBABILITY, 0-1

  // Twilio.
  std::string twilio_auth_token;              // TWILIO_AUTH_TOKEN (secret)
  std::string twilio_account_sid;             // TWILIO_ACCOUNT_SID
  std::string twilio_api_url = "https://api.twilio.com";  // TWILIO_API_URL, http(s)
  std::string public_url;                     // PUBLIC_URL, empty or http(s)
  std::string voice_greeting = kDefaultVoiceGreeting;  // VOICE_GREETING, traditional <Say>

  // ElevenLabs post-call webhooks, call records, recordings.
  std::string elevenlabs_webhook_secret;      // ELEVENLABS_WEBHOOK_SECRET (secret)
  std::string elevenlabs_api_key;             // ELEVENLABS_API_KEY (secret)
  std::string elevenlabs_api_url = "https://api.elevenlabs.io";  // ELEVENLABS_API_URL, http(s)
  std::string webhook_data_dir = "data/webhooks";  // WEBHOOK_DATA_DIR
  unsigned audio_cache_ttl = 3600;            // AUDIO_CACHE_TTL, seconds (1-604800)
  unsigned max_webhook_bytes = 100u << 20;    // MAX_WEBHOOK_BYTES, 1 KiB - 1 GiB
  std::string api_token;                      // API_TOKEN (secret): Bearer for /calls...

  // Agent assist (issue 8): the ASR worker and the /assist page.
  // REDIS_INDEX_STREAM set: redisstreamsink also writes each call's
  // call_start/call_end (with its stream key) there, and workers take whole
  // calls from it through the consumer group (use per-call stream keys,
  // REDIS_STREAM=audio:{{call_sid}}); empty: workers read REDIS_STREAM itself.
  std::string redis_index_stream;             // REDIS_INDEX_STREAM, empty: none
  std::string transcripts_stream = "transcripts";  // TRANSCRIPTS_STREAM
  std::string assist_stream = "assist";       // ASSIST_STREAM
  std::string asr_group = "asr";              // ASR_GROUP, the workers' consumer group
  std::string asr_consumer;                   // ASR_CONSUMER, empty: <hostname>-<pid>
  bool asr_worker_enabled = false;            // ASR_WORKER_ENABLED: the daemon runs one
  std::string knowledge_base = "kb/sample-kb.json";  // KNOWLEDGE_BASE, a file
  std::string assist_recordings_dir = "data/assist";  // ASSIST_RECORDINGS_DIR

  // Every variable the configuration was built from, as given (secrets too).
  std::map<std::string, std::string> raw;

  static constexpr const char *kDefaultInstructions =
      "You are a friendly, concise voice assistant on a phone call. Speak "
      "naturally in short sentences, ask one question at a time, and say so "
      "plainly when you do not know something.";
  static constexpr const char *kDefaultVoiceGreeting =
      "Hello, thank you for calling. Please hold while we connect you.";

  // Fills `out` from `env` (defaults for what is missing). On a bad value,
  // returns false with "NAME: \"value\" is not ..." in `error` (when not
  // null); `out` is then unspecified.
  static bool load (const std::map<std::string, std::string> &env, Config &out,
      std::string *error);

  // Every variable above, default-filled, as the strings pipeline templates
  // see (booleans "true"/"false"), without the secrets.
  std::map<std::string, std::string> template_variables () const;
};

// The .env entries with the process environment (g_get_environ) over them.
std::map<std::string, std::string> merged_environment (
    const std::map<std::string, std::string> &dotenv);

// true/false, 1/0, yes/no, on/off in any case; nullopt for anything else.
std::optional<bool> parse_boolean (std::string_view text);

// The variables that are never shown: not in template_variables(), never logged.
bool is_secret_variable (std::string_view name);

}  // namespace callstreamd
