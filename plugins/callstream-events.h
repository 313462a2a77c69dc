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
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define CALLSTREAM_CALL_INFO_NAME "callstream-call-info"
#define CALLSTREAM_MARK_MESSAGE_NAME "callstream-mark"

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

G_END_DECLS
