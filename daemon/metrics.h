// The /metrics registry: counters and gauges in the Prometheus text
// exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), each
// series with at most one label, provider:
//
//   # HELP callstreamd_frames_received_total Media frames received from providers.
//   # TYPE callstreamd_frames_received_total counter
//   callstreamd_frames_received_total{provider="exotel"} 12
//
// Threads: series are registered at start-up (any thread, under a lock) and
// live as long as the registry; Counter and Gauge updates are lock-free
// atomics, safe from any thread (the reactor, streaming threads). render()
// takes the registry lock and runs the callback gauges on its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace callstreamd {

// A value that only goes up: events, frames, bytes.
class Counter {
 public:
  void inc (uint64_t n = 1) noexcept { value_.fetch_add (n, std::memory_order_relaxed); }
  uint64_t value () const noexcept { return value_.load (std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_ { 0 };
};

// A value that goes up and down: open connections, queue depth.
class Gauge {
 public:
  void set (int64_t value) noexcept { value_.store (value, std::memory_order_relaxed); }
  void add (int64_t n = 1) noexcept { value_.fetch_add (n, std::memory_order_relaxed); }
  void sub (int64_t n = 1) noexcept { value_.fetch_sub (n, std::memory_order_relaxed); }
  int64_t value () const noexcept { return value_.load (std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_ { 0 };
};

// A series several modules count into: its name and help text in one place
// (registering one name with two help texts is a programming error).
struct MetricName {
  const char *name;
  const char *help;
};
inline constexpr MetricName kWebhooksTotal { "callstreamd_webhooks_total",
  "Provider webhooks answered (Twilio TwiML requests, ElevenLabs post-call)." };
inline constexpr MetricName kRequestsRefusedTotal { "callstreamd_requests_refused_total",
  "Requests refused (auth, limits, not an upgrade)." };

class Metrics {
 public:
  // The Content-Type of what render() returns.
  static constexpr const char *kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // The series name{provider="..."} (no label when provider is empty),
  // created on first call; a later call with the same name and provider
  // returns the same object. Names follow [a-zA-Z_:][a-zA-Z0-9_:]*; counter
  // names should end in _total. A bad name, or a name reused with another
  // type or help text, is a programming error: g_error.
  Counter &counter (std::string_view name, std::string_view help, std::string_view provider = {});
  Gauge &gauge (std::string_view name, std::string_view help, std::string_view provider = {});
  Counter &counter (const MetricName &metric, std::string_view provider = {})
  {
    return counter (metric.name, metric.help, provider);
  }

  // A gauge whose value read() computes at each render (calls in progress,
  // Redis reachable as 0/1). read runs on the rendering thread with the
  // registry locked: keep it quick, thread-safe, and off this registry.
  // Registering the same name and provider twice is a programming error.
  void gauge_callback (std::string_view name, std::string_view help,
      std::function<double ()> read, std::string_view provider = {});

  // The same for a counter kept elsewhere (totals summed over the calls):
  // read() must never go down.
  void counter_callback (std::string_view name, std::string_view help,
      std::function<double ()> read, std::string_view provider = {});

  // Every family in name order, each with # HELP and # TYPE, then its series
  // in provider order (the unlabelled one first). "" when nothing is registered.
  std::string render () const;

 private:
  enum class Type { kCounter, kGauge };

  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double ()> read;
  };

  struct Family {
    Type type;
    std::string help;
    std::map<std::string, Series, std::less<>> series;  // by provider
  };

  Series &series (Type type, std::string_view name, std::string_view help,
      std::string_view provider);

  mutable std::mutex lock_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace callstreamd
