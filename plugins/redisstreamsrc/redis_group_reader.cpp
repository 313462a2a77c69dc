#include "redisstreamsrc/redis_group_reader.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace callstream {
namespace {

// A command other than a blocking read that takes longer is a dead server.
constexpr std::chrono::milliseconds kCommandTimeout{5000};

std::string reply_text(const redisReply *reply) {
  return reply->str != nullptr ? std::string(reply->str, reply->len)
                               : std::string();
}

bool is_string(const redisReply *reply) {
  return reply != nullptr && (reply->type == REDIS_REPLY_STRING ||
                              reply->type == REDIS_REPLY_STATUS);
}

// [id, [field, value, ...] | nil] -> @entry; false when malformed.
bool parse_entry(const std::string &stream, const redisReply *item,
                 RedisGroupEntry &entry) {
  if (item == nullptr || item->type != REDIS_REPLY_ARRAY || item->elements != 2 ||
      !is_string(item->element[0]))
    return false;
  entry.stream = stream;
  entry.id = reply_text(item->element[0]);
  const redisReply *fields = item->element[1];
  if (fields->type == REDIS_REPLY_NIL) {
    entry.deleted = true;
    return true;
  }
  if (fields->type != REDIS_REPLY_ARRAY)
    return false;
  for (size_t f = 0; f + 1 < fields->elements; f += 2) {
    if (!is_string(fields->element[f]) || !is_string(fields->element[f + 1]))
      return false;
    entry.fields.emplace_back(reply_text(fields->element[f]),
                              reply_text(fields->element[f + 1]));
  }
  return true;
}

bool parse_entries(const std::string &stream, const redisReply *list,
                   std::vector<RedisGroupEntry> &entries) {
  if (list->type != REDIS_REPLY_ARRAY)
    return false;
  for (size_t i = 0; i < list->elements; i++) {
    RedisGroupEntry entry;
    if (!parse_entry(stream, list->element[i], entry))
      return false;
    entries.push_back(std::move(entry));
  }
  return true;
}

RedisGroupFailure unexpected(const char *command) {
  return {false, std::string("unexpected reply to ") + command};
}

}  // namespace

std::vector<RedisEntryField> RedisGroupEntry::field_views() const {
  std::vector<RedisEntryField> views;
  views.reserve(fields.size());
  for (const auto &[name, value] : fields)
    views.push_back({name, value});
  return views;
}

const std::string *RedisGroupEntry::field(std::string_view name) const {
  for (const auto &[field_name, value] : fields) {
    if (field_name == name)
      return &value;
  }
  return nullptr;
}

void RedisGroupReader::ReplyDeleter::operator()(redisReply *reply) const {
  freeReplyObject(reply);
}

RedisGroupReader::RedisGroupReader(RedisUrl url, std::string group,
                                   std::string consumer)
    : url_(std::move(url)), group_(std::move(group)),
      consumer_(std::move(consumer)) {}

RedisGroupReader::~RedisGroupReader() { close(); }

void RedisGroupReader::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (context_ != nullptr)
    redisFree(context_);
  context_ = nullptr;
}

void RedisGroupReader::interrupt() {
  std::lock_guard<std::mutex> lock(mutex_);
  interrupted_ = true;
  if (context_ != nullptr && context_->fd >= 0)
    shutdown(context_->fd, SHUT_RDWR);
}

void RedisGroupReader::reset_interrupt() {
  std::lock_guard<std::mutex> lock(mutex_);
  interrupted_ = false;
}

void RedisGroupReader::set_timeout(std::chrono::milliseconds timeout) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  redisSetTimeout(context_, tv);
}

std::optional<RedisGroupFailure> RedisGroupReader::connect(
    std::chrono::milliseconds timeout) {
  close();
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  redisContext *context =
      url_.transport == RedisUrl::Transport::kUnix
          ? redisConnectUnixWithTimeout(url_.socket_path.c_str(), tv)
          : redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
  if (context == nullptr)
    return RedisGroupFailure{true, "out of memory"};
  if (context->err != 0) {
    RedisGroupFailure failure{true, context->errstr};
    redisFree(context);
    return failure;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (interrupted_) {
      redisFree(context);
      return RedisGroupFailure{true, "stopping"};
    }
    context_ = context;
  }
  set_timeout(kCommandTimeout);
  for (const RedisHandshakeCommand &step : redis_handshake(url_)) {
    redisReply *raw = nullptr;
    if (redisAppendFormattedCommand(context_, step.command.data(),
                                    step.command.size()) != REDIS_OK ||
        redisGetReply(context_, reinterpret_cast<void **>(&raw)) != REDIS_OK) {
      RedisGroupFailure failure{true, context_->errstr};
      close();
      return failure;
    }
    Reply reply(raw);
    if (reply->type == REDIS_REPLY_ERROR) {
      RedisGroupFailure failure{!redis_handshake_refused(step.step, reply_text(raw)),
                                std::string(redis_handshake_step_name(step.step)) +
                                    ": " + reply_text(raw)};
      close();
      return failure;
    }
  }
  return std::nullopt;
}

RedisGroupReader::Reply RedisGroupReader::command(
    const std::vector<std::string> &args,
    std::optional<RedisGroupFailure> &failure,
    std::chrono::milliseconds timeout) {
  if (context_ == nullptr) {
    failure = RedisGroupFailure{true, "not connected"};
    return nullptr;
  }
  std::vector<const char *> argv;
  std::vector<size_t> lengths;
  for (const std::string &arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  set_timeout(timeout);
  Reply reply(static_cast<redisReply *>(redisCommandArgv(
      context_, static_cast<int>(args.size()), argv.data(), lengths.data())));
  if (!reply) {
    failure = RedisGroupFailure{true, context_->errstr[0] != '\0'
                                          ? context_->errstr
                                          : "connection lost"};
    return nullptr;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    failure = RedisGroupFailure{false, args[0] + ": " + reply_text(reply.get())};
    return nullptr;
  }
  return reply;
}

std::optional<RedisGroupFailure> RedisGroupReader::create_group(
    const std::string &stream, const std::string &start_id) {
  std::optional<RedisGroupFailure> failure;
  Reply reply = command({"XGROUP", "CREATE", stream, group_, start_id, "MKSTREAM"},
                        failure, kCommandTimeout);
  if (failure && !failure->lost &&
      failure->message.find("BUSYGROUP") != std::string::npos)
    return std::nullopt;
  return failure;
}

std::optional<RedisGroupFailure> RedisGroupReader::read(
    const std::vector<std::pair<std::string, std::string>> &streams_and_ids,
    unsigned count, int block_ms, std::vector<RedisGroupEntry> &entries) {
  std::vector<std::string> args = {"XREADGROUP", "GROUP", group_, consumer_,
                                   "COUNT", std::to_string(count)};
  if (block_ms >= 0) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(block_ms));
  }
  args.push_back("STREAMS");
  for (const auto &stream_and_id : streams_and_ids)
    args.push_back(stream_and_id.first);
  for (const auto &stream_and_id : streams_and_ids)
    args.push_back(stream_and_id.second);
  std::optional<RedisGroupFailure> failure;
  Reply reply = command(args, failure,
                        kCommandTimeout + std::chrono::milliseconds(
                                              block_ms > 0 ? block_ms : 0));
  if (failure)
    return failure;
  if (reply->type == REDIS_REPLY_NIL)
    return std::nullopt;
  if (reply->type != REDIS_REPLY_ARRAY)
    return unexpected("XREADGROUP");
  for (size_t s = 0; s < reply->elements; s++) {
    const redisReply *pair = reply->element[s];
    if (pair->type != REDIS_REPLY_ARRAY || pair->elements != 2 ||
        !is_string(pair->element[0]) ||
        !parse_entries(reply_text(pair->element[0]), pair->element[1], entries))
      return unexpected("XREADGROUP");
  }
  return std::nullopt;
}

std::optional<RedisGroupFailure> RedisGroupReader::ack(
    const std::string &stream, const std::vector<std::string> &ids) {
  if (ids.empty())
    return std::nullopt;
  std::vector<std::string> args = {"XACK", stream, group_};
  args.insert(args.end(), ids.begin(), ids.end());
  std::optional<RedisGroupFailure> failure;
  command(args, failure, kCommandTimeout);
  return failure;
}

std::optional<RedisGroupFailure> RedisGroupReader::refresh(
    const std::string &stream, const std::vector<std::string> &ids) {
  if (ids.empty())
    return std::nullopt;
  std::vector<std::string> args = {"XCLAIM", stream, group_, consumer_, "0"};
  args.insert(args.end(), ids.begin(), ids.end());
  args.push_back("JUSTID");
  std::optional<RedisGroupFailure> failure;
  command(args, failure, kCommandTimeout);
  return failure;
}

std::optional<RedisGroupFailure> RedisGroupReader::autoclaim(
    const std::string &stream, uint64_t min_idle_ms, unsigned count,
    std::vector<RedisGroupEntry> &entries) {
  std::string cursor = "0-0";
  do {
    std::optional<RedisGroupFailure> failure;
    Reply reply = command({"XAUTOCLAIM", stream, group_, consumer_,
                           std::to_string(min_idle_ms), cursor, "COUNT",
                           std::to_string(count)},
                          failure, kCommandTimeout);
    if (failure)
      return failure;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        !is_string(reply->element[0]) ||
        !parse_entries(stream, reply->element[1], entries))
      return unexpected("XAUTOCLAIM");
    cursor = reply_text(reply->element[0]);
  } while (cursor != "0-0");
  return std::nullopt;
}

std::optional<RedisGroupFailure> RedisGroupReader::first_entry(
    const std::string &stream, std::optional<RedisGroupEntry> &entry) {
  std::optional<RedisGroupFailure> failure;
  Reply reply = command({"XRANGE", stream, "-", "+", "COUNT", "1"}, failure,
                        kCommandTimeout);
  if (failure)
    return failure;
  std::vector<RedisGroupEntry> entries;
  if (!parse_entries(stream, reply.get(), entries))
    return unexpected("XRANGE");
  entry.reset();
  if (!entries.empty())
    entry = std::move(entries.front());
  return std::nullopt;
}

}  // namespace callstream
