#include "server.h"

#include <json-glib/json-glib.h>

#include <cmath>
#include <cstdlib>

#include "assist_feed.h"
#include "assist_page.h"
#include "calls.h"
#include "file_response.h"
#include "records.h"
#include "redis_store.h"
#include "url_signing.h"
#include "webhooks.h"
#include "log.h"
#include "metrics.h"
#include "reactor.h"
#include "redis_probe.h"
#include "server_sent_events.h"
#include "twilio_rest.h"
#include "protocol/outbound.h"
#include "twiml.h"
#include "websocket_upgrade.h"

namespace callstreamd {

namespace {

constexpr const char *kRealtimeFlowRoute = "/media-stream";
constexpr gint kListenBacklog = 4096;
constexpr gint64 kRecordingUrlLifetimeS = 6 * 3600;
constexpr const char *kProviders[] = { "exotel", "twilio" };

void
set_text (SoupServerMessage *msg, guint status, const char *content_type,
    const std::string &body)
{
  soup_server_message_set_status (msg, status, nullptr);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY,
      body.data (), body.size ());
}

// An error answer: the status, its reason in the status line and the body.
void
refuse (SoupServerMessage *msg, guint status, const std::string &reason)
{
  soup_server_message_set_status (msg, status, reason.c_str ());
  const std::string body = reason + "\n";
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
      body.data (), body.size ());
}

std::string
remote_of (SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);
  GSocketAddress *address = soup_server_message_get_remote_address (msg);
  std::string remote = host ? host : "";
  if (address != nullptr && G_IS_INET_SOCKET_ADDRESS (address))
    remote += ":" + std::to_string (g_inet_socket_address_get_port (
            G_INET_SOCKET_ADDRESS (address)));
  return remote;
}

std::vector<std::pair<std::string, std::string>>
form_of (SoupServerMessage *msg)
{
  std::vector<std::pair<std::string, std::string>> form;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *type = soup_message_headers_get_content_type (headers, nullptr);
  if (type == nullptr || g_ascii_strcasecmp (type, "application/x-www-form-urlencoded") != 0)
    return form;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  gsize size = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (bytes, &size));
  const std::string text (data ? data : "", size);
  GHashTable *fields = soup_form_decode (text.c_str ());
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, fields);
  while (g_hash_table_iter_next (&it, &key, &value))
    form.emplace_back (static_cast<const char *> (key), static_cast<const char *> (value));
  g_hash_table_unref (fields);
  return form;
}

std::string
path_and_query (SoupServerMessage *msg)
{
  GUri *uri = soup_server_message_get_uri (msg);
  std::string out = g_uri_get_path (uri);
  if (const char *query = g_uri_get_query (uri))
    out += std::string ("?") + query;
  return out;
}

// The echo behind /test-websocket: every message goes straight back.
class EchoPeer : public Reactor::Peer {
 public:
  explicit EchoPeer (Reactor &reactor) : reactor_ (reactor) {}
  void on_message (bool is_text, const uint8_t *data, size_t size) override
  {
    if (is_text)
      reactor_.send_text (connection_id (),
          std::string_view (reinterpret_cast<const char *> (data), size));
    else
      reactor_.send_binary (connection_id (), std::span<const uint8_t> (data, size));
  }
  void on_closed (uint16_t code, const std::string &reason) override
  {
    log::info ("connection_closed", { { "route", "/test-websocket" },
          { "code", std::to_string (code) }, { "reason", reason } });
  }

 private:
  Reactor &reactor_;
};

const char kWebsocketTestPage[] = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>callstreamd WebSocket test</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#log{white-space:pre-wrap;border:1px solid #ccc;padding:.5em;min-height:8em}</style>
</head><body>
<h1>WebSocket test</h1>
<p>Connects to <code>/test-websocket</code> on this server (wss:// when this page came over https) and checks the echo.</p>
<p><button id="connect">Connect</button> <input id="text" value="hello"> <button id="send" disabled>Send</button></p>
<p>Status: <strong id="status">Disconnected</strong></p>
<div id="log"></div>
<script>
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
const status = (text) => { document.getElementById('status').textContent = text; };
let socket = null;
document.getElementById('connect').onclick = () => {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/test-websocket';
  socket = new WebSocket(url);
  status('Connecting to ' + url);
  socket.onopen = () => { status('Connected'); document.getElementById('send').disabled = false; };
  socket.onmessage = (event) => log('echo: ' + event.data);
  socket.onclose = (event) => { status('Closed (' + event.code + ')'); document.getElementById('send').disabled = true; };
  socket.onerror = () => log('error: the connection failed');
};
document.getElementById('send').onclick = () => {
  const text = document.getElementById('text').value;
  log('sent: ' + text);
  socket.send(text);
};
</script>
</body></html>
)";

const char kCallsPage[] = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>callstream calls</title>
<style>
body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}
.none{color:#999}#error{color:#b00}
</style></head><body>
<h1>Calls</h1>
<p><label>API token <input id="token" type="password" size="24"></label>
<label>Phone <input id="phone" size="16"></label>
<button id="load">Load</button> <span id="error"></span></p>
<table><thead><tr><th>Started</th><th>From</th><th>To</th><th>Provider</th><th>Status</th>
<th>Duration</th><th>Summary</th><th>Recording</th></tr></thead><tbody id="calls"></tbody></table>
<p><button id="more">More</button></p>
<script>
const token = document.getElementById('token');
token.value = localStorage.getItem('callstream-token') || '';
let offset = 0;
const cell = (row, text) => { const td = row.insertCell(); td.textContent = text ?? ''; return td; };
async function load(reset) {
  if (reset) { offset = 0; document.getElementById('calls').textContent = ''; }
  localStorage.setItem('callstream-token', token.value);
  const query = new URLSearchParams({ offset, limit: 50 });
  const phone = document.getElementById('phone').value;
  if (phone) query.set('phone', phone);
  const headers = token.value ? { Authorization: 'Bearer ' + token.value } : {};
  const reply = await fetch('/calls?' + query, { headers });
  document.getElementById('error').textContent = reply.ok ? '' : reply.status + ' ' + reply.statusText;
  if (!reply.ok) return;
  const page = await reply.json();
  const body = document.getElementById('calls');
  for (const call of page.calls) {
    const row = body.insertRow();
    cell(row, call.started_at); cell(row, call.from_number); cell(row, call.to_number);
    cell(row, call.provider); cell(row, call.status);
    cell(row, call.duration_seconds == null ? '' : call.duration_seconds + ' s');
    cell(row, call.transcript_summary);
    const td = row.insertCell();
    if (call.recording_url) {
      const audio = document.createElement('audio');
      audio.controls = true; audio.preload = 'none'; audio.src = call.recording_url;
      td.appendChild(audio);
    } else {
      td.textContent = 'no audio'; td.className = 'none';
    }
  }
  offset += page.calls.length;
  document.getElementById('more').disabled = offset >= page.total;
}
document.getElementById('load').onclick = () => load(true);
document.getElementById('more').onclick = () => load(false);
load(true);
</script></body></html>
)";

}  // namespace

struct Server::Route {
  Server *server;
  const PipelineDescription *flow;
};

Server::Server (Config config, std::vector<PipelineDescription> flows,
    std::map<std::string, std::string> variables)
  : config_ (std::move (config)), flows_ (std::move (flows)),
    variables_ (std::move (variables)),
    realtime_probability_ (config_.realtime_api_probability),
    started_us_ (g_get_monotonic_time ())
{
}

Server::~Server ()
{
  assist_.reset ();
  assist_events_.reset ();
  g_clear_object (&elevenlabs_);
  if (summary_timer_ != 0)
    g_source_remove (summary_timer_);
  if (server_ != nullptr) {
    soup_server_disconnect (server_);
    g_object_unref (server_);
  }
  calls_.reset ();
  reactor_.reset ();
}

bool
Server::start (std::string *error)
{
  if (!IpAllowList::parse (config_.exotel_ip_allowlist, exotel_allow_, error)) {
    *error = "EXOTEL_IP_ALLOWLIST: " + *error;
    return false;
  }
  Reactor::Limits limits;
  limits.max_message_bytes = config_.max_message_bytes;
  limits.idle_timeout_ms = config_.idle_timeout_s * 1000;
  reactor_ = std::make_unique<Reactor> (limits);
  CallRegistry::Hooks hooks;
  hooks.on_error = [this] (const std::shared_ptr<Call> &call, GError *e,
      const std::string &element) { return fall_back (call, e, element); };
  hooks.on_ended = [this] (const Call &call, const std::string &why, gint64 started,
      gint64 duration) { record_media_call (call, why, started, duration); };
  calls_ = std::make_unique<CallRegistry> (*reactor_, config_.max_calls, hooks);
  auto redis_url = variables_.find ("REDIS_URL");
  redis_ = std::make_unique<RedisProbe> (redis_url != variables_.end () ? redis_url->second : "",
      2000);
  redis_->start ();
  if (!config_.twilio_account_sid.empty () && !config_.twilio_auth_token.empty ())
    twilio_ = std::make_unique<TwilioRest> (config_.twilio_api_url,
        config_.twilio_account_sid, config_.twilio_auth_token);
  metrics_ = std::make_unique<Metrics> ();
  register_metrics ();
  std::string store_error;
  store_ = RedisStore::open (redis_url != variables_.end () ? redis_url->second : "",
      &store_error);
  if (!store_) {
    *error = "REDIS_URL: " + store_error;
    return false;
  }
  records_ = std::make_unique<RecordStore> (*store_);
  AudioCacheOptions cache_options;
  cache_options.ttl_s = config_.audio_cache_ttl;
  audio_cache_ = std::make_unique<AudioCache> (*store_, [this] (const std::string &id,
          std::string audio) { webhooks_->audio_expired (id, std::move (audio)); },
      cache_options);
  PostCallWebhooks::Options webhook_options;
  webhook_options.secret = config_.elevenlabs_webhook_secret;
  webhook_options.data_dir = config_.webhook_data_dir;
  webhook_options.max_body_bytes = config_.max_webhook_bytes;
  webhook_options.public_url = config_.public_url;
  webhooks_ = std::make_unique<PostCallWebhooks> (webhook_options, *store_, *records_,
      *audio_cache_, *metrics_);
  elevenlabs_ = soup_session_new_with_options ("timeout", 60, nullptr);
  if (!start_assist (redis_url != variables_.end () ? redis_url->second : "", error))
    return false;
  // "frames published" for the operators, every 10 s while it changes.
  summary_timer_ = g_timeout_add_seconds (10, [] (gpointer data) -> gboolean {
        static_cast<Server *> (data)->log_progress ();
        return G_SOURCE_CONTINUE;
      }, this);

  server_ = soup_server_new ("server-header", "callstreamd/" VERSION, nullptr);
  // libsoup 3.2's server never notices a keep-alive client closing its end
  // of an idle connection: the socket stays in CLOSE_WAIT, one descriptor
  // for good (a bare SoupServer does the same), so a load balancer's health
  // checks would exhaust the descriptors in a day. Plain HTTP answers
  // therefore close their connection; WebSocket upgrades are left alone.
  g_signal_connect (server_, "request-read", G_CALLBACK (+[] (SoupServer *,
          SoupServerMessage *msg, gpointer) {
        SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
        if (soup_message_headers_get_one (request, "Upgrade") == nullptr)
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
              "Connection", "close");
      }), nullptr);
  // Webhook bodies are read whole before the handler runs, into one buffer
  // (collect_body); refuse a body over the limit as soon as its
  // Content-Length says so (a chunked one is checked as it is read).
  soup_server_add_early_handler (server_, "/voice/post_call", [] (SoupServer *,
          SoupServerMessage *msg, const char *, GHashTable *, gpointer data) {
        auto *self = static_cast<Server *> (data);
        SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
        const goffset length = soup_message_headers_get_content_length (headers);
        if (length > static_cast<goffset> (self->config_.max_webhook_bytes)) {
          const std::string reason = "body larger than MAX_WEBHOOK_BYTES ("
              + std::to_string (self->config_.max_webhook_bytes) + ")";
          refuse (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, reason);
          log::warning ("webhook_refused", { { "route", "/voice/post_call" },
                { "status", "413" }, { "reason", reason } });
        } else {
          PostCallWebhooks::collect_body (msg, self->config_.max_webhook_bytes);
        }
      }, this, nullptr);
  for (const PipelineDescription &flow : flows_)
    add_flow_route (flow);

#define ROUTE(path, method) \
  soup_server_add_handler (server_, path, [] (SoupServer *, SoupServerMessage *msg, \
          const char *, GHashTable *query, gpointer data) { \
        (void) query; \
        static_cast<Server *> (data)->method; \
      }, this, nullptr)
  ROUTE ("/health", handle_health (msg));
  ROUTE ("/metrics", handle_metrics (msg));
  ROUTE ("/voice-realtime", handle_voice_realtime (msg));
  ROUTE ("/voice", handle_voice (msg));
  ROUTE ("/realtime-api-config", handle_realtime_config (msg, query));
  ROUTE ("/test-websocket", handle_test_websocket (msg));
  ROUTE ("/websocket-test", handle_websocket_test_page (msg));
  // The calls page (and a 404 for every path nobody else serves).
  soup_server_add_handler (server_, nullptr, [] (SoupServer *, SoupServerMessage *msg,
          const char *path, GHashTable *, gpointer) {
        if (g_strcmp0 (path, "/") == 0 || g_strcmp0 (path, "/calls.html") == 0)
          set_text (msg, SOUP_STATUS_OK, "text/html; charset=utf-8", kCallsPage);
        else
          refuse (msg, SOUP_STATUS_NOT_FOUND, "no such page");
      }, this, nullptr);
  soup_server_add_handler (server_, "/voice/post_call", [] (SoupServer *, SoupServerMessage *msg,
          const char *, GHashTable *, gpointer data) {
        static_cast<Server *> (data)->webhooks_->handle (msg);
      }, this, nullptr);
  soup_server_add_handler (server_, "/calls", [] (SoupServer *, SoupServerMessage *msg,
          const char *path, GHashTable *query, gpointer data) {
        static_cast<Server *> (data)->handle_calls (msg, path, query);
      }, this, nullptr);
  soup_server_add_handler (server_, "/conversations", [] (SoupServer *, SoupServerMessage *msg,
          const char *path, GHashTable *, gpointer data) {
        static_cast<Server *> (data)->handle_conversation (msg, path);
      }, this, nullptr);
  soup_server_add_handler (server_, "/recordings", [] (SoupServer *, SoupServerMessage *msg,
          const char *path, GHashTable *query, gpointer data) {
        static_cast<Server *> (data)->handle_recording (msg, path, query);
      }, this, nullptr);
  soup_server_add_handler (server_, "/assist", [] (SoupServer *, SoupServerMessage *msg,
          const char *path, GHashTable *query, gpointer data) {
        static_cast<Server *> (data)->handle_assist (msg, path, query);
      }, this, nullptr);
  soup_server_add_handler (server_, "/elevenlabs/conversation", [] (SoupServer *,
          SoupServerMessage *msg, const char *path, GHashTable *, gpointer data) {
        static_cast<Server *> (data)->handle_process_conversation (msg, path);
      }, this, nullptr);
#undef ROUTE

  g_autoptr (GInetAddress) host = g_inet_address_new_from_string (config_.host.c_str ());
  if (host == nullptr) {
    *error = "HOST: \"" + config_.host + "\" is not an IP address";
    return false;
  }
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (host,
      static_cast<guint16> (config_.port));
  // Our own listening socket: GLib's default backlog (10) drops connections
  // when hundreds of calls arrive at once.
  g_autoptr (GError) listen_error = nullptr;
  g_autoptr (GSocket) listener = g_socket_new (g_inet_address_get_family (host),
      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &listen_error);
  if (listener != nullptr) {
    g_socket_set_listen_backlog (listener, kListenBacklog);
    if (!g_socket_bind (listener, address, TRUE, &listen_error)
        || !g_socket_listen (listener, &listen_error)
        || !soup_server_listen_socket (server_, listener, SoupServerListenOptions (0),
            &listen_error))
      g_clear_object (&listener);
  }
  if (listener == nullptr) {
    *error = "HOST/PORT: cannot listen on " + config_.host + ":"
        + std::to_string (config_.port) + ": " + listen_error->message;
    return false;
  }
  GSList *uris = soup_server_get_uris (server_);
  if (uris != nullptr)
    port_ = static_cast<guint16> (g_uri_get_port (static_cast<GUri *> (uris->data)));
  g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  std::string routes;
  for (const PipelineDescription &flow : flows_)
    routes += (routes.empty () ? "" : ",") + flow.route;
  log::info ("listening", { { "host", config_.host }, { "port", std::to_string (port_) },
        { "media_routes", routes }, { "version", VERSION } });
  return true;
}

void
Server::add_flow_route (const PipelineDescription &flow)
{
  auto route = std::make_unique<Route> (Route { this, &flow });
  soup_server_add_handler (server_, flow.route.c_str (),
      [] (SoupServer *, SoupServerMessage *msg, const char *, GHashTable *, gpointer data) {
        auto *route = static_cast<Route *> (data);
        route->server->handle_media (msg, *route->flow);
      }, route.get (), nullptr);
  routes_.push_back (std::move (route));
}

std::string
Server::public_base (SoupServerMessage *msg) const
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const std::string base = public_base_url (config_.public_url,
      soup_message_headers_get_one (headers, "Host"),
      soup_message_headers_get_one (headers, "X-Forwarded-Proto"));
  return !base.empty () ? base : "http://" + config_.host + ":" + std::to_string (port_);
}

bool
Server::twilio_request_valid (SoupServerMessage *msg,
    const std::vector<std::pair<std::string, std::string>> &form)
{
  if (config_.twilio_auth_token.empty ())
    return true;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *signature = soup_message_headers_get_one (headers, "X-Twilio-Signature");
  const std::string url = public_request_url (config_.public_url,
      soup_message_headers_get_one (headers, "Host"),
      soup_message_headers_get_one (headers, "X-Forwarded-Proto"),
      path_and_query (msg).c_str ());
  if (signature == nullptr) {
    refuse (msg, SOUP_STATUS_UNAUTHORIZED, "missing X-Twilio-Signature");
    count_refusal ("twilio");
    log::warning ("request_refused", { { "route", path_and_query (msg) },
          { "remote", remote_of (msg) }, { "reason", "missing X-Twilio-Signature" } });
    return false;
  }
  // A WebSocket upgrade may be signed with its ws(s):// URL.
  std::string ws_url;
  if (g_str_has_prefix (url.c_str (), "https://"))
    ws_url = "wss://" + url.substr (8);
  else if (g_str_has_prefix (url.c_str (), "http://"))
    ws_url = "ws://" + url.substr (7);
  if (!twilio_signature_valid (config_.twilio_auth_token, url, form, signature)
      && (ws_url.empty ()
          || !twilio_signature_valid (config_.twilio_auth_token, ws_url, form, signature))) {
    refuse (msg, SOUP_STATUS_FORBIDDEN, "invalid X-Twilio-Signature");
    count_refusal ("twilio");
    log::warning ("request_refused", { { "route", path_and_query (msg) },
          { "remote", remote_of (msg) }, { "reason", "invalid X-Twilio-Signature" } });
    return false;
  }
  return true;
}

bool
Server::authorize (SoupServerMessage *msg, const PipelineDescription &flow,
    const std::vector<std::pair<std::string, std::string>> &form)
{
  if (flow.provider == Provider::kTwilio)
    return twilio_request_valid (msg, form);
  // Exotel: an IP allow-list and/or Basic auth.
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  if (remote != nullptr && G_IS_INET_SOCKET_ADDRESS (remote)
      && !exotel_allow_.allows (g_inet_socket_address_get_address (
              G_INET_SOCKET_ADDRESS (remote)))) {
    refuse (msg, SOUP_STATUS_FORBIDDEN, "address not in EXOTEL_IP_ALLOWLIST");
    count_refusal ("exotel");
    log::warning ("request_refused", { { "route", flow.route }, { "remote", remote_of (msg) },
          { "reason", "address not allowed" } });
    return false;
  }
  if (!config_.exotel_basic_user.empty ()) {
    SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
    if (!basic_auth_matches (soup_message_headers_get_one (headers, "Authorization"),
            config_.exotel_basic_user, config_.exotel_basic_password)) {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
          "WWW-Authenticate", "Basic realm=\"callstream\"");
      refuse (msg, SOUP_STATUS_UNAUTHORIZED, "Basic authentication required");
      count_refusal ("exotel");
      log::warning ("request_refused", { { "route", flow.route },
            { "remote", remote_of (msg) }, { "reason", "basic auth failed" } });
      return false;
    }
  }
  return true;
}

void
Server::handle_media (SoupServerMessage *msg, const PipelineDescription &flow)
{
  if (!authorize (msg, flow, {}))
    return;
  if (calls_->at_capacity ()) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Retry-After", "5");
    refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
        "MAX_CALLS (" + std::to_string (config_.max_calls) + ") calls in progress");
    count_refusal (provider_name (flow.provider));
    log::warning ("request_refused", { { "route", flow.route }, { "remote", remote_of (msg) },
          { "reason", "MAX_CALLS reached" } });
    return;
  }
  std::string launch, error;
  if (!fill_pipeline (flow, variables_, launch, &error)) {
    refuse (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "pipeline " + flow.name + ": " + error);
    log::error ("pipeline_not_built", { { "flow", flow.name }, { "error", error } });
    return;
  }
  guint status = 0;
  std::shared_ptr<Call> call = calls_->create (flow, launch, remote_of (msg), &status, &error);
  if (!call) {
    refuse (msg, status, error);
    log::error ("call_refused", { { "flow", flow.name }, { "remote", remote_of (msg) },
          { "error", error } });
    return;
  }
  call->public_base = public_base (msg);
  const std::string route = flow.route;
  const std::string remote = remote_of (msg);
  const bool upgraded = accept_websocket_upgrade (msg,
      [this, call, route, remote] (GIOStream *stream, GSocket *socket, GSocketAddress *) {
        log::info ("connection_accepted", { { "call", call->id () },
              { "provider", call->provider () }, { "flow", call->flow () },
              { "route", route }, { "remote", remote } });
        calls_->attach_reactor (call, stream, socket);
      });
  if (!upgraded) {
    // Not a WebSocket upgrade: the status says why; the pipeline never ran.
    count_refusal (provider_name (flow.provider));
    log::warning ("request_refused", { { "route", flow.route }, { "remote", remote },
          { "reason", "not a WebSocket upgrade" } });
    calls_->schedule_teardown (call, "upgrade refused");
  }
}

void
Server::handle_health (SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  const bool reachable = redis_->reachable ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, reachable ? "ok" : "degraded");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, VERSION);
  json_builder_set_member_name (builder, "uptime_s");
  json_builder_add_int_value (builder, (g_get_monotonic_time () - started_us_) / G_USEC_PER_SEC);
  json_builder_set_member_name (builder, "redis");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "reachable");
  json_builder_add_boolean_value (builder, reachable);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "calls_in_progress");
  json_builder_add_int_value (builder, static_cast<gint64> (calls_->in_progress ()));
  json_builder_set_member_name (builder, "calls");
  json_builder_begin_object (builder);
  for (const char *provider : kProviders) {
    json_builder_set_member_name (builder, provider);
    json_builder_add_int_value (builder, static_cast<gint64> (calls_->in_progress (provider)));
  }
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "exotel_enabled");
  json_builder_add_boolean_value (builder, config_.support_exotel);
  json_builder_end_object (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  g_autofree gchar *text = json_generator_to_data (generator, nullptr);
  set_text (msg, SOUP_STATUS_OK, "application/json", text);
}

void
Server::handle_metrics (SoupServerMessage *msg)
{
  set_text (msg, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
      metrics_->render ());
}

void
Server::handle_voice_realtime (SoupServerMessage *msg)
{
  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST
      && soup_server_message_get_method (msg) != SOUP_METHOD_GET) {
    refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  const auto form = form_of (msg);
  if (!twilio_request_valid (msg, form))
    return;
  metrics_->counter (kWebhooksTotal, "twilio").inc ();
  bool realtime = g_random_double () < realtime_probability_;
  bool have_flow = false;
  for (const PipelineDescription &flow : flows_)
    have_flow |= flow.route == kRealtimeFlowRoute;
  realtime = realtime && have_flow;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  std::string twiml;
  if (realtime) {
    const std::string url = media_stream_url (config_.public_url,
        soup_message_headers_get_one (headers, "Host"),
        soup_message_headers_get_one (headers, "X-Forwarded-Proto"), kRealtimeFlowRoute);
    log::info ("creating_media_stream", { { "url", url } });
    twiml = connect_stream_twiml (config_.voice_greeting, url, {});
  } else {
    twiml = gather_twiml (config_.voice_greeting, public_base (msg) + "/voice");
  }
  log::info ("twiml", { { "mode", realtime ? "realtime" : "traditional" }, { "twiml", twiml } });
  set_text (msg, SOUP_STATUS_OK, "application/xml", twiml);
}

void
Server::handle_voice (SoupServerMessage *msg)
{
  const auto form = form_of (msg);
  if (!twilio_request_valid (msg, form))
    return;
  metrics_->counter (kWebhooksTotal, "twilio").inc ();
  const std::string twiml = gather_twiml (config_.voice_greeting, public_base (msg) + "/voice");
  log::info ("twiml", { { "mode", "traditional" }, { "twiml", twiml } });
  set_text (msg, SOUP_STATUS_OK, "application/xml", twiml);
}

void
Server::handle_realtime_config (SoupServerMessage *msg, GHashTable *query)
{
  if (soup_server_message_get_method (msg) == SOUP_METHOD_POST) {
    const char *value = query ? static_cast<const char *> (g_hash_table_lookup (query,
            "probability")) : nullptr;
    char *end = nullptr;
    const double p = value ? g_ascii_strtod (value, &end) : NAN;
    if (value == nullptr || end == value || *end != '\0' || !(p >= 0.0 && p <= 1.0)) {
      refuse (msg, SOUP_STATUS_BAD_REQUEST, "probability must be a number from 0 to 1");
      return;
    }
    realtime_probability_ = p;
    log::info ("realtime_api_config", { { "probability", value } });
  } else if (soup_server_message_get_method (msg) != SOUP_METHOD_GET) {
    refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET or POST");
    return;
  }
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_dtostr (number, sizeof number, realtime_probability_);
  set_text (msg, SOUP_STATUS_OK, "application/json",
      std::string ("{\"probability\":") + number + "}");
}

void
Server::handle_test_websocket (SoupServerMessage *msg)
{
  const std::string remote = remote_of (msg);
  accept_websocket_upgrade (msg, [this, remote] (GIOStream *stream, GSocket *socket,
          GSocketAddress *) {
        log::info ("connection_accepted", { { "route", "/test-websocket" },
              { "remote", remote } });
        reactor_->adopt (stream, socket, std::make_shared<EchoPeer> (*reactor_));
      });
}

void
Server::handle_websocket_test_page (SoupServerMessage *msg)
{
  set_text (msg, SOUP_STATUS_OK, "text/html; charset=utf-8", kWebsocketTestPage);
}

bool
Server::fall_back (const std::shared_ptr<Call> &call, GError *error, const std::string &element)
{
  // Only a Realtime bridge that could not connect, on a Twilio call we can
  // redirect: the caller then gets the traditional flow.
  if (call->provider () != "twilio" || element != "bridge" || error->domain != GST_RESOURCE_ERROR
      || error->code != GST_RESOURCE_ERROR_OPEN_READ_WRITE || !twilio_)
    return false;
  calls_->counters (call->provider ()).fallbacks.fetch_add (1);
  redirect_when_known (call, 50);
  return true;
}

void
Server::redirect_when_known (const std::shared_ptr<Call> &call, int attempts_left)
{
  const std::string call_sid = call->call_sid ();
  if (call_sid.empty ()) {
    if (attempts_left == 0) {
      log::warning ("realtime_fallback_failed", { { "call", call->id () },
            { "reason", "no start message: the call sid is unknown" } });
      calls_->close_socket (call, 1011, "realtime bridge failed");
      return;
    }
    // The bridge failed before Twilio's start message came in: wait for it.
    struct Retry {
      Server *server;
      std::shared_ptr<Call> call;
      int left;
    };
    g_timeout_add_full (G_PRIORITY_DEFAULT, 100, [] (gpointer data) -> gboolean {
          auto *retry = static_cast<Retry *> (data);
          retry->server->redirect_when_known (retry->call, retry->left);
          return G_SOURCE_REMOVE;
        }, new Retry { this, call, attempts_left - 1 }, [] (gpointer data) {
          delete static_cast<Retry *> (data);
        });
    return;
  }
  const std::string url = call->public_base + "/voice";
  log::info ("realtime_fallback", { { "call", call->id () }, { "call_sid", call_sid },
        { "twiml_url", url } });
  twilio_->redirect_call (call_sid, url, [this, call] (bool ok, guint status,
          std::string detail) {
        if (ok)
          log::info ("realtime_fallback_redirected", { { "call", call->id () },
                { "call_sid", call->call_sid () } });
        else
          log::warning ("realtime_fallback_failed", { { "call", call->id () },
                { "status", std::to_string (status) }, { "reason", detail } });
        calls_->close_socket (call, 1000, "continued in the traditional flow");
      });
}

void
Server::register_metrics ()
{
  Metrics &m = *metrics_;
  m.gauge_callback ("callstreamd_redis_reachable", "1 when Redis answered the last PING.",
      [this] { return redis_->reachable () ? 1.0 : 0.0; });
  m.gauge_callback ("callstreamd_reactor_connections",
      "Media sockets held by the reactor (calls and echo tests).",
      [this] { return static_cast<double> (reactor_->connections ()); });
  m.counter (kWebhooksTotal, "twilio");
  // Hostile or broken peers on the media sockets (reactor: calls and echo).
  auto reactor = [&m, this] (const char *name, const char *help,
      guint64 Reactor::Stats::*field) {
    m.counter_callback (name, help, [this, field] {
          return static_cast<double> (reactor_->stats ().*field);
        });
  };
  reactor ("callstreamd_websocket_protocol_errors_total",
      "Media sockets closed for a protocol error (1002), invalid UTF-8 (1007) or a message "
      "over MAX_MESSAGE_BYTES (1009).", &Reactor::Stats::protocol_errors);
  reactor ("callstreamd_websocket_idle_timeouts_total",
      "Media sockets closed with 1008 after IDLE_TIMEOUT_S without a message.",
      &Reactor::Stats::idle_timeouts);
  reactor ("callstreamd_websocket_send_overflows_total",
      "Media sockets closed with 1008 because the peer read nothing back and the send queue "
      "filled.", &Reactor::Stats::overflows);
  for (const char *provider : kProviders) {
    const std::string p = provider;
    m.counter (kRequestsRefusedTotal, p);
    m.gauge_callback ("callstreamd_calls_in_progress", "Calls with a pipeline running.",
        [this, p] { return static_cast<double> (calls_->in_progress (p)); }, p);
    auto counter = [&m, this, p] (const char *name, const char *help,
        std::atomic<guint64> ProviderCounters::*field) {
      ProviderCounters &counters = calls_->counters (p);
      m.counter_callback (name, help, [&counters, field] {
            return static_cast<double> ((counters.*field).load ());
          }, p);
    };
    counter ("callstreamd_calls_total", "Calls accepted (a pipeline was built).",
        &ProviderCounters::calls);
    counter ("callstreamd_messages_received_total",
        "WebSocket messages received from the provider on reactor sockets.",
        &ProviderCounters::messages);
    counter ("callstreamd_bytes_received_total",
        "Bytes of WebSocket messages received on reactor sockets.", &ProviderCounters::bytes);
    counter ("callstreamd_pipeline_errors_total", "Calls ended by a pipeline error.",
        &ProviderCounters::errors);
    counter ("callstreamd_pipeline_warnings_total",
        "Pipeline warnings: malformed provider messages (rate-limited), failed dump writes.",
        &ProviderCounters::warnings);
    counter ("callstreamd_messages_malformed_total",
        "Provider messages the source ignored as malformed (counted when the call ends).",
        &ProviderCounters::malformed);
    counter ("callstreamd_realtime_fallbacks_total",
        "Calls redirected to the traditional flow after the Realtime bridge failed.",
        &ProviderCounters::fallbacks);
    auto redis = [&m, this, p] (const char *name, const char *help, int which) {
      m.counter_callback (name, help, [this, p, which] {
            guint64 values[3] = { 0, 0, 0 };
            calls_->redis_totals (p, &values[0], &values[1], &values[2]);
            return static_cast<double> (values[which]);
          }, p);
    };
    redis ("callstreamd_frames_published_total",
        "Audio frames Redis acknowledged (redisstreamsink).", 0);
    redis ("callstreamd_frames_dropped_total",
        "Audio frames dropped because Redis stayed away longer than max-buffer-time.", 1);
    redis ("callstreamd_redis_reconnects_total", "Reconnections to Redis by the sinks.", 2);
  }
}

void
Server::log_progress ()
{
  for (const char *provider : kProviders) {
    guint64 published = 0, dropped = 0, reconnects = 0;
    calls_->redis_totals (provider, &published, &dropped, &reconnects);
    guint64 &last = last_published_[provider];
    if (published == last)
      continue;
    log::info ("frames_published", { { "provider", provider },
          { "total", std::to_string (published) },
          { "since_last", std::to_string (published - last) },
          { "dropped", std::to_string (dropped) },
          { "calls_in_progress", std::to_string (calls_->in_progress (provider)) } });
    last = published;
  }
}

void
Server::count_refusal (const std::string &provider)
{
  metrics_->counter (kRequestsRefusedTotal, provider).inc ();
}

/* ---- ElevenLabs records and recordings ---- */

namespace {

std::string
json_text (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, node);
  g_autofree gchar *text = json_generator_to_data (generator, nullptr);
  json_node_unref (node);
  return text;
}

// The last path segment after @prefix ("/calls/<id>"), URL-decoded; "" when
// there is none or it holds a '/'.
std::string
id_after (const char *path, const char *prefix)
{
  if (!g_str_has_prefix (path, prefix))
    return "";
  g_autofree gchar *id = g_uri_unescape_string (path + strlen (prefix), nullptr);
  if (id == nullptr || *id == '\0' || strchr (id, '/') != nullptr)
    return "";
  return id;
}

bool
parse_time (const char *text, gint64 *out)
{
  if (text == nullptr)
    return true;
  guint64 value = 0;
  if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, nullptr)) {
    *out = static_cast<gint64> (value);
    return true;
  }
  g_autoptr (GDateTime) when = g_date_time_new_from_iso8601 (text, nullptr);
  if (when == nullptr) {
    g_autofree gchar *midnight = g_strconcat (text, "T00:00:00Z", nullptr);
    when = g_date_time_new_from_iso8601 (midnight, nullptr);
  }
  if (when == nullptr)
    return false;
  *out = g_date_time_to_unix (when);
  return true;
}

}  // namespace

bool
Server::api_authorized (SoupServerMessage *msg)
{
  if (config_.api_token.empty ())
    return true;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  if (bearer_token_matches (soup_message_headers_get_one (headers, "Authorization"),
          config_.api_token))
    return true;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "WWW-Authenticate", "Bearer realm=\"callstream\"");
  refuse (msg, SOUP_STATUS_UNAUTHORIZED, "Authorization: Bearer API_TOKEN required");
  count_refusal ("elevenlabs");
  return false;
}

std::string
Server::signed_recording_url (const std::string &url) const
{
  // With API_TOKEN, our own recording URLs carry an expiring signature so an
  // <audio> element can fetch them without headers.
  const size_t at = url.find ("/recordings/");
  if (config_.api_token.empty () || at == std::string::npos)
    return url;
  const std::string path = url.substr (at);
  const gint64 expires = g_get_real_time () / G_USEC_PER_SEC + kRecordingUrlLifetimeS;
  return url.substr (0, at) + sign_path (config_.api_token, path, expires);
}

void
Server::record_media_call (const Call &call, const std::string &why, gint64 started,
    gint64 duration)
{
  // A call that came through our own media streams is a Call record too.
  const std::string call_sid = call.call_sid ();
  if (call_sid.empty () || !records_)
    return;
  CallRecord record;
  record.id = call_sid;
  record.call_sid = call_sid;
  record.provider = call.provider ();
  record.direction = std::string ("inbound");
  if (!call.from ().empty ())
    record.from_number = call.from ();
  if (!call.to ().empty ())
    record.to_number = call.to ();
  record.status = std::string (why == "error" ? "failed" : "completed");
  record.started_at = started;
  record.ended_at = started + duration;
  record.duration_seconds = duration;
  records_->upsert_call (record, [call_sid] (std::string error) {
        if (!error.empty ())
          log::warning ("record_not_saved", { { "call_sid", call_sid }, { "error", error } });
      });
}

void
Server::handle_calls (SoupServerMessage *msg, const char *path, GHashTable *query)
{
  if (!api_authorized (msg))
    return;
  const std::string id = id_after (path, "/calls/");
  if (!id.empty ()) {
    records_->get_call (id, [this, msg] (std::optional<CallRecord> record,
            std::string error) {
          if (!error.empty ())
            refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error);
          else if (!record)
            refuse (msg, SOUP_STATUS_NOT_FOUND, "no such call");
          else {
            if (record->recording_url)
              record->recording_url = signed_recording_url (*record->recording_url);
            set_text (msg, SOUP_STATUS_OK, "application/json", json_text (call_to_json (*record)));
          }
          soup_server_message_unpause (msg);
          g_object_unref (msg);
        });
    g_object_ref (msg);  // held while paused: the client may leave meanwhile
    soup_server_message_pause (msg);
    return;
  }
  if (g_strcmp0 (path, "/calls") != 0 && g_strcmp0 (path, "/calls/") != 0) {
    refuse (msg, SOUP_STATUS_NOT_FOUND, "no such call");
    return;
  }
  CallQuery q;
  auto lookup = [query] (const char *key) -> const char * {
    return query ? static_cast<const char *> (g_hash_table_lookup (query, key)) : nullptr;
  };
  guint64 number = 0;
  if (const char *offset = lookup ("offset")) {
    if (!g_ascii_string_to_unsigned (offset, 10, 0, G_MAXUINT, &number, nullptr))
      return refuse (msg, SOUP_STATUS_BAD_REQUEST, "offset must be a number");
    q.offset = static_cast<guint> (number);
  }
  if (const char *limit = lookup ("limit")) {
    if (!g_ascii_string_to_unsigned (limit, 10, 1, 500, &number, nullptr))
      return refuse (msg, SOUP_STATUS_BAD_REQUEST, "limit must be a number from 1 to 500");
    q.limit = static_cast<guint> (number);
  }
  if (const char *phone = lookup ("phone"))
    q.phone = phone;
  gint64 from = 0, to = 0;
  if (lookup ("from") && !parse_time (lookup ("from"), &from))
    return refuse (msg, SOUP_STATUS_BAD_REQUEST, "from must be unix seconds or ISO 8601");
  if (lookup ("to") && !parse_time (lookup ("to"), &to))
    return refuse (msg, SOUP_STATUS_BAD_REQUEST, "to must be unix seconds or ISO 8601");
  if (lookup ("from"))
    q.from = from;
  if (lookup ("to"))
    q.to = to;
  records_->list_calls (q, [this, msg, q] (CallPage page, std::string error) {
        if (!error.empty ()) {
          refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error);
        } else {
          for (CallRecord &call : page.calls)
            if (call.recording_url)
              call.recording_url = signed_recording_url (*call.recording_url);
          set_text (msg, SOUP_STATUS_OK, "application/json",
              json_text (call_page_to_json (page, q)));
        }
        soup_server_message_unpause (msg);
        g_object_unref (msg);
      });
  g_object_ref (msg);  // held while paused: the client may leave meanwhile
  soup_server_message_pause (msg);
}

void
Server::handle_conversation (SoupServerMessage *msg, const char *path)
{
  if (!api_authorized (msg))
    return;
  const std::string id = id_after (path, "/conversations/");
  if (id.empty ())
    return refuse (msg, SOUP_STATUS_NOT_FOUND, "no such conversation");
  records_->get_conversation (id, [this, msg] (std::optional<ConversationRecord> record,
          std::string error) {
        if (!error.empty ())
          refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, error);
        else if (!record)
          refuse (msg, SOUP_STATUS_NOT_FOUND, "no such conversation");
        else {
          if (record->recording_url)
            record->recording_url = signed_recording_url (*record->recording_url);
          set_text (msg, SOUP_STATUS_OK, "application/json",
              json_text (conversation_to_json (*record)));
        }
        soup_server_message_unpause (msg);
        g_object_unref (msg);
      });
  g_object_ref (msg);  // held while paused: the client may leave meanwhile
  soup_server_message_pause (msg);
}

void
Server::handle_recording (SoupServerMessage *msg, const char *path, GHashTable *query)
{
  std::string name = id_after (path, "/recordings/");
  if (name.size () <= 4 || name.compare (name.size () - 4, 4, ".mp3") != 0)
    return refuse (msg, SOUP_STATUS_NOT_FOUND, "no such recording");
  const std::string id = name.substr (0, name.size () - 4);
  if (!config_.api_token.empty ()) {
    // A Bearer token, or the signature of the URL we gave out.
    SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
    std::string reason;
    const char *expires = query ? static_cast<const char *> (g_hash_table_lookup (query,
            "expires")) : nullptr;
    const char *sig = query ? static_cast<const char *> (g_hash_table_lookup (query, "sig"))
        : nullptr;
    GUri *uri = soup_server_message_get_uri (msg);
    if (!bearer_token_matches (soup_message_headers_get_one (headers, "Authorization"),
            config_.api_token)
        && !verify_signed_path (config_.api_token, g_uri_get_path (uri),
            expires ? expires : "", sig ? sig : "", g_get_real_time () / G_USEC_PER_SEC,
            &reason)) {
      count_refusal ("elevenlabs");
      return refuse (msg, SOUP_STATUS_UNAUTHORIZED, "recording URL: " + reason);
    }
  }
  store_->command ({ "GET", "recording:" + id }, [this, msg] (RedisReply reply) {
        if (reply.type == RedisReply::Type::kString)
          serve_file (msg, config_.webhook_data_dir, reply.str, "audio/mpeg");
        else if (!reply.ok ())
          refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, reply.describe_failure ());
        else
          refuse (msg, SOUP_STATUS_NOT_FOUND, "no such recording");
        soup_server_message_unpause (msg);
        g_object_unref (msg);
      });
  g_object_ref (msg);  // held while paused: the client may leave meanwhile
  soup_server_message_pause (msg);
}

void
Server::handle_process_conversation (SoupServerMessage *msg, const char *path)
{
  // POST /elevenlabs/conversation/<id>/process: fetch the conversation and
  // its audio from the ElevenLabs API and process them like the webhooks.
  if (!api_authorized (msg))
    return;
  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    return refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
  std::string rest = path;
  const std::string prefix = "/elevenlabs/conversation/";
  const std::string suffix = "/process";
  if (rest.size () <= prefix.size () + suffix.size ()
      || rest.compare (rest.size () - suffix.size (), suffix.size (), suffix) != 0)
    return refuse (msg, SOUP_STATUS_NOT_FOUND, "use /elevenlabs/conversation/<id>/process");
  g_autofree gchar *decoded = g_uri_unescape_string (rest.substr (prefix.size (),
          rest.size () - prefix.size () - suffix.size ()).c_str (), nullptr);
  if (decoded == nullptr || strchr (decoded, '/') != nullptr)
    return refuse (msg, SOUP_STATUS_BAD_REQUEST, "bad conversation id");
  if (config_.elevenlabs_api_key.empty ())
    return refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "ELEVENLABS_API_KEY is not set");
  const std::string id = decoded;
  g_autofree gchar *escaped = g_uri_escape_string (decoded, nullptr, FALSE);
  const std::string url = config_.elevenlabs_api_url + "/v1/convai/conversations/" + escaped;
  const std::string base = public_base (msg);
  struct Fetch {
    Server *server;
    SoupServerMessage *msg;
    std::string id, url, base, conversation;
  };
  auto *fetch = new Fetch { this, msg, id, url, base, "" };
  g_object_ref (msg);  // held while paused: the client may leave meanwhile
  soup_server_message_pause (msg);
  SoupMessage *request = soup_message_new ("GET", url.c_str ());
  soup_message_headers_replace (soup_message_get_request_headers (request), "xi-api-key",
      config_.elevenlabs_api_key.c_str ());
  soup_session_send_and_read_async (elevenlabs_, request, G_PRIORITY_DEFAULT, nullptr,
      [] (GObject *source, GAsyncResult *result, gpointer data) {
        auto *fetch = static_cast<Fetch *> (data);
        SoupMessage *request = soup_session_get_async_result_message (SOUP_SESSION (source),
            result);
        g_autoptr (GError) error = nullptr;
        g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source),
            result, &error);
        const guint status = request ? soup_message_get_status (request) : 0;
        auto fail_now = [fetch] (guint code, const std::string &why) {
          log::warning ("elevenlabs_sync_failed", { { "conversation", fetch->id },
                { "reason", why } });
          refuse (fetch->msg, code, why);
          soup_server_message_unpause (fetch->msg);
          g_object_unref (fetch->msg);
          delete fetch;
        };
        if (body == nullptr)
          return fail_now (SOUP_STATUS_BAD_GATEWAY, std::string ("ElevenLabs API: ")
              + error->message);
        if (status != SOUP_STATUS_OK)
          return fail_now (status == SOUP_STATUS_NOT_FOUND ? SOUP_STATUS_NOT_FOUND
              : SOUP_STATUS_BAD_GATEWAY, "ElevenLabs API answered "
              + std::to_string (status) + " for the conversation");
        gsize size = 0;
        const char *data_bytes = static_cast<const char *> (g_bytes_get_data (body, &size));
        // The conversation is what a transcription webhook carries as data.
        const std::string envelope = "{\"type\":\"post_call_transcription\","
            "\"event_timestamp\":" + std::to_string (g_get_real_time () / G_USEC_PER_SEC)
            + ",\"data\":" + std::string (data_bytes ? data_bytes : "", size) + "}";
        auto parsed = callstream::elevenlabs::parse_webhook (envelope);
        if (auto *bad = std::get_if<callstream::elevenlabs::ParseError> (&parsed))
          return fail_now (SOUP_STATUS_BAD_GATEWAY, "ElevenLabs API: " + bad->reason);
        fetch->conversation = envelope;
        const auto webhook = std::get<callstream::elevenlabs::Webhook> (parsed);
        Server *server = fetch->server;
        server->webhooks_->process_transcription (webhook, envelope, fetch->base,
            [fetch] (std::string error) {
              Server *server = fetch->server;
              if (!error.empty ()) {
                refuse (fetch->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, error);
                soup_server_message_unpause (fetch->msg);
                g_object_unref (fetch->msg);
                delete fetch;
                return;
              }
              // Then its audio.
              const std::string audio_url = fetch->url + "/audio";
              SoupMessage *request = soup_message_new ("GET", audio_url.c_str ());
              soup_message_headers_replace (soup_message_get_request_headers (request),
                  "xi-api-key", server->config_.elevenlabs_api_key.c_str ());
              soup_session_send_and_read_async (server->elevenlabs_, request,
                  G_PRIORITY_DEFAULT, nullptr, [] (GObject *source, GAsyncResult *result,
                      gpointer data) {
                    auto *fetch = static_cast<Fetch *> (data);
                    SoupMessage *request = soup_session_get_async_result_message (
                        SOUP_SESSION (source), result);
                    g_autoptr (GBytes) audio = soup_session_send_and_read_finish (
                        SOUP_SESSION (source), result, nullptr);
                    const guint status = request ? soup_message_get_status (request) : 0;
                    auto finish = [fetch] (bool has_audio) {
                      std::string json = "{\"conversation_id\":";
                      callstream::outbound::append_json_string (json, fetch->id);
                      json += std::string (",\"processed\":true,\"audio\":")
                          + (has_audio ? "true" : "false") + "}";
                      set_text (fetch->msg, SOUP_STATUS_OK, "application/json", json);
                      soup_server_message_unpause (fetch->msg);
                      g_object_unref (fetch->msg);
                      delete fetch;
                    };
                    if (audio == nullptr || status != SOUP_STATUS_OK
                        || g_bytes_get_size (audio) == 0)
                      return finish (false);
                    gsize n = 0;
                    const char *bytes = static_cast<const char *> (g_bytes_get_data (audio, &n));
                    fetch->server->webhooks_->process_audio (fetch->id, std::string (bytes, n),
                        fetch->base, [finish] (std::string) { finish (true); });
                  }, fetch);
              g_object_unref (request);
            });
      }, fetch);
  g_object_unref (request);
}

void
Server::shutdown (std::function<void (bool)> done)
{
  soup_server_disconnect (server_);
  calls_->shutdown (config_.shutdown_timeout_s * 1000, [this, done] (bool flushed) {
        reactor_->stop ();
        // Audio held in memory (Redis down) is written now, not lost.
        audio_cache_->expire_all_in_memory ();
        done (flushed);
      });
}

}  // namespace callstreamd

/* ---- Agent assist: the /assist page and what feeds it ---- */

namespace callstreamd {

bool
Server::start_assist (const std::string &redis_url, std::string *error)
{
  ServerSentEventsOptions sse;
  assist_events_ = std::make_unique<ServerSentEvents> (sse,
      &metrics_->gauge ("callstreamd_assist_sse_clients",
          "Browsers connected to /assist/events."),
      &metrics_->counter ("callstreamd_assist_events_sent_total",
          "Server-sent events written to /assist/events clients (snapshots included)."));
  AssistFeedOptions options;
  options.transcripts_stream = config_.transcripts_stream;
  options.assist_stream = config_.assist_stream;
  std::string feed_error;
  assist_ = AssistFeed::open (redis_url, options, [this] (const std::string &file) {
        g_autofree gchar *escaped = g_uri_escape_string (file.c_str (), "/", FALSE);
        const std::string path = std::string ("/assist/recordings/") + escaped;
        if (config_.api_token.empty ())
          return path;
        return sign_path (config_.api_token, path,
            g_get_real_time () / G_USEC_PER_SEC + kRecordingUrlLifetimeS);
      }, [this] (const AssistEvent &event) {
        assist_events_->broadcast (event.name, event.id, event.data);
      }, &feed_error);
  if (!assist_) {
    *error = "REDIS_URL: " + feed_error;
    return false;
  }
  metrics_->gauge_callback ("callstreamd_assist_feed_connected",
      "1 when the /assist feed's connection to Redis is up.",
      [this] { return assist_->connected () ? 1.0 : 0.0; });
  return true;
}

bool
Server::assist_authorized (SoupServerMessage *msg, GHashTable *query)
{
  if (config_.api_token.empty ())
    return true;
  // A Bearer header, or ?token= for an EventSource (it cannot send headers).
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *token = query ? static_cast<const char *> (g_hash_table_lookup (query, "token"))
      : nullptr;
  if (bearer_token_matches (soup_message_headers_get_one (headers, "Authorization"),
          config_.api_token)
      || (token != nullptr && constant_time_equals (token, config_.api_token)))
    return true;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "WWW-Authenticate", "Bearer realm=\"callstream\"");
  refuse (msg, SOUP_STATUS_UNAUTHORIZED, "Authorization: Bearer API_TOKEN (or ?token=) required");
  count_refusal ("assist");
  return false;
}

void
Server::handle_assist (SoupServerMessage *msg, const char *path, GHashTable *query)
{
  const char *method = soup_server_message_get_method (msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
        "GET, HEAD");
    return refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
  }
  if (g_strcmp0 (path, "/assist") == 0 || g_strcmp0 (path, "/assist/") == 0)
    return set_text (msg, SOUP_STATUS_OK, "text/html; charset=utf-8", kAssistPage);
  if (g_str_has_prefix (path, "/assist/recordings/")) {
    // A path under the recordings dir (<call>/call.wav), checked by serve_file.
    g_autofree gchar *unescaped = g_uri_unescape_string (path + strlen ("/assist/recordings/"),
        nullptr);
    const std::string name = unescaped != nullptr ? unescaped : "";
    if (name.empty ())
      return refuse (msg, SOUP_STATUS_NOT_FOUND, "no such recording");
    if (!config_.api_token.empty ()) {
      std::string reason;
      const char *token = query ? static_cast<const char *> (g_hash_table_lookup (query,
              "token")) : nullptr;
      SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
      if (!bearer_token_matches (soup_message_headers_get_one (headers, "Authorization"),
              config_.api_token)
          && !(token != nullptr && constant_time_equals (token, config_.api_token))
          && !verify_signed_path (config_.api_token, g_uri_get_path (
                  soup_server_message_get_uri (msg)), query,
              g_get_real_time () / G_USEC_PER_SEC, &reason)) {
        count_refusal ("assist");
        return refuse (msg, SOUP_STATUS_UNAUTHORIZED, "recording URL: " + reason);
      }
    }
    // serve_file refuses names that would leave the directory (403).
    return serve_file (msg, config_.assist_recordings_dir, name, "audio/wav");
  }
  if (g_strcmp0 (path, "/assist/calls") == 0) {
    if (!assist_authorized (msg, query))
      return;
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Cache-Control", "no-store");
    return set_text (msg, SOUP_STATUS_OK, "application/json", assist_->model ().snapshot_json ());
  }
  if (g_strcmp0 (path, "/assist/events") == 0) {
    if (!assist_authorized (msg, query))
      return;
    if (method != SOUP_METHOD_GET)
      return refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
    assist_events_->add (msg, "snapshot", assist_->model ().snapshot_json ());
    return;
  }
  refuse (msg, SOUP_STATUS_NOT_FOUND, "no such page");
}

}  // namespace callstreamd
