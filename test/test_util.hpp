#pragma once

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace test {

/// Devices to run device-parametrised cases on: "/cpu:0", then "/gpu:0" when present.
/// Without a GPU, says so once, visibly (a skip never counts as a pass).
inline std::vector<std::string> devices() {
  std::vector<std::string> d{"/cpu:0"};
  if (tapeflow::config::gpu_available()) {
    d.push_back("/gpu:0");
  } else {
    static bool warned = false;
    if (!warned) {
      warned = true;
      WARN("no GPU: GPU cases skipped");
    }
  }
  return d;
}

/// Everything written to stderr (fd 2) while alive, readable once with text() (which stops the
/// capture). For checking warnings such as "Gradients do not exist for variable ...".
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(::fileno(file_), 2);
  }
  ~StderrCapture() {
    restore();
    std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  std::string text() {
    restore();
    std::string s;
    std::rewind(file_);
    for (int c = std::fgetc(file_); c != EOF; c = std::fgetc(file_)) s += char(c);
    return s;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_ = -1;
};

// ---- random inputs and gradients for the op tests ---------------------------------------------

inline tapeflow::Tensor uniform64(const tapeflow::Shape& shape, double lo, double hi) {
  return tapeflow::random::uniform(shape, lo, hi, tapeflow::float64);
}
inline tapeflow::Tensor normal64(const tapeflow::Shape& shape) {
  return tapeflow::random::normal(shape, 0.0, 1.0, tapeflow::float64);
}

/// Random magnitudes in [lo, hi] with alternating signs: |x| >= lo keeps clear of kinks at 0.
inline tapeflow::Tensor signed_away_from_zero(const tapeflow::Shape& shape, double lo, double hi) {
  tapeflow::Tensor mag = uniform64(shape, lo, hi);
  std::vector<double> s(size_t(shape.num_elements()));
  for (size_t i = 0; i < s.size(); ++i) s[i] = i % 2 ? -1.0 : 1.0;
  tapeflow::DeviceScope scope(mag.device_info());
  return mag * tapeflow::constant(s, shape);
}

/// d(sum f(x))/dx at x, from a tape.
inline tapeflow::Tensor grad_of(const std::function<tapeflow::Tensor(const tapeflow::Tensor&)>& f,
                                const tapeflow::Tensor& x) {
  tapeflow::GradientTape tape;
  tape.watch(x);
  return tape.gradient(f(x), x);
}

// ---- files ------------------------------------------------------------------------------------

/// A fresh path under the system temp dir (created unless `create` is false), removed with
/// everything in it at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix, bool create = true) {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() /
        ("tapeflow_" + prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    if (create) std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// The entries of the directory.
  std::vector<std::filesystem::path> files() const {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path());
    return out;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace test
