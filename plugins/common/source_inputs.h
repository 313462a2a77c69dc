// The inputs every provider source element offers, with their properties:
// a capture replayed from `location`, its own one-call WebSocket server on
// `port`, or a `connection` accepted by the application; with none of them
// the application pushes messages itself (push-message) and, when it also
// sends what the call's sinks answer (send-message), reads the socket itself.
// Handlers run with the src pad's STREAM_LOCK held, so pad deactivation waits
// for a message in progress.
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/call_output.h"
#include "common/call_session.h"
#include "common/message_transport.h"

namespace callstream {

class SourceInputs {
 public:
  struct Handlers {
    std::function<GstFlowReturn (std::string_view text)> text;
    std::function<GstFlowReturn (const uint8_t *data, size_t size)> binary;
    // The socket closed, the capture ended, or the application sent EOS.
    std::function<GstFlowReturn (const char *why)> end;
  };

  // Property ids @first_prop_id .. @first_prop_id + kPropertyCount - 1.
  static constexpr guint kPropertyCount = 9;
  static void install_properties (GObjectClass *klass, guint first_prop_id,
      const char *provider, const char *default_path);
  // The signals of an application that reads the call's socket itself:
  // "push-message (SoupWebsocketDataType, GBytes) -> GstFlowReturn", an
  // action signal handled by the element's SourceInputs, and
  // "send-message (const gchar *text) -> gboolean", emitted for each frame a
  // sink on the source's session sends to the caller.
  // @inputs_of finds an element's SourceInputs (no lookup per message).
  using InputsOf = SourceInputs *(*) (GstElement *element);
  static void install_application_signals (GObjectClass *klass, InputsOf inputs_of);

  SourceInputs (GstElement *element, GstPad *srcpad, guint first_prop_id,
      const char *default_path, Handlers handlers);
  ~SourceInputs ();

  // FALSE if @prop_id is not one of ours.
  bool set_property (guint prop_id, const GValue *value);
  bool get_property (guint prop_id, GValue *value);

  // A live source's state changes around @chain_up (the parent class's
  // change_state): inputs start once the pads are active (a failure posts an
  // element error and fails the change), pacing follows PLAYING, inputs stop
  // after the pads are deactivated; PAUSED answers NO_PREROLL.
  GstStateChangeReturn change_state (GstStateChange transition,
      const std::function<GstStateChangeReturn (GstStateChange)> &chain_up);

  // READY_TO_PAUSED, after the pads are active. FALSE (an element error
  // posted) when the settings are wrong or the input cannot be opened.
  bool start ();
  // PAUSED_TO_READY, after the pads are deactivated.
  void stop ();
  // Pipeline state, for replay pacing.
  void set_playing (bool playing);
  void set_stopping ();
  // The pacer outputs wait on: it waits only while replaying with pace=TRUE.
  ReplayPacer *pacer () { return &pacer_; }

  // The call's session (from `session` or `connection`) between start and
  // stop; nullptr when neither is set. Under the STREAM_LOCK, like handlers.
  CallSession *session () { return session_.get (); }
  // For a provider element's mark and start handlers; no-ops without session.
  void deliver_mark (const std::string &name);
  // post-marks: whether a mark also goes on the bus as callstream-mark.
  bool post_marks () const { return post_marks_.load (std::memory_order_relaxed); }
  void set_stream_sid (const std::string &stream_sid);

  // Entry points for messages from any thread (sockets, the action signal,
  // send_event): take the STREAM_LOCK, refuse when flushing or ended.
  GstFlowReturn receive_text (std::string_view text);
  GstFlowReturn receive_binary (const uint8_t *data, size_t size);
  GstFlowReturn receive_end (const char *why);
  // The push-message action signal: text or binary, by @type.
  GstFlowReturn receive_message (SoupWebsocketDataType type, GBytes *message);
  // The same for a message as bytes (CallstreamMessageInput): text when @text.
  GstFlowReturn receive_bytes (bool text, const uint8_t *data, size_t size);

 private:
  struct Settings;
  template <typename Handler> GstFlowReturn locked (Handler &&handler);
  GstFlowReturn note (GstFlowReturn ret);
  MessageCallbacks socket_callbacks ();
  void attach_outlet ();
  static void replay_next (gpointer data);

  GstElement *element_;
  GstPad *srcpad_;
  Handlers handlers_;
  guint first_prop_id_;
  std::string default_path_;

  std::mutex settings_lock_;  // lock order: STREAM_LOCK, then settings_lock_
  std::unique_ptr<Settings> settings_;
  std::unique_ptr<Settings> active_;

  bool ended_ = false;  // under STREAM_LOCK
  std::atomic<bool> post_marks_ { true };
  // Push mode with a session and a send-message handler: the session's
  // outlet is attached on the first message (the application has the
  // socket by then). Under STREAM_LOCK.
  bool outlet_wanted_ = false;
  guint send_signal_ = 0;
  ReplayPacer pacer_;
  std::unique_ptr<CaptureReader> capture_;
  std::unique_ptr<SingleCallServer> server_;
  std::unique_ptr<WebSocketReader> reader_;
  std::atomic<int> bound_port_ { 0 };
  std::shared_ptr<CallSession> session_;
};

}  // namespace callstream
