// ElevenLabs post-call webhooks (POST /voice/post_call) and what they leave
// behind: the transcription and audio files under WEBHOOK_DATA_DIR, the
// Conversation and Call records, and the audio cache for audio that arrives
// before its transcription. Main thread only (libsoup handlers, the record
// store's callbacks and the cache's expiry all run there).
//
// Files: <WEBHOOK_DATA_DIR>/<caller phone or conversation id>/
//   conv_<id>_transcription.json   the transcription webhook body, as sent
//   conv_<id>_audio.mp3            the decoded full_audio
// Redis: webhook_dir:<id> (the directory chosen by the transcription, so the
// audio goes next to it), recording:<id> (the audio file, relative to the
// data dir, for GET /recordings/<id>.mp3), plus the records and the cache.
//
// Either order works: audio before its transcription waits in the cache
// (Redis, or memory while Redis is down) and is written when the
// transcription comes; audio after it is written at once; audio whose
// transcription never comes is written under the conversation id when its
// TTL ends.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>

#include "protocol/elevenlabs.h"

namespace callstreamd {

class AudioCache;
class Metrics;
class RecordStore;
class RedisStore;

class PostCallWebhooks {
 public:
  struct Options {
    std::string secret;        // ELEVENLABS_WEBHOOK_SECRET; empty: every request refused
    std::string data_dir;      // WEBHOOK_DATA_DIR
    size_t max_body_bytes = 0; // MAX_WEBHOOK_BYTES
    std::string public_url;    // PUBLIC_URL ("" : the request's Host)
  };
  // @done: the outcome of one processing, for the manual sync route ("" ok).
  using Done = std::function<void (std::string error)>;
  // @stored: once the body is on disk or in Redis (ok), or could not be
  // (the reason); the webhook's answer waits for it.
  using Stored = std::function<void (bool ok, std::string detail)>;

  PostCallWebhooks (Options options, RedisStore &redis, RecordStore &records,
      AudioCache &cache, Metrics &metrics);
  ~PostCallWebhooks ();

  // POST /voice/post_call: 401 without a valid ElevenLabs-Signature, 413 over
  // the size limit, 400 for a body that is not a post-call webhook, else 200
  // once the body is on disk or in Redis (500 when it cannot be written; the
  // audio kept in memory while Redis is down is answered 200), and the
  // processing goes on.
  void handle (SoupServerMessage *msg);

  // For the early handler of /voice/post_call (headers read, body not yet):
  // the body is gathered into one buffer sized by Content-Length as it
  // arrives, instead of libsoup's chunk list and then a flattened copy of it
  // (a 27 MB webhook held once, not twice); past @max_bytes (a chunked
  // body) it stops gathering and handle() answers 413.
  static void collect_body (SoupServerMessage *msg, size_t max_bytes);

  // The same processing for a body from elsewhere (the manual sync).
  void process_transcription (const callstream::elevenlabs::Webhook &webhook,
      std::string body, const std::string &base_url, Done done, Stored stored = nullptr);
  void process_audio (const std::string &conversation_id, std::string audio,
      const std::string &base_url, Done done, Stored stored = nullptr);

  // The audio cache's expiry: its transcription never came.
  void audio_expired (const std::string &conversation_id, std::string audio);

  // The URL of our own copy of a conversation's audio.
  static std::string recording_path (const std::string &conversation_id);

 private:
  std::string base_url (SoupServerMessage *msg) const;
  void process_failure (const callstream::elevenlabs::Webhook &webhook, Done done);
  void write_audio (const std::string &conversation_id, const std::string &directory,
      const std::string &audio, const std::string &base_url, const char *how, Done done,
      Stored stored = nullptr);

  Options options_;
  RedisStore &redis_;
  RecordStore &records_;
  AudioCache &cache_;
  Metrics &metrics_;
  std::shared_ptr<bool> alive_;
};

}  // namespace callstreamd
