/**
 * SECTION:element-redisstreamsrc
 *
 * Reads calls back from the Redis streams redisstreamsink writes
 * (schemas/redis-audio-entry.schema.json) through a consumer group, and puts
 * each call on a sometimes src pad `src_%u` of its own: stream-start (the id
 * holds the interaction id), caps from the entry fields (pcm16:
 * audio/x-raw,format=S16LE,layout=interleaved; mulaw: audio/x-mulaw; rate,
 * channels), the callstream call-info event, a TIME segment, one buffer per
 * audio entry (PTS = timestamp_ms, the call's own time: sinks after it should
 * not sync), then EOS at the call's call_end entry, after which the pad is
 * removed. no-more-pads is never posted: calls keep coming.
 *
 * Two ways to read:
 *  - index-stream empty: the group reads `stream` itself; calls interleave
 *    there and each gets its pad. Redis hands single ENTRIES to the consumers
 *    of a group, so several consumers of one shared stream split calls
 *    between them: use one consumer per group in this mode.
 *  - index-stream set: the group reads the index stream (one call_start and
 *    one call_end entry per call, with the key of the call's own stream in
 *    `stream`); a call_start entry hands the whole call to the consumer that
 *    reads it, which then reads the call's stream through the same group
 *    (created there from id 0). The call_start index entry stays pending
 *    until the call's call_end has gone downstream: a live consumer keeps
 *    its lease on it (XCLAIM JUSTID every claim-idle-ms / 3), and a consumer
 *    finds the index entries of a dead one idle for claim-idle-ms
 *    (XAUTOCLAIM), takes them with every pending entry of their calls'
 *    streams and goes on where the dead one stopped. Each call needs a
 *    stream of its own here (redisstreamsink stream=audio:{{call_sid}}).
 *
 * The group is created on first use (XGROUP CREATE ... MKSTREAM) from
 * `start-id`: "$" (default) reads only entries added after that, "0" all the
 * stream holds. With Redis reachable this happens before READY -> PAUSED
 * returns, so every entry added once the element has started is read; with
 * Redis away the reading thread does it when Redis comes. A consumer reads its own pending entries first (delivered to
 * it before a restart, not acknowledged), then new ones; an entry is
 * acknowledged (XACK) once its push downstream has returned, and an audio
 * entry whose (interaction_id, seq) this element already pushed is dropped,
 * so nothing is skipped and nothing is pushed twice. A malformed entry is a
 * warning naming its id, then acknowledged and skipped. When Redis goes away
 * the element warns once and reconnects with backoff; the group keeps the
 * position.
 *
 * In gst-launch-1.0 only the first call's pad gets linked (gst-launch links a
 * sometimes pad once); the other calls' entries are read and acknowledged
 * with nowhere to go:
 *
 *   gst-launch-1.0 redisstreamsrc redis-url=redis://127.0.0.1:6379 \
 *       stream=audio_stream group=g ! audioconvert ! wavenc ! \
 *       filesink location=call.wav
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "redisstreamsrc/gstredisstreamsrc.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "common/redis_client.h"
#include "redisstreamsrc/call_pads.h"
#include "redisstreamsrc/redis_group_reader.h"

GST_DEBUG_CATEGORY (gst_redis_stream_src_debug);
#define GST_CAT_DEFAULT gst_redis_stream_src_debug

using callstream::CallPads;
using callstream::RedisGroupEntry;
using callstream::RedisGroupFailure;
using callstream::RedisGroupReader;

#define DEFAULT_REDIS_URL "redis://127.0.0.1:6379"
#define DEFAULT_STREAM "audio_stream"
#define DEFAULT_INDEX_STREAM ""
#define DEFAULT_GROUP "callstream"
#define DEFAULT_START_ID "$"
#define DEFAULT_BLOCK_MS 1000
#define DEFAULT_COUNT 64
#define DEFAULT_CLAIM_IDLE_MS 30000
#define CONNECT_TIMEOUT_MS 2000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

enum
{
  PROP_0,
  PROP_REDIS_URL,
  PROP_STREAM,
  PROP_INDEX_STREAM,
  PROP_GROUP,
  PROP_CONSUMER,
  PROP_START_ID,
  PROP_BLOCK_MS,
  PROP_COUNT,
  PROP_CLAIM_IDLE_MS,
  PROP_MALFORMED,
};

namespace {

struct Settings {
  std::string redis_url = DEFAULT_REDIS_URL;
  std::string stream = DEFAULT_STREAM;
  std::string index_stream = DEFAULT_INDEX_STREAM;
  std::string group = DEFAULT_GROUP;
  std::string consumer;
  std::string start_id = DEFAULT_START_ID;
  guint block_ms = DEFAULT_BLOCK_MS;
  guint count = DEFAULT_COUNT;
  guint claim_idle_ms = DEFAULT_CLAIM_IDLE_MS;
};

/* A stream this consumer reads, with where its own pending entries stand. */
struct ReadStream {
  std::string key;
  bool pending_done = false;    /* own pending entries replayed */
  std::string cursor = "0";     /* last pending id replayed */
  /* Index mode, a call's stream: its index entry and call. */
  std::string index_id;
  std::string interaction_id;
};

enum class Outcome { kGoOn, kLost, kStop };

}  // namespace

/* Lock order: state_lock, then the object lock. */
struct RedisStreamSrcImpl {
  Settings settings;            /* under the object lock */
  Settings running;             /* copied at start; the reading thread's */
  std::mutex state_lock;
  std::condition_variable wake; /* backoff waits end on stop */
  std::atomic<bool> stopping { false };
  GThread *thread = nullptr;
  std::unique_ptr<RedisGroupReader> reader;
  std::unique_ptr<CallPads> pads;
  callstream::RedisUrl url;
  /* Reading thread only. */
  ReadStream main;              /* `stream`, or the index stream */
  std::vector<ReadStream> calls; /* index mode: the calls' streams */
  gint64 next_lease_us = 0;
  std::atomic<guint64> malformed { 0 };
};

struct _GstRedisStreamSrc {
  GstElement parent;
  RedisStreamSrcImpl *impl;
};

G_DEFINE_TYPE (GstRedisStreamSrc, gst_redis_stream_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (redisstreamsrc, "redisstreamsrc", GST_RANK_NONE,
    GST_TYPE_REDIS_STREAM_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src_%u",
    GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) S16LE, "
        "layout = (string) interleaved, rate = (int) [ 1000, 192000 ], "
        "channels = (int) [ 1, 8 ]; "
        "audio/x-mulaw, rate = (int) [ 1000, 192000 ], "
        "channels = (int) [ 1, 8 ]"));

static std::string
default_consumer ()
{
  return std::string (g_get_host_name ()) + "-" + std::to_string (getpid ());
}

/* ---- Reading thread ---- */

static bool
index_mode (RedisStreamSrcImpl * impl)
{
  return !impl->running.index_stream.empty ();
}

static void
warn_malformed (GstRedisStreamSrc * self, const RedisGroupEntry & entry,
    const std::string & reason)
{
  const guint64 n = ++self->impl->malformed;
  if (n > 10 && n % 100 != 0)
    return;
  GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECODE,
      ("Skipped malformed entry %s of stream %s: %s", entry.id.c_str (),
          entry.stream.c_str (), reason.c_str ()),
      ("%" G_GUINT64_FORMAT " malformed entries so far; each is acknowledged "
          "and skipped", n),
      ("entry-id", G_TYPE_STRING, entry.id.c_str (), "stream", G_TYPE_STRING,
          entry.stream.c_str (), nullptr));
}

/* An outcome for a failed command. */
static Outcome
failed (GstRedisStreamSrc * self, const RedisGroupFailure & failure)
{
  if (failure.lost || self->impl->stopping)
    return Outcome::kLost;
  GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
      ("Redis at %s refused a command: %s", self->impl->url.display ().c_str (),
          failure.message.c_str ()), ("group %s, consumer %s",
          self->impl->running.group.c_str (),
          self->impl->running.consumer.c_str ()));
  return Outcome::kStop;
}

static Outcome
ack (GstRedisStreamSrc * self, const std::string & stream,
    const std::string & id)
{
  if (auto failure = self->impl->reader->ack (stream, {id}))
    return failed (self, *failure);
  return Outcome::kGoOn;
}

/* Whether the flow lets the entry count as gone downstream. */
static Outcome
flow_outcome (GstRedisStreamSrc * self, GstFlowReturn ret)
{
  if (ret == GST_FLOW_OK || ret == GST_FLOW_NOT_LINKED || ret == GST_FLOW_EOS)
    return Outcome::kGoOn;
  if (ret == GST_FLOW_FLUSHING) {
    GST_DEBUG_OBJECT (self, "downstream flushing: entry left pending");
    return Outcome::kStop;
  }
  GST_ELEMENT_FLOW_ERROR (self, ret);
  return Outcome::kStop;
}

/* Index mode: the call whose stream is @key, if this consumer owns it. */
static ReadStream *
owned_call (RedisStreamSrcImpl * impl, const std::string & key)
{
  for (ReadStream & call : impl->calls)
    if (call.key == key)
      return &call;
  return nullptr;
}

/* Index mode: the call of @index (a call_start index entry) becomes ours. */
static Outcome
own_call (GstRedisStreamSrc * self, const RedisGroupEntry & entry,
    const callstream::RedisIndexEntry & index, bool taken_over)
{
  RedisStreamSrcImpl *impl = self->impl;
  if (owned_call (impl, index.stream) != nullptr)
    return Outcome::kGoOn;      /* ours already (lease, or a duplicate) */
  if (impl->pads->ended (index.ids.interaction_id))
    return ack (self, entry.stream, entry.id);
  RedisGroupReader & reader = *impl->reader;
  if (auto failure = reader.create_group (index.stream, "0"))
    return failed (self, *failure);
  /* Its description (and payload) even when its call_start entry was
   * acknowledged by a consumer before us. */
  std::optional<RedisGroupEntry> first;
  if (auto failure = reader.first_entry (index.stream, first))
    return failed (self, *failure);
  if (first && !first->deleted) {
    auto parsed = callstream::parse_audio_stream_entry (first->field_views (),
        callstream::RedisPayload::kBinary);
    if (auto *start = std::get_if<callstream::RedisReadCallStart> (&parsed))
      impl->pads->describe (*start);
  }
  if (taken_over) {
    std::vector<RedisGroupEntry> claimed;
    if (auto failure = reader.autoclaim (index.stream, 0,
            impl->running.count, claimed))
      return failed (self, *failure);
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("Took over call %s from a consumer idle for over %u ms",
            index.ids.interaction_id.c_str (), impl->running.claim_idle_ms),
        ("stream %s, %zu pending entries of it claimed", index.stream.c_str (),
            claimed.size ()));
  }
  GST_INFO_OBJECT (self, "reading call %s from %s",
      index.ids.interaction_id.c_str (), index.stream.c_str ());
  ReadStream call;
  call.key = index.stream;
  call.index_id = entry.id;
  call.interaction_id = index.ids.interaction_id;
  impl->calls.push_back (std::move (call));
  return Outcome::kGoOn;
}

static Outcome
handle_index_entry (GstRedisStreamSrc * self, const RedisGroupEntry & entry,
    bool taken_over)
{
  if (entry.deleted)
    return ack (self, entry.stream, entry.id);
  auto parsed = callstream::parse_index_entry (entry.field_views ());
  if (auto *error = std::get_if<callstream::RedisEntryError> (&parsed)) {
    warn_malformed (self, entry, error->reason);
    return ack (self, entry.stream, entry.id);
  }
  const auto & index = std::get<callstream::RedisIndexEntry> (parsed);
  /* A call's end is read from its own stream by whoever owns it. */
  if (!index.call_start)
    return ack (self, entry.stream, entry.id);
  return own_call (self, entry, index, taken_over);
}

static Outcome
handle_audio_entry (GstRedisStreamSrc * self, const RedisGroupEntry & entry)
{
  RedisStreamSrcImpl *impl = self->impl;
  if (entry.deleted)
    return ack (self, entry.stream, entry.id);
  const std::string *id = entry.field ("interaction_id");
  auto parsed = callstream::parse_audio_stream_entry (entry.field_views (),
      impl->pads->payload_of (id != nullptr ? *id : std::string ()));
  GstFlowReturn ret = GST_FLOW_OK;
  bool call_ended = false;
  std::string interaction_id;
  if (auto *error = std::get_if<callstream::RedisEntryError> (&parsed)) {
    warn_malformed (self, entry, error->reason);
  } else if (auto *start =
      std::get_if<callstream::RedisReadCallStart> (&parsed)) {
    ret = impl->pads->start (*start);
  } else if (auto *audio = std::get_if<callstream::RedisReadAudio> (&parsed)) {
    if (impl->pads->duplicate (*audio))
      GST_DEBUG_OBJECT (self, "dropped duplicate %s seq %" G_GUINT64_FORMAT,
          audio->ids.interaction_id.c_str (), audio->seq);
    else
      ret = impl->pads->audio (*audio);
  } else {
    const auto & end = std::get<callstream::RedisReadCallEnd> (parsed);
    ret = impl->pads->end (end);
    call_ended = true;
    interaction_id = end.ids.interaction_id;
  }
  Outcome outcome = flow_outcome (self, ret);
  if (outcome != Outcome::kGoOn)
    return outcome;
  outcome = ack (self, entry.stream, entry.id);
  if (outcome != Outcome::kGoOn || !call_ended || !index_mode (impl))
    return outcome;
  /* Index mode: the call is done; its index entry goes, and its stream. */
  ReadStream *call = owned_call (impl, entry.stream);
  if (call == nullptr || call->interaction_id != interaction_id)
    return outcome;
  outcome = ack (self, impl->running.index_stream, call->index_id);
  impl->calls.erase (impl->calls.begin () + (call - impl->calls.data ()));
  return outcome;
}

static Outcome
handle_entries (GstRedisStreamSrc * self,
    const std::vector<RedisGroupEntry> & entries, bool taken_over = false)
{
  for (const RedisGroupEntry & entry : entries) {
    if (self->impl->stopping)
      return Outcome::kStop;
    const bool index = index_mode (self->impl)
        && entry.stream == self->impl->running.index_stream;
    Outcome outcome = index ? handle_index_entry (self, entry, taken_over)
        : handle_audio_entry (self, entry);
    if (outcome != Outcome::kGoOn)
      return outcome;
  }
  return Outcome::kGoOn;
}

/* One batch of @stream's own pending entries, replayed; done when none. */
static Outcome
replay_pending (GstRedisStreamSrc * self, ReadStream & stream)
{
  std::vector<RedisGroupEntry> entries;
  if (auto failure = self->impl->reader->read ({{stream.key, stream.cursor}},
          self->impl->running.count, -1, entries))
    return failed (self, *failure);
  if (entries.empty ()) {
    stream.pending_done = true;
    return Outcome::kGoOn;
  }
  GST_DEBUG_OBJECT (self, "replaying %zu pending entries of %s",
      entries.size (), stream.key.c_str ());
  stream.cursor = entries.back ().id;
  return handle_entries (self, entries);
}

/* Index mode: keep the lease on our calls, take over those of the dead. */
static Outcome
lease_and_take_over (GstRedisStreamSrc * self)
{
  RedisStreamSrcImpl *impl = self->impl;
  const gint64 now = g_get_monotonic_time ();
  if (now < impl->next_lease_us)
    return Outcome::kGoOn;
  impl->next_lease_us = now + impl->running.claim_idle_ms * 1000 / 3;
  std::vector<std::string> ids;
  for (const ReadStream & call : impl->calls)
    ids.push_back (call.index_id);
  if (auto failure = impl->reader->refresh (impl->running.index_stream, ids))
    return failed (self, *failure);
  std::vector<RedisGroupEntry> claimed;
  if (auto failure = impl->reader->autoclaim (impl->running.index_stream,
          impl->running.claim_idle_ms, impl->running.count, claimed))
    return failed (self, *failure);
  return handle_entries (self, claimed, true);
}

static Outcome
read_step (GstRedisStreamSrc * self)
{
  RedisStreamSrcImpl *impl = self->impl;
  if (!impl->main.pending_done)
    return replay_pending (self, impl->main);
  for (ReadStream & call : impl->calls)
    if (!call.pending_done)
      return replay_pending (self, call);
  if (index_mode (impl)) {
    Outcome outcome = lease_and_take_over (self);
    if (outcome != Outcome::kGoOn)
      return outcome;
    /* A call just taken over replays its pending entries before new ones. */
    for (const ReadStream & call : impl->calls)
      if (!call.pending_done)
        return Outcome::kGoOn;
  }
  std::vector<std::pair<std::string, std::string>> streams = {
    {impl->main.key, ">"}
  };
  for (const ReadStream & call : impl->calls)
    streams.emplace_back (call.key, ">");
  int block_ms = static_cast<int> (impl->running.block_ms);
  if (index_mode (impl))
    block_ms = std::min<int> (block_ms, impl->running.claim_idle_ms / 3);
  std::vector<RedisGroupEntry> entries;
  if (auto failure = impl->reader->read (streams, impl->running.count,
          std::max (block_ms, 1), entries))
    return failed (self, *failure);
  return handle_entries (self, entries);
}

/* Connects and makes sure the group exists; our pending entries replay. */
static std::optional<RedisGroupFailure>
set_up (GstRedisStreamSrc * self)
{
  RedisStreamSrcImpl *impl = self->impl;
  RedisGroupReader & reader = *impl->reader;
  if (auto failure = reader.connect (
          std::chrono::milliseconds (CONNECT_TIMEOUT_MS)))
    return failure;
  if (auto failure = reader.create_group (impl->main.key,
          impl->running.start_id))
    return failure;
  impl->main.pending_done = false;
  impl->main.cursor = "0";
  for (ReadStream & call : impl->calls) {
    if (auto failure = reader.create_group (call.key, "0"))
      return failure;
    call.pending_done = false;
    call.cursor = "0";
  }
  impl->next_lease_us = 0;
  return std::nullopt;
}

static gpointer
reading_thread (gpointer data)
{
  GstRedisStreamSrc *self = GST_REDIS_STREAM_SRC (data);
  callstream::block_sigpipe_in_this_thread ();
  RedisStreamSrcImpl *impl = self->impl;
  guint backoff_ms = BACKOFF_FIRST_MS;
  bool warned = false;
  while (!impl->stopping) {
    if (!impl->reader->connected ()) {
      auto failure = set_up (self);
      if (impl->stopping)
        break;
      if (failure && !failure->lost) {
        failed (self, *failure);
        break;
      }
      if (failure) {
        if (!warned)
          GST_ELEMENT_WARNING (self, RESOURCE, READ,
              ("Lost Redis at %s: %s", impl->url.display ().c_str (),
                  failure->message.c_str ()),
              ("reconnecting with backoff up to %u ms; the group keeps the "
                  "position", BACKOFF_MAX_MS));
        warned = true;
        impl->reader->close ();
        std::unique_lock < std::mutex > lock (impl->state_lock);
        impl->wake.wait_for (lock, std::chrono::milliseconds (backoff_ms),
            [impl] { return impl->stopping.load (); });
        backoff_ms = std::min (backoff_ms * 2, (guint) BACKOFF_MAX_MS);
        continue;
      }
      if (warned)
        GST_INFO_OBJECT (self, "Redis at %s is back",
            impl->url.display ().c_str ());
      warned = false;
      backoff_ms = BACKOFF_FIRST_MS;
    }
    const Outcome outcome = read_step (self);
    if (outcome == Outcome::kStop)
      break;
    if (outcome == Outcome::kLost) {
      /* Pending replay after the reconnect finds what was not acknowledged. */
      impl->reader->close ();
      if (!impl->stopping && !warned) {
        GST_ELEMENT_WARNING (self, RESOURCE, READ,
            ("Lost Redis at %s", impl->url.display ().c_str ()),
            ("reconnecting with backoff up to %u ms; the group keeps the "
                "position", BACKOFF_MAX_MS));
        warned = true;
      }
    }
  }
  GST_DEBUG_OBJECT (self, "reading thread done");
  return nullptr;
}

/* ---- Start and stop ---- */

static gboolean
gst_redis_stream_src_start (GstRedisStreamSrc * self)
{
  RedisStreamSrcImpl *impl = self->impl;
  GST_OBJECT_LOCK (self);
  impl->running = impl->settings;
  GST_OBJECT_UNLOCK (self);
  Settings & s = impl->running;
  if (s.consumer.empty ())
    s.consumer = default_consumer ();
  auto url = callstream::parse_redis_url (s.redis_url);
  if (auto *error = std::get_if<callstream::RedisUrlError> (&url)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid redis-url %s: %s",
            callstream::redact_redis_url (s.redis_url).c_str (),
            error->reason.c_str ()), (nullptr));
    return FALSE;
  }
  const std::string & key = s.index_stream.empty () ? s.stream
      : s.index_stream;
  if (key.empty () || s.group.empty ()) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("stream (or index-stream) and group must not be empty"), (nullptr));
    return FALSE;
  }
  impl->url = std::get<callstream::RedisUrl> (url);
  impl->reader = std::make_unique<RedisGroupReader> (impl->url, s.group,
      s.consumer);
  impl->pads = std::make_unique<CallPads> (GST_ELEMENT (self));
  impl->main = ReadStream ();
  impl->main.key = key;
  impl->calls.clear ();
  impl->malformed = 0;
  impl->stopping = false;
  GST_INFO_OBJECT (self, "reading %s %s as %s/%s", s.index_stream.empty () ?
      "stream" : "index stream", key.c_str (), s.group.c_str (),
      s.consumer.c_str ());
  /* The group exists before the state change returns (entries added from
   * then on are ours); Redis away: the reading thread keeps trying. */
  if (auto failure = set_up (self)) {
    if (!failure->lost) {
      failed (self, *failure);
      impl->reader.reset ();
      impl->pads.reset ();
      return FALSE;
    }
    impl->reader->close ();
  }
  impl->thread = g_thread_new ("redisstreamsrc", reading_thread, self);
  return TRUE;
}

/* Before the pads are deactivated: a blocked read returns at once. */
static void
gst_redis_stream_src_unlock (GstRedisStreamSrc * self)
{
  RedisStreamSrcImpl *impl = self->impl;
  {
    std::lock_guard < std::mutex > lock (impl->state_lock);
    impl->stopping = true;
  }
  impl->wake.notify_all ();
  if (impl->reader)
    impl->reader->interrupt ();
}

/* After the pads are deactivated (a push in progress returned FLUSHING). */
static void
gst_redis_stream_src_stop (GstRedisStreamSrc * self)
{
  RedisStreamSrcImpl *impl = self->impl;
  if (impl->thread != nullptr)
    g_thread_join (impl->thread);
  impl->thread = nullptr;
  if (impl->pads)
    impl->pads->remove_all ();
  impl->pads.reset ();
  impl->reader.reset ();
  impl->calls.clear ();
}

static GstStateChangeReturn
gst_redis_stream_src_change_state (GstElement * element,
    GstStateChange transition)
{
  GstRedisStreamSrc *self = GST_REDIS_STREAM_SRC (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_redis_stream_src_start (self))
    return GST_STATE_CHANGE_FAILURE;
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_redis_stream_src_unlock (self);

  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_redis_stream_src_parent_class)->change_state
      (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (ret == GST_STATE_CHANGE_FAILURE) {
        gst_redis_stream_src_unlock (self);
        gst_redis_stream_src_stop (self);
      } else {
        ret = GST_STATE_CHANGE_NO_PREROLL;      /* live: no preroll */
      }
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      if (ret != GST_STATE_CHANGE_FAILURE)
        ret = GST_STATE_CHANGE_NO_PREROLL;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_redis_stream_src_stop (self);
      break;
    default:
      break;
  }
  return ret;
}

/* ---- GObject ---- */

static void
gst_redis_stream_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRedisStreamSrc *self = GST_REDIS_STREAM_SRC (object);
  Settings & s = self->impl->settings;
  auto string_value = [value] (const char *fallback) {
    const gchar *text = g_value_get_string (value);
    return std::string (text != nullptr ? text : fallback);
  };
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_REDIS_URL:
      s.redis_url = string_value (DEFAULT_REDIS_URL);
      break;
    case PROP_STREAM:
      s.stream = string_value (DEFAULT_STREAM);
      break;
    case PROP_INDEX_STREAM:
      s.index_stream = string_value (DEFAULT_INDEX_STREAM);
      break;
    case PROP_GROUP:
      s.group = string_value (DEFAULT_GROUP);
      break;
    case PROP_CONSUMER:
      s.consumer = string_value ("");
      break;
    case PROP_START_ID:
      s.start_id = string_value (DEFAULT_START_ID);
      break;
    case PROP_BLOCK_MS:
      s.block_ms = g_value_get_uint (value);
      break;
    case PROP_COUNT:
      s.count = g_value_get_uint (value);
      break;
    case PROP_CLAIM_IDLE_MS:
      s.claim_idle_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_redis_stream_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstRedisStreamSrc *self = GST_REDIS_STREAM_SRC (object);
  const Settings & s = self->impl->settings;
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_REDIS_URL:
      g_value_set_string (value, s.redis_url.c_str ());
      break;
    case PROP_STREAM:
      g_value_set_string (value, s.stream.c_str ());
      break;
    case PROP_INDEX_STREAM:
      g_value_set_string (value, s.index_stream.c_str ());
      break;
    case PROP_GROUP:
      g_value_set_string (value, s.group.c_str ());
      break;
    case PROP_CONSUMER:
      g_value_set_string (value, s.consumer.empty ()
          ? default_consumer ().c_str () : s.consumer.c_str ());
      break;
    case PROP_START_ID:
      g_value_set_string (value, s.start_id.c_str ());
      break;
    case PROP_BLOCK_MS:
      g_value_set_uint (value, s.block_ms);
      break;
    case PROP_COUNT:
      g_value_set_uint (value, s.count);
      break;
    case PROP_CLAIM_IDLE_MS:
      g_value_set_uint (value, s.claim_idle_ms);
      break;
    case PROP_MALFORMED:
      g_value_set_uint64 (value, self->impl->malformed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_redis_stream_src_finalize (GObject * object)
{
  GstRedisStreamSrc *self = GST_REDIS_STREAM_SRC (object);
  delete self->impl;
  G_OBJECT_CLASS (gst_redis_stream_src_parent_class)->finalize (object);
}

static void
gst_redis_stream_src_init (GstRedisStreamSrc * self)
{
  self->impl = new RedisStreamSrcImpl ();
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}

static void
gst_redis_stream_src_class_init (GstRedisStreamSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const auto settable = static_cast<GParamFlags> (G_PARAM_READWRITE
      | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  GST_DEBUG_CATEGORY_INIT (gst_redis_stream_src_debug, "redisstreamsrc", 0,
      "Redis stream consumer");

  gobject_class->set_property = gst_redis_stream_src_set_property;
  gobject_class->get_property = gst_redis_stream_src_get_property;
  gobject_class->finalize = gst_redis_stream_src_finalize;

  g_object_class_install_property (gobject_class, PROP_REDIS_URL,
      g_param_spec_string ("redis-url", "Redis URL",
          "redis://[[user]:password@]host[:port][/db] or "
          "unix://[[user]:password@]/path/redis.sock[?db=N]",
          DEFAULT_REDIS_URL, settable));
  g_object_class_install_property (gobject_class, PROP_STREAM,
      g_param_spec_string ("stream", "Stream",
          "Key of the audio stream to read when index-stream is empty",
          DEFAULT_STREAM, settable));
  g_object_class_install_property (gobject_class, PROP_INDEX_STREAM,
      g_param_spec_string ("index-stream", "Index stream",
          "Key of the index stream that hands whole calls (each in a stream "
          "of its own) to the consumers of the group; empty: read 'stream' "
          "itself (then use one consumer per group: several would split "
          "calls)", DEFAULT_INDEX_STREAM, settable));
  g_object_class_install_property (gobject_class, PROP_GROUP,
      g_param_spec_string ("group", "Consumer group",
          "Redis consumer group; created when missing", DEFAULT_GROUP,
          settable));
  g_object_class_install_property (gobject_class, PROP_CONSUMER,
      g_param_spec_string ("consumer", "Consumer",
          "Consumer name in the group; the same name after a restart replays "
          "what it had not acknowledged (default: <hostname>-<pid>)", nullptr,
          settable));
  g_object_class_install_property (gobject_class, PROP_START_ID,
      g_param_spec_string ("start-id", "Start id",
          "Where a group created by this element starts: \"$\" only entries "
          "added from then on, \"0\" everything the stream holds",
          DEFAULT_START_ID, settable));
  g_object_class_install_property (gobject_class, PROP_BLOCK_MS,
      g_param_spec_uint ("block-ms", "Block time",
          "Milliseconds one XREADGROUP waits for entries (stopping does not "
          "wait for it)", 1, 600000, DEFAULT_BLOCK_MS, settable));
  g_object_class_install_property (gobject_class, PROP_COUNT,
      g_param_spec_uint ("count", "Count",
          "Most entries one XREADGROUP returns", 1, 100000, DEFAULT_COUNT,
          settable));
  g_object_class_install_property (gobject_class, PROP_CLAIM_IDLE_MS,
      g_param_spec_uint ("claim-idle-ms", "Claim idle time",
          "Index mode: a call whose consumer has not renewed its lease for "
          "this many milliseconds is taken over, where it stopped",
          30, 3600 * 1000, DEFAULT_CLAIM_IDLE_MS, settable));
  g_object_class_install_property (gobject_class, PROP_MALFORMED,
      g_param_spec_uint64 ("malformed", "Malformed",
          "Entries skipped as malformed since start (each warned about, up to "
          "10, then every 100th)", 0, G_MAXUINT64, 0,
          static_cast<GParamFlags> (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Redis stream consumer", "Source/Network/Audio",
      "Reads calls from Redis streams written by redisstreamsink through a "
      "consumer group, one src pad per call, acknowledging each entry once "
      "it has gone downstream", "callstream");
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_redis_stream_src_change_state);
}
