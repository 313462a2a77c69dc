// For the /assist tests: entries written as the ASR worker writes them
// (the transcripts and assist streams of the issue 8 contract), and a
// server-sent events client on the test's default main context.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <string>
#include <utility>
#include <vector>

#include "daemon_support.h"
#include "redis_server.h"

namespace test_support {

using Fields = std::vector<std::pair<std::string, std::string>>;

// XADD key * fields...; the new entry's id.
inline std::string
xadd (const RedisServer &redis, const std::string &key, const Fields &fields)
{
  std::vector<std::string> args = { "XADD", key, "*" };
  for (const auto &[name, value] : fields) {
    args.push_back (name);
    args.push_back (value);
  }
  RedisReplyPtr reply = redis.command (args);
  g_assert_cmpint (reply->type, ==, REDIS_REPLY_STRING);
  return std::string (reply->str, reply->len);
}

// What the ASR worker writes (TRANSCRIPTS_STREAM=transcripts, ASSIST_STREAM=assist).
struct AssistWriter {
  const RedisServer &redis;
  std::string transcripts = "transcripts";
  std::string assist = "assist";

  std::string call_start (const std::string &id, const std::string &from = "+15550001",
      const std::string &to = "+15550002")
  {
    return xadd (redis, assist, { { "event", "call_start" }, { "interaction_id", id },
          { "stream_sid", "MZ" + id }, { "provider", "twilio" }, { "from", from }, { "to", to },
          { "started_at", std::to_string (g_get_real_time () / 1000) } });
  }
  std::string transcript (const std::string &id, int seq, const std::string &text,
      bool is_final, int start_ms = 0, int end_ms = 1000)
  {
    return xadd (redis, transcripts, { { "interaction_id", id }, { "seq", std::to_string (seq) },
          { "text", text }, { "is_final", is_final ? "true" : "false" },
          { "start_ms", std::to_string (start_ms) }, { "end_ms", std::to_string (end_ms) },
          { "confidence", "0.87" } });
  }
  std::string intent (const std::string &id, const std::string &intent_id,
      const std::string &name, int transcript_seq, const std::string &text)
  {
    return xadd (redis, assist, { { "event", "intent" }, { "interaction_id", id },
          { "intent_id", intent_id }, { "intent_name", name }, { "score", "0.75" },
          { "transcript_seq", std::to_string (transcript_seq) }, { "text", text } });
  }
  std::string article (const std::string &id, const std::string &article_id,
      const std::string &title, const std::string &url, const std::string &summary,
      const std::string &intent_id)
  {
    return xadd (redis, assist, { { "event", "article" }, { "interaction_id", id },
          { "article_id", article_id }, { "title", title }, { "url", url },
          { "summary", summary }, { "intent_id", intent_id } });
  }
  std::string call_end (const std::string &id, const std::string &recording)
  {
    return xadd (redis, assist, { { "event", "call_end" }, { "interaction_id", id },
          { "reason", "hangup" }, { "recording", recording } });
  }
};

struct SseEvent {
  std::string name, id, data;
};

// GET url as an event stream, read as it comes while the test pumps the
// default context.
class SseClient {
 public:
  explicit SseClient (const std::string &url,
      const std::vector<std::pair<std::string, std::string>> &headers = {})
  {
    msg_ = soup_message_new ("GET", url.c_str ());
    g_assert_nonnull (msg_);
    for (const auto &[name, value] : headers)
      soup_message_headers_replace (soup_message_get_request_headers (msg_), name.c_str (),
          value.c_str ());
    soup_session_send_async (session_, msg_, G_PRIORITY_DEFAULT, cancel_,
        [] (GObject *source, GAsyncResult *result, gpointer data) {
          g_autoptr (GError) error = nullptr;
          GInputStream *stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return;
          auto *self = static_cast<SseClient *> (data);
          self->answered_ = true;
          self->status_ = soup_message_get_status (self->msg_);
          if (stream == nullptr) {
            self->ended_ = true;
            return;
          }
          self->stream_ = stream;
          self->read_more ();
        }, this);
  }
  ~SseClient () { close (); g_object_unref (cancel_); g_object_unref (session_); }
  SseClient (const SseClient &) = delete;
  SseClient &operator= (const SseClient &) = delete;

  bool wait_answered () { return pump_until ([this] { return answered_; }); }
  guint status () const { return status_; }
  std::string content_type () const
  {
    const char *type = soup_message_headers_get_content_type (
        soup_message_get_response_headers (msg_), nullptr);
    return type ? type : "";
  }
  const std::vector<SseEvent> &events () const { return events_; }
  const std::string &raw () const { return raw_; }
  bool ended () const { return ended_; }

  // Waits until @count events have come; FALSE on time out or end.
  bool wait_events (size_t count, int seconds = 15)
  {
    return pump_until ([this, count] { return events_.size () >= count || ended_; }, seconds)
        && events_.size () >= count;
  }

  void close ()
  {
    g_cancellable_cancel (cancel_);
    if (stream_ != nullptr)
      g_input_stream_close (stream_, nullptr, nullptr);
    g_clear_object (&stream_);
    g_clear_object (&msg_);
  }

 private:
  void read_more ()
  {
    g_input_stream_read_async (stream_, buffer_, sizeof buffer_, G_PRIORITY_DEFAULT, cancel_,
        [] (GObject *source, GAsyncResult *result, gpointer data) {
          g_autoptr (GError) error = nullptr;
          const gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return;
          auto *self = static_cast<SseClient *> (data);
          if (n <= 0) {
            self->ended_ = true;
            return;
          }
          self->raw_.append (self->buffer_, n);
          self->parse ();
          self->read_more ();
        }, this);
  }

  void parse ()
  {
    size_t end;
    while ((end = raw_.find ("\n\n", parsed_)) != std::string::npos) {
      const std::string block = raw_.substr (parsed_, end - parsed_);
      parsed_ = end + 2;
      SseEvent event;
      bool has_data = false;
      size_t start = 0;
      while (start <= block.size ()) {
        size_t eol = block.find ('\n', start);
        if (eol == std::string::npos)
          eol = block.size ();
        const std::string line = block.substr (start, eol - start);
        start = eol + 1;
        auto value = [&line] (size_t at) {
          return line.size () > at && line[at] == ' ' ? line.substr (at + 1) : line.substr (at);
        };
        if (line.rfind ("event:", 0) == 0)
          event.name = value (6);
        else if (line.rfind ("id:", 0) == 0)
          event.id = value (3);
        else if (line.rfind ("data:", 0) == 0) {
          event.data += (has_data ? "\n" : "") + value (5);
          has_data = true;
        }
      }
      if (has_data)
        events_.push_back (std::move (event));
    }
  }

  SoupSession *session_ = soup_session_new_with_options ("timeout", 0, nullptr);
  SoupMessage *msg_ = nullptr;
  GCancellable *cancel_ = g_cancellable_new ();
  GInputStream *stream_ = nullptr;
  char buffer_[4096];
  std::string raw_;
  size_t parsed_ = 0;
  std::vector<SseEvent> events_;
  bool answered_ = false;
  bool ended_ = false;
  guint status_ = 0;
};

}  // namespace test_support
