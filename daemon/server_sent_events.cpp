#include "server_sent_events.h"

#include "log.h"
#include "metrics.h"

namespace callstreamd {

struct ServerSentEvents::Client {
  ServerSentEvents *owner = nullptr;
  SoupServerMessage *msg = nullptr;  // ref held
  std::string remote;
  gsize appended = 0;
  gsize written = 0;
  GSource *watch = nullptr;  // ref held
  bool dropping = false;
  bool dropped_before_tick = false;
};

ServerSentEvents::ServerSentEvents (ServerSentEventsOptions options, Gauge *clients,
    Counter *events_sent)
  : options_ (options), clients_gauge_ (clients), events_sent_ (events_sent)
{
  keepalive_timer_ = g_timeout_add_seconds (options_.keepalive_s, [] (gpointer data) -> gboolean {
        static_cast<ServerSentEvents *> (data)->keepalive ();
        return G_SOURCE_CONTINUE;
      }, this);
}

ServerSentEvents::~ServerSentEvents ()
{
  g_source_remove (keepalive_timer_);
  while (!clients_.empty ()) {
    Client &client = *clients_.front ();
    if (!client.dropping) {
      // The stream ends cleanly: the last chunk, then libsoup closes it.
      soup_message_body_complete (soup_server_message_get_response_body (client.msg));
      soup_server_message_unpause (client.msg);
    }
    forget (&client);
  }
}

std::string
ServerSentEvents::format (std::string_view name, std::string_view id, std::string_view data)
{
  std::string out;
  if (!name.empty ())
    out.append ("event: ").append (name).append ("\n");
  if (!id.empty ())
    out.append ("id: ").append (id).append ("\n");
  size_t start = 0;
  for (;;) {
    const size_t end = data.find ('\n', start);
    out.append ("data: ").append (data.substr (start, end - start)).append ("\n");
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  out.append ("\n");
  return out;
}

void
ServerSentEvents::add (SoupServerMessage *msg, std::string_view first_event_name,
    std::string_view first_data)
{
  auto owned = std::make_unique<Client> ();
  Client &client = *owned;
  client.owner = this;
  client.msg = SOUP_SERVER_MESSAGE (g_object_ref (msg));
  if (const char *host = soup_server_message_get_remote_host (msg))
    client.remote = host;
  soup_server_message_set_status (msg, SOUP_STATUS_OK, nullptr);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_content_type (headers, "text/event-stream; charset=utf-8", nullptr);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Accel-Buffering", "no");  // nginx: do not buffer
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  // Written chunks are let go of, not kept for the whole life of the stream.
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (+[] (SoupServerMessage *, guint size,
              gpointer data) { static_cast<Client *> (data)->written += size; }), &client);
  auto gone = +[] (SoupServerMessage *, gpointer data) {
    auto *client = static_cast<Client *> (data);
    client->owner->forget (client);
  };
  g_signal_connect (msg, "finished", G_CALLBACK (gone), &client);
  g_signal_connect (msg, "disconnected", G_CALLBACK (gone), &client);
  if (GSocket *socket = soup_server_message_get_socket (msg)) {
    client.watch = g_socket_create_source (socket,
        static_cast<GIOCondition> (G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
    g_source_set_callback (client.watch, G_SOURCE_FUNC (+[] (GSocket *, GIOCondition,
            gpointer data) -> gboolean {
          auto *client = static_cast<Client *> (data);
          client->owner->drop (*client, "client closed the stream");
          return G_SOURCE_REMOVE;
        }), &client, nullptr);
    g_source_attach (client.watch, g_main_context_get_thread_default ());
  }
  clients_.push_back (std::move (owned));
  if (clients_gauge_ != nullptr)
    clients_gauge_->add ();
  log::info ("sse_client_connected", { { "remote", client.remote },
        { "clients", std::to_string (clients_.size ()) } });
  write (client, "retry: " + std::to_string (options_.retry_ms) + "\n\n"
      + format (first_event_name, "", first_data), true);
}

void
ServerSentEvents::broadcast (std::string_view name, std::string_view id, std::string_view data)
{
  const std::string text = format (name, id, data);
  for (auto it = clients_.begin (); it != clients_.end ();) {
    auto next = std::next (it);  // write may drop this client, never another
    if (!(*it)->dropping)
      write (**it, text, true);
    it = next;
  }
}

void
ServerSentEvents::write (Client &client, const std::string &text, bool is_event)
{
  SoupMessageBody *body = soup_server_message_get_response_body (client.msg);
  soup_message_body_append (body, SOUP_MEMORY_COPY, text.data (), text.size ());
  client.appended += text.size ();
  if (is_event && events_sent_ != nullptr)
    events_sent_->inc ();
  if (client.appended - client.written > options_.max_pending_bytes)
    drop (client, "slow client: more than the queue limit not yet written");
  else
    soup_server_message_unpause (client.msg);
}

void
ServerSentEvents::drop (Client &client, const char *reason)
{
  if (client.dropping)
    return;
  client.dropping = true;
  log::info ("sse_client_dropped", { { "remote", client.remote }, { "reason", reason },
        { "pending_bytes", std::to_string (client.appended - client.written) } });
  if (client.watch != nullptr)
    g_source_destroy (client.watch);
  // libsoup notices on its next write and finishes the message (finished).
  if (GSocket *socket = soup_server_message_get_socket (client.msg))
    g_socket_shutdown (socket, TRUE, TRUE, nullptr);
  soup_message_body_complete (soup_server_message_get_response_body (client.msg));
  soup_server_message_unpause (client.msg);
}

void
ServerSentEvents::forget (Client *client)
{
  for (auto it = clients_.begin (); it != clients_.end (); ++it) {
    if (it->get () != client)
      continue;
    g_signal_handlers_disconnect_by_data (client->msg, client);
    if (client->watch != nullptr) {
      g_source_destroy (client->watch);
      g_source_unref (client->watch);
    }
    g_object_unref (client->msg);
    if (clients_gauge_ != nullptr)
      clients_gauge_->sub ();
    clients_.erase (it);
    return;
  }
}

void
ServerSentEvents::keepalive ()
{
  for (auto it = clients_.begin (); it != clients_.end ();) {
    auto next = std::next (it);
    Client &client = **it;
    if (client.dropping && client.dropped_before_tick)
      forget (&client);  // libsoup never finished it: let go of it all the same
    else if (client.dropping)
      client.dropped_before_tick = true;
    else
      write (client, ": keep-alive\n\n", false);
    it = next;
  }
}

}  // namespace callstreamd
