// The client's half of the RFC 6455 opening handshake: the request's lines,
// the key, and every way the server's answer can fall short of section 4.1.
#include "protocol/websocket_handshake.h"

#include <glib.h>

#include <set>
#include <string>

using namespace callstream::websocket;
using Status = HandshakeAnswer::Status;

namespace {

// RFC 6455 1.3's example.
constexpr const char *kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char *kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string answer_101(const std::string &extra = "", const char *accept = kRfcAccept) {
  return std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: ") +
         accept + "\r\n" + extra + "\r\n";
}

void test_rfc_accept() {
  const std::string accept = accept_for_key(kRfcKey);
  g_assert_cmpstr(accept.c_str(), ==, kRfcAccept);
}

// 16 bytes in base64, a new one each time.
void test_client_key() {
  std::set<std::string> keys;
  for (int i = 0; i < 100; i++) {
    const std::string key = new_client_key();
    g_assert_cmpuint(key.size(), ==, 24);
    gsize size = 0;
    g_autofree guchar *raw = g_base64_decode(key.c_str(), &size);
    g_assert_cmpuint(size, ==, 16);
    keys.insert(key);
  }
  g_assert_cmpuint(keys.size(), ==, 100);
}

void test_request() {
  const std::string request = client_request("api.example.com", "/v1/realtime?model=m",
                                             kRfcKey, {{"Authorization", "Bearer k"}});
  g_assert_cmpstr(request.c_str(), ==,
                  "GET /v1/realtime?model=m HTTP/1.1\r\n"
                  "Host: api.example.com\r\n"
                  "Upgrade: websocket\r\n"
                  "Connection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n"
                  "Authorization: Bearer k\r\n"
                  "\r\n");
}

// Frames may follow the blank line in the same read: header_size says where.
void test_accepted() {
  const std::string head = answer_101();
  const HandshakeAnswer answer = read_handshake_answer(head + "\x81\x02{}", kRfcKey);
  g_assert_cmpint(static_cast<int>(answer.status), ==, static_cast<int>(Status::Accepted));
  g_assert_cmpuint(answer.header_size, ==, head.size());
  // Header names and the Upgrade and Connection values in any case.
  const HandshakeAnswer mixed = read_handshake_answer(
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
      "connection: keep-alive, upgrade\r\nsec-websocket-accept: " +
          std::string(kRfcAccept) + "\r\n\r\n",
      kRfcKey);
  g_assert_cmpint(static_cast<int>(mixed.status), ==, static_cast<int>(Status::Accepted));
}

void test_need_more() {
  const std::string head = answer_101();
  for (size_t cut = 0; cut < head.size(); cut++) {
    const HandshakeAnswer answer = read_handshake_answer(head.substr(0, cut), kRfcKey);
    g_assert_cmpint(static_cast<int>(answer.status), ==, static_cast<int>(Status::NeedMore));
  }
}

void test_refused() {
  const HandshakeAnswer answer = read_handshake_answer(
      "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", kRfcKey);
  g_assert_cmpint(static_cast<int>(answer.status), ==, static_cast<int>(Status::Refused));
  g_assert_cmpuint(answer.http_status, ==, 401);
  g_assert_cmpstr(answer.phrase.c_str(), ==, "Unauthorized");
}

struct InvalidCase {
  const char *path;
  std::string bytes;
  const char *reason;
};

void test_invalid(gconstpointer data) {
  const auto &c = *static_cast<const InvalidCase *>(data);
  const HandshakeAnswer answer = read_handshake_answer(c.bytes, kRfcKey);
  g_assert_cmpint(static_cast<int>(answer.status), ==, static_cast<int>(Status::Invalid));
  g_assert_cmpstr(answer.reason.c_str(), ==, c.reason);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/websocket-handshake/rfc-accept", test_rfc_accept);
  g_test_add_func("/websocket-handshake/client-key-random-16-bytes", test_client_key);
  g_test_add_func("/websocket-handshake/request", test_request);
  g_test_add_func("/websocket-handshake/accepted", test_accepted);
  g_test_add_func("/websocket-handshake/need-more-until-blank-line", test_need_more);
  g_test_add_func("/websocket-handshake/refused", test_refused);
  static const InvalidCase kInvalid[] = {
      {"/websocket-handshake/invalid/wrong-accept",
       answer_101("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
       "handshake answer without the right Sec-WebSocket-Accept"},
      {"/websocket-handshake/invalid/no-accept",
       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       "handshake answer without the right Sec-WebSocket-Accept"},
      {"/websocket-handshake/invalid/no-upgrade",
       "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           std::string(kRfcAccept) + "\r\n\r\n",
       "handshake answer without \"Upgrade: websocket\""},
      {"/websocket-handshake/invalid/no-connection-upgrade",
       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " +
           std::string(kRfcAccept) + "\r\n\r\n",
       "handshake answer without \"Connection: Upgrade\""},
      {"/websocket-handshake/invalid/extension-not-offered",
       answer_101("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
       "handshake answer names an extension that was not offered"},
      {"/websocket-handshake/invalid/subprotocol-not-offered",
       answer_101("Sec-WebSocket-Protocol: chat\r\n"),
       "handshake answer names a subprotocol that was not offered"},
      {"/websocket-handshake/invalid/not-http", "SSH-2.0-OpenSSH\r\n\r\n",
       "unreadable handshake answer"},
      {"/websocket-handshake/invalid/head-over-16-kib",
       "HTTP/1.1 101 Switching Protocols\r\nX: " + std::string(kMaxAnswerHead, 'x'),
       "handshake answer head over 16 KiB"},
  };
  for (const InvalidCase &c : kInvalid)
    g_test_add_data_func(c.path, &c, test_invalid);
  return g_test_run();
}
