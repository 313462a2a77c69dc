// callstream-load: N concurrent provider calls (Exotel or Twilio) into a
// media route of callstreamd at real pace, then a check of what reached the
// Redis stream: frames sent, published, lost, duplicated, reordered,
// corrupted, and the latency of each frame from its send to its Redis entry
// (the entry id's millisecond part). With --daemon-pid it also samples the
// daemon's CPU time and RSS from /proc.
//
//   callstream-load --url ws://127.0.0.1:8443/v1/ingest --provider exotel
//       --calls 1000 --frame-ms 20 --duration-s 60 --ramp-up-s 10
//       --redis-url redis://127.0.0.1:6379 --daemon-pid 1234 [--json]
//
// Threads: the calls' sockets sit in one epoll set, watched from the main
// GMainContext with one frame timer for all calls (load_websocket.h says why
// not libsoup's WebSocket client); a reader thread pages through the stream
// (XRANGE, synchronous hiredis) once the last call stopped sending, so its
// reading does not compete with the run for the CPU, until every call's
// call_end entry is there or the flush time is over. Exit status: 0 when
// every call streamed and no frame was lost or corrupted, 1 otherwise, 2 on
// bad arguments. Loopback only; --max-run-s always ends it.
#include <gio/gio.h>
#include <glib-unix.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "load_common.h"
#include "load_realtime.h"
#include "load_websocket.h"
#include "protocol/base64.h"

namespace {

using callstream_load::DaemonUsage;
using callstream_load::FrameAudio;
using callstream_load::JsonReport;
using callstream_load::kHandshakeTimeoutUs;
using callstream_load::LoadWebSocket;
using callstream_load::RedisContextPtr;
using callstream_load::RedisReplyPtr;
using callstream_load::sample_process;

enum class Provider { kExotel, kTwilio };

struct Options {
  std::string url;
  std::string host;  // from url: a loopback address literal
  guint port = 0;
  std::string path;
  Provider provider = Provider::kExotel;
  bool camel_ids = false;        // Exotel streamSid/callSid, numbers as strings
  bool numbers_as_strings = true;  // Twilio's own shape
  int calls = 10;
  int frame_ms = 20;
  int duration_s = 10;
  int ramp_up_s = 0;
  int max_run_s = 0;             // 0: duration + ramp-up + 60
  int flush_s = 10;
  std::string redis_url;
  std::string stream = "audio_stream";
  int daemon_pid = 0;
  gboolean json = FALSE;  // G_OPTION_ARG_NONE writes a gboolean
  gboolean latency_by_second = FALSE;
  bool realtime = false;         // --flow realtime (load_realtime.h)
  int realtime_port = 0;
  int delta_ms = 20;
  int drop_append = 0;
  int corrupt_frame = 0;         // ingest: call 0's frame to send with its audio changed
  int swap_frames = 0;           // ingest: call 0's frame to swap with the next one
};

// ---------------------------------------------------------------------------
// The audio of a frame (its bytes: load_common.h FrameAudio).

size_t
frame_bytes (const Options &options)
{
  // 8 kHz: PCM16 two bytes a sample, u-law one.
  const size_t samples = static_cast<size_t> (options.frame_ms) * 8;
  return options.provider == Provider::kExotel ? samples * 2 : samples;
}

// ---------------------------------------------------------------------------
// Provider messages.

std::string
number (const Options &options, long value)
{
  const bool quoted = options.provider == Provider::kExotel ? options.camel_ids
                                                            : options.numbers_as_strings;
  return quoted ? "\"" + std::to_string (value) + "\"" : std::to_string (value);
}

std::vector<std::string>
opening_messages (const Options &o, const std::string &call_sid)
{
  const std::string stream_sid = "MZ" + call_sid;
  if (o.provider == Provider::kExotel) {
    const char *sid_key = o.camel_ids ? "streamSid" : "stream_sid";
    const char *call_key = o.camel_ids ? "callSid" : "call_sid";
    return { "{\"event\":\"connected\"}",
      std::string ("{\"event\":\"start\",\"sequence_number\":") + number (o, 1) + ",\""
          + sid_key + "\":\"" + stream_sid + "\",\"start\":{\"" + sid_key + "\":\""
          + stream_sid + "\",\"" + call_key + "\":\"" + call_sid
          + "\",\"account_sid\":\"ACload\",\"from\":\"+910000000000\",\"to\":\"+910000000001\","
            "\"custom_parameters\":{},\"media_format\":{\"encoding\":\"raw\",\"sample_rate\":"
          + number (o, 8000) + ",\"bit_rate\":\"128\"}}}" };
  }
  return { "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}",
    "{\"event\":\"start\",\"sequenceNumber\":" + number (o, 1) + ",\"streamSid\":\""
        + stream_sid + "\",\"start\":{\"streamSid\":\"" + stream_sid + "\",\"callSid\":\""
        + call_sid + "\",\"accountSid\":\"ACload\",\"tracks\":[\"inbound\"],"
          "\"customParameters\":{},\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
          "\"sampleRate\":8000,\"channels\":1}}}" };
}

// A number of a media message as JSON text, quoted or not.
class JsonNumber {
 public:
  JsonNumber (long value, bool quoted)
  {
    char *at = text_;
    if (quoted)
      *at++ = '"';
    at = std::to_chars (at, text_ + sizeof text_ - 1, value).ptr;
    if (quoted)
      *at++ = '"';
    size_ = static_cast<size_t> (at - text_);
  }
  std::string_view view () const { return { text_, size_ }; }

 private:
  char text_[24];
  size_t size_;
};

// A media message is these pieces, its numbers and its payload between
// them; send_frame writes them straight into the socket's buffer, so only
// what changes from frame to frame is made per frame: this runs 50,000 times
// a second. The message's own sequence number is the frame's seq + 1, the
// start being 1.
struct MediaPieces {
  std::string head;    // up to the sequence number
  std::string middle;  // between the sequence number and the chunk: the call's own
  bool quoted = false;            // sequence number and chunk
  bool quoted_timestamp = false;
};

MediaPieces
media_pieces (const Options &o, const std::string &call_sid)
{
  MediaPieces pieces;
  pieces.quoted = o.provider == Provider::kExotel ? o.camel_ids : o.numbers_as_strings;
  if (o.provider == Provider::kExotel) {
    pieces.head = "{\"event\":\"media\",\"sequence_number\":";
    pieces.middle = std::string (o.camel_ids ? ",\"streamSid\":\"MZ" : ",\"stream_sid\":\"MZ")
        + call_sid + "\",\"media\":{\"chunk\":";
    pieces.quoted_timestamp = true;
  } else {
    pieces.head = "{\"event\":\"media\",\"sequenceNumber\":";
    pieces.middle = ",\"streamSid\":\"MZ" + call_sid
        + "\",\"media\":{\"track\":\"inbound\",\"chunk\":";
    pieces.quoted_timestamp = pieces.quoted;
  }
  return pieces;
}

std::string
stop_message (const Options &o, const std::string &call_sid, uint32_t seq)
{
  if (o.provider == Provider::kExotel)
    return std::string ("{\"event\":\"stop\",\"sequence_number\":") + number (o, seq) + ",\""
        + (o.camel_ids ? "streamSid" : "stream_sid") + "\":\"MZ" + call_sid
        + "\",\"stop\":{\"" + (o.camel_ids ? "callSid" : "call_sid") + "\":\"" + call_sid
        + "\",\"account_sid\":\"ACload\",\"reason\":\"callended\"}}";
  return "{\"event\":\"stop\",\"sequenceNumber\":" + number (o, seq) + ",\"streamSid\":\"MZ"
      + call_sid + "\",\"stop\":{\"accountSid\":\"ACload\",\"callSid\":\"" + call_sid + "\"}}";
}

// ---------------------------------------------------------------------------
// The reader: pages through the stream and keeps one compact record per
// audio entry of this run, in stream order.

enum SeenFlags : uint8_t { kSeenIntact = 0, kSeenRelabelled = 1, kSeenCorrupted = 2 };

struct SeenFrame {
  uint32_t call;
  uint32_t seq;
  int64_t entry_ms;  // the entry id's millisecond part
  uint8_t flags;
};

struct StreamReader {
  const Options *options = nullptr;
  std::string call_prefix;  // "CAload<run>-"
  std::string start_id;
  const callstream_load::FrameAudio *frame_audio = nullptr;  // what each frame holds
  // Set by the main thread: the calls that started (and will end), and when
  // to give up waiting for their call_end entries (monotonic us; 0: not yet).
  std::atomic<int> calls_started { 0 };
  std::atomic<gint64> deadline_us { 0 };
  std::atomic<bool> stop_now { false };

  // Written by the reader thread, read after join.
  std::vector<SeenFrame> frames;
  std::vector<uint8_t> base64_payload;  // per call, from call_start
  std::vector<uint8_t> decoded;  // the entry being checked, base64 payloads decoded
  std::atomic<int> call_ends { 0 };
  size_t entries_read = 0;
  std::string error;

  void run ();
  void take_entry (const redisReply *entry);
};

// The call index in "CAload<run>-<n>", or -1 when not one of ours.
long
call_index (const std::string &prefix, const char *id, size_t length, size_t calls)
{
  if (length <= prefix.size () || std::memcmp (id, prefix.data (), prefix.size ()) != 0)
    return -1;
  const std::string digits (id + prefix.size (), length - prefix.size ());
  gchar *end = nullptr;
  const guint64 n = g_ascii_strtoull (digits.c_str (), &end, 10);
  return *end == '\0' && n < calls ? static_cast<long> (n) : -1;
}

void
StreamReader::take_entry (const redisReply *entry)
{
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2)
    return;
  const redisReply *fields = entry->element[1];
  const redisReply *event = nullptr, *interaction = nullptr, *seq = nullptr, *audio = nullptr,
                   *payload = nullptr;
  for (size_t f = 0; f + 1 < fields->elements; f += 2) {
    const char *name = fields->element[f]->str;
    const redisReply *value = fields->element[f + 1];
    if (g_str_equal (name, "event")) event = value;
    else if (g_str_equal (name, "interaction_id")) interaction = value;
    else if (g_str_equal (name, "seq")) seq = value;
    else if (g_str_equal (name, "audio")) audio = value;
    else if (g_str_equal (name, "payload")) payload = value;
  }
  if (event == nullptr || interaction == nullptr)
    return;
  const long call = call_index (call_prefix, interaction->str, interaction->len,
      base64_payload.size ());
  if (call < 0)
    return;
  if (g_str_equal (event->str, "call_start")) {
    base64_payload[call] = payload != nullptr && g_str_equal (payload->str, "base64");
    return;
  }
  if (g_str_equal (event->str, "call_end")) {
    call_ends++;
    return;
  }
  if (!g_str_equal (event->str, "audio") || seq == nullptr || audio == nullptr)
    return;
  SeenFrame seen = { static_cast<uint32_t> (call),
    static_cast<uint32_t> (g_ascii_strtoull (seq->str, nullptr, 10)),
    g_ascii_strtoll (entry->element[0]->str, nullptr, 10), kSeenIntact };
  const uint8_t *bytes = reinterpret_cast<const uint8_t *> (audio->str);
  size_t size = audio->len;
  if (base64_payload[call]) {
    // Text that is not strict base64 is no frame of ours: corrupted.
    const std::string_view text (audio->str, audio->len);
    decoded.resize (callstream::base64_decoded_max (text.size ()));
    size = callstream::base64_decode_into (text, decoded.data ()).value_or (0);
    bytes = decoded.data ();
  }
  if (!frame_audio->matches (seen.call, seen.seq, bytes, size)) {
    seen.flags = kSeenCorrupted;
    // Intact audio of another frame of this call: the frames were reordered.
    if (size >= callstream_load::FrameAudio::kHeaderBytes) {
      uint32_t call_in = 0, seq_in = 0;
      std::memcpy (&call_in, bytes, 4);
      std::memcpy (&seq_in, bytes + 4, 4);
      if (call_in == seen.call && frame_audio->matches (call_in, seq_in, bytes, size))
        seen.flags = kSeenRelabelled;
    }
  }
  frames.push_back (seen);
}

void
StreamReader::run ()
{
  RedisContextPtr c = callstream_load::redis_connect (options->redis_url, &error);
  if (!c)
    return;
  std::string from = start_id;
  // Nothing is read while frames are being sent: reading would compete with
  // the daemon and Redis for the CPU the run measures.
  while (deadline_us.load () == 0 && !stop_now.load ())
    g_usleep (50 * 1000);
  for (;;) {
    RedisReplyPtr reply = callstream_load::redis_command (c.get (),
        { "XRANGE", options->stream, from, "+", "COUNT", "2000" });
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      error = "XRANGE " + options->stream + " failed: " + (reply ? reply->str : c->errstr);
      return;
    }
    for (size_t i = 0; i < reply->elements; i++)
      take_entry (reply->element[i]);
    entries_read += reply->elements;
    if (reply->elements > 0) {
      // The next page starts just after the last id read.
      from = callstream_load::next_stream_id (
          reply->element[reply->elements - 1]->element[0]->str);
      continue;
    }
    const gint64 deadline = deadline_us.load ();
    if (stop_now.load () || (deadline != 0 && (call_ends >= calls_started.load ()
            || g_get_monotonic_time () > deadline)))
      return;
    g_usleep (50 * 1000);
  }
}

// ---------------------------------------------------------------------------
// The calls: their sockets in one epoll set, all driven from the main context.

struct Load;

enum class CallState : uint8_t { kWaiting, kConnecting, kStreaming, kStopped, kFailed };

struct Call {
  Load *load = nullptr;
  uint32_t index = 0;
  CallState state = CallState::kWaiting;
  bool closed_early = false;
  uint32_t sent = 0;
  gint64 connect_started_us = 0;
  gint64 next_due_us = 0;
  std::string sid;
  MediaPieces media;
  LoadWebSocket socket;
  std::vector<uint32_t> send_ms;  // per seq - 1: ms since the run's wall-clock epoch
};

struct Load {
  Options options;
  std::string run_id;
  gint64 epoch_ms = 0;  // wall clock
  gint64 start_us = 0;  // monotonic
  uint32_t frames_per_call = 0;
  std::vector<Call> calls;
  int epoll_fd = -1;
  GMainLoop *loop = nullptr;
  size_t next_to_connect = 0;
  int finished = 0;  // stopped or failed
  int connect_failed = 0;
  int connected = 0;
  bool cap_hit = false;
  std::string first_error;

  // Steady part: every call connected, none stopped yet.
  bool steady = false, steady_over = false;
  uint64_t frames_total = 0;
  DaemonUsage daemon;
  std::optional<FrameAudio> audio;

  // The frame timer's wheel, so that a tick walks only the calls due in it:
  // a call streams in slot (its first due time - start) / tick mod the slot
  // count and stays there, a frame lasting that many ticks exactly.
  gint64 tick_us = 0;
  std::vector<std::vector<uint32_t>> slots;
  int64_t last_tick = -1;  // the tick number whose slot was walked last
  std::vector<uint32_t> connecting;  // calls whose handshake may still time out

  // The phases by send time, in ms since epoch_ms: ramp-up until every call
  // has connected or failed, stopping from the first stop on (-1: not yet).
  int64_t start_ms = 0, ramp_end_ms = -1, stopping_ms = -1;

  std::string call_sid (uint32_t index) const
  {
    return "CAload" + run_id + "-" + std::to_string (index);
  }
};

void
finish_call (Call &call, CallState state)
{
  if (call.state == CallState::kStopped || call.state == CallState::kFailed)
    return;
  call.state = state;
  call.load->finished++;
  if (call.load->finished == static_cast<int> (call.load->calls.size ()))
    g_main_loop_quit (call.load->loop);
}

void
note_error (Load *load, const std::string &error)
{
  if (load->first_error.empty ())
    load->first_error = error;
}

// A call that could not connect, or whose socket left the open state before
// its stop (the server closed it, or an I/O error): failed, with the first
// such reason kept.
void
on_socket_changed (Call &call)
{
  Load *load = call.load;
  const LoadWebSocket &socket = call.socket;
  if (call.state == CallState::kConnecting) {
    if (socket.open ()) {
      for (const std::string &message : opening_messages (load->options, call.sid))
        call.socket.send_text (message);
      call.state = CallState::kStreaming;
      call.next_due_us = g_get_monotonic_time ();
      load->slots[static_cast<size_t> ((call.next_due_us - load->start_us) / load->tick_us
              % static_cast<gint64> (load->slots.size ()))].push_back (call.index);
      load->connected++;
      return;
    }
    if (socket.state () == LoadWebSocket::State::kFailed) {
      load->connect_failed++;
      note_error (load, "call " + std::to_string (call.index) + ": " + socket.error ());
      finish_call (call, CallState::kFailed);
    }
    return;
  }
  if (call.state == CallState::kStreaming && !socket.open ()) {
    call.closed_early = true;
    note_error (load, "the server closed " + call.sid + " after " + std::to_string (call.sent)
        + " frames (code " + std::to_string (socket.close_code ())
        + (socket.error ().empty () ? "" : ": " + socket.error ()) + ")");
    finish_call (call, CallState::kFailed);
  }
}

void
start_connecting (Call &call)
{
  Load *load = call.load;
  call.state = CallState::kConnecting;
  call.connect_started_us = g_get_monotonic_time ();
  load->connecting.push_back (call.index);
  if (!call.socket.start (load->epoll_fd, call.index, load->options.host, load->options.port,
          load->options.path)
      || call.socket.state () == LoadWebSocket::State::kFailed)
    on_socket_changed (call);
}

gint64
wall_ms (const Load &load)
{
  return g_get_real_time () / 1000 - load.epoch_ms;
}

void
send_frame (Call &call)
{
  Load *load = call.load;
  const Options &o = load->options;
  const uint32_t seq = ++call.sent;
  const MediaPieces &media = call.media;
  const JsonNumber sequence (seq + 1, media.quoted), chunk (seq, media.quoted),
      timestamp (static_cast<long> (seq - 1) * o.frame_ms, media.quoted_timestamp);
  uint32_t audio_seq = seq;
  if (call.index == 0 && o.swap_frames > 0)
    audio_seq = seq == static_cast<uint32_t> (o.swap_frames)       ? seq + 1
        : seq == static_cast<uint32_t> (o.swap_frames) + 1 ? seq - 1
                                                           : seq;
  char header[FrameAudio::kHeaderBase64];
  load->audio->header_base64 (call.index, audio_seq, header);
  // The header's last character carries the last byte's low bits.
  if (call.index == 0 && seq == static_cast<uint32_t> (o.corrupt_frame))
    header[sizeof header - 1] = header[sizeof header - 1] == 'A' ? 'B' : 'A';
  call.send_ms[seq - 1] = static_cast<uint32_t> (wall_ms (*load));
  call.socket.send_text ({ media.head, sequence.view (), media.middle, chunk.view (),
      ",\"timestamp\":", timestamp.view (), ",\"payload\":\"", { header, sizeof header },
      load->audio->body_base64 (call.index, audio_seq), "\"}}" });
  load->frames_total++;
  if (load->steady && !load->steady_over)
    load->daemon.frames_in_steady++;
}

void
stop_call (Call &call)
{
  Load *load = call.load;
  call.socket.send_text (stop_message (load->options, call.sid, call.sent + 2));
  call.socket.close (1000);
  if (load->stopping_ms < 0)
    load->stopping_ms = wall_ms (*load);
  if (!load->steady_over && load->steady) {
    load->steady_over = true;
    load->daemon.steady_end = sample_process (load->options.daemon_pid);
  }
  finish_call (call, CallState::kStopped);
}

// Sends the frames due by @now of the calls in @slot, and forgets the calls
// that stream no more.
void
walk_slot (Load *load, std::vector<uint32_t> &slot, gint64 now)
{
  const gint64 frame_us = static_cast<gint64> (load->options.frame_ms) * 1000;
  for (size_t i = 0; i < slot.size ();) {
    Call &call = load->calls[slot[i]];
    while (call.state == CallState::kStreaming && now >= call.next_due_us) {
      if (!call.socket.open ()) {
        on_socket_changed (call);
        break;
      }
      if (call.sent == load->frames_per_call) {
        stop_call (call);
        break;
      }
      send_frame (call);
      call.next_due_us += frame_us;
    }
    if (call.state == CallState::kStreaming) {
      i++;
    } else {
      slot[i] = slot.back ();
      slot.pop_back ();
    }
  }
}

// The one timer of the run: connects the calls whose ramp-up time has come,
// fails the handshakes that took too long and sends every frame that is due.
gboolean
on_tick (gpointer data)
{
  auto *load = static_cast<Load *> (data);
  const gint64 now = g_get_monotonic_time ();
  const size_t n = load->calls.size ();
  const gint64 ramp_us = static_cast<gint64> (load->options.ramp_up_s) * G_USEC_PER_SEC;
  while (load->next_to_connect < n
      && now >= load->start_us + ramp_us * static_cast<gint64> (load->next_to_connect)
          / static_cast<gint64> (n))
    start_connecting (load->calls[load->next_to_connect++]);
  if (!load->steady && load->connected == static_cast<int> (n)) {
    load->steady = true;
    load->daemon.steady_start = sample_process (load->options.daemon_pid);
  }
  std::erase_if (load->connecting, [load, now] (uint32_t index) {
        Call &call = load->calls[index];
        if (call.state != CallState::kConnecting)
          return true;
        if (now - call.connect_started_us <= kHandshakeTimeoutUs)
          return false;
        load->connect_failed++;
        note_error (load, "call " + std::to_string (call.index) + ": no handshake answer in "
            + std::to_string (kHandshakeTimeoutUs / G_USEC_PER_SEC) + " s");
        call.socket.abandon ();
        finish_call (call, CallState::kFailed);
        return true;
      });
  if (load->ramp_end_ms < 0 && load->next_to_connect == n && load->connecting.empty ())
    load->ramp_end_ms = wall_ms (*load);
  // The slot walked last is walked again: its calls due after that walk.
  const int64_t tick = (now - load->start_us) / load->tick_us;
  const int64_t slot_count = static_cast<int64_t> (load->slots.size ());
  const int64_t first = std::max<int64_t> (load->last_tick, 0);
  for (int64_t t = first; t <= tick && t < first + slot_count; t++)
    walk_slot (load, load->slots[static_cast<size_t> (t % slot_count)], now);
  load->last_tick = tick;
  load->daemon.sample_rss (now);
  return G_SOURCE_CONTINUE;
}

// ---------------------------------------------------------------------------
// Arguments.

bool
parse_options (int argc, char **argv, Options *o)
{
  gchar *url = nullptr, *provider = nullptr, *exotel_variant = nullptr,
        *twilio_variant = nullptr, *redis_url = nullptr, *stream = nullptr, *flow = nullptr;
  GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "Media route, ws://127.0.0.1:PORT/v1/ingest "
      "(loopback only)", "URL" },
    { "provider", 0, 0, G_OPTION_ARG_STRING, &provider, "exotel or twilio", "NAME" },
    { "exotel-variant", 0, 0, G_OPTION_ARG_STRING, &exotel_variant, "snake (stream_sid, "
      "numbers; default) or camel (streamSid/callSid, numbers as strings)", "V" },
    { "twilio-variant", 0, 0, G_OPTION_ARG_STRING, &twilio_variant, "strings (numbers as "
      "JSON strings, as Twilio sends; default) or numbers", "V" },
    { "calls", 0, 0, G_OPTION_ARG_INT, &o->calls, "Concurrent calls (default 10)", "N" },
    { "frame-ms", 0, 0, G_OPTION_ARG_INT, &o->frame_ms, "Audio per message: 20 or 100 "
      "(default 20)", "MS" },
    { "duration-s", 0, 0, G_OPTION_ARG_INT, &o->duration_s, "Audio per call (default 10)", "S" },
    { "ramp-up-s", 0, 0, G_OPTION_ARG_INT, &o->ramp_up_s, "Spread the call starts over S "
      "seconds (default 0)", "S" },
    { "max-run-s", 0, 0, G_OPTION_ARG_INT, &o->max_run_s, "Hard cap on the whole run "
      "(default duration + ramp-up + 60)", "S" },
    { "flush-s", 0, 0, G_OPTION_ARG_INT, &o->flush_s, "After the last stop, wait up to S "
      "seconds for every call_end entry (default 10)", "S" },
    { "redis-url", 0, 0, G_OPTION_ARG_STRING, &redis_url, "The daemon's Redis, "
      "redis://127.0.0.1:PORT[/db]", "URL" },
    { "stream", 0, 0, G_OPTION_ARG_STRING, &stream, "Stream key (default audio_stream)", "KEY" },
    { "daemon-pid", 0, 0, G_OPTION_ARG_INT, &o->daemon_pid, "Sample this process's CPU time "
      "and RSS from /proc", "PID" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "One JSON object on stdout instead of the "
      "table", nullptr },
    { "latency-by-second", 0, 0, G_OPTION_ARG_NONE, &o->latency_by_second, "ingest: also "
      "the frame count and send->Redis latency of each second of send time", nullptr },
    { "flow", 0, 0, G_OPTION_ARG_STRING, &flow, "ingest (default) or realtime: Twilio calls "
      "to /media-stream against a fake OpenAI Realtime server run here", "FLOW" },
    { "realtime-port", 0, 0, G_OPTION_ARG_INT, &o->realtime_port, "realtime: the fake "
      "Realtime server listens on 127.0.0.1:PORT (the daemon's OPENAI_REALTIME_URL)", "PORT" },
    { "delta-ms", 0, 0, G_OPTION_ARG_INT, &o->delta_ms, "realtime: audio per reply delta, a "
      "multiple of 20 up to 1000 (default 20)", "MS" },
    { "fault-drop-append", 0, 0, G_OPTION_ARG_INT, &o->drop_append, "realtime: the fake "
      "server ignores call 0's Nth append (proves the check fails)", "N" },
    { "fault-corrupt-frame", 0, 0, G_OPTION_ARG_INT, &o->corrupt_frame, "ingest: call 0's "
      "Nth frame goes with a byte of its audio changed (proves the check fails)", "N" },
    { "fault-swap-frames", 0, 0, G_OPTION_ARG_INT, &o->swap_frames, "ingest: call 0's Nth "
      "and N+1th frames go with each other's audio (proves the check fails)", "N" },
    { nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (nullptr);
  g_option_context_set_summary (context, "Concurrent provider calls into callstreamd, then a "
      "check of the Redis stream: loss, order, corruption, latency, daemon CPU and memory.");
  g_option_context_add_main_entries (context, entries, nullptr);
  g_autoptr (GError) error = nullptr;
  std::string problem;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    problem = error->message;
  else if (argc != 1)
    problem = std::string ("unexpected argument \"") + argv[1] + "\"";
  o->url = url ? url : "";
  o->redis_url = redis_url ? redis_url : "";
  if (stream != nullptr)
    o->stream = stream;
  if (problem.empty ()) {
    g_autoptr (GUri) ws = o->url.empty () ? nullptr
        : g_uri_parse (o->url.c_str (), G_URI_FLAGS_NONE, nullptr);
    g_autoptr (GUri) redis = o->redis_url.empty () ? nullptr
        : g_uri_parse (o->redis_url.c_str (), G_URI_FLAGS_HAS_PASSWORD, nullptr);
    if (ws == nullptr || !g_str_equal (g_uri_get_scheme (ws), "ws"))
      problem = "--url must be a ws:// URL (got \"" + o->url + "\")";
    else if (!callstream_load::is_loopback_host (g_uri_get_host (ws)))
      problem = std::string ("--url host ") + g_uri_get_host (ws)
          + " is not loopback: only 127.0.0.1, ::1 or localhost";
    else if (redis == nullptr || !g_str_equal (g_uri_get_scheme (redis), "redis"))
      problem = "--redis-url must be a redis:// URL (got \"" + o->redis_url + "\")";
    else if (!callstream_load::is_loopback_host (g_uri_get_host (redis)))
      problem = std::string ("--redis-url host ") + g_uri_get_host (redis)
          + " is not loopback: only 127.0.0.1, ::1 or localhost";
    else if (provider == nullptr || (!g_str_equal (provider, "exotel")
            && !g_str_equal (provider, "twilio")))
      problem = std::string ("--provider must be exotel or twilio (got \"")
          + (provider ? provider : "") + "\")";
    else if (exotel_variant != nullptr && !g_str_equal (exotel_variant, "snake")
        && !g_str_equal (exotel_variant, "camel"))
      problem = std::string ("--exotel-variant must be snake or camel (got \"") + exotel_variant
          + "\")";
    else if (twilio_variant != nullptr && !g_str_equal (twilio_variant, "strings")
        && !g_str_equal (twilio_variant, "numbers"))
      problem = std::string ("--twilio-variant must be strings or numbers (got \"")
          + twilio_variant + "\")";
    else if (o->calls < 1 || o->calls > 100000)
      problem = "--calls must be 1..100000 (got " + std::to_string (o->calls) + ")";
    else if (o->frame_ms != 20 && o->frame_ms != 100)
      problem = "--frame-ms must be 20 or 100 (got " + std::to_string (o->frame_ms) + ")";
    else if (o->duration_s < 1 || o->ramp_up_s < 0 || o->flush_s < 0 || o->max_run_s < 0)
      problem = "--duration-s must be at least 1, --ramp-up-s, --flush-s and --max-run-s "
                "not negative";
    else if (o->daemon_pid < 0 || (o->daemon_pid > 0 && !sample_process (o->daemon_pid).valid))
      problem = "--daemon-pid " + std::to_string (o->daemon_pid) + ": no such process in /proc";
    else if (flow != nullptr && !g_str_equal (flow, "ingest") && !g_str_equal (flow, "realtime"))
      problem = std::string ("--flow must be ingest or realtime (got \"") + flow + "\")";
    else if (flow == nullptr || g_str_equal (flow, "ingest")) {
      if (o->realtime_port != 0 || o->delta_ms != 20 || o->drop_append != 0)
        problem = "--realtime-port, --delta-ms and --fault-drop-append go with --flow realtime";
      else if (o->corrupt_frame < 0 || o->swap_frames < 0)
        problem = "--fault-corrupt-frame and --fault-swap-frames must not be negative";
    } else if (o->latency_by_second || o->corrupt_frame != 0 || o->swap_frames != 0)
      problem = "--latency-by-second, --fault-corrupt-frame and --fault-swap-frames go with "
                "--flow ingest";
    else if (!g_str_equal (provider, "twilio"))
      problem = "--flow realtime needs --provider twilio";
    else if (o->realtime_port < 1 || o->realtime_port > 65535)
      problem = "--flow realtime needs --realtime-port 1..65535 (got "
          + std::to_string (o->realtime_port) + ")";
    else if (o->frame_ms != 20)
      problem = "--flow realtime sends Twilio's 20 ms frames: --frame-ms must be 20";
    else if (o->delta_ms < 20 || o->delta_ms > 1000 || o->delta_ms % 20 != 0)
      problem = "--delta-ms must be a multiple of 20 in 20..1000 (got "
          + std::to_string (o->delta_ms) + ")";
    else if (o->drop_append < 0)
      problem = "--fault-drop-append must not be negative";
    if (problem.empty ()) {
      const char *host = g_uri_get_host (ws);
      o->host = g_ascii_strcasecmp (host, "localhost") == 0 ? "127.0.0.1"
          : g_str_equal (host, "[::1]")                     ? "::1"
                                                            : host;
      o->port = g_uri_get_port (ws) > 0 ? static_cast<guint> (g_uri_get_port (ws)) : 80;
      o->path = *g_uri_get_path (ws) != '\0' ? g_uri_get_path (ws) : "/";
      if (const char *query = g_uri_get_query (ws))
        o->path = o->path + "?" + query;
    }
  }
  if (problem.empty ()) {
    o->provider = g_str_equal (provider, "exotel") ? Provider::kExotel : Provider::kTwilio;
    o->camel_ids = exotel_variant != nullptr && g_str_equal (exotel_variant, "camel");
    o->numbers_as_strings = twilio_variant == nullptr || g_str_equal (twilio_variant, "strings");
    o->realtime = flow != nullptr && g_str_equal (flow, "realtime");
    if (o->max_run_s == 0)
      o->max_run_s = o->duration_s + o->ramp_up_s + 60;
  }
  for (gchar *s : { url, provider, exotel_variant, twilio_variant, redis_url, stream, flow })
    g_free (s);
  if (!problem.empty ()) {
    std::fprintf (stderr, "callstream-load: %s\n", problem.c_str ());
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The report.

struct Report {
  uint64_t sent = 0, published = 0, lost = 0, duplicated = 0, reordered = 0, corrupted = 0;
  uint64_t unexpected = 0;  // entries for a seq never sent
  callstream_load::Percentiles latency;  // ms
  // By second of send time since the run started (--latency-by-second).
  std::vector<callstream_load::Percentiles> by_second;
  callstream_load::Percentiles by_phase[3];  // Phase
  int calls_failed = 0;
  callstream_load::DaemonFigures daemon;
};

enum Phase { kRampUp, kSteady, kStopping };
constexpr const char *kPhaseNames[] = { "ramp_up", "steady", "stopping" };
constexpr const char *kPhaseLabels[] = { "ramp-up", "steady", "stopping" };

// Ramp-up until every call connected or failed, stopping from the first
// stop on; where the two overlap the calls were still starting.
Phase
phase_of (const Load &load, int64_t send_ms)
{
  if (load.ramp_end_ms < 0 || send_ms < load.ramp_end_ms)
    return kRampUp;
  if (load.stopping_ms >= 0 && send_ms >= load.stopping_ms)
    return kStopping;
  return kSteady;
}

Report
analyse (const Load &load, const StreamReader &reader)
{
  Report r;
  const size_t n = load.calls.size ();
  std::vector<std::vector<uint8_t>> seen (n);
  std::vector<uint32_t> highest (n, 0);
  std::vector<int32_t> latencies;  // ms
  std::vector<std::vector<int32_t>> by_second, by_phase (3);
  for (size_t i = 0; i < n; i++) {
    seen[i].assign (load.calls[i].sent, 0);
    r.sent += load.calls[i].sent;
    r.calls_failed += load.calls[i].state == CallState::kFailed;
  }
  latencies.reserve (r.sent);
  for (const SeenFrame &frame : reader.frames) {
    const Call &call = load.calls[frame.call];
    if (frame.seq == 0 || frame.seq > call.sent) {
      r.unexpected++;
      continue;
    }
    uint8_t &count = seen[frame.call][frame.seq - 1];
    if (count++ > 0) {
      r.duplicated++;
      continue;
    }
    r.published++;
    if (frame.flags == kSeenCorrupted)
      r.corrupted++;
    if (frame.flags == kSeenRelabelled || frame.seq < highest[frame.call])
      r.reordered++;
    highest[frame.call] = std::max (highest[frame.call], frame.seq);
    const int64_t send_ms = call.send_ms[frame.seq - 1];
    const auto latency = static_cast<int32_t> (frame.entry_ms - (load.epoch_ms + send_ms));
    latencies.push_back (latency);
    by_phase[phase_of (load, send_ms)].push_back (latency);
    if (load.options.latency_by_second) {
      const auto second = static_cast<size_t> (std::max<int64_t> (0,
              send_ms - load.start_ms) / 1000);
      if (by_second.size () <= second)
        by_second.resize (second + 1);
      by_second[second].push_back (latency);
    }
  }
  r.lost = r.sent - r.published;
  r.latency = callstream_load::percentiles (std::move (latencies));
  for (int phase = kRampUp; phase <= kStopping; phase++)
    r.by_phase[phase] = callstream_load::percentiles (std::move (by_phase[phase]));
  for (std::vector<int32_t> &second : by_second)
    r.by_second.push_back (callstream_load::percentiles (std::move (second)));
  r.daemon = callstream_load::daemon_figures (load.daemon, r.sent, n);
  return r;
}

void
print_json (const Load &load, const StreamReader &reader, const Report &r)
{
  JsonReport json;
  json.string ("run_id", load.run_id.c_str ());
  json.string ("provider", load.options.provider == Provider::kExotel ? "exotel" : "twilio");
  json.integer ("calls", static_cast<int64_t> (load.calls.size ()));
  json.integer ("calls_connected", load.connected);
  json.integer ("calls_failed", r.calls_failed);
  json.integer ("frame_ms", load.options.frame_ms);
  json.integer ("duration_s", load.options.duration_s);
  json.integer ("sent", static_cast<int64_t> (r.sent));
  json.integer ("published", static_cast<int64_t> (r.published));
  json.integer ("lost", static_cast<int64_t> (r.lost));
  json.integer ("duplicated", static_cast<int64_t> (r.duplicated));
  json.integer ("reordered", static_cast<int64_t> (r.reordered));
  json.integer ("corrupted", static_cast<int64_t> (r.corrupted));
  json.integer ("unexpected", static_cast<int64_t> (r.unexpected));
  json.integer ("call_ends", reader.call_ends.load ());
  json.begin_object ("latency_ms");
  json.integer ("p50", r.latency.p50);
  json.integer ("p99", r.latency.p99);
  json.integer ("max", r.latency.max);
  json.end_object ();
  json.begin_object ("latency_by_phase");
  for (int phase = kRampUp; phase <= kStopping; phase++) {
    json.begin_object (kPhaseNames[phase]);
    json.latency (r.by_phase[phase]);
    json.end_object ();
  }
  json.end_object ();
  if (load.options.latency_by_second) {
    json.begin_array ("latency_by_second");
    for (size_t second = 0; second < r.by_second.size (); second++) {
      json.begin_object (nullptr);
      json.integer ("second", static_cast<int64_t> (second));
      json.latency (r.by_second[second]);
      json.end_object ();
    }
    json.end_array ();
  }
  json.daemon (load.daemon, r.daemon);
  json.boolean ("cap_hit", load.cap_hit);
  json.string_or_null ("error", !reader.error.empty () ? reader.error : load.first_error);
  json.print ();
}

void
print_table (const Load &load, const StreamReader &reader, const Report &r)
{
  const Options &o = load.options;
  std::printf ("run %s: %zu %s calls, %d ms frames, %d s each\n", load.run_id.c_str (),
      load.calls.size (), o.provider == Provider::kExotel ? "exotel" : "twilio", o.frame_ms,
      o.duration_s);
  std::printf ("  %-28s %d\n", "calls connected", load.connected);
  std::printf ("  %-28s %d\n", "calls failed", r.calls_failed);
  std::printf ("  %-28s %" PRIu64 "\n", "frames sent", r.sent);
  std::printf ("  %-28s %" PRIu64 "\n", "frames published", r.published);
  std::printf ("  %-28s %" PRIu64 "\n", "lost", r.lost);
  std::printf ("  %-28s %" PRIu64 "\n", "duplicated", r.duplicated);
  std::printf ("  %-28s %" PRIu64 "\n", "reordered", r.reordered);
  std::printf ("  %-28s %" PRIu64 "\n", "corrupted", r.corrupted);
  std::printf ("  %-28s %d of %zu\n", "call_end entries", reader.call_ends.load (), load.calls.size ());
  std::printf ("  %-28s p50 %" PRId64 "  p99 %" PRId64 "  max %" PRId64 "\n",
      "latency send->Redis (ms)", r.latency.p50, r.latency.p99, r.latency.max);
  for (int phase = kRampUp; phase <= kStopping; phase++) {
    const callstream_load::Percentiles &p = r.by_phase[phase];
    g_autofree gchar *label = g_strdup_printf ("  %s (ms)", kPhaseLabels[phase]);
    std::printf ("  %-28s p50 %" PRId64 "  p99 %" PRId64 "  max %" PRId64 "  (%zu frames)\n",
        label, p.p50, p.p99, p.max, p.count);
  }
  if (o.latency_by_second) {
    std::printf ("  latency by second of send time (ms)\n    %6s %8s %6s %6s %6s\n",
        "second", "frames", "p50", "p99", "max");
    for (size_t second = 0; second < r.by_second.size (); second++) {
      const callstream_load::Percentiles &p = r.by_second[second];
      std::printf ("    %6zu %8zu %6" PRId64 " %6" PRId64 " %6" PRId64 "\n", second, p.count,
          p.p50, p.p99, p.max);
    }
  }
  callstream_load::print_daemon_rows (load.daemon, r.daemon, 28);
  if (load.cap_hit)
    std::printf ("  the --max-run-s cap (%d s) ended the run\n", o.max_run_s);
  if (!reader.error.empty ())
    std::printf ("  error: %s\n", reader.error.c_str ());
  else if (!load.first_error.empty ())
    std::printf ("  first error: %s\n", load.first_error.c_str ());
}

void
raise_fd_limit ()
{
  rlimit limit;
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit (RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int
main (int argc, char **argv)
{
  Load load;
  if (!parse_options (argc, argv, &load.options))
    return 2;
  const Options &o = load.options;
  // The last resort behind the cap: nothing outlives it by more than 30 s.
  signal (SIGALRM, [] (int) {
        const char message[] = "callstream-load: --max-run-s passed long ago, exiting\n";
        if (write (STDERR_FILENO, message, sizeof message - 1) < 0)
          _exit (1);
        _exit (1);
      });
  alarm (static_cast<unsigned> (o.max_run_s + 30));
  raise_fd_limit ();
  if (o.realtime)
    return callstream_load::run_realtime_load ({ o.url, o.numbers_as_strings, o.calls,
          o.frame_ms, o.duration_s, o.ramp_up_s, o.max_run_s, o.flush_s, o.redis_url, o.stream,
          o.daemon_pid, o.json != FALSE, o.realtime_port, o.delta_ms, o.drop_append, o.host, o.port,
          o.path });

  load.epoch_ms = g_get_real_time () / 1000;
  load.run_id = std::to_string (load.epoch_ms % 100000000) + std::to_string (getpid () % 100);
  load.frames_per_call = static_cast<uint32_t> (o.duration_s * 1000 / o.frame_ms);
  load.audio.emplace (frame_bytes (o));
  const guint tick_ms = o.frame_ms == 20 ? 2 : 5;
  load.tick_us = tick_ms * 1000;
  load.slots.resize (static_cast<size_t> (o.frame_ms) / tick_ms);
  load.calls = std::vector<Call> (static_cast<size_t> (o.calls));
  for (size_t i = 0; i < load.calls.size (); i++) {
    load.calls[i].load = &load;
    load.calls[i].index = static_cast<uint32_t> (i);
    load.calls[i].sid = load.call_sid (static_cast<uint32_t> (i));
    load.calls[i].media = media_pieces (o, load.calls[i].sid);
    load.calls[i].send_ms.assign (load.frames_per_call, 0);
  }

  StreamReader reader;
  reader.options = &o;
  reader.call_prefix = "CAload" + load.run_id + "-";
  reader.start_id = std::to_string (load.epoch_ms - 1000) + "-0";
  reader.frame_audio = &*load.audio;
  reader.base64_payload.assign (load.calls.size (), 0);
  std::thread reader_thread ([&reader] { reader.run (); });

  callstream_load::SocketSet sockets ([&load] (uint64_t tag, uint32_t events) {
        Call &call = load.calls[tag];
        if (call.socket.on_ready (events))
          on_socket_changed (call);
      });
  if (sockets.fd () < 0) {
    std::fprintf (stderr, "callstream-load: %s\n", sockets.error ().c_str ());
    return 1;
  }
  load.epoll_fd = sockets.fd ();
  load.loop = g_main_loop_new (nullptr, FALSE);
  load.daemon.begin (o.daemon_pid);
  load.start_us = g_get_monotonic_time ();
  load.start_ms = wall_ms (load);
  load.cap_hit = callstream_load::run_capped (load.loop, tick_ms, on_tick,
      &load, o.max_run_s);

  // Let the close handshakes finish while the daemon flushes.
  const gint64 flush_deadline = g_get_monotonic_time () + static_cast<gint64> (
      load.cap_hit ? 0 : std::min<gint64> (o.flush_s,
          std::max<gint64> (1, load.start_us / G_USEC_PER_SEC + o.max_run_s
              - g_get_monotonic_time () / G_USEC_PER_SEC))) * G_USEC_PER_SEC;
  reader.calls_started = load.connected;
  reader.deadline_us = flush_deadline;
  while (g_get_monotonic_time () < flush_deadline && !load.cap_hit) {
    g_main_context_iteration (nullptr, FALSE);
    if (reader.call_ends >= load.connected)  // a racy read, only to stop pumping early
      break;
    g_usleep (10 * 1000);
    load.daemon.sample_rss (g_get_monotonic_time ());
  }
  if (load.cap_hit)
    reader.stop_now = true;
  reader_thread.join ();
  if (!load.steady_over)
    load.daemon.steady_end = sample_process (o.daemon_pid);
  load.daemon.end ();

  const Report report = analyse (load, reader);
  if (o.json)
    print_json (load, reader, report);
  else
    print_table (load, reader, report);

  for (Call &call : load.calls)
    call.socket.abandon ();
  g_main_loop_unref (load.loop);
  const bool ok = report.lost == 0 && report.corrupted == 0 && report.calls_failed == 0
      && report.sent > 0 && reader.error.empty () && !load.cap_hit;
  return ok ? 0 : 1;
}
