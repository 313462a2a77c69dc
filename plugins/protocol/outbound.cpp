// String building instead of JsonBuilder: a frame per 20 ms of audio should
// cost one allocation, not a GObject tree and a generator.
#include "protocol/outbound.h"

#include <glib.h>

#include "protocol/base64.h"

namespace callstream::outbound {
namespace {

constexpr std::string_view kTwilioSidKey = "streamSid";
constexpr std::string_view kExotelSidKey = "stream_sid";

// The longest fixed text of any frame, quotes of its strings included.
constexpr size_t kFrameOverhead = 64;

void append_base64(std::string &out, const uint8_t *data, size_t size) {
  const size_t start = out.size();
  out.resize(start + base64_encoded_size(size));
  base64_encode_into(data, size, out.data() + start);
}

void append_escape(std::string &out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  constexpr char kHex[] = "0123456789abcdef";
  char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
  out.append(escape, sizeof escape);
}

// {"event":"EVENT","KEY":"SID" with room for @body_room more bytes.
std::string frame_head(std::string_view event, std::string_view sid_key,
                       std::string_view stream_sid, size_t body_room) {
  std::string out;
  out.reserve(kFrameOverhead + stream_sid.size() + body_room);
  out += R"({"event":")";
  out += event;
  out += R"(",")";
  out += sid_key;
  out += R"(":)";
  append_json_string(out, stream_sid);
  return out;
}

std::string media(std::string_view sid_key, std::string_view stream_sid,
                  std::string_view payload_b64) {
  std::string out = frame_head("media", sid_key, stream_sid, payload_b64.size());
  out += R"(,"media":{"payload":)";
  append_json_string(out, payload_b64);
  out += "}}";
  return out;
}

std::string media_audio(std::string_view sid_key, std::string_view stream_sid,
                        const uint8_t *audio, size_t size) {
  std::string out = frame_head("media", sid_key, stream_sid, base64_encoded_size(size));
  out += R"(,"media":{"payload":")";
  append_base64(out, audio, size);
  out += "\"}}";
  return out;
}

std::string mark(std::string_view sid_key, std::string_view stream_sid,
                 std::string_view name) {
  std::string out = frame_head("mark", sid_key, stream_sid, name.size());
  out += R"(,"mark":{"name":)";
  append_json_string(out, name);
  out += "}}";
  return out;
}

std::string clear(std::string_view sid_key, std::string_view stream_sid) {
  std::string out = frame_head("clear", sid_key, stream_sid, 0);
  out += '}';
  return out;
}

}  // namespace

void append_json_string(std::string &out, std::string_view text) {
  constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
  out += '"';
  const char *p = text.data();
  const char *end = p + text.size();
  const char *run = p;  // start of the bytes still to copy as they are
  while (p < end) {
    auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      // Rejects overlong forms, surrogates and code points above U+10FFFF.
      gunichar ch = g_utf8_get_char_validated(p, static_cast<gssize>(end - p));
      if (ch != static_cast<gunichar>(-1) && ch != static_cast<gunichar>(-2)) {
        p += g_utf8_skip[c];
        continue;
      }
      out.append(run, p);
      out += kReplacement;
    } else {
      out.append(run, p);
      append_escape(out, c);
    }
    ++p;
    run = p;
  }
  out.append(run, p);
  out += '"';
}

std::string base64_encode(const uint8_t *data, size_t size) {
  std::string out;
  out.reserve(base64_encoded_size(size));
  append_base64(out, data, size);
  return out;
}

std::string twilio_media(std::string_view stream_sid, std::string_view payload_b64) {
  return media(kTwilioSidKey, stream_sid, payload_b64);
}

std::string twilio_mark(std::string_view stream_sid, std::string_view name) {
  return mark(kTwilioSidKey, stream_sid, name);
}

std::string twilio_clear(std::string_view stream_sid) {
  return clear(kTwilioSidKey, stream_sid);
}

std::string twilio_media_audio(std::string_view stream_sid, const uint8_t *audio,
                               size_t size) {
  return media_audio(kTwilioSidKey, stream_sid, audio, size);
}

std::string exotel_media(std::string_view stream_sid, std::string_view payload_b64) {
  return media(kExotelSidKey, stream_sid, payload_b64);
}

std::string exotel_mark(std::string_view stream_sid, std::string_view name) {
  return mark(kExotelSidKey, stream_sid, name);
}

std::string exotel_clear(std::string_view stream_sid) {
  return clear(kExotelSidKey, stream_sid);
}

std::string exotel_media_audio(std::string_view stream_sid, const uint8_t *audio,
                               size_t size) {
  return media_audio(kExotelSidKey, stream_sid, audio, size);
}

}  // namespace callstream::outbound
