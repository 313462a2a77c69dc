#include "embedded_redis.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <string>
#include <vector>

namespace callstreamd {

namespace {

int
free_loopback_port ()
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4,
      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
  if (socket == nullptr)
    return 0;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  if (!g_socket_bind (socket, any, FALSE, nullptr))
    return 0;
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (socket, nullptr);
  return bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

// One PING over a fresh connection; TRUE on "+PONG".
bool
answers_ping (int port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, 1);
  g_autoptr (GSocketConnection) connection = g_socket_client_connect_to_host (client,
      "127.0.0.1", static_cast<guint16> (port), nullptr, nullptr);
  if (connection == nullptr)
    return false;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  static const char kPing[] = "PING\r\n";
  if (!g_output_stream_write_all (out, kPing, sizeof kPing - 1, nullptr, nullptr, nullptr))
    return false;
  char reply[16] = {};
  const gssize got = g_input_stream_read (in, reply, sizeof reply - 1, nullptr, nullptr);
  return got >= 5 && g_str_has_prefix (reply, "+PONG");
}

void
die_with_parent (gpointer)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

}  // namespace

EmbeddedRedis::~EmbeddedRedis ()
{
  stop ();
}

bool
EmbeddedRedis::start (std::string *error)
{
  g_autoptr (GError) local = nullptr;
  g_autofree gchar *dir = g_dir_make_tmp ("callstreamd-redis-XXXXXX", &local);
  if (dir == nullptr) {
    *error = std::string ("cannot create a directory for redis-server: ") + local->message;
    return false;
  }
  dir_ = dir;
  for (int attempt = 0; attempt < 5 && pid_ == 0; attempt++) {
    port_ = free_loopback_port ();
    const std::string port = std::to_string (port_);
    const std::string log = dir_ + "/redis.log";
    std::vector<const char *> argv = { "redis-server", "--port", port.c_str (),
      "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--daemonize", "no", "--dir", dir_.c_str (), "--logfile", log.c_str (), nullptr };
    g_clear_error (&local);
    if (!g_spawn_async (nullptr, const_cast<gchar **> (argv.data ()), nullptr,
            static_cast<GSpawnFlags> (G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL),
            die_with_parent, nullptr, &pid_, &local)) {
      *error = std::string ("cannot start redis-server (install it, or set REDIS_URL): ")
          + local->message;
      pid_ = 0;
      return false;
    }
    const gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (g_get_monotonic_time () < deadline) {
      int status = 0;
      if (waitpid (pid_, &status, WNOHANG) == pid_) {
        // Most likely the port was taken meanwhile: try another one.
        g_spawn_close_pid (pid_);
        pid_ = 0;
        break;
      }
      if (answers_ping (port_))
        return true;
      g_usleep (20 * 1000);
    }
    if (pid_ != 0) {
      stop ();
      *error = "redis-server did not answer PING within 10 s";
      return false;
    }
  }
  *error = "redis-server exited at start-up (see " + dir_ + "/redis.log)";
  return false;
}

void
EmbeddedRedis::stop ()
{
  if (pid_ != 0) {
    kill (pid_, SIGTERM);
    int status = 0;
    const gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    while (waitpid (pid_, &status, WNOHANG) == 0) {
      if (g_get_monotonic_time () > deadline) {
        kill (pid_, SIGKILL);
        waitpid (pid_, &status, 0);
        break;
      }
      g_usleep (5000);
    }
    g_spawn_close_pid (pid_);
    pid_ = 0;
  }
  if (!dir_.empty ()) {
    g_remove ((dir_ + "/redis.log").c_str ());
    g_rmdir (dir_.c_str ());
    dir_.clear ();
  }
}

std::string
EmbeddedRedis::url () const
{
  return "redis://127.0.0.1:" + std::to_string (port_);
}

}  // namespace callstreamd
