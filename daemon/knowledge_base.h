// The agent-assist knowledge base (format: schemas/knowledge-base.schema.json,
// sample: kb/sample-kb.json) and the matcher that turns a final transcript
// into intents and the articles that serve them.
//
// Matching works on normalised words (lower case, letters and digits only,
// "aren't" -> "arent") and tolerates ASR errors: two words match when equal
// or within a small edit distance (1 for words of 4..6 letters, 2 from 7).
//   keyword part  K = min (1, keywords found / 2); a keyword of several words
//                 is found when each of its words is
//   phrase part   P = best over the examples of the square of the share of
//                 the example's content words (stop words left out) found
//   score         1 - (1 - K) (1 - P), in 0..1
// An intent is detected when its score reaches the KB's threshold (default
// 0.5: one keyword alone, or 71% of an example's content words).
//
// Errors read "<file>: <field>: <what>" (`intents[2].keywords[0]`).
// Threads: all pure; a CallIntentTracker belongs to one call.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace callstreamd {

struct KbIntent {
  std::string id;    // [a-z0-9-]+, unique
  std::string name;  // for people
  std::vector<std::string> examples;  // phrases a caller says
  std::vector<std::string> keywords;  // words or short phrases that alone suggest it
};

struct KbArticle {
  std::string id;  // [a-z0-9-]+, unique
  std::string title;
  std::string url;  // http(s):// or a path starting with '/'
  std::string summary;
  std::vector<std::string> intents;  // ids of the intents it serves
};

struct KnowledgeBase {
  std::string file;
  std::string name;
  double threshold = 0.5;
  std::vector<KbIntent> intents;
  std::vector<KbArticle> articles;

  const KbIntent *intent (std::string_view id) const;
  std::vector<const KbArticle *> articles_for (std::string_view intent_id) const;
};

bool parse_knowledge_base (std::string_view json, const std::string &file, KnowledgeBase &out,
    std::string *error);
bool load_knowledge_base (const std::string &path, KnowledgeBase &out, std::string *error);

// Lower-cased words of letters and digits; apostrophes dropped inside words.
std::vector<std::string> normalise_words (std::string_view text);
// Whether an ASR word stands for a KB word (equal or a near miss).
bool words_match (std::string_view heard, std::string_view expected);

struct IntentMatch {
  const KbIntent *intent = nullptr;
  double score = 0;  // 0..1
};

// Every intent's score for `text` (in KB order), reaching the threshold or not.
std::vector<IntentMatch> score_intents (const KnowledgeBase &kb, std::string_view text);
// The intents reaching the threshold, best first.
std::vector<IntentMatch> match_intents (const KnowledgeBase &kb, std::string_view text);

// One call's matcher: each intent is reported the first time it is matched,
// never again in the same call.
class CallIntentTracker {
 public:
  explicit CallIntentTracker (const KnowledgeBase &kb) : kb_ (kb) {}
  std::vector<IntentMatch> on_final (std::string_view text);
  const std::set<std::string> &surfaced () const { return surfaced_; }

 private:
  const KnowledgeBase &kb_;
  std::set<std::string> surfaced_;
};

}  // namespace callstreamd
