// Building ElevenLabs post-call webhooks for tests and benchmarks: signed
// bodies (ElevenLabs-Signature), transcription and audio payloads, fake MP3s.
#pragma once

#include <glib.h>

#include <cstring>
#include <string>

#include "daemon_support.h"
#include "fake_elevenlabs_api.h"

namespace post_call_support {

using test_support::Daemon;
using test_support::http_request;
using test_support::HttpReply;

constexpr const char *kSecret = "wsec_test_secret";
using Conversation = callstream_test::FakeElevenLabsApi::Conversation;

// ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256 of "<t>.<body>">.
inline std::string
sign (const std::string &body, gint64 t = g_get_real_time () / G_USEC_PER_SEC,
    const char *secret = kSecret)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256,
      reinterpret_cast<const guchar *> (secret), strlen (secret));
  const std::string message = std::to_string (t) + "." + body;
  g_hmac_update (hmac, reinterpret_cast<const guchar *> (message.data ()), message.size ());
  return "t=" + std::to_string (t) + ",v0=" + g_hmac_get_string (hmac);
}

inline HttpReply
post_webhook (const Daemon &daemon, const std::string &body, const std::string &signature)
{
  return http_request ("POST", daemon.http ("/voice/post_call"), body, "application/json",
      { { "ElevenLabs-Signature", signature } });
}

inline std::string
transcription_body (const Conversation &c)
{
  return "{\"type\":\"post_call_transcription\",\"event_timestamp\":"
      + std::to_string (g_get_real_time () / G_USEC_PER_SEC) + ",\"data\":"
      + callstream_test::FakeElevenLabsApi::conversation_json (c, true) + "}";
}

inline std::string
audio_body (const std::string &conversation_id, const std::string &mp3)
{
  g_autofree gchar *b64 = g_base64_encode (reinterpret_cast<const guchar *> (mp3.data ()),
      mp3.size ());
  return "{\"type\":\"post_call_audio\",\"event_timestamp\":"
      + std::to_string (g_get_real_time () / G_USEC_PER_SEC)
      + ",\"data\":{\"agent_id\":\"agent_7f3b2c1d\",\"conversation_id\":\"" + conversation_id
      + "\",\"full_audio\":\"" + b64 + "\"}}";
}

inline Conversation
conversation (const std::string &id, const std::string &caller = "+16129782029")
{
  Conversation c;
  c.conversation_id = id;
  c.caller_id = caller;
  return c;
}

inline std::string
fake_mp3 (size_t size, int seed = 1)
{
  std::string mp3 = "ID3";
  mp3.resize (size);
  for (size_t i = 3; i < size; i++)
    mp3[i] = static_cast<char> ((i * 131 + seed * 17) & 0xff);
  return mp3;
}

}  // namespace post_call_support
