#include "calls.h"

#include "callstream-events.h"
#include "log.h"
#include "reactor.h"

namespace callstreamd {

namespace {

// EOS may wait in a sink for its last writes (redisstreamsink: up to its
// flush-timeout), so it is sent from a small shared pool, never from the
// reactor or the main thread.
constexpr gint kEnderThreads = 8;

struct Teardown {
  CallRegistry *registry;
  std::shared_ptr<Call> call;
  std::string why;
};

struct EndRequest {
  std::shared_ptr<Call> call;
  std::string why;
};

// Runs @function on the main context, always later (never in place: the
// caller may be a streaming thread of the pipeline about to be stopped, or
// the main thread inside a libsoup callback).
void
run_on_main (std::function<void ()> function)
{
  auto *boxed = new std::function<void ()> (std::move (function));
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, [] (gpointer data) -> gboolean {
        (*static_cast<std::function<void ()> *> (data)) ();
        return G_SOURCE_REMOVE;
      }, boxed, [] (gpointer data) {
        delete static_cast<std::function<void ()> *> (data);
      });
  g_source_attach (source, nullptr);
  g_source_unref (source);
}

}  // namespace

/* ------------------------------------------------------------------ */
/* Reactor side: messages into the source, close into the end of call  */

class Call::ReactorPeer : public Reactor::Peer {
 public:
  ReactorPeer (std::shared_ptr<Call> call, ProviderCounters &counters)
    : call_ (std::move (call)), counters_ (counters),
      input_ (GST_ELEMENT (gst_object_ref (call_->input_))),
      signal_ (call_->push_signal_), direct_ (callstream_message_input_get (input_))
  {
  }
  ~ReactorPeer () override { gst_object_unref (input_); }

  void on_message (bool is_text, const uint8_t *data, size_t size) override
  {
    if (G_UNLIKELY (call_->reactor_id_.load (std::memory_order_relaxed) == 0))
      call_->reactor_id_.store (connection_id (), std::memory_order_release);
    counters_.messages.fetch_add (1, std::memory_order_relaxed);
    counters_.bytes.fetch_add (size, std::memory_order_relaxed);
    call_->messages_.fetch_add (1, std::memory_order_relaxed);
    call_->bytes_.fetch_add (size, std::memory_order_relaxed);
    // Flow errors end up on the bus as element errors when they matter;
    // EOS / FLUSHING just mean the call is ending.
    if (G_LIKELY (direct_ != nullptr)) {
      // push-message's own handler, without a signal emission per message.
      direct_->push (input_, is_text, data, size, direct_->user_data);
      return;
    }
    // The signal's bytes are static scope (read during the emission only):
    // no copy of the message for it.
    GBytes *bytes = g_bytes_new_static (data, size);
    GstFlowReturn ret = GST_FLOW_OK;
    g_signal_emit (input_, signal_, 0,
        is_text ? SOUP_WEBSOCKET_DATA_TEXT : SOUP_WEBSOCKET_DATA_BINARY, bytes, &ret);
    g_bytes_unref (bytes);
  }

  void on_closed (uint16_t code, const std::string &reason) override
  {
    log::info ("connection_closed", { { "call", call_->id_ },
          { "provider", call_->provider_ }, { "code", std::to_string (code) },
          { "reason", reason } });
    call_->registry_.end (call_, "socket closed");
  }

 private:
  std::shared_ptr<Call> call_;
  ProviderCounters &counters_;
  GstElement *input_;
  guint signal_;
  const CallstreamMessageInput *direct_;  // null: by the push-message signal
};

/* ------------------------------------------------------------------ */

Call::Call (CallRegistry &registry, const PipelineDescription &description,
    std::string id, GstElement *pipeline, std::string remote)
  : registry_ (registry), id_ (std::move (id)), provider_ (provider_name (description.provider)),
    flow_ (description.name),
    input_name_ (!description.input.empty () || description.connection.empty ()
        ? description.input : description.connection.front ()),
    remote_ (std::move (remote)), pipeline_ (pipeline),
    connection_elements_ (description.connection),
    started_us_ (g_get_monotonic_time ()),
    started_unix_ (g_get_real_time () / G_USEC_PER_SEC)
{
  input_ = gst_bin_get_by_name (GST_BIN (pipeline_), input_name_.c_str ());
  if (input_ != nullptr) {
    push_signal_ = g_signal_lookup ("push-message", G_OBJECT_TYPE (input_));
    end_signal_ = g_signal_lookup ("end-of-stream", G_OBJECT_TYPE (input_));
    // The bus handler below drops callstream-mark messages: no need to make
    // one per mark (one per 20 ms of reply audio in the realtime flows).
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (input_), "post-marks"))
      g_object_set (input_, "post-marks", FALSE, nullptr);
  }
}

Call::~Call ()
{
  if (pipeline_ != nullptr) {
    GstBus *bus = gst_element_get_bus (pipeline_);
    gst_bus_set_sync_handler (bus, nullptr, nullptr, nullptr);
    gst_object_unref (bus);
    // Stops every sink and the source (whose stop closes the call session):
    // send-message is not emitted after this, so its handler's Call pointer
    // stays valid as long as it can be called.
    gst_element_set_state (pipeline_, GST_STATE_NULL);
    gst_object_unref (pipeline_);
  }
  if (input_ != nullptr) {
    g_signal_handlers_disconnect_by_data (input_, this);
    gst_object_unref (input_);
  }
}

// A sink of a shared flow answers the caller: out on the reactor connection.
gboolean
Call::on_send_message (GstElement *, const gchar *text, gpointer data)
{
  auto *call = static_cast<Call *> (data);
  const guint64 id = call->reactor_id_.load (std::memory_order_acquire);
  return id != 0 && call->registry_.reactor_.send_text (id, text);
}

std::string
Call::call_sid () const
{
  std::lock_guard guard (info_lock_);
  return call_sid_;
}

std::string
Call::stream_sid () const
{
  std::lock_guard guard (info_lock_);
  return stream_sid_;
}

std::string
Call::from () const
{
  std::lock_guard guard (info_lock_);
  return from_;
}

std::string
Call::to () const
{
  std::lock_guard guard (info_lock_);
  return to_;
}

void
Call::install_bus_handler ()
{
  GstBus *bus = gst_element_get_bus (pipeline_);
  // A weak reference: the handler is removed before the call goes away.
  gst_bus_set_sync_handler (bus, on_bus_message, this, nullptr);
  gst_object_unref (bus);
}

GstBusSyncReply
Call::on_bus_message (GstBus *, GstMessage *message, gpointer data)
{
  auto *call = static_cast<Call *> (data);
  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_EOS:
      call->registry_.schedule_teardown (call->shared_from_this (), "eos");
      break;
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = nullptr;
      g_autofree gchar *debug = nullptr;
      gst_message_parse_error (message, &error, &debug);
      const char *element = GST_MESSAGE_SRC_NAME (message);
      log::error ("pipeline_error", { { "call", call->id_ }, { "provider", call->provider_ },
            { "call_sid", call->call_sid () }, { "element", element ? element : "" },
            { "message", error->message }, { "debug", debug ? debug : "" } });
      call->registry_.report_error (call->shared_from_this (), error,
          element ? element : "");
      break;
    }
    case GST_MESSAGE_WARNING:{
      g_autoptr (GError) warning = nullptr;
      g_autofree gchar *debug = nullptr;
      gst_message_parse_warning (message, &warning, &debug);
      const char *element = GST_MESSAGE_SRC_NAME (message);
      call->registry_.counters (call->provider_).warnings.fetch_add (1,
          std::memory_order_relaxed);
      log::warning ("pipeline_warning", { { "call", call->id_ },
            { "provider", call->provider_ }, { "call_sid", call->call_sid () },
            { "element", element ? element : "" }, { "message", warning->message },
            { "debug", debug ? debug : "" } });
      break;
    }
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (message);
      if (s != nullptr && gst_structure_has_name (s, CALLSTREAM_FILE_WRITTEN_MESSAGE_NAME)) {
        // The first dump of a call at info (operators check dumps work),
        // the others at debug: one line per chunk is too many at scale.
        const guint64 n = call->files_dumped_.fetch_add (1) + 1;
        const char *path = gst_structure_get_string (s, "path");
        log::write (n == 1 ? log::Level::kInfo : log::Level::kDebug, "audio_chunk_dumped",
            { { "call", call->id_ }, { "call_sid", call->call_sid () },
              { "path", path ? path : "" }, { "files", std::to_string (n) } });
      }
      break;
    }
    default:
      break;
  }
  // Nothing is queued on the bus: no watch, no growth. A sync handler that
  // drops a message owns it (GstBusSyncHandler): without this unref every
  // message leaked, and with it the element that posted it and the whole
  // pipeline (8 refs per call, 2 sockets of its bus, ~35 KB).
  gst_message_unref (message);
  return GST_BUS_DROP;
}

void
Call::install_call_info_probe ()
{
  if (input_ == nullptr)
    return;
  GstPad *pad = gst_element_get_static_pad (input_, "src");
  if (pad == nullptr)
    return;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [] (GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
        GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
        if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM_STICKY)
          return GST_PAD_PROBE_OK;
        const GstStructure *s = gst_event_get_structure (event);
        if (s == nullptr || !gst_structure_has_name (s, CALLSTREAM_CALL_INFO_NAME))
          return GST_PAD_PROBE_OK;
        auto *call = static_cast<Call *> (data);
        const char *call_sid = gst_structure_get_string (s, "call-sid");
        const char *stream_sid = gst_structure_get_string (s, "stream-sid");
        const char *encoding = gst_structure_get_string (s, "encoding");
        gint rate = 0;
        gst_structure_get_int (s, "sample-rate", &rate);
        {
          std::lock_guard guard (call->info_lock_);
          call->call_sid_ = call_sid ? call_sid : "";
          call->stream_sid_ = stream_sid ? stream_sid : "";
          const char *from = gst_structure_get_string (s, "from");
          const char *to = gst_structure_get_string (s, "to");
          call->from_ = from ? from : "";
          call->to_ = to ? to : "";
        }
        log::info ("start_event_received", { { "call", call->id_ },
              { "provider", call->provider_ }, { "call_sid", call_sid ? call_sid : "" },
              { "stream_sid", stream_sid ? stream_sid : "" },
              { "encoding", encoding ? encoding : "" },
              { "sample_rate", std::to_string (rate) } });
        return GST_PAD_PROBE_OK;
      }, this, nullptr);
  gst_object_unref (pad);
}

void
Call::gather_redis_stats (guint64 *published, guint64 *dropped, guint64 *reconnects) const
{
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (pipeline_));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *element = GST_ELEMENT (g_value_get_object (&item));
    GstElementFactory *factory = gst_element_get_factory (element);
    if (factory != nullptr && g_str_equal (GST_OBJECT_NAME (factory), "redisstreamsink")) {
      guint64 p = 0, d = 0, r = 0;
      g_object_get (element, "published", &p, "dropped", &d, "reconnects", &r, nullptr);
      *published += p;
      *dropped += d;
      *reconnects += r;
    }
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
}

/* ------------------------------------------------------------------ */

CallRegistry::CallRegistry (Reactor &reactor, guint max_calls, Hooks hooks)
  : reactor_ (reactor), max_calls_ (max_calls), hooks_ (std::move (hooks))
{
  enders_ = g_thread_pool_new ([] (gpointer data, gpointer) {
        std::unique_ptr<EndRequest> request (static_cast<EndRequest *> (data));
        Call &call = *request->call;
        // Through the input element's end-of-stream signal (the start-up
        // check makes every flow's input have one): it sends EOS downstream
        // after the messages already pushed, and refuses any that come
        // later. Not gst_element_send_event(): it holds the input's state
        // lock while downstream takes the EOS, and a teardown already under
        // way (set_state (NULL) on the main thread, after a pipeline error)
        // has the sinks in PAUSED, where they hold the EOS for preroll: the
        // state change then waited for that lock for ever.
        GstFlowReturn flow = GST_FLOW_OK;
        g_signal_emit (call.input_, call.end_signal_, 0, &flow);
      }, nullptr, kEnderThreads, FALSE, nullptr);
}

CallRegistry::~CallRegistry ()
{
  g_thread_pool_free (enders_, FALSE, TRUE);
  if (shutdown_timer_ != 0)
    g_source_remove (shutdown_timer_);
}

std::shared_ptr<Call>
CallRegistry::create (const PipelineDescription &description, const std::string &launch,
    const std::string &remote, guint *http_status, std::string *error)
{
  std::string id;
  {
    std::lock_guard guard (lock_);
    if (shutting_down_) {
      *http_status = SOUP_STATUS_SERVICE_UNAVAILABLE;
      *error = "shutting down";
      return nullptr;
    }
    if (calls_.size () >= max_calls_) {
      *http_status = SOUP_STATUS_SERVICE_UNAVAILABLE;
      *error = "MAX_CALLS (" + std::to_string (max_calls_) + ") calls in progress";
      return nullptr;
    }
    id = "c" + std::to_string (next_id_++);
  }
  g_autoptr (GError) parse_error = nullptr;
  GstElement *pipeline = gst_parse_launch_full (launch.c_str (), nullptr,
      GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
  if (pipeline == nullptr) {
    *http_status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
    *error = std::string ("pipeline ") + description.name + ": "
        + (parse_error ? parse_error->message : "cannot be built");
    return nullptr;
  }
  gst_object_ref_sink (pipeline);
  if (!GST_IS_BIN (pipeline)) {
    gst_object_unref (pipeline);
    *http_status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
    *error = "pipeline " + description.name + " is a single element";
    return nullptr;
  }
  elide_single_branch_tees (GST_BIN (pipeline));
  g_autofree gchar *name = g_strdup_printf ("call-%s", id.c_str ());
  gst_object_set_name (GST_OBJECT (pipeline), name);
  auto call = std::make_shared<Call> (*this, description, id, pipeline, remote);
  if (call->input_ == nullptr || call->push_signal_ == 0 || call->end_signal_ == 0) {
    *http_status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
    *error = "pipeline " + description.name + ": no element named " + call->input_name_
        + " with push-message and end-of-stream signals";
    return nullptr;
  }
  call->install_bus_handler ();
  call->install_call_info_probe ();
  std::lock_guard guard (lock_);
  calls_[id] = call;
  auto &slot = counters_[call->provider_];
  if (!slot)
    slot = std::make_unique<ProviderCounters> ();
  slot->calls.fetch_add (1);
  return call;
}

void
CallRegistry::attach_reactor (const std::shared_ptr<Call> &call, GIOStream *stream,
    GSocket *socket)
{
  if (!call->connection_elements_.empty ()) {
    // A flow that answers: its source and sinks share a call session named
    // for this call, and the sinks' messages come back through the source.
    const std::string session = "callstreamd-" + call->id_;
    for (const std::string &name : call->connection_elements_) {
      GstElement *element = gst_bin_get_by_name (GST_BIN (call->pipeline_), name.c_str ());
      if (element == nullptr)
        continue;
      g_object_set (element, "session", session.c_str (), nullptr);
      gst_object_unref (element);
    }
    g_signal_connect (call->input_, "send-message", G_CALLBACK (Call::on_send_message),
        call.get ());
  }
  if (gst_element_set_state (call->pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The element posted its error on the bus: the teardown follows from it.
    log::error ("pipeline_not_started", { { "call", call->id_ }, { "flow", call->flow_ } });
  }
  auto peer = std::make_shared<Call::ReactorPeer> (call, counters (call->provider_));
  call->reactor_id_.store (reactor_.adopt (stream, socket, peer), std::memory_order_release);
}

void
CallRegistry::end (const std::shared_ptr<Call> &call, const std::string &why)
{
  if (call->ending_.exchange (true))
    return;
  g_thread_pool_push (enders_, new EndRequest { call, why }, nullptr);
}

void
CallRegistry::close_socket (const std::shared_ptr<Call> &call, guint16 code,
    const std::string &reason)
{
  const guint64 id = call->reactor_id_.load (std::memory_order_acquire);
  if (id != 0)
    reactor_.close (id, code, reason);
}

void
CallRegistry::schedule_teardown (const std::shared_ptr<Call> &call, const std::string &why)
{
  if (call->teardown_scheduled_.exchange (true))
    return;
  run_on_main ([this, call, why] { teardown (call, why); });
}

void
CallRegistry::report_error (const std::shared_ptr<Call> &call, GError *error,
    const std::string &element)
{
  counters (call->provider_).errors.fetch_add (1);
  GError *copy = g_error_copy (error);
  run_on_main ([this, call, copy, element] {
        const bool handled = hooks_.on_error && hooks_.on_error (call, copy, element);
        g_error_free (copy);
        if (!handled)
          close_socket (call, 1011, "pipeline error");
        schedule_teardown (call, "error");
      });
}

void
CallRegistry::teardown (const std::shared_ptr<Call> &call, const std::string &why)
{
  if (call->torn_down_)
    return;
  call->torn_down_ = true;
  bool shutting_down;
  {
    std::lock_guard guard (lock_);
    shutting_down = shutting_down_;
  }
  if (shutting_down)
    close_socket (call, 1001, "server shutting down");
  else
    close_socket (call, 1000, "call ended");
  gst_element_set_state (call->pipeline_, GST_STATE_NULL);
  guint64 published = 0, dropped = 0, reconnects = 0;
  call->gather_redis_stats (&published, &dropped, &reconnects);
  ProviderCounters &totals = counters (call->provider_);
  totals.published.fetch_add (published);
  totals.dropped.fetch_add (dropped);
  totals.reconnects.fetch_add (reconnects);
  guint64 malformed = 0;
  if (call->input_ != nullptr
      && g_object_class_find_property (G_OBJECT_GET_CLASS (call->input_), "malformed"))
    g_object_get (call->input_, "malformed", &malformed, nullptr);
  totals.malformed.fetch_add (malformed);
  const gint64 duration_ms = (g_get_monotonic_time () - call->started_us_) / 1000;
  log::info ("call_ended", { { "call", call->id_ }, { "provider", call->provider_ },
        { "flow", call->flow_ }, { "call_sid", call->call_sid () }, { "why", why },
        { "messages", std::to_string (call->messages_.load ()) },
        { "frames_published", std::to_string (published) },
        { "frames_dropped", std::to_string (dropped) },
        { "malformed", std::to_string (malformed) },
        { "files_dumped", std::to_string (call->files_dumped_.load ()) },
        { "duration_ms", std::to_string (duration_ms) } });
  if (hooks_.on_ended)
    hooks_.on_ended (*call, why, call->started_unix_, duration_ms / 1000);
  {
    std::lock_guard guard (lock_);
    calls_.erase (call->id_);
  }
  check_shutdown_done ();
}

size_t
CallRegistry::in_progress () const
{
  std::lock_guard guard (lock_);
  return calls_.size ();
}

size_t
CallRegistry::in_progress (const std::string &provider) const
{
  std::lock_guard guard (lock_);
  size_t n = 0;
  for (const auto &[id, call] : calls_)
    n += call->provider_ == provider;
  return n;
}

bool
CallRegistry::at_capacity () const
{
  std::lock_guard guard (lock_);
  return calls_.size () >= max_calls_;
}

ProviderCounters &
CallRegistry::counters (const std::string &provider)
{
  std::lock_guard guard (lock_);
  auto &slot = counters_[provider];
  if (!slot)
    slot = std::make_unique<ProviderCounters> ();
  return *slot;
}

void
CallRegistry::redis_totals (const std::string &provider, guint64 *published,
    guint64 *dropped, guint64 *reconnects) const
{
  std::vector<std::shared_ptr<Call>> live;
  {
    std::lock_guard guard (lock_);
    auto it = counters_.find (provider);
    if (it != counters_.end ()) {
      *published = it->second->published.load ();
      *dropped = it->second->dropped.load ();
      *reconnects = it->second->reconnects.load ();
    }
    for (const auto &[id, call] : calls_)
      if (call->provider_ == provider && !call->torn_down_)
        live.push_back (call);
  }
  for (const auto &call : live)
    call->gather_redis_stats (published, dropped, reconnects);
}

void
CallRegistry::shutdown (guint timeout_ms, std::function<void (bool)> done)
{
  std::vector<std::shared_ptr<Call>> calls;
  {
    std::lock_guard guard (lock_);
    shutting_down_ = true;
    shutdown_done_ = std::move (done);
    for (const auto &[id, call] : calls_)
      calls.push_back (call);
  }
  log::info ("shutdown_started", { { "calls", std::to_string (calls.size ()) } });
  for (const auto &call : calls)
    end (call, "shutdown");
  shutdown_timer_ = g_timeout_add (timeout_ms, [] (gpointer data) -> gboolean {
        auto *self = static_cast<CallRegistry *> (data);
        self->shutdown_timer_ = 0;
        if (self->shutdown_done_) {
          log::warning ("shutdown_timeout", { { "calls", std::to_string (self->in_progress ()) } });
          auto done = std::move (self->shutdown_done_);
          self->shutdown_done_ = nullptr;
          done (false);
        }
        return G_SOURCE_REMOVE;
      }, this);
  check_shutdown_done ();
}

void
CallRegistry::check_shutdown_done ()
{
  std::function<void (bool)> done;
  {
    std::lock_guard guard (lock_);
    if (!shutting_down_ || !calls_.empty () || !shutdown_done_)
      return;
    done = std::move (shutdown_done_);
    shutdown_done_ = nullptr;
  }
  if (shutdown_timer_ != 0) {
    g_source_remove (shutdown_timer_);
    shutdown_timer_ = 0;
  }
  run_on_main ([done] { done (true); });
}

}  // namespace callstreamd
