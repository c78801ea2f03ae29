#include "io/event_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>

#include "core/fail.hpp"
#include "io/crc32c.hpp"
#include "io/proto_encoder.hpp"

namespace tapeflow::detail {

namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

/// TensorFlow's name: events.out.tfevents.<%010d seconds>.<host>.<pid>.<n><suffix>; <n> counts
/// the files this process created, so two writers on one directory in one second differ.
std::string event_file_name(const std::string& suffix) {
  static std::atomic<int64_t> counter{0};
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  char stamp[32];
  std::snprintf(stamp, sizeof(stamp), "%010" PRId64, int64_t(seconds));
  return str_cat("events.out.tfevents.",
                 stamp,
                 ".",
                 hostname(),
                 ".",
                 int64_t(::getpid()),
                 ".",
                 counter.fetch_add(1),
                 suffix);
}

}  // namespace

void append_tfrecord(std::string& out, std::string_view data) {
  std::string header;
  ProtoEncoder::append_le(header, data.size(), 8);
  out += header;
  ProtoEncoder::append_le(out, mask_crc32c(crc32c(header.data(), header.size())), 4);
  out.append(data);
  ProtoEncoder::append_le(out, mask_crc32c(crc32c(data.data(), data.size())), 4);
}

double wall_time_now() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return double(us) / 1e6;
}

SummaryWriterImpl::SummaryWriterImpl(std::string dir, const summary::FileWriterOptions& options)
    : logdir(std::move(dir)), options_(options) {
  if (logdir.empty())
    fail<InvalidArgumentError>("CreateSummaryFileWriter", "logdir must be a non-empty path");
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  if (ec)
    fail<NotFoundError>("CreateSummaryFileWriter",
                        "cannot create the log directory '",
                        logdir,
                        "': ",
                        ec.message());
  path = (std::filesystem::path(logdir) / event_file_name(options_.filename_suffix)).string();
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_)
    fail<NotFoundError>("CreateSummaryFileWriter",
                        "cannot create the event file '",
                        path,
                        "': ",
                        std::strerror(errno));
  ProtoEncoder first;
  first.fixed64(1, wall_time_now()).bytes(3, "brain.Event:2");
  first.message(10, ProtoEncoder().bytes(1, "tapeflow"));  // source_metadata.writer
  append_tfrecord(pending_, first.str());
  try {
    write_pending_locked();
  } catch (...) {
    std::fclose(file_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

SummaryWriterImpl::~SummaryWriterImpl() {
  try {
    close();
  } catch (const std::exception& e) {
    // A destructor must not throw; say what was lost instead.
    std::fprintf(
        stderr, "tapeflow: summaries for %s may be incomplete: %s\n", logdir.c_str(), e.what());
  }
}

void SummaryWriterImpl::write_event(const std::string& event) {
  std::lock_guard lock(mu_);
  if (!file_)
    fail<FailedPreconditionError>(
        "WriteSummary", "the summary writer for '", logdir, "' is closed");
  append_tfrecord(pending_, event);
  ++pending_count_;
  const auto age = std::chrono::steady_clock::now() - last_write_;
  if (pending_count_ >= options_.max_queue ||
      age >= std::chrono::milliseconds(options_.flush_millis))
    write_pending_locked();
}

void SummaryWriterImpl::flush() {
  std::lock_guard lock(mu_);
  if (file_) write_pending_locked();
}

void SummaryWriterImpl::close() {
  std::lock_guard lock(mu_);
  if (!file_) return;
  std::FILE* f = file_;
  try {
    write_pending_locked();
  } catch (...) {
    std::fclose(f);
    file_ = nullptr;
    throw;
  }
  file_ = nullptr;
  if (std::fclose(f) != 0)
    fail<InternalError>(
        "FlushSummaryWriter", "closing '", path, "' failed: ", std::strerror(errno));
}

void SummaryWriterImpl::write_pending_locked() {
  last_write_ = std::chrono::steady_clock::now();
  pending_count_ = 0;
  std::string data = std::move(pending_);
  pending_.clear();
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), file_) != data.size())
    fail<InternalError>("FlushSummaryWriter",
                        "writing ",
                        data.size(),
                        " bytes to '",
                        path,
                        "' failed: ",
                        std::strerror(errno));
  if (std::fflush(file_) != 0)
    fail<InternalError>(
        "FlushSummaryWriter", "flushing '", path, "' failed: ", std::strerror(errno));
}

}  // namespace tapeflow::detail
