// What both flows of callstream-load share: the daemon's CPU time and RSS
// from /proc and the figures made of them, the synchronous Redis connection
// that reads the stream back, latency percentiles, and the pieces of the
// report (the JSON builder, the daemon's rows of the table).
#pragma once

#include <glib.h>
#include <hiredis/hiredis.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace callstream_load {

// ---------------------------------------------------------------------------
// The daemon as /proc shows it.

struct ProcSample {
  bool valid = false;
  uint64_t cpu_ticks = 0;  // utime + stime
  uint64_t rss_kb = 0;
};

// Not valid when @pid is 0 or /proc has no such process.
ProcSample sample_process (int pid);

// The daemon's CPU time and RSS over a run; nothing is sampled when pid is 0.
// The steady part (every call connected, none stopped yet) is the flow's to
// mark: it sets steady_start, steady_end and counts frames_in_steady.
struct DaemonUsage {
  int pid = 0;
  ProcSample before, steady_start, steady_end, after;
  uint64_t peak_rss_kb = 0;
  uint64_t frames_in_steady = 0;
  gint64 next_sample_us = 0;

  // Before the first call.
  void begin (int daemon_pid);
  // The RSS peak, at most every 250 ms whatever @now_us (monotonic) says.
  void sample_rss (gint64 now_us);
  // After the last call.
  void end ();
};

// Figures of a run; -1 where the samples do not allow them.
struct DaemonFigures {
  double cpu_us_per_frame = -1;      // steady part
  double cpu_us_per_frame_run = -1;  // whole run
  double rss_kb_per_call = -1;       // peak over before
};

DaemonFigures daemon_figures (const DaemonUsage &usage, uint64_t frames_sent, size_t calls);

// The daemon's rows of the table, labels @label_width wide; none when no pid.
void print_daemon_rows (const DaemonUsage &usage, const DaemonFigures &figures,
    int label_width);

// ---------------------------------------------------------------------------
// The audio of an ingest frame: a 9-byte header that names it (the call and
// the seq, little-endian uint32 each, then a byte of both) and a body of
// xorshift bytes chosen by (call + seq) mod kBodies. The header being a whole
// number of 3-byte groups, its base64 text ends where the body's begins: a
// frame's base64 is 12 characters made per frame, then a body's text encoded
// once for the run. Any byte string is valid PCM16 and u-law.
class FrameAudio {
 public:
  static constexpr size_t kHeaderBytes = 9;
  static constexpr size_t kHeaderBase64 = 12;
  static constexpr uint32_t kBodies = 61;

  // @frame_bytes: more than kHeaderBytes.
  explicit FrameAudio (size_t frame_bytes);

  size_t size () const { return frame_bytes_; }
  // The frame's header as base64, kHeaderBase64 characters written at @out.
  void header_base64 (uint32_t call, uint32_t seq, char *out) const;
  // What follows the header's base64 in the frame's base64 text.
  std::string_view body_base64 (uint32_t call, uint32_t seq) const
  {
    return bodies_base64_[(call + seq) % kBodies];
  }
  // The frame's bytes, size() of them.
  void fill (uint32_t call, uint32_t seq, uint8_t *out) const;
  // Whether @bytes are the frame's bytes, every one of them.
  bool matches (uint32_t call, uint32_t seq, const uint8_t *bytes, size_t size) const;

 private:
  static void header (uint32_t call, uint32_t seq, uint8_t *out);
  const uint8_t *body (uint32_t call, uint32_t seq) const
  {
    return bodies_.data () + (call + seq) % kBodies * (frame_bytes_ - kHeaderBytes);
  }

  size_t frame_bytes_;
  std::vector<uint8_t> bodies_;  // kBodies bodies, one after the other
  std::vector<std::string> bodies_base64_;
};

// ---------------------------------------------------------------------------
// The run.

// Runs @loop, calling @on_tick every @tick_ms at high priority, until
// something quits it or @max_run_s pass. True when the cap ended it.
bool run_capped (GMainLoop *loop, guint tick_ms, GSourceFunc on_tick, gpointer data,
    int max_run_s);

// ---------------------------------------------------------------------------
// Redis: a synchronous connection from a loopback redis:// URL.

struct RedisContextDeleter {
  void operator() (redisContext *c) const { redisFree (c); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;
struct RedisReplyDeleter {
  void operator() (redisReply *r) const { freeReplyObject (r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

bool is_loopback_host (const char *host);

RedisReplyPtr redis_command (redisContext *c, const std::vector<std::string> &args);

// Connects as @url says (user, password, db); the reason in @error otherwise.
RedisContextPtr redis_connect (const std::string &url, std::string *error);

// The stream id just after @id ("ms-seq"): where XRANGE's next page starts.
std::string next_stream_id (const char *id);

// ---------------------------------------------------------------------------
// The report.

struct Percentiles {
  int64_t p50 = -1, p99 = -1, max = -1;
  size_t count = 0;
};

template <typename T>
Percentiles
percentiles (std::vector<T> values)
{
  Percentiles p;
  p.count = values.size ();
  if (values.empty ())
    return p;
  std::sort (values.begin (), values.end ());
  auto at = [&] (double q) {
    return values[std::min (values.size () - 1,
            static_cast<size_t> (q * static_cast<double> (values.size ())))];
  };
  p.p50 = at (0.50);
  p.p99 = at (0.99);
  p.max = values.back ();
  return p;
}

// One JSON object on stdout, built member by member.
class JsonReport {
 public:
  JsonReport ();
  ~JsonReport ();
  JsonReport (const JsonReport &) = delete;
  JsonReport &operator= (const JsonReport &) = delete;

  void integer (const char *name, int64_t value);
  // null when @value is negative (a figure that could not be taken).
  void real (const char *name, double value);
  void string (const char *name, const char *value);
  // null when @value is empty.
  void string_or_null (const char *name, const std::string &value);
  void boolean (const char *name, bool value);
  // @name nullptr: an element of the array being built.
  void begin_object (const char *name);
  void end_object ();
  void begin_array (const char *name);
  void end_array ();
  // "frames": count, "p50", "p99", "max" in the object being built, the
  // last three null when empty.
  void latency (const Percentiles &p);
  // The "daemon" object, when the daemon was sampled.
  void daemon (const DaemonUsage &usage, const DaemonFigures &figures);
  // Ends the object and prints it on one line.
  void print ();

 private:
  JsonBuilder *builder_;
};

}  // namespace callstream_load
