#include "callstream-events.h"

#include <cstring>
#include <initializer_list>

void
callstream_register_tags (void)
{
  static gsize once = 0;
  if (!g_once_init_enter (&once))
    return;
  gst_tag_register_static (CALLSTREAM_TAG_CALL_SID, GST_TAG_FLAG_META,
      G_TYPE_STRING, "call sid", "Telephony provider's call id", nullptr);
  gst_tag_register_static (CALLSTREAM_TAG_STREAM_SID, GST_TAG_FLAG_META,
      G_TYPE_STRING, "stream sid", "Telephony provider's media stream id",
      nullptr);
  gst_tag_register_static (CALLSTREAM_TAG_ACCOUNT_SID, GST_TAG_FLAG_META,
      G_TYPE_STRING, "account sid", "Telephony provider's account id", nullptr);
  gst_tag_register_static (CALLSTREAM_TAG_CALLER, GST_TAG_FLAG_META,
      G_TYPE_STRING, "caller", "Calling party number (from)", nullptr);
  gst_tag_register_static (CALLSTREAM_TAG_CALLEE, GST_TAG_FLAG_META,
      G_TYPE_STRING, "callee", "Called party number (to)", nullptr);
  g_once_init_leave (&once, 1);
}

GstEvent *
callstream_call_info_event_new (GstStructure * info)
{
  g_return_val_if_fail (gst_structure_has_name (info,
          CALLSTREAM_CALL_INFO_NAME), nullptr);
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, info);
}

const GstStructure *
callstream_call_info_event_parse (GstEvent * event)
{
  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM_STICKY)
    return nullptr;
  const GstStructure *s = gst_event_get_structure (event);
  if (s == nullptr || !gst_structure_has_name (s, CALLSTREAM_CALL_INFO_NAME))
    return nullptr;
  return s;
}

const gchar *
callstream_call_info_id (const GstStructure * info)
{
  for (const char *field : {"call-sid", "stream-sid"}) {
    const gchar *id = gst_structure_get_string (info, field);
    if (id != nullptr && id[0] != '\0')
      return id;
  }
  return nullptr;
}

GstEvent *
callstream_dtmf_event_new (gchar digit, gboolean start, gint duration_ms)
{
  static const char digits[] = "0123456789*#ABCD";
  const char upper = g_ascii_toupper (digit);
  const char *at = upper != '\0' ? std::strchr (digits, upper) : nullptr;
  if (at == nullptr)
    return nullptr;
  GstStructure *s = gst_structure_new ("dtmf-event",
      "type", G_TYPE_INT, 1,
      "number", G_TYPE_INT, static_cast<gint> (at - digits),
      "volume", G_TYPE_INT, 25,
      "start", G_TYPE_BOOLEAN, start, nullptr);
  if (start && duration_ms >= 0)
    gst_structure_set (s, "duration", G_TYPE_INT, duration_ms, nullptr);
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

GstEvent *
callstream_clear_event_new (gboolean out_of_band)
{
  return gst_event_new_custom (out_of_band ? GST_EVENT_CUSTOM_DOWNSTREAM_OOB :
      GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new_empty (CALLSTREAM_CLEAR_EVENT_NAME));
}

gboolean
callstream_clear_event_is (GstEvent * event)
{
  const GstEventType type = GST_EVENT_TYPE (event);
  if (type != GST_EVENT_CUSTOM_DOWNSTREAM
      && type != GST_EVENT_CUSTOM_DOWNSTREAM_OOB)
    return FALSE;
  return gst_event_has_name (event, CALLSTREAM_CLEAR_EVENT_NAME);
}

GstEvent *
callstream_played_event_new (guint64 played_ms, const gchar * mark)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
      gst_structure_new (CALLSTREAM_PLAYED_EVENT_NAME,
          "played-ms", G_TYPE_UINT64, played_ms,
          "mark", G_TYPE_STRING, mark != nullptr ? mark : "", nullptr));
}

gboolean
callstream_played_event_parse (GstEvent * event, guint64 * played_ms,
    const gchar ** mark)
{
  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM
      || !gst_event_has_name (event, CALLSTREAM_PLAYED_EVENT_NAME))
    return FALSE;
  const GstStructure *s = gst_event_get_structure (event);
  if (played_ms != nullptr && !gst_structure_get_uint64 (s, "played-ms", played_ms))
    return FALSE;
  if (mark != nullptr)
    *mark = gst_structure_get_string (s, "mark");
  return TRUE;
}
