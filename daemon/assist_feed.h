// What the /assist page shows: the calls in progress and the recent calls,
// each with its transcript so far, the intents detected and the articles
// surfaced, built from the TRANSCRIPTS_STREAM and ASSIST_STREAM entries the
// ASR worker writes (schemas/transcript-entry.schema.json,
// schemas/assist-entry.schema.json).
//
// AssistModel is the picture itself (pure, main thread): each entry applied
// to it yields the page events it causes. AssistFeed follows both streams in
// Redis and applies their entries to a model:
//
// - its own synchronous hiredis connection on its own thread: one XREAD
//   BLOCK over both streams; on a lost connection it reconnects (100 ms
//   doubling up to max_backoff_ms) and goes on from the last entry id read,
//   so nothing written meanwhile is missed;
// - at start it replays the newest entries of the last replay_window_s
//   (XREVRANGE), so a daemon restarted mid-call shows the call again;
// - entries are handed to the GMainContext that was thread-default when the
//   feed was created, and applied there in stream-id order;
// - destroying the feed (on that context's thread) stops the thread at once,
//   even inside a blocking XREAD (its socket is shut down).
//
// Malformed entries get one warning log line (assist_entry_skipped, naming
// the stream, the entry id and what is wrong) and are skipped.
#pragma once

#include <glib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/redis_entry.h"

struct redisContext;
typedef struct _JsonBuilder JsonBuilder;

namespace callstreamd {

// One entry read from a stream.
struct FeedEntry {
  enum class Stream { kTranscripts, kAssist };
  Stream stream = Stream::kTranscripts;
  std::string id;  // "<ms>-<seq>"
  std::vector<std::pair<std::string, std::string>> fields;

  // The field's value, nullptr when the entry has no such field.
  const std::string *get (std::string_view name) const;
};

// What the page is told; data is one JSON object.
//   call_start    {"call": <call>}  (a new call, or what a call is now known as)
//   transcript    {"interaction_id","seq","text","is_final","start_ms","end_ms","confidence"}
//   intent        {"interaction_id","intent_id","intent_name","score","transcript_seq","text"}
//   article       {"interaction_id","article_id","title","url","summary","intent_id"}
//   call_end      {"call": <call>}  (now among the recent calls, with its recording_url)
//   call_removed  {"interaction_id"} (fell out of the bounded picture)
struct AssistEvent {
  std::string name;
  std::string id;  // the stream entry id that caused it
  std::string data;
};

struct AssistLimits {
  size_t max_calls_in_progress = 200;  // beyond: the least recently active is dropped
  size_t max_recent_calls = 50;        // ended calls kept, newest first
  size_t max_segments_per_call = 500;  // final transcript segments kept per call
  size_t max_items_per_call = 100;     // intents, and articles, kept per call
};

class AssistModel {
 public:
  // @recording_url: the URL of a recording's file name (signed when needed).
  AssistModel (AssistLimits limits, std::function<std::string (const std::string &)> recording_url);

  // Applies @entry; the events it causes (none for a duplicate). On a
  // malformed entry: no change, no event, *error says what is wrong.
  std::vector<AssistEvent> apply (const FeedEntry &entry, std::string *error);

  // {"in_progress": [<call>...] (oldest first), "recent": [<call>...] (newest first)}
  std::string snapshot_json () const;

  size_t in_progress () const;
  size_t recent () const;

 private:
  struct Segment {
    guint64 seq = 0;
    std::string text;
    bool is_final = false;
    guint64 start_ms = 0, end_ms = 0;
    double confidence = 0;
  };
  struct Intent {
    std::string intent_id, intent_name, text;
    double score = 0;
    guint64 transcript_seq = 0;
  };
  struct Article {
    std::string article_id, title, url, summary, intent_id;
  };
  struct Call {
    std::string interaction_id, stream_sid, provider, from, to;
    gint64 started_at_ms = 0, ended_at_ms = 0;
    bool ended = false;
    std::string reason, recording;
    std::deque<Segment> finals;
    std::optional<Segment> partial;
    guint64 last_seq = 0;
    guint64 segments_dropped = 0;
    std::vector<Intent> intents;
    std::vector<Article> articles;
    guint64 order = 0;     // when it appeared
    guint64 activity = 0;  // when it last changed
    guint64 end_order = 0;
  };

  std::vector<AssistEvent> apply_transcript (const FeedEntry &entry, std::string *error);
  std::vector<AssistEvent> apply_assist (const FeedEntry &entry, std::string *error);
  Call &call_for (const std::string &interaction_id, gint64 now_ms, bool *created);
  void add_call_json (JsonBuilder *builder, const Call &call) const;
  std::string call_event_json (const Call &call) const;
  void enforce_limits (const std::string &entry_id, std::vector<AssistEvent> &events);

  AssistLimits limits_;
  std::function<std::string (const std::string &)> recording_url_;
  std::map<std::string, Call> calls_;
  guint64 counter_ = 0;
};

struct AssistFeedOptions {
  std::string transcripts_stream = "transcripts";
  std::string assist_stream = "assist";
  guint replay_window_s = 6 * 3600;   // replay entries newer than this at start
  guint replay_max_entries = 5000;    // per stream, the newest
  guint block_ms = 5000;              // XREAD BLOCK
  guint read_count = 200;             // XREAD COUNT
  guint connect_timeout_ms = 2000;
  guint max_backoff_ms = 2000;
  AssistLimits limits;
};

class AssistFeed {
 public:
  using Listener = std::function<void (const AssistEvent &event)>;

  // Null, with *error naming what is wrong, when @url cannot be used. The
  // thread starts at once; @listener (main context) gets every event.
  static std::unique_ptr<AssistFeed> open (std::string_view url, AssistFeedOptions options,
      std::function<std::string (const std::string &)> recording_url, Listener listener,
      std::string *error);
  ~AssistFeed ();
  AssistFeed (const AssistFeed &) = delete;
  AssistFeed &operator= (const AssistFeed &) = delete;

  const AssistModel &model () const { return model_; }
  // Whether the reading connection is up (any thread).
  bool connected () const { return connected_.load (); }
  // Entries applied, and malformed ones skipped (main context).
  guint64 entries_applied () const { return applied_; }
  guint64 entries_skipped () const { return skipped_; }

 private:
  AssistFeed (callstream::RedisUrl url, AssistFeedOptions options,
      std::function<std::string (const std::string &)> recording_url, Listener listener);
  void run ();
  bool connect ();
  void disconnect (const std::string &reason);
  bool replay ();
  bool read_once ();
  void note_failure (const std::string &reason);
  void wait_backoff ();
  void deliver (std::vector<FeedEntry> entries, bool replayed);
  void apply_batch (std::vector<FeedEntry> &entries, bool replayed);

  const callstream::RedisUrl url_;
  const std::string display_url_;
  const AssistFeedOptions options_;
  AssistModel model_;
  Listener listener_;
  GMainContext *context_;        // ref held; where entries are applied
  std::shared_ptr<bool> alive_;  // false once destroyed; read on context_ only
  guint64 applied_ = 0, skipped_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  int socket_fd_ = -1;     // guarded by mutex_: shut down to end a blocking read

  // Worker thread only.
  redisContext *connection_ = nullptr;
  std::string last_transcript_id_, last_assist_id_;
  bool replayed_ = false;
  guint backoff_ms_ = 0;
  std::string last_failure_;

  std::atomic<bool> connected_ { false };
  std::thread worker_;
};

}  // namespace callstreamd
