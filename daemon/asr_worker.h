// The agent-assist ASR worker (issue 8): reads calls back from Redis with
// redisstreamsrc, runs each call through its own per-call bin (speech
// recognition and a whole-call recording), and publishes
//   - every partial and final hypothesis to TRANSCRIPTS_STREAM
//     (schemas/transcript-entry.schema.json),
//   - call_start, the intents and articles the knowledge-base matcher finds
//     in final hypotheses, and call_end to ASSIST_STREAM
//     (schemas/assist-entry.schema.json).
//
// What runs is a worker description (pipelines/workers/asr-worker.json,
// schemas/worker-pipeline.schema.json): the `source` line, the `per_call`
// bin built for each src pad the source adds, a decoder put in front of the
// bin for some caps (audio/x-mulaw: mulawdec), and the ASR convention: the
// element named `asr.element` posts element messages named `asr.message`
// with `hypothesis` (string), `final` (boolean) and optionally `confidence`
// and `timestamp`. Another engine plugs in by posting the same messages.
//
// Confidence: a floating-point value is taken as a probability (clamped to
// 0..1); an integer is a Sphinx log-probability (base 1.0001) of the whole
// utterance, mapped to the per-word geometric mean 1.0001^(value / words).
// pocketsphinx gives partials no score (0): they are published with "0".
//
// Times: start_ms is the call time of the audio when the utterance's first
// partial came (the message's timestamp when it has one), end_ms the end of
// the last buffer that entered the ASR element when the final came; both
// from the buffers' PTS, which redisstreamsrc sets from the entries'
// timestamp_ms.
//
// Threads: create, start and stop on the thread that runs the
// thread-default GMainContext at creation (the worker removes ended calls
// and runs Redis callbacks there); the recogniser's messages are handled on
// the call's streaming thread, under the worker's lock.
#pragma once

#include <glib-object.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config.h"
#include "knowledge_base.h"

namespace callstreamd {

struct AsrWorkerDescription {
  std::string file;
  std::string name;         // [a-z0-9-]+
  std::string description;  // for people
  std::string source;       // gst-launch text of the source pipeline
  std::string source_element;  // the element in `source` whose src pads are calls
  std::string per_call;     // gst-launch text of each call's bin (one unlinked sink pad)
  std::map<std::string, std::string> decoders;  // caps name -> launch text put first
  std::string asr_element;  // element of `per_call` posting the hypotheses
  std::string asr_message;  // their structure name
  std::string recorder;     // optional: element of `per_call` writing the call (chunkdumper)
  std::map<std::string, std::string> defaults;
};

// Errors read "<file>: <field>: <what>".
bool parse_asr_worker_description (std::string_view json, const std::string &file,
    AsrWorkerDescription &out, std::string *error);
bool load_asr_worker_description (const std::string &path, AsrWorkerDescription &out,
    std::string *error);

// Confidence of a message's `confidence` value as 0..1 (see above);
// `words`: how many words the hypothesis has.
double asr_confidence (const GValue *value, size_t words);

class AsrWorker {
 public:
  struct Settings {
    std::string redis_url;
    std::string transcripts_stream = "transcripts";
    std::string assist_stream = "assist";
    std::string recordings_dir;  // the recorder's location; call_end names files under it
  };
  using FatalCallback = std::function<void (const std::string &why)>;

  // Loads KNOWLEDGE_BASE and <pipelines_dir>/workers/asr-worker.json, fills
  // them with `variables` (ASR_CONSUMER empty: <hostname>-<pid>) and checks
  // that every line parses. Null with *error saying what is wrong.
  static std::unique_ptr<AsrWorker> create (const Config &config,
      std::map<std::string, std::string> variables, const std::string &pipelines_dir,
      std::string *error);
  static std::unique_ptr<AsrWorker> create (const AsrWorkerDescription &description,
      std::map<std::string, std::string> variables, KnowledgeBase kb, Settings settings,
      std::string *error);
  ~AsrWorker ();
  AsrWorker (const AsrWorker &) = delete;
  AsrWorker &operator= (const AsrWorker &) = delete;

  // Sets the pipeline PLAYING; `on_fatal` runs (on the worker's context)
  // when the source fails for good.
  bool start (FatalCallback on_fatal, std::string *error);
  // Stops reading, ends the calls in progress (call_end reason
  // "worker-stopped") and drops the pipeline.
  void stop ();

  struct Impl;

 private:
  explicit AsrWorker (std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace callstreamd
