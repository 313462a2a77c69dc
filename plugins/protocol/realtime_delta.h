// The Realtime server event a bridge gets most (an audio delta, 50 times a
// second per call while the model speaks), read without building a JSON tree
// (simdjson On Demand, as plain_media does for the providers' media frames).
// The bridge tries this first and hands the text to
// realtime::parse_server_event whenever it says no.
//
// It only says yes for the plain GA shape, so that its answer is always the
// AudioDelta parse_server_event gives (checked by test-protocol-realtime-delta
// over a table and generated frames): a root object with "type"
// "response.output_audio.delta" or "response.audio.delta", a non-empty
// "item_id" string, a "delta" string, and optional "event_id" and
// "response_id" strings and "output_index" and "content_index" JSON
// integers; every key at most once; strings without NUL. Anything else
// (another key or event, null, a number as a string, a double, a repeated
// key, bad UTF-8, trailing bytes): nullopt, and json-glib decides, with its
// error messages.
//
// Threads: any; each thread keeps its own parser and buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace callstream::realtime_delta {

// Views into this thread's parser: valid until its next read().
struct PlainDelta {
  std::string_view response_id;  // "" when absent
  std::string_view item_id;
  int64_t output_index = 0;
  int64_t content_index = 0;
  std::string_view delta;        // base64, still encoded
};

std::optional<PlainDelta> read(std::string_view text);

}  // namespace callstream::realtime_delta
