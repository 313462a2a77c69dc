#include "redis_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <future>
#include <variant>

#include "log.h"

namespace callstreamd {

namespace {

constexpr guint kFirstBackoffMs = 100;

timeval
to_timeval (guint ms)
{
  return { static_cast<time_t> (ms / 1000), static_cast<suseconds_t> (ms % 1000 * 1000) };
}

struct ReplyDeleter {
  void operator() (void *reply) const { freeReplyObject (reply); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

RedisReply
copy_reply (const redisReply *reply)
{
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      return out;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < reply->elements; i++)
        out.elements.push_back (copy_reply (reply->element[i]));
      return out;
    default:
      out.type = RedisReply::Type::kNil;
      return out;
  }
  if (reply->str != nullptr)
    out.str.assign (reply->str, reply->len);
  return out;
}

RedisReply
unavailable (const std::string &reason)
{
  RedisReply reply;
  reply.type = RedisReply::Type::kUnavailable;
  reply.str = reason.empty () ? "not connected" : reason;
  return reply;
}

}  // namespace

std::string
RedisReply::describe_failure () const
{
  if (type == Type::kUnavailable)
    return "Redis unreachable: " + str;
  if (type == Type::kError)
    return "Redis error: " + str;
  return {};
}

// A batch of commands and where their replies go: a callback on the
// store's context, or a waiting command_sync.
struct RedisStore::Job {
  std::vector<RedisArgv> commands;
  PipelineCallback done;
  std::promise<std::vector<RedisReply>> *waiting = nullptr;
};

std::unique_ptr<RedisStore>
RedisStore::open (std::string_view url, std::string *error, RedisStoreOptions options)
{
  auto parsed = callstream::parse_redis_url (url);
  if (auto *bad = std::get_if<callstream::RedisUrlError> (&parsed)) {
    if (error != nullptr)
      *error = "Redis URL " + callstream::redact_redis_url (url) + ": " + bad->reason;
    return nullptr;
  }
  return std::unique_ptr<RedisStore> (new RedisStore (
      std::get<callstream::RedisUrl> (std::move (parsed)), options));
}

RedisStore::RedisStore (callstream::RedisUrl url, RedisStoreOptions options)
  : url_ (std::move (url)), display_url_ (url_.display ()), options_ (options),
    context_ (g_main_context_ref_thread_default ()), alive_ (std::make_shared<bool> (true))
{
  worker_ = std::thread ([this] { run_worker (); });
}

RedisStore::~RedisStore ()
{
  *alive_ = false;
  {
    std::lock_guard lock (mutex_);
    stopping_ = true;
  }
  wake_.notify_one ();
  worker_.join ();
  g_main_context_unref (context_);
}

void
RedisStore::command (RedisArgv argv, Callback done)
{
  std::vector<RedisArgv> commands;
  commands.push_back (std::move (argv));
  pipeline (std::move (commands), [done = std::move (done)] (std::vector<RedisReply> replies) {
        if (done)
          done (std::move (replies.front ()));
      });
}

void
RedisStore::pipeline (std::vector<RedisArgv> commands, PipelineCallback done)
{
  auto job = std::make_unique<Job> ();
  job->commands = std::move (commands);
  job->done = std::move (done);
  enqueue (std::move (job));
}

RedisReply
RedisStore::command_sync (RedisArgv argv)
{
  std::vector<RedisArgv> commands;
  commands.push_back (std::move (argv));
  return std::move (pipeline_sync (std::move (commands)).front ());
}

std::vector<RedisReply>
RedisStore::pipeline_sync (std::vector<RedisArgv> commands)
{
  std::promise<std::vector<RedisReply>> promise;
  auto answer = promise.get_future ();
  auto job = std::make_unique<Job> ();
  job->commands = std::move (commands);
  job->waiting = &promise;
  enqueue (std::move (job));
  return answer.get ();
}

void
RedisStore::enqueue (std::unique_ptr<Job> job)
{
  {
    std::lock_guard lock (mutex_);
    jobs_.push_back (std::move (job));
  }
  wake_.notify_one ();
}

void
RedisStore::run_worker ()
{
  connect (true);
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock (mutex_);
      // Idle: PING a live connection now and then, retry a dead one when due.
      gint64 wait_ms = options_.idle_ping_ms;
      if (connection_ == nullptr)
        wait_ms = std::max<gint64> (1, (next_attempt_us_ - g_get_monotonic_time ()) / 1000);
      wake_.wait_for (lock, std::chrono::milliseconds (wait_ms),
          [this] { return stopping_ || !jobs_.empty (); });
      if (stopping_)
        break;
      if (!jobs_.empty ()) {
        job = std::move (jobs_.front ());
        jobs_.pop_front ();
      }
    }
    if (job == nullptr) {
      if (connection_ != nullptr)
        execute ({ { "PING" } });
      else
        connect (false);
      continue;
    }
    std::vector<RedisReply> replies = execute (job->commands);
    deliver (std::move (job), std::move (replies));
  }
  // Stopping: a blocked command_sync still gets its answer.
  std::lock_guard lock (mutex_);
  for (auto &job : jobs_) {
    if (job->waiting != nullptr)
      job->waiting->set_value (std::vector<RedisReply> (job->commands.size (),
          unavailable ("store closed")));
  }
  jobs_.clear ();
  if (connection_ != nullptr)
    redisFree (connection_);
  connection_ = nullptr;
}

void
RedisStore::deliver (std::unique_ptr<Job> job, std::vector<RedisReply> replies)
{
  if (job->waiting != nullptr) {
    job->waiting->set_value (std::move (replies));
    return;
  }
  if (!job->done)
    return;
  struct Delivery {
    std::shared_ptr<bool> alive;
    PipelineCallback done;
    std::vector<RedisReply> replies;
  };
  auto *delivery = new Delivery { alive_, std::move (job->done), std::move (replies) };
  // An idle source on our context, never g_main_context_invoke: that would
  // run the callback right here when nobody owns the context.
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, [] (gpointer data) -> gboolean {
        auto *delivery = static_cast<Delivery *> (data);
        if (*delivery->alive)
          delivery->done (std::move (delivery->replies));
        return G_SOURCE_REMOVE;
      }, delivery, [] (gpointer data) { delete static_cast<Delivery *> (data); });
  g_source_attach (source, context_);
  g_source_unref (source);
}

std::vector<RedisReply>
RedisStore::execute (const std::vector<RedisArgv> &commands)
{
  // A connection that died while idle (a restarted Redis) is only noticed on
  // use: then reconnect at once and send again, once.
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!connect (attempt > 0))
      break;
    std::vector<RedisReply> replies;
    if (exchange (commands, replies))
      return replies;
    disconnect (connection_->errstr[0] != '\0' ? connection_->errstr : "connection lost");
  }
  return std::vector<RedisReply> (commands.size (), unavailable (last_failure_));
}

bool
RedisStore::exchange (const std::vector<RedisArgv> &commands, std::vector<RedisReply> &replies)
{
  std::vector<const char *> argv;
  std::vector<size_t> lengths;
  for (const RedisArgv &command : commands) {
    argv.clear ();
    lengths.clear ();
    for (const RedisArg &arg : command) {
      argv.push_back (arg.view ().data ());
      lengths.push_back (arg.view ().size ());
    }
    if (redisAppendCommandArgv (connection_, static_cast<int> (argv.size ()), argv.data (),
            lengths.data ()) != REDIS_OK)
      return false;
  }
  for (size_t i = 0; i < commands.size (); i++) {
    void *raw = nullptr;
    if (redisGetReply (connection_, &raw) != REDIS_OK)
      return false;
    ReplyPtr owned (raw);
    replies.push_back (copy_reply (static_cast<redisReply *> (raw)));
  }
  return true;
}

bool
RedisStore::connect (bool ignore_backoff)
{
  if (connection_ != nullptr)
    return true;
  const gint64 now = g_get_monotonic_time ();
  if (!ignore_backoff && now < next_attempt_us_)
    return false;
  const timeval connect_timeout = to_timeval (options_.connect_timeout_ms);
  redisContext *c = url_.transport == callstream::RedisUrl::Transport::kUnix
      ? redisConnectUnixWithTimeout (url_.socket_path.c_str (), connect_timeout)
      : redisConnectWithTimeout (url_.host.c_str (), url_.port, connect_timeout);
  std::string failure;
  if (c == nullptr)
    failure = "out of memory";
  else if (c->err)
    failure = c->errstr;
  if (failure.empty ()) {
    redisSetTimeout (c, to_timeval (options_.command_timeout_ms));
    const auto handshake = callstream::redis_handshake (url_);
    for (const auto &step : handshake)
      redisAppendFormattedCommand (c, step.command.data (), step.command.size ());
    for (const auto &step : handshake) {
      void *raw = nullptr;
      if (redisGetReply (c, &raw) != REDIS_OK) {
        failure = c->errstr;
        break;
      }
      ReplyPtr owned (raw);
      const auto *reply = static_cast<redisReply *> (raw);
      if (reply->type == REDIS_REPLY_ERROR) {
        failure = std::string (callstream::redis_handshake_step_name (step.step)) + ": "
            + std::string (reply->str, reply->len);
        break;
      }
    }
  }
  if (!failure.empty ()) {
    if (c != nullptr)
      redisFree (c);
    backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs
        : std::min (backoff_ms_ * 2, options_.max_backoff_ms);
    next_attempt_us_ = now + static_cast<gint64> (backoff_ms_) * 1000;
    note_failure (failure);
    return false;
  }
  connection_ = c;
  backoff_ms_ = 0;
  last_failure_.clear ();
  reachable_.store (true);
  log::info ("redis_store_connected", { { "url", display_url_ } });
  return true;
}

void
RedisStore::disconnect (const std::string &reason)
{
  redisFree (connection_);
  connection_ = nullptr;
  next_attempt_us_ = 0;
  reachable_.store (false);
  last_failure_ = reason;
  log::warning ("redis_store_disconnected", { { "url", display_url_ }, { "reason", reason } });
}

void
RedisStore::note_failure (const std::string &reason)
{
  reachable_.store (false);
  if (reason == last_failure_)
    return;
  last_failure_ = reason;
  log::warning ("redis_store_unreachable", { { "url", display_url_ }, { "reason", reason } });
}

}  // namespace callstreamd
