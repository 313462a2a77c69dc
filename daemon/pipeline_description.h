// Per-call pipeline descriptions: one JSON file per flow in pipelines/
// (format: schemas/pipeline.schema.json and pipelines/README.md). A
// description names the route it serves, the provider protocol, how the
// daemon hands the call's WebSocket to the pipeline, and a gst-launch line
// with ${NAME} placeholders filled from the configuration
// (Config::template_variables) when a call arrives.
//
// Every error reads "<file>: <field>: <what>" with the field as a path
// (`launch`, `branches[1].when`, `connection[0]`), fit to print at start-up.
//
// Threads: parsing and filling are pure; check_pipeline_description needs
// gst_init() and the callstream plugin, and may run on any thread.
#pragma once

#include <gst/gst.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace callstreamd {

// How the call's WebSocket reaches the pipeline.
enum class SocketMode {
  kReactor,  // the daemon reads frames and calls `push-message` on `input` (ingest)
  kShared,   // the same, and the elements named in `connection` share a session:
             // the sinks' frames come back through the first's `send-message`
};

enum class Provider { kExotel, kTwilio };

const char *socket_mode_name (SocketMode mode);  // "reactor", "shared"
const char *provider_name (Provider provider);   // "exotel", "twilio"

// Launch text appended when the variable `when` is true ("t. ! chunkdumper ...").
struct PipelineBranch {
  std::string name;    // [a-z0-9-]+, unique in its description
  std::string when;    // a boolean variable name
  std::string launch;  // gst-launch text with ${NAME} placeholders
};

struct PipelineDescription {
  std::string file;          // where it was read from, the prefix of every error
  std::string name;          // [a-z0-9-]+
  std::string description;   // for people
  std::string route;         // URL path of the WebSocket, starts with '/'
  Provider provider = Provider::kExotel;
  std::string enabled_when;  // a boolean variable name; empty: always served
  SocketMode socket = SocketMode::kReactor;
  std::string input;         // reactor: the element that gets push-message
  std::vector<std::string> connection;  // shared: elements given the connection
  std::string launch;        // gst-launch text with ${NAME} placeholders, $$ for '$'
  std::map<std::string, std::string> defaults;  // placeholder values the variables override
  std::vector<PipelineBranch> branches;
};

// Parses one description; `file` names it in errors and is kept in out.file.
bool parse_pipeline_description (std::string_view json, const std::string &file,
    PipelineDescription &out, std::string *error);

// Every *.json in `dir`, in name order. Duplicate names or routes, an
// unreadable file or an empty directory are errors.
bool load_pipeline_descriptions (const std::string &dir,
    std::vector<PipelineDescription> &out, std::string *error);

// The gst-launch line for one call: placeholders filled from `variables`
// (over the description's defaults), with the launch text of each branch
// whose `when` variable is true appended. A value that is not a plain token
// ([A-Za-z0-9_.:/+-]) is double-quoted and escaped as gst_parse_launch reads
// it back, so spaces, quotes, '!' or '=' stay inside one property value;
// such a placeholder must then be a whole property value (`key=${NAME}`).
// An unknown placeholder is an error naming it.
bool fill_pipeline (const PipelineDescription &description,
    const std::map<std::string, std::string> &variables, std::string &launch,
    std::string *error);

// Whether the flow is served: true when enabled_when is empty or its
// variable is true. An unknown variable or a value that is not a boolean is
// an error.
bool pipeline_enabled (const PipelineDescription &description,
    const std::map<std::string, std::string> &variables, bool &enabled, std::string *error);

// Start-up check: fills with every branch enabled and runs gst_parse_launch
// (unknown elements, properties, bad values, unlinkable pads are reported,
// attributed to `launch` or to the branch that adds them); every sink must
// have async=false (no queues: a prerolling sink would block the call's
// thread until every other sink has data, a deadlock behind a tee); in reactor mode
// the `input` element must exist and have a `push-message` action signal,
// in shared mode every `connection` element must exist and have a `session`
// property, the first also `push-message` and `send-message`. The pipeline is then
// dropped without a state change.
bool check_pipeline_description (const PipelineDescription &description,
    const std::map<std::string, std::string> &variables, std::string *error);

// Takes out every tee left with a single branch that ends in a sink (a flow
// whose optional branches are all off, such as the ingest flows without
// dumps) and links its upstream straight to that sink: such a tee changes
// nothing but costs each buffer a pad push, two pad locks and the tee's own
// lock. Tees with two or more branches, none, or a branch that does not start
// with a sink stay. Call on a pipeline in NULL, before it starts. Returns how
// many were taken out.
unsigned elide_single_branch_tees (GstBin *pipeline);

}  // namespace callstreamd
