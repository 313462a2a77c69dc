#include "diagnose.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <memory>
#include <variant>

#include "protocol/elevenlabs.h"
#include "records.h"
#include "redis_store.h"

namespace callstreamd {

namespace elevenlabs = callstream::elevenlabs;

namespace {

// The directories of WEBHOOK_DATA_DIR holding @file_name.
std::vector<std::string>
find_files (const std::string &data_dir, const std::string &file_name)
{
  std::vector<std::string> found;
  g_autoptr (GDir) dir = g_dir_open (data_dir.c_str (), 0, nullptr);
  if (dir == nullptr)
    return found;
  while (const char *entry = g_dir_read_name (dir)) {
    const std::string path = data_dir + "/" + entry + "/" + file_name;
    if (g_file_test (path.c_str (), G_FILE_TEST_IS_REGULAR))
      found.push_back (path);
  }
  return found;
}

std::string
size_of (const std::string &path)
{
  GStatBuf st;
  if (g_stat (path.c_str (), &st) != 0)
    return "?";
  g_autofree gchar *text = g_format_size (static_cast<guint64> (st.st_size));
  return text;
}

}  // namespace

std::string
diagnose_conversation (const Config &config, const std::string &redis_url,
    const std::string &id)
{
  std::string out = "Conversation " + id + "\n";
  const std::string data_dir = config.webhook_data_dir;
  const auto transcriptions = find_files (data_dir, elevenlabs::transcription_file_name (id));
  const auto audios = find_files (data_dir, elevenlabs::audio_file_name (id));

  out += "\nTranscription file: ";
  if (transcriptions.empty ())
    out += "none under " + data_dir + "/*/\n";
  else
    out += transcriptions.front () + " (" + size_of (transcriptions.front ()) + ")\n";
  out += "Audio file:         ";
  if (audios.empty ())
    out += "none under " + data_dir + "/*/\n";
  else
    out += audios.front () + " (" + size_of (audios.front ()) + ")\n";

  out += "\nPhone number extraction:\n";
  if (!transcriptions.empty ()) {
    g_autofree gchar *text = nullptr;
    gsize size = 0;
    if (g_file_get_contents (transcriptions.front ().c_str (), &text, &size, nullptr)) {
      auto parsed = elevenlabs::parse_webhook (std::string_view (text, size));
      if (auto *webhook = std::get_if<elevenlabs::Webhook> (&parsed)) {
        switch (webhook->caller_phone_source) {
          case elevenlabs::PhoneSource::kCallerId:
            out += "  " + webhook->caller_phone + " from dynamic_variables.system__caller_id\n";
            break;
          case elevenlabs::PhoneSource::kExternalNumber:
            out += "  " + webhook->caller_phone + " from metadata.phone_call.external_number\n";
            break;
          case elevenlabs::PhoneSource::kFailureBody:
            out += "  " + webhook->caller_phone + " from the failure metadata\n";
            break;
          case elevenlabs::PhoneSource::kNone:
            out += "  none: no system__caller_id, no metadata.phone_call.external_number; "
                "files go under the conversation id\n";
            break;
        }
      } else {
        out += "  the transcription file does not parse: "
            + std::get<elevenlabs::ParseError> (parsed).reason + "\n";
      }
    }
  } else {
    out += "  unknown: no transcription file\n";
  }

  out += "\nAudio cache:\n  AUDIO_CACHE_TTL=" + std::to_string (config.audio_cache_ttl)
      + " s, in Redis (key " + AudioCache::key (id) + "), in memory only while Redis is down\n";
  std::string error;
  std::unique_ptr<RedisStore> redis = redis_url.empty () ? nullptr
      : RedisStore::open (redis_url, &error);
  std::optional<AudioCache::Entry> entry;
  bool redis_ok = false;
  if (redis) {
    const RedisReply pong = redis->command_sync ({ "PING" });
    redis_ok = pong.ok ();
    if (redis_ok)
      entry = AudioCache::inspect_sync (*redis, id);
    if (entry && !entry->in_redis)
      entry.reset ();
  }
  out += "  Redis " + (redis ? redis->display_url () : redis_url) + ": "
      + (redis_ok ? "reachable" : "NOT reachable") + "\n";
  if (entry)
    out += "  cached audio: " + std::to_string (entry->bytes) + " bytes, written in "
        + (entry->ttl_ms >= 0 ? std::to_string (entry->ttl_ms / 1000) + " s" : "(no due time)")
        + " if no transcription comes\n";
  else
    out += "  cached audio: none\n";

  out += "\nLikely reasons:\n";
  if (!audios.empty ()) {
    out += "  none: the audio is saved.\n";
  } else if (entry) {
    out += "  The audio webhook came and is waiting for its transcription; it is written\n"
        "  when the transcription arrives, or under the conversation id when the TTL ends.\n";
  } else {
    out += "  - The audio webhook never came (most common): check that ElevenLabs sends\n"
        "    post_call_audio webhooks and the 'webhook_received type=post_call_audio' log line.\n"
        "  - It was refused: look for 'webhook_refused' (signature, size, content type).\n"
        "  - The file could not be written: look for 'audio_not_saved' (disk, permissions).\n";
    if (!redis_ok)
      out += "  - Redis is not reachable: audio cached in memory is lost if the daemon restarts.\n";
  }
  return out;
}

}  // namespace callstreamd
