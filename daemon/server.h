// callstreamd's HTTP side: one SoupServer on the main thread answering the
// routes below, handing accepted media sockets to the reactor (ingest flows)
// or to the call's elements (flows that answer the caller).
//
//   GET  /health                 JSON: status, redis reachable, calls, version
//   GET  /metrics                Prometheus text
//   WS   <route of each flow>    per pipelines/*.json (/v1/ingest, /media-stream, ...)
//   POST /voice-realtime         TwiML: <Connect><Stream> to /media-stream, or the
//                                traditional flow for the share of calls not sent to
//                                the Realtime API
//   POST /voice                  TwiML: the traditional flow (<Say>, <Gather>)
//   GET/POST /realtime-api-config[?probability=0..1]
//   WS   /test-websocket         echo
//   GET  /websocket-test         a page that tests /test-websocket from a browser
//   GET  /assist, /assist/events, /assist/calls, /assist/recordings/<file>.wav
//                                agent assist: the live page (see assist_page.h)
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "http_auth.h"
#include "pipeline_description.h"

namespace callstreamd {

class AudioCache;
class CallRegistry;
class PostCallWebhooks;
class RecordStore;
class RedisStore;
class Metrics;
class Reactor;
class RedisProbe;
class TwilioRest;
class Call;
class AssistFeed;
class ServerSentEvents;

class Server {
 public:
  // @variables: what the pipeline templates see (configuration, with
  // REDIS_URL the effective one).
  Server (Config config, std::vector<PipelineDescription> flows,
      std::map<std::string, std::string> variables);
  ~Server ();
  Server (const Server &) = delete;
  Server &operator= (const Server &) = delete;

  // Listens on HOST:PORT. FALSE with @error (naming HOST/PORT) on failure.
  bool start (std::string *error);
  // The port actually bound (PORT=0 picks a free one).
  guint16 port () const { return port_; }
  // Stop accepting, EOS every call, wait for the sinks to flush (at most
  // SHUTDOWN_TIMEOUT_S), close every socket; @done(flushed) on the main thread.
  void shutdown (std::function<void (bool flushed)> done);

 private:
  struct Route;

  void add_flow_route (const PipelineDescription &flow);
  void handle_media (SoupServerMessage *msg, const PipelineDescription &flow);
  bool authorize (SoupServerMessage *msg, const PipelineDescription &flow,
      const std::vector<std::pair<std::string, std::string>> &form);
  void handle_health (SoupServerMessage *msg);
  void handle_metrics (SoupServerMessage *msg);
  void handle_voice_realtime (SoupServerMessage *msg);
  void handle_voice (SoupServerMessage *msg);
  void handle_realtime_config (SoupServerMessage *msg, GHashTable *query);
  void handle_test_websocket (SoupServerMessage *msg);
  void handle_websocket_test_page (SoupServerMessage *msg);
  // ElevenLabs records and recordings.
  bool api_authorized (SoupServerMessage *msg);
  void handle_calls (SoupServerMessage *msg, const char *path, GHashTable *query);
  void handle_conversation (SoupServerMessage *msg, const char *path);
  void handle_recording (SoupServerMessage *msg, const char *path, GHashTable *query);
  void handle_process_conversation (SoupServerMessage *msg, const char *path);
  std::string signed_recording_url (const std::string &url) const;
  void record_media_call (const Call &call, const std::string &why, gint64 started,
      gint64 duration);
  bool twilio_request_valid (SoupServerMessage *msg,
      const std::vector<std::pair<std::string, std::string>> &form);
  std::string public_base (SoupServerMessage *msg) const;
  bool fall_back (const std::shared_ptr<Call> &call, GError *error, const std::string &element);
  void redirect_when_known (const std::shared_ptr<Call> &call, int attempts_left);
  void register_metrics ();
  // Agent assist: GET /assist (the page), /assist/events (server-sent
  // events), /assist/calls (JSON), /assist/recordings/<file>.wav.
  bool start_assist (const std::string &redis_url, std::string *error);
  bool assist_authorized (SoupServerMessage *msg, GHashTable *query);
  void handle_assist (SoupServerMessage *msg, const char *path, GHashTable *query);
  void count_refusal (const std::string &provider);
  void log_progress ();

  Config config_;
  std::vector<PipelineDescription> flows_;
  std::map<std::string, std::string> variables_;
  IpAllowList exotel_allow_;
  double realtime_probability_;
  guint16 port_ = 0;
  const gint64 started_us_;

  SoupServer *server_ = nullptr;
  std::unique_ptr<Reactor> reactor_;
  std::unique_ptr<CallRegistry> calls_;
  std::unique_ptr<RedisProbe> redis_;
  std::unique_ptr<TwilioRest> twilio_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<RedisStore> store_;
  std::unique_ptr<RecordStore> records_;
  std::unique_ptr<AudioCache> audio_cache_;
  std::unique_ptr<PostCallWebhooks> webhooks_;
  SoupSession *elevenlabs_ = nullptr;
  std::unique_ptr<ServerSentEvents> assist_events_;
  std::unique_ptr<AssistFeed> assist_;
  std::vector<std::unique_ptr<Route>> routes_;
  guint summary_timer_ = 0;
  std::map<std::string, guint64> last_published_;
};

}  // namespace callstreamd
