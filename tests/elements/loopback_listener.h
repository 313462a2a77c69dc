// A listening TCP socket on 127.0.0.1 at a port the kernel picks, for test
// servers that accept (or deliberately never accept) by hand.
#pragma once

#include <gio/gio.h>
#include <glib.h>

namespace test_support {

// The socket (the caller owns it) and its port in @port.
inline GSocket *
listen_on_loopback (guint *port)
{
  GSocket *listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, nullptr);
  g_assert_nonnull (listener);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (listener, address, TRUE, nullptr));
  g_assert_true (g_socket_listen (listener, nullptr));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (listener, nullptr);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return listener;
}

}  // namespace test_support
