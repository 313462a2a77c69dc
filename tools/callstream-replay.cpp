// callstream-replay: plays a captured provider call (a JSON-lines file, one
// WebSocket message per line, as samples/exotel-call.jsonl) into a media
// route of callstreamd (or any element's own server), paced like the
// provider: one message every --interval-ms (Exotel sends 100 ms chunks,
// Twilio 20 ms). It waits for the server to close the socket after the last
// message (or --linger-ms), and exits 0 when every message went out.
//
//   callstream-replay ws://127.0.0.1:8443/v1/ingest samples/exotel-call.jsonl
#include <gio/gio.h>
#include <libsoup/soup.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Replay {
  std::vector<std::string> messages;
  size_t next = 0;
  guint interval_ms = 100;
  guint linger_ms = 3000;
  SoupWebsocketConnection *connection = nullptr;
  GMainLoop *loop = nullptr;
  int status = 1;
};

gboolean
send_next (gpointer data)
{
  auto *replay = static_cast<Replay *> (data);
  if (soup_websocket_connection_get_state (replay->connection) != SOUP_WEBSOCKET_STATE_OPEN) {
    std::fprintf (stderr, "callstream-replay: the server closed the socket after %zu of %zu "
        "messages (code %u)\n", replay->next, replay->messages.size (),
        soup_websocket_connection_get_close_code (replay->connection));
    g_main_loop_quit (replay->loop);
    return G_SOURCE_REMOVE;
  }
  soup_websocket_connection_send_text (replay->connection,
      replay->messages[replay->next++].c_str ());
  if (replay->next < replay->messages.size ())
    return G_SOURCE_CONTINUE;
  std::printf ("sent %zu messages\n", replay->messages.size ());
  replay->status = 0;
  // Let the server take the last messages in, then close from our side.
  g_timeout_add (replay->linger_ms, [] (gpointer data) -> gboolean {
        auto *replay = static_cast<Replay *> (data);
        if (soup_websocket_connection_get_state (replay->connection) == SOUP_WEBSOCKET_STATE_OPEN)
          soup_websocket_connection_close (replay->connection, SOUP_WEBSOCKET_CLOSE_NORMAL,
              nullptr);
        g_main_loop_quit (replay->loop);
        return G_SOURCE_REMOVE;
      }, replay);
  return G_SOURCE_REMOVE;
}

}  // namespace

int
main (int argc, char **argv)
{
  gint interval_ms = 100, linger_ms = 3000;
  GOptionEntry entries[] = {
    { "interval-ms", 'i', 0, G_OPTION_ARG_INT, &interval_ms,
      "Milliseconds between messages (default 100; 0: as fast as possible)", "MS" },
    { "linger-ms", 0, 0, G_OPTION_ARG_INT, &linger_ms,
      "How long to keep the socket open after the last message (default 3000)", "MS" },
    { nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("URL CAPTURE.jsonl");
  g_option_context_set_summary (context,
      "Plays a captured call, one WebSocket text message per line, into URL.");
  g_option_context_add_main_entries (context, entries, nullptr);
  g_autoptr (GError) error = nullptr;
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 3
      || interval_ms < 0 || linger_ms < 0) {
    std::fprintf (stderr, "callstream-replay: %s\nusage: callstream-replay [--interval-ms MS] "
        "URL CAPTURE.jsonl\n", error ? error->message : "wrong arguments");
    return 2;
  }
  g_autofree gchar *text = nullptr;
  if (!g_file_get_contents (argv[2], &text, nullptr, &error)) {
    std::fprintf (stderr, "callstream-replay: %s\n", error->message);
    return 2;
  }
  Replay replay;
  replay.interval_ms = static_cast<guint> (interval_ms);
  replay.linger_ms = static_cast<guint> (linger_ms);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (gchar **line = lines; *line != nullptr; line++)
    if (**line != '\0')
      replay.messages.emplace_back (*line);
  if (replay.messages.empty ()) {
    std::fprintf (stderr, "callstream-replay: %s holds no messages\n", argv[2]);
    return 2;
  }

  replay.loop = g_main_loop_new (nullptr, FALSE);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", argv[1]);
  if (msg == nullptr) {
    std::fprintf (stderr, "callstream-replay: \"%s\" is not a URL\n", argv[1]);
    return 2;
  }
  soup_session_websocket_connect_async (session, msg, nullptr, nullptr, G_PRIORITY_DEFAULT,
      nullptr, [] (GObject *source, GAsyncResult *result, gpointer data) {
        auto *replay = static_cast<Replay *> (data);
        g_autoptr (GError) error = nullptr;
        replay->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source),
            result, &error);
        if (replay->connection == nullptr) {
          std::fprintf (stderr, "callstream-replay: %s\n", error->message);
          g_main_loop_quit (replay->loop);
          return;
        }
        if (replay->interval_ms == 0) {
          while (replay->next < replay->messages.size () && replay->status != 0)
            send_next (replay);
        } else {
          send_next (replay);
          if (replay->next < replay->messages.size ())
            g_timeout_add (replay->interval_ms, send_next, replay);
        }
      }, &replay);
  g_main_loop_run (replay.loop);
  g_clear_object (&replay.connection);
  g_main_loop_unref (replay.loop);
  return replay.status;
}
