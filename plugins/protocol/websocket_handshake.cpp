#include "protocol/websocket_handshake.h"

#include <libsoup/soup.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace callstream::websocket {

namespace {

constexpr const char *kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

HandshakeAnswer invalid(std::string reason) {
  HandshakeAnswer answer;
  answer.status = HandshakeAnswer::Status::Invalid;
  answer.reason = std::move(reason);
  return answer;
}

}  // namespace

std::string accept_for_key(std::string_view key) {
  const std::string text = std::string(key) + kGuid;
  guint8 digest[20];
  gsize digest_size = sizeof digest;
  g_autoptr(GChecksum) sha1 = g_checksum_new(G_CHECKSUM_SHA1);
  g_checksum_update(sha1, reinterpret_cast<const guchar *>(text.data()),
                    static_cast<gssize>(text.size()));
  g_checksum_get_digest(sha1, digest, &digest_size);
  g_autofree gchar *accept = g_base64_encode(digest, digest_size);
  return accept;
}

void fill_random(void *out, size_t size) {
  auto *bytes = static_cast<uint8_t *>(out);
  while (size > 0) {
    const ssize_t got = getrandom(bytes, size, 0);
    if (got < 0) {
      // EINTR only: the flags ask for nothing that can fail otherwise.
      g_assert(errno == EINTR);
      continue;
    }
    bytes += got;
    size -= static_cast<size_t>(got);
  }
}

std::string new_client_key() {
  guint8 nonce[16];
  fill_random(nonce, sizeof nonce);
  g_autofree gchar *key = g_base64_encode(nonce, sizeof nonce);
  return key;
}

std::string client_request(std::string_view host, std::string_view target,
                           std::string_view key,
                           const std::vector<std::pair<std::string, std::string>> &headers) {
  std::string request;
  request.reserve(256);
  request.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  request.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  request.append(key).append("\r\nSec-WebSocket-Version: 13\r\n");
  for (const auto &[name, value] : headers)
    request.append(name).append(": ").append(value).append("\r\n");
  request.append("\r\n");
  return request;
}

HandshakeAnswer read_handshake_answer(std::string_view bytes, std::string_view key) {
  const size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() > kMaxAnswerHead)
      return invalid("handshake answer head over 16 KiB");
    return {};
  }
  const size_t header_size = end + 4;
  g_autoptr(SoupMessageHeaders) headers =
      soup_message_headers_new(SOUP_MESSAGE_HEADERS_RESPONSE);
  guint status = 0;
  g_autofree gchar *phrase = nullptr;
  if (!soup_headers_parse_response(bytes.data(), static_cast<int>(header_size), headers,
                                   nullptr, &status, &phrase))
    return invalid("unreadable handshake answer");
  if (status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
    HandshakeAnswer answer;
    answer.status = HandshakeAnswer::Status::Refused;
    answer.http_status = status;
    answer.phrase = phrase != nullptr ? phrase : "";
    return answer;
  }
  if (!soup_message_headers_header_equals(headers, "Upgrade", "websocket"))
    return invalid("handshake answer without \"Upgrade: websocket\"");
  if (!soup_message_headers_header_contains(headers, "Connection", "upgrade"))
    return invalid("handshake answer without \"Connection: Upgrade\"");
  const char *accept = soup_message_headers_get_one(headers, "Sec-WebSocket-Accept");
  if (accept == nullptr || accept_for_key(key) != accept)
    return invalid("handshake answer without the right Sec-WebSocket-Accept");
  if (soup_message_headers_get_one(headers, "Sec-WebSocket-Extensions") != nullptr)
    return invalid("handshake answer names an extension that was not offered");
  if (soup_message_headers_get_one(headers, "Sec-WebSocket-Protocol") != nullptr)
    return invalid("handshake answer names a subprotocol that was not offered");
  HandshakeAnswer answer;
  answer.status = HandshakeAnswer::Status::Accepted;
  answer.header_size = header_size;
  return answer;
}

}  // namespace callstream::websocket
