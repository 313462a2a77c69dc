// callstream-load --flow realtime: Twilio calls through the daemon's
// realtime bridge against a fake OpenAI Realtime server the tool runs on a
// thread of its own (load_fake_realtime.h).
//
//   caller (main context)  --media-->  daemon /media-stream  --append-->  fake server
//   caller  <--media+mark--  twiliosink <- realtimebridge  <--delta--  (its own thread)
//
// Every call's audio is one byte stream whose bytes say which call and
// which position they are (stream_byte), so both ends check what arrived
// byte by byte whatever the bridge gathers or splits. The fake server
// speaks the GA protocol (session.created, session.updated, response.created
// .. response.done around each reply) and echoes the caller's bytes back as
// the model's audio, delta_ms at a time; the caller plays the audio at real
// pace the way Twilio does and echoes each mark once the audio before it has
// "played". Latency both ways is taken on one monotonic clock: a frame's
// send to the arrival of its last byte at the fake server; a delta's send to
// the arrival of its last byte at the caller. Each side only writes its own
// records during the run; they are compared after the server thread joined.
#include "load_realtime.h"

#include "load_common.h"
#include "load_fake_realtime.h"
#include "load_json.h"
#include "load_websocket.h"

#include <gio/gio.h>
#include <hiredis/hiredis.h>
#include <json-glib/json-glib.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "protocol/base64.h"
#include "protocol/outbound.h"
#include "protocol/plain_json.h"

namespace od = simdjson::ondemand;

namespace callstream_load {

namespace {

// What the daemon sends a Twilio caller, for the hot messages (media and
// mark) read with simdjson On Demand; anything else, or any doubt, goes the
// json-glib way.
struct TwilioReader {
  enum class Event : uint8_t { kOther, kMedia, kMark };

  callstream::plain_json::PaddedParser parser;
  std::vector<uint8_t> audio;  // a media payload, decoded
  size_t audio_size = 0;
  std::string mark_name;

  // The member @name of the object @value, as a string; false if it is not
  // an object or has no such string member.
  static bool string_member (od::value value, std::string_view name, std::string_view &out)
  {
    od::object object;
    if (value.get_object ().get (object) != simdjson::SUCCESS)
      return false;
    bool found = false;
    for (auto field : object) {
      std::string_view key;
      if (field.unescaped_key ().get (key) != simdjson::SUCCESS)
        return false;
      if (key != name)
        continue;
      if (found || field.value ().get_string ().get (out) != simdjson::SUCCESS)
        return false;
      found = true;
    }
    return found;
  }

  Event read (std::string_view text)
  {
    od::document doc;
    od::object root;
    if (!parser.begin (text, doc, root))
      return Event::kOther;
    std::string_view event, payload, name;
    bool has_media = false, has_mark = false;
    for (auto field : root) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key ().get (key) != simdjson::SUCCESS
          || field.value ().get (value) != simdjson::SUCCESS)
        return Event::kOther;
      if (key == "event") {
        if (value.get_string ().get (event) != simdjson::SUCCESS)
          return Event::kOther;
      } else if (key == "media") {
        has_media = string_member (value, "payload", payload);
      } else if (key == "mark") {
        has_mark = string_member (value, "name", name);
      }
    }
    if (event == "media" && has_media) {
      audio.resize (callstream::base64_decoded_max (payload.size ()));
      const auto size = callstream::base64_decode_into (payload, audio.data ());
      if (!size)
        return Event::kOther;
      audio_size = *size;
      return Event::kMedia;
    }
    if (event == "mark" && has_mark) {
      mark_name = name;
      return Event::kMark;
    }
    return Event::kOther;
  }
};

// ---------------------------------------------------------------------------
// The callers, all on the main context.

enum class CallState : uint8_t { kWaiting, kConnecting, kStreaming, kDraining, kStopped,
  kFailed };

struct RealtimeLoad;

struct PendingMark {
  gint64 due_us;
  std::string name;
};

struct Caller {
  RealtimeLoad *load = nullptr;
  uint32_t index = 0;
  std::string sid;                // the call's callSid (its streamSid is "MZ" + sid)
  CallState state = CallState::kWaiting;
  LoadWebSocket socket;
  gint64 connect_started_us = 0;
  uint32_t sent = 0;              // frames
  uint32_t sequence = 0;          // Twilio's sequenceNumber, every message counted
  gint64 next_due_us = 0;
  gint64 drain_deadline_us = 0;
  std::vector<gint64> send_us;    // per frame
  ByteCheck outbound;
  uint64_t media_received = 0, marks_echoed = 0, clears = 0, unreadable = 0;
  gint64 play_end_us = 0;         // when what was received will have played
  std::deque<PendingMark> marks;
};

struct RealtimeLoad {
  const RealtimeLoadOptions *options = nullptr;
  std::string run_id;
  gint64 start_us = 0;
  uint32_t frames_per_call = 0;
  size_t frame_bytes = 0;
  std::vector<Caller> callers;
  int epoll_fd = -1;
  GMainLoop *loop = nullptr;
  size_t next_to_connect = 0;
  int finished = 0, connected = 0;
  bool cap_hit = false;
  std::string first_error;
  bool steady = false, steady_over = false;
  DaemonUsage daemon;
  std::vector<uint8_t> audio;     // the frame being sent
  std::string message;            // the media message being sent
  TwilioReader reader;

  std::string call_sid (uint32_t index) const
  {
    return "CArt" + run_id + "-" + std::to_string (index);
  }
  std::string number (long value) const
  {
    return options->numbers_as_strings ? "\"" + std::to_string (value) + "\""
                                       : std::to_string (value);
  }
  void note_error (const std::string &what)
  {
    if (first_error.empty ())
      first_error = what;
  }
};

void
finish_caller (Caller &c, CallState state)
{
  if (c.state == CallState::kStopped || c.state == CallState::kFailed)
    return;
  c.state = state;
  if (++c.load->finished == static_cast<int> (c.load->callers.size ()))
    g_main_loop_quit (c.load->loop);
}

void
send_twilio (Caller &c, std::string_view text)
{
  c.socket.send_text (text);
}

void
echo_mark (Caller &c, const std::string &name)
{
  RealtimeLoad &load = *c.load;
  std::string text = "{\"event\":\"mark\",\"sequenceNumber\":";
  text += load.number (++c.sequence);
  text += ",\"streamSid\":\"MZ";
  text += c.sid;
  text += "\",\"mark\":{\"name\":";
  callstream::outbound::append_json_string (text, name);
  text += "}}";
  send_twilio (c, text);
  c.marks_echoed++;
}

// What the daemon sends a Twilio caller: media (played at real pace), mark
// (echoed once what came before it has played), clear (drops what has not
// played; every pending mark comes back at once).
void
on_twilio_message (Caller &c, std::string_view text)
{
  RealtimeLoad &load = *c.load;
  const gint64 now = g_get_monotonic_time ();
  TwilioReader &reader = load.reader;
  switch (reader.read (text)) {
    case TwilioReader::Event::kMedia:
      c.outbound.take (c.index, load.callers.size (), reader.audio.data (), reader.audio_size,
          now);
      c.media_received++;
      c.play_end_us = std::max (c.play_end_us, now)
          + static_cast<gint64> (reader.audio_size) * 1000 / static_cast<gint64> (kBytesPerMs);
      return;
    case TwilioReader::Event::kMark:
      c.marks.push_back ({ std::max (c.play_end_us, now), reader.mark_name });
      return;
    case TwilioReader::Event::kOther:
      break;
  }
  // The rest (clear, or anything simdjson did not take) with json-glib.
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *event = nullptr;
  JsonObject *root = parse_json_object (parser, text, "event", &event);
  JsonObject *media = json_object_member (root, "media");
  JsonObject *mark = json_object_member (root, "mark");
  if (g_str_equal (event, "media") && media != nullptr
      && json_object_has_member (media, "payload")) {
    gsize bytes = 0;
    g_autofree guchar *audio = g_base64_decode (
        json_object_get_string_member (media, "payload"), &bytes);
    c.outbound.take (c.index, load.callers.size (), audio, bytes, now);
    c.media_received++;
    c.play_end_us = std::max (c.play_end_us, now)
        + static_cast<gint64> (bytes) * 1000 / static_cast<gint64> (kBytesPerMs);
  } else if (g_str_equal (event, "mark") && mark != nullptr) {
    c.marks.push_back ({ std::max (c.play_end_us, now),
      json_object_get_string_member_with_default (mark, "name", "") });
  } else if (g_str_equal (event, "clear")) {
    c.clears++;
    c.play_end_us = now;
    for (PendingMark &m : c.marks)
      m.due_us = now;
  } else {
    c.unreadable++;
    load.note_error ("call " + std::to_string (c.index) + " got an unreadable message: "
        + std::string (text.substr (0, 120)));
  }
}

// The daemon closed the call (or the connection failed) before it ended.
void
on_caller_closed (Caller &c)
{
  if (c.state == CallState::kStreaming || c.state == CallState::kDraining) {
    c.load->note_error ("the daemon closed " + c.load->call_sid (c.index) + " after "
        + std::to_string (c.sent) + " frames (code " + std::to_string (c.socket.close_code ())
        + (c.socket.error ().empty () ? "" : ": " + c.socket.error ()) + ")");
    finish_caller (c, CallState::kFailed);
  }
}

// The socket of @c changed state: opened (the call starts), failed to
// connect, or closed.
void
on_caller_socket_changed (Caller &c)
{
  RealtimeLoad &load = *c.load;
  if (c.state == CallState::kConnecting) {
    if (c.socket.state () == LoadWebSocket::State::kFailed) {
      load.note_error ("call " + std::to_string (c.index) + ": " + c.socket.error ());
      finish_caller (c, CallState::kFailed);
      return;
    }
    if (!c.socket.open ())
      return;
    const std::string sid = load.call_sid (c.index);
    send_twilio (c, "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
    send_twilio (c, "{\"event\":\"start\",\"sequenceNumber\":" + load.number (++c.sequence)
        + ",\"streamSid\":\"MZ" + sid + "\",\"start\":{\"streamSid\":\"MZ" + sid
        + "\",\"callSid\":\"" + sid + "\",\"accountSid\":\"ACload\",\"tracks\":[\"inbound\"],"
          "\"customParameters\":{},\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
          "\"sampleRate\":8000,\"channels\":1}}}");
    c.state = CallState::kStreaming;
    c.next_due_us = g_get_monotonic_time ();
    load.connected++;
    return;
  }
  if (!c.socket.open ())
    on_caller_closed (c);
}

void
send_frame (Caller &c)
{
  RealtimeLoad &load = *c.load;
  const uint32_t seq = ++c.sent;
  const uint64_t first = static_cast<uint64_t> (seq - 1) * load.frame_bytes;
  fill_stream (c.index, first, load.audio.data (), load.frame_bytes);
  // One string, its size reserved, the audio base64-encoded straight into it.
  std::string &message = load.message;
  message.clear ();
  message.reserve (160 + c.sid.size () + load.frame_bytes / 3 * 4);
  message += "{\"event\":\"media\",\"sequenceNumber\":";
  message += load.number (++c.sequence);
  message += ",\"streamSid\":\"MZ";
  message += c.sid;
  message += "\",\"media\":{\"track\":\"inbound\",\"chunk\":";
  message += load.number (seq);
  message += ",\"timestamp\":";
  message += load.number (static_cast<long> (seq - 1) * load.options->frame_ms);
  message += ",\"payload\":\"";
  const size_t at = message.size ();
  message.resize (at + callstream::base64_encoded_size (load.audio.size ()));
  callstream::base64_encode_into (load.audio.data (), load.audio.size (), message.data () + at);
  message += "\"}}";
  c.send_us[seq - 1] = g_get_monotonic_time ();
  send_twilio (c, message);
  if (load.steady && !load.steady_over)
    load.daemon.frames_in_steady++;
}

void
stop_caller (Caller &c)
{
  RealtimeLoad &load = *c.load;
  const std::string sid = load.call_sid (c.index);
  send_twilio (c, "{\"event\":\"stop\",\"sequenceNumber\":" + load.number (++c.sequence)
      + ",\"streamSid\":\"MZ" + sid + "\",\"stop\":{\"accountSid\":\"ACload\",\"callSid\":\""
      + sid + "\"}}");
  c.socket.close (1000);
  finish_caller (c, CallState::kStopped);
}

gboolean
on_tick (gpointer data)
{
  auto &load = *static_cast<RealtimeLoad *> (data);
  const gint64 now = g_get_monotonic_time ();
  const size_t n = load.callers.size ();
  const gint64 ramp_us = static_cast<gint64> (load.options->ramp_up_s) * G_USEC_PER_SEC;
  while (load.next_to_connect < n && now >= load.start_us
          + ramp_us * static_cast<gint64> (load.next_to_connect) / static_cast<gint64> (n)) {
    Caller &c = load.callers[load.next_to_connect++];
    c.state = CallState::kConnecting;
    c.connect_started_us = now;
    c.socket.set_message_handler ([&c] (std::string_view text) { on_twilio_message (c, text); });
    if (!c.socket.start (load.epoll_fd, c.index, load.options->host, load.options->port,
            load.options->path)
        || c.socket.state () == LoadWebSocket::State::kFailed)
      on_caller_socket_changed (c);
  }
  if (!load.steady && load.connected == static_cast<int> (n)) {
    load.steady = true;
    load.daemon.steady_start = sample_process (load.options->daemon_pid);
  }
  const gint64 frame_us = static_cast<gint64> (load.options->frame_ms) * 1000;
  for (Caller &c : load.callers) {
    if (c.state == CallState::kConnecting && now - c.connect_started_us > kHandshakeTimeoutUs) {
      load.note_error ("call " + std::to_string (c.index) + ": no handshake answer in "
          + std::to_string (kHandshakeTimeoutUs / G_USEC_PER_SEC) + " s");
      c.socket.abandon ();
      finish_caller (c, CallState::kFailed);
      continue;
    }
    if (c.state != CallState::kStreaming && c.state != CallState::kDraining)
      continue;
    if (!c.socket.open ()) {
      on_caller_closed (c);
      continue;
    }
    while (!c.marks.empty () && c.marks.front ().due_us <= now) {
      echo_mark (c, c.marks.front ().name);
      c.marks.pop_front ();
    }
    while (c.state == CallState::kStreaming && now >= c.next_due_us) {
      if (c.sent == load.frames_per_call) {
        // Wait for the reply to the last frames before hanging up.
        c.state = CallState::kDraining;
        c.drain_deadline_us = now + std::max<gint64> (1, load.options->flush_s) * G_USEC_PER_SEC;
        if (load.steady && !load.steady_over) {
          load.steady_over = true;
          load.daemon.steady_end = sample_process (load.options->daemon_pid);
        }
        break;
      }
      send_frame (c);
      c.next_due_us += frame_us;
    }
    if (c.state == CallState::kDraining
        && (c.outbound.position >= static_cast<uint64_t> (c.sent) * load.frame_bytes
            || now >= c.drain_deadline_us))
      stop_caller (c);
  }
  load.daemon.sample_rss (now);
  return G_SOURCE_CONTINUE;
}

// ---------------------------------------------------------------------------
// The tee'd branch: the caller's frames in the Redis stream.

struct RedisFigures {
  bool checked = false;
  uint64_t published = 0, duplicated = 0, corrupted = 0;
  int call_ends = 0;
  std::string error;
};

const redisReply *
entry_field (const redisReply *fields, const char *name)
{
  for (size_t f = 0; f + 1 < fields->elements; f += 2)
    if (g_str_equal (fields->element[f]->str, name))
      return fields->element[f + 1];
  return nullptr;
}

// Reads the stream until every connected call's call_end is there or
// @deadline_us; checks each audio entry of this run against its frame.
RedisFigures
check_redis (const RealtimeLoad &load, gint64 deadline_us)
{
  RedisFigures r;
  const RealtimeLoadOptions &o = *load.options;
  RedisContextPtr c = redis_connect (o.redis_url, &r.error);
  if (!c)
    return r;
  const std::string prefix = load.call_sid (0).substr (0, load.call_sid (0).size () - 1);
  const size_t n = load.callers.size ();
  std::vector<std::vector<uint8_t>> seen (n);
  std::vector<uint8_t> base64_audio (n, 0);
  std::vector<uint8_t> expected (load.frame_bytes);
  for (size_t i = 0; i < n; i++)
    seen[i].assign (load.callers[i].sent, 0);
  std::string from = std::to_string (g_get_real_time () / 1000
      - (g_get_monotonic_time () - load.start_us) / 1000 - 1000) + "-0";
  for (;;) {
    RedisReplyPtr reply = redis_command (c.get (),
        { "XRANGE", o.stream, from, "+", "COUNT", "2000" });
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
      r.error = "XRANGE " + o.stream + " failed: " + (reply ? reply->str : c->errstr);
      return r;
    }
    for (size_t e = 0; e < reply->elements; e++) {
      const redisReply *entry = reply->element[e];
      const redisReply *event = entry_field (entry->element[1], "event");
      const redisReply *interaction = entry_field (entry->element[1], "interaction_id");
      if (event == nullptr || interaction == nullptr
          || !g_str_has_prefix (interaction->str, prefix.c_str ()))
        continue;
      const guint64 call = g_ascii_strtoull (interaction->str + prefix.size (), nullptr, 10);
      if (call >= n)
        continue;
      if (g_str_equal (event->str, "call_start")) {
        const redisReply *payload = entry_field (entry->element[1], "payload");
        base64_audio[call] = payload != nullptr && g_str_equal (payload->str, "base64");
      } else if (g_str_equal (event->str, "call_end")) {
        r.call_ends++;
      } else if (g_str_equal (event->str, "audio")) {
        const redisReply *seq = entry_field (entry->element[1], "seq");
        const redisReply *audio = entry_field (entry->element[1], "audio");
        const guint64 s = seq != nullptr ? g_ascii_strtoull (seq->str, nullptr, 10) : 0;
        if (audio == nullptr || s == 0 || s > seen[call].size ()) {
          r.corrupted++;
          continue;
        }
        if (seen[call][s - 1]++ > 0) {
          r.duplicated++;
          continue;
        }
        r.published++;
        std::string bytes (audio->str, audio->len);
        if (base64_audio[call]) {
          gsize out = 0;
          g_base64_decode_inplace (bytes.data (), &out);
          bytes.resize (out);
        }
        if (bytes.size () != load.frame_bytes || !matches_stream (static_cast<uint32_t> (call),
                (s - 1) * load.frame_bytes, reinterpret_cast<const uint8_t *> (bytes.data ()),
                bytes.size ()))
          r.corrupted++;
      }
    }
    if (reply->elements > 0) {
      from = next_stream_id (reply->element[reply->elements - 1]->element[0]->str);
      continue;
    }
    if (r.call_ends >= load.connected || g_get_monotonic_time () > deadline_us)
      break;
    g_usleep (50 * 1000);
  }
  r.checked = true;
  return r;
}

// ---------------------------------------------------------------------------
// The report.

// For each (end position, sent us) in @sent, the first arrival reaching that
// end: its latency.
void
add_latencies (const std::vector<std::pair<uint64_t, gint64>> &sent,
    const std::vector<std::pair<uint64_t, gint64>> &arrivals, std::vector<int64_t> &out)
{
  size_t a = 0;
  for (const auto &[end, sent_us] : sent) {
    while (a < arrivals.size () && arrivals[a].first < end)
      a++;
    if (a == arrivals.size ())
      return;
    out.push_back (arrivals[a].second - sent_us);
  }
}

struct Direction {
  uint64_t units_sent = 0, bytes_sent = 0, bytes_received = 0, lost = 0, skipped = 0;
  uint64_t reordered = 0, corrupted = 0;
  Percentiles latency;  // us
};

struct RealtimeReport {
  Direction inbound, outbound;  // caller -> fake server; fake server -> caller
  int calls_failed = 0;
  uint64_t marks_echoed = 0, clears = 0, unreadable = 0, dropped_appends = 0;
  DaemonFigures daemon;
};

RealtimeReport
analyse (const RealtimeLoad &load, const FakeRealtimeServer &server)
{
  RealtimeReport r;
  std::vector<int64_t> in_latency, out_latency;
  for (size_t i = 0; i < load.callers.size (); i++) {
    const Caller &c = load.callers[i];
    const ServerCall &s = server.calls[i];
    r.calls_failed += c.state == CallState::kFailed;
    r.marks_echoed += c.marks_echoed;
    r.clears += c.clears;
    r.unreadable += c.unreadable;
    r.dropped_appends += s.dropped_one;

    std::vector<std::pair<uint64_t, gint64>> frames;
    for (uint32_t f = 0; f < c.sent; f++)
      frames.emplace_back (static_cast<uint64_t> (f + 1) * load.frame_bytes, c.send_us[f]);
    add_latencies (frames, s.inbound.arrivals, in_latency);
    r.inbound.units_sent += c.sent;
    r.inbound.bytes_sent += static_cast<uint64_t> (c.sent) * load.frame_bytes;
    r.inbound.bytes_received += s.inbound.intact;
    r.inbound.skipped += s.inbound.skipped;
    r.inbound.reordered += s.inbound.reordered;
    r.inbound.corrupted += s.inbound.corrupted;

    add_latencies (s.deltas, c.outbound.arrivals, out_latency);
    r.outbound.units_sent += s.deltas.size ();
    r.outbound.bytes_sent += s.echoed_bytes;
    r.outbound.bytes_received += c.outbound.intact;
    r.outbound.skipped += c.outbound.skipped;
    r.outbound.reordered += c.outbound.reordered;
    r.outbound.corrupted += c.outbound.corrupted;
  }
  for (Direction *d : { &r.inbound, &r.outbound })
    d->lost = d->bytes_sent > d->bytes_received ? d->bytes_sent - d->bytes_received : 0;
  r.inbound.latency = percentiles (std::move (in_latency));
  r.outbound.latency = percentiles (std::move (out_latency));
  r.daemon = daemon_figures (load.daemon, r.inbound.units_sent, load.callers.size ());
  return r;
}

// Why the run failed, or "".
std::string
verdict (const RealtimeLoad &load, const FakeRealtimeServer &server, const RedisFigures &redis,
    const RealtimeReport &r)
{
  if (load.cap_hit)
    return "the --max-run-s cap ended the run";
  if (r.calls_failed > 0)
    return std::to_string (r.calls_failed) + " calls failed: " + load.first_error
        + (server.problem.empty () ? "" : "; the fake Realtime server saw: " + server.problem);
  if (server.connections == 0)
    return "no bridge connected to the fake Realtime server on port "
        + std::to_string (load.options->realtime_port)
        + " (is the daemon's OPENAI_REALTIME_URL ws://127.0.0.1:"
        + std::to_string (load.options->realtime_port) + "/v1/realtime?)";
  if (!server.problem.empty ())
    return "the fake Realtime server saw: " + server.problem;
  if (r.inbound.units_sent == 0)
    return "no frame was sent";
  if (r.inbound.lost > 0 || r.inbound.corrupted > 0 || r.inbound.reordered > 0)
    return "caller -> Realtime: " + std::to_string (r.inbound.lost) + " bytes lost, "
        + std::to_string (r.inbound.reordered) + " pieces reordered, "
        + std::to_string (r.inbound.corrupted) + " corrupted";
  if (r.outbound.lost > 0 || r.outbound.corrupted > 0 || r.outbound.reordered > 0)
    return "Realtime -> caller: " + std::to_string (r.outbound.lost) + " bytes lost, "
        + std::to_string (r.outbound.reordered) + " pieces reordered, "
        + std::to_string (r.outbound.corrupted) + " corrupted";
  if (!redis.error.empty ())
    return redis.error;
  if (redis.published != r.inbound.units_sent || redis.corrupted > 0)
    return "Redis: " + std::to_string (redis.published) + " of "
        + std::to_string (r.inbound.units_sent) + " frames published, "
        + std::to_string (redis.corrupted) + " corrupted";
  if (r.unreadable > 0)
    return load.first_error;
  return "";
}

void
print_json (const RealtimeLoad &load, const FakeRealtimeServer &server,
    const RedisFigures &redis, const RealtimeReport &r, const std::string &failure)
{
  JsonReport json;
  auto direction = [&] (const char *name, const Direction &d, const char *units) {
    json.begin_object (name);
    json.integer (units, static_cast<int64_t> (d.units_sent));
    json.integer ("bytes_sent", static_cast<int64_t> (d.bytes_sent));
    json.integer ("bytes_received", static_cast<int64_t> (d.bytes_received));
    json.integer ("lost_bytes", static_cast<int64_t> (d.lost));
    json.integer ("reordered", static_cast<int64_t> (d.reordered));
    json.integer ("corrupted", static_cast<int64_t> (d.corrupted));
    json.begin_object ("latency_us");
    json.integer ("p50", d.latency.p50);
    json.integer ("p99", d.latency.p99);
    json.integer ("max", d.latency.max);
    json.integer ("samples", static_cast<int64_t> (d.latency.count));
    json.end_object ();
    json.end_object ();
  };
  const RealtimeLoadOptions &o = *load.options;
  json.string ("run_id", load.run_id.c_str ());
  json.string ("flow", "realtime");
  json.string ("provider", "twilio");
  json.integer ("calls", static_cast<int64_t> (load.callers.size ()));
  json.integer ("calls_connected", load.connected);
  json.integer ("calls_failed", r.calls_failed);
  json.integer ("frame_ms", o.frame_ms);
  json.integer ("delta_ms", o.delta_ms);
  json.integer ("duration_s", o.duration_s);
  json.integer ("realtime_connections", server.connections);
  json.integer ("responses", static_cast<int64_t> (server.responses));
  direction ("inbound", r.inbound, "frames_sent");
  direction ("outbound", r.outbound, "deltas_sent");
  json.integer ("marks_echoed", static_cast<int64_t> (r.marks_echoed));
  json.integer ("clears", static_cast<int64_t> (r.clears));
  json.begin_object ("redis");
  json.integer ("published", static_cast<int64_t> (redis.published));
  json.integer ("lost", static_cast<int64_t> (r.inbound.units_sent > redis.published
          ? r.inbound.units_sent - redis.published : 0));
  json.integer ("duplicated", static_cast<int64_t> (redis.duplicated));
  json.integer ("corrupted", static_cast<int64_t> (redis.corrupted));
  json.integer ("call_ends", redis.call_ends);
  json.end_object ();
  json.daemon (load.daemon, r.daemon);
  json.boolean ("cap_hit", load.cap_hit);
  json.string_or_null ("error", failure);
  json.print ();
}

void
print_table (const RealtimeLoad &load, const FakeRealtimeServer &server,
    const RedisFigures &redis, const RealtimeReport &r, const std::string &failure)
{
  const RealtimeLoadOptions &o = *load.options;
  auto ms = [] (int64_t us) { return us < 0 ? -1.0 : static_cast<double> (us) / 1000.0; };
  std::printf ("run %s: %zu twilio realtime calls, %d ms frames, %d ms deltas, %d s each\n",
      load.run_id.c_str (), load.callers.size (), o.frame_ms, o.delta_ms, o.duration_s);
  std::printf ("  %-30s %d (failed %d), %d Realtime sockets, %" PRIu64 " replies\n",
      "calls connected", load.connected, r.calls_failed, server.connections,
      server.responses);
  for (const auto &[name, d, units] : { std::make_tuple ("caller -> Realtime", &r.inbound,
           "frames"), std::make_tuple ("Realtime -> caller", &r.outbound, "deltas") }) {
    std::printf ("  %s\n", name);
    std::printf ("    %-28s %" PRIu64 " %s, %" PRIu64 " bytes\n", "sent", d->units_sent, units,
        d->bytes_sent);
    std::printf ("    %-28s %" PRIu64 " bytes\n", "received in order", d->bytes_received);
    std::printf ("    %-28s %" PRIu64 " bytes (reordered %" PRIu64 ", corrupted %" PRIu64 ")\n",
        "lost", d->lost, d->reordered, d->corrupted);
    std::printf ("    %-28s p50 %.2f  p99 %.2f  max %.2f\n", "latency (ms)",
        ms (d->latency.p50), ms (d->latency.p99), ms (d->latency.max));
  }
  std::printf ("  %-30s %" PRIu64 " (clears %" PRIu64 ")\n", "marks echoed", r.marks_echoed,
      r.clears);
  std::printf ("  %-30s %" PRIu64 " of %" PRIu64 " (dup %" PRIu64 ", corrupted %" PRIu64
      "), call_end %d\n", "Redis frames published", redis.published, r.inbound.units_sent,
      redis.duplicated, redis.corrupted, redis.call_ends);
  print_daemon_rows (load.daemon, r.daemon, 30);
  if (!failure.empty ())
    std::printf ("  FAILED: %s\n", failure.c_str ());
}

}  // namespace

int
run_realtime_load (const RealtimeLoadOptions &o)
{
  FakeRealtimeServer server (o);
  std::string error;
  if (!server.start (&error)) {
    std::fprintf (stderr, "callstream-load: %s\n", error.c_str ());
    return 2;
  }
  RealtimeLoad load;
  load.options = &o;
  const gint64 epoch_ms = g_get_real_time () / 1000;
  load.run_id = std::to_string (epoch_ms % 100000000) + std::to_string (getpid () % 100);
  load.frames_per_call = static_cast<uint32_t> (o.duration_s * 1000 / o.frame_ms);
  load.frame_bytes = static_cast<size_t> (o.frame_ms) * kBytesPerMs;
  load.audio.resize (load.frame_bytes);
  load.callers = std::vector<Caller> (static_cast<size_t> (o.calls));
  for (size_t i = 0; i < load.callers.size (); i++) {
    load.callers[i].load = &load;
    load.callers[i].index = static_cast<uint32_t> (i);
    load.callers[i].sid = load.call_sid (static_cast<uint32_t> (i));
    load.callers[i].send_us.assign (load.frames_per_call, 0);
  }
  SocketSet sockets ([&load] (uint64_t tag, uint32_t events) {
        Caller &c = load.callers[tag];
        if (c.socket.on_ready (events))
          on_caller_socket_changed (c);
      });
  if (sockets.fd () < 0) {
    std::fprintf (stderr, "callstream-load: %s\n", sockets.error ().c_str ());
    server.stop ();
    return 1;
  }
  load.epoll_fd = sockets.fd ();
  load.loop = g_main_loop_new (nullptr, FALSE);
  load.daemon.begin (o.daemon_pid);
  load.start_us = g_get_monotonic_time ();
  load.cap_hit = run_capped (load.loop, 2, on_tick, &load, o.max_run_s);
  if (!load.steady_over)
    load.daemon.steady_end = sample_process (o.daemon_pid);

  // The close handshakes finish while the Redis branch flushes.
  for (int i = 0; i < 50 && g_main_context_iteration (nullptr, FALSE); i++) {
  }
  const gint64 flush_deadline = g_get_monotonic_time ()
      + static_cast<gint64> (load.cap_hit ? 0 : o.flush_s) * G_USEC_PER_SEC;
  RedisFigures redis = check_redis (load, flush_deadline);
  while (g_main_context_iteration (nullptr, FALSE)) {
  }
  load.daemon.end ();
  server.stop ();

  const RealtimeReport report = analyse (load, server);
  const std::string failure = verdict (load, server, redis, report);
  if (o.json)
    print_json (load, server, redis, report, failure);
  else
    print_table (load, server, redis, report, failure);

  for (Caller &c : load.callers)
    c.socket.abandon ();
  g_main_loop_unref (load.loop);
  return failure.empty () ? 0 : 1;
}

}  // namespace callstream_load
