// The .env reader and the typed configuration built from the environment.
#include <glib.h>

#include "config.h"
#include "dotenv.h"

using callstreamd::Config;
using Env = std::map<std::string, std::string>;

static Env
dotenv_ok (const char *text)
{
  Env out;
  std::string error;
  const bool ok = callstreamd::parse_dotenv (text, out, &error);
  if (!ok)
    g_test_message ("unexpected error: %s", error.c_str ());
  g_assert_true (ok);
  return out;
}

static std::string
dotenv_error (const char *text)
{
  Env out;
  std::string error;
  g_assert_false (callstreamd::parse_dotenv (text, out, &error));
  return error;
}

static void
test_dotenv_plain_values_and_comments ()
{
  const Env env = dotenv_ok ("# settings\n\nPORT=8443\n  HOST = 127.0.0.1  \n"
                             "AUDIO_DUMP_DIR=./dumps # where WAVs go\nTAG=a#b\nEMPTY=\n"
                             "COMMENT_ONLY= # nothing\n");
  g_assert_cmpuint (env.size (), ==, 6);
  g_assert_cmpstr (env.at ("PORT").c_str (), ==, "8443");
  g_assert_cmpstr (env.at ("HOST").c_str (), ==, "127.0.0.1");
  g_assert_cmpstr (env.at ("AUDIO_DUMP_DIR").c_str (), ==, "./dumps");
  g_assert_cmpstr (env.at ("TAG").c_str (), ==, "a#b");
  g_assert_cmpstr (env.at ("EMPTY").c_str (), ==, "");
  g_assert_cmpstr (env.at ("COMMENT_ONLY").c_str (), ==, "");
}

static void
test_dotenv_export_prefix ()
{
  const Env env = dotenv_ok ("export SUPPORT_EXOTEL=true\nexport\tREDIS_URL=redis://h:1\n"
                             "exported=1\n");
  g_assert_cmpstr (env.at ("SUPPORT_EXOTEL").c_str (), ==, "true");
  g_assert_cmpstr (env.at ("REDIS_URL").c_str (), ==, "redis://h:1");
  g_assert_cmpstr (env.at ("exported").c_str (), ==, "1");
}

static void
test_dotenv_single_quotes_are_literal ()
{
  const Env env = dotenv_ok ("A='x #1 \\n \"y\"'  # comment\nB=''\n");
  g_assert_cmpstr (env.at ("A").c_str (), ==, "x #1 \\n \"y\"");
  g_assert_cmpstr (env.at ("B").c_str (), ==, "");
}

static void
test_dotenv_double_quote_escapes ()
{
  const Env env = dotenv_ok ("G=\"Hi.\\nSay \\\"yes\\\"\\tC:\\\\x\" # greeting\n");
  g_assert_cmpstr (env.at ("G").c_str (), ==, "Hi.\nSay \"yes\"\tC:\\x");
}

static void
test_dotenv_later_lines_override ()
{
  const Env env = dotenv_ok ("PORT=1\nPORT=2\r\nHOST=::1\r\n");
  g_assert_cmpstr (env.at ("PORT").c_str (), ==, "2");
  g_assert_cmpstr (env.at ("HOST").c_str (), ==, "::1");
}

static void
test_dotenv_errors_name_the_line ()
{
  const struct {
    const char *text;
    const char *error;
  } cases[] = {
    { "PORT=1\n\nSUPPORT_EXOTEL\n", "line 3: expected KEY=VALUE, found \"SUPPORT_EXOTEL\"" },
    { "1PORT=2\n", "line 1: invalid key \"1PORT\" (letters, digits and _, not starting with a digit)" },
    { "MY-KEY=2\n", "line 1: invalid key \"MY-KEY\" (letters, digits and _, not starting with a digit)" },
    { "A=ok\nB=\"open\n", "line 2: unterminated double-quoted value" },
    { "A='open\n", "line 1: unterminated single-quoted value" },
    { "A=\"x\" y\n", "line 1: unexpected text after the closing quote" },
    { "A=\"\\q\"\n", "line 1: unknown escape \\q in a double-quoted value (use \\n, \\t, \\\" or \\\\)" },
  };
  for (const auto &c : cases) {
    const std::string error = dotenv_error (c.text);
    g_assert_cmpstr (error.c_str (), ==, c.error);
  }
}

static Config
load_ok (const Env &env)
{
  Config config;
  std::string error;
  const bool ok = Config::load (env, config, &error);
  if (!ok)
    g_test_message ("unexpected error: %s", error.c_str ());
  g_assert_true (ok);
  return config;
}

static std::string
load_error (const Env &env)
{
  Config config;
  std::string error;
  g_assert_false (Config::load (env, config, &error));
  return error;
}

static void
assert_load_error (const Env &env, const char *expected)
{
  const std::string error = load_error (env);
  g_assert_cmpstr (error.c_str (), ==, expected);
}

static void
test_defaults_without_variables ()
{
  const Config config = load_ok ({});
  g_assert_cmpuint (config.port, ==, 8443);
  g_assert_cmpstr (config.host.c_str (), ==, "0.0.0.0");
  g_assert_cmpstr (config.redis_url.c_str (), ==, "");
  g_assert_cmpstr (config.pubsub_adapter.c_str (), ==, "redis_streams");
  g_assert_cmpstr (config.redis_stream.c_str (), ==, "audio_stream");
  g_assert_false (config.support_exotel);
  g_assert_false (config.audio_dump_enabled);
  g_assert_cmpstr (config.audio_dump_dir.c_str (), ==, "./audio-dumps");
  g_assert_cmpstr (config.audio_dump_format.c_str (), ==, "wav");
  g_assert_cmpstr (config.openai_realtime_url.c_str (), ==, "wss://api.openai.com/v1/realtime");
  g_assert_cmpstr (config.openai_realtime_model.c_str (), ==, "gpt-realtime");
  g_assert_cmpstr (config.openai_voice.c_str (), ==, "alloy");
  g_assert_cmpstr (config.realtime_instructions.c_str (), ==, Config::kDefaultInstructions);
  g_assert_cmpfloat (config.realtime_api_probability, ==, 1.0);
  g_assert_cmpstr (config.twilio_api_url.c_str (), ==, "https://api.twilio.com");
  g_assert_cmpuint (config.max_calls, ==, 2000);
  g_assert_cmpuint (config.idle_timeout_s, ==, 30);
  g_assert_cmpuint (config.max_message_bytes, ==, 262144);
  g_assert_cmpuint (config.shutdown_timeout_s, ==, 10);
  g_assert_cmpstr (config.pipelines_dir.c_str (), ==, "");
}

static void
test_values_are_read ()
{
  const Config config = load_ok ({ { "PORT", "0" }, { "HOST", "::1" },
      { "REDIS_URL", "redis://:p%40ss@127.0.0.1:6380/2" }, { "AUDIO_DUMP_FORMAT", "flac" },
      { "REALTIME_API_PROBABILITY", "0.25" }, { "MAX_MESSAGE_BYTES", "1024" },
      { "OPENAI_REALTIME_URL", "ws://127.0.0.1:9/v1/realtime" },
      { "PUBLIC_URL", "https://calls.example.com" }, { "EXOTEL_BASIC_USER", "u" },
      { "EXOTEL_BASIC_PASSWORD", "p" }, { "EXOTEL_IP_ALLOWLIST", "10.0.0.0/8, junk" } });
  g_assert_cmpuint (config.port, ==, 0);
  g_assert_cmpstr (config.host.c_str (), ==, "::1");
  g_assert_cmpstr (config.redis_url.c_str (), ==, "redis://:p%40ss@127.0.0.1:6380/2");
  g_assert_cmpstr (config.audio_dump_format.c_str (), ==, "flac");
  g_assert_cmpfloat (config.realtime_api_probability, ==, 0.25);
  g_assert_cmpuint (config.max_message_bytes, ==, 1024);
  g_assert_cmpstr (config.public_url.c_str (), ==, "https://calls.example.com");
  g_assert_cmpstr (config.exotel_basic_password.c_str (), ==, "p");
  g_assert_cmpstr (config.exotel_ip_allowlist.c_str (), ==, "10.0.0.0/8, junk");
  g_assert_cmpstr (config.raw.at ("EXOTEL_BASIC_PASSWORD").c_str (), ==, "p");
}

static void
test_port_out_of_range_names_the_variable ()
{
  assert_load_error ({ { "PORT", "70000" } },
      "PORT: \"70000\" is not a port number (0-65535)");
  assert_load_error ({ { "PORT", "abc" } },
      "PORT: \"abc\" is not a port number (0-65535)");
  assert_load_error ({ { "PORT", "-1" } },
      "PORT: \"-1\" is not a port number (0-65535)");
}

static void
test_booleans_accept_common_spellings ()
{
  for (const char *yes : { "true", "TRUE", "1", "yes", "Yes", "on", "ON" })
    g_assert_true (load_ok ({ { "SUPPORT_EXOTEL", yes } }).support_exotel);
  for (const char *no : { "false", "False", "0", "no", "NO", "off", "Off" })
    g_assert_false (load_ok ({ { "AUDIO_DUMP_ENABLED", no } }).audio_dump_enabled);
}

static void
test_boolean_garbage_is_an_error ()
{
  assert_load_error ({ { "AUDIO_DUMP_ENABLED", "enabled" } },
      "AUDIO_DUMP_ENABLED: \"enabled\" is not a boolean (true/false, 1/0, yes/no, on/off)");
  assert_load_error ({ { "SUPPORT_EXOTEL", "" } },
      "SUPPORT_EXOTEL: \"\" is not a boolean (true/false, 1/0, yes/no, on/off)");
}

static void
test_bad_values_name_the_variable ()
{
  const struct {
    const char *name, *value, *error;
  } cases[] = {
    { "PUBSUB_ADAPTER", "kafka", "PUBSUB_ADAPTER: \"kafka\" is not a supported adapter (redis_streams)" },
    { "AUDIO_DUMP_FORMAT", "mp3", "AUDIO_DUMP_FORMAT: \"mp3\" is not one of wav, flac, raw" },
    { "OPENAI_REALTIME_URL", "https://api.openai.com/v1/realtime",
      "OPENAI_REALTIME_URL: \"https://api.openai.com/v1/realtime\" is not a ws:// or wss:// URL" },
    { "REALTIME_API_PROBABILITY", "1.5",
      "REALTIME_API_PROBABILITY: \"1.5\" is not a probability (0-1, e.g. 0.25)" },
    { "REALTIME_API_PROBABILITY", "half",
      "REALTIME_API_PROBABILITY: \"half\" is not a probability (0-1, e.g. 0.25)" },
    { "REDIS_URL", "localhost:6379", "REDIS_URL: \"localhost:6379\" is not a redis:// or unix:// URL (or empty)" },
    { "TWILIO_API_URL", "ftp://x", "TWILIO_API_URL: \"ftp://x\" is not an http:// or https:// URL" },
    { "PUBLIC_URL", "calls.example.com",
      "PUBLIC_URL: \"calls.example.com\" is not an http:// or https:// URL (or empty)" },
    { "HOST", "localhost", "HOST: \"localhost\" is not an IP address to listen on (0.0.0.0, 127.0.0.1, ::)" },
    { "MAX_CALLS", "0", "MAX_CALLS: \"0\" is not a number of calls (1-1000000)" },
    { "IDLE_TIMEOUT_S", "0", "IDLE_TIMEOUT_S: \"0\" is not a number of seconds (1-86400)" },
    { "MAX_MESSAGE_BYTES", "1023", "MAX_MESSAGE_BYTES: \"1023\" is not a message size in bytes (1024-67108864)" },
    { "MAX_MESSAGE_BYTES", "67108865", "MAX_MESSAGE_BYTES: \"67108865\" is not a message size in bytes (1024-67108864)" },
    { "REDIS_STREAM", "", "REDIS_STREAM: \"\" is not a stream key" },
  };
  for (const auto &c : cases) {
    const std::string error = load_error ({ { c.name, c.value } });
    g_assert_cmpstr (error.c_str (), ==, c.error);
  }
}

static void
test_exotel_basic_auth_both_or_neither ()
{
  assert_load_error ({ { "EXOTEL_BASIC_USER", "u" } },
      "EXOTEL_BASIC_USER: set without EXOTEL_BASIC_PASSWORD (set both or neither)");
  const std::string error = load_error ({ { "EXOTEL_BASIC_PASSWORD", "s3cret" } });
  g_assert_cmpstr (error.c_str (), ==,
      "EXOTEL_BASIC_PASSWORD: set without EXOTEL_BASIC_USER (set both or neither)");
}

static void
test_template_variables_exclude_secrets ()
{
  const Config config = load_ok ({ { "OPENAI_API_KEY", "sk-secret" },
      { "TWILIO_AUTH_TOKEN", "tw-secret" }, { "EXOTEL_BASIC_USER", "u" },
      { "EXOTEL_BASIC_PASSWORD", "ex-secret" } });
  const Env variables = config.template_variables ();
  for (const char *secret : { "OPENAI_API_KEY", "TWILIO_AUTH_TOKEN", "EXOTEL_BASIC_PASSWORD" }) {
    g_assert_true (variables.find (secret) == variables.end ());
    g_assert_true (callstreamd::is_secret_variable (secret));
  }
  g_assert_false (callstreamd::is_secret_variable ("EXOTEL_BASIC_USER"));
  for (const auto &[name, value] : variables)
    g_assert_null (strstr (value.c_str (), "secret"));
  g_assert_cmpstr (variables.at ("EXOTEL_BASIC_USER").c_str (), ==, "u");
}

static void
test_template_variables_are_effective_values ()
{
  const Config config = load_ok ({ { "SUPPORT_EXOTEL", "YES" }, { "PORT", "08080" },
      { "REALTIME_API_PROBABILITY", "0.5" } });
  const Env variables = config.template_variables ();
  g_assert_cmpuint (variables.size (), ==, 38);  // 44 variables, 6 secrets
  g_assert_cmpstr (variables.at ("SUPPORT_EXOTEL").c_str (), ==, "true");
  g_assert_cmpstr (variables.at ("AUDIO_DUMP_ENABLED").c_str (), ==, "false");
  g_assert_cmpstr (variables.at ("PORT").c_str (), ==, "8080");
  g_assert_cmpstr (variables.at ("REALTIME_API_PROBABILITY").c_str (), ==, "0.5");
  g_assert_cmpstr (variables.at ("REDIS_URL").c_str (), ==, "");
  g_assert_cmpstr (variables.at ("REDIS_STREAM").c_str (), ==, "audio_stream");
  g_assert_cmpstr (variables.at ("OPENAI_VOICE").c_str (), ==, "alloy");
  g_assert_cmpstr (variables.at ("MAX_MESSAGE_BYTES").c_str (), ==, "262144");
}

static void
test_process_environment_wins_over_dotenv ()
{
  g_setenv ("CALLSTREAMD_TEST_FROM_BOTH", "process", TRUE);
  g_unsetenv ("CALLSTREAMD_TEST_FROM_DOTENV");
  const Env merged = callstreamd::merged_environment ({
      { "CALLSTREAMD_TEST_FROM_BOTH", "dotenv" }, { "CALLSTREAMD_TEST_FROM_DOTENV", "dotenv" } });
  g_assert_cmpstr (merged.at ("CALLSTREAMD_TEST_FROM_BOTH").c_str (), ==, "process");
  g_assert_cmpstr (merged.at ("CALLSTREAMD_TEST_FROM_DOTENV").c_str (), ==, "dotenv");
  g_unsetenv ("CALLSTREAMD_TEST_FROM_BOTH");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/dotenv/plain-values-and-comments", test_dotenv_plain_values_and_comments);
  g_test_add_func ("/dotenv/export-prefix", test_dotenv_export_prefix);
  g_test_add_func ("/dotenv/single-quotes-are-literal", test_dotenv_single_quotes_are_literal);
  g_test_add_func ("/dotenv/double-quote-escapes", test_dotenv_double_quote_escapes);
  g_test_add_func ("/dotenv/later-lines-override", test_dotenv_later_lines_override);
  g_test_add_func ("/dotenv/errors-name-the-line", test_dotenv_errors_name_the_line);
  g_test_add_func ("/config/defaults-without-variables", test_defaults_without_variables);
  g_test_add_func ("/config/values-are-read", test_values_are_read);
  g_test_add_func ("/config/port-out-of-range-names-the-variable",
      test_port_out_of_range_names_the_variable);
  g_test_add_func ("/config/booleans-accept-common-spellings",
      test_booleans_accept_common_spellings);
  g_test_add_func ("/config/boolean-garbage-is-an-error", test_boolean_garbage_is_an_error);
  g_test_add_func ("/config/bad-values-name-the-variable", test_bad_values_name_the_variable);
  g_test_add_func ("/config/exotel-basic-auth-both-or-neither",
      test_exotel_basic_auth_both_or_neither);
  g_test_add_func ("/config/template-variables-exclude-secrets",
      test_template_variables_exclude_secrets);
  g_test_add_func ("/config/template-variables-are-effective-values",
      test_template_variables_are_effective_values);
  g_test_add_func ("/config/process-environment-wins-over-dotenv",
      test_process_environment_wins_over_dotenv);
  return g_test_run ();
}
