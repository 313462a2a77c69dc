// One call of the realtimebridge element as its three threads share it: the
// sink pad (caller's audio), the socket thread (the server's events) and the
// src pad's task (the queue of model audio and events it pushes). The
// element keeps the GStreamer glue; the server's side of the call is here.
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/realtime.h"
#include "realtimebridge/realtime_socket.h"
#include "realtimebridge/reply_tracker.h"

namespace callstream {

class RealtimeCall {
 public:
  // One call: reset when the element starts; under lock.
  struct State {
    std::unique_ptr<RealtimeSocket> socket;
    std::unique_ptr<ReplyTracker> tracker;
    realtime::AudioFormat format = realtime::AudioFormat::Pcmu;
    gint rate = 8000;
    size_t bytes_per_second = 8000;
    GstSegment caller_segment;
    GstClockTime caller_position = 0;  // running time the caller's audio reached
    GstClockTime next_pts = 0;
    guint64 samples_in_reply = 0;
    std::string stamped_item;          // item whose audio next_pts continues
    std::string call_id;
    bool opened = false;
    bool failed = false;
    bool stream_started = false;
    guint64 truncations = 0;
    guint64 late_deltas = 0;
    guint64 malformed = 0;
  };

  // @element owns this and outlives it; errors, warnings and messages go
  // out as @element's, logged in its @category; clears go out of @srcpad.
  RealtimeCall (GstElement *element, GstPad *srcpad, GstDebugCategory *category);
  ~RealtimeCall () { drop_output (); }
  RealtimeCall (const RealtimeCall &) = delete;
  RealtimeCall &operator= (const RealtimeCall &) = delete;

  // The socket's own lock is taken under lock (send) but never the other
  // way round.
  std::mutex lock;
  std::condition_variable changed;     // output or flushing changed
  std::deque<GstMiniObject *> output;  // buffers and events for the src task
  bool flushing = true;
  State state;

  // The rest: with lock held.
  void drop_output ();
  void enqueue (GstMiniObject *item);
  // Opens the socket for @format at @rate with @options.
  void start (realtime::AudioFormat format, gint rate, RealtimeSocket::Options options);

 private:
  // On the socket thread, without lock:
  void on_server_text (std::string_view text);
  void fail (const std::string &reason);
  void post_transcript (const char *role, const std::string &item_id,
      const std::string &transcript);
  void on_audio_delta (std::string_view item_id, std::string_view delta_b64);
  void on_audio_done (const std::string &item_id);
  void on_speech_started ();
  // With lock held: model audio, stamped from the sample counter.
  void enqueue_audio (std::string_view item_id,
      std::vector<std::vector<uint8_t>> &chunks);

  GstElement *element_;
  std::vector<uint8_t> decoded_;  // socket thread: a delta's audio, reused
  GstPad *srcpad_;
  GstDebugCategory *category_;
};

}  // namespace callstream
