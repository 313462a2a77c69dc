#include "knowledge_base.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cstring>

#include "json_file.h"

namespace callstreamd {

namespace {

struct Reader : JsonFileReader {
  bool id (JsonObject *object, const std::string &field, std::string &out) const
  {
    if (!text (object, "id", field, true, out))
      return false;
    if (!is_name (out))
      return fail (field, quoted (out) + " is not an id ([a-z0-9-]+)");
    return true;
  }

  // An array of non-empty strings (absent: empty).
  bool texts (JsonObject *object, const char *member, const std::string &field,
      std::vector<std::string> &out) const
  {
    JsonNode *node = json_object_get_member (object, member);
    if (node == nullptr)
      return true;
    if (!JSON_NODE_HOLDS_ARRAY (node))
      return fail (field, std::string ("expected an array of strings, found ")
          + json_kind (node));
    JsonArray *array = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      const std::string item_field = field + "[" + std::to_string (i) + "]";
      JsonNode *item = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        return fail (item_field, std::string ("expected a string, found ") + json_kind (item));
      const std::string value = json_node_get_string (item);
      if (normalise_words (value).empty ())
        return fail (item_field, quoted (value) + " has no words");
      out.push_back (value);
    }
    return true;
  }

  // The array member `member` of `root`, each item an object.
  bool objects (JsonObject *root, const char *member, JsonArray *&out) const
  {
    JsonNode *node = json_object_get_member (root, member);
    if (node == nullptr)
      return fail (member, "missing (an array of objects is required)");
    if (!JSON_NODE_HOLDS_ARRAY (node))
      return fail (member, std::string ("expected an array, found ") + json_kind (node));
    out = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (out); i++) {
      JsonNode *item = json_array_get_element (out, i);
      if (!JSON_NODE_HOLDS_OBJECT (item))
        return fail (std::string (member) + "[" + std::to_string (i) + "]",
            std::string ("expected an object, found ") + json_kind (item));
    }
    return true;
  }
};

bool
read_intents (const Reader &reader, JsonObject *root, KnowledgeBase &out)
{
  JsonArray *array = nullptr;
  if (!reader.objects (root, "intents", array))
    return false;
  if (json_array_get_length (array) == 0)
    return reader.fail ("intents", "must hold at least one intent");
  for (guint i = 0; i < json_array_get_length (array); i++) {
    const std::string prefix = "intents[" + std::to_string (i) + "]";
    JsonObject *object = json_array_get_object_element (array, i);
    KbIntent intent;
    if (!reader.only_known (object, prefix + ".", { "id", "name", "examples", "keywords" })
        || !reader.id (object, prefix + ".id", intent.id)
        || !reader.text (object, "name", prefix + ".name", true, intent.name)
        || !reader.texts (object, "examples", prefix + ".examples", intent.examples)
        || !reader.texts (object, "keywords", prefix + ".keywords", intent.keywords))
      return false;
    if (intent.examples.empty () && intent.keywords.empty ())
      return reader.fail (prefix, "needs examples or keywords (it could never match)");
    if (out.intent (intent.id) != nullptr)
      return reader.fail (prefix + ".id", quoted (intent.id) + " is also an earlier intent's id");
    out.intents.push_back (std::move (intent));
  }
  return true;
}

bool
read_articles (const Reader &reader, JsonObject *root, KnowledgeBase &out)
{
  JsonArray *array = nullptr;
  if (!reader.objects (root, "articles", array))
    return false;
  for (guint i = 0; i < json_array_get_length (array); i++) {
    const std::string prefix = "articles[" + std::to_string (i) + "]";
    JsonObject *object = json_array_get_object_element (array, i);
    KbArticle article;
    if (!reader.only_known (object, prefix + ".", { "id", "title", "url", "summary", "intents" })
        || !reader.id (object, prefix + ".id", article.id)
        || !reader.text (object, "title", prefix + ".title", true, article.title)
        || !reader.text (object, "url", prefix + ".url", true, article.url)
        || !reader.text (object, "summary", prefix + ".summary", true, article.summary))
      return false;
    if (!g_str_has_prefix (article.url.c_str (), "https://")
        && !g_str_has_prefix (article.url.c_str (), "http://") && article.url[0] != '/')
      return reader.fail (prefix + ".url", quoted (article.url)
          + " is not an http(s) URL or a path starting with '/'");
    JsonNode *intents = json_object_get_member (object, "intents");
    if (intents == nullptr)
      return reader.fail (prefix + ".intents", "missing (the ids of the intents it serves)");
    if (!reader.texts (object, "intents", prefix + ".intents", article.intents))
      return false;
    if (article.intents.empty ())
      return reader.fail (prefix + ".intents", "must name at least one intent");
    for (size_t k = 0; k < article.intents.size (); k++)
      if (out.intent (article.intents[k]) == nullptr)
        return reader.fail (prefix + ".intents[" + std::to_string (k) + "]",
            quoted (article.intents[k]) + " is not the id of an intent");
    for (const KbArticle &other : out.articles)
      if (other.id == article.id)
        return reader.fail (prefix + ".id", quoted (article.id)
            + " is also an earlier article's id");
    out.articles.push_back (std::move (article));
  }
  return true;
}

// Words that say nothing about what the caller wants.
bool
is_stop_word (std::string_view word)
{
  static const char *const stop[] = { "a", "an", "the", "i", "im", "me", "my", "mine", "we",
    "our", "you", "your", "it", "its", "is", "am", "are", "was", "were", "be", "been", "to",
    "of", "in", "on", "at", "for", "and", "or", "but", "so", "do", "does", "did", "can",
    "could", "would", "will", "want", "wanted", "like", "need", "please", "this", "that",
    "there", "have", "has", "had", "just", "with", "about", "from", "some", "what", "how",
    "hi", "hello", "yes", "no", "not", "ah", "uh", "um", "oh" };
  return std::any_of (std::begin (stop), std::end (stop),
      [word] (const char *s) { return word == s; });
}

std::vector<std::string>
content_words (std::string_view text)
{
  std::vector<std::string> words = normalise_words (text);
  std::vector<std::string> out;
  for (std::string &word : words)
    if (!is_stop_word (word))
      out.push_back (std::move (word));
  return out.empty () ? normalise_words (text) : out;
}

size_t
edit_distance (std::string_view a, std::string_view b)
{
  std::vector<size_t> row (b.size () + 1);
  for (size_t j = 0; j <= b.size (); j++)
    row[j] = j;
  for (size_t i = 1; i <= a.size (); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size (); j++) {
      const size_t above = row[j];
      row[j] = std::min ({ row[j] + 1, row[j - 1] + 1,
          diagonal + (a[i - 1] == b[j - 1] ? 0 : 1) });
      diagonal = above;
    }
  }
  return row[b.size ()];
}

bool
heard (const std::vector<std::string> &words, std::string_view expected)
{
  return std::any_of (words.begin (), words.end (),
      [expected] (const std::string &word) { return words_match (word, expected); });
}

double
score_intent (const KbIntent &intent, const std::vector<std::string> &words)
{
  size_t keywords_found = 0;
  for (const std::string &keyword : intent.keywords) {
    const std::vector<std::string> parts = normalise_words (keyword);
    if (std::all_of (parts.begin (), parts.end (),
            [&words] (const std::string &part) { return heard (words, part); }))
      keywords_found++;
  }
  const double k = std::min (1.0, keywords_found / 2.0);
  double p = 0;
  for (const std::string &example : intent.examples) {
    const std::vector<std::string> parts = content_words (example);
    const size_t found = std::count_if (parts.begin (), parts.end (),
        [&words] (const std::string &part) { return heard (words, part); });
    // Squared: half of a short example ("cancel my account" -> "account")
    // is weak evidence, most of a long one is strong.
    const double share = static_cast<double> (found) / parts.size ();
    p = std::max (p, share * share);
  }
  return 1.0 - (1.0 - k) * (1.0 - p);
}

}  // namespace

const KbIntent *
KnowledgeBase::intent (std::string_view id) const
{
  for (const KbIntent &candidate : intents)
    if (candidate.id == id)
      return &candidate;
  return nullptr;
}

std::vector<const KbArticle *>
KnowledgeBase::articles_for (std::string_view intent_id) const
{
  std::vector<const KbArticle *> out;
  for (const KbArticle &article : articles)
    if (std::find (article.intents.begin (), article.intents.end (), intent_id)
        != article.intents.end ())
      out.push_back (&article);
  return out;
}

bool
parse_knowledge_base (std::string_view json, const std::string &file, KnowledgeBase &out,
    std::string *error)
{
  out = KnowledgeBase ();
  out.file = file;
  const Reader reader { file, error };
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = reader.root_object (parser, json);
  if (root == nullptr)
    return false;
  if (!reader.only_known (root, "", { "$schema", "name", "threshold", "intents", "articles" }))
    return false;
  if (json_object_has_member (root, "name")
      && !reader.text (root, "name", "name", false, out.name))
    return false;
  if (JsonNode *threshold = json_object_get_member (root, "threshold")) {
    const GType type = JSON_NODE_HOLDS_VALUE (threshold)
        ? json_node_get_value_type (threshold) : G_TYPE_INVALID;
    if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
      return reader.fail ("threshold", std::string ("expected a number, found ")
          + json_kind (threshold));
    out.threshold = json_node_get_double (threshold);
    if (!(out.threshold > 0 && out.threshold <= 1))
      return reader.fail ("threshold", std::to_string (out.threshold)
          + " is not in (0, 1]");
  }
  return read_intents (reader, root, out) && read_articles (reader, root, out);
}

bool
load_knowledge_base (const std::string &path, KnowledgeBase &out, std::string *error)
{
  g_autofree gchar *text = nullptr;
  gsize length = 0;
  g_autoptr (GError) read_error = nullptr;
  if (!g_file_get_contents (path.c_str (), &text, &length, &read_error))
    return fail (error, path, "file", read_error->message);
  return parse_knowledge_base ({ text, length }, path, out, error);
}

std::vector<std::string>
normalise_words (std::string_view text)
{
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (g_ascii_isalnum (c)) {
      word += g_ascii_tolower (c);
    } else if (c == '\'' && !word.empty ()) {
      continue;  // "aren't" is one word
    } else if (!word.empty ()) {
      words.push_back (std::move (word));
      word.clear ();
    }
  }
  if (!word.empty ())
    words.push_back (std::move (word));
  return words;
}

bool
words_match (std::string_view heard_word, std::string_view expected)
{
  if (heard_word == expected)
    return true;
  const size_t shorter = std::min (heard_word.size (), expected.size ());
  if (shorter < 4)
    return false;
  return edit_distance (heard_word, expected) <= (shorter >= 7 ? 2u : 1u);
}

std::vector<IntentMatch>
score_intents (const KnowledgeBase &kb, std::string_view text)
{
  const std::vector<std::string> words = normalise_words (text);
  std::vector<IntentMatch> out;
  for (const KbIntent &intent : kb.intents)
    out.push_back ({ &intent, words.empty () ? 0.0 : score_intent (intent, words) });
  return out;
}

std::vector<IntentMatch>
match_intents (const KnowledgeBase &kb, std::string_view text)
{
  std::vector<IntentMatch> out;
  for (const IntentMatch &match : score_intents (kb, text))
    if (match.score >= kb.threshold)
      out.push_back (match);
  std::stable_sort (out.begin (), out.end (),
      [] (const IntentMatch &a, const IntentMatch &b) { return a.score > b.score; });
  return out;
}

std::vector<IntentMatch>
CallIntentTracker::on_final (std::string_view text)
{
  std::vector<IntentMatch> fresh;
  for (const IntentMatch &match : match_intents (kb_, text))
    if (surfaced_.insert (match.intent->id).second)
      fresh.push_back (match);
  return fresh;
}

}  // namespace callstreamd
