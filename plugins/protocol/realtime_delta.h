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

// A server event the bridge only logs, i.e. one parse_server_event reads as
// Unknown{type} (realtime::is_handled_event_type says no): response.created,
// the output item and content part events, transcript deltas, rate limits...
// About one in three of what the model sends in a short reply. Read with
// simdjson's DOM parser, which checks the whole text as json-glib does,
// keeping only the type; nullopt (json-glib decides, with its error
// messages) for anything else or anything doubtful: a text simdjson or
// json_fields::raw_text_problem refuses, a root that is not an object, no
// "type" or more than one, a "type" that is not a string, any \u escape (NUL
// and lone surrogates are where the two parsers could differ), a number
// simdjson cannot hold. The view is into this thread's parser: valid until
// its next read_unhandled_type().
std::optional<std::string_view> read_unhandled_type(std::string_view text);

}  // namespace callstream::realtime_delta
