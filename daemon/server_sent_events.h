// Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html)
// over libsoup 3.2: each client is a GET answered with 200 text/event-stream
// in chunked encoding that never completes. libsoup pauses the message when
// it has written every chunk; broadcast() appends one and unpauses it.
//
// - A comment line (": keep-alive") every keepalive_s keeps proxies from
//   closing an idle stream.
// - A client that leaves is dropped: libsoup's finished/disconnected
//   signals, and a watch on the socket (a client of an event stream never
//   sends anything after its request, so readable means closed).
// - A slow client's queue is bounded: once more than max_pending_bytes
//   appended are not yet written, the client is dropped (its socket shut
//   down) rather than buffering without end; an EventSource reconnects and
//   gets a fresh snapshot.
//
// Threads: the SoupServer's (main) thread only.
#pragma once

#include <libsoup/soup.h>

#include <list>
#include <memory>
#include <string>
#include <string_view>

namespace callstreamd {

class Counter;
class Gauge;

struct ServerSentEventsOptions {
  guint keepalive_s = 15;
  gsize max_pending_bytes = 1 << 20;
  guint retry_ms = 2000;  // the "retry:" the browser waits before reconnecting
};

class ServerSentEvents {
 public:
  // @clients and @events_sent (may be nullptr) are updated as clients come
  // and go and as events are written to them.
  ServerSentEvents (ServerSentEventsOptions options, Gauge *clients, Counter *events_sent);
  ~ServerSentEvents ();  // drops every client
  ServerSentEvents (const ServerSentEvents &) = delete;
  ServerSentEvents &operator= (const ServerSentEvents &) = delete;

  // Answers @msg (a GET from a SoupServer handler) with the event stream,
  // @first_event_name / @first_data written first (the snapshot).
  void add (SoupServerMessage *msg, std::string_view first_event_name,
      std::string_view first_data);
  // One event to every client.
  void broadcast (std::string_view name, std::string_view id, std::string_view data);
  size_t size () const { return clients_.size (); }

  // The wire form of one event: "event: name\nid: id\ndata: line\n...\n\n"
  // (every line of data its own data: field; no id: line when id is empty).
  static std::string format (std::string_view name, std::string_view id, std::string_view data);

 private:
  struct Client;

  void write (Client &client, const std::string &text, bool is_event);
  void drop (Client &client, const char *reason);
  void forget (Client *client);
  void keepalive ();

  ServerSentEventsOptions options_;
  Gauge *clients_gauge_;
  Counter *events_sent_;
  std::list<std::unique_ptr<Client>> clients_;
  guint keepalive_timer_ = 0;
};

}  // namespace callstreamd
