#pragma once

// The state behind tf::summary::SummaryWriter: one TensorBoard event file, written as TFRecords
// (each: uint64 length, masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes;
// all little-endian). The first record is an Event whose file_version is "brain.Event:2".

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "tapeflow/summary.hpp"

namespace tapeflow::detail {

/// Appends one TFRecord holding `data` to `out`.
void append_tfrecord(std::string& out, std::string_view data);

/// Seconds since the Unix epoch, to the microsecond (an Event's wall_time).
double wall_time_now();

struct SummaryWriterImpl {
  /// Creates `logdir` and the event file and writes the file_version record at once, as
  /// TensorFlow does, so that the file is recognisable even if nothing else is ever written.
  SummaryWriterImpl(std::string logdir, const summary::FileWriterOptions& options);
  ~SummaryWriterImpl();
  SummaryWriterImpl(const SummaryWriterImpl&) = delete;
  SummaryWriterImpl& operator=(const SummaryWriterImpl&) = delete;

  /// Queues one serialized Event; writes the queue when it is full or flush_millis old.
  void write_event(const std::string& event);
  void flush();
  void close();

  const std::string logdir;
  std::string path;

 private:
  void write_pending_locked();

  summary::FileWriterOptions options_;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::string pending_;  // framed records not yet handed to the file
  int pending_count_ = 0;
  std::chrono::steady_clock::time_point last_write_;
};

}  // namespace tapeflow::detail
