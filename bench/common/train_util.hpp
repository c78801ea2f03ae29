// Shared definitions for the training benchmarks W6/W7 (bench/bench_train.cpp and the
// LibTorch peer bench/peer/libtorch_train.cpp): workload sizes, the Fashion-MNIST IDX reader
// (zlib), peak RSS and the JSON line. Header-only; needs <zlib.h> (link ZLIB::ZLIB).
#pragma once

#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench::train {

using clock = std::chrono::steady_clock;

inline constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist";
inline constexpr long kTrainN = 60000;
inline constexpr long kPixels = 784;

// W6: MLP 784-256-128-10, SGD lr 0.1, batch 128, fixed order, one epoch (469 steps, the last
// one 96 images). One warm-up epoch, then the best of kW6Epochs timed epochs (weights carry
// over from epoch to epoch, as in training).
inline constexpr long kW6Batch = 128;
inline constexpr int kW6Epochs = 3;
inline constexpr float kW6Lr = 0.1f;

// W7: CNN, Adam lr 1e-3, batch 64, kW7Warmup warm-up steps then kW7Steps timed steps; batches
// in fixed order (step s uses images [64 s, 64 s + 64) mod 60000). The best of kW7Reps timed
// windows of kW7Steps steps is reported (each window continues training).
inline constexpr long kW7Batch = 64;
inline constexpr long kW7Warmup = 20;
inline constexpr long kW7Steps = 200;
inline constexpr int kW7Reps = 3;
inline constexpr float kW7Lr = 1e-3f;

// W11: the ResNet of examples/common/resnet.hpp at its defaults (width 32, one residual block per
// stage, first stride 2: stages at 14, 7 and 4 pixels; 309,162 parameters) without the
// augmentation layers (under 1 % of a step), BatchNorm in
// training mode (momentum 0.1 in PyTorch's terms, epsilon 1e-3 as Keras), Adam lr 1e-3 eps 1e-7,
// batch 64 in fixed order as W7; kW11Warmup warm-up steps, the best of kW11Reps windows.
inline constexpr long kW11Batch = 64;
inline constexpr long kW11Warmup = 10;
inline constexpr long kW11Steps = 60;
inline constexpr int kW11Reps = 3;
inline constexpr float kW11Lr = 1e-3f;
inline constexpr long kW11Width = 32;
inline constexpr long kW11FirstStride = 2;

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

// W7/W11's timing: run(warmup) steps untimed, then `reps` timed windows of run(steps) steps
// of `batch` images each (training continues from window to window). Appends each window's
// images/s to `windows` and returns the best.
template <class Run>
double best_window_images_per_s(
    Run&& run, long warmup, long steps, int reps, long batch, std::vector<double>& windows) {
  run(warmup);
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock::now();
    run(steps);
    const double ips = double(steps * batch) / seconds_since(t0);
    windows.push_back(ips);
    best = std::max(best, ips);
  }
  return best;
}

// Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux).
inline double peak_rss_mib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

inline std::vector<unsigned char> gunzip_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> out;
  unsigned char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      gzclose(f);
      throw std::runtime_error("gzread failed on " + path);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  gzclose(f);
  return out;
}

inline uint32_t be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// The 60000 training images as raw bytes (row-major [60000, 784], 0..255) and int32 labels.
struct FashionBytes {
  std::vector<unsigned char> x;
  std::vector<int32_t> y;
};

inline FashionBytes load_fashion_train_bytes(const std::string& dir = kFashionDir) {
  auto img = gunzip_file(dir + "/train-images-idx3-ubyte.gz");
  const auto lab = gunzip_file(dir + "/train-labels-idx1-ubyte.gz");
  if (img.size() < 16 || be32(img.data()) != 2051 || be32(img.data() + 4) != kTrainN ||
      img.size() != 16 + size_t(kTrainN) * kPixels)
    throw std::runtime_error("bad image file");
  if (lab.size() != 8 + size_t(kTrainN) || be32(lab.data()) != 2049)
    throw std::runtime_error("bad label file");
  FashionBytes d;
  d.x.assign(img.begin() + 16, img.end());
  d.y.resize(kTrainN);
  for (long i = 0; i < kTrainN; ++i) d.y[i] = lab[8 + i];
  return d;
}

// The same scaled to float32 in [0, 1].
inline std::vector<float> scale_pixels(const std::vector<unsigned char>& x) {
  std::vector<float> f(x.size());
  for (size_t i = 0; i < x.size(); ++i) f[i] = static_cast<float>(x[i]) / 255.f;
  return f;
}

// /proc/self/status field in MiB (VmRSS: now; VmHWM: peak since start or the last reset).
inline double proc_status_mib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return NAN;
  char line[256];
  double v = NAN;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      v = std::atof(line + n + 1) / 1024.0;
      break;
    }
  std::fclose(f);
  return v;
}

// Resets the peak-RSS high-water mark (Linux >= 4.0: "5" > /proc/self/clear_refs), so that
// a later VmHWM is the peak of the training phase alone (data resident, loading transients gone).
inline bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

struct Result {
  std::string library, workload;
  int threads = 0;
  double w6_s = NAN, w6_final_loss = NAN, w7_ips = NAN, w7_final_loss = NAN;
  double w11_ips = NAN, w11_final_loss = NAN;
  double rss = NAN;        // ru_maxrss at exit: whole process, loading included
  double rss_data = NAN;   // VmRSS right after preloading the data set
  double rss_train = NAN;  // VmHWM of the training phase (peak reset after preloading)
  std::vector<double> w6_epochs, w7_windows, w11_windows;  // all timed repetitions
  std::string note;

  std::string json() const {
    auto num = [](double v) -> std::string {
      if (!std::isfinite(v)) return "null";
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", v);
      return buf;
    };
    auto arr = [&](const std::vector<double>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + num(v[i]);
      return s + "]";
    };
    std::ostringstream o;
    o << "{\"library\":\"" << library << "\",\"workload\":\"" << workload
      << "\",\"threads\":" << threads << ",\"W6_s\":" << num(w6_s)
      << ",\"W6_final_loss\":" << num(w6_final_loss) << ",\"W6_epochs_s\":" << arr(w6_epochs)
      << ",\"W7_images_per_s\":" << num(w7_ips) << ",\"W7_final_loss\":" << num(w7_final_loss)
      << ",\"W7_windows_images_per_s\":" << arr(w7_windows)
      << ",\"W11_images_per_s\":" << num(w11_ips) << ",\"W11_final_loss\":" << num(w11_final_loss)
      << ",\"W11_windows_images_per_s\":" << arr(w11_windows) << ",\"rss_MiB\":" << num(rss)
      << ",\"rss_data_MiB\":" << num(rss_data) << ",\"rss_train_MiB\":" << num(rss_train);
    if (!note.empty()) o << ",\"note\":\"" << note << "\"";
    o << "}";
    return o.str();
  }
};

}  // namespace bench::train
