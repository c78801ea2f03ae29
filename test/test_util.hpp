#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
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

}  // namespace test
