// Word error rate of the ASR worker's recogniser (pocketsphinx, en-us) on a
// small set of contact-centre sentences generated here with espeak-ng
// (120 words/min, 10 ms word gaps), taken to 8 kHz as telephony delivers
// them and resampled to 16 kHz as pocketsphinx needs (the worker's per-call
// chain); the 16 kHz figure is printed for comparison. Prints figures, no
// threshold.
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "test_support.h"

namespace {

const char *const kSentences[] = {
  "I want to check my account balance",
  "My credit card was stolen",
  "I need a refund",
  "Please change my address",
  "I want to cancel my account",
  "I want to make a complaint",
  "When is my payment due",
};

std::vector<std::string>
words (const std::string &text)
{
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (g_ascii_isalnum (c) || c == '\'') {
      word += g_ascii_tolower (c);
    } else if (!word.empty ()) {
      out.push_back (word);
      word.clear ();
    }
  }
  return out;
}

size_t
word_distance (const std::vector<std::string> &a, const std::vector<std::string> &b)
{
  std::vector<size_t> row (b.size () + 1);
  for (size_t j = 0; j <= b.size (); j++)
    row[j] = j;
  for (size_t i = 1; i <= a.size (); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size (); j++) {
      const size_t above = row[j];
      row[j] = std::min ({ row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1) });
      diagonal = above;
    }
  }
  return row[b.size ()];
}

// The final hypotheses of the file, joined.
std::string
recognise (const std::string &wav)
{
  const std::string line = "filesrc location=" + wav + " ! wavparse ! audioconvert ! "
      "audioresample ! audio/x-raw,format=S16LE,channels=1,rate=16000 ! pocketsphinx ! "
      "fakesink sync=false";
  g_autoptr (GError) error = nullptr;
  g_autoptr (GstElement) pipeline = gst_parse_launch (line.c_str (), &error);
  g_assert_no_error (error);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  std::string text;
  for (;;) {
    g_autoptr (GstMessage) message = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
        static_cast<GstMessageType> (GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    g_assert_nonnull (message);
    if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ELEMENT)
      break;
    const GstStructure *s = gst_message_get_structure (message);
    gboolean final = FALSE;
    if (gst_structure_has_name (s, "pocketsphinx")
        && gst_structure_get_boolean (s, "final", &final) && final)
      text += std::string (" ") + gst_structure_get_string (s, "hypothesis");
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return text;
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  test_support::TempDir dir;
  for (int rate : { 8000, 16000 }) {
    size_t errors = 0, total = 0;
    for (size_t i = 0; i < G_N_ELEMENTS (kSentences); i++) {
      const std::string raw = dir / "s.wav", wav = dir / ("s" + std::to_string (rate) + ".wav");
      test_support::run_program ({ "espeak-ng", "-v", "en-us", "-s", "120", "-g", "10", "-w", raw,
          kSentences[i] }, true);
      test_support::run_program ({ "sox", raw, "-r", std::to_string (rate), "-c", "1", "-b", "16",
          wav }, true);
      const std::string heard = recognise (wav);
      const size_t distance = word_distance (words (kSentences[i]), words (heard));
      errors += distance;
      total += words (kSentences[i]).size ();
      std::printf ("%5d Hz  said: %-40s heard:%s\n", rate, kSentences[i], heard.c_str ());
    }
    std::printf ("asr-wer rate=%d sentences=%zu words=%zu errors=%zu wer=%.1f%%\n", rate,
        G_N_ELEMENTS (kSentences), total, errors, 100.0 * errors / total);
  }
  return 0;
}
