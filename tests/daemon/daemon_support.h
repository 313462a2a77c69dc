// The real callstreamd for a test: the build's binary started with its own
// environment (PORT=0: any free port, read back from its "listening" log
// line), its log kept in a file the test can search, stopped by its own pid.
// Plus a libsoup WebSocket/HTTP client driven from the test's main context.
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "test_support.h"

namespace test_support {

// Iterates the default context until @done or @seconds have passed.
inline bool
pump_until (const std::function<bool ()> &done, int seconds = 15)
{
  const gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (!done ()) {
    if (g_get_monotonic_time () > deadline)
      return false;
    if (!g_main_context_iteration (nullptr, FALSE))
      g_usleep (500);
  }
  return true;
}

// The log of the daemon in use, printed when an assertion aborts the test.
inline std::string &
current_daemon_log ()
{
  static std::string path;
  return path;
}

inline void
print_daemon_log_on_abort ()
{
  signal (SIGABRT, [] (int) {
        const std::string text = read_file (current_daemon_log ());
        const char header[] = "\n--- callstreamd log ---\n";
        if (write (STDERR_FILENO, header, sizeof header - 1) < 0
            || write (STDERR_FILENO, text.data (), text.size ()) < 0)
          _exit (134);
        signal (SIGABRT, SIG_DFL);
        abort ();
      });
}

class Daemon {
 public:
  // Starts callstreamd with @env on top of a minimal environment (PATH,
  // the GStreamer test variables) and HOST=127.0.0.1 PORT=0.
  explicit Daemon (std::map<std::string, std::string> env, std::vector<std::string> args = {})
  {
    env.emplace ("HOST", "127.0.0.1");
    env.emplace ("PORT", "0");
    env.emplace ("PIPELINES_DIR", CALLSTREAMD_SOURCE_PIPELINES_DIR);
    for (const char *inherited : { "PATH", "GST_PLUGIN_PATH_1_0", "GST_REGISTRY_1_0",
          "GST_PLUGIN_SCANNER_1_0", "GST_REGISTRY_FORK", "ASAN_OPTIONS", "UBSAN_OPTIONS",
          "LSAN_OPTIONS", "LD_LIBRARY_PATH" })
      if (const char *value = g_getenv (inherited))
        env.emplace (inherited, value);
    g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
        G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
    std::vector<std::string> entries;
    for (const auto &[key, value] : env)
      entries.push_back (key + "=" + value);
    std::vector<const gchar *> environ_list;
    for (const std::string &entry : entries)
      environ_list.push_back (entry.c_str ());
    environ_list.push_back (nullptr);
    g_subprocess_launcher_set_environ (launcher, const_cast<gchar **> (environ_list.data ()));
    log_path_ = dir_ / "callstreamd.log";
    current_daemon_log () = log_path_;
    // It dies with the test, even when an assertion aborts the test.
    g_subprocess_launcher_set_child_setup (launcher, [] (gpointer) {
          prctl (PR_SET_PDEATHSIG, SIGKILL);
        }, nullptr, nullptr);
    g_subprocess_launcher_set_stderr_file_path (launcher, log_path_.c_str ());
    std::vector<const gchar *> argv = { CALLSTREAMD_PATH };
    for (const std::string &arg : args)
      argv.push_back (arg.c_str ());
    argv.push_back (nullptr);
    g_autoptr (GError) error = nullptr;
    process_ = g_subprocess_launcher_spawnv (launcher, argv.data (), &error);
    g_assert_no_error (error);
  }

  ~Daemon ()
  {
    if (g_test_failed () || g_getenv ("CALLSTREAMD_TEST_SHOW_LOG") != nullptr)
      g_printerr ("--- callstreamd log ---\n%s--- end ---\n", log ().c_str ());
    if (process_ != nullptr && !exited_) {
      // Our own child, by its pid.
      g_subprocess_send_signal (process_, SIGKILL);
      g_subprocess_wait (process_, nullptr, nullptr);
    }
    g_clear_object (&process_);
  }

  Daemon (const Daemon &) = delete;
  Daemon &operator= (const Daemon &) = delete;

  // Waits for the "listening" line; FALSE if the daemon exited instead.
  bool wait_listening (int seconds = 20)
  {
    const bool ok = pump_until ([this] {
          const std::string text = log ();
          const size_t at = text.find (" listening ");
          if (at != std::string::npos) {
            const size_t p = text.find ("port=", at);
            port_ = std::atoi (text.c_str () + p + 5);
            return true;
          }
          return has_exited ();
        }, seconds);
    return ok && port_ != 0;
  }

  // Waits for the process to end by itself; its exit status, or -1.
  int wait_exit (int seconds = 30)
  {
    if (!pump_until ([this] { return has_exited (); }, seconds))
      return -1;
    return exit_status_;
  }

  // SIGTERM, then its exit status (-1 when it did not exit in time).
  int terminate (int seconds = 30)
  {
    g_subprocess_send_signal (process_, SIGTERM);
    return wait_exit (seconds);
  }

  bool has_exited ()
  {
    if (exited_)
      return true;
    // GSubprocess reaps the child itself (GLib's worker); the identifier
    // goes away once it has.
    if (g_subprocess_get_identifier (process_) != nullptr)
      return false;
    g_subprocess_wait (process_, nullptr, nullptr);
    exited_ = true;
    exit_status_ = g_subprocess_get_if_exited (process_)
        ? g_subprocess_get_exit_status (process_)
        : 128 + g_subprocess_get_term_sig (process_);
    return true;
  }

  // Open file descriptors of the daemon (/proc), -1 once it has exited.
  int open_fds () const
  {
    const char *id = g_subprocess_get_identifier (process_);
    if (id == nullptr)
      return -1;
    return static_cast<int> (list_dir (std::string ("/proc/") + id + "/fd").size ());
  }

  // Its process id, 0 once it has exited.
  int pid () const
  {
    const char *id = g_subprocess_get_identifier (process_);
    return id != nullptr ? std::atoi (id) : 0;
  }

  std::string log () const { return read_file (log_path_); }

  // Every thread's stack, for a daemon that hangs: gdb attached by its pid
  // (best effort: says why not when gdb is missing or cannot attach).
  std::string thread_backtraces () const
  {
    g_autofree gchar *gdb = g_find_program_in_path ("gdb");
    if (gdb == nullptr)
      return "(no gdb on PATH: no backtraces)";
    const std::string pid_text = std::to_string (pid ());
    const gchar *argv[] = { gdb, "-p", pid_text.c_str (), "-batch", "-nx",
      "-ex", "thread apply all bt 30", nullptr };
    g_autofree gchar *out = nullptr;
    g_autofree gchar *err = nullptr;
    g_autoptr (GError) error = nullptr;
    if (!g_spawn_sync (nullptr, const_cast<gchar **> (argv), nullptr, G_SPAWN_DEFAULT, nullptr,
            nullptr, &out, &err, nullptr, &error))
      return std::string ("(gdb did not run: ") + error->message + ")";
    return std::string (out != nullptr ? out : "") + (err != nullptr ? err : "");
  }
  bool log_has (const std::string &needle) const { return log ().find (needle) != std::string::npos; }
  size_t log_count (const std::string &needle) const
  {
    const std::string text = log ();
    size_t n = 0;
    for (size_t at = text.find (needle); at != std::string::npos; at = text.find (needle, at + 1))
      n++;
    return n;
  }
  int port () const { return port_; }
  std::string http (const std::string &path) const
  {
    return "http://127.0.0.1:" + std::to_string (port_) + path;
  }
  std::string ws (const std::string &path) const
  {
    return "ws://127.0.0.1:" + std::to_string (port_) + path;
  }
  const TempDir &dir () const { return dir_; }

 private:
  TempDir dir_;
  std::string log_path_;
  GSubprocess *process_ = nullptr;
  int port_ = 0;
  bool exited_ = false;
  int exit_status_ = -1;
};

struct HttpReply {
  guint status = 0;
  std::string reason;
  std::string body;
  std::map<std::string, std::string> headers;
};

// One request, synchronously (the daemon is another process).
inline HttpReply
http_request (const std::string &method, const std::string &url, const std::string &body = "",
    const std::string &content_type = "", const std::map<std::string, std::string> &headers = {})
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) msg = soup_message_new (method.c_str (), url.c_str ());
  g_assert_nonnull (msg);
  for (const auto &[name, value] : headers)
    soup_message_headers_replace (soup_message_get_request_headers (msg), name.c_str (),
        value.c_str ());
  if (!content_type.empty ()) {
    g_autoptr (GBytes) bytes = g_bytes_new (body.data (), body.size ());
    soup_message_set_request_body_from_bytes (msg, content_type.c_str (), bytes);
  }
  g_autoptr (GError) error = nullptr;
  g_autoptr (GBytes) reply = soup_session_send_and_read (session, msg, nullptr, &error);
  HttpReply out;
  if (reply == nullptr) {
    // No answer at all: status 0, the reason says why.
    out.reason = error->message;
    return out;
  }
  out.status = soup_message_get_status (msg);
  out.reason = soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "";
  gsize size = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (reply, &size));
  out.body.assign (data ? data : "", size);
  SoupMessageHeadersIter it;
  const char *name, *value;
  soup_message_headers_iter_init (&it, soup_message_get_response_headers (msg));
  while (soup_message_headers_iter_next (&it, &name, &value))
    out.headers[g_ascii_strdown (name, -1)] = value;
  return out;
}

// A WebSocket client on the test's default main context.
struct WsClient {
  SoupSession *session = soup_session_new ();
  SoupWebsocketConnection *connection = nullptr;
  GError *error = nullptr;
  guint status = 0;  // HTTP status of the handshake
  bool done = false;
  bool closed = false;
  gushort close_code = 0;
  std::vector<std::string> received;

  WsClient () { g_object_set (session, "timeout", 10, nullptr); }
  ~WsClient ()
  {
    if (connection != nullptr)
      g_signal_handlers_disconnect_by_data (connection, this);
    g_clear_object (&connection);
    g_clear_error (&error);
    g_object_unref (session);
  }
  WsClient (const WsClient &) = delete;
  WsClient &operator= (const WsClient &) = delete;

  // Starts the handshake; pump the context until `done`.
  void connect_async (const std::string &url, const std::map<std::string, std::string> &headers = {})
  {
    SoupMessage *msg = soup_message_new ("GET", url.c_str ());
    for (const auto &[name, value] : headers)
      soup_message_headers_replace (soup_message_get_request_headers (msg), name.c_str (),
          value.c_str ());
    soup_session_websocket_connect_async (session, msg, nullptr, nullptr, G_PRIORITY_DEFAULT,
        nullptr, [] (GObject *source, GAsyncResult *result, gpointer data) {
          auto *self = static_cast<WsClient *> (data);
          self->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source),
              result, &self->error);
          self->done = true;
          if (self->connection == nullptr)
            return;
          soup_websocket_connection_set_max_incoming_payload_size (self->connection, 0);
          g_signal_connect (self->connection, "message", G_CALLBACK (+[] (
                      SoupWebsocketConnection *, gint, GBytes *message, gpointer data) {
                    gsize size = 0;
                    const char *bytes = static_cast<const char *> (g_bytes_get_data (message, &size));
                    static_cast<WsClient *> (data)->received.emplace_back (bytes, size);
                  }), self);
          g_signal_connect (self->connection, "closed", G_CALLBACK (+[] (
                      SoupWebsocketConnection *c, gpointer data) {
                    auto *self = static_cast<WsClient *> (data);
                    self->closed = true;
                    self->close_code = soup_websocket_connection_get_close_code (c);
                  }), self);
        }, this);
    g_object_set_data_full (G_OBJECT (session), "msg", msg, g_object_unref);
  }

  bool connect (const std::string &url, const std::map<std::string, std::string> &headers = {})
  {
    connect_async (url, headers);
    g_assert_true (pump_until ([this] { return done; }));
    auto *msg = static_cast<SoupMessage *> (g_object_get_data (G_OBJECT (session), "msg"));
    status = soup_message_get_status (msg);
    return connection != nullptr;
  }

  void send (const std::string &text) { soup_websocket_connection_send_text (connection, text.c_str ()); }
  void close () { soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr); }
};

}  // namespace test_support
