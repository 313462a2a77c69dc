// The client's half of the RFC 6455 opening handshake (section 4.1), for the
// WebSocket clients that do not use libsoup's: the realtimebridge's socket to
// the Realtime API and callstream-load's calls. The request is written here;
// the answer is read with libsoup's header parser and checked as 4.1 says.
#pragma once

#include <glib.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callstream::websocket {

// RFC 6455 4.2.2: the Sec-WebSocket-Accept a server answers @key with
// (SHA-1 of the key and the protocol's GUID, in base64).
std::string accept_for_key(std::string_view key);

// A fresh Sec-WebSocket-Key: 16 bytes from the kernel's random source
// (getrandom), in base64.
std::string new_client_key();

// Fills @out with bytes from the kernel's random source (getrandom, which
// blocks only before the pool is first seeded at boot).
void fill_random(void *out, size_t size);

// The GET request that opens a WebSocket: @target is the path and query,
// @host the Host header's value (host, and ":port" when not the default).
std::string client_request(std::string_view host, std::string_view target,
                           std::string_view key,
                           const std::vector<std::pair<std::string, std::string>> &headers = {});

struct HandshakeAnswer {
  enum class Status {
    NeedMore,  // no blank line yet: read more (unless @bytes is already too long)
    Accepted,  // 101 with everything 4.1 asks for; frames start at header_size
    Refused,   // a complete answer that is not 101: http_status and phrase say which
    Invalid,   // unreadable, too long, or a 101 that breaks 4.1: reason says how
  };
  Status status = Status::NeedMore;
  size_t header_size = 0;  // Accepted: the bytes before the first frame
  guint http_status = 0;   // Refused
  std::string phrase;      // Refused: the reason phrase, maybe empty
  std::string reason;      // Invalid
};

// The longest answer head read before giving up.
constexpr size_t kMaxAnswerHead = 16 * 1024;

// Reads the server's answer to a request sent with @key from the start of
// @bytes. No extension and no subprotocol were offered, so an answer that
// names one is Invalid.
HandshakeAnswer read_handshake_answer(std::string_view bytes, std::string_view key);

}  // namespace callstream::websocket
