#include "webhooks.h"

#include <glib/gstdio.h>

#include <utility>
#include <variant>

#include "http_auth.h"
#include "log.h"
#include "metrics.h"
#include "records.h"
#include "redis_store.h"

namespace callstreamd {

namespace elevenlabs = callstream::elevenlabs;

namespace {

// The body collect_body gathers, kept on the message until handle() takes it.
constexpr char kCollectedBody[] = "callstreamd-webhook-body";

struct CollectedBody {
  GByteArray *bytes = nullptr;
  size_t max_bytes = 0;
  bool too_large = false;

  ~CollectedBody ()
  {
    if (bytes != nullptr)
      g_byte_array_unref (bytes);
  }
};

void
gather_chunk (SoupServerMessage *, GBytes *chunk, gpointer data)
{
  auto *body = static_cast<CollectedBody *> (data);
  gsize size = 0;
  const auto *bytes = static_cast<const guint8 *> (g_bytes_get_data (chunk, &size));
  if (body->too_large || body->bytes == nullptr)
    return;
  if (body->bytes->len + size > body->max_bytes) {
    body->too_large = true;
    g_byte_array_set_size (body->bytes, 0);
    return;
  }
  g_byte_array_append (body->bytes, bytes, static_cast<guint> (size));
}


std::string
dir_key (const std::string &conversation_id)
{
  return "webhook_dir:" + conversation_id;
}

std::string
recording_key (const std::string &conversation_id)
{
  return "recording:" + conversation_id;
}

void
answer (SoupServerMessage *msg, guint status, const std::string &reason,
    const std::string &json_body = "")
{
  soup_server_message_set_status (msg, status, status == SOUP_STATUS_OK ? nullptr
      : reason.c_str ());
  const std::string body = json_body.empty () ? reason + "\n" : json_body;
  soup_server_message_set_response (msg, json_body.empty () ? "text/plain; charset=utf-8"
      : "application/json", SOUP_MEMORY_COPY, body.data (), body.size ());
}

// Writes @data to @path atomically (a temporary file renamed into place).
bool
write_file (const std::string &path, const char *data, size_t size, std::string *error)
{
  g_autofree gchar *directory = g_path_get_dirname (path.c_str ());
  if (g_mkdir_with_parents (directory, 0755) != 0) {
    *error = std::string ("cannot create ") + directory + ": " + g_strerror (errno);
    return false;
  }
  g_autoptr (GError) write_error = nullptr;
  if (!g_file_set_contents_full (path.c_str (), data, static_cast<gssize> (size),
          G_FILE_SET_CONTENTS_CONSISTENT, 0644, &write_error)) {
    *error = write_error->message;
    return false;
  }
  return true;
}

// The records a webhook says something about; only what it carries is set.
void
records_of (const elevenlabs::Webhook &webhook, ConversationRecord &conversation,
    CallRecord &call)
{
  conversation.conversation_id = webhook.conversation_id;
  call.id = !webhook.call_sid.empty () ? webhook.call_sid : webhook.conversation_id;
  call.conversation_id = webhook.conversation_id;
  call.provider = std::string ("elevenlabs");
  auto set = [] (std::optional<std::string> &field, const std::string &value) {
    if (!value.empty ())
      field = value;
  };
  set (conversation.agent_id, webhook.agent_id);
  set (call.agent_id, webhook.agent_id);
  set (conversation.status, webhook.status);
  set (conversation.direction, webhook.direction);
  set (call.direction, webhook.direction);
  set (conversation.call_sid, webhook.call_sid);
  set (call.call_sid, webhook.call_sid);
  // The caller is "from" on an inbound call, "to" on an outbound one.
  const bool outbound = webhook.direction == "outbound";
  set (outbound ? conversation.to_number : conversation.from_number, webhook.caller_phone);
  set (outbound ? conversation.from_number : conversation.to_number, webhook.called_number);
  set (outbound ? call.to_number : call.from_number, webhook.caller_phone);
  set (outbound ? call.from_number : call.to_number, webhook.called_number);
  if (webhook.start_time_unix_secs) {
    conversation.started_at = *webhook.start_time_unix_secs;
    call.started_at = *webhook.start_time_unix_secs;
  } else if (webhook.event_timestamp) {
    call.started_at = *webhook.event_timestamp;
  }
  if (webhook.call_duration_secs) {
    conversation.duration_seconds = *webhook.call_duration_secs;
    call.duration_seconds = *webhook.call_duration_secs;
    if (webhook.start_time_unix_secs) {
      conversation.ended_at = *webhook.start_time_unix_secs + *webhook.call_duration_secs;
      call.ended_at = conversation.ended_at;
    }
  }
  set (conversation.termination_reason, webhook.termination_reason);
  set (conversation.call_successful, webhook.call_successful);
  set (conversation.transcript_summary, webhook.transcript_summary);
  set (call.transcript_summary, webhook.transcript_summary);
  set (conversation.recording_url, webhook.recording_url);
  set (call.recording_url, webhook.recording_url);
  set (conversation.failure_reason, webhook.failure_reason);
  set (call.failure_reason, webhook.failure_reason);
  if (webhook.type == elevenlabs::WebhookType::kCallInitiationFailure) {
    call.status = std::string ("failed");
    conversation.status = std::string ("failed");
  } else if (webhook.status == "done") {
    call.status = std::string ("completed");
  } else {
    set (call.status, webhook.status);
  }
}

const char *
phone_source_name (elevenlabs::PhoneSource source)
{
  switch (source) {
    case elevenlabs::PhoneSource::kCallerId:
      return "system__caller_id";
    case elevenlabs::PhoneSource::kExternalNumber:
      return "metadata.phone_call.external_number";
    case elevenlabs::PhoneSource::kFailureBody:
      return "failure metadata";
    case elevenlabs::PhoneSource::kNone:
      break;
  }
  return "none (files under the conversation id)";
}

void
log_failure (const char *event, const std::string &conversation_id, const std::string &error)
{
  if (!error.empty ())
    log::warning (event, { { "conversation", conversation_id }, { "error", error } });
}

}  // namespace

PostCallWebhooks::PostCallWebhooks (Options options, RedisStore &redis, RecordStore &records,
    AudioCache &cache, Metrics &metrics)
  : options_ (std::move (options)), redis_ (redis), records_ (records), cache_ (cache),
    metrics_ (metrics), alive_ (std::make_shared<bool> (true))
{
  metrics_.counter (kWebhooksTotal, "elevenlabs");
  metrics_.counter (kRequestsRefusedTotal, "elevenlabs");
}

PostCallWebhooks::~PostCallWebhooks ()
{
  *alive_ = false;
}

std::string
PostCallWebhooks::recording_path (const std::string &conversation_id)
{
  g_autofree gchar *escaped = g_uri_escape_string (conversation_id.c_str (), nullptr, FALSE);
  return std::string ("/recordings/") + escaped + ".mp3";
}

std::string
PostCallWebhooks::base_url (SoupServerMessage *msg) const
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  return public_base_url (options_.public_url, soup_message_headers_get_one (headers, "Host"),
      soup_message_headers_get_one (headers, "X-Forwarded-Proto"));
}

void
PostCallWebhooks::collect_body (SoupServerMessage *msg, size_t max_bytes)
{
  auto *body = new CollectedBody;
  body->max_bytes = max_bytes;
  const goffset length = soup_message_headers_get_content_length (
      soup_server_message_get_request_headers (msg));
  body->bytes = g_byte_array_sized_new (length > 0
      && static_cast<size_t> (length) <= max_bytes ? static_cast<guint> (length) : 0);
  g_object_set_data_full (G_OBJECT (msg), kCollectedBody, body,
      [] (gpointer data) { delete static_cast<CollectedBody *> (data); });
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (gather_chunk), body);
}

void
PostCallWebhooks::handle (SoupServerMessage *msg)
{
  auto refuse = [this, msg] (guint status, const std::string &reason) {
    metrics_.counter (kRequestsRefusedTotal, "elevenlabs").inc ();
    log::warning ("webhook_refused", { { "route", "/voice/post_call" },
          { "status", std::to_string (status) }, { "reason", reason } });
    answer (msg, status, reason);
  };
  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
        "POST");
    return refuse (SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
  }
  // The body as collect_body gathered it, else as libsoup accumulated it.
  auto *collected = static_cast<CollectedBody *> (g_object_get_data (G_OBJECT (msg),
          kCollectedBody));
  SoupMessageBody *request_body = soup_server_message_get_request_body (msg);
  if (collected != nullptr ? collected->too_large
      : static_cast<size_t> (request_body->length) > options_.max_body_bytes)
    return refuse (SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
        "body larger than MAX_WEBHOOK_BYTES (" + std::to_string (options_.max_body_bytes) + ")");
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *type = soup_message_headers_get_content_type (headers, nullptr);
  if (type != nullptr && g_ascii_strcasecmp (type, "application/json") != 0)
    return refuse (SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
        std::string ("expected application/json, not ") + type);
  g_autoptr (GBytes) bytes = nullptr;
  if (collected != nullptr && collected->bytes != nullptr)
    bytes = g_byte_array_free_to_bytes (std::exchange (collected->bytes, nullptr));
  else
    bytes = soup_message_body_flatten (request_body);
  gsize size = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (bytes, &size));
  const std::string_view body (data ? data : "", size);
  const char *signature = soup_message_headers_get_one (headers, "ElevenLabs-Signature");
  const auto verdict = elevenlabs::verify_signature (signature ? signature : "", body,
      options_.secret, g_get_real_time () / G_USEC_PER_SEC);
  if (verdict != elevenlabs::SignatureResult::kValid)
    return refuse (SOUP_STATUS_UNAUTHORIZED, std::string ("ElevenLabs-Signature: ")
        + elevenlabs::signature_result_reason (verdict));
  auto parsed = elevenlabs::parse_webhook (body);
  if (auto *error = std::get_if<elevenlabs::ParseError> (&parsed))
    return refuse (SOUP_STATUS_BAD_REQUEST, "not a post-call webhook: " + error->reason);
  const elevenlabs::Webhook &webhook = std::get<elevenlabs::Webhook> (parsed);
  metrics_.counter (kWebhooksTotal, "elevenlabs").inc ();
  log::info ("webhook_received", { { "type", webhook.type_name },
        { "conversation", webhook.conversation_id }, { "bytes", std::to_string (size) } });
  const std::string base = base_url (msg);
  const std::string id = webhook.conversation_id;
  Done done = [id] (std::string error) { log_failure ("webhook_not_processed", id, error); };
  // 200 only once the data survives us (a SIGKILL right after the answer):
  // the provider does not send it again.
  g_object_ref (msg);  // held while paused: the client may leave meanwhile
  soup_server_message_pause (msg);
  Stored stored = [this, msg] (bool ok, std::string detail) {
    if (ok) {
      answer (msg, SOUP_STATUS_OK, "", "{\"status\":\"received\"}");
    } else {
      metrics_.counter ("callstreamd_webhooks_not_stored_total",
          "Webhooks answered 500: their body could not be stored.", "elevenlabs").inc ();
      answer (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "not stored: " + detail);
    }
    soup_server_message_unpause (msg);
    g_object_unref (msg);
  };
  switch (webhook.type) {
    case elevenlabs::WebhookType::kPostCallTranscription:
      process_transcription (webhook, std::string (body), base, done, stored);
      break;
    case elevenlabs::WebhookType::kPostCallAudio:{
      // Decoded in steps straight into the one copy we keep.
      std::string audio;
      std::string error;
      const auto &where = *webhook.full_audio;
      audio.reserve (where.length / 4 * 3 + 3);
      if (!elevenlabs::decode_base64_to (body.substr (where.offset, where.length),
              [&audio] (const uint8_t *chunk, size_t n) {
                audio.append (reinterpret_cast<const char *> (chunk), n);
                return true;
              }, &error)) {
        refuse (SOUP_STATUS_BAD_REQUEST, "full_audio: " + error);
        soup_server_message_unpause (msg);
        g_object_unref (msg);
        return;
      }
      // The body is not needed any more: gone before the audio is written.
      g_clear_pointer (&bytes, g_bytes_unref);
      process_audio (id, std::move (audio), base, done, stored);
      break;
    }
    case elevenlabs::WebhookType::kCallInitiationFailure:
      process_failure (webhook, done);
      stored (true, "");
      break;
    case elevenlabs::WebhookType::kUnknown:
      log::info ("webhook_ignored", { { "type", webhook.type_name },
            { "conversation", id } });
      stored (true, "");
      break;
  }
}

void
PostCallWebhooks::process_transcription (const elevenlabs::Webhook &webhook, std::string body,
    const std::string &base, Done done, Stored stored)
{
  const std::string id = webhook.conversation_id;
  const std::string directory = elevenlabs::storage_directory (webhook.caller_phone, id);
  const std::string relative = directory + "/" + elevenlabs::transcription_file_name (id);
  std::string error;
  if (!write_file (options_.data_dir + "/" + relative, body.data (), body.size (), &error)) {
    log::error ("transcription_not_saved", { { "conversation", id }, { "error", error } });
    if (stored)
      stored (false, error);
    return done (error);
  }
  if (stored)
    stored (true, "");
  log::info ("transcription_saved", { { "conversation", id },
        { "path", options_.data_dir + "/" + relative },
        { "phone_source", phone_source_name (webhook.caller_phone_source) } });
  ConversationRecord conversation;
  CallRecord call;
  records_of (webhook, conversation, call);
  auto alive = alive_;
  redis_.command ({ "SET", dir_key (id), directory }, [] (RedisReply) {});
  records_.upsert_conversation (conversation, [] (std::string) {});
  records_.upsert_call (call, [this, alive, id, directory, base, done] (std::string error) {
        if (!*alive)
          return;
        log_failure ("record_not_saved", id, error);
        // The audio that came first, if any.
        cache_.take (id, [this, alive, id, directory, base, done] (
                std::optional<std::string> audio) {
              if (!*alive)
                return;
              if (audio) {
                write_audio (id, directory, *audio, base, "cached", done);
                return;
              }
              redis_.command ({ "EXISTS", recording_key (id) }, [id, done] (RedisReply reply) {
                    if (!(reply.ok () && reply.integer == 1))
                      log::warning ("no_cached_audio", { { "conversation", id },
                            { "message", "No cached audio webhook found for conversation " + id
                              + ". Audio webhook may not have been received, expired from "
                              "cache, or failed to cache (it is written when it comes)." } });
                    done ("");
                  });
            });
      });
}

void
PostCallWebhooks::process_audio (const std::string &id, std::string audio,
    const std::string &base, Done done, Stored stored)
{
  auto alive = alive_;
  auto shared = std::make_shared<std::string> (std::move (audio));
  redis_.command ({ "GET", dir_key (id) }, [this, alive, id, shared, base, done, stored] (
          RedisReply reply) {
        if (!*alive) {
          if (stored)
            stored (false, "shutting down");
          return;
        }
        if (reply.type == RedisReply::Type::kString)
          return write_audio (id, reply.str, *shared, base, "direct", done, stored);
        // Its transcription has not come yet: keep the audio until it does.
        const size_t bytes = shared->size ();
        cache_.put (id, std::move (*shared), 0, [this, alive, id, bytes, base, done, stored] (
                AudioCache::Where where) {
              // In memory (Redis down) is answered 200 too: a provider that
              // sees failures may stop sending; it is written at shutdown.
              if (stored)
                stored (true, "");
              if (!*alive)
                return;
              log::info ("audio_cached", { { "conversation", id },
                    { "bytes", std::to_string (bytes) },
                    { "where", where == AudioCache::Where::kRedis ? "redis"
                      : "memory (Redis unreachable)" },
                    { "message", "Cached audio webhook for conversation " + id
                      + ", waiting for transcription" } });
              // The transcription may have come while we cached.
              redis_.command ({ "GET", dir_key (id) }, [this, alive, id, base, done] (
                      RedisReply reply) {
                    if (!*alive || reply.type != RedisReply::Type::kString)
                      return done ("");
                    const std::string directory = reply.str;
                    cache_.take (id, [this, alive, id, directory, base, done] (
                            std::optional<std::string> audio) {
                          if (*alive && audio)
                            write_audio (id, directory, *audio, base, "cached", done);
                          else
                            done ("");
                        });
                  });
            });
      });
}

void
PostCallWebhooks::audio_expired (const std::string &id, std::string audio)
{
  const std::string directory = elevenlabs::storage_directory ("", id);
  log::warning ("audio_cache_expired", { { "conversation", id },
        { "message", "no transcription came within AUDIO_CACHE_TTL: the audio is written "
          "under the conversation id" } });
  write_audio (id, directory, audio, options_.public_url, "expired",
      [id] (std::string error) { log_failure ("audio_not_saved", id, error); });
}

void
PostCallWebhooks::write_audio (const std::string &id, const std::string &directory,
    const std::string &audio, const std::string &base, const char *how, Done done,
    Stored stored)
{
  const std::string relative = directory + "/" + elevenlabs::audio_file_name (id);
  const std::string path = options_.data_dir + "/" + relative;
  std::string error;
  if (!write_file (path, audio.data (), audio.size (), &error)) {
    log::error ("audio_not_saved", { { "conversation", id }, { "error", error } });
    if (stored)
      stored (false, error);
    return done (error);
  }
  if (stored)
    stored (true, "");
  if (g_str_equal (how, "cached"))
    log::info ("cached_audio_processed", { { "conversation", id }, { "path", path },
          { "message", "Processed cached audio webhook: " + path } });
  else
    log::info ("audio_saved", { { "conversation", id }, { "path", path }, { "how", how },
          { "bytes", std::to_string (audio.size ()) } });
  auto alive = alive_;
  redis_.command ({ "SET", recording_key (id), relative }, [] (RedisReply) {});
  // The payload's own URL stays; without one, ours.
  records_.get_conversation (id, [this, alive, id, base, done] (
          std::optional<ConversationRecord> existing, std::string) {
        if (!*alive)
          return;
        const std::string url = existing && existing->recording_url
            && !existing->recording_url->empty () ? *existing->recording_url
            : base + recording_path (id);
        ConversationRecord conversation;
        conversation.conversation_id = id;
        conversation.recording_url = url;
        CallRecord call;
        call.id = existing && existing->call_sid ? *existing->call_sid : id;
        call.conversation_id = id;
        call.recording_url = url;
        records_.upsert_conversation (conversation, [] (std::string) {});
        records_.upsert_call (call, done);
      });
}

void
PostCallWebhooks::process_failure (const elevenlabs::Webhook &webhook, Done done)
{
  ConversationRecord conversation;
  CallRecord call;
  records_of (webhook, conversation, call);
  log::warning ("call_initiation_failure", { { "conversation", webhook.conversation_id },
        { "reason", webhook.failure_reason } });
  records_.upsert_conversation (conversation, [] (std::string) {});
  records_.upsert_call (call, done);
}

}  // namespace callstreamd
