#include "chunkdumper/audio_file_writer.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace callstream {

namespace {

const char *extension(DumpContainer container) {
  switch (container) {
    case DumpContainer::kFlac:
      return "flac";
    case DumpContainer::kRaw:
      return "raw";
    case DumpContainer::kWav:
      break;
  }
  return "wav";
}

std::string chunk_file_name(guint number, DumpContainer container) {
  g_autofree gchar *name =
      g_strdup_printf("chunk-%06u.%s", number, extension(container));
  return name;
}

// The first call file is call.wav; later ones (after a caps change or an
// error) carry their number: call-000002.wav.
std::string call_file_name(guint number, DumpContainer container) {
  g_autofree gchar *name =
      number == 1
          ? g_strdup_printf("call.%s", extension(container))
          : g_strdup_printf("call-%06u.%s", number, extension(container));
  return name;
}

std::string join_path(const std::string &directory, const std::string &name) {
  g_autofree gchar *path =
      g_build_filename(directory.c_str(), name.c_str(), nullptr);
  return path;
}

int sndfile_format(DumpContainer container, SampleEncoding encoding) {
  if (container == DumpContainer::kFlac)
    return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  return SF_FORMAT_WAV |
         (encoding == SampleEncoding::kMulaw ? SF_FORMAT_ULAW
                                             : SF_FORMAT_PCM_16);
}

WriteFailure failure_at(WriteFailure::Stage stage, const std::string &path,
                        std::string reason) {
  return WriteFailure{stage, path, std::move(reason)};
}

}  // namespace

FileDescriptor::~FileDescriptor() { close(); }

int FileDescriptor::close() {
  if (fd_ < 0)
    return 0;
  const int fd = std::exchange(fd_, -1);
  return ::close(fd) == 0 ? 0 : errno;
}

AudioFileWriter::AudioFileWriter(std::string temp_path, std::string final_path,
                                 DumpContainer container,
                                 const AudioFormat &format, int fd)
    : temp_path_(std::move(temp_path)),
      final_path_(std::move(final_path)),
      container_(container),
      format_(format),
      fd_(fd) {}

AudioFileWriter::~AudioFileWriter() {
  if (committed_)
    return;
  sndfile_.reset();
  fd_.close();
  g_unlink(temp_path_.c_str());
}

std::unique_ptr<AudioFileWriter> AudioFileWriter::create(
    const std::string &directory, const std::string &name,
    DumpContainer container, const AudioFormat &format,
    bool keep_header_current, WriteFailure *failure) {
  std::string temp_path = join_path(directory, "." + name + ".part");
  const int fd =
      g_open(temp_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int saved_errno = errno;
    *failure = failure_at(WriteFailure::Stage::kOpen, temp_path,
                          g_strerror(saved_errno));
    return nullptr;
  }
  std::unique_ptr<AudioFileWriter> writer(new AudioFileWriter(
      temp_path, join_path(directory, name), container, format, fd));
  if (container == DumpContainer::kRaw)
    return writer;

  SF_INFO info{};
  info.samplerate = format.rate;
  info.channels = format.channels;
  info.format = sndfile_format(container, format.encoding);
  SNDFILE *sndfile = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
  if (sndfile == nullptr) {
    *failure =
        failure_at(WriteFailure::Stage::kOpen, temp_path, sf_strerror(nullptr));
    return nullptr;  // the writer's destructor removes the file
  }
  writer->sndfile_.reset(sndfile);
  if (keep_header_current)
    sf_command(sndfile, SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
  return writer;
}

bool AudioFileWriter::write(const guint8 *data, gsize size,
                            WriteFailure *failure) {
  if (container_ == DumpContainer::kRaw)
    return write_raw(data, size, failure);

  const gsize frame_size = static_cast<gsize>(format_.bytes_per_frame());
  if (frame_size == 0 || size % frame_size != 0) {
    *failure = failure_at(WriteFailure::Stage::kWrite, temp_path_,
                          "a buffer of " + std::to_string(size) +
                              " bytes is not a whole number of " +
                              std::to_string(frame_size) + "-byte frames");
    return false;
  }
  if (container_ == DumpContainer::kFlac)
    return write_flac(data, size, failure);

  // WAV holds S16LE and u-law bytes exactly as they arrive.
  const sf_count_t written =
      sf_write_raw(sndfile_.get(), data, static_cast<sf_count_t>(size));
  if (written != static_cast<sf_count_t>(size)) {
    *failure = failure_at(WriteFailure::Stage::kWrite, temp_path_,
                          sf_strerror(sndfile_.get()));
    return false;
  }
  return true;
}

bool AudioFileWriter::write_flac(const guint8 *data, gsize size,
                                 WriteFailure *failure) {
  // libsndfile takes host-endian shorts; the mapped bytes may be unaligned.
  std::vector<short> samples(size / 2);
  std::memcpy(samples.data(), data, samples.size() * sizeof(short));
  if constexpr (G_BYTE_ORDER == G_BIG_ENDIAN) {
    for (short &sample : samples)
      sample =
          static_cast<short>(GUINT16_SWAP_LE_BE(static_cast<guint16>(sample)));
  }
  const sf_count_t count = static_cast<sf_count_t>(samples.size());
  if (sf_write_short(sndfile_.get(), samples.data(), count) != count) {
    *failure = failure_at(WriteFailure::Stage::kWrite, temp_path_,
                          sf_strerror(sndfile_.get()));
    return false;
  }
  return true;
}

bool AudioFileWriter::write_raw(const guint8 *data, gsize size,
                                WriteFailure *failure) {
  while (size > 0) {
    const ssize_t written = ::write(fd_.get(), data, size);
    if (written < 0) {
      const int saved_errno = errno;
      if (saved_errno == EINTR)
        continue;
      *failure = failure_at(WriteFailure::Stage::kWrite, temp_path_,
                            g_strerror(saved_errno));
      return false;
    }
    data += written;
    size -= static_cast<gsize>(written);
  }
  return true;
}

bool AudioFileWriter::commit(WriteFailure *failure) {
  if (sndfile_) {
    // Writes the final header (and the FLAC stream info).
    const int error = sf_close(sndfile_.release());
    if (error != SF_ERR_NO_ERROR) {
      *failure = failure_at(WriteFailure::Stage::kWrite, temp_path_,
                            sf_error_number(error));
      return false;
    }
  }
  if (const int error = fd_.close(); error != 0) {
    *failure =
        failure_at(WriteFailure::Stage::kWrite, temp_path_, g_strerror(error));
    return false;
  }
  if (g_rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    const int saved_errno = errno;
    *failure = failure_at(WriteFailure::Stage::kWrite, final_path_,
                          std::string("could not rename the temporary file: ") +
                              g_strerror(saved_errno));
    return false;
  }
  committed_ = true;
  return true;
}

void WriteOutcome::add(WriteOutcome &&other) {
  files_written += other.files_written;
  audio_bytes_written += other.audio_bytes_written;
  for (std::string &path : other.paths)
    paths.push_back(std::move(path));
  for (WriteFailure &failure : other.failures)
    failures.push_back(std::move(failure));
}

bool DumpFileSequence::enter_directory(const DumpTarget &target,
                                       WriteOutcome *outcome) {
  if (target.directory != directory_) {
    directory_ = target.directory;
    next_number_ = 1;
  }
  // Every time: cheap when it exists, and recreates it if someone removed it.
  if (g_mkdir_with_parents(target.directory.c_str(), 0755) != 0) {
    const int saved_errno = errno;
    outcome->failures.push_back(failure_at(
        WriteFailure::Stage::kOpen, target.directory, g_strerror(saved_errno)));
    return false;
  }
  return true;
}

bool DumpFileSequence::write_buffers(AudioFileWriter *file,
                                     GstBufferList *buffers, guint64 *bytes,
                                     WriteFailure *failure) {
  const guint count = gst_buffer_list_length(buffers);
  for (guint i = 0; i < count; i++) {
    GstBuffer *buffer = gst_buffer_list_get(buffers, i);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      *failure = failure_at(WriteFailure::Stage::kWrite, file->final_path(),
                            "could not map a buffer for reading");
      return false;
    }
    const bool written = file->write(map.data, map.size, failure);
    gst_buffer_unmap(buffer, &map);
    if (!written)
      return false;
    *bytes += map.size;
  }
  return true;
}

WriteOutcome DumpFileSequence::write_chunk(const DumpTarget &target,
                                           GstBufferList *buffers) {
  WriteOutcome outcome;
  const bool directory_ready = enter_directory(target, &outcome);
  const guint number = next_number_++;
  if (!directory_ready)
    return outcome;

  WriteFailure failure;
  auto file = AudioFileWriter::create(target.directory,
                                      chunk_file_name(number, target.container),
                                      target.container, target.format,
                                      /*keep_header_current=*/false, &failure);
  guint64 bytes = 0;
  if (file && write_buffers(file.get(), buffers, &bytes, &failure) &&
      file->commit(&failure)) {
    outcome.files_written = 1;
    outcome.audio_bytes_written = bytes;
    outcome.paths.push_back(file->final_path());
  } else {
    outcome.failures.push_back(std::move(failure));
  }
  return outcome;
}

WriteOutcome DumpFileSequence::append_to_call_file(const DumpTarget &target,
                                                   GstBufferList *buffers) {
  WriteOutcome outcome;
  if (call_file_ && !(call_target_ == target))
    outcome.add(finish_call_file());

  WriteFailure failure;
  if (!call_file_) {
    if (!enter_directory(target, &outcome))
      return outcome;
    call_file_ = AudioFileWriter::create(
        target.directory, call_file_name(next_number_, target.container),
        target.container, target.format, /*keep_header_current=*/true,
        &failure);
    if (!call_file_) {
      outcome.failures.push_back(std::move(failure));
      return outcome;
    }
    next_number_++;
    call_target_ = target;
  }

  guint64 bytes = 0;
  const bool written =
      write_buffers(call_file_.get(), buffers, &bytes, &failure);
  outcome.audio_bytes_written += bytes;
  if (!written) {
    // Keep what the file holds; the rest of the call goes to the next file.
    outcome.failures.push_back(std::move(failure));
    outcome.add(finish_call_file());
  }
  return outcome;
}

WriteOutcome DumpFileSequence::finish_call_file() {
  WriteOutcome outcome;
  if (!call_file_)
    return outcome;
  std::unique_ptr<AudioFileWriter> file = std::move(call_file_);
  WriteFailure failure;
  if (file->commit(&failure)) {
    outcome.files_written = 1;
    outcome.paths.push_back(file->final_path());
  } else
    outcome.failures.push_back(std::move(failure));
  return outcome;
}

void DumpFileSequence::reset() {
  call_file_.reset();
  directory_.clear();
  next_number_ = 1;
}

}  // namespace callstream
