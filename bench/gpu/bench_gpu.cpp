// GPU benchmarks G1-G5 for tapeflow, one JSON object per line on stdout (the PyTorch peer,
// bench/gpu/peer_torch.py, prints the same keys). Written against the public API, plus the
// CUDA runtime for the copy-bandwidth ceiling. Run by scripts/bench_gpu.sh.
//
//   G1 add:    z = x + y over 1e8 float32 (1.2 GB moved), against a device-to-device
//              cudaMemcpy of 400 MB (0.8 GB moved): the bandwidth ceiling measured on the card
//   G2 sgemm:  4096 x 4096 float32 matmul (137 GFLOP; no TF32 on either side)
//   G3 W6:     one MLP training step (784-256-128-10, ReLU, softmax cross-entropy, SGD 0.1,
//              batch 128) on random data already on the GPU
//   G4 launch: a chain of 2000 adds on a 1-element tensor: the cost of one small op
//   G5 NCCL:   MirroredStrategy({"/gpu:0"}).all_reduce per training step (tapeflow only)
//
// Every timing is: warm-up, then `reps` runs, waiting for the device at the end (reading one
// element: all work of a device runs in order on its stream), reporting the median of
// `trials` such means.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;

namespace {

using Clock = std::chrono::steady_clock;

/// Waits for everything queued on t's device (one element read back).
void sync(const tf::Tensor& t) {
  if (t.num_elements() == 0) return;
  (void)tf::slice(tf::reshape(t, tf::Shape{t.num_elements()}), {0}, {1}).to_vector<float>();
}

/// Median over `trials` of the mean seconds per call of `body` over `reps` calls; `body`
/// returns a tensor to wait on.
double median_seconds(int trials, int reps, const std::function<tf::Tensor()>& body) {
  sync(body());  // warm-up: allocator, cuBLAS handle, module load
  std::vector<double> means;
  for (int t = 0; t < trials; ++t) {
    tf::Tensor last;
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r) last = body();
    sync(last);
    means.push_back(std::chrono::duration<double>(Clock::now() - start).count() / reps);
  }
  std::sort(means.begin(), means.end());
  return means[means.size() / 2];
}

void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "bench_gpu: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

/// Device-to-device copy bandwidth (bytes read + written per second), with the CUDA runtime.
double copy_bandwidth(size_t bytes) {
  void *a = nullptr, *b = nullptr;
  cuda_ok(cudaMalloc(&a, bytes), "cudaMalloc");
  cuda_ok(cudaMalloc(&b, bytes), "cudaMalloc");
  cuda_ok(cudaMemset(a, 1, bytes), "cudaMemset");
  cudaEvent_t start, stop;
  cuda_ok(cudaEventCreate(&start), "cudaEventCreate");
  cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
  cuda_ok(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "warm-up copy");
  std::vector<float> ms;
  for (int t = 0; t < 5; ++t) {
    cuda_ok(cudaEventRecord(start), "cudaEventRecord");
    for (int r = 0; r < 10; ++r)
      cuda_ok(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "copy");
    cuda_ok(cudaEventRecord(stop), "cudaEventRecord");
    cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float m = 0;
    cuda_ok(cudaEventElapsedTime(&m, start, stop), "cudaEventElapsedTime");
    ms.push_back(m / 10);
  }
  std::sort(ms.begin(), ms.end());
  cudaFree(a);
  cudaFree(b);
  return 2.0 * double(bytes) / (double(ms[ms.size() / 2]) * 1e-3);
}

void emit(const std::string& name, const std::string& fields) {
  std::cout << "{\"library\": \"tapeflow\", \"bench\": \"" << name << "\", " << fields << "}"
            << std::endl;
}

std::string num(const char* key, double v) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "\"%s\": %.6g", key, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  if (!tf::config::gpu_available()) {
    std::cerr << "bench_gpu: no GPU (" << tf::config::gpu_unavailable_reason() << ")\n";
    return 2;
  }
  tf::DeviceScope gpu("/gpu:0");
  tf::random::set_seed(1);

  if (only.empty() || only == "G1") {
    const int64_t n = 100'000'000;
    auto x = tf::random::uniform({n}), y = tf::random::uniform({n});
    const double s = median_seconds(5, 10, [&] { return x + y; });
    const double moved = 3.0 * 4.0 * double(n);
    const double ceiling = copy_bandwidth(size_t(n) * 4);
    emit("G1_add_1e8",
         num("ms", s * 1e3) + ", " + num("GBps", moved / s * 1e-9) + ", " +
             num("copy_GBps", ceiling * 1e-9) + ", " +
             num("fraction_of_copy", moved / s / ceiling));
  }
  if (only.empty() || only == "G2") {
    const int64_t n = 4096;
    auto a = tf::random::normal({n, n}), b = tf::random::normal({n, n});
    const double s = median_seconds(5, 10, [&] { return tf::matmul(a, b); });
    emit("G2_sgemm_4096", num("ms", s * 1e3) + ", " + num("TFLOPs", 2.0 * n * n * n / s * 1e-12));
  }
  if (only.empty() || only == "G3") {
    const int64_t batch = 128;
    auto glorot = [](int64_t in, int64_t out, const char* name) {
      const double l = std::sqrt(6.0 / double(in + out));
      return tf::Variable(tf::random::uniform({in, out}, -l, l), {.name = name});
    };
    std::vector<tf::Variable> vars = {glorot(784, 256, "w1"),
                                      tf::Variable(tf::zeros({256}), {.name = "b1"}),
                                      glorot(256, 128, "w2"),
                                      tf::Variable(tf::zeros({128}), {.name = "b2"}),
                                      glorot(128, 10, "w3"),
                                      tf::Variable(tf::zeros({10}), {.name = "b3"})};
    auto x = tf::random::uniform({batch, 784});
    auto labels = tf::cast(tf::random::uniform({batch}, 0, 10), tf::int32);
    tf::optimizers::SGD opt({.learning_rate = 0.1f});
    auto step = [&] {
      tf::GradientTape tape;
      auto h = tf::nn::relu(tf::matmul(x, vars[0]) + vars[1]);
      h = tf::nn::relu(tf::matmul(h, vars[2]) + vars[3]);
      auto logits = tf::matmul(h, vars[4]) + vars[5];
      auto loss = tf::reduce_mean(tf::nn::sparse_softmax_cross_entropy_with_logits(labels, logits));
      auto grads = tape.gradient(loss, vars);
      opt.apply_gradients(grads, vars);
      return loss;
    };
    const double s = median_seconds(5, 100, step);
    emit("G3_W6_mlp_step", num("ms", s * 1e3) + ", " + num("steps_per_s", 1.0 / s));
  }
  if (only.empty() || only == "G4") {
    auto one = tf::constant(1.f), acc = tf::constant(0.f);
    const int chain = 2000;
    const double s = median_seconds(5, 1, [&] {
      tf::Tensor a = acc;
      for (int i = 0; i < chain; ++i) a = a + one;
      return a;
    });
    emit("G4_small_op", num("us_per_op", s / chain * 1e6));
  }
  if (only.empty() || only == "G5") {
    // Issue #14's "NCCL all-reduce on one GPU costs < 50 us per step": MirroredStrategy over
    // /gpu:0 alone, so NCCL's one-rank all-reduce (plus our copy of the input), for one 1.7 MB
    // tensor (the Fashion-MNIST CNN's gradients fused) and for the six gradients of G3's MLP
    // (one call each, as a loop over them would make).
    tf::distribute::MirroredStrategy one({"/gpu:0"});
    auto fused = tf::random::normal({425'000});
    const double s1 = median_seconds(
        5, 200, [&] { return one.all_reduce({fused}, tf::distribute::ReduceOp::SUM)[0]; });
    std::vector<tf::Tensor> grads = {tf::random::normal({784, 256}),
                                     tf::random::normal({256}),
                                     tf::random::normal({256, 128}),
                                     tf::random::normal({128}),
                                     tf::random::normal({128, 10}),
                                     tf::random::normal({10})};
    const double s6 = median_seconds(5, 200, [&] {
      tf::Tensor last;
      for (const tf::Tensor& g : grads)
        last = one.all_reduce({g}, tf::distribute::ReduceOp::MEAN)[0];
      return last;
    });
    emit("G5_allreduce_one_gpu",
         "\"backend\": \"" + one.backend() + "\", " + num("us_per_step_1x1_7MB", s1 * 1e6) + ", " +
             num("us_per_step_mlp_6_tensors", s6 * 1e6));
  }
  return 0;
}
