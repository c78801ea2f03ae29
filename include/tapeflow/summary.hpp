#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tapeflow/export.hpp"
#include "tapeflow/tensor.hpp"

// TensorBoard summaries, as tf.summary in TensorFlow 2: event files of TFRecord-framed Event
// protos that `tensorboard --logdir <dir>` reads (docs/tensorboard.md has the format notes).

namespace tapeflow {
namespace detail {
struct SummaryWriterImpl;
}

namespace summary {

struct FileWriterOptions {
  /// Summaries kept in memory before they are written out (TF's max_queue).
  int max_queue = 10;
  /// Buffered summaries are also written when a summary arrives this long after the last write
  /// (TF's flush_millis; checked on each summary, there is no background thread).
  int flush_millis = 120000;
  /// Appended to the file name (TF's filename_suffix).
  std::string filename_suffix = ".v2";
};

/// Makes a writer the thread's default while alive (from SummaryWriter::as_default()).
class TAPEFLOW_API DefaultWriterScope {
 public:
  explicit DefaultWriterScope(std::shared_ptr<detail::SummaryWriterImpl> impl);
  ~DefaultWriterScope();
  DefaultWriterScope(const DefaultWriterScope&) = delete;
  DefaultWriterScope& operator=(const DefaultWriterScope&) = delete;
};

/// A shared handle to one event file; copies write to the same file. Buffered summaries are
/// written by flush(), close(), when the queue fills, and when the last handle goes away.
/// Safe to use from several threads.
class TAPEFLOW_API SummaryWriter {
 public:
  /// The no-op writer (`defined() == false`), as tf.summary.create_noop_writer.
  SummaryWriter() = default;
  explicit SummaryWriter(std::shared_ptr<detail::SummaryWriterImpl> impl)
      : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  /// Writes the buffered summaries to the file and flushes it.
  void flush() const;
  /// Flushes and closes the file; later summaries to this writer throw FailedPreconditionError.
  void close() const;
  /// The directory given to create_file_writer.
  std::string logdir() const;
  /// Full path of the event file.
  std::string path() const;
  /// This writer is the thread's default until the returned scope ends:
  /// `{ auto scope = writer.as_default(); tf::summary::scalar("loss", l, step); }`.
  DefaultWriterScope as_default() const { return DefaultWriterScope(impl_); }

  const std::shared_ptr<detail::SummaryWriterImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<detail::SummaryWriterImpl> impl_;
};

/// Creates `logdir` (with parents) and a new event file in it,
/// `events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n><suffix>`.
/// NotFoundError when the directory or file cannot be created.
TAPEFLOW_API SummaryWriter create_file_writer(const std::string& logdir,
                                              const FileWriterOptions& options = {});
/// The innermost writer set by as_default() on this thread (undefined when none).
TAPEFLOW_API SummaryWriter default_writer();

// Each summary returns true when written, false for an undefined (no-op) writer.
// The forms without a writer use default_writer().

/// A float32 scalar for the Scalars dashboard; `data` must be a 0-d tensor of any dtype.
TAPEFLOW_API bool scalar(const std::string& name,
                         double data,
                         int64_t step,
                         const SummaryWriter& writer);
TAPEFLOW_API bool scalar(const std::string& name,
                         const Tensor& data,
                         int64_t step,
                         const SummaryWriter& writer);
TAPEFLOW_API bool scalar(const std::string& name, double data, int64_t step);
TAPEFLOW_API bool scalar(const std::string& name, const Tensor& data, int64_t step);

/// `buckets` equal-width buckets over [min, max] of all finite elements (NaN and ±Inf are
/// left out), as a float64 [buckets, 3] tensor of (left edge, right edge, count).
TAPEFLOW_API bool histogram(const std::string& name,
                            const Tensor& data,
                            int64_t step,
                            const SummaryWriter& writer,
                            int buckets = 30);
TAPEFLOW_API bool histogram(const std::string& name,
                            const Tensor& data,
                            int64_t step,
                            int buckets = 30);

/// The first `max_outputs` images of a [k, h, w, c] tensor (c = 1 grey, 2 grey+alpha, 3 RGB,
/// 4 RGBA), PNG-encoded. Floating values are in [0, 1], integers in [0, 255]; both saturate.
TAPEFLOW_API bool image(const std::string& name,
                        const Tensor& data,
                        int64_t step,
                        const SummaryWriter& writer,
                        int max_outputs = 3);
TAPEFLOW_API bool image(const std::string& name,
                        const Tensor& data,
                        int64_t step,
                        int max_outputs = 3);

/// A string for the Text dashboard (rendered as Markdown by TensorBoard).
TAPEFLOW_API bool text(const std::string& name,
                       const std::string& data,
                       int64_t step,
                       const SummaryWriter& writer);
TAPEFLOW_API bool text(const std::string& name, const std::string& data, int64_t step);

}  // namespace summary
}  // namespace tapeflow
