// JSON text frames we send to the telephony side (shared PROTOCOLS.md
// sections 1 and 2): audio, marks and clears, for Twilio and Exotel. Built
// per outgoing audio chunk, so each is one string with its size reserved up
// front rather than a json-glib tree.
//
// Output is compact JSON with the members in this order, byte for byte (S,
// P, N stand for the escaped arguments):
//   twilio_media   {"event":"media","streamSid":"S","media":{"payload":"P"}}
//   twilio_mark    {"event":"mark","streamSid":"S","mark":{"name":"N"}}
//   twilio_clear   {"event":"clear","streamSid":"S"}
//   exotel_media   {"event":"media","stream_sid":"S","media":{"payload":"P"}}
//   exotel_mark    {"event":"mark","stream_sid":"S","mark":{"name":"N"}}
//   exotel_clear   {"event":"clear","stream_sid":"S"}
//
// Every string is escaped as append_json_string does, so any bytes make a
// valid frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace callstream::outbound {

std::string twilio_media(std::string_view stream_sid, std::string_view payload_b64);
std::string twilio_mark(std::string_view stream_sid, std::string_view name);
std::string twilio_clear(std::string_view stream_sid);

std::string exotel_media(std::string_view stream_sid, std::string_view payload_b64);
std::string exotel_mark(std::string_view stream_sid, std::string_view name);
std::string exotel_clear(std::string_view stream_sid);

// twilio_media / exotel_media with @audio base64-encoded straight into the
// frame: one allocation per chunk, no intermediate base64 string.
std::string twilio_media_audio(std::string_view stream_sid, const uint8_t *audio,
                               size_t size);
std::string exotel_media_audio(std::string_view stream_sid, const uint8_t *audio,
                               size_t size);

// Standard base64 (RFC 4648 alphabet, '=' padding, no line breaks).
std::string base64_encode(const uint8_t *data, size_t size);

// Appends @text to @out as a JSON string, quotes included. '"' and '\' get a
// backslash; \b \f \n \r \t are written so; every other byte below 0x20
// (NUL included) as \u00xx with lowercase hex; '/' and DEL as they are.
// Valid UTF-8 is copied as is; each byte that is not part of a valid UTF-8
// sequence (stray, truncated, overlong, surrogate, above U+10FFFF) becomes
// U+FFFD, so the frame is valid UTF-8 as a WebSocket text frame must be.
void append_json_string(std::string &out, std::string_view text);

}  // namespace callstream::outbound
