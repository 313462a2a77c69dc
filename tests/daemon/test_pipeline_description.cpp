// Pipeline descriptions: parsing, filling, the start-up check, the shipped
// flows in pipelines/ and broken fixtures in tests/data/pipelines-broken/.
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "config.h"
#include "pipeline_description.h"

using namespace callstreamd;
using Variables = std::map<std::string, std::string>;

static std::string
data_path (const char *name)
{
  g_autofree gchar *path = g_build_filename (g_getenv ("CALLSTREAM_TEST_DATA_DIR"), name,
      nullptr);
  return path;
}

static std::string
shipped_dir ()
{
  g_autofree gchar *path = g_build_filename (g_getenv ("CALLSTREAM_TEST_DATA_DIR"), "..",
      "..", "pipelines", nullptr);
  return path;
}

static Variables
default_variables ()
{
  Config config;
  g_assert_true (Config::load ({}, config, nullptr));
  return config.template_variables ();
}

static PipelineDescription
parse_ok (const std::string &json)
{
  PipelineDescription description;
  std::string error;
  const bool ok = parse_pipeline_description (json, "test.json", description, &error);
  if (!ok)
    g_test_message ("unexpected error: %s", error.c_str ());
  g_assert_true (ok);
  return description;
}

static std::string
parse_error (const std::string &json)
{
  PipelineDescription description;
  std::string error;
  g_assert_false (parse_pipeline_description (json, "test.json", description, &error));
  return error;
}

static PipelineDescription
read_fixture (const std::string &path, bool &parsed, std::string &error)
{
  g_autofree gchar *text = nullptr;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path.c_str (), &text, &length, nullptr));
  PipelineDescription description;
  parsed = parse_pipeline_description ({ text, length }, path, description, &error);
  return description;
}

static std::string
fill_ok (const PipelineDescription &description, const Variables &variables)
{
  std::string launch, error;
  const bool ok = fill_pipeline (description, variables, launch, &error);
  if (!ok)
    g_test_message ("unexpected error: %s", error.c_str ());
  g_assert_true (ok);
  return launch;
}

static void
assert_filled (const PipelineDescription &description, const Variables &variables,
    const char *expected)
{
  const std::string launch = fill_ok (description, variables);
  g_assert_cmpstr (launch.c_str (), ==, expected);
}

static const char *kMinimal = R"({"name": "t", "route": "/t", "provider": "exotel",
    "socket": "reactor", "input": "src", "launch": "exotelsrc name=src ! fakesink"})";

// kMinimal with one field replaced or added ("launch": "..." etc.).
static std::string
minimal_with (const std::string &field, const std::string &json_value)
{
  std::string json = kMinimal;
  const std::string key = "\"" + field + "\":";
  const size_t at = json.find (key);
  if (at == std::string::npos)
    return json.substr (0, json.size () - 1) + ", " + key + " " + json_value + "}";
  size_t end = json.find_first_of (",}", at);
  if (json[at + key.size () + 1] == '"')
    end = json.find ('"', at + key.size () + 2) + 1;
  return json.substr (0, at) + key + " " + json_value + json.substr (end);
}

static void
test_shipped_files_parse_and_check ()
{
  std::vector<PipelineDescription> descriptions;
  std::string error;
  const bool loaded = load_pipeline_descriptions (shipped_dir (), descriptions, &error);
  if (!loaded)
    g_test_message ("%s", error.c_str ());
  g_assert_true (loaded);
  g_assert_cmpuint (descriptions.size (), ==, 4);
  const char *names[] = { "exotel-ingest", "exotel-voicebot", "twilio-ingest", "twilio-realtime" };
  const Variables variables = default_variables ();
  for (size_t i = 0; i < descriptions.size (); i++) {
    g_assert_cmpstr (descriptions[i].name.c_str (), ==, names[i]);
    const bool checked = check_pipeline_description (descriptions[i], variables, &error);
    if (!checked)
      g_test_message ("%s", error.c_str ());
    g_assert_true (checked);
  }
  g_assert_cmpstr (descriptions[0].route.c_str (), ==, "/v1/ingest");
  g_assert_true (descriptions[0].socket == SocketMode::kReactor);
  g_assert_cmpstr (descriptions[1].route.c_str (), ==, "/v1/voicebot");
  g_assert_true (descriptions[1].socket == SocketMode::kShared);
  g_assert_cmpstr (descriptions[2].route.c_str (), ==, "/media-stream/ingest");
  g_assert_true (descriptions[2].provider == Provider::kTwilio);
  g_assert_cmpstr (descriptions[3].route.c_str (), ==, "/media-stream");
  g_assert_cmpuint (descriptions[3].connection.size (), ==, 2);
}

static void
test_parse_reads_every_field ()
{
  const PipelineDescription d = parse_ok (R"({
      "$schema": "../schemas/pipeline.schema.json",
      "name": "bot-1", "description": "A bot", "route": "/v1/bot", "provider": "twilio",
      "enabled_when": "SUPPORT_BOT", "socket": "shared", "connection": ["src", "sink"],
      "launch": "twiliosrc name=src ! twiliosink name=sink",
      "defaults": {"A_B": "1"},
      "branches": [{"name": "dump", "when": "AUDIO_DUMP_ENABLED", "launch": "t. ! fakesink"}]})");
  g_assert_cmpstr (d.file.c_str (), ==, "test.json");
  g_assert_cmpstr (d.name.c_str (), ==, "bot-1");
  g_assert_cmpstr (d.description.c_str (), ==, "A bot");
  g_assert_cmpstr (d.route.c_str (), ==, "/v1/bot");
  g_assert_true (d.provider == Provider::kTwilio);
  g_assert_cmpstr (provider_name (d.provider), ==, "twilio");
  g_assert_cmpstr (d.enabled_when.c_str (), ==, "SUPPORT_BOT");
  g_assert_true (d.socket == SocketMode::kShared);
  g_assert_cmpstr (socket_mode_name (d.socket), ==, "shared");
  g_assert_cmpuint (d.connection.size (), ==, 2);
  g_assert_cmpstr (d.connection[1].c_str (), ==, "sink");
  g_assert_cmpstr (d.input.c_str (), ==, "");
  g_assert_cmpstr (d.defaults.at ("A_B").c_str (), ==, "1");
  g_assert_cmpuint (d.branches.size (), ==, 1);
  g_assert_cmpstr (d.branches[0].name.c_str (), ==, "dump");
  g_assert_cmpstr (d.branches[0].when.c_str (), ==, "AUDIO_DUMP_ENABLED");
  g_assert_cmpstr (d.branches[0].launch.c_str (), ==, "t. ! fakesink");
}

static void
test_bad_fields_name_the_field ()
{
  const struct {
    std::string json;
    const char *error;
  } cases[] = {
    { "[1]", "test.json: json: expected an object, found an array" },
    { minimal_with ("name", "\"Bad_Name\""),
      "test.json: name: \"Bad_Name\" is not a name ([a-z0-9-]+)" },
    { minimal_with ("route", "\"v1/ingest\""),
      "test.json: route: \"v1/ingest\" is not a URL path (starts with '/', no query, no blanks)" },
    { minimal_with ("provider", "\"vonage\""),
      "test.json: provider: \"vonage\" is not one of exotel, twilio" },
    { minimal_with ("socket", "\"epoll\""),
      "test.json: socket: \"epoll\" is not one of reactor, shared" },
    { minimal_with ("socket", "7"), "test.json: socket: expected a string, found a number" },
    { minimal_with ("lauch", "\"x\""), "test.json: lauch: unknown field" },
    { minimal_with ("connection", "[\"src\"]"),
      "test.json: connection: only for socket \"shared\"" },
    { minimal_with ("socket", "\"shared\""),
      "test.json: connection: missing: socket \"shared\" needs the elements that get the "
      "connection" },
    { minimal_with ("enabled_when", "\"support_exotel\""),
      "test.json: enabled_when: \"support_exotel\" is not a variable name ([A-Z][A-Z0-9_]*)" },
    { minimal_with ("defaults", "{\"X\": 1}"),
      "test.json: defaults.X: expected a string, found a number" },
    { minimal_with ("launch", "\"fakesrc ! filesink location=$HOME\""),
      "test.json: launch: a '$' at offset 28 starts no ${NAME} placeholder (write $$ for a "
      "literal '$')" },
    { minimal_with ("branches", "[{\"name\": \"a\", \"when\": \"X\", \"launch\": \"t. ! fakesink\"}, "
                                "{\"name\": \"b\", \"when\": \"x\", \"launch\": \"t. ! fakesink\"}]"),
      "test.json: branches[1].when: \"x\" is not a variable name ([A-Z][A-Z0-9_]*)" },
    { minimal_with ("branches", "[{\"name\": \"a\", \"when\": \"X\"}]"),
      "test.json: branches[0].launch: missing (a string is required)" },
    { minimal_with ("branches", "[{\"name\": \"a\", \"when\": \"X\", \"launch\": \"${x}\"}]"),
      "test.json: branches[0].launch: ${x}: placeholder names are [A-Z][A-Z0-9_]*" },
  };
  for (const auto &c : cases) {
    const std::string error = parse_error (c.json);
    g_assert_cmpstr (error.c_str (), ==, c.error);
  }
}

static void
test_broken_files_name_file_and_field ()
{
  const struct {
    const char *file;
    const char *field;
    const char *detail;
  } cases[] = {
    { "bad-json.json", "json", "Parse error" },
    { "missing-launch.json", "launch", "missing (a string is required)" },
    { "wrong-type.json", "connection", "expected an array of element names, found a string" },
    { "unknown-placeholder.json", "branches[0].launch", "${NO_SUCH_VARIABLE}: unknown variable" },
    { "unknown-element.json", "launch", "no element \"nosuchelement\"" },
    { "unknown-property.json", "branches[0].launch", "no-such-property" },
    { "input-without-push-message.json", "input",
      "element \"sink\" (fakesink) has no push-message and end-of-stream action signals" },
    { "connection-without-property.json", "connection[1]",
      "element \"out\" (fakesink) has no session property" },
    { "connection-first-not-a-source.json", "connection[0]",
      "element \"sink\" (twiliosink) has no push-message, end-of-stream and send-message signals" },
    { "sink-that-prerolls.json", "branches[0].launch",
      "sink \"dump\" (fakesink) needs async=false" },
  };
  const Variables variables = default_variables ();
  for (const auto &c : cases) {
    const std::string path = data_path ("pipelines-broken") + "/" + c.file;
    bool parsed = false;
    std::string error;
    const PipelineDescription description = read_fixture (path, parsed, error);
    if (parsed)
      g_assert_false (check_pipeline_description (description, variables, &error));
    g_test_message ("%s", error.c_str ());
    const std::string prefix = path + ": " + c.field + ": ";
    g_assert_true (g_str_has_prefix (error.c_str (), prefix.c_str ()));
    g_assert_nonnull (strstr (error.c_str (), c.detail));
  }
}

static void
test_duplicate_route_names_both_files ()
{
  const std::string dir = data_path ("pipelines-broken") + "/duplicate-route";
  std::vector<PipelineDescription> descriptions;
  std::string error;
  g_assert_false (load_pipeline_descriptions (dir, descriptions, &error));
  const std::string expected = dir + "/b-second.json: route: \"/v1/ingest\" is also the route of "
      + dir + "/a-first.json";
  g_assert_cmpstr (error.c_str (), ==, expected.c_str ());
}

static void
test_empty_directory_is_an_error ()
{
  g_autofree gchar *dir = g_dir_make_tmp ("pipelines-XXXXXX", nullptr);
  std::vector<PipelineDescription> descriptions;
  std::string error;
  g_assert_false (load_pipeline_descriptions (dir, descriptions, &error));
  const std::string expected = std::string (dir) + ": directory: no *.json pipeline descriptions";
  g_assert_cmpstr (error.c_str (), ==, expected.c_str ());
  g_rmdir (dir);
  g_assert_false (load_pipeline_descriptions (dir, descriptions, &error));
  g_assert_true (g_str_has_prefix (error.c_str (), (std::string (dir) + ": directory: ").c_str ()));
}

static PipelineDescription
shipped (const char *name)
{
  bool parsed = false;
  std::string error;
  const PipelineDescription description = read_fixture (shipped_dir () + "/" + name, parsed,
      error);
  g_assert_true (parsed);
  return description;
}

static void
test_fill_appends_enabled_branches ()
{
  const PipelineDescription ingest = shipped ("exotel-ingest.json");
  Variables variables = default_variables ();
  variables["REDIS_URL"] = "redis://127.0.0.1:6390";
  assert_filled (ingest, variables,
      "exotelsrc name=src ! tee name=t allow-not-linked=true t. ! redisstreamsink name=redis "
      "async=false redis-url=redis://127.0.0.1:6390 stream=audio_stream index-stream=\"\"");
  variables["AUDIO_DUMP_ENABLED"] = "true";
  variables["REDIS_INDEX_STREAM"] = "calls";
  variables["AUDIO_DUMP_FORMAT"] = "flac";
  variables["REDIS_STREAM"] = "audio:{{call_sid}}";
  assert_filled (ingest, variables,
      "exotelsrc name=src ! tee name=t allow-not-linked=true t. ! redisstreamsink name=redis "
      "async=false redis-url=redis://127.0.0.1:6390 stream=\"audio:{{call_sid}}\" "
      "index-stream=calls "
      "t. ! chunkdumper name=dump async=false location=./audio-dumps format=flac chunk-duration=1000");
}

static void
test_fill_unknown_placeholder_names_it ()
{
  const PipelineDescription d = parse_ok (
      minimal_with ("launch", "\"exotelsrc name=src session=${CALL_SESSION} ! fakesink\""));
  std::string launch, error;
  g_assert_false (fill_pipeline (d, {}, launch, &error));
  g_assert_cmpstr (error.c_str (), ==, "test.json: launch: ${CALL_SESSION}: unknown variable "
                                      "(not in the configuration nor in defaults)");
  assert_filled (d, { { "CALL_SESSION", "c1" } },
      "exotelsrc name=src session=c1 ! fakesink");
}

static void
test_variables_override_defaults ()
{
  const PipelineDescription d = parse_ok (R"({"name": "t", "route": "/t", "provider": "exotel",
      "socket": "reactor", "input": "src", "defaults": {"SESSION": "d"},
      "launch": "exotelsrc name=src session=${SESSION} ! fakesink"})");
  assert_filled (d, {}, "exotelsrc name=src session=d ! fakesink");
  assert_filled (d, { { "SESSION", "v" } },
      "exotelsrc name=src session=v ! fakesink");
}

static void
test_dollar_dollar_is_a_literal_dollar ()
{
  const PipelineDescription d = parse_ok (
      minimal_with ("launch", "\"exotelsrc name=src session=a$$b ! fakesink\""));
  assert_filled (d, {}, "exotelsrc name=src session=a$b ! fakesink");
}

// Values gst_parse_launch must read back unchanged as one property value.
static void
test_filled_values_survive_gst_parse_launch ()
{
  const PipelineDescription d = parse_ok (minimal_with ("launch",
      "\"exotelsrc name=src ! realtimebridge name=bridge instructions=${REALTIME_INSTRUCTIONS} "
      "greeting=${REALTIME_GREETING} ! fakesink\""));
  const char *values[] = { "You are \"Ava\"! Be brief; say a=b.", "\"quoted\"", "\"",
    "NULL", "back\\slash\\", " leading and trailing ", "two\nlines\tand tab", "",
    "Namaste, ड्राइवर 日本", "t. ! fakesink name=evil", "${NOT_A_PLACEHOLDER} $$", "plain" };
  for (const char *value : values) {
    const std::string launch = fill_ok (d, { { "REALTIME_INSTRUCTIONS", value },
        { "REALTIME_GREETING", "after" } });
    g_autoptr (GError) error = nullptr;
    GstElement *parsed = gst_parse_launch (launch.c_str (), &error);
    g_assert_no_error (error);
    g_autoptr (GstElement) pipeline = GST_ELEMENT (gst_object_ref_sink (parsed));
    g_autoptr (GstElement) bridge = gst_bin_get_by_name (GST_BIN (pipeline), "bridge");
    g_autofree gchar *instructions = nullptr, *greeting = nullptr;
    g_object_get (bridge, "instructions", &instructions, "greeting", &greeting, nullptr);
    g_assert_cmpstr (instructions, ==, value);
    g_assert_cmpstr (greeting, ==, "after");
    g_autoptr (GstElement) evil = gst_bin_get_by_name (GST_BIN (pipeline), "evil");
    g_assert_null (evil);
  }
}

static void
test_quoted_value_inside_a_token_is_an_error ()
{
  const PipelineDescription d = parse_ok (minimal_with ("launch",
      "\"exotelsrc name=src ! chunkdumper location=${AUDIO_DUMP_DIR}/exotel\""));
  assert_filled (d, { { "AUDIO_DUMP_DIR", "/var/dumps" } },
      "exotelsrc name=src ! chunkdumper location=/var/dumps/exotel");
  std::string launch, error;
  g_assert_false (fill_pipeline (d, { { "AUDIO_DUMP_DIR", "/my dumps" } }, launch, &error));
  g_assert_cmpstr (error.c_str (), ==, "test.json: launch: ${AUDIO_DUMP_DIR}: the value "
      "\"/my dumps\" needs quotes, so the placeholder must be a whole property value "
      "(key=${AUDIO_DUMP_DIR})");
}

static void
test_branch_when_must_be_a_boolean ()
{
  const PipelineDescription ingest = shipped ("exotel-ingest.json");
  Variables variables = default_variables ();
  variables["AUDIO_DUMP_ENABLED"] = "sometimes";
  std::string launch, error;
  g_assert_false (fill_pipeline (ingest, variables, launch, &error));
  const std::string expected = ingest.file
      + ": branches[0].when: AUDIO_DUMP_ENABLED is \"sometimes\", not a boolean";
  g_assert_cmpstr (error.c_str (), ==, expected.c_str ());
}

static void
test_enabled_when_follows_its_variable ()
{
  const PipelineDescription ingest = shipped ("exotel-ingest.json");
  const PipelineDescription twilio = shipped ("twilio-ingest.json");
  Variables variables = default_variables ();
  bool enabled = true;
  g_assert_true (pipeline_enabled (ingest, variables, enabled, nullptr));
  g_assert_false (enabled);
  g_assert_true (pipeline_enabled (twilio, variables, enabled, nullptr));
  g_assert_true (enabled);
  variables["SUPPORT_EXOTEL"] = "true";
  g_assert_true (pipeline_enabled (ingest, variables, enabled, nullptr));
  g_assert_true (enabled);
  variables.erase ("SUPPORT_EXOTEL");
  std::string error;
  g_assert_false (pipeline_enabled (ingest, variables, enabled, &error));
  g_assert_true (g_str_has_suffix (error.c_str (), ": enabled_when: SUPPORT_EXOTEL: unknown variable"));
}

/* ---- an input with push-message only (no end-of-stream) ---- */

typedef struct {
  GstElement parent;
} PushOnlySrc;
typedef struct {
  GstElementClass parent_class;
} PushOnlySrcClass;

G_DEFINE_TYPE (PushOnlySrc, push_only_src, GST_TYPE_ELEMENT)

static GstStaticPadTemplate push_only_src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void
push_only_src_class_init (PushOnlySrcClass *klass)
{
  gst_element_class_add_static_pad_template (GST_ELEMENT_CLASS (klass), &push_only_src_template);
  gst_element_class_set_static_metadata (GST_ELEMENT_CLASS (klass), "push only", "Source",
      "An input with push-message and no end-of-stream", "callstream tests");
  g_signal_new ("push-message", G_TYPE_FROM_CLASS (klass),
      GSignalFlags (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), 0, nullptr, nullptr, nullptr,
      GST_TYPE_FLOW_RETURN, 0);
}

static void
push_only_src_init (PushOnlySrc *self)
{
  gst_element_add_pad (GST_ELEMENT (self),
      gst_pad_new_from_static_template (&push_only_src_template, "src"));
}

static void
test_input_without_end_of_stream_is_refused ()
{
  gst_element_register (nullptr, "pushonlysrc", GST_RANK_NONE, push_only_src_get_type ());
  const PipelineDescription d = parse_ok (minimal_with ("launch",
      "\"pushonlysrc name=src ! fakesink async=false\""));
  std::string error;
  g_assert_false (check_pipeline_description (d, default_variables (), &error));
  g_test_message ("%s", error.c_str ());
  g_assert_nonnull (strstr (error.c_str (), "test.json: input: element \"src\" (pushonlysrc) "
      "has no push-message and end-of-stream action signals"));
}

/* ---- elide_single_branch_tees ---- */

struct Parsed {
  GstElement *pipeline;
  explicit Parsed (const std::string &line)
  {
    g_autoptr (GError) error = nullptr;
    pipeline = gst_parse_launch (line.c_str (), &error);
    g_assert_no_error (error);
    gst_object_ref_sink (pipeline);
  }
  ~Parsed () { gst_element_set_state (pipeline, GST_STATE_NULL); gst_object_unref (pipeline); }
  bool has (const char *name) const
  {
    g_autoptr (GstElement) element = gst_bin_get_by_name (GST_BIN (pipeline), name);
    return element != nullptr;
  }
  unsigned elide () const { return elide_single_branch_tees (GST_BIN (pipeline)); }
};

static void
count_handoff (GstElement *, GstBuffer *, GstPad *, gpointer data)
{
  (*static_cast<int *> (data))++;
}

static void
test_single_branch_tee_before_a_sink_is_taken_out ()
{
  Parsed p ("fakesrc name=a num-buffers=5 ! tee name=t allow-not-linked=true "
            "t. ! fakesink name=s async=false signal-handoffs=true");
  g_assert_cmpuint (p.elide (), ==, 1);
  g_assert_false (p.has ("t"));
  g_autoptr (GstElement) a = gst_bin_get_by_name (GST_BIN (p.pipeline), "a");
  g_autoptr (GstElement) s = gst_bin_get_by_name (GST_BIN (p.pipeline), "s");
  g_autoptr (GstPad) src = gst_element_get_static_pad (a, "src");
  g_autoptr (GstPad) peer = gst_pad_get_peer (src);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (s, "sink");
  g_assert_true (peer == sink);
  // And the buffers still flow, to the end.
  int handoffs = 0;
  g_signal_connect (s, "handoff", G_CALLBACK (count_handoff), &handoffs);
  g_assert_cmpint (gst_element_set_state (p.pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_autoptr (GstBus) bus = gst_element_get_bus (p.pipeline);
  g_autoptr (GstMessage) message = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GstMessageType (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_EOS);
  g_assert_cmpint (handoffs, ==, 5);
}

static void
test_tees_that_do_something_stay ()
{
  const char *lines[] = {
    // two branches
    "fakesrc ! tee name=t t. ! fakesink async=false t. ! fakesink async=false",
    // a branch that does not start with a sink: it could answer NOT_LINKED
    "fakesrc ! tee name=t allow-not-linked=true t. ! identity ! fakesink async=false",
    // no branch at all
    "fakesrc ! tee name=t allow-not-linked=true",
  };
  for (const char *line : lines) {
    g_test_message ("%s", line);
    Parsed p (line);
    g_assert_cmpuint (p.elide (), ==, 0);
    g_assert_true (p.has ("t"));
  }
}

static void
test_shipped_flows_lose_the_tee_only_when_it_has_one_branch ()
{
  const struct {
    const char *file;
    bool dumps;
    unsigned elided;
  } cases[] = {
    { "exotel-ingest.json", false, 1 },
    { "exotel-ingest.json", true, 0 },
    { "twilio-ingest.json", false, 1 },
    { "twilio-ingest.json", true, 0 },
    { "twilio-realtime.json", false, 0 },  // the bridge and Redis
    { "exotel-voicebot.json", false, 0 },
  };
  for (const auto &c : cases) {
    g_test_message ("%s, dumps %s", c.file, c.dumps ? "on" : "off");
    Variables variables = default_variables ();
    variables["REDIS_URL"] = "redis://127.0.0.1:6390";
    variables["AUDIO_DUMP_ENABLED"] = c.dumps ? "true" : "false";
    std::string launch, error;
    g_assert_true (fill_pipeline (shipped (c.file), variables, launch, &error));
    Parsed p (launch);
    g_assert_cmpuint (p.elide (), ==, c.elided);
    g_assert_true (p.has ("t") == (c.elided == 0));
    g_assert_true (p.has ("redis"));
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/pipeline-description/shipped-files-parse-and-check",
      test_shipped_files_parse_and_check);
  g_test_add_func ("/pipeline-description/parse-reads-every-field", test_parse_reads_every_field);
  g_test_add_func ("/pipeline-description/bad-fields-name-the-field",
      test_bad_fields_name_the_field);
  g_test_add_func ("/pipeline-description/broken-files-name-file-and-field",
      test_broken_files_name_file_and_field);
  g_test_add_func ("/pipeline-description/duplicate-route-names-both-files",
      test_duplicate_route_names_both_files);
  g_test_add_func ("/pipeline-description/empty-directory-is-an-error",
      test_empty_directory_is_an_error);
  g_test_add_func ("/pipeline-description/input-without-end-of-stream-is-refused",
      test_input_without_end_of_stream_is_refused);
  g_test_add_func ("/pipeline-description/trim/single-branch-tee-before-a-sink-is-taken-out",
      test_single_branch_tee_before_a_sink_is_taken_out);
  g_test_add_func ("/pipeline-description/trim/tees-that-do-something-stay",
      test_tees_that_do_something_stay);
  g_test_add_func (
      "/pipeline-description/trim/shipped-flows-lose-the-tee-only-when-it-has-one-branch",
      test_shipped_flows_lose_the_tee_only_when_it_has_one_branch);
  g_test_add_func ("/pipeline-description/fill-appends-enabled-branches",
      test_fill_appends_enabled_branches);
  g_test_add_func ("/pipeline-description/fill-unknown-placeholder-names-it",
      test_fill_unknown_placeholder_names_it);
  g_test_add_func ("/pipeline-description/variables-override-defaults",
      test_variables_override_defaults);
  g_test_add_func ("/pipeline-description/dollar-dollar-is-a-literal-dollar",
      test_dollar_dollar_is_a_literal_dollar);
  g_test_add_func ("/pipeline-description/filled-values-survive-gst-parse-launch",
      test_filled_values_survive_gst_parse_launch);
  g_test_add_func ("/pipeline-description/quoted-value-inside-a-token-is-an-error",
      test_quoted_value_inside_a_token_is_an_error);
  g_test_add_func ("/pipeline-description/branch-when-must-be-a-boolean",
      test_branch_when_must_be_a_boolean);
  g_test_add_func ("/pipeline-description/enabled-when-follows-its-variable",
      test_enabled_when_follows_its_variable);
  return g_test_run ();
}
