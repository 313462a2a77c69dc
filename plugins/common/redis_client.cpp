// hiredis 0.14 async on a private GMainContext. The streaming threads only
// touch a writer's queue under its mutex and, at most once per ~5 ms tick,
// attach a timer to the context; every hiredis call is made on the
// connection's thread.
#include "common/redis_client.h"

#include <gst/gst.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <utility>

GST_DEBUG_CATEGORY_STATIC (redis_client_debug);
#define GST_CAT_DEFAULT redis_client_debug

namespace callstream {
namespace {

constexpr unsigned kFlushIntervalMs = 5;
constexpr unsigned kFirstBackoffMs = 100;
constexpr unsigned kMaxBackoffMs = 5000;
// Covers the TCP connect, which hiredis's async connect does not bound.
constexpr unsigned kHandshakeTimeoutMs = 5000;
// Entries of one writer on the socket at once: plenty for a round trip, and
// it keeps a stalled server's backlog in the writer, where it can be dropped.
constexpr size_t kMaxInFlightPerWriter = 256;
// Buffers kept per writer for reuse; a few cover a frame per round trip.
constexpr size_t kMaxSpareBuffers = 8;

void ensure_debug_category() {
  static gsize initialized = 0;
  if (g_once_init_enter(&initialized)) {
    GST_DEBUG_CATEGORY_INIT(redis_client_debug, "redisclient", 0,
                            "callstream shared Redis connections");
    g_once_init_leave(&initialized, 1);
  }
}

struct RedisContextFree {
  void operator()(redisContext *context) const { redisFree(context); }
};
struct RedisReplyFree {
  void operator()(void *reply) const { freeReplyObject(reply); }
};

// ---- The GSource for one async context ----
// hiredis 0.14's adapters/glib.h, with two changes: its dispatch goes on to
// redisAsyncHandleRead() after a write error has freed the context (a
// use-after-free whenever Redis goes away with writes pending), and its hooks
// signal the context's wakeup fd on every command (a syscall per entry),
// although hiredis is only ever driven from the context's own thread.
struct RedisSocketSource {
  GSource source;
  redisAsyncContext *async;  // null once hiredis has cleaned up
  GPollFD poll_fd;
};

void socket_add_read(void *data) {
  static_cast<RedisSocketSource *>(data)->poll_fd.events |= G_IO_IN;
}
void socket_del_read(void *data) {
  static_cast<RedisSocketSource *>(data)->poll_fd.events &= ~G_IO_IN;
}
void socket_add_write(void *data) {
  static_cast<RedisSocketSource *>(data)->poll_fd.events |= G_IO_OUT;
}
void socket_del_write(void *data) {
  static_cast<RedisSocketSource *>(data)->poll_fd.events &= ~G_IO_OUT;
}

// hiredis calls this exactly once, when it frees the context.
void socket_cleanup(void *data) {
  auto *socket = static_cast<RedisSocketSource *>(data);
  socket->async = nullptr;
  if (socket->poll_fd.fd >= 0) {
    g_source_remove_poll(&socket->source, &socket->poll_fd);
    socket->poll_fd.fd = -1;
  }
  g_source_destroy(&socket->source);
  g_source_unref(&socket->source);  // the reference hiredis held
}

gboolean socket_prepare(GSource *, gint *timeout) {
  *timeout = -1;
  return FALSE;
}

gboolean socket_check(GSource *source) {
  auto *socket = reinterpret_cast<RedisSocketSource *>(source);
  return (socket->poll_fd.revents &
          (socket->poll_fd.events | G_IO_ERR | G_IO_HUP)) != 0;
}

gboolean socket_dispatch(GSource *source, GSourceFunc after_io,
                         gpointer user_data) {
  auto *socket = reinterpret_cast<RedisSocketSource *>(source);
  const gushort revents = socket->poll_fd.revents;
  const gushort events = socket->poll_fd.events;
  socket->poll_fd.revents = 0;
  if (socket->async != nullptr &&
      ((revents & G_IO_OUT) ||
       ((revents & (G_IO_ERR | G_IO_HUP)) && (events & G_IO_OUT))))
    redisAsyncHandleWrite(socket->async);
  // The write may have failed and freed the context.
  if (socket->async != nullptr && (revents & (G_IO_IN | G_IO_ERR | G_IO_HUP)))
    redisAsyncHandleRead(socket->async);
  if (socket->async != nullptr && after_io != nullptr)
    after_io(user_data);
  return G_SOURCE_CONTINUE;
}

GSourceFuncs socket_source_funcs = {
  socket_prepare, socket_check, socket_dispatch, nullptr, nullptr, nullptr,
};

void attach_socket_source(redisAsyncContext *async, GMainContext *context,
                          GSourceFunc after_io, gpointer user_data) {
  GSource *source = g_source_new(&socket_source_funcs, sizeof(RedisSocketSource));
  auto *socket = reinterpret_cast<RedisSocketSource *>(source);
  socket->async = async;
  socket->poll_fd.fd = async->c.fd;
  socket->poll_fd.events = 0;
  socket->poll_fd.revents = 0;
  g_source_add_poll(source, &socket->poll_fd);
  g_source_set_callback(source, after_io, user_data, nullptr);
  async->ev.addRead = socket_add_read;
  async->ev.delRead = socket_del_read;
  async->ev.addWrite = socket_add_write;
  async->ev.delWrite = socket_del_write;
  async->ev.cleanup = socket_cleanup;
  async->ev.data = socket;
  g_source_attach(source, context);
}

GSource *attach_timer(GMainContext *context, unsigned ms, GSourceFunc func,
                      gpointer data) {
  GSource *source = ms == 0 ? g_idle_source_new() : g_timeout_source_new(ms);
  g_source_set_callback(source, func, data, nullptr);
  g_source_attach(source, context);
  return source;  // the caller owns a reference
}

void destroy_timer(GSource *&source) {
  if (source != nullptr) {
    g_source_destroy(source);
    g_source_unref(source);
    source = nullptr;
  }
}

std::string reply_text(const redisReply *reply) {
  return reply->str != nullptr ? std::string(reply->str, reply->len)
                               : std::string();
}

}  // namespace

// ---- probe ----

RedisProbe probe_redis(const RedisUrl &url, std::chrono::milliseconds timeout) {
  const timeval tv = {static_cast<time_t>(timeout.count() / 1000),
                      static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  std::unique_ptr<redisContext, RedisContextFree> context(
      url.transport == RedisUrl::Transport::kUnix
          ? redisConnectUnixWithTimeout(url.socket_path.c_str(), tv)
          : redisConnectWithTimeout(url.host.c_str(), url.port, tv));
  RedisProbe probe;
  probe.result = RedisProbe::Result::kUnreachable;
  if (!context) {
    probe.reason = "out of memory";
    return probe;
  }
  if (context->err) {
    probe.reason = context->errstr;
    return probe;
  }
  redisSetTimeout(context.get(), tv);
  const auto handshake = redis_handshake(url);
  for (const auto &command : handshake)
    redisAppendFormattedCommand(context.get(), command.command.data(),
                                command.command.size());
  for (const auto &command : handshake) {
    void *raw = nullptr;
    if (redisGetReply(context.get(), &raw) != REDIS_OK) {
      probe.reason = context->errstr;
      return probe;
    }
    std::unique_ptr<void, RedisReplyFree> owned(raw);
    auto *reply = static_cast<redisReply *>(raw);
    if (reply->type != REDIS_REPLY_ERROR)
      continue;
    std::string error = reply_text(reply);
    if (redis_handshake_refused(command.step, error)) {
      probe.result = RedisProbe::Result::kRefused;
      probe.refusal = {command.step, error};
    } else {
      probe.reason = std::string(redis_handshake_step_name(command.step)) +
                     ": " + error;
    }
    return probe;
  }
  probe.result = RedisProbe::Result::kReady;
  return probe;
}

// ---- RedisStreamWriter: any thread ----

RedisStreamWriter::RedisStreamWriter(std::weak_ptr<RedisConnection> connection,
                                     uint64_t max_unsent_ns,
                                     RedisWriterListener listener)
    : connection_(std::move(connection)),
      max_unsent_ns_(max_unsent_ns),
      listener_(std::move(listener)) {}

RedisStreamWriter::AppendResult RedisStreamWriter::append(
    RedisQueuedEntry entry) {
  AppendResult result;
  bool submit = false;
  {
    std::lock_guard lock(mutex_);
    unacknowledged_++;
    if (entry.audio) {
      pending_++;
      unsent_audio_ns_ += entry.audio_ns;
    }
    unsent_.push_back(std::move(entry));
    // Oldest unsent frames first; call_start/call_end and the newest stay.
    auto it = unsent_.begin();
    while (unsent_audio_ns_ > max_unsent_ns_ && std::next(it) != unsent_.end()) {
      if (!it->audio) {
        ++it;
        continue;
      }
      unsent_audio_ns_ -= it->audio_ns;
      it = unsent_.erase(it);
      result.dropped++;
    }
    if (result.dropped > 0) {
      dropped_ += result.dropped;
      pending_ -= result.dropped;
      unacknowledged_ -= result.dropped;
    }
    if (!in_send_list_) {
      in_send_list_ = true;
      submit = true;
    }
    if (!spare_.empty()) {
      result.spare = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  if (submit) {
    if (auto connection = connection_.lock())
      connection->submit(shared_from_this(), false);
  }
  return result;
}

void RedisStreamWriter::flush_now() {
  if (auto connection = connection_.lock())
    connection->submit(nullptr, true);
}

RedisStreamWriter::WaitResult RedisStreamWriter::wait_acknowledged(
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  waiting_ = true;
  bool done = all_acknowledged_.wait_for(lock, timeout, [this] {
    return unacknowledged_ == 0 || wait_cancelled_;
  });
  waiting_ = false;
  if (unacknowledged_ == 0)
    return WaitResult::kAcknowledged;
  return done ? WaitResult::kCancelled : WaitResult::kTimedOut;
}

void RedisStreamWriter::set_wait_cancelled(bool cancelled) {
  std::lock_guard lock(mutex_);
  wait_cancelled_ = cancelled;
  all_acknowledged_.notify_all();
}

void RedisStreamWriter::silence() { silenced_ = true; }

// ---- RedisStreamWriter: connection thread ----

bool RedisStreamWriter::take_for_sending(std::vector<RedisQueuedEntry> &batch,
                                         size_t window) {
  std::lock_guard lock(mutex_);
  while (in_flight_ < window && !unsent_.empty()) {
    RedisQueuedEntry &entry = unsent_.front();
    if (entry.audio)
      unsent_audio_ns_ -= entry.audio_ns;
    batch.push_back(std::move(entry));
    unsent_.pop_front();
    in_flight_++;
  }
  in_send_list_ = !unsent_.empty();
  while (!returned_.empty() && spare_.size() < kMaxSpareBuffers) {
    spare_.push_back(std::move(returned_.back()));
    returned_.pop_back();
  }
  returned_.clear();
  return in_send_list_;
}

// Puts back an entry whose connection was lost; called newest first. True
// when the connection must add the writer to its send list.
bool RedisStreamWriter::return_unsent(RedisQueuedEntry entry) {
  in_flight_--;
  std::lock_guard lock(mutex_);
  if (entry.audio)
    unsent_audio_ns_ += entry.audio_ns;
  unsent_.push_front(std::move(entry));
  if (in_send_list_)
    return false;
  in_send_list_ = true;
  return true;
}

// Lock-free unless someone waits: this runs once per entry.
void RedisStreamWriter::acknowledged(RedisQueuedEntry &entry,
                                     const std::string *error) {
  in_flight_--;
  if (returned_.size() < kMaxSpareBuffers)
    returned_.push_back(std::move(entry.command));
  if (entry.audio) {
    pending_--;
    if (error == nullptr)
      published_++;
    else
      dropped_++;
  }
  // Sequentially consistent: either the waiter sees 0 or we see waiting_.
  if (--unacknowledged_ == 0 && waiting_) {
    std::lock_guard lock(mutex_);
    all_acknowledged_.notify_all();
  }
  if (error != nullptr && !silenced_ && listener_.rejected)
    listener_.rejected(*error, entry.audio);
}

void RedisStreamWriter::notify_refused(const RedisRefusal &refusal) {
  if (!silenced_ && listener_.refused)
    listener_.refused(refusal);
}

// ---- RedisConnection: any thread ----

std::shared_ptr<RedisConnection> RedisConnection::get(const RedisUrl &url) {
  static std::mutex registry_mutex;
  // Process-wide and never destroyed: connections may outlive main().
  static auto *registry =
      new std::map<std::string, std::weak_ptr<RedisConnection>>();
  ensure_debug_category();

  std::lock_guard lock(registry_mutex);
  std::erase_if(*registry, [](const auto &item) { return item.second.expired(); });
  std::weak_ptr<RedisConnection> &slot = (*registry)[url.connection_key()];
  if (auto existing = slot.lock())
    return existing;
  std::shared_ptr<RedisConnection> connection(new RedisConnection(url));
  slot = connection;
  connection->thread_ = g_thread_new("redis-client", run, connection.get());
  return connection;
}

RedisConnection::RedisConnection(RedisUrl url)
    : url_(std::move(url)),
      handshake_(redis_handshake(url_)),
      context_(g_main_context_new()),
      loop_(g_main_loop_new(context_, FALSE)),
      backoff_ms_(kFirstBackoffMs) {}

RedisConnection::~RedisConnection() {
  g_assert(g_thread_self() != thread_);
  g_main_context_invoke(
      context_,
      [](gpointer self) {
        static_cast<RedisConnection *>(self)->shutdown();
        return G_SOURCE_REMOVE;
      },
      this);
  g_thread_join(thread_);
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
  size_t lost = in_flight_.size();
  if (lost > 0)
    GST_INFO("%s: %zu entries sent but never acknowledged",
             url_.display().c_str(), lost);
}

std::shared_ptr<RedisStreamWriter> RedisConnection::create_writer(
    uint64_t max_unsent_ns, RedisWriterListener listener) {
  std::shared_ptr<RedisStreamWriter> writer(new RedisStreamWriter(
      weak_from_this(), max_unsent_ns, std::move(listener)));
  std::lock_guard lock(mutex_);
  std::erase_if(writers_, [](const auto &w) { return w.expired(); });
  writers_.push_back(writer);
  return writer;
}

std::optional<RedisRefusal> RedisConnection::refusal() const {
  std::lock_guard lock(mutex_);
  return refusal_;
}

void RedisConnection::submit(std::shared_ptr<RedisStreamWriter> writer,
                             bool urgent) {
  std::lock_guard lock(mutex_);
  if (writer)
    submitted_.push_back(std::move(writer));
  bool &scheduled = urgent ? urgent_scheduled_ : flush_scheduled_;
  if (scheduled)
    return;
  scheduled = true;
  // One timer per tick, however many frames: the batch is the point.
  GSource *source = attach_timer(context_, urgent ? 0 : kFlushIntervalMs,
                                 urgent ? on_urgent_flush : on_flush_tick, this);
  g_source_unref(source);
}

// ---- RedisConnection: connection thread ----

void *RedisConnection::run(void *data) {
  auto *self = static_cast<RedisConnection *>(data);
  block_sigpipe_in_this_thread();
  g_main_context_push_thread_default(self->context_);
  self->connect();
  g_main_loop_run(self->loop_);
  g_main_context_pop_thread_default(self->context_);
  return nullptr;
}

void RedisConnection::connect() {
  if (shutting_down_)
    return;
  redisAsyncContext *async =
      url_.transport == RedisUrl::Transport::kUnix
          ? redisAsyncConnectUnix(url_.socket_path.c_str())
          : redisAsyncConnect(url_.host.c_str(), url_.port);
  if (async == nullptr || async->err) {
    GST_DEBUG("%s: cannot connect: %s", url_.display().c_str(),
              async != nullptr ? async->errstr : "out of memory");
    if (async != nullptr)
      redisAsyncFree(async);
    schedule_reconnect();
    return;
  }
  async->data = this;
  attach_socket_source(async, context_, on_after_io, this);
  redisAsyncSetConnectCallback(async, on_connect);
  redisAsyncSetDisconnectCallback(async, on_disconnect);
  async_ = async;
  state_ = State::kHandshaking;
  handshake_failed_ = false;
  handshake_left_ = handshake_.size();
  for (const auto &command : handshake_)
    redisAsyncFormattedCommand(
        async, on_handshake_reply,
        reinterpret_cast<void *>(static_cast<intptr_t>(command.step)),
        command.command.data(), command.command.size());
  handshake_timer_ =
      attach_timer(context_, kHandshakeTimeoutMs, on_handshake_timeout, this);
}

// The context is gone or going (hiredis frees it after this returns): what
// was on the socket goes back to the front of its writer's queue.
void RedisConnection::connection_lost(const std::string &reason) {
  const bool was_ready = state_ == State::kReady;
  async_ = nullptr;
  state_ = State::kIdle;
  ready_ = false;
  destroy_timer(handshake_timer_);
  if (was_ready)
    GST_WARNING("%s: connection lost (%s); %zu entries to send again",
                url_.display().c_str(), reason.c_str(), in_flight_.size());
  else
    GST_DEBUG("%s: connection failed: %s", url_.display().c_str(),
              reason.c_str());
  for (auto it = in_flight_.rbegin(); it != in_flight_.rend(); ++it) {
    if (it->writer->return_unsent(std::move(it->entry)))
      ready_writers_.push_back(it->writer);
  }
  in_flight_.clear();
  schedule_reconnect();
}

void RedisConnection::schedule_reconnect() {
  if (shutting_down_ || reconnect_timer_ != nullptr)
    return;
  GST_DEBUG("%s: next attempt in %u ms", url_.display().c_str(), backoff_ms_);
  reconnect_timer_ =
      attach_timer(context_, backoff_ms_, on_reconnect_timer, this);
  backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
}

void RedisConnection::became_ready() {
  state_ = State::kReady;
  ready_ = true;
  backoff_ms_ = kFirstBackoffMs;
  destroy_timer(handshake_timer_);
  const bool reconnected = ever_ready_;
  ever_ready_ = true;
  {
    std::lock_guard lock(mutex_);
    refusal_.reset();
    if (reconnected) {
      for (const auto &weak : writers_) {
        if (auto writer = weak.lock())
          writer->reconnects_++;
      }
    }
  }
  GST_INFO("%s: %s", url_.display().c_str(),
           reconnected ? "reconnected" : "connected");
  flush();
}

void RedisConnection::refused(RedisRefusal refusal) {
  GST_WARNING("%s: %s refused: %s", url_.display().c_str(),
              redis_handshake_step_name(refusal.step), refusal.message.c_str());
  // Someone has to fix the settings: no point in hammering the server.
  backoff_ms_ = kMaxBackoffMs;
  std::vector<std::shared_ptr<RedisStreamWriter>> writers;
  {
    std::lock_guard lock(mutex_);
    if (refusal_ && refusal_->message == refusal.message)
      return;  // told once per episode
    refusal_ = refusal;
    for (const auto &weak : writers_) {
      if (auto writer = weak.lock())
        writers.push_back(std::move(writer));
    }
  }
  for (const auto &writer : writers)
    writer->notify_refused(refusal);
}

void RedisConnection::flush() {
  {
    std::lock_guard lock(mutex_);
    for (auto &writer : submitted_)
      ready_writers_.push_back(std::move(writer));
    submitted_.clear();
  }
  if (state_ == State::kReady)
    send_ready_writers();
}

// Each writer in the list once, in turn; one with a full window goes to the
// back and is tried again when replies have come in.
void RedisConnection::send_ready_writers() {
  for (size_t turns = ready_writers_.size(); turns > 0 && async_ != nullptr;
       turns--) {
    std::shared_ptr<RedisStreamWriter> writer = std::move(ready_writers_.front());
    ready_writers_.pop_front();
    batch_.clear();
    bool more = writer->take_for_sending(batch_, kMaxInFlightPerWriter);
    for (RedisQueuedEntry &entry : batch_) {
      // Failure only while disconnecting; the entry then goes back with the
      // rest of in_flight_ when the context is freed.
      redisAsyncFormattedCommand(async_, on_entry_reply, nullptr,
                                 entry.command.data(), entry.command.size());
      in_flight_.push_back({writer, std::move(entry)});
    }
    if (more)
      ready_writers_.push_back(std::move(writer));
  }
}

void RedisConnection::shutdown() {
  shutting_down_ = true;
  destroy_timer(reconnect_timer_);
  destroy_timer(handshake_timer_);
  if (redisAsyncContext *async = async_) {
    connection_lost("closing");
    redisAsyncFree(async);
  }
  g_main_loop_quit(loop_);
}

int RedisConnection::on_flush_tick(void *data) {
  auto *self = static_cast<RedisConnection *>(data);
  {
    std::lock_guard lock(self->mutex_);
    self->flush_scheduled_ = false;
  }
  self->flush();
  return G_SOURCE_REMOVE;
}

int RedisConnection::on_urgent_flush(void *data) {
  auto *self = static_cast<RedisConnection *>(data);
  {
    std::lock_guard lock(self->mutex_);
    self->urgent_scheduled_ = false;
  }
  self->flush();
  return G_SOURCE_REMOVE;
}

// Replies came: what queued up meanwhile goes now rather than at the tick,
// so a busy connection keeps Redis busy (the replies pace the batches).
int RedisConnection::on_after_io(void *data) {
  auto *self = static_cast<RedisConnection *>(data);
  if (self->state_ == State::kReady)
    self->flush();
  return G_SOURCE_CONTINUE;
}

int RedisConnection::on_reconnect_timer(void *data) {
  auto *self = static_cast<RedisConnection *>(data);
  g_source_unref(self->reconnect_timer_);
  self->reconnect_timer_ = nullptr;
  self->connect();
  return G_SOURCE_REMOVE;
}

int RedisConnection::on_handshake_timeout(void *data) {
  auto *self = static_cast<RedisConnection *>(data);
  g_source_unref(self->handshake_timer_);
  self->handshake_timer_ = nullptr;
  if (redisAsyncContext *async = self->async_) {
    self->connection_lost("no answer within " +
                          std::to_string(kHandshakeTimeoutMs) + " ms");
    redisAsyncFree(async);
  }
  return G_SOURCE_REMOVE;
}

void RedisConnection::on_connect(const redisAsyncContext *async, int status) {
  auto *self = static_cast<RedisConnection *>(async->data);
  if (status != REDIS_OK && async == self->async_)
    self->connection_lost(async->errstr != nullptr ? async->errstr : "error");
}

void RedisConnection::on_disconnect(const redisAsyncContext *async,
                                    int status) {
  auto *self = static_cast<RedisConnection *>(async->data);
  if (async == self->async_)
    self->connection_lost(status == REDIS_OK ? "closed"
                          : async->errstr != nullptr ? async->errstr
                                                     : "error");
}

void RedisConnection::on_handshake_reply(redisAsyncContext *async, void *reply,
                                         void *step_data) {
  auto *self = static_cast<RedisConnection *>(async->data);
  if (reply == nullptr || async != self->async_)
    return;  // the context is going away: connection_lost() handles it
  const auto step =
      static_cast<RedisHandshakeStep>(reinterpret_cast<intptr_t>(step_data));
  self->handshake_left_--;
  if (self->handshake_failed_)
    return;
  auto *r = static_cast<redisReply *>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    self->handshake_failed_ = true;
    std::string error = reply_text(r);
    if (redis_handshake_refused(step, error))
      self->refused({step, error});
    else
      GST_INFO("%s: not ready: %s", self->url_.display().c_str(),
               error.c_str());
    // Closes once the remaining handshake replies are read; then on_disconnect.
    redisAsyncDisconnect(async);
    return;
  }
  if (self->handshake_left_ == 0)
    self->became_ready();
}

void RedisConnection::on_entry_reply(redisAsyncContext *async, void *reply,
                                     void *) {
  auto *self = static_cast<RedisConnection *>(async->data);
  if (reply == nullptr || async != self->async_ || self->in_flight_.empty())
    return;  // the context is going away: connection_lost() handles it
  InFlightEntry done = std::move(self->in_flight_.front());
  self->in_flight_.pop_front();
  auto *r = static_cast<redisReply *>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    std::string error = reply_text(r);
    GST_WARNING("%s: entry refused: %s", self->url_.display().c_str(),
                error.c_str());
    done.writer->acknowledged(done.entry, &error);
  } else {
    done.writer->acknowledged(done.entry, nullptr);
  }
}

void block_sigpipe_in_this_thread() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

}  // namespace callstream
