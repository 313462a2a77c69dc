// What twiliosink and exotelsink share: audio gathered into chunks of the
// provider's size, sent as `media` + `mark` frames on the call's session,
// paced against real time; marks echoed back turn into the played position;
// the clear event; stats and properties. A provider element is a GstBaseSink
// whose vfuncs call a ProviderSink, and a ProviderRules saying its chunk
// sizes and message serializers.
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/call_session.h"

namespace callstream {

struct ProviderRules {
  const char *provider;  // "twilio", "exotel": names it in messages
  // Chunk sizes in bytes: every chunk is a multiple of @unit_bytes, within
  // [min_chunk_bytes, max_chunk_bytes] (both multiples of the unit).
  size_t unit_bytes;
  size_t min_chunk_bytes;
  size_t max_chunk_bytes;
  guint default_chunk_ms;
  std::string (*media) (std::string_view stream_sid, const uint8_t *audio,
      size_t size);
  std::string (*mark) (std::string_view stream_sid, std::string_view name);
  std::string (*clear) (std::string_view stream_sid);
};

class ProviderSink {
 public:
  // Property ids @first .. @first + kPropertyCount - 1.
  static constexpr guint kPropertyCount = 10;
  static void install_properties (GObjectClass *klass, guint first,
      const ProviderRules &rules);

  ProviderSink (GstBaseSink *element, guint first_prop_id,
      const ProviderRules &rules);
  ~ProviderSink ();

  bool set_property (guint prop_id, const GValue *value);
  bool get_property (guint prop_id, GValue *value);

  // GstBaseSink vfuncs.
  bool start ();
  void stop ();
  bool set_caps (GstCaps *caps);
  GstFlowReturn render (GstBuffer *buffer);
  // TRUE when the event was ours (clear, call-info is only peeked at);
  // @event is not consumed.
  bool handle_event (GstEvent *event);
  void unlock ();
  void unlock_stop ();

  struct Call;  // one start..stop

 private:
  struct Settings;
  GstBaseSink *element_;
  guint first_prop_id_;
  const ProviderRules &rules_;
  std::mutex settings_lock_;
  std::unique_ptr<Settings> settings_;
  std::shared_ptr<Call> call_;  // set in start, reset in stop
  guint64 listener_ = 0;
};

}  // namespace callstream
