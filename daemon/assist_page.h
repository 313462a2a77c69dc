// GET /assist: the agent-assist page, one self-contained HTML document (no
// external URLs). It opens /assist/events (server-sent events: a snapshot,
// then one event per stream entry, see assist_feed.h) and shows the calls in
// progress with their transcript growing (partials lighter, replaced; finals
// appended), the intents and articles surfaced, and the recent calls with an
// <audio> player on their recording.
//
// With API_TOKEN set the page takes the token from its own URL
// (/assist?token=...) or from what was typed into its token field before
// (localStorage), and passes it as the token query parameter: an
// EventSource cannot send an Authorization header. Recording URLs in the
// events are signed (url_signing.h), so <audio> needs no token.
//
// Stable data-testid attributes for the browser test: connection-status,
// calls-in-progress, live-call (data-interaction-id), call-title,
// transcript, transcript-final, transcript-partial, intents, intent,
// articles, article, article-link, article-summary, past-calls, past-call
// (data-interaction-id), recording-audio, no-recording.
#pragma once

namespace callstreamd {

extern const char kAssistPage[];

}  // namespace callstreamd
