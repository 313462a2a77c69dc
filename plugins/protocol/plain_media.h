// The media frame providers send 50 times a second per call, and the mark a
// provider echoes for every chunk sent to it, read without building a JSON
// tree (simdjson On Demand: about 20 times cheaper than json-glib, the
// largest cost of a frame on the ingest path; see ARCHITECTURE.md). Internal
// to protocol/: exotel.cpp and twilio.cpp try this first and parse with
// json-glib whenever it says no.
//
// It only says yes for the plain shapes both providers document, so that its
// answer is always the one json-glib's full parser gives (checked by the
// fuzz-plain-media target): a root object with "event": "media", an optional
// sequence number and stream id, and a "media" object with a "payload"
// string and optional "chunk", "timestamp", "track" and stream id; or with
// "event": "mark", the same optional sequence number and stream id, and a
// "mark" object with a "name" string and an optional stream id. Numbers as
// JSON integers or decimal strings; every key at most once and in one
// spelling; strings without NUL. Anything else (another key, null, a double,
// a repeated key, bad UTF-8, trailing bytes): nullopt, and the full parser
// decides, with its error messages.
//
// Threads: any; each thread keeps its own parser and buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace callstream::plain_media {

struct PlainMedia {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;           // the root's, else the media object's
  std::optional<std::string> track;
  std::optional<int64_t> chunk;
  std::optional<int64_t> timestamp;
  std::string payload;              // base64, still encoded
};

struct PlainMark {
  std::optional<int64_t> sequence_number;
  std::string stream_sid;           // the root's, else the mark object's
  std::string name;
};

using PlainMessage = std::variant<PlainMedia, PlainMark>;

// A media frame only (a mark: nullopt).
std::optional<PlainMedia> read(std::string_view text);

// A media frame or a mark echo.
std::optional<PlainMessage> read_media_or_mark(std::string_view text);

// @plain as a provider's message: its Media and Mark structs (Twilio's Media
// also has the track, "inbound" when absent: its default is kept).
template <typename Message, typename Media, typename Mark>
Message to_message(PlainMessage &&plain) {
  if (auto *mark = std::get_if<PlainMark>(&plain))
    return Mark{mark->sequence_number, std::move(mark->stream_sid), std::move(mark->name)};
  auto &media = std::get<PlainMedia>(plain);
  Media message;
  message.sequence_number = media.sequence_number;
  message.stream_sid = std::move(media.stream_sid);
  if constexpr (requires { message.track; }) {
    if (media.track)
      message.track = std::move(*media.track);
  }
  message.chunk = media.chunk;
  message.timestamp_ms = media.timestamp;
  message.payload = std::move(media.payload);
  return message;
}

}  // namespace callstream::plain_media
