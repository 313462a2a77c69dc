// Prints what one Twilio mark echo costs (Twilio returns one for every chunk
// a sink sends): the protocol parse alone, and the whole push-message path
// through twiliosrc, as the daemon's reactor pushes it. Figures, not
// pass/fail: run with
//   meson test -C build --benchmark --verbose twilio-marks
// Instructions per mark, with the push loop alone counted:
//   valgrind --tool=callgrind --toggle-collect='*push_marks*'
//       build/tests/bench-twilio-marks 2000
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "protocol/twilio.h"

namespace {

// What Twilio sends back for the sink's mark "chunk-@sequence".
std::string
mark_message (int sequence)
{
  return "{\"event\":\"mark\",\"sequenceNumber\":\"" + std::to_string (sequence)
      + "\",\"streamSid\":\"MZ18ad3ab5a668481ce02b83e7395059f0\",\"mark\":"
      "{\"name\":\"chunk-" + std::to_string (sequence) + "\"}}";
}

// Since @start, a clock () reading: the process's CPU time.
void
report (const char *what, int count, std::clock_t start)
{
  const double seconds = double (std::clock () - start) / CLOCKS_PER_SEC;
  g_print ("%-44s %8.2f us CPU per mark (%d marks)\n", what, seconds * 1e6 / count, count);
}

// Not inlined: callgrind counts this function alone (--toggle-collect).
G_GNUC_NO_INLINE void
push_marks (GstElement *src, const std::vector<GBytes *> &frames)
{
  GstFlowReturn ret;
  for (GBytes *frame : frames)
    g_signal_emit_by_name (src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, frame, &ret);
}

void
push_through (const std::vector<std::string> &messages)
{
  GstElement *pipeline = gst_parse_launch (
      "twiliosrc name=src session=bench-marks ! fakesink sync=false", nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  static const char start[] = "{\"event\":\"start\",\"sequenceNumber\":\"1\","
      "\"streamSid\":\"MZ18ad3ab5a668481ce02b83e7395059f0\",\"start\":{\"callSid\":"
      "\"CAbench\",\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,"
      "\"channels\":1}}}";
  g_autoptr (GBytes) start_frame = g_bytes_new_static (start, sizeof start - 1);
  GstFlowReturn ret;
  g_signal_emit_by_name (src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, start_frame, &ret);
  std::vector<GBytes *> frames;
  for (const std::string &m : messages)
    frames.push_back (g_bytes_new (m.data (), m.size ()));
  const std::clock_t pushing = std::clock ();
  push_marks (src, frames);
  report ("push-message into twiliosrc ! fakesink", frames.size (), pushing);
  guint64 malformed = 0;
  g_object_get (src, "malformed", &malformed, nullptr);
  if (malformed != 0)
    g_printerr ("%" G_GUINT64_FORMAT " marks read as malformed\n", malformed);
  for (GBytes *b : frames)
    g_bytes_unref (b);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (pipeline);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const int count = argc > 1 ? std::atoi (argv[1]) : 50000;
  std::vector<std::string> messages;
  for (int i = 0; i < count; i++)
    messages.push_back (mark_message (i + 2));

  size_t names = 0;
  std::clock_t start = std::clock ();
  for (const std::string &m : messages)
    names += std::get<callstream::twilio::Mark> (
        callstream::twilio::parse_message (m)).name.size ();
  report ("parse_message", count, start);
  start = std::clock ();
  for (const std::string &m : messages)
    names += std::get<callstream::twilio::Mark> (
        callstream::twilio::parse_message_with_json_glib (m)).name.size ();
  report ("parse_message_with_json_glib", count, start);
  if (names == 0)
    g_printerr ("no mark read\n");

  push_through (messages);
  return 0;
}
