// The disk side of chunkdumper: audio files written under a hidden temporary
// name and renamed when complete, and the numbered sequence of them in a call
// directory. Runs only on write-pool threads and knows nothing of the element.
#pragma once

#include <gst/gst.h>
#include <sndfile.h>

#include <memory>
#include <string>
#include <vector>

namespace callstream {

enum class DumpContainer { kWav, kFlac, kRaw };

enum class SampleEncoding { kS16le, kMulaw };

struct AudioFormat {
  SampleEncoding encoding = SampleEncoding::kS16le;
  int rate = 0;
  int channels = 0;

  int bytes_per_frame() const {
    return channels * (encoding == SampleEncoding::kS16le ? 2 : 1);
  }
  bool operator==(const AudioFormat &) const = default;
};

// Where and how one group of buffers is written.
struct DumpTarget {
  std::string call_id;    // the sanitised directory name
  std::string directory;  // location/call_id
  DumpContainer container = DumpContainer::kWav;
  AudioFormat format;

  bool operator==(const DumpTarget &) const = default;
};

struct WriteFailure {
  enum class Stage { kOpen, kWrite };
  Stage stage = Stage::kWrite;
  std::string path;
  std::string reason;
};

// A file descriptor closed when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;

  int get() const { return fd_; }
  // Closes now; returns 0 or the errno of close().
  int close();

 private:
  int fd_;
};

struct SndfileCloser {
  void operator()(SNDFILE *sndfile) const { sf_close(sndfile); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// One audio file. It lives as "<dir>/.<name>.part" until commit() renames it
// to "<dir>/<name>"; destroyed uncommitted, the temporary file is removed.
class AudioFileWriter {
 public:
  // @keep_header_current rewrites the WAV header after every write, so the
  // temporary file is a valid WAV even if the process dies before commit().
  static std::unique_ptr<AudioFileWriter> create(const std::string &directory,
                                                 const std::string &name,
                                                 DumpContainer container,
                                                 const AudioFormat &format,
                                                 bool keep_header_current,
                                                 WriteFailure *failure);
  ~AudioFileWriter();
  AudioFileWriter(const AudioFileWriter &) = delete;
  AudioFileWriter &operator=(const AudioFileWriter &) = delete;

  // @size must be whole frames.
  bool write(const guint8 *data, gsize size, WriteFailure *failure);
  // Closes the file and gives it its final name.
  bool commit(WriteFailure *failure);

  const std::string &final_path() const { return final_path_; }

 private:
  AudioFileWriter(std::string temp_path, std::string final_path,
                  DumpContainer container, const AudioFormat &format, int fd);

  bool write_flac(const guint8 *data, gsize size, WriteFailure *failure);
  bool write_raw(const guint8 *data, gsize size, WriteFailure *failure);

  std::string temp_path_;
  std::string final_path_;
  DumpContainer container_;
  AudioFormat format_;
  FileDescriptor fd_;   // owns the file; libsndfile only borrows it
  SndfilePtr sndfile_;  // null for DumpContainer::kRaw
  bool committed_ = false;
};

// What one job did, for the element to count and report.
struct WriteOutcome {
  guint64 files_written = 0;
  guint64 audio_bytes_written = 0;
  std::vector<std::string> paths;  // the files completed, by their final name
  std::vector<WriteFailure> failures;

  void add(WriteOutcome &&other);
};

// The files of one dumper, numbered in order per call directory. Not
// thread-safe: used only from the jobs of the dumper's WriteQueue, which run
// one at a time.
//
// mode=chunks: chunk-000001.wav, chunk-000002.wav, ... one per group; a
// failed chunk keeps its number, so a gap shows the loss.
// mode=call: call.wav holds the whole call. A new format (caps change) or a
// write error closes it, and the next audio goes to call-000002.wav, and so
// on; a failure to open retries the same name with the next buffer.
class DumpFileSequence {
 public:
  WriteOutcome write_chunk(const DumpTarget &target, GstBufferList *buffers);
  WriteOutcome append_to_call_file(const DumpTarget &target,
                                   GstBufferList *buffers);
  WriteOutcome finish_call_file();
  // Forgets numbering; a call file still open is removed.
  void reset();

 private:
  // Creates the directory and restarts numbering when it is a new one.
  bool enter_directory(const DumpTarget &target, WriteOutcome *outcome);
  static bool write_buffers(AudioFileWriter *file, GstBufferList *buffers,
                            guint64 *bytes, WriteFailure *failure);

  std::string directory_;  // the directory numbering refers to
  guint next_number_ = 1;
  std::unique_ptr<AudioFileWriter> call_file_;
  DumpTarget call_target_;
};

}  // namespace callstream
