/* callstream-events.h: the vocabulary callstream elements share with each
 * other and with applications (the daemon includes this header, never an
 * element's own).
 *
 * Call info (sticky, serialized, downstream)
 *   A GST_EVENT_CUSTOM_DOWNSTREAM_STICKY event whose structure is named
 *   "callstream-call-info". Sources send it after caps and before the first
 *   buffer of a call; it is re-sent if the call's format changes. Fields
 *   (strings absent when the provider did not send them):
 *     provider           string  "exotel" or "twilio"
 *     call-sid           string
 *     stream-sid         string
 *     account-sid        string
 *     from, to           string  phone numbers as the provider sent them
 *     custom-parameters  GstStructure named "custom-parameters", string fields
 *     tracks             GstValueArray of strings, as the provider listed them
 *                        (Twilio: "inbound", "outbound"); absent when not sent
 *     encoding           string  the encoding name exactly as the provider sent it
 *     sample-rate        int     Hz
 *     bit-rate           int     as sent (0 when absent)
 *
 * Tags: the same ids as tags (see CALLSTREAM_TAG_*), registered by the plugin.
 *
 * DTMF: the standard "dtmf-event" structure of gst-plugins-good's dtmf
 *   elements, as a serialized downstream custom event: type=1 (event),
 *   number 0-15 (0-9, 10 '*', 11 '#', 12-15 'A'-'D'), volume, start; a start
 *   event (start=TRUE, with "duration" in ms when known) is followed by a stop
 *   event (start=FALSE).
 *
 * Mark: an element message named "callstream-mark" with "name" and "call-sid".
 *
 * File written: an element message named "callstream-file-written" that
 *   chunkdumper posts (from its write pool) each time a file is complete under
 *   its final name: "call-id" (the directory name) and "path".
 *
 * Clear (downstream, to twiliosink / exotelsink)
 *   A custom event whose structure is named "callstream-clear", no fields.
 *   Sent by a bridge on barge-in (the caller speaks over the reply). The sink
 *   sends the provider's `clear`, drops the audio it still holds (gathered or
 *   waiting for its pacing slot) and settles its pending marks at once: they
 *   are forgotten, played-ms stays at the last confirmed mark, and their
 *   echoes (Twilio returns every pending mark on clear) are ignored as stale.
 *   Serialized (GST_EVENT_CUSTOM_DOWNSTREAM) it clears in stream order;
 *   out-of-band (GST_EVENT_CUSTOM_DOWNSTREAM_OOB) it acts at once, before
 *   buffers already queued upstream arrive. Both may be sent: a second
 *   `clear` on the wire is harmless.
 *
 * Played position (upstream, from twiliosink / exotelsink)
 *   A GST_EVENT_CUSTOM_UPSTREAM event named "callstream-played", sent each
 *   time the provider echoes one of the sink's marks, i.e. the audio sent
 *   before it has really played to the caller. Fields:
 *     played-ms  guint64  audio confirmed played since the sink started, in
 *                         ms (cleared audio never counts)
 *     mark       string   the mark that confirmed it
 *   The same running value is the sinks' read-only "played-ms" property. A
 *   bridge cuts the model's reply at (played-ms - played-ms when the reply
 *   started).
 *
 * Message input (for an application that reads a call's socket itself)
 *   exotelsrc and twiliosrc take each WebSocket message through their
 *   "push-message" action signal. An application that pushes thousands of
 *   messages a second (callstreamd's reactor) may call the same handler
 *   without a signal emission per message (about 1,200 instructions and the
 *   signal system's global lock saved each time):
 *   callstream_message_input_get() returns it for an element whose type has
 *   one, NULL otherwise; look it up once per element. Same contract as
 *   push-message: any thread, @data is read during the call only, the
 *   return is the flow of the push (GST_FLOW_EOS once the call has ended).
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define CALLSTREAM_CALL_INFO_NAME "callstream-call-info"
#define CALLSTREAM_MARK_MESSAGE_NAME "callstream-mark"
#define CALLSTREAM_FILE_WRITTEN_MESSAGE_NAME "callstream-file-written"
#define CALLSTREAM_CLEAR_EVENT_NAME "callstream-clear"
#define CALLSTREAM_PLAYED_EVENT_NAME "callstream-played"

#define CALLSTREAM_TAG_CALL_SID "call-sid"
#define CALLSTREAM_TAG_STREAM_SID "stream-sid"
#define CALLSTREAM_TAG_ACCOUNT_SID "account-sid"
#define CALLSTREAM_TAG_CALLER "caller"
#define CALLSTREAM_TAG_CALLEE "callee"

/* Registers the CALLSTREAM_TAG_* tags; idempotent, thread-safe. */
void callstream_register_tags (void);

/* Takes ownership of @info, whose name must be CALLSTREAM_CALL_INFO_NAME. */
GstEvent *callstream_call_info_event_new (GstStructure * info);

/* Returns the info structure (owned by @event) or NULL if @event is not a
 * call-info event. */
const GstStructure *callstream_call_info_event_parse (GstEvent * event);

/* The best id to name a call by: call-sid, else stream-sid, else NULL. */
const gchar *callstream_call_info_id (const GstStructure * info);

/* A "dtmf-event" event for @digit ('0'-'9', '*', '#', 'A'-'D'); NULL for any
 * other character. @duration_ms < 0 leaves the duration out. */
GstEvent *callstream_dtmf_event_new (gchar digit, gboolean start,
    gint duration_ms);

/* A "callstream-clear" event: serialized, or out-of-band when @out_of_band. */
GstEvent *callstream_clear_event_new (gboolean out_of_band);

/* TRUE if @event is a "callstream-clear" event (either kind). */
gboolean callstream_clear_event_is (GstEvent * event);

/* A "callstream-played" upstream event. */
GstEvent *callstream_played_event_new (guint64 played_ms, const gchar * mark);

/* FALSE if @event is not a "callstream-played" event; else fills the fields
 * that are not NULL (@mark owned by @event). */
gboolean callstream_played_event_parse (GstEvent * event, guint64 * played_ms,
    const gchar ** mark);

typedef struct {
  GstFlowReturn (*push) (GstElement * element, gboolean text,
      const guint8 * data, gsize size, gconstpointer user_data);
  gconstpointer user_data;
} CallstreamMessageInput;

/* The GType qdata an element type's CallstreamMessageInput is set as. */
#define CALLSTREAM_MESSAGE_INPUT_QDATA "callstream-message-input"

static inline const CallstreamMessageInput *
callstream_message_input_get (GstElement * element)
{
  return (const CallstreamMessageInput *) g_type_get_qdata (G_OBJECT_TYPE (element),
      g_quark_from_static_string (CALLSTREAM_MESSAGE_INPUT_QDATA));
}

G_END_DECLS
