// The TwiML documents callstreamd answers Twilio's voice webhooks with
// (https://www.twilio.com/docs/voice/twiml):
//
//   realtime    <Say>greeting</Say><Connect><Stream url="wss://HOST/media-stream">
//               <Parameter .../></Stream></Connect>: the call's audio comes to our
//               WebSocket, both ways, until the socket closes.
//   traditional <Gather input="speech dtmf"> with a <Say> prompt, posting what the
//               caller said to an action URL; if the caller says nothing, a <Say>
//               and a <Redirect> to the same action so the call never sits silent.
//
// Pure string building, any thread. Text and attribute values are escaped;
// control characters (not allowed in XML 1.0) become spaces and invalid
// UTF-8 is repaired, so a caller-supplied value can never break the document.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callstreamd {

// What the traditional flow says when the caller said nothing.
inline constexpr std::string_view kGatherNoInputText = "Sorry, I did not catch that.";

// The WebSocket URL Twilio should open for <Stream>: public_url (when set,
// "http(s)://host[:port][/prefix]") wins over the Host header; the scheme is
// wss when public_url is https or X-Forwarded-Proto says https, else ws.
// path gets a leading '/' if it lacks one; it must carry no query string
// (Twilio drops it; use <Parameter>). "" when neither gives a host.
std::string media_stream_url (const std::string &public_url, const char *host_header,
    const char *forwarded_proto, std::string_view path);

// <Response>[<Say>say_text</Say>]<Connect><Stream url=..>[<Parameter name= value=/>...]
// </Stream></Connect></Response>, with the XML declaration. Say is left out
// when say_text is empty.
std::string connect_stream_twiml (std::string_view say_text, std::string_view stream_url,
    const std::vector<std::pair<std::string, std::string>> &parameters);

// <Response><Gather input="speech dtmf" action=.. method="POST" speechTimeout="auto">
// [<Say>say_text</Say>]</Gather><Say>kGatherNoInputText</Say>
// <Redirect method="POST">action_url</Redirect></Response>.
std::string gather_twiml (std::string_view say_text, std::string_view action_url);

// text made safe for XML 1.0 character data and double-quoted attributes.
std::string xml_escape (std::string_view text);

}  // namespace callstreamd
