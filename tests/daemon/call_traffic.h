// Exotel and Twilio call traffic for the hostile-input and fault tests: the
// messages, a healthy call that must go on unaffected, the Redis view of a
// call, and the daemon's /metrics values.
#pragma once

#include <glib.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon_support.h"
#include "redis_server.h"

namespace call_traffic {

using test_support::Daemon;
using test_support::RedisServer;
using test_support::StreamEntry;

inline std::string
exotel_start (const std::string &call_sid, const std::string &sample_rate = "8000")
{
  return "{\"event\":\"start\",\"sequence_number\":1,\"stream_sid\":\"MZ" + call_sid
      + "\",\"start\":{\"call_sid\":\"" + call_sid + "\",\"account_sid\":\"AC1\","
      "\"from\":\"+911234\",\"to\":\"+915678\",\"media_format\":{\"encoding\":\"raw\","
      "\"sample_rate\":" + sample_rate + ",\"bit_rate\":\"128\"}}}";
}

inline std::string
exotel_media (int sequence, const std::string &audio)
{
  return "{\"event\":\"media\",\"sequence_number\":\"" + std::to_string (sequence)
      + "\",\"media\":{\"chunk\":\"" + std::to_string (sequence) + "\",\"timestamp\":\""
      + std::to_string ((sequence - 1) * 100) + "\",\"payload\":\""
      + test_support::base64_of (audio) + "\"}}";
}

inline std::string
exotel_stop (const std::string &call_sid)
{
  return "{\"event\":\"stop\",\"stop\":{\"call_sid\":\"" + call_sid
      + "\",\"reason\":\"callended\"}}";
}

inline std::string
twilio_start (const std::string &call_sid)
{
  return "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"MZ" + call_sid
      + "\",\"start\":{\"streamSid\":\"MZ" + call_sid + "\",\"callSid\":\"" + call_sid
      + "\",\"accountSid\":\"AC0123456789abcdef0123456789abcdef\",\"tracks\":[\"inbound\"],"
      "\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}}}";
}

inline std::string
twilio_media (const std::string &call_sid, int chunk, const std::string &audio)
{
  return "{\"event\":\"media\",\"sequenceNumber\":\"" + std::to_string (chunk + 1)
      + "\",\"streamSid\":\"MZ" + call_sid + "\",\"media\":{\"track\":\"inbound\",\"chunk\":\""
      + std::to_string (chunk) + "\",\"timestamp\":\"" + std::to_string (chunk * 20)
      + "\",\"payload\":\"" + test_support::base64_of (audio) + "\"}}";
}

// 100 ms of 8 kHz PCM16 that differs per call and per frame.
inline std::string
frame_audio (int call, int frame)
{
  std::string audio (1600, '\0');
  for (size_t i = 0; i < audio.size (); i++)
    audio[i] = static_cast<char> ((call * 31 + frame * 7 + i) & 0xff);
  return audio;
}

inline std::vector<StreamEntry>
entries_of (const RedisServer &redis, const std::string &call_sid,
    const std::string &key = "audio_stream")
{
  std::vector<StreamEntry> entries;
  for (StreamEntry &entry : redis.xrange (key))
    if (entry.get ("interaction_id") == call_sid)
      entries.push_back (std::move (entry));
  return entries;
}

inline size_t
count_event (const RedisServer &redis, const std::string &event,
    const std::string &key = "audio_stream")
{
  size_t n = 0;
  for (const StreamEntry &entry : redis.xrange (key))
    n += entry.get ("event") == event;
  return n;
}

inline bool
has_call_end (const RedisServer &redis, const std::string &call_sid)
{
  for (const StreamEntry &entry : entries_of (redis, call_sid))
    if (entry.get ("event") == "call_end")
      return true;
  return false;
}

// Every frame @sent (frame_audio (@call, 1..n)) of @call_sid is in Redis,
// once and in order, between its call_start and call_end.
inline void
assert_every_frame (const RedisServer &redis, const std::string &call_sid, int call, int sent)
{
  const std::vector<StreamEntry> entries = entries_of (redis, call_sid);
  std::vector<const StreamEntry *> audio;
  for (const StreamEntry &entry : entries)
    if (entry.get ("event") == "audio")
      audio.push_back (&entry);
  if (static_cast<int> (audio.size ()) != sent)
    g_error ("call %s: %zu frames in Redis, %d sent", call_sid.c_str (), audio.size (), sent);
  for (int f = 1; f <= sent; f++) {
    g_assert_true (audio[f - 1]->get ("seq") == std::to_string (f));
    g_assert_true (audio[f - 1]->get ("audio") == frame_audio (call, f));
  }
  g_assert_true (entries.front ().get ("event") == "call_start");
  g_assert_true (entries.back ().get ("event") == "call_end");
}

// @calls Exotel calls connected to /v1/ingest, each sent its start (call
// sids @prefix0, @prefix1, ...).
inline std::vector<std::unique_ptr<test_support::WsClient>>
open_calls (const Daemon &daemon, int calls, const std::string &prefix)
{
  std::vector<std::unique_ptr<test_support::WsClient>> clients;
  for (int c = 0; c < calls; c++) {
    clients.push_back (std::make_unique<test_support::WsClient> ());
    clients.back ()->connect_async (daemon.ws ("/v1/ingest"));
  }
  g_assert_true (test_support::pump_until ([&] {
          for (auto &client : clients)
            if (!client->done)
              return false;
          return true;
        }));
  for (int c = 0; c < calls; c++) {
    g_assert_nonnull (clients[c]->connection);
    clients[c]->send (exotel_start (prefix + std::to_string (c)));
  }
  return clients;
}

// Runs the default main context for @ms (lets queued client sends go out).
inline void
pump_for (int ms)
{
  const gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (nullptr, FALSE))
      g_usleep (500);
}

// The value of one /metrics series (its whole name with labels); -1 if absent.
inline double
metric (const Daemon &daemon, const std::string &series)
{
  const std::string text = test_support::http_request ("GET", daemon.http ("/metrics")).body;
  const std::string needle = "\n" + series + " ";
  const size_t at = text.find (needle);
  if (at == std::string::npos)
    return -1;
  return g_ascii_strtod (text.c_str () + at + needle.size (), nullptr);
}

// An Exotel call on /v1/ingest that must go on whatever else happens.
class HealthyCall {
 public:
  HealthyCall (const Daemon &daemon, std::string call_sid, int call)
      : call_sid_ (std::move (call_sid)), call_ (call)
  {
    g_assert_true (client_.connect (daemon.ws ("/v1/ingest")));
    client_.send (exotel_start (call_sid_));
  }

  void send (int frames = 1)
  {
    for (int i = 0; i < frames; i++) {
      sent_++;
      client_.send (exotel_media (sent_ + 1, frame_audio (call_, sent_)));
    }
    last_us_ = g_get_monotonic_time ();
  }
  // A frame when @interval_ms passed since the last: keeps it under the idle timeout.
  void tick (int interval_ms = 250)
  {
    if (g_get_monotonic_time () - last_us_ >= interval_ms * 1000)
      send ();
  }
  void stop () { client_.send (exotel_stop (call_sid_)); }

  // Stops it and checks every frame reached Redis.
  void finish_and_check (const RedisServer &redis)
  {
    g_assert_false (client_.closed);
    stop ();
    g_assert_true (test_support::pump_until ([&] { return has_call_end (redis, call_sid_); },
            30));
    assert_every_frame (redis, call_sid_, call_, sent_);
  }

  test_support::WsClient &client () { return client_; }
  int sent () const { return sent_; }

 private:
  test_support::WsClient client_;
  std::string call_sid_;
  int call_;
  int sent_ = 0;
  gint64 last_us_ = 0;
};

}  // namespace call_traffic
