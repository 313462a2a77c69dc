/* chunkdumper: a sink that writes a call's audio to files, the GStreamer
 * form of the ingest service's audio dumper (audio-dumps/<call>/chunk-N.wav).
 *
 *   ... ! chunkdumper location=audio-dumps format=wav chunk-duration=1000
 *
 * render() only gathers buffers (references, no copies) and hands them to the
 * element's WriteQueue; the files are opened, written, closed and renamed on
 * the shared write pool, in order. A file appears under its final name only
 * once complete. EOS and stop() wait for the queue, so when the pipeline
 * posts EOS every file is on disk.
 *
 * Settings are copied when the element starts and again when a call begins
 * (its first buffer), so a change made while playing applies to the next
 * call, never in the middle of one.
 *
 * Locks: GST_OBJECT_LOCK guards Settings and the current directory; the
 * WriteQueue has its own. Neither is taken while holding the other. */
#include "chunkdumper/gstchunkdumper.h"

#include <atomic>
#include <memory>
#include <string>

#include "callstream-events.h"
#include "chunkdumper/audio_file_writer.h"
#include "common/write_pool.h"
#include "protocol/names.h"

GST_DEBUG_CATEGORY_STATIC (gst_chunk_dumper_debug);
#define GST_CAT_DEFAULT gst_chunk_dumper_debug

using callstream::AudioFormat;
using callstream::DumpContainer;
using callstream::DumpFileSequence;
using callstream::DumpTarget;
using callstream::SampleEncoding;
using callstream::WriteFailure;
using callstream::WriteOutcome;
using callstream::WriteQueue;

typedef enum
{
  GST_CHUNK_DUMPER_FORMAT_WAV,
  GST_CHUNK_DUMPER_FORMAT_FLAC,
  GST_CHUNK_DUMPER_FORMAT_RAW,
} GstChunkDumperFormat;

typedef enum
{
  GST_CHUNK_DUMPER_MODE_CHUNKS,
  GST_CHUNK_DUMPER_MODE_CALL,
} GstChunkDumperMode;

#define DEFAULT_LOCATION "audio-dumps"
#define DEFAULT_FORMAT GST_CHUNK_DUMPER_FORMAT_WAV
#define DEFAULT_CHUNK_DURATION_MS 0
#define MAX_CHUNK_DURATION_MS (24 * 3600 * 1000)
#define DEFAULT_MODE GST_CHUNK_DUMPER_MODE_CHUNKS

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_FORMAT,
  PROP_CHUNK_DURATION,
  PROP_MODE,
  PROP_FILES_WRITTEN,
  PROP_BYTES_WRITTEN,
  PROP_WRITE_ERRORS,
  PROP_CURRENT_DIRECTORY,
};

#define PCM_CAPS \
  "audio/x-raw, format = (string) S16LE, layout = (string) interleaved, " \
  "rate = (int) [ 1, MAX ], channels = (int) [ 1, 8 ]"
#define MULAW_CAPS \
  "audio/x-mulaw, rate = (int) [ 1, MAX ], channels = (int) [ 1, 8 ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (PCM_CAPS "; " MULAW_CAPS));
/* FLAC holds PCM only: put mulawdec in front for u-law. */
static GstStaticCaps flac_caps = GST_STATIC_CAPS (PCM_CAPS);

namespace {

struct BufferListUnref
{
  void operator() (GstBufferList * list) const
  {
    if (list != nullptr)
      gst_buffer_list_unref (list);
  }
};
using BufferListPtr = std::unique_ptr<GstBufferList, BufferListUnref>;
using SharedBufferList = std::shared_ptr<GstBufferList>;

struct Settings
{
  std::string location = DEFAULT_LOCATION;
  GstChunkDumperFormat format = DEFAULT_FORMAT;
  guint chunk_duration_ms = DEFAULT_CHUNK_DURATION_MS;
  GstChunkDumperMode mode = DEFAULT_MODE;
};

/* Owned by the streaming thread (and start/stop, when it is not running). */
struct State
{
  Settings settings;            /* copied in start() and for each call */
  std::string call_info_id;     /* raw, from the call-info event */
  std::string stream_id;        /* raw, from stream-start */
  bool call_decided = false;    /* target.call_id/directory are fixed */
  bool flushed_since_decided = false;
  bool eos_since_decided = false;
  bool format_known = false;
  DumpTarget target;            /* where the next buffer goes */
  /* chunk-duration > 0: buffers gathered for the next chunk file */
  BufferListPtr group;
  DumpTarget group_target;
  guint64 group_frames = 0;
};

}  // namespace

struct ChunkDumperImpl
{
  Settings settings;            /* GST_OBJECT_LOCK */
  std::string current_directory;        /* GST_OBJECT_LOCK */
  State state;
  std::atomic<guint64> files_written { 0 };
  std::atomic<guint64> bytes_written { 0 };
  std::atomic<guint64> write_errors { 0 };
  DumpFileSequence files;       /* touched by write-queue jobs only */
  WriteQueue write_queue;       /* last member: destroyed, so drained, first */
};

struct _GstChunkDumper
{
  GstBaseSink parent;
  ChunkDumperImpl *impl;
};

G_DEFINE_TYPE (GstChunkDumper, gst_chunk_dumper, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (chunkdumper, "chunkdumper", GST_RANK_NONE,
    GST_TYPE_CHUNK_DUMPER);

#define GST_TYPE_CHUNK_DUMPER_FORMAT (gst_chunk_dumper_format_get_type ())
static GType
gst_chunk_dumper_format_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_CHUNK_DUMPER_FORMAT_WAV, "WAV: 16-bit PCM or u-law as received", "wav"},
    {GST_CHUNK_DUMPER_FORMAT_FLAC, "FLAC: 16-bit PCM (mulawdec first)", "flac"},
    {GST_CHUNK_DUMPER_FORMAT_RAW, "Raw: received bytes, no header", "raw"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstChunkDumperFormat", values));
  return type;
}

#define GST_TYPE_CHUNK_DUMPER_MODE (gst_chunk_dumper_mode_get_type ())
static GType
gst_chunk_dumper_mode_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_CHUNK_DUMPER_MODE_CHUNKS, "Numbered files chunk-000001...", "chunks"},
    {GST_CHUNK_DUMPER_MODE_CALL, "One file per call, complete at EOS", "call"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstChunkDumperMode", values));
  return type;
}

static DumpContainer
container_for (GstChunkDumperFormat format)
{
  switch (format) {
    case GST_CHUNK_DUMPER_FORMAT_FLAC:
      return DumpContainer::kFlac;
    case GST_CHUNK_DUMPER_FORMAT_RAW:
      return DumpContainer::kRaw;
    case GST_CHUNK_DUMPER_FORMAT_WAV:
      break;
  }
  return DumpContainer::kWav;
}

/* ---- write-queue side ---- */

static void
report_outcome (GstChunkDumper * self, const DumpTarget & target,
    const WriteOutcome & outcome)
{
  ChunkDumperImpl *impl = self->impl;
  impl->files_written += outcome.files_written;
  impl->bytes_written += outcome.audio_bytes_written;
  for (const std::string & path : outcome.paths)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new (CALLSTREAM_FILE_WRITTEN_MESSAGE_NAME,
                "call-id", G_TYPE_STRING, target.call_id.c_str (),
                "path", G_TYPE_STRING, path.c_str (), nullptr)));
  /* A lost file is a warning and a counter, not the end of the call. */
  for (const WriteFailure & failure : outcome.failures) {
    impl->write_errors++;
    const bool opening = failure.stage == WriteFailure::Stage::kOpen;
    gst_element_message_full_with_details (GST_ELEMENT (self),
        GST_MESSAGE_WARNING, GST_RESOURCE_ERROR,
        opening ? GST_RESOURCE_ERROR_OPEN_WRITE : GST_RESOURCE_ERROR_WRITE,
        g_strdup_printf ("Could not %s audio dump \"%s\".",
            opening ? "create" : "write", failure.path.c_str ()),
        g_strdup (failure.reason.c_str ()), __FILE__, GST_FUNCTION, __LINE__,
        gst_structure_new ("details",
            "call-id", G_TYPE_STRING, target.call_id.c_str (),
            "path", G_TYPE_STRING, failure.path.c_str (), nullptr));
  }
}

enum class WriteStep { kChunk, kAppendToCallFile, kFinishCallFile };

/* Queues @step; it runs on the shared pool after every earlier step. */
static void
submit_write (GstChunkDumper * self, WriteStep step, const DumpTarget & target,
    BufferListPtr buffers = nullptr)
{
  /* std::function must be copyable, hence shared. */
  const SharedBufferList shared (buffers.release (), BufferListUnref ());
  self->impl->write_queue.submit ([self, step, target, shared] {
        DumpFileSequence & files = self->impl->files;
        report_outcome (self, target,
            step == WriteStep::kChunk ? files.write_chunk (target, shared.get ())
            : step == WriteStep::kAppendToCallFile
            ? files.append_to_call_file (target, shared.get ())
            : files.finish_call_file ());
      });
}

/* ---- streaming side ---- */

static void
flush_group (GstChunkDumper * self)
{
  State & state = self->impl->state;
  if (!state.group)
    return;
  GST_LOG_OBJECT (self, "writing a group of %u buffers, %" G_GUINT64_FORMAT
      " frames", gst_buffer_list_length (state.group.get ()),
      state.group_frames);
  submit_write (self, WriteStep::kChunk, state.group_target,
      std::move (state.group));
  state.group_frames = 0;
}

/* Writes what is gathered and closes the call file. */
static void
finish_pending_writes (GstChunkDumper * self)
{
  State & state = self->impl->state;
  flush_group (self);
  if (state.settings.mode == GST_CHUNK_DUMPER_MODE_CALL)
    submit_write (self, WriteStep::kFinishCallFile, state.target);
}

static std::string
call_id_for (const State & state)
{
  std::string id = callstream::sanitize_path_component (state.call_info_id);
  if (id.empty ())
    id = callstream::sanitize_path_component (state.stream_id);
  if (id.empty ()) {
    g_autofree gchar *uuid = g_uuid_string_random ();
    id = std::string ("call-") + uuid;
  }
  return id;
}

static void
copy_settings (GstChunkDumper * self)
{
  State & state = self->impl->state;
  GST_OBJECT_LOCK (self);
  state.settings = self->impl->settings;
  GST_OBJECT_UNLOCK (self);
  state.target.container = container_for (state.settings.format);
}

static void
decide_call (GstChunkDumper * self)
{
  State & state = self->impl->state;
  copy_settings (self);
  state.target.call_id = call_id_for (state);
  g_autofree gchar *directory =
      g_build_filename (state.settings.location.c_str (),
      state.target.call_id.c_str (), nullptr);
  state.target.directory = directory;
  state.call_decided = true;
  state.flushed_since_decided = false;
  state.eos_since_decided = false;
  GST_INFO_OBJECT (self, "call %s dumps into %s", state.target.call_id.c_str (),
      directory);

  GST_OBJECT_LOCK (self);
  self->impl->current_directory = directory;
  GST_OBJECT_UNLOCK (self);
}

/* The next buffer starts a new call (and its own numbering). */
static void
end_call (GstChunkDumper * self)
{
  finish_pending_writes (self);
  self->impl->state.call_decided = false;
}

static void
handle_call_info (GstChunkDumper * self, const GstStructure * info)
{
  State & state = self->impl->state;
  const gchar *id = callstream_call_info_id (info);
  if (state.call_decided) {
    /* The call id is fixed once files are written; a flush starts over. */
    if (!state.flushed_since_decided || id == nullptr
        || callstream::sanitize_path_component (id) == state.target.call_id) {
      GST_DEBUG_OBJECT (self, "call-info keeps call %s",
          state.target.call_id.c_str ());
      return;
    }
    GST_INFO_OBJECT (self, "new call %s after a flush", id);
    end_call (self);
  }
  state.call_info_id = id != nullptr ? id : "";
}

static gboolean
gst_chunk_dumper_event (GstBaseSink * sink, GstEvent * event)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (sink);
  State & state = self->impl->state;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:{
      /* A new stream after EOS is a new call. The call-info it had stays
       * in force (sticky) until a new one comes. */
      if (state.call_decided && state.eos_since_decided)
        end_call (self);
      const gchar *stream_id = nullptr;
      gst_event_parse_stream_start (event, &stream_id);
      state.stream_id = stream_id != nullptr ? stream_id : "";
      break;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:{
      const GstStructure *info = callstream_call_info_event_parse (event);
      if (info != nullptr)
        handle_call_info (self, info);
      break;
    }
    case GST_EVENT_FLUSH_STOP:
      /* Gathered audio is written, never dropped quietly. */
      flush_group (self);
      if (state.call_decided)
        state.flushed_since_decided = true;
      break;
    case GST_EVENT_EOS:
      finish_pending_writes (self);
      /* Every file is complete and renamed before EOS goes on. */
      self->impl->write_queue.drain ();
      if (state.call_decided)
        state.eos_since_decided = true;
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (gst_chunk_dumper_parent_class)->event (sink,
      event);
}

static GstFlowReturn
gst_chunk_dumper_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (sink);
  State & state = self->impl->state;

  if (!state.format_known) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (nullptr),
        ("received a buffer before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const gsize size = gst_buffer_get_size (buffer);
  if (size == 0)
    return GST_FLOW_OK;
  if (!state.call_decided)
    decide_call (self);
  if (state.target.container == DumpContainer::kFlac
      && state.target.format.encoding == SampleEncoding::kMulaw) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (nullptr),
        ("FLAC cannot hold u-law audio; put mulawdec before chunkdumper"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  const bool call_mode = state.settings.mode == GST_CHUNK_DUMPER_MODE_CALL;
  if (call_mode || state.settings.chunk_duration_ms == 0) {
    BufferListPtr single (gst_buffer_list_new_sized (1));
    gst_buffer_list_add (single.get (), gst_buffer_ref (buffer));
    submit_write (self, call_mode ? WriteStep::kAppendToCallFile
        : WriteStep::kChunk, state.target, std::move (single));
    return GST_FLOW_OK;
  }

  /* A chunk holds one format and one call: a change closes the group. */
  if (state.group && !(state.group_target == state.target))
    flush_group (self);
  if (!state.group) {
    state.group.reset (gst_buffer_list_new ());
    state.group_target = state.target;
  }
  gst_buffer_list_add (state.group.get (), gst_buffer_ref (buffer));
  const AudioFormat & format = state.target.format;
  state.group_frames += size / format.bytes_per_frame ();
  if (state.group_frames * 1000 >=
      static_cast<guint64> (state.settings.chunk_duration_ms) * format.rate)
    flush_group (self);
  return GST_FLOW_OK;
}

static gboolean
gst_chunk_dumper_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (sink);
  State & state = self->impl->state;
  const GstStructure *s = gst_caps_get_structure (caps, 0);

  AudioFormat format;
  format.encoding = gst_structure_has_name (s, "audio/x-mulaw")
      ? SampleEncoding::kMulaw : SampleEncoding::kS16le;
  if (!gst_structure_get_int (s, "rate", &format.rate)
      || !gst_structure_get_int (s, "channels", &format.channels)
      || format.rate <= 0 || format.channels <= 0) {
    GST_WARNING_OBJECT (self, "caps without rate or channels: %"
        GST_PTR_FORMAT, caps);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "format %" GST_PTR_FORMAT, caps);
  state.target.format = format;
  state.format_known = true;
  return TRUE;
}

static GstCaps *
gst_chunk_dumper_get_caps (GstBaseSink * sink, GstCaps * filter)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (sink);

  GST_OBJECT_LOCK (self);
  const bool flac = self->impl->settings.format == GST_CHUNK_DUMPER_FORMAT_FLAC;
  GST_OBJECT_UNLOCK (self);

  GstCaps *caps = flac ? gst_static_caps_get (&flac_caps)
      : gst_pad_get_pad_template_caps (GST_BASE_SINK_PAD (sink));
  if (filter != nullptr) {
    GstCaps *filtered =
        gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = filtered;
  }
  return caps;
}

static gboolean
gst_chunk_dumper_start (GstBaseSink * sink)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (sink);
  ChunkDumperImpl *impl = self->impl;

  impl->state = State ();
  copy_settings (self);
  GST_OBJECT_LOCK (self);
  impl->current_directory.clear ();
  GST_OBJECT_UNLOCK (self);
  impl->files_written = 0;
  impl->bytes_written = 0;
  impl->write_errors = 0;
  GST_DEBUG_OBJECT (self, "dumping into %s",
      impl->state.settings.location.c_str ());
  return TRUE;
}

static gboolean
gst_chunk_dumper_stop (GstBaseSink * sink)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (sink);
  ChunkDumperImpl *impl = self->impl;

  finish_pending_writes (self);
  impl->write_queue.submit ([impl] { impl->files.reset (); });
  impl->write_queue.drain ();
  impl->state = State ();
  return TRUE;
}

static void
gst_chunk_dumper_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (object);
  Settings & settings = self->impl->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:{
      const gchar *location = g_value_get_string (value);
      settings.location = location != nullptr ? location : DEFAULT_LOCATION;
      break;
    }
    case PROP_FORMAT:
      settings.format =
          static_cast<GstChunkDumperFormat> (g_value_get_enum (value));
      break;
    case PROP_CHUNK_DURATION:
      settings.chunk_duration_ms = g_value_get_uint (value);
      break;
    case PROP_MODE:
      settings.mode =
          static_cast<GstChunkDumperMode> (g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_chunk_dumper_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (object);
  ChunkDumperImpl *impl = self->impl;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, impl->settings.location.c_str ());
      break;
    case PROP_FORMAT:
      g_value_set_enum (value, impl->settings.format);
      break;
    case PROP_CHUNK_DURATION:
      g_value_set_uint (value, impl->settings.chunk_duration_ms);
      break;
    case PROP_MODE:
      g_value_set_enum (value, impl->settings.mode);
      break;
    case PROP_FILES_WRITTEN:
      g_value_set_uint64 (value, impl->files_written);
      break;
    case PROP_BYTES_WRITTEN:
      g_value_set_uint64 (value, impl->bytes_written);
      break;
    case PROP_WRITE_ERRORS:
      g_value_set_uint64 (value, impl->write_errors);
      break;
    case PROP_CURRENT_DIRECTORY:
      g_value_set_string (value, impl->current_directory.empty ()
          ? nullptr : impl->current_directory.c_str ());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_chunk_dumper_finalize (GObject * object)
{
  GstChunkDumper *self = GST_CHUNK_DUMPER (object);
  delete self->impl;
  G_OBJECT_CLASS (gst_chunk_dumper_parent_class)->finalize (object);
}

static void
gst_chunk_dumper_init (GstChunkDumper * self)
{
  self->impl = new ChunkDumperImpl ();
  /* A file writer, not a renderer: write as fast as buffers come. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  /* A call pipeline is live: no preroll, so sinks after a tee without
   * queues never wait for each other (async=TRUE deadlocks there). */
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_chunk_dumper_class_init (GstChunkDumperClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS (klass);
  const auto settable = static_cast<GParamFlags> (G_PARAM_READWRITE
      | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto readable = static_cast<GParamFlags> (G_PARAM_READABLE
      | G_PARAM_STATIC_STRINGS);

  GST_DEBUG_CATEGORY_INIT (gst_chunk_dumper_debug, "chunkdumper", 0,
      "Call audio dumper");

  gobject_class->set_property = gst_chunk_dumper_set_property;
  gobject_class->get_property = gst_chunk_dumper_get_property;
  gobject_class->finalize = gst_chunk_dumper_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Directory that receives one sub-directory per call, named after "
          "the call id (call-sid, else stream-sid, else the stream id). "
          "Settings changed while playing apply from the next call",
          DEFAULT_LOCATION, settable));
  g_object_class_install_property (gobject_class, PROP_FORMAT,
      g_param_spec_enum ("format", "File format",
          "Format of the files written", GST_TYPE_CHUNK_DUMPER_FORMAT,
          DEFAULT_FORMAT, settable));
  g_object_class_install_property (gobject_class, PROP_CHUNK_DURATION,
      g_param_spec_uint ("chunk-duration", "Chunk duration",
          "Milliseconds of audio per file in mode=chunks: buffers are "
          "gathered until at least this much audio is there (the rest is "
          "written at EOS); 0 writes one file per buffer. Unused in mode=call",
          0, MAX_CHUNK_DURATION_MS, DEFAULT_CHUNK_DURATION_MS, settable));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Numbered chunk files, or one file for the whole call",
          GST_TYPE_CHUNK_DUMPER_MODE, DEFAULT_MODE, settable));
  g_object_class_install_property (gobject_class, PROP_FILES_WRITTEN,
      g_param_spec_uint64 ("files-written", "Files written",
          "Files completed and given their final name since start",
          0, G_MAXUINT64, 0, readable));
  g_object_class_install_property (gobject_class, PROP_BYTES_WRITTEN,
      g_param_spec_uint64 ("bytes-written", "Bytes written",
          "Audio bytes (headers not counted) written since start; in "
          "mode=call this includes the call file still being written",
          0, G_MAXUINT64, 0, readable));
  g_object_class_install_property (gobject_class, PROP_WRITE_ERRORS,
      g_param_spec_uint64 ("write-errors", "Write errors",
          "Files or directories that could not be created or written since "
          "start; each one is also posted as a warning message",
          0, G_MAXUINT64, 0, readable));
  g_object_class_install_property (gobject_class, PROP_CURRENT_DIRECTORY,
      g_param_spec_string ("current-directory", "Current directory",
          "The call's directory files are written to (NULL before the "
          "first buffer)", nullptr, readable));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "Call audio dumper",
      "Sink/File/Audio",
      "Writes a call's audio to numbered WAV, FLAC or raw files, one "
      "directory per call, without blocking the streaming thread",
      "callstream");

  base_sink_class->start = GST_DEBUG_FUNCPTR (gst_chunk_dumper_start);
  base_sink_class->stop = GST_DEBUG_FUNCPTR (gst_chunk_dumper_stop);
  base_sink_class->get_caps = GST_DEBUG_FUNCPTR (gst_chunk_dumper_get_caps);
  base_sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_chunk_dumper_set_caps);
  base_sink_class->event = GST_DEBUG_FUNCPTR (gst_chunk_dumper_event);
  base_sink_class->render = GST_DEBUG_FUNCPTR (gst_chunk_dumper_render);

  gst_type_mark_as_plugin_api (GST_TYPE_CHUNK_DUMPER_FORMAT,
      static_cast<GstPluginAPIFlags> (0));
  gst_type_mark_as_plugin_api (GST_TYPE_CHUNK_DUMPER_MODE,
      static_cast<GstPluginAPIFlags> (0));
}
