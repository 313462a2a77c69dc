#include "assist_feed.h"

#include <hiredis/hiredis.h>
#include <json-glib/json-glib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <tuple>
#include <variant>

#include "log.h"

namespace callstreamd {

namespace {

constexpr guint kFirstBackoffMs = 100;
constexpr guint kReplyMarginMs = 5000;  // a reply may take this much longer than BLOCK

struct ReplyDeleter {
  void operator() (redisReply *reply) const { freeReplyObject (reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval
to_timeval (guint ms)
{
  return { static_cast<time_t> (ms / 1000), static_cast<suseconds_t> (ms % 1000 * 1000) };
}

// "<ms>-<seq>" as two numbers, for ordering entries of two streams.
std::pair<guint64, guint64>
id_key (const std::string &id)
{
  char *end = nullptr;
  const guint64 ms = g_ascii_strtoull (id.c_str (), &end, 10);
  guint64 seq = 0;
  if (end != nullptr && *end == '-')
    seq = g_ascii_strtoull (end + 1, nullptr, 10);
  return { ms, seq };
}

bool
parse_uint (const std::string *text, guint64 *out)
{
  return text != nullptr && !text->empty ()
      && g_ascii_string_to_unsigned (text->c_str (), 10, 0, G_MAXINT64, out, nullptr);
}

// A decimal from 0 to 1.
bool
parse_fraction (const std::string *text, double *out)
{
  if (text == nullptr || text->empty ())
    return false;
  char *end = nullptr;
  const double value = g_ascii_strtod (text->c_str (), &end);
  if (end == text->c_str () || *end != '\0' || !(value >= 0.0 && value <= 1.0))
    return false;
  *out = value;
  return true;
}

// A recording is a plain file name inside ASSIST_RECORDINGS_DIR.
bool
relative_file_path (const std::string &path)
{
  // What the worker writes: <call>/call.wav under ASSIST_RECORDINGS_DIR.
  if (path.empty () || path.front () == '/' || path.find ('\\') != std::string::npos
      || path.find ('\0') != std::string::npos)
    return false;
  g_auto (GStrv) parts = g_strsplit (path.c_str (), "/", -1);
  for (gchar **part = parts; *part != nullptr; part++)
    if (**part == '\0' || g_str_equal (*part, ".") || g_str_equal (*part, ".."))
      return false;
  return true;
}

std::string
to_json (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, root);
  g_autofree gchar *text = json_generator_to_data (generator, nullptr);
  return text;
}

void
member (JsonBuilder *b, const char *name, const std::string &value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value.c_str ());
}

void
member (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
member (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

void
member (JsonBuilder *b, const char *name, bool value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

// Entries of an XRANGE/XREVRANGE reply, or of one stream in an XREAD reply.
bool
copy_entries (const redisReply *reply, FeedEntry::Stream stream, std::vector<FeedEntry> &out)
{
  if (reply->type != REDIS_REPLY_ARRAY)
    return false;
  for (size_t i = 0; i < reply->elements; i++) {
    const redisReply *item = reply->element[i];
    if (item->type != REDIS_REPLY_ARRAY || item->elements != 2
        || item->element[0]->type != REDIS_REPLY_STRING)
      return false;
    FeedEntry entry;
    entry.stream = stream;
    entry.id.assign (item->element[0]->str, item->element[0]->len);
    const redisReply *fields = item->element[1];
    if (fields->type == REDIS_REPLY_ARRAY) {
      for (size_t f = 0; f + 1 < fields->elements; f += 2) {
        const redisReply *k = fields->element[f], *v = fields->element[f + 1];
        entry.fields.emplace_back (std::string (k->str ? k->str : "", k->len),
            std::string (v->str ? v->str : "", v->len));
      }
    }
    out.push_back (std::move (entry));
  }
  return true;
}

}  // namespace

const std::string *
FeedEntry::get (std::string_view name) const
{
  for (const auto &[field, value] : fields)
    if (field == name)
      return &value;
  return nullptr;
}

/* ---- AssistModel ---- */

AssistModel::AssistModel (AssistLimits limits,
    std::function<std::string (const std::string &)> recording_url)
  : limits_ (limits), recording_url_ (std::move (recording_url))
{
}

size_t
AssistModel::in_progress () const
{
  return std::count_if (calls_.begin (), calls_.end (),
      [] (const auto &item) { return !item.second.ended; });
}

size_t
AssistModel::recent () const
{
  return calls_.size () - in_progress ();
}

AssistModel::Call &
AssistModel::call_for (const std::string &interaction_id, gint64 now_ms, bool *created)
{
  auto [it, inserted] = calls_.try_emplace (interaction_id);
  Call &call = it->second;
  *created = inserted;
  if (inserted) {
    call.interaction_id = interaction_id;
    call.started_at_ms = now_ms;
    call.order = ++counter_;
  }
  call.activity = ++counter_;
  return call;
}

std::vector<AssistEvent>
AssistModel::apply (const FeedEntry &entry, std::string *error)
{
  const std::string *interaction_id = entry.get ("interaction_id");
  if (interaction_id == nullptr || interaction_id->empty ()) {
    *error = "no interaction_id";
    return {};
  }
  return entry.stream == FeedEntry::Stream::kTranscripts ? apply_transcript (entry, error)
      : apply_assist (entry, error);
}

std::vector<AssistEvent>
AssistModel::apply_transcript (const FeedEntry &entry, std::string *error)
{
  Segment segment;
  const std::string *text = entry.get ("text");
  const std::string *is_final = entry.get ("is_final");
  if (!parse_uint (entry.get ("seq"), &segment.seq) || segment.seq == 0)
    *error = "seq must be a whole number from 1";
  else if (text == nullptr)
    *error = "no text";
  else if (is_final == nullptr || (*is_final != "true" && *is_final != "false"))
    *error = "is_final must be \"true\" or \"false\"";
  else if (!parse_uint (entry.get ("start_ms"), &segment.start_ms))
    *error = "start_ms must be a whole number";
  else if (!parse_uint (entry.get ("end_ms"), &segment.end_ms))
    *error = "end_ms must be a whole number";
  else if (!parse_fraction (entry.get ("confidence"), &segment.confidence))
    *error = "confidence must be a decimal from 0 to 1";
  if (!error->empty ())
    return {};
  segment.text = *text;
  segment.is_final = *is_final == "true";

  std::vector<AssistEvent> events;
  const std::string &interaction_id = *entry.get ("interaction_id");
  bool created = false;
  Call &call = call_for (interaction_id, static_cast<gint64> (id_key (entry.id).first), &created);
  if (created)
    events.push_back ({ "call_start", entry.id, call_event_json (call) });
  if (segment.seq <= call.last_seq)
    return events;  // already applied (a replay overlapping the live read)
  call.last_seq = segment.seq;
  if (segment.is_final) {
    call.partial.reset ();
    call.finals.push_back (segment);
    if (call.finals.size () > limits_.max_segments_per_call) {
      call.finals.pop_front ();
      call.segments_dropped++;
    }
  } else {
    call.partial = segment;
  }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  member (b, "interaction_id", interaction_id);
  member (b, "seq", static_cast<gint64> (segment.seq));
  member (b, "text", segment.text);
  member (b, "is_final", segment.is_final);
  member (b, "start_ms", static_cast<gint64> (segment.start_ms));
  member (b, "end_ms", static_cast<gint64> (segment.end_ms));
  member (b, "confidence", segment.confidence);
  json_builder_end_object (b);
  events.push_back ({ "transcript", entry.id, to_json (b) });
  enforce_limits (entry.id, events);
  return events;
}

std::vector<AssistEvent>
AssistModel::apply_assist (const FeedEntry &entry, std::string *error)
{
  const std::string *event = entry.get ("event");
  const std::string &interaction_id = *entry.get ("interaction_id");
  auto text_of = [&entry] (const char *name) {
    const std::string *value = entry.get (name);
    return value ? *value : std::string ();
  };
  const gint64 entry_ms = static_cast<gint64> (id_key (entry.id).first);
  if (event == nullptr) {
    *error = "no event";
    return {};
  }
  std::vector<AssistEvent> events;
  bool created = false;
  if (*event == "call_start") {
    guint64 started_at = static_cast<guint64> (entry_ms);
    const std::string *started = entry.get ("started_at");
    if (started != nullptr && !started->empty () && !parse_uint (started, &started_at)) {
      *error = "started_at must be unix milliseconds";
      return {};
    }
    Call &call = call_for (interaction_id, entry_ms, &created);
    call.started_at_ms = static_cast<gint64> (started_at);
    for (auto [name, field] : { std::pair { "stream_sid", &Call::stream_sid },
           { "provider", &Call::provider }, { "from", &Call::from }, { "to", &Call::to } }) {
      const std::string value = text_of (name);
      if (!value.empty ())
        call.*field = value;
    }
    events.push_back ({ "call_start", entry.id, call_event_json (call) });
  } else if (*event == "intent") {
    Intent intent;
    intent.intent_id = text_of ("intent_id");
    intent.intent_name = text_of ("intent_name");
    intent.text = text_of ("text");
    if (intent.intent_id.empty ())
      *error = "no intent_id";
    else if (!parse_fraction (entry.get ("score"), &intent.score))
      *error = "score must be a decimal from 0 to 1";
    else if (!parse_uint (entry.get ("transcript_seq"), &intent.transcript_seq))
      *error = "transcript_seq must be a whole number";
    if (!error->empty ())
      return {};
    if (intent.intent_name.empty ())
      intent.intent_name = intent.intent_id;
    Call &call = call_for (interaction_id, entry_ms, &created);
    if (created)
      events.push_back ({ "call_start", entry.id, call_event_json (call) });
    if (call.intents.size () >= limits_.max_items_per_call)
      return events;
    call.intents.push_back (intent);
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    member (b, "interaction_id", interaction_id);
    member (b, "intent_id", intent.intent_id);
    member (b, "intent_name", intent.intent_name);
    member (b, "score", intent.score);
    member (b, "transcript_seq", static_cast<gint64> (intent.transcript_seq));
    member (b, "text", intent.text);
    json_builder_end_object (b);
    events.push_back ({ "intent", entry.id, to_json (b) });
  } else if (*event == "article") {
    Article article;
    article.article_id = text_of ("article_id");
    article.title = text_of ("title");
    article.url = text_of ("url");
    article.summary = text_of ("summary");
    article.intent_id = text_of ("intent_id");
    // The page makes the URL a link: nothing but http(s).
    if (article.article_id.empty ())
      *error = "no article_id";
    else if (article.title.empty ())
      *error = "no title";
    else if (!g_str_has_prefix (article.url.c_str (), "https://")
        && !g_str_has_prefix (article.url.c_str (), "http://"))
      *error = "url must be an http:// or https:// URL";
    if (!error->empty ())
      return {};
    Call &call = call_for (interaction_id, entry_ms, &created);
    if (created)
      events.push_back ({ "call_start", entry.id, call_event_json (call) });
    const bool known = std::any_of (call.articles.begin (), call.articles.end (),
        [&article] (const Article &a) { return a.article_id == article.article_id; });
    if (known || call.articles.size () >= limits_.max_items_per_call)
      return events;  // surfaced once per call
    call.articles.push_back (article);
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    member (b, "interaction_id", interaction_id);
    member (b, "article_id", article.article_id);
    member (b, "title", article.title);
    member (b, "url", article.url);
    member (b, "summary", article.summary);
    member (b, "intent_id", article.intent_id);
    json_builder_end_object (b);
    events.push_back ({ "article", entry.id, to_json (b) });
  } else if (*event == "call_end") {
    const std::string recording = text_of ("recording");
    if (!recording.empty () && !relative_file_path (recording)) {
      *error = "recording must be a path inside ASSIST_RECORDINGS_DIR (no leading /, no ..)";
      return {};
    }
    Call &call = call_for (interaction_id, entry_ms, &created);
    if (!call.ended)
      call.end_order = ++counter_;
    call.ended = true;
    call.ended_at_ms = entry_ms;
    call.reason = text_of ("reason");
    call.recording = recording;
    call.partial.reset ();
    events.push_back ({ "call_end", entry.id, call_event_json (call) });
  } else {
    *error = "unknown event \"" + *event + "\"";
    return {};
  }
  enforce_limits (entry.id, events);
  return events;
}

void
AssistModel::enforce_limits (const std::string &entry_id, std::vector<AssistEvent> &events)
{
  auto remove_where = [&] (bool ended, size_t limit, guint64 Call::*age) {
    for (;;) {
      size_t count = 0;
      auto oldest = calls_.end ();
      for (auto it = calls_.begin (); it != calls_.end (); ++it) {
        if (it->second.ended != ended)
          continue;
        count++;
        if (oldest == calls_.end () || it->second.*age < oldest->second.*age)
          oldest = it;
      }
      if (count <= limit)
        return;
      if (!ended)
        log::warning ("assist_call_dropped", { { "interaction_id", oldest->first },
              { "reason", "more calls in progress than the page keeps" } });
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      member (b, "interaction_id", oldest->first);
      json_builder_end_object (b);
      events.push_back ({ "call_removed", entry_id, to_json (b) });
      calls_.erase (oldest);
    }
  };
  remove_where (false, limits_.max_calls_in_progress, &Call::activity);
  remove_where (true, limits_.max_recent_calls, &Call::end_order);
}

void
AssistModel::add_call_json (JsonBuilder *b, const Call &call) const
{
  json_builder_begin_object (b);
  member (b, "interaction_id", call.interaction_id);
  member (b, "stream_sid", call.stream_sid);
  member (b, "provider", call.provider);
  member (b, "from", call.from);
  member (b, "to", call.to);
  member (b, "status", std::string (call.ended ? "ended" : "in_progress"));
  member (b, "started_at", call.started_at_ms);
  json_builder_set_member_name (b, "ended_at");
  if (call.ended)
    json_builder_add_int_value (b, call.ended_at_ms);
  else
    json_builder_add_null_value (b);
  member (b, "reason", call.reason);
  member (b, "recording", call.recording);
  json_builder_set_member_name (b, "recording_url");
  if (!call.recording.empty ())
    json_builder_add_string_value (b, recording_url_ (call.recording).c_str ());
  else
    json_builder_add_null_value (b);
  auto add_segment = [b] (const Segment &s) {
    json_builder_begin_object (b);
    member (b, "seq", static_cast<gint64> (s.seq));
    member (b, "text", s.text);
    member (b, "is_final", s.is_final);
    member (b, "start_ms", static_cast<gint64> (s.start_ms));
    member (b, "end_ms", static_cast<gint64> (s.end_ms));
    member (b, "confidence", s.confidence);
    json_builder_end_object (b);
  };
  json_builder_set_member_name (b, "transcript");
  json_builder_begin_array (b);
  for (const Segment &s : call.finals)
    add_segment (s);
  json_builder_end_array (b);
  member (b, "segments_dropped", static_cast<gint64> (call.segments_dropped));
  json_builder_set_member_name (b, "partial");
  if (call.partial)
    add_segment (*call.partial);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "intents");
  json_builder_begin_array (b);
  for (const Intent &i : call.intents) {
    json_builder_begin_object (b);
    member (b, "intent_id", i.intent_id);
    member (b, "intent_name", i.intent_name);
    member (b, "score", i.score);
    member (b, "transcript_seq", static_cast<gint64> (i.transcript_seq));
    member (b, "text", i.text);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "articles");
  json_builder_begin_array (b);
  for (const Article &a : call.articles) {
    json_builder_begin_object (b);
    member (b, "article_id", a.article_id);
    member (b, "title", a.title);
    member (b, "url", a.url);
    member (b, "summary", a.summary);
    member (b, "intent_id", a.intent_id);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

std::string
AssistModel::call_event_json (const Call &call) const
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "call");
  add_call_json (b, call);
  json_builder_end_object (b);
  return to_json (b);
}

std::string
AssistModel::snapshot_json () const
{
  std::vector<const Call *> live, ended;
  for (const auto &[id, call] : calls_)
    (call.ended ? ended : live).push_back (&call);
  std::sort (live.begin (), live.end (), [] (const Call *a, const Call *b) {
        return a->order < b->order;
      });
  std::sort (ended.begin (), ended.end (), [] (const Call *a, const Call *b) {
        return a->end_order > b->end_order;
      });
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "in_progress");
  json_builder_begin_array (b);
  for (const Call *call : live)
    add_call_json (b, *call);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "recent");
  json_builder_begin_array (b);
  for (const Call *call : ended)
    add_call_json (b, *call);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return to_json (b);
}

/* ---- AssistFeed ---- */

std::unique_ptr<AssistFeed>
AssistFeed::open (std::string_view url, AssistFeedOptions options,
    std::function<std::string (const std::string &)> recording_url, Listener listener,
    std::string *error)
{
  auto parsed = callstream::parse_redis_url (url);
  if (auto *bad = std::get_if<callstream::RedisUrlError> (&parsed)) {
    if (error != nullptr)
      *error = "Redis URL " + callstream::redact_redis_url (url) + ": " + bad->reason;
    return nullptr;
  }
  return std::unique_ptr<AssistFeed> (new AssistFeed (
      std::get<callstream::RedisUrl> (std::move (parsed)), std::move (options),
      std::move (recording_url), std::move (listener)));
}

AssistFeed::AssistFeed (callstream::RedisUrl url, AssistFeedOptions options,
    std::function<std::string (const std::string &)> recording_url, Listener listener)
  : url_ (std::move (url)), display_url_ (url_.display ()), options_ (std::move (options)),
    model_ (options_.limits, std::move (recording_url)), listener_ (std::move (listener)),
    context_ (g_main_context_ref_thread_default ()), alive_ (std::make_shared<bool> (true))
{
  worker_ = std::thread ([this] { run (); });
}

AssistFeed::~AssistFeed ()
{
  *alive_ = false;
  {
    std::lock_guard lock (mutex_);
    stopping_ = true;
    // Ends a blocking XREAD now rather than after block_ms.
    if (socket_fd_ >= 0)
      shutdown (socket_fd_, SHUT_RDWR);
  }
  wake_.notify_one ();
  worker_.join ();
  g_main_context_unref (context_);
}

void
AssistFeed::run ()
{
  for (;;) {
    {
      std::lock_guard lock (mutex_);
      if (stopping_)
        break;
    }
    if (connection_ == nullptr && !connect ()) {
      wait_backoff ();
      continue;
    }
    const bool ok = replayed_ ? read_once () : replay ();
    if (!ok && connection_ != nullptr)
      disconnect (connection_->err ? connection_->errstr : last_failure_);
    if (!ok)
      wait_backoff ();
  }
  if (connection_ != nullptr) {
    {
      std::lock_guard lock (mutex_);
      socket_fd_ = -1;
    }
    redisFree (connection_);
    connection_ = nullptr;
  }
}

void
AssistFeed::wait_backoff ()
{
  backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs
      : std::min (backoff_ms_ * 2, options_.max_backoff_ms);
  std::unique_lock lock (mutex_);
  wake_.wait_for (lock, std::chrono::milliseconds (backoff_ms_), [this] { return stopping_; });
}

bool
AssistFeed::connect ()
{
  redisContext *c = url_.transport == callstream::RedisUrl::Transport::kUnix
      ? redisConnectUnixWithTimeout (url_.socket_path.c_str (),
          to_timeval (options_.connect_timeout_ms))
      : redisConnectWithTimeout (url_.host.c_str (), url_.port,
          to_timeval (options_.connect_timeout_ms));
  std::string failure;
  if (c == nullptr)
    failure = "out of memory";
  else if (c->err)
    failure = c->errstr;
  if (failure.empty ()) {
    redisSetTimeout (c, to_timeval (options_.block_ms + kReplyMarginMs));
    const auto handshake = callstream::redis_handshake (url_);
    for (const auto &step : handshake)
      redisAppendFormattedCommand (c, step.command.data (), step.command.size ());
    for (const auto &step : handshake) {
      void *raw = nullptr;
      if (redisGetReply (c, &raw) != REDIS_OK) {
        failure = c->errstr;
        break;
      }
      ReplyPtr reply (static_cast<redisReply *> (raw));
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
    note_failure (failure);
    return false;
  }
  {
    std::lock_guard lock (mutex_);
    if (stopping_) {
      redisFree (c);
      return false;
    }
    socket_fd_ = c->fd;
  }
  connection_ = c;
  backoff_ms_ = 0;
  last_failure_.clear ();
  connected_.store (true);
  log::info ("assist_feed_connected", { { "url", display_url_ },
        { "transcripts_stream", options_.transcripts_stream },
        { "assist_stream", options_.assist_stream } });
  return true;
}

void
AssistFeed::disconnect (const std::string &reason)
{
  {
    std::lock_guard lock (mutex_);
    socket_fd_ = -1;
    if (stopping_)
      return redisFree (std::exchange (connection_, nullptr));
  }
  redisFree (std::exchange (connection_, nullptr));
  connected_.store (false);
  last_failure_ = reason;
  log::warning ("assist_feed_disconnected", { { "url", display_url_ }, { "reason", reason } });
}

void
AssistFeed::note_failure (const std::string &reason)
{
  connected_.store (false);
  if (reason == last_failure_)
    return;
  last_failure_ = reason;
  log::warning ("assist_feed_unreachable", { { "url", display_url_ }, { "reason", reason } });
}

bool
AssistFeed::replay ()
{
  // The window is measured on Redis's clock, which made the entry ids.
  ReplyPtr time (static_cast<redisReply *> (redisCommand (connection_, "TIME")));
  if (!time || time->type != REDIS_REPLY_ARRAY || time->elements != 2) {
    if (time && time->type == REDIS_REPLY_ERROR)
      note_failure (std::string ("TIME: ") + time->str);
    return false;
  }
  const guint64 now_ms = g_ascii_strtoull (time->element[0]->str, nullptr, 10) * 1000
      + g_ascii_strtoull (time->element[1]->str, nullptr, 10) / 1000;
  const guint64 window_ms = static_cast<guint64> (options_.replay_window_s) * 1000;
  const std::string since = std::to_string (now_ms > window_ms ? now_ms - window_ms : 0) + "-0";
  std::vector<FeedEntry> entries;
  for (auto [key, stream, last] : {
         std::tuple { &options_.transcripts_stream, FeedEntry::Stream::kTranscripts,
           &last_transcript_id_ },
         std::tuple { &options_.assist_stream, FeedEntry::Stream::kAssist, &last_assist_id_ } }) {
    const std::string count = std::to_string (options_.replay_max_entries);
    const char *argv[] = { "XREVRANGE", key->c_str (), "+", since.c_str (), "COUNT",
      count.c_str () };
    ReplyPtr reply (static_cast<redisReply *> (redisCommandArgv (connection_, 6, argv,
                nullptr)));
    if (!reply)
      return false;
    if (reply->type == REDIS_REPLY_ERROR) {
      note_failure ("XREVRANGE " + *key + ": " + std::string (reply->str, reply->len));
      return false;
    }
    std::vector<FeedEntry> newest_first;
    if (!copy_entries (reply.get (), stream, newest_first)) {
      note_failure ("XREVRANGE " + *key + ": unexpected reply");
      return false;
    }
    *last = newest_first.empty () ? since : newest_first.front ().id;
    entries.insert (entries.end (), std::make_move_iterator (newest_first.rbegin ()),
        std::make_move_iterator (newest_first.rend ()));
  }
  replayed_ = true;
  log::info ("assist_feed_replayed", { { "entries", std::to_string (entries.size ()) },
        { "window_s", std::to_string (options_.replay_window_s) } });
  deliver (std::move (entries), true);
  return true;
}

bool
AssistFeed::read_once ()
{
  const std::string block = std::to_string (options_.block_ms);
  const std::string count = std::to_string (options_.read_count);
  const char *argv[] = { "XREAD", "COUNT", count.c_str (), "BLOCK", block.c_str (), "STREAMS",
    options_.transcripts_stream.c_str (), options_.assist_stream.c_str (),
    last_transcript_id_.c_str (), last_assist_id_.c_str () };
  ReplyPtr reply (static_cast<redisReply *> (redisCommandArgv (connection_, 10, argv, nullptr)));
  if (!reply)
    return false;
  if (reply->type == REDIS_REPLY_NIL)
    return true;  // nothing new within block_ms
  if (reply->type == REDIS_REPLY_ERROR) {
    note_failure ("XREAD: " + std::string (reply->str, reply->len));
    return false;
  }
  std::vector<FeedEntry> entries;
  for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
    const redisReply *item = reply->element[i];
    if (item->type != REDIS_REPLY_ARRAY || item->elements != 2
        || item->element[0]->type != REDIS_REPLY_STRING)
      continue;
    const std::string key (item->element[0]->str, item->element[0]->len);
    const bool transcripts = key == options_.transcripts_stream;
    std::vector<FeedEntry> read;
    copy_entries (item->element[1], transcripts ? FeedEntry::Stream::kTranscripts
        : FeedEntry::Stream::kAssist, read);
    if (read.empty ())
      continue;
    (transcripts ? last_transcript_id_ : last_assist_id_) = read.back ().id;
    entries.insert (entries.end (), std::make_move_iterator (read.begin ()),
        std::make_move_iterator (read.end ()));
  }
  deliver (std::move (entries), false);
  return true;
}

void
AssistFeed::deliver (std::vector<FeedEntry> entries, bool replayed)
{
  if (entries.empty () && !replayed)
    return;
  // Both streams' entries in the order Redis stamped them. Two streams' ids
  // within one millisecond do not say which came first: there, a call's start
  // goes before its transcripts, what was detected in them after, its end last.
  auto rank = [] (const FeedEntry &entry) {
    if (entry.stream == FeedEntry::Stream::kTranscripts)
      return 1;
    const std::string *event = entry.get ("event");
    return event == nullptr ? 2 : *event == "call_start" ? 0 : *event == "call_end" ? 3 : 2;
  };
  std::stable_sort (entries.begin (), entries.end (), [&rank] (const FeedEntry &a,
          const FeedEntry &b) {
        const auto ka = id_key (a.id), kb = id_key (b.id);
        return std::tuple (ka.first, rank (a), ka.second)
            < std::tuple (kb.first, rank (b), kb.second);
      });
  struct Delivery {
    AssistFeed *feed;
    std::shared_ptr<bool> alive;
    std::vector<FeedEntry> entries;
    bool replayed;
  };
  auto *delivery = new Delivery { this, alive_, std::move (entries), replayed };
  // An idle source on our context, never g_main_context_invoke: that would
  // run the batch right here when nobody owns the context.
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, [] (gpointer data) -> gboolean {
        auto *delivery = static_cast<Delivery *> (data);
        if (*delivery->alive)
          delivery->feed->apply_batch (delivery->entries, delivery->replayed);
        return G_SOURCE_REMOVE;
      }, delivery, [] (gpointer data) { delete static_cast<Delivery *> (data); });
  g_source_attach (source, context_);
  g_source_unref (source);
}

void
AssistFeed::apply_batch (std::vector<FeedEntry> &entries, bool replayed)
{
  for (const FeedEntry &entry : entries) {
    std::string error;
    std::vector<AssistEvent> events = model_.apply (entry, &error);
    if (!error.empty ()) {
      skipped_++;
      log::warning ("assist_entry_skipped", { { "stream",
              entry.stream == FeedEntry::Stream::kTranscripts ? options_.transcripts_stream
              : options_.assist_stream }, { "id", entry.id }, { "reason", error } });
      continue;
    }
    applied_++;
    if (listener_)
      for (const AssistEvent &event : events)
        listener_ (event);
  }
  if (replayed)
    log::info ("assist_feed_ready", { { "calls_in_progress",
            std::to_string (model_.in_progress ()) },
          { "recent_calls", std::to_string (model_.recent ()) } });
}

}  // namespace callstreamd
