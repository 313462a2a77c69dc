// Entries are formatted straight into RESP, one allocation per entry, so the
// Redis thread only copies bytes to the socket.
#include "protocol/redis_entry.h"

#include <array>
#include <cassert>
#include <charconv>
#include <concepts>
#include <cstring>
#include <limits>
#include <optional>

namespace callstream {
namespace {

constexpr int kDefaultPort = 6379;
constexpr std::string_view kRedisScheme = "redis://";
constexpr std::string_view kUnixScheme = "unix://";

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (size_t i = 0; i < prefix.size(); i++) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view text, std::string &out) {
  out.clear();
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size())
      return false;
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0)
      return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

// A decimal number in [min, max], digits only (no sign, no spaces).
bool parse_number(std::string_view text, int min, int max, int &out) {
  if (text.empty() || text.size() > 10)
    return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max)
    return false;
  out = static_cast<int>(value);
  return true;
}

std::string quoted(std::string_view text) {
  constexpr size_t kMaxQuoted = 40;
  std::string out = "\"";
  for (char c : text.substr(0, kMaxQuoted))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kMaxQuoted)
    out += "...";
  out += '"';
  return out;
}

using UrlResult = std::variant<RedisUrl, RedisUrlError>;

UrlResult url_error(std::string reason) {
  return RedisUrlError{std::move(reason)};
}

// "[user]:password" -> user, password.
std::optional<std::string> parse_userinfo(std::string_view userinfo,
                                          RedisUrl &url) {
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos)
    return "a user needs a password: write user:password@ (or :password@ "
           "for the default user)";
  if (!percent_decode(userinfo.substr(0, colon), url.user) ||
      !percent_decode(userinfo.substr(colon + 1), url.password))
    return std::string("bad percent-encoding in the user or password");
  if (url.password.empty())
    return std::string("empty password after ':'");
  return std::nullopt;
}

// "db=N" is the only parameter understood.
std::optional<std::string> parse_query(std::string_view query, RedisUrl &url) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (param.empty())
      continue;
    if (param.substr(0, 3) != "db=")
      return "unknown parameter " + quoted(param) + " (only db=N is known)";
    if (!parse_number(param.substr(3), 0, std::numeric_limits<int>::max(),
                      url.db))
      return "database " + quoted(param.substr(3)) + " is not a number";
  }
  return std::nullopt;
}

UrlResult parse_tcp(std::string_view rest) {
  RedisUrl url;
  auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? "" : rest.substr(authority_end);

  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    if (auto problem = parse_userinfo(authority.substr(0, at), url))
      return url_error(*problem);
    authority = authority.substr(at + 1);
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return url_error("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return url_error("unexpected " + quoted(after) + " after the host");
      port_text = after.substr(1);
      if (port_text.empty())
        return url_error("empty port after ':'");
    }
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos)
      return url_error("an IPv6 host needs brackets: redis://[::1]:6379");
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty())
        return url_error("empty port after ':'");
    }
  }
  if (url.host.empty())
    return url_error("no host: expected redis://host:port");
  if (url.host.find('\0') != std::string::npos)
    return url_error("a NUL byte in the host");
  url.port = kDefaultPort;
  if (!port_text.empty() && !parse_number(port_text, 1, 65535, url.port))
    return url_error("port " + quoted(port_text) +
                     " is not a number from 1 to 65535");

  std::string_view path = tail.substr(0, tail.find('?'));
  auto question = tail.find('?');
  if (path.size() > 1) {
    if (!parse_number(path.substr(1), 0, std::numeric_limits<int>::max(),
                      url.db))
      return url_error("database " + quoted(path.substr(1)) +
                       " is not a number (redis://host:port/N)");
  }
  if (question != std::string_view::npos) {
    if (auto problem = parse_query(tail.substr(question + 1), url))
      return url_error(*problem);
  }
  return url;
}

UrlResult parse_unix(std::string_view rest) {
  RedisUrl url;
  url.transport = RedisUrl::Transport::kUnix;
  url.host.clear();
  url.port = 0;
  auto slash = rest.find('/');
  auto at = rest.substr(0, slash).rfind('@');
  if (at != std::string_view::npos) {
    if (auto problem = parse_userinfo(rest.substr(0, at), url))
      return url_error(*problem);
    rest = rest.substr(at + 1);
  }
  if (rest.empty() || rest.front() != '/')
    return url_error("a socket path must be absolute: unix:///path/redis.sock");
  auto question = rest.find('?');
  if (!percent_decode(rest.substr(0, question), url.socket_path))
    return url_error("bad percent-encoding in the socket path");
  if (url.socket_path.find('\0') != std::string::npos)
    return url_error("a NUL byte (%00) in the socket path");
  if (url.socket_path.size() < 2)
    return url_error("no socket path: expected unix:///path/redis.sock");
  if (question != std::string_view::npos) {
    if (auto problem = parse_query(rest.substr(question + 1), url))
      return url_error(*problem);
  }
  return url;
}

void append_length_prefixed(std::string &out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

// ---- RESP ----

void append_bulk_header(std::string &out, size_t size) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, size).ptr;
  out += '$';
  out.append(digits, end);
  out += "\r\n";
}

void append_bulk(std::string &out, std::string_view arg) {
  append_bulk_header(out, arg.size());
  out += arg;
  out += "\r\n";
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_size(size_t bytes) { return (bytes + 2) / 3 * 4; }

// Standard alphabet, padded: what g_base64_encode and Python's b64decode use.
void append_base64(std::string &out, std::span<const uint8_t> data) {
  size_t at = out.size();
  out.resize(at + base64_size(data.size()));
  char *p = out.data() + at;
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    *p++ = kBase64Alphabet[v >> 18];
    *p++ = kBase64Alphabet[(v >> 12) & 63];
    *p++ = kBase64Alphabet[(v >> 6) & 63];
    *p++ = kBase64Alphabet[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = data[i] << 16;
    if (i + 1 < data.size())
      v |= data[i + 1] << 8;
    *p++ = kBase64Alphabet[v >> 18];
    *p++ = kBase64Alphabet[(v >> 12) & 63];
    *p++ = i + 1 < data.size() ? kBase64Alphabet[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
}

size_t decimal_digits(size_t value) {
  size_t digits = 1;
  while (value >= 10) {
    value /= 10;
    digits++;
  }
  return digits;
}

char *write_decimal(char *out, size_t value) {
  return std::to_chars(out, out + 20, value).ptr;
}

// A field name already in RESP, made at compile time: names are constants,
// so no entry pays for their length prefix.
struct RespName {
  template <size_t N>
  consteval RespName(const char (&name)[N]) {
    static_assert(N - 1 < 100 && N + 7 <= sizeof bytes);
    const size_t length = N - 1;
    bytes[size++] = '$';
    if (length >= 10)
      bytes[size++] = static_cast<char>('0' + length / 10);
    bytes[size++] = static_cast<char>('0' + length % 10);
    bytes[size++] = '\r';
    bytes[size++] = '\n';
    for (size_t i = 0; i < length; i++)
      bytes[size++] = name[i];
    bytes[size++] = '\r';
    bytes[size++] = '\n';
  }
  std::string_view view() const { return {bytes, size}; }

  char bytes[32] = {};
  size_t size = 0;
};

// The schema's field names. Static: the builder keeps views of them.
constexpr RespName kEvent("event");
constexpr RespName kInteractionId("interaction_id");
constexpr RespName kStreamSid("stream_sid");
constexpr RespName kProvider("provider");
constexpr RespName kAccountSid("account_sid");
constexpr RespName kFrom("from");
constexpr RespName kTo("to");
constexpr RespName kCustomParameters("custom_parameters");
constexpr RespName kSampleRate("sample_rate");
constexpr RespName kChannels("channels");
constexpr RespName kEncoding("encoding");
constexpr RespName kPayload("payload");
constexpr RespName kSeq("seq");
constexpr RespName kTimestampMs("timestamp_ms");
constexpr RespName kAudio("audio");
constexpr RespName kFrames("frames");
constexpr RespName kDropped("dropped");
constexpr RespName kReason("reason");
constexpr RespName kStream("stream");

// An XADD gathered argument by argument, then written in one pass into one
// allocation of the exact size: RESP puts the count and each length first.
class XaddBuilder {
 public:
  explicit XaddBuilder(const RedisStreamTarget &target) {
    add("XADD");
    add(target.key);
    if (target.maxlen > 0) {
      add("MAXLEN");
      add("~");
      add_number(target.maxlen);
    }
    add("*");
  }

  // Names must outlive the builder: no temporaries.
  void field(const RespName &&, std::string_view) = delete;
  template <std::integral Integer>
  void field(const RespName &&, Integer) = delete;
  void base64_field(const RespName &&, std::span<const uint8_t>) = delete;

  void field(const RespName &name, std::string_view value) {
    add_encoded(name.view());
    add(value);
  }
  template <std::integral Integer>
  void field(const RespName &name, Integer value) {
    add_encoded(name.view());
    add_number(value);
  }
  // At most one per entry: the encoded text lives in the builder.
  void base64_field(const RespName &name, std::span<const uint8_t> data) {
    add_encoded(name.view());
    base64_.clear();
    append_base64(base64_, data);
    add(base64_);
  }

  std::string take() const {
    std::string command;
    take_into(command);
    return command;
  }

  // Overwrites @command, reusing its capacity.
  void take_into(std::string &command) const {
    size_t size = 3 + decimal_digits(argc_);
    for (size_t i = 0; i < argc_; i++)
      size += args_[i].size() +
              (encoded_[i] ? 0 : 5 + decimal_digits(args_[i].size()));
    command.resize(size);
    char *p = command.data();
    *p++ = '*';
    p = write_decimal(p, argc_);
    *p++ = '\r';
    *p++ = '\n';
    for (size_t i = 0; i < argc_; i++) {
      if (encoded_[i]) {
        std::memcpy(p, args_[i].data(), args_[i].size());
        p += args_[i].size();
        continue;
      }
      *p++ = '$';
      p = write_decimal(p, args_[i].size());
      *p++ = '\r';
      *p++ = '\n';
      if (!args_[i].empty())  // an empty span's data() may be null
        std::memcpy(p, args_[i].data(), args_[i].size());
      p += args_[i].size();
      *p++ = '\r';
      *p++ = '\n';
    }
    assert(p == command.data() + command.size());
  }

 private:
  void add(std::string_view arg) {
    assert(argc_ < kMaxArgs);
    encoded_[argc_] = false;
    args_[argc_++] = arg;
  }
  void add_encoded(std::string_view resp) {
    assert(argc_ < kMaxArgs);
    encoded_[argc_] = true;
    args_[argc_++] = resp;
  }
  template <std::integral Integer>
  void add_number(Integer value) {
    assert(numbers_used_ < kMaxNumbers);
    char *digits = numbers_[numbers_used_++].data();
    auto end = std::to_chars(digits, digits + 24, value).ptr;
    add(std::string_view(digits, end - digits));
  }

  static constexpr size_t kMaxArgs = 40;
  static constexpr size_t kMaxNumbers = 8;
  std::array<std::string_view, kMaxArgs> args_;
  std::array<bool, kMaxArgs> encoded_;  // args_[i] is RESP already
  size_t argc_ = 0;
  std::array<std::array<char, 24>, kMaxNumbers> numbers_;
  size_t numbers_used_ = 0;
  std::string base64_;
};

void append_json_string(std::string &out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string json_object(
    const std::vector<std::pair<std::string, std::string>> &members) {
  std::string json = "{";
  for (const auto &[name, value] : members) {
    if (json.size() > 1)
      json += ',';
    append_json_string(json, name);
    json += ':';
    append_json_string(json, value);
  }
  json += '}';
  return json;
}

}  // namespace

std::string RedisUrl::display() const {
  std::string out;
  if (transport == Transport::kUnix) {
    out = "unix://";
    if (!password.empty())
      out += user + ":***@";
    out += socket_path;
    if (db != 0)
      out += "?db=" + std::to_string(db);
    return out;
  }
  out = "redis://";
  if (!password.empty())
    out += user + ":***@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ':' + std::to_string(port);
  if (db != 0)
    out += '/' + std::to_string(db);
  return out;
}

std::string RedisUrl::connection_key() const {
  std::string key = transport == Transport::kUnix ? "unix" : "tcp";
  append_length_prefixed(key, host);
  append_length_prefixed(key, std::to_string(port));
  append_length_prefixed(key, socket_path);
  append_length_prefixed(key, user);
  append_length_prefixed(key, password);
  append_length_prefixed(key, std::to_string(db));
  return key;
}

std::variant<RedisUrl, RedisUrlError> parse_redis_url(std::string_view url) {
  if (starts_with_nocase(url, kRedisScheme))
    return parse_tcp(url.substr(kRedisScheme.size()));
  if (starts_with_nocase(url, kUnixScheme))
    return parse_unix(url.substr(kUnixScheme.size()));
  if (starts_with_nocase(url, "rediss://"))
    return url_error("TLS (rediss://) is not supported");
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return url_error("not a URL: expected redis://host:port or "
                     "unix:///path/redis.sock");
  return url_error("unsupported scheme " + quoted(url.substr(0, scheme_end)) +
                   " (use redis:// or unix://)");
}

std::string redact_redis_url(std::string_view url) {
  auto scheme_end = url.find("://");
  size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  auto at = url.rfind('@');
  if (at == std::string_view::npos || at < start)
    return std::string(url);
  auto colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at)
    return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" +
         std::string(url.substr(at));
}

std::string expand_stream_key(std::string_view key_template,
                              std::string_view call_sid,
                              std::string_view stream_sid) {
  static constexpr std::string_view kCallSid = "{call_sid}";
  static constexpr std::string_view kStreamSid = "{stream_sid}";
  std::string key;
  key.reserve(key_template.size() + call_sid.size() + stream_sid.size());
  size_t i = 0;
  while (i < key_template.size()) {
    std::string_view rest = key_template.substr(i);
    if (rest.starts_with(kCallSid)) {
      key += call_sid;
      i += kCallSid.size();
    } else if (rest.starts_with(kStreamSid)) {
      key += stream_sid;
      i += kStreamSid.size();
    } else {
      key += key_template[i++];
    }
  }
  return key;
}

std::string format_redis_command(std::span<const std::string_view> args) {
  size_t size = 16;
  for (std::string_view arg : args)
    size += arg.size() + 16;
  std::string command;
  command.reserve(size);
  command += '*';
  command += std::to_string(args.size());
  command += "\r\n";
  for (std::string_view arg : args)
    append_bulk(command, arg);
  return command;
}

std::string format_redis_command(std::initializer_list<std::string_view> args) {
  return format_redis_command(std::span<const std::string_view>(args.begin(),
                                                                args.size()));
}

std::vector<RedisHandshakeCommand> redis_handshake(const RedisUrl &url) {
  std::vector<RedisHandshakeCommand> commands;
  if (!url.user.empty())
    commands.push_back({RedisHandshakeStep::kAuth,
                        format_redis_command({"AUTH", url.user, url.password})});
  else if (!url.password.empty())
    commands.push_back(
        {RedisHandshakeStep::kAuth, format_redis_command({"AUTH", url.password})});
  if (url.db != 0)
    commands.push_back({RedisHandshakeStep::kSelect,
                        format_redis_command({"SELECT", std::to_string(url.db)})});
  commands.push_back({RedisHandshakeStep::kPing, format_redis_command({"PING"})});
  return commands;
}

const char *redis_handshake_step_name(RedisHandshakeStep step) {
  switch (step) {
    case RedisHandshakeStep::kAuth:
      return "AUTH";
    case RedisHandshakeStep::kSelect:
      return "SELECT";
    case RedisHandshakeStep::kPing:
      break;
  }
  return "PING";
}

bool redis_handshake_refused(RedisHandshakeStep step, std::string_view error) {
  if (step != RedisHandshakeStep::kPing)
    return true;
  // PING is refused only for want of credentials; -LOADING and the like pass.
  return error.starts_with("NOAUTH") || error.starts_with("WRONGPASS") ||
         error.starts_with("NOPERM");
}

const char *redis_audio_encoding_name(RedisAudioEncoding encoding) {
  return encoding == RedisAudioEncoding::kMulaw ? "mulaw" : "pcm16";
}

const char *redis_payload_name(RedisPayload payload) {
  return payload == RedisPayload::kBase64 ? "base64" : "binary";
}

std::string format_call_start_entry(const RedisStreamTarget &target,
                                    const RedisCallIds &ids,
                                    const RedisCallStart &start) {
  const std::pair<const RespName *, const std::string *> optional_fields[] = {
      {&kProvider, &start.provider},
      {&kAccountSid, &start.account_sid},
      {&kFrom, &start.from},
      {&kTo, &start.to},
  };
  std::string custom = start.custom_parameters.empty()
                           ? std::string()
                           : json_object(start.custom_parameters);
  XaddBuilder xadd(target);
  xadd.field(kEvent, "call_start");
  xadd.field(kInteractionId, ids.interaction_id);
  xadd.field(kStreamSid, ids.stream_sid);
  for (const auto &[name, value] : optional_fields) {
    if (!value->empty())
      xadd.field(*name, *value);
  }
  if (!custom.empty())
    xadd.field(kCustomParameters, custom);
  xadd.field(kSampleRate, start.format.sample_rate);
  xadd.field(kChannels, start.format.channels);
  xadd.field(kEncoding, redis_audio_encoding_name(start.format.encoding));
  xadd.field(kPayload, redis_payload_name(start.payload));
  return xadd.take();
}

std::string format_audio_entry(const RedisStreamTarget &target,
                               const RedisCallIds &ids,
                               const RedisAudioFrame &frame,
                               RedisPayload payload) {
  std::string command;
  format_audio_entry(command, target, ids, frame, payload);
  return command;
}

void format_audio_entry(std::string &command, const RedisStreamTarget &target,
                        const RedisCallIds &ids, const RedisAudioFrame &frame,
                        RedisPayload payload) {
  XaddBuilder xadd(target);
  xadd.field(kEvent, "audio");
  xadd.field(kInteractionId, ids.interaction_id);
  xadd.field(kStreamSid, ids.stream_sid);
  xadd.field(kSeq, frame.seq);
  xadd.field(kTimestampMs, frame.timestamp_ms);
  xadd.field(kSampleRate, frame.format.sample_rate);
  xadd.field(kChannels, frame.format.channels);
  xadd.field(kEncoding, redis_audio_encoding_name(frame.format.encoding));
  if (payload == RedisPayload::kBase64) {
    xadd.base64_field(kAudio, frame.audio);
  } else {
    xadd.field(kAudio,
               std::string_view(reinterpret_cast<const char *>(frame.audio.data()),
                                frame.audio.size()));
  }
  xadd.take_into(command);
}

std::string format_call_end_entry(const RedisStreamTarget &target,
                                  const RedisCallIds &ids,
                                  const RedisCallEnd &end) {
  XaddBuilder xadd(target);
  xadd.field(kEvent, "call_end");
  xadd.field(kInteractionId, ids.interaction_id);
  xadd.field(kStreamSid, ids.stream_sid);
  xadd.field(kFrames, end.frames);
  xadd.field(kDropped, end.dropped);
  xadd.field(kReason, end.reason);
  return xadd.take();
}

std::string format_index_entry(const RedisStreamTarget &index,
                               const RedisCallIds &ids, std::string_view event,
                               std::string_view call_stream) {
  XaddBuilder xadd(index);
  xadd.field(kEvent, event);
  xadd.field(kInteractionId, ids.interaction_id);
  xadd.field(kStreamSid, ids.stream_sid);
  xadd.field(kStream, call_stream);
  return xadd.take();
}

}  // namespace callstream
