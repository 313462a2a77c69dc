#include "asr_worker.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "callstream-events.h"
#include "json_file.h"
#include "log.h"
#include "pipeline_description.h"
#include "redis_store.h"

namespace callstreamd {

namespace {

// A string member; absent is an error only when `required`, and then blank is too.
bool
read_string (JsonObject *object, const char *member, const std::string &file,
    const std::string &field, bool required, std::string &out, std::string *error)
{
  const JsonFileReader reader { file, error };
  return required ? reader.text (object, member, field, true, out)
      : reader.string (object, member, field, false, out);
}

bool
read_string_map (JsonObject *object, const char *member, const std::string &file,
    std::map<std::string, std::string> &out, std::string *error)
{
  JsonNode *node = json_object_get_member (object, member);
  if (node == nullptr)
    return true;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, file, member, "expected an object of strings");
  JsonObject *map = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (map);
  for (GList *l = keys; l != nullptr; l = l->next) {
    const std::string key = static_cast<const char *> (l->data);
    std::string value;
    if (!read_string (map, key.c_str (), file, std::string (member) + "." + key, true, value,
            error))
      return false;
    out[key] = value;
  }
  return true;
}

std::string
format_confidence (double value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (text, sizeof text, "%.3f", std::clamp (value, 0.0, 1.0));
  return text;
}

std::string
now_ms ()
{
  return std::to_string (g_get_real_time () / 1000);
}

struct ObjectUnref {
  void operator() (gpointer object) const { gst_object_unref (object); }
};
using ElementPtr = std::unique_ptr<GstElement, ObjectUnref>;

// A PipelineDescription holding only `text`, so fill_pipeline expands it.
bool
fill_line (const AsrWorkerDescription &description, const std::string &field,
    const std::string &text, const std::map<std::string, std::string> &variables,
    std::string &out, std::string *error)
{
  PipelineDescription line;
  line.file = description.file;
  line.launch = text;
  line.defaults = description.defaults;
  if (!fill_pipeline (line, variables, out, error)) {
    // fill_pipeline names the field `launch`: name ours.
    if (error != nullptr) {
      const std::string prefix = description.file + ": launch: ";
      if (g_str_has_prefix (error->c_str (), prefix.c_str ()))
        *error = description.file + ": " + field + ": " + error->substr (prefix.size ());
    }
    return false;
  }
  return true;
}

}  // namespace

bool
parse_asr_worker_description (std::string_view json, const std::string &file,
    AsrWorkerDescription &out, std::string *error)
{
  out = AsrWorkerDescription ();
  out.file = file;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = JsonFileReader { file, error }.root_object (parser, json);
  if (root == nullptr)
    return false;
  if (!JsonFileReader { file, error }.only_known (root, "", { "$schema", "name", "kind",
          "description", "source", "source_element", "per_call", "decoders", "asr", "recorder",
          "defaults" }))
    return false;
  std::string kind;
  if (!read_string (root, "kind", file, "kind", true, kind, error))
    return false;
  if (kind != "worker")
    return fail (error, file, "kind", "\"" + kind + "\" is not \"worker\"");
  if (!read_string (root, "name", file, "name", true, out.name, error)
      || !read_string (root, "description", file, "description", false, out.description,
          error)
      || !read_string (root, "source", file, "source", true, out.source, error)
      || !read_string (root, "source_element", file, "source_element", true,
          out.source_element, error)
      || !read_string (root, "per_call", file, "per_call", true, out.per_call, error)
      || !read_string (root, "recorder", file, "recorder", false, out.recorder, error)
      || !read_string_map (root, "decoders", file, out.decoders, error)
      || !read_string_map (root, "defaults", file, out.defaults, error))
    return false;
  if (!is_name (out.name))
    return fail (error, file, "name", "\"" + out.name + "\" is not a name ([a-z0-9-]+)");
  JsonNode *asr = json_object_get_member (root, "asr");
  if (asr == nullptr || !JSON_NODE_HOLDS_OBJECT (asr))
    return fail (error, file, "asr", "missing (an object: element, message)");
  JsonObject *asr_object = json_node_get_object (asr);
  return JsonFileReader { file, error }.only_known (asr_object, "asr.", { "element", "message" })
      && read_string (asr_object, "element", file, "asr.element", true, out.asr_element, error)
      && read_string (asr_object, "message", file, "asr.message", true, out.asr_message,
          error);
}

bool
load_asr_worker_description (const std::string &path, AsrWorkerDescription &out,
    std::string *error)
{
  g_autofree gchar *text = nullptr;
  gsize length = 0;
  g_autoptr (GError) read_error = nullptr;
  if (!g_file_get_contents (path.c_str (), &text, &length, &read_error))
    return fail (error, path, "file", read_error->message);
  return parse_asr_worker_description ({ text, length }, path, out, error);
}

double
asr_confidence (const GValue *value, size_t words)
{
  if (value == nullptr)
    return 0;
  const GType type = G_VALUE_TYPE (value);
  if (type == G_TYPE_DOUBLE)
    return std::clamp (g_value_get_double (value), 0.0, 1.0);
  if (type == G_TYPE_FLOAT)
    return std::clamp (static_cast<double> (g_value_get_float (value)), 0.0, 1.0);
  gint64 log_value = 0;
  if (type == G_TYPE_LONG)
    log_value = g_value_get_long (value);
  else if (type == G_TYPE_INT)
    log_value = g_value_get_int (value);
  else if (type == G_TYPE_INT64)
    log_value = g_value_get_int64 (value);
  else
    return 0;
  // Debian's pocketsphinx element stores the 32-bit log value in a glong
  // unsigned: -102517 arrives as 4294864779.
  log_value = static_cast<gint32> (static_cast<guint32> (log_value));
  if (log_value == 0)
    return 0;  // no score (a partial)
  const double per_word = static_cast<double> (log_value) / std::max<size_t> (words, 1);
  return std::clamp (std::exp (per_word * std::log (1.0001)), 0.0, 1.0);
}

/* ---- the worker ------------------------------------------------------------ */

struct CallState {
  GstPad *src_pad = nullptr;  // ref
  GstElement *bin = nullptr;  // ref; null until the caps came
  GstElement *asr = nullptr;  // in bin
  GstElement *recorder = nullptr;  // in bin, may be null
  std::string interaction_id;
  bool started = false;  // call_start published
  bool ended = false;    // call_end published
  guint64 seq = 0;
  gint64 utterance_start_ms = -1;
  gint64 audio_end_ms = 0;  // end of the last buffer into the ASR element
  std::unique_ptr<CallIntentTracker> intents;

  ~CallState ()
  {
    if (bin != nullptr)
      gst_object_unref (bin);
    if (src_pad != nullptr)
      gst_object_unref (src_pad);
  }
};

struct AsrWorker::Impl {
  AsrWorkerDescription description;
  KnowledgeBase kb;
  Settings settings;
  std::string source_line;
  std::map<std::string, std::string> per_call_lines;  // decoder caps name ("" none) -> line
  std::unique_ptr<RedisStore> redis;
  GMainContext *context = nullptr;  // ref
  GstElement *pipeline = nullptr;
  FatalCallback on_fatal;
  std::shared_ptr<bool> alive = std::make_shared<bool> (true);

  // Guards calls and every CallState; recursive: a state change made under
  // it (a call's bin starting) may post an error handled at once.
  std::recursive_mutex lock;
  std::vector<std::shared_ptr<CallState>> calls;

  ~Impl ()
  {
    *alive = false;
    if (pipeline != nullptr) {
      gst_element_set_state (pipeline, GST_STATE_NULL);
      gst_object_unref (pipeline);
    }
    if (context != nullptr)
      g_main_context_unref (context);
  }

  void xadd (const std::string &stream, std::vector<std::pair<std::string, std::string>> fields)
  {
    RedisArgv argv { "XADD", stream, "*" };
    for (auto &[key, value] : fields) {
      argv.emplace_back (key);
      argv.emplace_back (std::move (value));
    }
    redis->command (std::move (argv), [stream] (RedisReply reply) {
          if (!reply.ok ())
            log::warning ("asr_publish_failed", { { "stream", stream },
                  { "error", reply.describe_failure () } });
        });
  }

  // On the main context.
  template <typename F>
  void invoke (F f)
  {
    auto *boxed = new std::function<void ()> ([f = std::move (f), alive = alive] () {
          if (*alive)
            f ();
        });
    g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, [] (gpointer data) -> gboolean {
          (*static_cast<std::function<void ()> *> (data)) ();
          return G_SOURCE_REMOVE;
        }, boxed, [] (gpointer data) { delete static_cast<std::function<void ()> *> (data); });
  }

  std::shared_ptr<CallState> call_for_pad (GstPad *pad)
  {
    for (const auto &call : calls)
      if (call->src_pad == pad)
        return call;
    return nullptr;
  }

  // Walks up from a message's source to the call bin holding it.
  std::shared_ptr<CallState> call_for_object (GstObject *object)
  {
    for (GstObject *o = object; o != nullptr; o = GST_OBJECT_PARENT (o))
      for (const auto &call : calls)
        if (call->bin != nullptr && GST_OBJECT (call->bin) == o)
          return call;
    return nullptr;
  }

  void publish_call_start (CallState &call, const GstStructure *info)
  {
    call.started = true;
    auto get = [info] (const char *name) -> std::string {
      const char *value = info != nullptr ? gst_structure_get_string (info, name) : nullptr;
      return value != nullptr ? value : "";
    };
    xadd (settings.assist_stream, { { "event", "call_start" },
          { "interaction_id", call.interaction_id }, { "stream_sid", get ("stream-sid") },
          { "provider", get ("provider") }, { "from", get ("from") }, { "to", get ("to") },
          { "started_at", now_ms () } });
    log::info ("asr_call_started", { { "call", call.interaction_id },
          { "provider", get ("provider") } });
  }

  void publish_call_end (CallState &call, const std::string &reason)
  {
    if (call.ended || !call.started)
      return;
    call.ended = true;
    std::string recording;
    if (call.recorder != nullptr) {
      g_autofree gchar *directory = nullptr;
      g_object_get (call.recorder, "current-directory", &directory, nullptr);
      if (directory != nullptr) {
        g_autofree gchar *base = g_path_get_basename (directory);
        g_autofree gchar *file = g_build_filename (directory, "call.wav", nullptr);
        if (g_file_test (file, G_FILE_TEST_IS_REGULAR))
          recording = std::string (base) + "/call.wav";
      }
    }
    xadd (settings.assist_stream, { { "event", "call_end" },
          { "interaction_id", call.interaction_id }, { "reason", reason },
          { "recording", recording } });
    log::info ("asr_call_ended", { { "call", call.interaction_id }, { "reason", reason },
          { "transcripts", std::to_string (call.seq) }, { "recording", recording } });
  }

  // Under lock, on the call's streaming thread.
  void on_hypothesis (CallState &call, const GstStructure *s)
  {
    const char *text = gst_structure_get_string (s, "hypothesis");
    gboolean is_final = FALSE;
    gst_structure_get_boolean (s, "final", &is_final);
    if (text == nullptr)
      return;
    const std::vector<std::string> words = normalise_words (text);
    if (words.empty ()) {
      if (is_final)
        call.utterance_start_ms = -1;
      return;
    }
    guint64 timestamp = GST_CLOCK_TIME_NONE;
    if (call.utterance_start_ms < 0) {
      if (gst_structure_get_uint64 (s, "timestamp", &timestamp) && GST_CLOCK_TIME_IS_VALID (timestamp))
        call.utterance_start_ms = static_cast<gint64> (timestamp / GST_MSECOND);
      else
        call.utterance_start_ms = call.audio_end_ms;
    }
    const double confidence = is_final
        ? asr_confidence (gst_structure_get_value (s, "confidence"), words.size ()) : 0.0;
    const std::string seq = std::to_string (++call.seq);
    const std::string start_ms = std::to_string (std::min (call.utterance_start_ms,
            call.audio_end_ms));
    const std::string end_ms = std::to_string (call.audio_end_ms);
    xadd (settings.transcripts_stream, { { "interaction_id", call.interaction_id },
          { "seq", seq }, { "text", text }, { "is_final", is_final ? "true" : "false" },
          { "start_ms", start_ms }, { "end_ms", end_ms },
          { "confidence", format_confidence (confidence) } });
    log::write (is_final ? log::Level::kInfo : log::Level::kDebug, "transcript_published",
        { { "call", call.interaction_id }, { "seq", seq },
          { "final", is_final ? "true" : "false" }, { "start_ms", start_ms },
          { "end_ms", end_ms }, { "text", text } });
    if (!is_final)
      return;
    call.utterance_start_ms = -1;
    for (const IntentMatch &match : call.intents->on_final (text)) {
      xadd (settings.assist_stream, { { "event", "intent" },
            { "interaction_id", call.interaction_id }, { "intent_id", match.intent->id },
            { "intent_name", match.intent->name },
            { "score", format_confidence (match.score) }, { "transcript_seq", seq },
            { "text", text } });
      log::info ("intent_detected", { { "call", call.interaction_id },
            { "intent", match.intent->id }, { "score", format_confidence (match.score) },
            { "text", text } });
      for (const KbArticle *article : kb.articles_for (match.intent->id)) {
        xadd (settings.assist_stream, { { "event", "article" },
              { "interaction_id", call.interaction_id }, { "article_id", article->id },
              { "title", article->title }, { "url", article->url },
              { "summary", article->summary }, { "intent_id", match.intent->id } });
        log::info ("article_surfaced", { { "call", call.interaction_id },
              { "article", article->id }, { "intent", match.intent->id } });
      }
    }
  }

  // On the source's streaming thread, from the call pad's probe: builds
  // the call's bin for these caps and links it.
  bool build_call_bin (CallState &call, GstPad *pad, GstCaps *caps)
  {
    const GstStructure *s = gst_caps_get_structure (caps, 0);
    const std::string caps_name = gst_structure_get_name (s);
    auto line = per_call_lines.find (caps_name);
    if (line == per_call_lines.end ())
      line = per_call_lines.find ("");
    g_autoptr (GError) parse_error = nullptr;
    GstElement *bin = gst_parse_bin_from_description_full (line->second.c_str (), TRUE,
        nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
    if (bin == nullptr) {
      log::error ("asr_call_bin_failed", { { "call", call.interaction_id },
            { "error", parse_error != nullptr ? parse_error->message : "?" } });
      return false;
    }
    call.bin = GST_ELEMENT (gst_object_ref_sink (bin));
    call.asr = gst_bin_get_by_name (GST_BIN (bin), description.asr_element.c_str ());
    if (call.asr != nullptr)
      gst_object_unref (call.asr);  // the bin holds it
    if (!description.recorder.empty ()) {
      call.recorder = gst_bin_get_by_name (GST_BIN (bin), description.recorder.c_str ());
      if (call.recorder != nullptr)
        gst_object_unref (call.recorder);
    }
    if (call.asr != nullptr) {
      g_autoptr (GstPad) asr_sink = gst_element_get_static_pad (call.asr, "sink");
      auto *weak = new std::weak_ptr<CallState> (call_for_pad (pad));
      gst_pad_add_probe (asr_sink, GST_PAD_PROBE_TYPE_BUFFER,
          [] (GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
            auto *self_call = static_cast<std::weak_ptr<CallState> *> (data);
            GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
            if (auto call_state = self_call->lock (); call_state && GST_BUFFER_PTS_IS_VALID (buffer)) {
              GstClockTime end = GST_BUFFER_PTS (buffer);
              if (GST_BUFFER_DURATION_IS_VALID (buffer))
                end += GST_BUFFER_DURATION (buffer);
              call_state->audio_end_ms = static_cast<gint64> (end / GST_MSECOND);
            }
            return GST_PAD_PROBE_OK;
          }, weak, [] (gpointer data) { delete static_cast<std::weak_ptr<CallState> *> (data); });
    }
    gst_bin_add (GST_BIN (pipeline), bin);
    gst_element_sync_state_with_parent (bin);
    g_autoptr (GstPad) sink = gst_element_get_static_pad (bin, "sink");
    if (sink == nullptr || gst_pad_link (pad, sink) != GST_PAD_LINK_OK) {
      log::error ("asr_call_bin_failed", { { "call", call.interaction_id },
            { "error", "per_call has no free sink pad to link the call's audio to" } });
      return false;
    }
    return true;
  }

  // Removes an ended call (main context).
  void remove_call (const std::shared_ptr<CallState> &call, const std::string &reason)
  {
    {
      std::lock_guard<std::recursive_mutex> guard (lock);
      publish_call_end (*call, reason);
      calls.erase (std::remove (calls.begin (), calls.end (), call), calls.end ());
    }
    if (call->bin != nullptr && pipeline != nullptr) {
      gst_element_set_locked_state (call->bin, TRUE);
      gst_element_set_state (call->bin, GST_STATE_NULL);
      gst_bin_remove (GST_BIN (pipeline), call->bin);
    }
  }

  static GstPadProbeReturn on_call_pad_data (GstPad *pad, GstPadProbeInfo *info, gpointer data);
  static void on_pad_added (GstElement *, GstPad *pad, gpointer data);
  static GstBusSyncReply on_message (GstBus *, GstMessage *message, gpointer data);
};

GstPadProbeReturn
AsrWorker::Impl::on_call_pad_data (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto *self = static_cast<Impl *> (data);
  std::lock_guard<std::recursive_mutex> guard (self->lock);
  std::shared_ptr<CallState> call = self->call_for_pad (pad);
  if (!call)
    return GST_PAD_PROBE_REMOVE;
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    if (!call->started)
      self->publish_call_start (*call, nullptr);
    return GST_PAD_PROBE_OK;
  }
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS && call->bin == nullptr) {
    GstCaps *caps = nullptr;
    gst_event_parse_caps (event, &caps);
    if (!self->build_call_bin (*call, pad, caps))
      return GST_PAD_PROBE_DROP;
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY
      || GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
    const GstStructure *info_structure = gst_event_get_structure (event);
    if (info_structure != nullptr
        && gst_structure_has_name (info_structure, CALLSTREAM_CALL_INFO_NAME) && !call->started) {
      const char *id = gst_structure_get_string (info_structure, "call-sid");
      if (id != nullptr && *id != '\0')
        call->interaction_id = id;
      self->publish_call_start (*call, info_structure);
    }
  }
  return GST_PAD_PROBE_OK;
}

void
AsrWorker::Impl::on_pad_added (GstElement *, GstPad *pad, gpointer data)
{
  auto *self = static_cast<Impl *> (data);
  auto call = std::make_shared<CallState> ();
  call->src_pad = GST_PAD (gst_object_ref (pad));
  call->intents = std::make_unique<CallIntentTracker> (self->kb);
  g_autofree gchar *stream_id = gst_pad_get_stream_id (pad);
  g_autofree gchar *pad_name = gst_pad_get_name (pad);
  // Until the call-info event: the stream id ends with the interaction id.
  const char *slash = stream_id != nullptr ? std::strrchr (stream_id, '/') : nullptr;
  call->interaction_id = slash != nullptr ? slash + 1 : stream_id != nullptr ? stream_id : pad_name;
  {
    std::lock_guard<std::recursive_mutex> guard (self->lock);
    self->calls.push_back (call);
  }
  gst_pad_add_probe (pad, static_cast<GstPadProbeType> (GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM
          | GST_PAD_PROBE_TYPE_BUFFER), on_call_pad_data, self, nullptr);
}

GstBusSyncReply
AsrWorker::Impl::on_message (GstBus *, GstMessage *message, gpointer data)
{
  auto *self = static_cast<Impl *> (data);
  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (message);
      if (s != nullptr && gst_structure_has_name (s, "GstBinForwarded")) {
        // message-forward: a call bin's own EOS, once all its sinks have it
        // (the recording is then complete on disk).
        GstMessage *inner = nullptr;
        gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, nullptr);
        if (inner != nullptr && GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS)
          return on_message (nullptr, inner, data);
        if (inner != nullptr)
          gst_message_unref (inner);
        break;
      }
      if (s == nullptr || !gst_structure_has_name (s, self->description.asr_message.c_str ()))
        break;
      std::lock_guard<std::recursive_mutex> guard (self->lock);
      for (const auto &call : self->calls)
        if (call->asr != nullptr && GST_MESSAGE_SRC (message) == GST_OBJECT (call->asr))
          self->on_hypothesis (*call, s);
      break;
    }
    case GST_MESSAGE_EOS:
      if (GST_MESSAGE_SRC (message) == GST_OBJECT (self->pipeline))
        break;
      [[fallthrough]];
    case GST_MESSAGE_ERROR: {
      std::shared_ptr<CallState> call;
      {
        std::lock_guard<std::recursive_mutex> guard (self->lock);
        call = self->call_for_object (GST_MESSAGE_SRC (message));
      }
      const bool is_error = GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR;
      std::string what;
      if (is_error) {
        g_autoptr (GError) error = nullptr;
        g_autofree gchar *debug = nullptr;
        gst_message_parse_error (message, &error, &debug);
        what = error->message;
        g_autofree gchar *source = gst_object_get_path_string (GST_MESSAGE_SRC (message));
        log::error ("asr_pipeline_error", { { "element", source }, { "error", what },
              { "call", call ? call->interaction_id : "" } });
      }
      if (call) {
        self->invoke ([self, call, is_error] { self->remove_call (call, is_error ? "error" : "ended"); });
      } else if (is_error) {
        self->invoke ([self, what] {
              if (self->on_fatal)
                self->on_fatal (what);
            });
      }
      break;
    }
    case GST_MESSAGE_WARNING: {
      g_autoptr (GError) error = nullptr;
      g_autofree gchar *debug = nullptr;
      gst_message_parse_warning (message, &error, &debug);
      g_autofree gchar *source = gst_object_get_path_string (GST_MESSAGE_SRC (message));
      log::warning ("asr_pipeline_warning", { { "element", source }, { "warning", error->message } });
      break;
    }
    default:
      break;
  }
  gst_message_unref (message);
  return GST_BUS_DROP;
}

AsrWorker::AsrWorker (std::unique_ptr<Impl> impl) : impl_ (std::move (impl)) {}

AsrWorker::~AsrWorker ()
{
  stop ();
}

std::unique_ptr<AsrWorker>
AsrWorker::create (const Config &config, std::map<std::string, std::string> variables,
    const std::string &pipelines_dir, std::string *error)
{
  KnowledgeBase kb;
  if (!load_knowledge_base (config.knowledge_base, kb, error))
    return nullptr;
  AsrWorkerDescription description;
  g_autofree gchar *path = g_build_filename (pipelines_dir.c_str (), "workers",
      "asr-worker.json", nullptr);
  if (!load_asr_worker_description (path, description, error))
    return nullptr;
  Settings settings;
  settings.redis_url = variables.count ("REDIS_URL") ? variables["REDIS_URL"] : config.redis_url;
  settings.transcripts_stream = config.transcripts_stream;
  settings.assist_stream = config.assist_stream;
  settings.recordings_dir = config.assist_recordings_dir;
  return create (description, std::move (variables), std::move (kb), std::move (settings), error);
}

std::unique_ptr<AsrWorker>
AsrWorker::create (const AsrWorkerDescription &description,
    std::map<std::string, std::string> variables, KnowledgeBase kb, Settings settings,
    std::string *error)
{
  auto impl = std::make_unique<Impl> ();
  impl->description = description;
  impl->kb = std::move (kb);
  impl->settings = std::move (settings);
  if (variables["ASR_CONSUMER"].empty ()) {
    char host[256] = "";
    gethostname (host, sizeof host - 1);
    variables["ASR_CONSUMER"] = std::string (host) + "-" + std::to_string (getpid ());
  }
  if (!fill_line (description, "source", description.source, variables, impl->source_line,
          error))
    return nullptr;
  std::string per_call;
  if (!fill_line (description, "per_call", description.per_call, variables, per_call, error))
    return nullptr;
  impl->per_call_lines[""] = per_call;
  for (const auto &[caps_name, decoder] : description.decoders) {
    std::string filled;
    if (!fill_line (description, "decoders." + caps_name, decoder, variables, filled, error))
      return nullptr;
    impl->per_call_lines[caps_name] = filled + " ! " + per_call;
  }
  // Every line must parse now, not at the first call.
  for (const auto &[caps_name, line] : impl->per_call_lines) {
    g_autoptr (GError) parse_error = nullptr;
    GstElement *bin = gst_parse_bin_from_description_full (line.c_str (), TRUE, nullptr,
        GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
    const std::string field = caps_name.empty () ? "per_call" : "decoders." + caps_name;
    if (bin == nullptr)
      return fail (error, description.file, field, parse_error->message), nullptr;
    ElementPtr owned (GST_ELEMENT (gst_object_ref_sink (bin)));
    g_autoptr (GstElement) asr = gst_bin_get_by_name (GST_BIN (bin),
        description.asr_element.c_str ());
    if (asr == nullptr)
      return fail (error, description.file, "asr.element", "no element named \""
          + description.asr_element + "\" in per_call"), nullptr;
    if (!description.recorder.empty ()) {
      g_autoptr (GstElement) recorder = gst_bin_get_by_name (GST_BIN (bin),
          description.recorder.c_str ());
      if (recorder == nullptr || g_object_class_find_property (G_OBJECT_GET_CLASS (recorder),
              "current-directory") == nullptr)
        return fail (error, description.file, "recorder", "no chunkdumper named \""
            + description.recorder + "\" in per_call"), nullptr;
    }
    g_autoptr (GstPad) sink = gst_element_get_static_pad (bin, "sink");
    if (sink == nullptr)
      return fail (error, description.file, field,
          "the bin has no unlinked sink pad for the call's audio"), nullptr;
  }
  g_autoptr (GError) parse_error = nullptr;
  GstElement *pipeline = gst_parse_launch_full (impl->source_line.c_str (), nullptr,
      static_cast<GstParseFlags> (GST_PARSE_FLAG_FATAL_ERRORS | GST_PARSE_FLAG_PLACE_IN_BIN),
      &parse_error);
  if (pipeline == nullptr)
    return fail (error, description.file, "source", parse_error->message), nullptr;
  gst_object_ref_sink (pipeline);
  if (!GST_IS_PIPELINE (pipeline)) {
    // A one-element line parses to that element alone.
    GstElement *wrapper = GST_ELEMENT (gst_object_ref_sink (gst_pipeline_new (nullptr)));
    gst_bin_add (GST_BIN (wrapper), pipeline);
    gst_object_unref (pipeline);
    pipeline = wrapper;
  }
  impl->pipeline = pipeline;
  // A call bin's EOS would otherwise stay inside the pipeline (it posts EOS
  // only when every call has ended).
  g_object_set (pipeline, "message-forward", TRUE, nullptr);
  g_autoptr (GstElement) source = gst_bin_get_by_name (GST_BIN (pipeline),
      description.source_element.c_str ());
  if (source == nullptr)
    return fail (error, description.file, "source_element", "no element named \""
        + description.source_element + "\" in source"), nullptr;
  std::string redis_error;
  impl->redis = RedisStore::open (impl->settings.redis_url, &redis_error);
  if (!impl->redis)
    return fail (error, "REDIS_URL", impl->settings.redis_url, redis_error), nullptr;
  impl->context = g_main_context_ref_thread_default ();
  g_signal_connect (source, "pad-added", G_CALLBACK (Impl::on_pad_added), impl.get ());
  g_autoptr (GstBus) bus = gst_element_get_bus (impl->pipeline);
  gst_bus_set_sync_handler (bus, Impl::on_message, impl.get (), nullptr);
  return std::unique_ptr<AsrWorker> (new AsrWorker (std::move (impl)));
}

bool
AsrWorker::start (FatalCallback on_fatal, std::string *error)
{
  impl_->on_fatal = std::move (on_fatal);
  if (gst_element_set_state (impl_->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (error != nullptr)
      *error = impl_->description.file + ": source: the pipeline did not start";
    return false;
  }
  log::info ("asr_worker_started", { { "worker", impl_->description.name },
        { "source", impl_->source_line }, { "transcripts", impl_->settings.transcripts_stream },
        { "assist", impl_->settings.assist_stream },
        { "knowledge_base", impl_->kb.file } });
  return true;
}

void
AsrWorker::stop ()
{
  if (!impl_ || impl_->pipeline == nullptr)
    return;
  gst_element_set_state (impl_->pipeline, GST_STATE_NULL);
  std::lock_guard<std::recursive_mutex> guard (impl_->lock);
  for (const auto &call : impl_->calls)
    impl_->publish_call_end (*call, "worker-stopped");
  impl_->calls.clear ();
  log::info ("asr_worker_stopped", { { "worker", impl_->description.name } });
  gst_object_unref (impl_->pipeline);
  impl_->pipeline = nullptr;
}

}  // namespace callstreamd
