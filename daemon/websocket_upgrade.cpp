#include "websocket_upgrade.h"

#include <cstring>
#include <memory>

namespace callstreamd {

namespace {

constexpr guint kUpgradeRequired = 426;  // RFC 7231 6.5.15; libsoup has no name for it

void
refuse (SoupServerMessage *msg, guint status, const char *why)
{
  // The reason phrase says why, for clients that only log the status line.
  soup_server_message_set_status (msg, status, why);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (headers, "Connection", "close");
  g_autofree gchar *body = g_strdup_printf ("%s\n", why);
  const gsize length = strlen (body);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_TAKE,
      static_cast<const char *> (g_steal_pointer (&body)), length);
}

// True when the request asks for an upgrade to "websocket" at all.
bool
asks_for_websocket (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  return soup_message_headers_header_equals (headers, "Upgrade", "websocket")
      && soup_message_headers_header_contains (headers, "Connection", "upgrade");
}

// The 426 / 405 / 400 answers; false when @msg is a valid handshake.
bool
refuse_bad_handshake (SoupServerMessage *msg, char **protocols)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET) {
    soup_message_headers_replace (response, "Allow", "GET");
    refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "WebSocket upgrade needs a GET request");
    return true;
  }
  if (!asks_for_websocket (msg)) {
    soup_message_headers_replace (response, "Upgrade", "websocket");
    refuse (msg, kUpgradeRequired,
        "WebSocket upgrade required (Upgrade: websocket, Connection: Upgrade)");
    soup_message_headers_replace (response, "Connection", "Upgrade, close");
    return true;
  }
  if (!soup_message_headers_header_equals (request, "Sec-WebSocket-Version", "13")) {
    soup_message_headers_replace (response, "Upgrade", "websocket");
    soup_message_headers_replace (response, "Sec-WebSocket-Version", "13");
    refuse (msg, kUpgradeRequired, "Unsupported Sec-WebSocket-Version, need 13");
    soup_message_headers_replace (response, "Connection", "Upgrade, close");
    return true;
  }
  g_autoptr (GError) error = nullptr;
  if (!soup_websocket_server_check_handshake (msg, nullptr, protocols, nullptr, &error)) {
    // Left: a missing or malformed key, or no acceptable subprotocol.
    refuse (msg, SOUP_STATUS_BAD_REQUEST, error->message);
    return true;
  }
  return false;
}

struct Adoption {
  AdoptedConnection adopted;
};

void
free_adoption (gpointer data, GClosure *)
{
  delete static_cast<Adoption *> (data);
}

// "wrote-informational": the 101 is written, the connection is ours.
void
on_wrote_informational (SoupServerMessage *msg, gpointer data)
{
  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  auto *adoption = static_cast<Adoption *> (data);
  // Keep the handler alive: stealing may drop the last ref of @msg, and
  // with it this closure.
  AdoptedConnection adopted = std::move (adoption->adopted);
  g_signal_handlers_disconnect_by_data (msg, data);

  [[maybe_unused]] g_autoptr (SoupServerMessage) keep =
      SOUP_SERVER_MESSAGE (g_object_ref (msg));
  g_autoptr (GSocket) socket = nullptr;
  if (GSocket *borrowed = soup_server_message_get_socket (msg))
    socket = G_SOCKET (g_object_ref (borrowed));
  g_autoptr (GSocketAddress) remote = nullptr;
  if (GSocketAddress *borrowed = soup_server_message_get_remote_address (msg))
    remote = G_SOCKET_ADDRESS (g_object_ref (borrowed));

  g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);
  if (stream == nullptr || socket == nullptr)
    return;  // the client went away: nothing to adopt, the stream closes here
  adopted (stream, socket, remote);
}

}  // namespace

bool
accept_websocket_upgrade (SoupServerMessage *msg, AdoptedConnection adopted,
    const std::vector<std::string> &protocols)
{
  GUri *uri = soup_server_message_get_uri (msg);
  if (g_strcmp0 (g_uri_get_scheme (uri), "https") == 0) {
    refuse (msg, SOUP_STATUS_NOT_IMPLEMENTED,
        "Media WebSockets are plain TCP; terminate TLS in front of callstreamd");
    return false;
  }

  std::vector<char *> protocol_list;
  for (const std::string &protocol : protocols)
    protocol_list.push_back (const_cast<char *> (protocol.c_str ()));
  protocol_list.push_back (nullptr);
  char **protocol_array = protocols.empty () ? nullptr : protocol_list.data ();

  if (refuse_bad_handshake (msg, protocol_array))
    return false;
  // No extensions: permessage-deflate would hide frames from the reactor.
  if (!soup_websocket_server_process_handshake (msg, nullptr, protocol_array, nullptr,
          nullptr))
    return false;  // cannot happen after the check; libsoup has set a 400

  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (on_wrote_informational),
      new Adoption { std::move (adopted) }, free_adoption, GConnectFlags (0));
  return true;
}

}  // namespace callstreamd
