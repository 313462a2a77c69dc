#include "redis_probe.h"

#include <gio/gunixsocketaddress.h>

#include <memory>
#include <variant>

#include "protocol/redis_entry.h"

namespace callstreamd {

namespace {

std::string
resp_command (std::initializer_list<std::string> args)
{
  std::string out = "*" + std::to_string (args.size ()) + "\r\n";
  for (const std::string &arg : args)
    out += "$" + std::to_string (arg.size ()) + "\r\n" + arg + "\r\n";
  return out;
}

}  // namespace

// One probe in flight: the connection, what to send, what came back.
struct RedisProbe::Attempt {
  RedisProbe *probe = nullptr;
  GCancellable *cancellable = nullptr;  // ref held
  GSocketConnection *connection = nullptr;
  std::string request;
  char reply[256] = {};
  gsize received = 0;

  ~Attempt ()
  {
    g_clear_object (&connection);
    g_clear_object (&cancellable);
  }
};

RedisProbe::RedisProbe (std::string url, guint interval_ms)
  : url_ (std::move (url)), interval_ms_ (interval_ms)
{
}

RedisProbe::~RedisProbe ()
{
  if (timer_ != 0)
    g_source_remove (timer_);
  if (cancellable_ != nullptr) {
    g_cancellable_cancel (cancellable_);
    g_object_unref (cancellable_);
  }
}

void
RedisProbe::start ()
{
  cancellable_ = g_cancellable_new ();
  probe ();
  timer_ = g_timeout_add (interval_ms_, [] (gpointer data) -> gboolean {
        static_cast<RedisProbe *> (data)->probe ();
        return G_SOURCE_CONTINUE;
      }, this);
}

void
RedisProbe::finish (bool reachable)
{
  in_flight_ = false;
  reachable_.store (reachable);
  probes_.fetch_add (1);
}

void
RedisProbe::probe ()
{
  if (in_flight_)
    return;
  const auto parsed = callstream::parse_redis_url (url_);
  if (!std::holds_alternative<callstream::RedisUrl> (parsed)) {
    finish (false);
    return;
  }
  const auto &url = std::get<callstream::RedisUrl> (parsed);
  g_autoptr (GSocketAddress) address = nullptr;
  if (url.transport == callstream::RedisUrl::Transport::kUnix) {
    address = g_unix_socket_address_new (url.socket_path.c_str ());
  } else {
    g_autoptr (GInetAddress) host = g_inet_address_new_from_string (url.host.c_str ());
    if (host == nullptr)
      host = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    address = g_inet_socket_address_new (host, static_cast<guint16> (url.port));
  }
  auto *attempt = new Attempt ();
  attempt->probe = this;
  attempt->cancellable = G_CANCELLABLE (g_object_ref (cancellable_));
  if (!url.password.empty ())
    attempt->request += url.user.empty () ? resp_command ({ "AUTH", url.password })
        : resp_command ({ "AUTH", url.user, url.password });
  attempt->request += resp_command ({ "PING" });
  in_flight_ = true;

  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, 2);
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), cancellable_,
      [] (GObject *source, GAsyncResult *result, gpointer data) {
        std::unique_ptr<Attempt> attempt (static_cast<Attempt *> (data));
        attempt->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source),
            result, nullptr);
        if (g_cancellable_is_cancelled (attempt->cancellable))
          return;
        if (attempt->connection == nullptr) {
          attempt->probe->finish (false);
          return;
        }
        GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (attempt->connection));
        // Released before the call: argument evaluation order is unspecified.
        Attempt *held = attempt.release ();
        g_output_stream_write_all_async (out, held->request.data (),
            held->request.size (), G_PRIORITY_DEFAULT, held->cancellable,
            [] (GObject *stream, GAsyncResult *result, gpointer data) {
              std::unique_ptr<Attempt> attempt (static_cast<Attempt *> (data));
              const bool sent = g_output_stream_write_all_finish (G_OUTPUT_STREAM (stream),
                  result, nullptr, nullptr);
              if (g_cancellable_is_cancelled (attempt->cancellable))
                return;
              if (!sent) {
                attempt->probe->finish (false);
                return;
              }
              GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (attempt->connection));
              Attempt *raw = attempt.release ();
              g_input_stream_read_async (in, raw->reply, sizeof raw->reply - 1,
                  G_PRIORITY_DEFAULT, raw->cancellable,
                  [] (GObject *stream, GAsyncResult *result, gpointer data) {
                    std::unique_ptr<Attempt> attempt (static_cast<Attempt *> (data));
                    const gssize got = g_input_stream_read_finish (G_INPUT_STREAM (stream),
                        result, nullptr);
                    if (g_cancellable_is_cancelled (attempt->cancellable))
                      return;
                    // Any RESP answer means a Redis is there; PONG that it serves us.
                    attempt->probe->finish (got > 0
                        && g_strstr_len (attempt->reply, got, "+PONG") != nullptr);
                  }, raw);
            }, held);
      }, attempt);
}

}  // namespace callstreamd
