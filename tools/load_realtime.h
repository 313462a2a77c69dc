// callstream-load's realtime flow: N concurrent Twilio calls into the
// daemon's /media-stream route (twiliosrc ! realtimebridge ! twiliosink),
// against a fake OpenAI Realtime server the tool runs itself, which echoes
// the caller's audio back as the model's reply. Checks both directions byte
// by byte (loss, order, corruption), the latency the bridge adds each way,
// the tee'd Redis branch, and the daemon's CPU and RSS.
#pragma once

#include <string>

namespace callstream_load {

struct RealtimeLoadOptions {
  std::string url;                 // ws://127.0.0.1:PORT/media-stream
  bool numbers_as_strings = true;  // Twilio's own shape
  int calls = 10;
  int frame_ms = 20;
  int duration_s = 10;
  int ramp_up_s = 0;
  int max_run_s = 60;
  int flush_s = 10;                // a call waits this long for its last reply audio,
                                   // the Redis check as long for the call_end entries
  std::string redis_url;
  std::string stream = "audio_stream";
  int daemon_pid = 0;
  bool json = false;
  int realtime_port = 0;    // the fake server listens on 127.0.0.1:PORT
  int delta_ms = 20;        // audio per reply delta (a multiple of frame_ms)
  int drop_append = 0;      // > 0: the fake server ignores call 0's Nth append
  std::string host;         // from url: a loopback address literal
  unsigned port = 0;
  std::string path;
};

// Runs the load; 0 when every call ran and nothing was lost or corrupted
// either way (nor in Redis), 1 otherwise, 2 when the fake server cannot
// listen. Prints the report (table or JSON) on stdout.
int run_realtime_load (const RealtimeLoadOptions &options);

}  // namespace callstream_load
