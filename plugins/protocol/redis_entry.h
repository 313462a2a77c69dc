// The Redis side of redisstreamsink with no network in it: redis:// and
// unix:// URLs, stream key templates, the connection handshake, and the
// stream entries (schemas/redis-audio-entry.schema.json) as RESP commands
// ready for the socket. No GStreamer, no hiredis in here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace callstream {

// Where Redis is and who we are to it.
struct RedisUrl {
  enum class Transport { kTcp, kUnix };

  Transport transport = Transport::kTcp;
  std::string host = "127.0.0.1";  // kTcp; an IPv6 address without brackets
  int port = 6379;                  // kTcp
  std::string socket_path;          // kUnix: absolute
  std::string user;                 // non-empty: Redis 6 ACL "AUTH user password"
  std::string password;             // empty (and no user): no AUTH
  int db = 0;                       // SELECTed when not 0

  // The URL with the password masked, for messages and logs.
  std::string display() const;
  // Equal for two URLs exactly when they may share one connection.
  std::string connection_key() const;
};

// Why a URL cannot be used: one line for an error message.
struct RedisUrlError {
  std::string reason;
};

// Accepts redis://[[user]:password@]host[:port][/db] (host may be [IPv6];
// user and password are percent-decoded) and
// unix://[[user]:password@]/absolute/path.sock[?db=N].
std::variant<RedisUrl, RedisUrlError> parse_redis_url(std::string_view url);

// @url as given with any password replaced by "***", for a message about a
// URL that may not even parse.
std::string redact_redis_url(std::string_view url);

// @key_template with every "{call_sid}" and "{stream_sid}" replaced; any
// other brace is kept, so Redis Cluster hash tags work:
// "audio:{{call_sid}}" -> "audio:{CA123}".
std::string expand_stream_key(std::string_view key_template,
                              std::string_view call_sid,
                              std::string_view stream_sid);

// One Redis command in RESP, the bytes hiredis would write for it.
std::string format_redis_command(std::span<const std::string_view> args);
std::string format_redis_command(std::initializer_list<std::string_view> args);

// What is sent on every new connection before any entry, in this order.
enum class RedisHandshakeStep { kAuth, kSelect, kPing };

struct RedisHandshakeCommand {
  RedisHandshakeStep step;
  std::string command;  // RESP
};

// [AUTH [user] password] [SELECT db] PING. PING always comes last: its reply
// says the server is ready (not -LOADING) and the credentials are enough.
std::vector<RedisHandshakeCommand> redis_handshake(const RedisUrl &url);

// "AUTH", "SELECT" or "PING".
const char *redis_handshake_step_name(RedisHandshakeStep step);

// Whether an error reply to @step means the URL's credentials or database are
// wrong (retrying will not help) rather than a server not ready yet.
bool redis_handshake_refused(RedisHandshakeStep step, std::string_view error);

// ---- Stream entries ----

enum class RedisAudioEncoding { kPcm16, kMulaw };
enum class RedisPayload { kBinary, kBase64 };

// "pcm16" / "mulaw"; "binary" / "base64".
const char *redis_audio_encoding_name(RedisAudioEncoding encoding);
const char *redis_payload_name(RedisPayload payload);

// XADD key [MAXLEN ~ maxlen] * ...
struct RedisStreamTarget {
  std::string key;
  uint64_t maxlen = 0;  // 0: no trimming
};

struct RedisAudioFormat {
  int sample_rate = 8000;
  int channels = 1;
  RedisAudioEncoding encoding = RedisAudioEncoding::kPcm16;
};

// Fields every entry of a call starts with.
struct RedisCallIds {
  std::string interaction_id;  // the call-sid, or the best id there is
  std::string stream_sid;      // may be empty
};

struct RedisCallStart {
  std::string provider;     // these four: left out when empty
  std::string account_sid;
  std::string from;
  std::string to;
  // Left out when empty; else one JSON object of strings, in this order.
  std::vector<std::pair<std::string, std::string>> custom_parameters;
  RedisAudioFormat format;
  RedisPayload payload = RedisPayload::kBinary;
};

struct RedisAudioFrame {
  uint64_t seq = 0;           // 1-based within the call
  int64_t timestamp_ms = 0;   // the buffer's PTS
  RedisAudioFormat format;
  std::span<const uint8_t> audio;
};

struct RedisCallEnd {
  uint64_t frames = 0;        // the last seq handed out
  uint64_t dropped = 0;       // frames of this call dropped before Redis had them
  std::string reason;         // "eos", "stopped", "new-call"
};

// The XADD commands, RESP-formatted, fields in the schema's order.
std::string format_call_start_entry(const RedisStreamTarget &target,
                                    const RedisCallIds &ids,
                                    const RedisCallStart &start);
std::string format_audio_entry(const RedisStreamTarget &target,
                               const RedisCallIds &ids,
                               const RedisAudioFrame &frame,
                               RedisPayload payload);
// The same into @command, reusing its capacity: one allocation less a frame.
void format_audio_entry(std::string &command, const RedisStreamTarget &target,
                        const RedisCallIds &ids, const RedisAudioFrame &frame,
                        RedisPayload payload);
std::string format_call_end_entry(const RedisStreamTarget &target,
                                  const RedisCallIds &ids,
                                  const RedisCallEnd &end);

// format_audio_entry() for the frames of one call: what no frame changes
// (the XADD, the key, MAXLEN, the call's ids; the format fields while the
// format stays) is put in RESP once and copied into each entry.
class RedisAudioEntryWriter {
 public:
  RedisAudioEntryWriter(const RedisStreamTarget &target, const RedisCallIds &ids,
                        RedisPayload payload);
  // Overwrites @command (reusing its capacity) with exactly
  // format_audio_entry(target, ids, @frame, payload).
  void format(std::string &command, const RedisAudioFrame &frame);

 private:
  void set_format(const RedisAudioFormat &format);

  RedisPayload payload_;
  std::string head_;           // "*N", the XADD up to stream_sid, the name "seq"
  std::string format_fields_;  // sample_rate, channels, encoding, the name "audio"
  RedisAudioFormat format_;
  bool has_format_ = false;
  std::string base64_;         // the last frame's audio, RedisPayload::kBase64
};

// An index stream (schemas/redis-index-entry.schema.json) names each call's
// stream next to its call_start and call_end, so consumers can take whole
// calls through a consumer group on the index. @event: "call_start" or
// "call_end"; @call_stream: the key the call's entries go to.
std::string format_index_entry(const RedisStreamTarget &index,
                               const RedisCallIds &ids, std::string_view event,
                               std::string_view call_stream);

// ---- Entries read back (redisstreamsrc) ----

// One field of an entry as XREADGROUP returns it; views into the reply.
struct RedisEntryField {
  std::string_view name;
  std::string_view value;
};

// A call_start entry read back.
struct RedisReadCallStart {
  RedisCallIds ids;
  RedisCallStart start;
};

// An audio entry read back, its audio decoded (base64 payloads included).
struct RedisReadAudio {
  RedisCallIds ids;
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  RedisAudioFormat format;
  std::vector<uint8_t> audio;
};

// A call_end entry read back.
struct RedisReadCallEnd {
  RedisCallIds ids;
  RedisCallEnd end;
};

// Why an entry cannot be used: one line naming the field and the problem.
struct RedisEntryError {
  std::string reason;
};

using RedisReadEntry = std::variant<RedisReadCallStart, RedisReadAudio,
                                    RedisReadCallEnd, RedisEntryError>;

// Sample rates outside this range are taken for a corrupt entry.
constexpr int kRedisMinSampleRate = 1000;
constexpr int kRedisMaxSampleRate = 192000;

// Parses one entry of an audio stream (schemas/redis-audio-entry.schema.json).
// @payload says how an audio entry holds its audio: the call's call_start
// says so, an audio entry does not. Checks every field the schema requires:
// numbers are plain decimals in range, the sample rate within
// [kRedisMinSampleRate, kRedisMaxSampleRate], channels 1-8, the audio
// non-empty, valid base64 where expected and a whole number of sample frames
// (pcm16: 2 bytes a channel). Unknown fields are ignored; a repeated field
// counts by its last value, as Redis would never write one twice.
RedisReadEntry parse_audio_stream_entry(std::span<const RedisEntryField> fields,
                                        RedisPayload payload);

// An entry of the index stream: a call began or ended in stream `stream`.
struct RedisIndexEntry {
  bool call_start = true;  // else call_end
  RedisCallIds ids;
  std::string stream;
};

std::variant<RedisIndexEntry, RedisEntryError> parse_index_entry(
    std::span<const RedisEntryField> fields);

}  // namespace callstream
