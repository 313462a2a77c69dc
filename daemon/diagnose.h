// `callstreamd diagnose <conversation_id>`: what happened to a
// conversation's webhooks, for an operator (seed 000's diagnostic): the
// transcription file, the audio file, where the caller's phone came from, the
// cache configuration and the cache entry, and the likely reasons when the
// audio is missing. Blocking; no main loop.
#pragma once

#include <string>

#include "config.h"

namespace callstreamd {

// The report; @redis_url is the effective Redis URL ("" : not reachable).
std::string diagnose_conversation (const Config &config, const std::string &redis_url,
    const std::string &conversation_id);

}  // namespace callstreamd
