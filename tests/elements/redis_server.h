// A real redis-server for one test: on a free loopback port (and/or a unix
// socket) in a directory of its own, stopped by its own pid and nothing else.
// Reads go through synchronous hiredis, as a consumer's would.
#pragma once

#include <glib.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace test_support {

struct RedisReplyDeleter {
  void operator() (redisReply *reply) const { freeReplyObject (reply); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

struct RedisContextDeleter {
  void operator() (redisContext *context) const { redisFree (context); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

// One entry of a stream, fields in the order they were written.
struct StreamEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;

  std::string get (const std::string &name) const
  {
    for (const auto &[field, value] : fields)
      if (field == name)
        return value;
    return "<missing " + name + ">";
  }
  bool has (const std::string &name) const
  {
    for (const auto &field : fields)
      if (field.first == name)
        return true;
    return false;
  }
};

struct RedisServerOptions {
  bool tcp = true;
  int port = 0;              // 0: any free one
  bool unix_socket = false;
  std::string password;
  // What it acknowledged survives a restart, SIGKILL included: the log is
  // written and fsynced before each reply (appendfsync always). With the
  // default everysec, Redis postpones the write while a background fsync
  // runs and answers meanwhile, so a SIGKILL then loses acknowledged
  // entries (seen once in the faults test under a loaded ASan run).
  bool append_only = false;
};

class RedisServer {
 public:
  using Options = RedisServerOptions;

  explicit RedisServer (Options options = {})
      : options_ (std::move (options)),
        port_ (!options_.tcp ? 0 : options_.port ? options_.port : free_port ())
  {
    start ();
  }
  ~RedisServer () { stop (); }
  RedisServer (const RedisServer &) = delete;
  RedisServer &operator= (const RedisServer &) = delete;

  int port () const { return port_; }
  std::string socket_path () const { return dir_ / "redis.sock"; }
  std::string url () const
  {
    return "redis://127.0.0.1:" + std::to_string (port_);
  }
  bool running () const { return pid_ != 0; }
  GPid pid () const { return pid_; }

  // A loopback port nobody listens on now.
  static int free_port ()
  {
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint (fd, >=, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    g_assert_cmpint (bind (fd, reinterpret_cast<sockaddr *> (&address),
        sizeof address), ==, 0);
    socklen_t length = sizeof address;
    getsockname (fd, reinterpret_cast<sockaddr *> (&address), &length);
    close (fd);
    return ntohs (address.sin_port);
  }

  // Starts it (again, on the same port and socket) and waits for PING.
  void start ()
  {
    g_assert_cmpint (pid_, ==, 0);
    std::vector<std::string> args = {"redis-server",
      "--port", std::to_string (port_), "--bind", "127.0.0.1",
      "--save", "", "--appendonly", options_.append_only ? "yes" : "no",
      "--appendfsync", "always",
      "--daemonize", "no", "--dir", dir_.path (),
      "--logfile", dir_ / "redis.log"};
    if (options_.unix_socket) {
      args.insert (args.end (), {"--unixsocket", socket_path (),
            "--unixsocketperm", "700"});
    }
    if (!options_.password.empty ())
      args.insert (args.end (), {"--requirepass", options_.password});
    std::vector<gchar *> argv;
    for (std::string &arg : args)
      argv.push_back (arg.data ());
    argv.push_back (nullptr);
    g_autoptr (GError) error = nullptr;
    g_spawn_async (nullptr, argv.data (), nullptr,
        static_cast<GSpawnFlags> (G_SPAWN_SEARCH_PATH
            | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
            | G_SPAWN_STDERR_TO_DEV_NULL), die_with_parent, nullptr, &pid_,
        &error);
    g_assert_no_error (error);

    const gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (g_get_monotonic_time () < deadline) {
      int status = 0;
      if (waitpid (pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        g_error ("redis-server exited: %s",
            read_file (dir_ / "redis.log").c_str ());
      }
      if (RedisContextPtr c = connect ()) {
        RedisReplyPtr pong (static_cast<redisReply *> (
                redisCommand (c.get (), "PING")));
        if (pong && pong->type == REDIS_REPLY_STATUS)
          return;
      }
      g_usleep (10000);
    }
    g_error ("redis-server did not answer PING within 10 s");
  }

  // SIGTERM to our own redis-server, and wait for it.
  void stop ()
  {
    if (pid_ == 0)
      return;
    kill (pid_, SIGTERM);
    kill (pid_, SIGCONT);  // in case a test left it paused
    const gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    int status = 0;
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

  // SIGSTOP / SIGCONT to our own redis-server: a server that stalls.
  void pause () { kill (pid_, SIGSTOP); }
  void resume () { kill (pid_, SIGCONT); }

  // A fresh authenticated connection (null when the server is not there).
  RedisContextPtr connect () const
  {
    const timeval timeout = {2, 0};
    RedisContextPtr c (options_.tcp
        ? redisConnectWithTimeout ("127.0.0.1", port_, timeout)
        : redisConnectUnixWithTimeout (socket_path ().c_str (), timeout));
    if (!c || c->err)
      return nullptr;
    redisSetTimeout (c.get (), timeout);
    if (!options_.password.empty ()) {
      RedisReplyPtr ok (static_cast<redisReply *> (redisCommand (c.get (),
                  "AUTH %s", options_.password.c_str ())));
      g_assert_true (ok && ok->type == REDIS_REPLY_STATUS);
    }
    return c;
  }

  RedisReplyPtr command (const std::vector<std::string> &args) const
  {
    RedisContextPtr c = connect ();
    g_assert_true (c != nullptr);
    return command_on (c.get (), args);
  }

  // Several commands on one connection, in order.
  void commands (const std::vector<std::vector<std::string>> &list) const
  {
    RedisContextPtr c = connect ();
    g_assert_true (c != nullptr);
    for (const auto &args : list)
      command_on (c.get (), args);
  }

  static RedisReplyPtr command_on (redisContext *c,
      const std::vector<std::string> &args)
  {
    std::vector<const char *> argv;
    std::vector<size_t> lengths;
    for (const std::string &arg : args) {
      argv.push_back (arg.data ());
      lengths.push_back (arg.size ());
    }
    RedisReplyPtr reply (static_cast<redisReply *> (redisCommandArgv (c,
                static_cast<int> (args.size ()), argv.data (),
                lengths.data ())));
    g_assert_true (reply != nullptr);
    return reply;
  }

  long long integer (const std::vector<std::string> &args) const
  {
    RedisReplyPtr reply = command (args);
    g_assert_cmpint (reply->type, ==, REDIS_REPLY_INTEGER);
    return reply->integer;
  }

  // Every entry of @key, oldest first.
  std::vector<StreamEntry> xrange (const std::string &key) const
  {
    RedisReplyPtr reply = command ({"XRANGE", key, "-", "+"});
    g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
    std::vector<StreamEntry> entries;
    for (size_t i = 0; i < reply->elements; i++) {
      const redisReply *item = reply->element[i];
      g_assert_cmpuint (item->elements, ==, 2);
      StreamEntry entry;
      entry.id.assign (item->element[0]->str, item->element[0]->len);
      const redisReply *fields = item->element[1];
      for (size_t f = 0; f + 1 < fields->elements; f += 2)
        entry.fields.emplace_back (
            std::string (fields->element[f]->str, fields->element[f]->len),
            std::string (fields->element[f + 1]->str,
                fields->element[f + 1]->len));
      entries.push_back (std::move (entry));
    }
    return entries;
  }

 private:
  // A test that crashes must not leave its server behind.
  static void die_with_parent (gpointer)
  {
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  }

  TempDir dir_;
  Options options_;
  int port_;
  GPid pid_ = 0;
};

}  // namespace test_support
