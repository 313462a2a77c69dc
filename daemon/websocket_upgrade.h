// The WebSocket upgrade for media routes: libsoup answers the handshake, then
// hands the raw connection over (to the Reactor) instead of building a
// SoupWebsocketConnection, which costs a GSource and far more CPU per message.
//
// Call accept_websocket_upgrade() from a plain soup_server_add_handler()
// callback (not soup_server_add_websocket_handler(), whose connection cannot be
// stolen). It mirrors libsoup 3.2's own order of events (soup-server.c
// got_body / complete_websocket_upgrade): the handshake is processed in the
// handler, and the connection is stolen from the message's
// "wrote-informational" signal, i.e. once the 101 is on the wire.
//
// Bytes the client sent right behind its request (its first frames) may sit in
// libsoup's SoupFilterInputStream buffer when the connection is stolen: read the
// stream's input stream (non-blocking) until it would block before reading the
// socket's fd directly. Reactor::adopt() does that.
//
// Plain TCP only: a media socket read through its fd cannot carry TLS, so an
// https:// request is refused (TLS is terminated in front of the daemon).
// Threads: the server's GMainContext thread, like every libsoup handler.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <functional>
#include <string>
#include <vector>

namespace callstreamd {

// Gets the stolen connection: @stream (its input stream may hold buffered
// bytes, see above), the @socket under it (non-blocking) and the peer's address.
// Borrowed references: ref what you keep.
using AdoptedConnection =
    std::function<void (GIOStream *stream, GSocket *socket, GSocketAddress *remote)>;

// Validates @msg as a WebSocket upgrade (RFC 6455 4.2.1, version 13; extensions
// are ignored, never accepted) and sets the 101 response, choosing the first
// of the client's subprotocols found in @protocols (any or none if @protocols
// is empty; a client asking only for others is refused). @adopted runs once
// the 101 has been written; never if the client goes away first.
//
// Otherwise sets an error response with a reason phrase and returns false:
// 426 Upgrade Required (with "Upgrade: websocket" and, for a wrong version,
// "Sec-WebSocket-Version: 13") when the request is not an upgrade or speaks
// another version; 405 (with "Allow: GET") for another method; 400 for a bad
// key or subprotocol; 501 over TLS.
bool accept_websocket_upgrade (SoupServerMessage *msg, AdoptedConnection adopted,
    const std::vector<std::string> &protocols = {});

}  // namespace callstreamd
