// Entries are formatted straight into RESP, one allocation per entry, so the
// Redis thread only copies bytes to the socket.
#include "protocol/redis_entry.h"

#include <json-glib/json-glib.h>

#include <array>
#include <cassert>
#include <charconv>
#include <concepts>
#include <cstring>
#include <limits>
#include <optional>

#include "protocol/base64.h"

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

// Standard alphabet, padded: what g_base64_encode and Python's b64decode use.
void append_base64(std::string &out, std::span<const uint8_t> data) {
  const size_t at = out.size();
  out.resize(at + base64_encoded_size(data.size()));
  base64_encode_into(data.data(), data.size(), out.data() + at);
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
  // Only the fields added later: a run of arguments to splice into an XADD.
  struct FieldsOnly {};
  explicit XaddBuilder(FieldsOnly) {}

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
    command.resize(3 + decimal_digits(argc_) + args_size());
    char *p = command.data();
    *p++ = '*';
    p = write_decimal(p, argc_);
    *p++ = '\r';
    *p++ = '\n';
    p = write_args(p);
    assert(p == command.data() + command.size());
  }

  // The arguments alone, each in RESP, after what @out holds.
  void append_args(std::string &out) const {
    const size_t at = out.size();
    out.resize(at + args_size());
    write_args(out.data() + at);
  }

  size_t argc() const { return argc_; }

 private:
  size_t args_size() const {
    size_t size = 0;
    for (size_t i = 0; i < argc_; i++)
      size += args_[i].size() +
              (encoded_[i] ? 0 : 5 + decimal_digits(args_[i].size()));
    return size;
  }

  char *write_args(char *p) const {
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
    return p;
  }

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
  RedisAudioEntryWriter(target, ids, payload).format(command, frame);
}

// The fields of an audio entry, in the schema's order: event, interaction_id,
// stream_sid (the head, with the XADD before them), seq, timestamp_ms (per
// frame), sample_rate, channels, encoding (per format), audio.
RedisAudioEntryWriter::RedisAudioEntryWriter(const RedisStreamTarget &target,
                                             const RedisCallIds &ids, RedisPayload payload)
    : payload_(payload) {
  XaddBuilder head(target);
  head.field(kEvent, "audio");
  head.field(kInteractionId, ids.interaction_id);
  head.field(kStreamSid, ids.stream_sid);
  const size_t argc = head.argc() + 2 * 6;  // seq, timestamp_ms, 3 of format, audio
  head_ = "*";
  head_.resize(1 + decimal_digits(argc));
  write_decimal(head_.data() + 1, argc);
  head_ += "\r\n";
  head.append_args(head_);
  head_ += kSeq.view();
}

void RedisAudioEntryWriter::set_format(const RedisAudioFormat &format) {
  XaddBuilder fields{XaddBuilder::FieldsOnly{}};
  fields.field(kSampleRate, format.sample_rate);
  fields.field(kChannels, format.channels);
  fields.field(kEncoding, redis_audio_encoding_name(format.encoding));
  format_fields_.clear();
  fields.append_args(format_fields_);
  format_fields_ += kAudio.view();
  format_ = format;
  has_format_ = true;
}

void RedisAudioEntryWriter::format(std::string &command, const RedisAudioFrame &frame) {
  if (!has_format_ || frame.format.sample_rate != format_.sample_rate ||
      frame.format.channels != format_.channels ||
      frame.format.encoding != format_.encoding)
    set_format(frame.format);
  std::string_view audio(reinterpret_cast<const char *>(frame.audio.data()),
                         frame.audio.size());
  if (payload_ == RedisPayload::kBase64) {
    base64_.clear();
    append_base64(base64_, frame.audio);
    audio = base64_;
  }
  char seq[24], timestamp[24];
  const size_t seq_size = std::to_chars(seq, seq + sizeof seq, frame.seq).ptr - seq;
  const size_t timestamp_size =
      std::to_chars(timestamp, timestamp + sizeof timestamp, frame.timestamp_ms).ptr -
      timestamp;
  const auto bulk_size = [](size_t size) { return 5 + decimal_digits(size) + size; };
  command.resize(head_.size() + bulk_size(seq_size) + kTimestampMs.view().size() +
                 bulk_size(timestamp_size) + format_fields_.size() + bulk_size(audio.size()));
  char *p = command.data();
  const auto put = [&p](std::string_view bytes) {
    if (!bytes.empty())
      std::memcpy(p, bytes.data(), bytes.size());
    p += bytes.size();
  };
  const auto put_bulk = [&p, &put](std::string_view bytes) {
    *p++ = '$';
    p = write_decimal(p, bytes.size());
    put("\r\n");
    put(bytes);
    put("\r\n");
  };
  put(head_);
  put_bulk(std::string_view(seq, seq_size));
  put(kTimestampMs.view());
  put_bulk(std::string_view(timestamp, timestamp_size));
  put(format_fields_);
  put_bulk(audio);
  assert(p == command.data() + command.size());
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

// ---- Entries read back ----

namespace {

// The fields of one entry by name: the last value of each, as seen.
class EntryFields {
 public:
  explicit EntryFields(std::span<const RedisEntryField> fields)
      : fields_(fields) {}

  const std::string_view *find(std::string_view name) const {
    const std::string_view *found = nullptr;
    for (const RedisEntryField &field : fields_) {
      if (field.name == name)
        found = &field.value;
    }
    return found;
  }

  // Sets @error (once) when the field is missing.
  std::string_view required(std::string_view name, std::string &error) const {
    const std::string_view *value = find(name);
    if (value == nullptr) {
      if (error.empty())
        error = "missing field " + std::string(name);
      return {};
    }
    return *value;
  }

  std::string optional(std::string_view name) const {
    const std::string_view *value = find(name);
    return value != nullptr ? std::string(*value) : std::string();
  }

 private:
  std::span<const RedisEntryField> fields_;
};

// A plain decimal (digits only) up to @max.
bool parse_decimal(std::string_view text, uint64_t max, uint64_t &out) {
  if (text.empty() || text.size() > 20)
    return false;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max)
    return false;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
  }
  out = value;
  return true;
}

void check_decimal(const EntryFields &fields, std::string_view name,
                   uint64_t min, uint64_t max, uint64_t &out,
                   std::string &error) {
  std::string_view text = fields.required(name, error);
  if (!error.empty())
    return;
  if (!parse_decimal(text, max, out) || out < min) {
    error = std::string(name) + " is " + quoted(text) + ", not a number in [" +
            std::to_string(min) + ", " + std::to_string(max) + "]";
  }
}

void parse_ids(const EntryFields &fields, RedisCallIds &ids, std::string &error) {
  ids.interaction_id = std::string(fields.required("interaction_id", error));
  if (error.empty() && ids.interaction_id.empty())
    error = "interaction_id is empty";
  ids.stream_sid = fields.optional("stream_sid");
}

void parse_format(const EntryFields &fields, RedisAudioFormat &format,
                  std::string &error) {
  uint64_t rate = 0;
  uint64_t channels = 0;
  check_decimal(fields, "sample_rate", kRedisMinSampleRate, kRedisMaxSampleRate,
                rate, error);
  check_decimal(fields, "channels", 1, 8, channels, error);
  std::string_view encoding = fields.required("encoding", error);
  if (!error.empty())
    return;
  format.sample_rate = static_cast<int>(rate);
  format.channels = static_cast<int>(channels);
  if (encoding == "pcm16")
    format.encoding = RedisAudioEncoding::kPcm16;
  else if (encoding == "mulaw")
    format.encoding = RedisAudioEncoding::kMulaw;
  else
    error = "encoding is " + quoted(encoding) + ", not pcm16 or mulaw";
}

// custom_parameters: one JSON object of strings, order kept.
bool parse_custom_parameters(
    std::string_view json,
    std::vector<std::pair<std::string, std::string>> &out) {
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, json.data(),
                                  static_cast<gssize>(json.size()), nullptr))
    return false;
  JsonNode *root = json_parser_get_root(parser);
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root))
    return false;
  JsonObject *object = json_node_get_object(root);
  g_autoptr(GList) members = json_object_get_members(object);
  for (GList *m = members; m != nullptr; m = m->next) {
    const char *name = static_cast<const char *>(m->data);
    JsonNode *value = json_object_get_member(object, name);
    if (value == nullptr || json_node_get_value_type(value) != G_TYPE_STRING)
      return false;
    out.emplace_back(name, json_node_get_string(value));
  }
  return true;
}

RedisReadEntry parse_call_start(const EntryFields &fields) {
  RedisReadCallStart start;
  std::string error;
  parse_ids(fields, start.ids, error);
  parse_format(fields, start.start.format, error);
  std::string_view payload = fields.required("payload", error);
  if (!error.empty())
    return RedisEntryError{std::move(error)};
  if (payload == "binary")
    start.start.payload = RedisPayload::kBinary;
  else if (payload == "base64")
    start.start.payload = RedisPayload::kBase64;
  else
    return RedisEntryError{"payload is " + quoted(payload) +
                           ", not binary or base64"};
  start.start.provider = fields.optional("provider");
  start.start.account_sid = fields.optional("account_sid");
  start.start.from = fields.optional("from");
  start.start.to = fields.optional("to");
  if (const std::string_view *custom = fields.find("custom_parameters")) {
    if (!parse_custom_parameters(*custom, start.start.custom_parameters))
      return RedisEntryError{"custom_parameters is " + quoted(*custom) +
                             ", not a JSON object of strings"};
  }
  return start;
}

RedisReadEntry parse_audio(const EntryFields &fields, RedisPayload payload) {
  RedisReadAudio audio;
  std::string error;
  uint64_t timestamp_ms = 0;
  parse_ids(fields, audio.ids, error);
  check_decimal(fields, "seq", 1, std::numeric_limits<int64_t>::max(),
                audio.seq, error);
  // Milliseconds whose nanoseconds still fit a GstClockTime.
  check_decimal(fields, "timestamp_ms", 0,
                std::numeric_limits<int64_t>::max() / 1000000, timestamp_ms,
                error);
  parse_format(fields, audio.format, error);
  std::string_view data = fields.required("audio", error);
  if (!error.empty())
    return RedisEntryError{std::move(error)};
  audio.timestamp_ms = static_cast<int64_t>(timestamp_ms);
  if (payload == RedisPayload::kBase64) {
    audio.audio.resize(base64_decoded_max(data.size()));
    std::optional<size_t> size = base64_decode_into(data, audio.audio.data());
    if (!size)
      return RedisEntryError{"audio is not valid base64 (payload=base64): " +
                             quoted(data)};
    audio.audio.resize(*size);
  } else {
    audio.audio.assign(data.begin(), data.end());
  }
  const size_t frame_bytes =
      static_cast<size_t>(audio.format.channels) *
      (audio.format.encoding == RedisAudioEncoding::kPcm16 ? 2 : 1);
  if (audio.audio.empty())
    return RedisEntryError{"audio is empty"};
  if (audio.audio.size() % frame_bytes != 0)
    return RedisEntryError{
        "audio is " + std::to_string(audio.audio.size()) +
        " bytes, not a whole number of " + std::to_string(frame_bytes) +
        "-byte sample frames (" +
        redis_audio_encoding_name(audio.format.encoding) + ", " +
        std::to_string(audio.format.channels) + " channel(s))"};
  return audio;
}

RedisReadEntry parse_call_end(const EntryFields &fields) {
  RedisReadCallEnd end;
  std::string error;
  parse_ids(fields, end.ids, error);
  check_decimal(fields, "frames", 0, std::numeric_limits<int64_t>::max(),
                end.end.frames, error);
  check_decimal(fields, "dropped", 0, std::numeric_limits<int64_t>::max(),
                end.end.dropped, error);
  // Any reason is kept: a newer sink may know more of them.
  end.end.reason = std::string(fields.required("reason", error));
  if (!error.empty())
    return RedisEntryError{std::move(error)};
  return end;
}

}  // namespace

RedisReadEntry parse_audio_stream_entry(std::span<const RedisEntryField> fields,
                                        RedisPayload payload) {
  EntryFields entry(fields);
  const std::string_view *event = entry.find("event");
  if (event == nullptr)
    return RedisEntryError{"missing field event"};
  if (*event == "audio")
    return parse_audio(entry, payload);
  if (*event == "call_start")
    return parse_call_start(entry);
  if (*event == "call_end")
    return parse_call_end(entry);
  return RedisEntryError{"event is " + quoted(*event) +
                         ", not call_start, audio or call_end"};
}

std::variant<RedisIndexEntry, RedisEntryError> parse_index_entry(
    std::span<const RedisEntryField> fields) {
  EntryFields entry(fields);
  RedisIndexEntry index;
  std::string error;
  std::string_view event = entry.required("event", error);
  parse_ids(entry, index.ids, error);
  index.stream = std::string(entry.required("stream", error));
  if (!error.empty())
    return RedisEntryError{std::move(error)};
  if (index.stream.empty())
    return RedisEntryError{"stream is empty"};
  if (event == "call_start")
    index.call_start = true;
  else if (event == "call_end")
    index.call_start = false;
  else
    return RedisEntryError{"event is " + quoted(event) +
                           ", not call_start or call_end"};
  return index;
}

}  // namespace callstream
