// Times an n×n float32 matmul on /cpu:0 and on /gpu:0 (TensorFlow's classic device demo):
// one warm-up, then the mean of 10 runs each, and the ratio. Without a GPU it says why and
// times the CPU only (exit 0). Usage: cpu_vs_gpu_matmul [n]   (default 2048)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <tapeflow/tapeflow.hpp>

namespace tf = tapeflow;

namespace {

/// Mean seconds per matmul on `device`. GPU ops are asynchronous: reading one element of the
/// result waits for the product (all work of a device runs in order), copying 4 bytes, not n².
double seconds_per_matmul(const std::string& device, int64_t n, float* checksum) {
  tf::DeviceScope scope(device);
  tf::random::set_seed(7);
  auto a = tf::random::normal({n, n}), b = tf::random::normal({n, n});
  auto corner = [](const tf::Tensor& c) { return tf::slice(c, {0, 0}, {1, 1}).item<float>(); };
  corner(tf::matmul(a, b));  // warm-up: cuBLAS handle, allocator, OpenBLAS threads
  constexpr int kRuns = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) *checksum = corner(tf::matmul(a, b));
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / kRuns;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 2048;
  if (n <= 0) {
    std::cerr << "usage: cpu_vs_gpu_matmul [n > 0]\n";
    return 2;
  }
  const double gflop = 2.0 * double(n) * double(n) * double(n) * 1e-9;
  std::cout << "matmul " << n << "x" << n << " float32, mean of 10 after one warm-up\n";
  float cpu_corner = 0, gpu_corner = 0;
  const double cpu = seconds_per_matmul("/cpu:0", n, &cpu_corner);
  std::cout << "  /cpu:0  " << cpu * 1e3 << " ms  (" << gflop / cpu << " GFLOP/s)\n";
  if (!tf::config::gpu_available()) {
    std::cout << "no GPU: " << tf::config::gpu_unavailable_reason() << "; /gpu:0 not timed\n";
    return 0;
  }
  const double gpu = seconds_per_matmul("/gpu:0", n, &gpu_corner);
  // Same seed, same Philox numbers on both devices: the products must agree up to rounding
  // (c[0,0] is a sum of n products of N(0,1) numbers, of size about sqrt(n)).
  const bool agree =
      std::fabs(cpu_corner - gpu_corner) <= 1e-3 * std::max(1.0, std::sqrt(double(n)));
  std::cout << "  /gpu:0  " << gpu * 1e3 << " ms  (" << gflop / gpu << " GFLOP/s)\n"
            << "  GPU is " << cpu / gpu << "x faster than the CPU\n"
            << "  c[0,0]: cpu " << cpu_corner << ", gpu " << gpu_corner
            << (agree ? " (agree)" : " (DIFFER)") << "\n";
  return agree ? 0 : 1;
}
