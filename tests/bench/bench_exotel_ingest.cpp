// Prints what one Exotel media message costs on the ingest path: the protocol
// parse alone, base64 alone, and the whole push-message path through
// exotelsrc into fakesink. Figures, not pass/fail: run with
//   meson test -C build --benchmark --verbose
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "protocol/base64.h"
#include "protocol/exotel.h"

namespace {

double
cpu_seconds ()
{
  timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::string
media_message (int sequence, size_t audio_bytes)
{
  std::string audio (audio_bytes, '\0');
  for (size_t i = 0; i < audio_bytes; i++)
    audio[i] = static_cast<char> ((i * 7 + sequence) & 0xff);
  gchar *b64 = g_base64_encode (reinterpret_cast<const guchar *> (audio.data ()),
      audio.size ());
  std::string text = "{\"event\":\"media\",\"sequence_number\":\""
      + std::to_string (sequence) + "\",\"stream_sid\":\"MZbench\",\"media\":"
      "{\"chunk\":\"" + std::to_string (sequence) + "\",\"timestamp\":\""
      + std::to_string (sequence * 20) + "\",\"payload\":\"" + b64 + "\"}}";
  g_free (b64);
  return text;
}

void
report (const char *what, size_t audio_bytes, int count, double seconds)
{
  g_print ("%-42s %5zu B audio: %8.2f us CPU per message (%d messages)\n",
      what, audio_bytes, seconds * 1e6 / count, count);
}

// Every message in @messages through @launch (an exotelsrc named src first)
// with the push-message action signal, as the daemon's reactor calls it.
void
push_through (const char *launch, const std::vector<std::string> &messages,
    size_t audio_bytes, int count)
{
  GstElement *pipeline = gst_parse_launch (launch, nullptr);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  // Live: the sink reaches PLAYING with the first buffer, so no get_state here.
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  std::vector<GBytes *> frames;
  static const char start[] = "{\"event\":\"start\",\"start\":{\"call_sid\":"
      "\"CAbench\",\"media_format\":{\"encoding\":\"raw\",\"sample_rate\":8000}}}";
  frames.push_back (g_bytes_new_static (start, sizeof start - 1));
  for (const std::string &m : messages)
    frames.push_back (g_bytes_new (m.data (), m.size ()));
  GstFlowReturn ret;
  g_signal_emit_by_name (src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, frames[0], &ret);
  const double t0 = cpu_seconds ();
  for (size_t i = 1; i < frames.size (); i++)
    g_signal_emit_by_name (src, "push-message", SOUP_WEBSOCKET_DATA_TEXT, frames[i], &ret);
  report (launch + std::strlen ("exotelsrc name=src "), audio_bytes, count,
      cpu_seconds () - t0);
  guint64 pushed = 0;
  g_object_get (src, "frames", &pushed, nullptr);
  if (pushed != static_cast<guint64> (count))
    g_printerr ("only %" G_GUINT64_FORMAT " of %d frames pushed\n", pushed, count);
  for (GBytes *b : frames)
    g_bytes_unref (b);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (pipeline);
}

void
bench (size_t audio_bytes, int count)
{
  std::vector<std::string> messages;
  for (int i = 0; i < count; i++)
    messages.push_back (media_message (i + 2, audio_bytes));

  double t0 = cpu_seconds ();
  size_t payloads = 0;
  for (const std::string &m : messages)
    payloads += std::get<callstream::exotel::Media> (
        callstream::exotel::parse_message (m)).payload.size ();
  report ("parse (simdjson fast path)", audio_bytes, count, cpu_seconds () - t0);

  t0 = cpu_seconds ();
  for (const std::string &m : messages)
    payloads += std::get<callstream::exotel::Media> (
        callstream::exotel::parse_message_with_json_glib (m)).payload.size ();
  report ("parse (json-glib only)", audio_bytes, count, cpu_seconds () - t0);

  const auto media = std::get<callstream::exotel::Media> (
      callstream::exotel::parse_message (messages[0]));
  std::vector<uint8_t> out (callstream::base64_decoded_max (media.payload.size ()));
  t0 = cpu_seconds ();
  for (int i = 0; i < count; i++)
    payloads += *callstream::base64_decode_into (media.payload, out.data ());
  report ("base64 validate + decode", audio_bytes, count, cpu_seconds () - t0);

  // The same messages through a few pipeline shapes: the element alone, and
  // with the tee the daemon's flows put in front of their branches.
  for (const char *launch : { "exotelsrc name=src ! fakesink sync=false",
           "exotelsrc name=src ! tee ! fakesink sync=false" })
    push_through (launch, messages, audio_bytes, count);
  if (payloads == 0)
    g_printerr ("nothing decoded\n");
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  bench (320, 50000);    // 20 ms PCM16 8 kHz
  bench (1600, 20000);   // 100 ms PCM16 8 kHz, Exotel's usual chunk
  return 0;
}
