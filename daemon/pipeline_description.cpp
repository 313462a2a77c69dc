#include "pipeline_description.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "config.h"
#include "json_file.h"

namespace callstreamd {

namespace {

using Variables = std::map<std::string, std::string>;

bool
is_variable_name (std::string_view text)
{
  return !text.empty () && g_ascii_isupper (text[0])
      && std::all_of (text.begin (), text.end (), [] (char c) {
           return g_ascii_isupper (c) || g_ascii_isdigit (c) || c == '_';
         });
}

// A value gst_parse_launch reads as is, wherever it stands (caps fields too).
bool
is_plain_token (std::string_view value)
{
  return !value.empty () && value != "NULL"
      && std::all_of (value.begin (), value.end (), [] (char c) {
           return g_ascii_isalnum (c) || c == '_' || c == '.' || c == ':' || c == '/'
               || c == '+' || c == '-';
         });
}

// `value` as one gst_parse_launch property value. The parser drops the outer
// quotes and backslashes; then a string starting with '"' (or "NULL") is
// read by gst_value_deserialize as a serialized string, so such a value is
// serialized first (GStreamer's own quoting: a backslash before every byte
// that is not [A-Za-z0-9_+/:.-]).
std::string
launch_quoted (std::string_view value)
{
  std::string inner;
  if (value == "NULL" || (!value.empty () && value[0] == '"')) {
    inner = "\"";
    for (char c : value) {
      if (!g_ascii_isalnum (c) && std::string_view ("_-+/:.").find (c) == std::string_view::npos)
        inner += '\\';
      inner += c;
    }
    inner += '"';
  } else {
    inner = value;
  }
  std::string out = "\"";
  for (char c : inner) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

using Lookup = std::function<const std::string *(const std::string &name)>;

// Replaces ${NAME} and $$ in `text`; on error, `what` says why.
bool
expand (std::string_view text, const Lookup &lookup, std::string &out, std::string &what)
{
  out.clear ();
  for (size_t i = 0; i < text.size (); i++) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size () && text[i + 1] == '$') {
      out += '$';
      i++;
      continue;
    }
    const size_t close = text.find ('}', i);
    if (i + 1 >= text.size () || text[i + 1] != '{' || close == std::string_view::npos) {
      what = "a '$' at offset " + std::to_string (i)
          + " starts no ${NAME} placeholder (write $$ for a literal '$')";
      return false;
    }
    const std::string name (text.substr (i + 2, close - i - 2));
    if (!is_variable_name (name)) {
      what = "${" + name + "}: placeholder names are [A-Z][A-Z0-9_]*";
      return false;
    }
    const std::string *value = lookup (name);
    if (value == nullptr) {
      what = "${" + name + "}: unknown variable (not in the configuration nor in defaults)";
      return false;
    }
    // gst_parse_launch reads a C string: a NUL (a .env value may hold one)
    // would silently cut the line there.
    if (value->find ('\0') != std::string::npos) {
      what = "${" + name + "}: the value holds a NUL byte";
      return false;
    }
    const bool whole_value = i > 0 && text[i - 1] == '='
        && (close + 1 == text.size () || g_ascii_isspace (text[close + 1]));
    if (is_plain_token (*value) || (value->empty () && !whole_value)) {
      out += *value;
    } else if (whole_value) {
      out += launch_quoted (*value);
    } else {
      what = "${" + name + "}: the value " + quoted (*value)
          + " needs quotes, so the placeholder must be a whole property value (key=${"
          + name + "})";
      return false;
    }
    i = close;
  }
  return true;
}

/* ---- JSON ----------------------------------------------------------------- */

struct JsonReader : JsonFileReader {
  bool name (JsonObject *object, const char *member, const std::string &field, bool required,
      std::string &out) const
  {
    if (!string (object, member, field, required, out))
      return false;
    if (!out.empty () && !is_name (out))
      return fail (field, quoted (out) + " is not a name ([a-z0-9-]+)");
    if (required && out.empty ())
      return fail (field, "must not be empty");
    return true;
  }

  bool variable (JsonObject *object, const char *member, const std::string &field,
      bool required, std::string &out) const
  {
    if (!string (object, member, field, required, out))
      return false;
    if ((required || !out.empty ()) && !is_variable_name (out))
      return fail (field, quoted (out) + " is not a variable name ([A-Z][A-Z0-9_]*)");
    return true;
  }

  // A launch line: required, not empty, placeholders well formed.
  bool launch (JsonObject *object, const char *member, const std::string &field,
      std::string &out) const
  {
    if (!string (object, member, field, true, out))
      return false;
    if (out.find_first_not_of (" \t\n") == std::string::npos)
      return fail (field, "must not be empty");
    static const std::string any = "x";
    std::string expanded, what;
    if (!expand (out, [] (const std::string &) { return &any; }, expanded, what))
      return fail (field, what);
    return true;
  }
};

bool
read_enums (const JsonReader &reader, JsonObject *root, PipelineDescription &out)
{
  std::string provider, socket;
  if (!reader.string (root, "provider", "provider", true, provider)
      || !reader.string (root, "socket", "socket", true, socket))
    return false;
  if (provider == "exotel")
    out.provider = Provider::kExotel;
  else if (provider == "twilio")
    out.provider = Provider::kTwilio;
  else
    return reader.fail ("provider", quoted (provider) + " is not one of exotel, twilio");
  if (socket == "reactor")
    out.socket = SocketMode::kReactor;
  else if (socket == "shared")
    out.socket = SocketMode::kShared;
  else
    return reader.fail ("socket", quoted (socket) + " is not one of reactor, shared");
  return true;
}

bool
read_connection (const JsonReader &reader, JsonObject *root, PipelineDescription &out)
{
  JsonNode *node = json_object_get_member (root, "connection");
  if (node != nullptr && !JSON_NODE_HOLDS_ARRAY (node))
    return reader.fail ("connection", std::string ("expected an array of element names, found ")
        + json_kind (node));
  JsonArray *array = node != nullptr ? json_node_get_array (node) : nullptr;
  const guint length = array != nullptr ? json_array_get_length (array) : 0;
  for (guint i = 0; i < length; i++) {
    const std::string field = "connection[" + std::to_string (i) + "]";
    JsonNode *item = json_array_get_element (array, i);
    if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
      return reader.fail (field, std::string ("expected a string, found ") + json_kind (item));
    const std::string name = json_node_get_string (item);
    if (!is_name (name))
      return reader.fail (field, quoted (name) + " is not an element name ([a-z0-9-]+)");
    out.connection.push_back (name);
  }
  return true;
}

bool
read_defaults (const JsonReader &reader, JsonObject *root, PipelineDescription &out)
{
  JsonNode *node = json_object_get_member (root, "defaults");
  if (node == nullptr)
    return true;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return reader.fail ("defaults", std::string ("expected an object, found ") + json_kind (node));
  JsonObject *defaults = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (defaults);
  for (GList *l = members; l != nullptr; l = l->next) {
    const std::string key = static_cast<const char *> (l->data);
    if (!is_variable_name (key))
      return reader.fail ("defaults." + key, "not a variable name ([A-Z][A-Z0-9_]*)");
    std::string value;
    if (!reader.string (defaults, key.c_str (), "defaults." + key, true, value))
      return false;
    out.defaults[key] = value;
  }
  return true;
}

bool
read_branches (const JsonReader &reader, JsonObject *root, PipelineDescription &out)
{
  JsonNode *node = json_object_get_member (root, "branches");
  if (node == nullptr)
    return true;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return reader.fail ("branches", std::string ("expected an array, found ") + json_kind (node));
  JsonArray *array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    const std::string path = "branches[" + std::to_string (i) + "]";
    JsonNode *item = json_array_get_element (array, i);
    if (!JSON_NODE_HOLDS_OBJECT (item))
      return reader.fail (path, std::string ("expected an object, found ") + json_kind (item));
    JsonObject *object = json_node_get_object (item);
    PipelineBranch branch;
    if (!reader.only_known (object, path + ".", { "name", "when", "launch" })
        || !reader.name (object, "name", path + ".name", true, branch.name)
        || !reader.variable (object, "when", path + ".when", true, branch.when)
        || !reader.launch (object, "launch", path + ".launch", branch.launch))
      return false;
    for (const PipelineBranch &other : out.branches)
      if (other.name == branch.name)
        return reader.fail (path + ".name", quoted (branch.name) + " is used by another branch");
    out.branches.push_back (std::move (branch));
  }
  return true;
}

bool
check_socket_fields (const JsonReader &reader, const PipelineDescription &out)
{
  if (out.socket == SocketMode::kReactor) {
    if (out.input.empty ())
      return reader.fail ("input", "missing: socket \"reactor\" needs the element that gets "
                                   "push-message");
    if (!out.connection.empty ())
      return reader.fail ("connection", "only for socket \"shared\"");
  } else {
    if (out.connection.empty ())
      return reader.fail ("connection", "missing: socket \"shared\" needs the elements that "
                                        "get the connection");
    if (!out.input.empty ())
      return reader.fail ("input", "only for socket \"reactor\"");
  }
  return true;
}

bool
read_description (const JsonReader &reader, JsonObject *root, PipelineDescription &out)
{
  if (!reader.only_known (root, "", { "$schema", "name", "description", "route", "provider",
          "enabled_when", "socket", "input", "connection", "launch", "defaults",
          "branches" }))
    return false;
  if (!reader.name (root, "name", "name", true, out.name)
      || !reader.string (root, "description", "description", false, out.description)
      || !reader.string (root, "route", "route", true, out.route)
      || !read_enums (reader, root, out)
      || !reader.variable (root, "enabled_when", "enabled_when", false, out.enabled_when)
      || !reader.name (root, "input", "input", false, out.input)
      || !read_connection (reader, root, out)
      || !reader.launch (root, "launch", "launch", out.launch)
      || !read_defaults (reader, root, out) || !read_branches (reader, root, out))
    return false;
  if (out.route.empty () || out.route[0] != '/'
      || out.route.find_first_of ("?# \t") != std::string::npos)
    return reader.fail ("route", quoted (out.route)
        + " is not a URL path (starts with '/', no query, no blanks)");
  return check_socket_fields (reader, out);
}

/* ---- filling -------------------------------------------------------------- */

Variables
effective_variables (const PipelineDescription &description, const Variables &variables)
{
  Variables merged = description.defaults;
  for (const auto &[key, value] : variables)
    merged[key] = value;
  return merged;
}

Lookup
lookup_in (const Variables &variables)
{
  return [&variables] (const std::string &name) -> const std::string * {
    const auto found = variables.find (name);
    return found != variables.end () ? &found->second : nullptr;
  };
}

// Whether the boolean variable `name` is true; `field` names it in errors.
bool
variable_is_true (const PipelineDescription &description, const Variables &variables,
    const std::string &name, const std::string &field, bool &value, std::string *error)
{
  const auto found = variables.find (name);
  if (found == variables.end ())
    return fail (error, description.file, field, name + ": unknown variable");
  const std::optional<bool> parsed = parse_boolean (found->second);
  if (!parsed)
    return fail (error, description.file, field,
        name + " is " + quoted (found->second) + ", not a boolean");
  value = *parsed;
  return true;
}

bool
expand_field (const PipelineDescription &description, const Variables &variables,
    const std::string &text, const std::string &field, std::string &out, std::string *error)
{
  std::string what;
  if (!expand (text, lookup_in (variables), out, what))
    return fail (error, description.file, field, what);
  return true;
}

/* ---- checking ------------------------------------------------------------- */

struct ElementUnref {
  void operator() (GstElement *element) const { gst_object_unref (element); }
};
using ElementPtr = std::unique_ptr<GstElement, ElementUnref>;

ElementPtr
parse_launch (const std::string &line, std::string &what)
{
  g_autoptr (GError) parse_error = nullptr;
  GstElement *element = gst_parse_launch_full (line.c_str (), nullptr,
      static_cast<GstParseFlags> (GST_PARSE_FLAG_FATAL_ERRORS | GST_PARSE_FLAG_PLACE_IN_BIN),
      &parse_error);
  if (element != nullptr)
    gst_object_ref_sink (element);
  ElementPtr pipeline (element);
  if (parse_error != nullptr || pipeline == nullptr) {
    what = parse_error != nullptr ? parse_error->message : "gst_parse_launch failed";
    return nullptr;
  }
  return pipeline;
}

std::string
factory_name (GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  return factory != nullptr ? gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (factory))
                            : G_OBJECT_TYPE_NAME (element);
}

// Without queues, a sink that prerolls (async=true) blocks the thread that
// pushes to it until the whole pipeline is PLAYING, which never happens when
// another sink behind the same tee waits for its own first buffer: the
// call's socket thread would hang. Every sink must say async=false.
bool
find_prerolling_sink (GstElement *pipeline, std::string &what)
{
  g_autoptr (GstIterator) sinks = gst_bin_iterate_sinks (GST_BIN (pipeline));
  GValue item = G_VALUE_INIT;
  bool found = false;
  while (!found && gst_iterator_next (sinks, &item) == GST_ITERATOR_OK) {
    GstElement *sink = GST_ELEMENT (g_value_get_object (&item));
    gboolean async = FALSE;
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (sink), "async") != nullptr)
      g_object_get (sink, "async", &async, nullptr);
    if (async) {
      g_autofree gchar *name = gst_element_get_name (sink);
      what = "sink " + quoted (name) + " (" + factory_name (sink)
          + ") needs async=false: without a queue, a sink that prerolls blocks the call's "
            "thread until every sink has data";
      found = true;
    }
    g_value_reset (&item);
  }
  g_value_unset (&item);
  return found;
}

// Parses `line` and checks its sinks; on error, `what` says why.
ElementPtr
parse_and_check_sinks (const std::string &line, std::string &what)
{
  ElementPtr pipeline = parse_launch (line, what);
  if (pipeline && find_prerolling_sink (pipeline.get (), what))
    return nullptr;
  return pipeline;
}

// The action signals the daemon drives a call's input with.
bool
has_input_signals (GstElement *input)
{
  for (const char *name : { "push-message", "end-of-stream" }) {
    GSignalQuery query = {};
    g_signal_query (g_signal_lookup (name, G_OBJECT_TYPE (input)), &query);
    if (query.signal_id == 0 || (query.signal_flags & G_SIGNAL_ACTION) == 0
        || query.return_type != GST_TYPE_FLOW_RETURN)
      return false;
  }
  return true;
}

bool
check_input (const PipelineDescription &description, GstElement *pipeline, std::string *error)
{
  g_autoptr (GstElement) input = gst_bin_get_by_name (GST_BIN (pipeline),
      description.input.c_str ());
  if (input == nullptr)
    return fail (error, description.file, "input",
        "no element named " + quoted (description.input) + " in launch");
  if (!has_input_signals (input))
    return fail (error, description.file, "input", "element " + quoted (description.input)
        + " (" + factory_name (input) + ") has no push-message and end-of-stream action "
        "signals: the daemon pushes the call's messages into it and ends the call through it");
  return true;
}

bool
check_connection (const PipelineDescription &description, GstElement *pipeline,
    std::string *error)
{
  for (size_t i = 0; i < description.connection.size (); i++) {
    const std::string field = "connection[" + std::to_string (i) + "]";
    const std::string &name = description.connection[i];
    g_autoptr (GstElement) element = gst_bin_get_by_name (GST_BIN (pipeline), name.c_str ());
    if (element == nullptr)
      return fail (error, description.file, field, "no element named " + quoted (name)
          + " in launch");
    GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (element),
        "session");
    if (pspec == nullptr || pspec->value_type != G_TYPE_STRING
        || (pspec->flags & G_PARAM_WRITABLE) == 0)
      return fail (error, description.file, field, "element " + quoted (name) + " ("
          + factory_name (element) + ") has no session property");
    if (i > 0)
      continue;
    // The first one reads the socket's messages and sends the others' answers.
    GSignalQuery send = {};
    g_signal_query (g_signal_lookup ("send-message", G_OBJECT_TYPE (element)), &send);
    if (!has_input_signals (element) || send.signal_id == 0
        || send.return_type != G_TYPE_BOOLEAN)
      return fail (error, description.file, field, "element " + quoted (name) + " ("
          + factory_name (element) + ") has no push-message, end-of-stream and send-message "
          "signals: the first element of connection reads the call's socket");
  }
  return true;
}

}  // namespace

const char *
socket_mode_name (SocketMode mode)
{
  return mode == SocketMode::kReactor ? "reactor" : "shared";
}

const char *
provider_name (Provider provider)
{
  return provider == Provider::kExotel ? "exotel" : "twilio";
}

bool
parse_pipeline_description (std::string_view json, const std::string &file,
    PipelineDescription &out, std::string *error)
{
  out = PipelineDescription ();
  out.file = file;
  const JsonReader reader { file, error };
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = reader.root_object (parser, json);
  return root != nullptr && read_description (reader, root, out);
}

bool
load_pipeline_descriptions (const std::string &dir, std::vector<PipelineDescription> &out,
    std::string *error)
{
  out.clear ();
  g_autoptr (GError) dir_error = nullptr;
  g_autoptr (GDir) listing = g_dir_open (dir.c_str (), 0, &dir_error);
  if (listing == nullptr)
    return fail (error, dir, "directory", dir_error->message);
  std::vector<std::string> names;
  while (const char *name = g_dir_read_name (listing))
    if (g_str_has_suffix (name, ".json"))
      names.push_back (name);
  std::sort (names.begin (), names.end ());
  if (names.empty ())
    return fail (error, dir, "directory", "no *.json pipeline descriptions");
  for (const std::string &name : names) {
    g_autofree gchar *path = g_build_filename (dir.c_str (), name.c_str (), nullptr);
    g_autofree gchar *text = nullptr;
    gsize length = 0;
    g_autoptr (GError) read_error = nullptr;
    if (!g_file_get_contents (path, &text, &length, &read_error))
      return fail (error, path, "file", read_error->message);
    PipelineDescription description;
    if (!parse_pipeline_description ({ text, length }, path, description, error))
      return false;
    for (const PipelineDescription &other : out) {
      if (other.name == description.name)
        return fail (error, path, "name", quoted (description.name) + " is also the name in "
            + other.file);
      if (other.route == description.route)
        return fail (error, path, "route", quoted (description.route)
            + " is also the route of " + other.file);
    }
    out.push_back (std::move (description));
  }
  return true;
}

bool
fill_pipeline (const PipelineDescription &description, const Variables &variables,
    std::string &launch, std::string *error)
{
  const Variables merged = effective_variables (description, variables);
  if (!expand_field (description, merged, description.launch, "launch", launch, error))
    return false;
  for (size_t i = 0; i < description.branches.size (); i++) {
    const PipelineBranch &branch = description.branches[i];
    const std::string path = "branches[" + std::to_string (i) + "]";
    bool wanted = false;
    std::string text;
    if (!variable_is_true (description, merged, branch.when, path + ".when", wanted, error))
      return false;
    if (!wanted)
      continue;
    if (!expand_field (description, merged, branch.launch, path + ".launch", text, error))
      return false;
    launch += ' ';
    launch += text;
  }
  return true;
}

bool
pipeline_enabled (const PipelineDescription &description, const Variables &variables,
    bool &enabled, std::string *error)
{
  enabled = true;
  if (description.enabled_when.empty ())
    return true;
  return variable_is_true (description, effective_variables (description, variables),
      description.enabled_when, "enabled_when", enabled, error);
}

bool
check_pipeline_description (const PipelineDescription &description,
    const Variables &variables, std::string *error)
{
  const Variables merged = effective_variables (description, variables);
  bool enabled = false;
  if (!pipeline_enabled (description, variables, enabled, error))
    return false;
  std::string launch, what;
  if (!expand_field (description, merged, description.launch, "launch", launch, error))
    return false;
  if (!parse_and_check_sinks (launch, what))
    return fail (error, description.file, "launch", what);
  // Each branch on its own over the main line, so an error names its branch.
  std::string full = launch;
  for (size_t i = 0; i < description.branches.size (); i++) {
    const PipelineBranch &branch = description.branches[i];
    const std::string path = "branches[" + std::to_string (i) + "]";
    bool wanted = false;
    std::string text;
    if (!variable_is_true (description, merged, branch.when, path + ".when", wanted, error)
        || !expand_field (description, merged, branch.launch, path + ".launch", text, error))
      return false;
    if (!parse_and_check_sinks (launch + " " + text, what))
      return fail (error, description.file, path + ".launch", what);
    full += " " + text;
  }
  ElementPtr pipeline = parse_launch (full, what);
  if (!pipeline)
    return fail (error, description.file, "branches", "together: " + what);
  if (description.socket == SocketMode::kReactor)
    return check_input (description, pipeline.get (), error);
  return check_connection (description, pipeline.get (), error);
}

/* ---- trimming ------------------------------------------------------------- */

namespace {

struct ObjectUnref {
  void operator() (gpointer object) const { gst_object_unref (object); }
};
using PadPtr = std::unique_ptr<GstPad, ObjectUnref>;

bool
is_tee (GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);
  return factory != nullptr
      && g_strcmp0 (gst_plugin_feature_get_name (GST_PLUGIN_FEATURE (factory)), "tee") == 0;
}

// The tee's only src pad, when it has exactly one.
PadPtr
only_src_pad (GstElement *tee)
{
  GST_OBJECT_LOCK (tee);
  GstPad *pad = tee->numsrcpads == 1 && tee->numsinkpads == 1
      ? GST_PAD (gst_object_ref (tee->srcpads->data)) : nullptr;
  GST_OBJECT_UNLOCK (tee);
  return PadPtr (pad);
}

bool
elide_tee (GstElement *tee)
{
  PadPtr src = only_src_pad (tee);
  if (!src)
    return false;
  PadPtr sink (gst_element_get_static_pad (tee, "sink"));
  PadPtr upstream (sink ? gst_pad_get_peer (sink.get ()) : nullptr);
  PadPtr downstream (gst_pad_get_peer (src.get ()));
  if (!upstream || !downstream)
    return false;
  g_autoptr (GstElement) next = gst_pad_get_parent_element (downstream.get ());
  g_autoptr (GstElement) previous = gst_pad_get_parent_element (upstream.get ());
  g_autoptr (GstObject) bin = gst_object_get_parent (GST_OBJECT (tee));
  // A sink never answers NOT_LINKED, so allow-not-linked has nothing to do;
  // anything else downstream might, and then the tee is kept.
  if (next == nullptr || previous == nullptr || bin == nullptr
      || !GST_OBJECT_FLAG_IS_SET (next, GST_ELEMENT_FLAG_SINK)
      || GST_OBJECT_PARENT (next) != bin || GST_OBJECT_PARENT (previous) != bin)
    return false;
  gst_pad_unlink (upstream.get (), sink.get ());
  gst_pad_unlink (src.get (), downstream.get ());
  if (GST_PAD_LINK_FAILED (gst_pad_link (upstream.get (), downstream.get ()))) {
    // The pads do not fit each other without the tee: as it was.
    gst_pad_link (upstream.get (), sink.get ());
    gst_pad_link (src.get (), downstream.get ());
    return false;
  }
  gst_bin_remove (GST_BIN (bin), tee);
  return true;
}

}  // namespace

unsigned
elide_single_branch_tees (GstBin *pipeline)
{
  // Collected first: the bin changes under an iterator.
  std::vector<GstElement *> tees;
  g_autoptr (GstIterator) elements = gst_bin_iterate_recurse (pipeline);
  GValue item = G_VALUE_INIT;
  for (;;) {
    const GstIteratorResult result = gst_iterator_next (elements, &item);
    if (result == GST_ITERATOR_RESYNC) {
      for (GstElement *tee : tees)
        gst_object_unref (tee);
      tees.clear ();
      gst_iterator_resync (elements);
      continue;
    }
    if (result != GST_ITERATOR_OK)
      break;
    auto *element = GST_ELEMENT (g_value_get_object (&item));
    if (is_tee (element))
      tees.push_back (GST_ELEMENT (gst_object_ref (element)));
    g_value_reset (&item);
  }
  g_value_unset (&item);
  unsigned elided = 0;
  for (GstElement *tee : tees) {
    if (elide_tee (tee))
      elided++;
    gst_object_unref (tee);
  }
  return elided;
}

}  // namespace callstreamd
