// The calls in progress: one GStreamer pipeline per accepted media socket,
// built from a pipeline description, fed by the reactor, torn down at EOS,
// error or close. One call's failure never touches another's. Flows that
// answer the caller (socket "shared") put their elements on one call session;
// what the sinks send comes back through the input's send-message signal and
// goes out on the same reactor connection.
//
// Threads:
//  - main thread: create, attach, teardown (set_state NULL), shutdown;
//  - reactor thread: each message is pushed into the call's source with its
//    push-message signal (the buffer travels the whole pipeline on that
//    thread: no queue, no thread per call);
//  - sinks' streaming threads (and the system clock's, for their pacing):
//    send-message, queued to the reactor (Reactor::send_text never blocks);
//  - "enders" pool (a few threads shared by every call): EOS is sent from
//    there, since a sink may wait for its last writes on EOS;
//  - streaming threads: the bus sync handler (no bus watch, no GSource per
//    call) turns EOS and errors into a teardown scheduled on the main thread.
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pipeline_description.h"

namespace callstreamd {

class Reactor;
class Call;

// Per-provider totals for /metrics (monotonic, updated from any thread).
struct ProviderCounters {
  std::atomic<guint64> calls { 0 };
  std::atomic<guint64> messages { 0 };
  std::atomic<guint64> bytes { 0 };
  std::atomic<guint64> published { 0 };  // frames Redis acknowledged (ended calls)
  std::atomic<guint64> dropped { 0 };
  std::atomic<guint64> reconnects { 0 };
  std::atomic<guint64> errors { 0 };
  std::atomic<guint64> fallbacks { 0 };
  std::atomic<guint64> warnings { 0 };   // pipeline warnings (bad frames, failed dumps)
  std::atomic<guint64> malformed { 0 };  // messages the source ignored (ended calls)
};

class CallRegistry {
 public:
  struct Hooks {
    // A pipeline error; return TRUE when the hook takes care of closing the
    // socket (the Realtime fallback redirects the call first). Main thread.
    std::function<bool (const std::shared_ptr<Call> &call, GError *error,
        const std::string &element)> on_error;
    // A call ended and its pipeline is down (main thread): for its record.
    std::function<void (const Call &call, const std::string &why,
        gint64 started_unix, gint64 duration_s)> on_ended;
  };

  CallRegistry (Reactor &reactor, guint max_calls, Hooks hooks);
  ~CallRegistry ();
  CallRegistry (const CallRegistry &) = delete;
  CallRegistry &operator= (const CallRegistry &) = delete;

  // Builds the call's pipeline from the filled @launch line (not started
  // yet). nullptr with @error (and @http_status) when the limit is reached or
  // the pipeline cannot be built; the caller answers the HTTP request.
  std::shared_ptr<Call> create (const PipelineDescription &description,
      const std::string &launch, const std::string &remote, guint *http_status,
      std::string *error);
  // The socket is ours: start the pipeline and feed it (and, for a shared
  // flow, send what its sinks answer). Main thread.
  void attach_reactor (const std::shared_ptr<Call> &call, GIOStream *stream, GSocket *socket);
  // Ends the call from the daemon's side: EOS through the pipeline (sinks
  // flush), then teardown. Any thread.
  void end (const std::shared_ptr<Call> &call, const std::string &why);
  // Closes the call's socket with @code (after a fallback, say). Main thread.
  void close_socket (const std::shared_ptr<Call> &call, guint16 code,
      const std::string &reason);

  size_t in_progress () const;
  size_t in_progress (const std::string &provider) const;
  bool at_capacity () const;
  ProviderCounters &counters (const std::string &provider);
  // Frames acknowledged by Redis so far, ended and live calls together.
  void redis_totals (const std::string &provider, guint64 *published,
      guint64 *dropped, guint64 *reconnects) const;

  // SIGTERM: every call's socket closed (1001), EOS through every pipeline,
  // @done on the main thread once all are torn down or @timeout_ms passed
  // (TRUE when all flushed in time).
  void shutdown (guint timeout_ms, std::function<void (bool flushed)> done);

  // Internal, for Call.
  void schedule_teardown (const std::shared_ptr<Call> &call, const std::string &why);
  void report_error (const std::shared_ptr<Call> &call, GError *error,
      const std::string &element);

 private:
  friend class Call;  // its send-message handler writes to reactor_
  void teardown (const std::shared_ptr<Call> &call, const std::string &why);
  void check_shutdown_done ();

  Reactor &reactor_;
  const guint max_calls_;
  Hooks hooks_;
  GThreadPool *enders_ = nullptr;

  mutable std::mutex lock_;
  std::map<std::string, std::shared_ptr<Call>> calls_;
  std::map<std::string, std::unique_ptr<ProviderCounters>> counters_;
  guint64 next_id_ = 1;

  bool shutting_down_ = false;
  std::function<void (bool)> shutdown_done_;
  guint shutdown_timer_ = 0;
};

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call (CallRegistry &registry, const PipelineDescription &description, std::string id,
      GstElement *pipeline, std::string remote);
  ~Call ();

  const std::string &id () const { return id_; }
  const std::string &provider () const { return provider_; }
  const std::string &flow () const { return flow_; }
  std::string call_sid () const;
  std::string stream_sid () const;
  std::string from () const;
  std::string to () const;
  // The public base URL (scheme://host) the provider reached us on, for
  // TwiML URLs given back to Twilio about this call. Main thread.
  std::string public_base;

 private:
  friend class CallRegistry;
  class ReactorPeer;

  void install_bus_handler ();
  void install_call_info_probe ();
  static GstBusSyncReply on_bus_message (GstBus *bus, GstMessage *message, gpointer data);
  static gboolean on_send_message (GstElement *input, const gchar *text, gpointer data);
  void gather_redis_stats (guint64 *published, guint64 *dropped, guint64 *reconnects) const;

  CallRegistry &registry_;
  const std::string id_;
  const std::string provider_;
  const std::string flow_;
  const std::string input_name_;
  const std::string remote_;
  GstElement *pipeline_;  // owned
  GstElement *input_ = nullptr;  // owned ref; receives the messages
  guint push_signal_ = 0;
  guint end_signal_ = 0;
  std::vector<std::string> connection_elements_;
  const gint64 started_us_;
  const gint64 started_unix_;

  // Set by the main thread after adopt(), and by the reactor thread before
  // the first message is pushed (it may come first); read by send-message.
  std::atomic<guint64> reactor_id_ { 0 };
  // Main thread.
  bool torn_down_ = false;

  std::atomic<bool> ending_ { false };
  std::atomic<bool> teardown_scheduled_ { false };
  std::atomic<guint64> messages_ { 0 };
  std::atomic<guint64> bytes_ { 0 };
  std::atomic<guint64> files_dumped_ { 0 };

  mutable std::mutex info_lock_;
  std::string call_sid_;
  std::string stream_sid_;
  std::string from_;
  std::string to_;
};

}  // namespace callstreamd
