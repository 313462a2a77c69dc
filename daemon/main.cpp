// callstreamd: reads the configuration (environment, then an optional .env
// file), loads and checks every pipeline description, starts its own
// redis-server when REDIS_URL is not set, and serves until SIGTERM/SIGINT,
// when every call is ended with EOS and flushed before the process exits.
#include <glib-unix.h>
#include <gst/gst.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "asr_worker.h"
#include "config.h"
#include "diagnose.h"
#include "dotenv.h"
#include "embedded_redis.h"
#include "log.h"
#include "pipeline_description.h"
#include "server.h"

namespace {

using namespace callstreamd;

bool
read_env_file (const char *path, bool must_exist, std::map<std::string, std::string> &out,
    std::string *error)
{
  g_autofree gchar *text = nullptr;
  gsize size = 0;
  g_autoptr (GError) read_error = nullptr;
  if (!g_file_get_contents (path, &text, &size, &read_error)) {
    if (!must_exist && g_error_matches (read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return true;
    *error = read_error->message;
    return false;
  }
  std::string parse_error;
  if (!parse_dotenv (std::string_view (text, size), out, &parse_error)) {
    *error = std::string (path) + ": " + parse_error;
    return false;
  }
  return true;
}

std::string
pipelines_dir (const Config &config)
{
  if (!config.pipelines_dir.empty ())
    return config.pipelines_dir;
  if (g_file_test (CALLSTREAMD_PIPELINES_DIR, G_FILE_TEST_IS_DIR))
    return CALLSTREAMD_PIPELINES_DIR;
  return CALLSTREAMD_SOURCE_PIPELINES_DIR;
}

// The line a media engineer runs by hand: the daemon's own socket handling
// replaced by the elements' one-call server (port/path on the input, a
// shared session name on the elements that answer on that socket).
std::string
standalone_line (const PipelineDescription &flow, std::string launch, guint16 port)
{
  auto add_after_name = [&launch] (const std::string &name, const std::string &extra) {
    const std::string token = "name=" + name;
    size_t at = 0;
    while ((at = launch.find (token, at)) != std::string::npos) {
      const size_t end = at + token.size ();
      if (end == launch.size () || launch[end] == ' ') {
        launch.insert (end, " " + extra);
        return;
      }
      at = end;
    }
  };
  const bool shared = flow.socket == SocketMode::kShared;
  const std::string &source = !flow.input.empty () || flow.connection.empty ()
      ? flow.input : flow.connection.front ();
  add_after_name (source, "port=" + std::to_string (port) + " path=" + flow.route
      + (shared ? " session=call" : ""));
  if (shared)
    for (const std::string &name : flow.connection)
      if (name != source)
        add_after_name (name, "session=call");
  return "gst-launch-1.0 -e " + launch;
}

GMainLoop *main_loop = nullptr;
int exit_code = 0;

// callstreamd asr-worker: the ASR worker alone, until SIGTERM/SIGINT.
int
run_asr_worker (const Config &config, const std::map<std::string, std::string> &variables,
    const std::string &dir)
{
  std::string error;
  std::unique_ptr<AsrWorker> worker = AsrWorker::create (config, variables, dir, &error);
  if (!worker) {
    std::fprintf (stderr, "callstreamd asr-worker: %s\n", error.c_str ());
    return 2;
  }
  main_loop = g_main_loop_new (nullptr, FALSE);
  if (!worker->start ([] (const std::string &why) {
            log::error ("asr_worker_failed", { { "error", why } });
            exit_code = 1;
            g_main_loop_quit (main_loop);
          }, &error)) {
    std::fprintf (stderr, "callstreamd asr-worker: %s\n", error.c_str ());
    return 1;
  }
  auto on_signal = [] (gpointer) -> gboolean {
    log::info ("signal_received", { { "action", "stop the ASR worker" } });
    g_main_loop_quit (main_loop);
    return G_SOURCE_CONTINUE;
  };
  const guint sigterm = g_unix_signal_add (SIGTERM, on_signal, nullptr);
  const guint sigint = g_unix_signal_add (SIGINT, on_signal, nullptr);
  g_main_loop_run (main_loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);
  worker->stop ();
  worker.reset ();
  g_main_loop_unref (main_loop);
  return exit_code;
}

}  // namespace

int
main (int argc, char **argv)
{
  gchar *print_pipeline = nullptr;
  gchar *env_file = nullptr;
  gboolean check_only = FALSE;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "print-pipeline", 0, 0, G_OPTION_ARG_STRING, &print_pipeline,
      "Print the filled-in gst-launch line of flow NAME and exit", "NAME" },
    { "env-file", 0, 0, G_OPTION_ARG_FILENAME, &env_file,
      "Read variables from FILE (default: ./.env when it exists)", "FILE" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check_only,
      "Check the configuration and every pipeline description, then exit", nullptr },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", nullptr },
    { nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("[diagnose CONVERSATION_ID | asr-worker] - telephony media daemon");
  g_option_context_set_summary (context,
      "Serves Exotel and Twilio media streams and webhooks; each call runs a GStreamer\n"
      "pipeline from pipelines/*.json. Configuration: environment variables and .env\n"
      "(see daemon/README.md).");
  g_option_context_add_main_entries (context, entries, nullptr);
  g_option_context_add_group (context, gst_init_get_option_group ());
  g_autoptr (GError) option_error = nullptr;
  if (!g_option_context_parse (context, &argc, &argv, &option_error)) {
    std::fprintf (stderr, "callstreamd: %s\n", option_error->message);
    return 2;
  }
  // callstreamd diagnose <conversation_id>
  const bool diagnose = argc == 3 && g_str_equal (argv[1], "diagnose");
  // callstreamd asr-worker
  const bool asr_worker = argc == 2 && g_str_equal (argv[1], "asr-worker");
  if (argc > 1 && !diagnose && !asr_worker) {
    std::fprintf (stderr, "callstreamd: unexpected argument \"%s\" (commands: diagnose "
        "<conversation_id>, asr-worker)\n", argv[1]);
    return 2;
  }
  if (version) {
    std::printf ("callstreamd %s\n", VERSION);
    return 0;
  }

  std::map<std::string, std::string> dotenv;
  std::string error;
  if (!read_env_file (env_file ? env_file : ".env", env_file != nullptr, dotenv, &error)) {
    std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
    return 2;
  }
  // The environment wins; .env values also reach the elements (the Realtime
  // bridge reads OPENAI_API_KEY itself).
  for (const auto &[key, value] : dotenv)
    g_setenv (key.c_str (), value.c_str (), FALSE);
  Config config;
  if (!Config::load (merged_environment (dotenv), config, &error)) {
    std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
    return 2;
  }
  if (diagnose) {
    std::printf ("%s", diagnose_conversation (config, config.redis_url, argv[2]).c_str ());
    return 0;
  }
  std::map<std::string, std::string> variables = config.template_variables ();
  if (config.redis_url.empty ())
    variables["REDIS_URL"] = "redis://127.0.0.1:6379";

  const std::string dir = pipelines_dir (config);
  if (asr_worker)
    return run_asr_worker (config, variables, dir);
  std::vector<PipelineDescription> all;
  if (!load_pipeline_descriptions (dir, all, &error)) {
    std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
    return 2;
  }
  for (const PipelineDescription &flow : all) {
    if (!check_pipeline_description (flow, variables, &error)) {
      std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
      return 2;
    }
  }
  if (print_pipeline != nullptr) {
    for (const PipelineDescription &flow : all) {
      if (flow.name != print_pipeline)
        continue;
      std::string launch;
      if (!fill_pipeline (flow, variables, launch, &error)) {
        std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
        return 2;
      }
      std::printf ("%s\n", standalone_line (flow, launch, static_cast<guint16> (config.port ? config.port : 8443)).c_str ());
      return 0;
    }
    std::string names;
    for (const PipelineDescription &flow : all)
      names += " " + flow.name;
    std::fprintf (stderr, "callstreamd: no flow named \"%s\" in %s (flows:%s)\n",
        print_pipeline, dir.c_str (), names.c_str ());
    return 2;
  }
  if (check_only) {
    std::printf ("configuration and %zu pipeline descriptions in %s are valid\n",
        all.size (), dir.c_str ());
    return 0;
  }

  EmbeddedRedis embedded;
  if (config.redis_url.empty ()) {
    if (!embedded.start (&error)) {
      std::fprintf (stderr, "callstreamd: REDIS_URL is not set and %s\n", error.c_str ());
      return 1;
    }
    variables["REDIS_URL"] = embedded.url ();
    log::info ("embedded_redis_started", { { "url", embedded.url () },
          { "pid", std::to_string (embedded.pid ()) },
          { "note", "REDIS_URL is not set: using a redis-server of our own, "
            "stopped when callstreamd exits" } });
  }
  std::vector<PipelineDescription> flows;
  for (PipelineDescription &flow : all) {
    bool enabled = false;
    if (!pipeline_enabled (flow, variables, enabled, &error)) {
      std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
      return 2;
    }
    if (enabled)
      flows.push_back (std::move (flow));
    else
      log::info ("flow_disabled", { { "flow", flow.name }, { "route", flow.route },
            { "enable_with", flow.enabled_when + "=true" } });
  }
  if (config.audio_dump_enabled)
    log::info ("audio_dumping_enabled", { { "dir", config.audio_dump_dir },
          { "format", config.audio_dump_format } });

  // One descriptor per socket (plus a few per call): take all the hard limit
  // allows, so MAX_CALLS and the idle timeout, not EMFILE, bound a flood.
  struct rlimit files;
  if (getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit (RLIMIT_NOFILE, &files);
  }
  if (getrlimit (RLIMIT_NOFILE, &files) == 0)
    log::info ("fd_limit", { { "open_files", std::to_string (files.rlim_cur) },
          { "max_calls", std::to_string (config.max_calls) } });

  main_loop = g_main_loop_new (nullptr, FALSE);
  std::unique_ptr<AsrWorker> asr;
  if (config.asr_worker_enabled) {
    asr = AsrWorker::create (config, variables, dir, &error);
    if (!asr) {
      std::fprintf (stderr, "callstreamd: ASR_WORKER_ENABLED: %s\n", error.c_str ());
      return 2;
    }
  }
  auto server = std::make_unique<Server> (config, std::move (flows), variables);
  if (!server->start (&error)) {
    std::fprintf (stderr, "callstreamd: %s\n", error.c_str ());
    return 1;
  }
  if (asr && !asr->start ([] (const std::string &why) {
            log::error ("asr_worker_failed", { { "error", why },
                  { "note", "the daemon goes on serving calls without agent assist" } });
          }, &error)) {
    std::fprintf (stderr, "callstreamd: ASR_WORKER_ENABLED: %s\n", error.c_str ());
    return 1;
  }
  bool stopping = false;
  auto on_signal = [] (gpointer data) -> gboolean {
    auto *state = static_cast<std::pair<Server *, bool *> *> (data);
    if (*state->second)
      return G_SOURCE_CONTINUE;
    *state->second = true;
    log::info ("signal_received", { { "action", "stop accepting, EOS every call, flush" } });
    state->first->shutdown ([] (bool flushed) {
          exit_code = flushed ? 0 : 3;
          log::info ("stopped", { { "flushed", flushed ? "true" : "false" } });
          g_main_loop_quit (main_loop);
        });
    return G_SOURCE_CONTINUE;
  };
  std::pair<Server *, bool *> signal_state (server.get (), &stopping);
  const guint sigterm = g_unix_signal_add (SIGTERM, on_signal, &signal_state);
  const guint sigint = g_unix_signal_add (SIGINT, on_signal, &signal_state);
  g_main_loop_run (main_loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);
  if (asr)
    asr->stop ();
  if (exit_code != 0) {
    // Some call did not flush in time: its threads may still be blocked, so
    // tearing the calls down could hang. Leave at once.
    embedded.stop ();
    _exit (exit_code);
  }
  server.reset ();
  embedded.stop ();
  g_main_loop_unref (main_loop);
  return exit_code;
}
