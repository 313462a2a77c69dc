// The knowledge base file and the matcher: loading the sample, every kind of
// file error (file: field: what), word normalisation, ASR-tolerant matching,
// scores, the threshold, intents surfaced once per call, articles of an intent.
#include <glib.h>

#include <string>

#include "knowledge_base.h"
#include "test_support.h"

using namespace callstreamd;

namespace {

std::string
sample_path ()
{
  return std::string (CALLSTREAM_SOURCE_ROOT) + "/kb/sample-kb.json";
}

KnowledgeBase
sample ()
{
  KnowledgeBase kb;
  std::string error;
  if (!load_knowledge_base (sample_path (), kb, &error))
    g_error ("%s", error.c_str ());
  return kb;
}

std::string
parse_error (const std::string &json)
{
  KnowledgeBase kb;
  std::string error;
  g_assert_false (parse_knowledge_base (json, "kb.json", kb, &error));
  return error;
}

const char *const kMinimal = R"({"intents":[{"id":"refund","name":"Refund","keywords":["refund"]}],
  "articles":[{"id":"a1","title":"T","url":"https://x/","summary":"S","intents":["refund"]}]})";

void
test_sample_loads ()
{
  const KnowledgeBase kb = sample ();
  g_assert_cmpuint (kb.intents.size (), >=, 6);
  g_assert_cmpuint (kb.articles.size (), >=, 6);
  for (const char *id : { "check-balance", "lost-stolen-card", "refund", "address-change",
           "cancel-account", "complaint" }) {
    g_assert_nonnull (kb.intent (id));
    g_assert_cmpuint (kb.articles_for (id).size (), >=, 1);
  }
  g_assert_cmpfloat (kb.threshold, ==, 0.5);
}

void
test_minimal_defaults ()
{
  KnowledgeBase kb;
  std::string error;
  g_assert_true (parse_knowledge_base (kMinimal, "kb.json", kb, &error));
  g_assert_cmpfloat (kb.threshold, ==, 0.5);
  assert_text (kb.intents[0].name, "Refund");
  assert_text (kb.articles[0].url, "https://x/");
}

void
test_errors ()
{
  g_assert_true (g_str_has_prefix (parse_error ("{").c_str (), "kb.json: json: line:column 1:"));
  assert_text (parse_error ("[]"), "kb.json: json: expected an object, found an array");
  assert_text (parse_error (R"({"articles":[]})"),
      "kb.json: intents: missing (an array of objects is required)");
  assert_text (parse_error (R"({"intents":[],"articles":[]})"),
      "kb.json: intents: must hold at least one intent");
  assert_text (parse_error (R"({"intents":[{"id":"A b","name":"x","keywords":["k"]}],"articles":[]})"),
      "kb.json: intents[0].id: \"A b\" is not an id ([a-z0-9-]+)");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x"}],"articles":[]})"),
      "kb.json: intents[0]: needs examples or keywords (it could never match)");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":[3]}],"articles":[]})"),
      "kb.json: intents[0].keywords[0]: expected a string, found a number");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["!!"]}],"articles":[]})"),
      "kb.json: intents[0].keywords[0]: \"!!\" has no words");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["k"]},{"id":"a","name":"y","keywords":["k"]}],"articles":[]})"),
      "kb.json: intents[1].id: \"a\" is also an earlier intent's id");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["k"],"words":[]}],"articles":[]})"),
      "kb.json: intents[0].words: unknown field");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["k"]}],"articles":[{"id":"b","title":"t","url":"https://x","summary":"s","intents":["nope"]}]})"),
      "kb.json: articles[0].intents[0]: \"nope\" is not the id of an intent");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["k"]}],"articles":[{"id":"b","title":"t","url":"ftp://x","summary":"s","intents":["a"]}]})"),
      "kb.json: articles[0].url: \"ftp://x\" is not an http(s) URL or a path starting with '/'");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["k"]}],"articles":[{"id":"b","title":"","url":"/x","summary":"s","intents":["a"]}]})"),
      "kb.json: articles[0].title: must not be empty");
  assert_text (parse_error (R"({"intents":[{"id":"a","name":"x","keywords":["k"]}],"articles":[{"id":"b","title":"t","url":"/x","summary":"s"}]})"),
      "kb.json: articles[0].intents: missing (the ids of the intents it serves)");
  assert_text (parse_error (R"({"threshold":1.5,"intents":[{"id":"a","name":"x","keywords":["k"]}],"articles":[]})"),
      "kb.json: threshold: 1.500000 is not in (0, 1]");
  assert_text (parse_error (R"({"threshold":"high","intents":[{"id":"a","name":"x","keywords":["k"]}],"articles":[]})"),
      "kb.json: threshold: expected a number, found a string");
}

void
test_missing_file ()
{
  KnowledgeBase kb;
  std::string error;
  g_assert_false (load_knowledge_base ("/nonexistent/kb.json", kb, &error));
  g_assert_true (g_str_has_prefix (error.c_str (), "/nonexistent/kb.json: file: "));
}

void
test_normalise ()
{
  const std::vector<std::string> words = normalise_words ("My CARD, it's  stolen!! 24/7");
  const std::vector<std::string> expected = { "my", "card", "its", "stolen", "24", "7" };
  g_assert_true (words == expected);
  g_assert_true (normalise_words (" ,. ").empty ());
}

void
test_words_match ()
{
  g_assert_true (words_match ("balance", "balance"));
  g_assert_true (words_match ("balanced", "balance"));  // 7+ letters: distance 2
  g_assert_true (words_match ("ballots", "balance") == false);
  g_assert_true (words_match ("refunds", "refund"));
  g_assert_true (words_match ("stolen", "stollen"));
  g_assert_false (words_match ("card", "cart") == false);  // 4 letters: distance 1
  g_assert_false (words_match ("cat", "car"));  // short words must be exact
  g_assert_false (words_match ("stolen", "spoken"));
}

void
test_scores ()
{
  const KnowledgeBase kb = sample ();
  for (const IntentMatch &match : score_intents (kb, "my credit card was stolen")) {
    g_assert_cmpfloat (match.score, >=, 0.0);
    g_assert_cmpfloat (match.score, <=, 1.0);
  }
  const auto matches = match_intents (kb, "my credit card was stolen");
  g_assert_cmpuint (matches.size (), >=, 1);
  assert_text (matches[0].intent->id, "lost-stolen-card");
  g_assert_cmpfloat (matches[0].score, ==, 1.0);  // an example, word for word
  for (const IntentMatch &match : score_intents (kb, ""))
    g_assert_cmpfloat (match.score, ==, 0.0);
}

void
test_asr_errors_tolerated ()
{
  const KnowledgeBase kb = sample ();
  // pocketsphinx on espeak: "balance" heard as "balanced", "refund" as "refunds"
  auto matches = match_intents (kb, "i want to check my account balanced");
  g_assert_cmpuint (matches.size (), >=, 1);
  assert_text (matches[0].intent->id, "check-balance");
  matches = match_intents (kb, "i need a refunds");
  g_assert_cmpuint (matches.size (), >=, 1);
  assert_text (matches[0].intent->id, "refund");
}

void
test_threshold ()
{
  const KnowledgeBase kb = sample ();
  g_assert_true (match_intents (kb, "the weather is nice today").empty ());
  g_assert_true (match_intents (kb, "ah i got you like are you").empty ());
  KnowledgeBase strict = kb;
  strict.threshold = 1.0;
  g_assert_true (match_intents (strict, "stolen").empty ());  // one keyword: 0.5 + a bit
  g_assert_false (match_intents (kb, "stolen").empty ());
}

void
test_two_intents_best_first ()
{
  const KnowledgeBase kb = sample ();
  const auto matches = match_intents (kb, "my card was stolen and I need a refund");
  g_assert_cmpuint (matches.size (), >=, 2);
  g_assert_cmpfloat (matches[0].score, >=, matches[1].score);
}

void
test_once_per_call ()
{
  const KnowledgeBase kb = sample ();
  CallIntentTracker call (kb);
  auto fresh = call.on_final ("my credit card was stolen");
  g_assert_cmpuint (fresh.size (), ==, 1);
  assert_text (fresh[0].intent->id, "lost-stolen-card");
  g_assert_true (call.on_final ("it was stolen yesterday").empty ());
  fresh = call.on_final ("I need a refund");
  g_assert_cmpuint (fresh.size (), ==, 1);
  assert_text (fresh[0].intent->id, "refund");
  CallIntentTracker other_call (kb);
  g_assert_cmpuint (other_call.on_final ("my card was stolen").size (), ==, 1);
}

void
test_articles_of_intent ()
{
  const KnowledgeBase kb = sample ();
  const auto articles = kb.articles_for ("lost-stolen-card");
  g_assert_cmpuint (articles.size (), ==, 2);
  assert_text (articles[0]->id, "kb-card-block");
  assert_text (articles[1]->id, "kb-fraud-dispute");
  g_assert_true (kb.articles_for ("no-such-intent").empty ());
}

}  // namespace

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/knowledge-base/sample-loads", test_sample_loads);
  g_test_add_func ("/knowledge-base/minimal-file-defaults", test_minimal_defaults);
  g_test_add_func ("/knowledge-base/errors-name-file-and-field", test_errors);
  g_test_add_func ("/knowledge-base/missing-file", test_missing_file);
  g_test_add_func ("/knowledge-base/normalised-words", test_normalise);
  g_test_add_func ("/knowledge-base/near-miss-words-match", test_words_match);
  g_test_add_func ("/knowledge-base/scores-in-0-1", test_scores);
  g_test_add_func ("/knowledge-base/asr-errors-tolerated", test_asr_errors_tolerated);
  g_test_add_func ("/knowledge-base/threshold", test_threshold);
  g_test_add_func ("/knowledge-base/two-intents-best-first", test_two_intents_best_first);
  g_test_add_func ("/knowledge-base/intent-surfaced-once-per-call", test_once_per_call);
  g_test_add_func ("/knowledge-base/articles-of-an-intent", test_articles_of_intent);
  return g_test_run ();
}
