// What every provider source element does with a call, whatever the
// provider: the call's stream-start, caps, segment, call-info and tags;
// timestamps from the sample count; DISCONT on sequence gaps; rate-limited
// warnings on bad input; DTMF, marks and EOS. A provider element parses its
// own protocol and drives a CallOutput per src pad.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callstream {

enum class AudioEncoding { Pcm16, Mulaw };

// A call as its provider's start message describes it.
struct CallDescription {
  std::string call_sid;
  std::string stream_sid;
  std::string account_sid;
  std::string from;
  std::string to;
  std::vector<std::pair<std::string, std::string>> custom_parameters;
  std::vector<std::string> tracks;  // as the provider listed them, if it did
  std::string encoding_name;  // as the provider sent it
  AudioEncoding encoding = AudioEncoding::Pcm16;
  int sample_rate = 8000;
  int bit_rate = 0;
};

// Waits on the pipeline clock between PLAYING and a stop, so a replayed
// capture comes out in real time; a pause holds it, a stop ends the wait.
class ReplayPacer {
 public:
  // Off (the default), wait_until returns at once: only a paced replay waits.
  void set_enabled (bool enabled) { enabled_ = enabled; }
  // Called on state changes; wakes a waiting thread.
  void set_state (bool playing, bool stopping);
  // Blocks until @running_time of @element's clock; GST_FLOW_FLUSHING on stop.
  GstFlowReturn wait_until (GstElement *element, GstClockTime running_time);

 private:
  std::atomic<bool> enabled_ { false };
  std::mutex lock_;
  std::condition_variable changed_;
  bool playing_ = false;
  bool stopping_ = false;
  GstClockID wait_ = nullptr;
};

class CallOutput {
 public:
  // The read-only stats "frames", "bytes", "malformed", "gaps" at ids
  // @first .. @first + 3, with the element's own wording of the last two.
  static constexpr guint kStatCount = 4;
  static void install_stat_properties (GObjectClass *klass, guint first,
      const char *malformed_blurb, const char *gaps_blurb);
  // The stat at @index (0..kStatCount-1, in the order above).
  guint64 stat (guint index) const;

  // @provider ("exotel", "twilio") names the protocol in warnings and in the
  // call-info event.
  CallOutput (GstElement *element, GstPad *srcpad, const char *provider);

  // Everything below is called with @srcpad's STREAM_LOCK held.

  // Announces the call, or its new format: stream-start and segment once,
  // then caps (when they change), call-info and tags.
  void begin_call (const CallDescription &call);
  // Takes @buffer; stamps it from the sample count; pushes it.
  GstFlowReturn push_audio (GstBuffer *buffer);
  // Decodes base64 @payload straight into a new buffer and pushes it.
  GstFlowReturn push_base64_audio (std::string_view payload);
  // Records a message's sequence number: a jump is a gap (DISCONT, counted).
  void note_sequence (std::optional<int64_t> sequence);
  // A bad message: a warning (the first ten, then every hundredth), a count.
  void report_malformed (const std::string &reason);
  // @digit '0'-'9', '*', '#', 'A'-'D' as dtmf-event start + stop events.
  void push_dtmf (std::string_view digit, std::optional<int64_t> duration_ms);
  void post_mark (const std::string &name);
  // EOS once; always returns GST_FLOW_EOS.
  GstFlowReturn end_call (const char *why);

  bool started () const { return started_; }
  bool ended () const { return ended_; }
  const std::string &call_id () const { return call_id_; }
  // Each buffer waits on @pacer for its running time before it is pushed.
  void set_pacer (ReplayPacer *pacer) { pacer_ = pacer; }
  // Forgets the call (stats too); for the element's stop.
  void reset ();

  guint64 frames () const { return frames_; }
  guint64 bytes () const { return bytes_; }
  guint64 malformed () const { return malformed_; }
  guint64 gaps () const { return gaps_; }

 private:
  void push_stream_start ();
  void push_segment ();
  void ensure_stream ();
  GstFlowReturn handle_flow (GstFlowReturn ret);
  GstClockTime running_time_now () const;

  GstElement *element_;
  GstPad *srcpad_;
  const char *provider_;
  ReplayPacer *pacer_ = nullptr;

  bool started_ = false;
  bool ended_ = false;
  std::string call_id_;
  AudioEncoding encoding_ = AudioEncoding::Pcm16;
  int sample_rate_ = 0;
  guint64 samples_ = 0;                     // since the last format change
  GstClockTime base_ = GST_CLOCK_TIME_NONE; // running time of sample 0 of this format
  std::optional<int64_t> last_sequence_;
  bool discont_ = true;

  std::atomic<guint64> frames_ { 0 };
  std::atomic<guint64> bytes_ { 0 };
  std::atomic<guint64> malformed_ { 0 };
  std::atomic<guint64> gaps_ { 0 };
};

}  // namespace callstream
