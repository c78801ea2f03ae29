// tapeflow training benchmarks W6 (MLP, SGD), W7 (CNN, Adam) and W11 (the small ResNet of
// examples/common/resnet.hpp, Adam) on Fashion-MNIST, on the CPU.
// Same definitions, sizes and JSON shape as the LibTorch peer (bench/peer/libtorch_train.cpp;
// shared constants in bench/common/train_util.hpp). Written against the public API only.
//
//   bench_train W6|W7|W11  prints one JSON object on stdout
//
// One workload per process, so that rss_MiB (peak RSS, getrusage) is per workload.
// Run by scripts/bench_train.sh.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/resnet.hpp"  // examples/common
#include "common/train_util.hpp"

namespace tf = tapeflow;
using namespace bench::train;

namespace {

// Glorot (Xavier) uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
tf::Variable glorot(const tf::Shape& shape, int64_t fan_in, int64_t fan_out, const char* name) {
  const double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  return tf::Variable(tf::random::uniform(shape, -limit, limit), {.name = name});
}
tf::Variable zeros(const tf::Shape& shape, const char* name) {
  return tf::Variable(tf::zeros(shape), {.name = name});
}
tf::Variable dense_kernel(int64_t in, int64_t out, const char* name) {
  return glorot(tf::Shape{in, out}, in, out, name);
}
tf::Variable conv_kernel(int64_t k, int64_t in, int64_t out, const char* name) {  // HWIO
  return glorot(tf::Shape{k, k, in, out}, k * k * in, k * k * out, name);
}

std::vector<tf::Source> sources(const std::vector<tf::Variable>& vars) {
  return {vars.begin(), vars.end()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "";
  if (which != "W6" && which != "W7" && which != "W11") {
    std::cerr << "usage: bench_train W6|W7|W11\n";
    return 2;
  }
  // CPU workloads: pin every op to CPU:0 even in a CUDA build with a GPU present.
  tf::DeviceScope cpu_scope("/cpu:0");
  tf::random::set_seed(42);

  Result res;
  res.library = "tapeflow";
  res.workload = which;
  res.threads = 0;  // tapeflow's pool: TAPEFLOW_NUM_THREADS or all cores; OpenBLAS: its own

  // ---- preload (not timed): x float32 [60000, 784] in [0, 1], y int32 [60000] ----
  tf::Tensor x_all, y_all;
  {
    // x float32 [N, 28, 28], scaled to [0, 1] while decoding (as LibTorch's in-place div_).
    auto d =
        tf::datasets::fashion_mnist::load_data(tf::datasets::fashion_mnist::kDefaultDir, 1 / 255.f);
    x_all = tf::reshape(d.x_train, tf::Shape{kTrainN, kPixels});
    y_all = d.y_train;
    d = {};  // drop the test split
  }
  res.rss_data = proc_status_mib("VmRSS");
  const double load_peak = peak_rss_mib();
  const bool reset = reset_peak_rss();

  if (which == "W6") {
    std::vector<tf::Variable> vars = {dense_kernel(784, 256, "w1"),
                                      zeros(tf::Shape{256}, "b1"),
                                      dense_kernel(256, 128, "w2"),
                                      zeros(tf::Shape{128}, "b2"),
                                      dense_kernel(128, 10, "w3"),
                                      zeros(tf::Shape{10}, "b3")};
    const auto src = sources(vars);
    const tf::Variable &w1 = vars[0], &b1 = vars[1], &w2 = vars[2], &b2 = vars[3], &w3 = vars[4],
                       &b3 = vars[5];
    tf::optimizers::SGD opt({.learning_rate = kW6Lr});
    tf::Tensor loss;
    auto epoch = [&] {
      for (long i = 0; i < kTrainN; i += kW6Batch) {
        const long b = std::min(kW6Batch, kTrainN - i);
        auto xb = tf::slice(x_all, {i, 0}, {b, -1});
        auto yb = tf::slice(y_all, {i}, {b});
        tf::GradientTape tape;
        auto h = tf::nn::relu(tf::matmul(xb, w1) + b1);
        h = tf::nn::relu(tf::matmul(h, w2) + b2);
        auto logits = tf::matmul(h, w3) + b3;
        loss = tf::reduce_mean(tf::nn::sparse_softmax_cross_entropy_with_logits(yb, logits));
        auto grads = tape.gradient(loss, src);
        opt.apply_gradients(grads, vars);
      }
    };
    epoch();  // warm-up
    res.w6_s = INFINITY;
    for (int e = 0; e < kW6Epochs; ++e) {
      const auto t0 = clock::now();
      epoch();
      const double s = seconds_since(t0);
      res.w6_epochs.push_back(s);
      res.w6_s = std::min(res.w6_s, s);
    }
    res.w6_final_loss = loss.item<float>();
  } else if (which == "W7") {
    std::vector<tf::Variable> vars = {conv_kernel(3, 1, 32, "k1"),
                                      zeros(tf::Shape{32}, "c1"),
                                      conv_kernel(3, 32, 64, "k2"),
                                      zeros(tf::Shape{64}, "c2"),
                                      dense_kernel(7 * 7 * 64, 128, "w1"),
                                      zeros(tf::Shape{128}, "b1"),
                                      dense_kernel(128, 10, "w2"),
                                      zeros(tf::Shape{10}, "b2")};
    const auto src = sources(vars);
    const tf::Variable &k1 = vars[0], &c1 = vars[1], &k2 = vars[2], &c2 = vars[3], &w1 = vars[4],
                       &b1 = vars[5], &w2 = vars[6], &b2 = vars[7];
    tf::optimizers::Adam opt({.learning_rate = kW7Lr});
    const tf::Tensor x_img = tf::reshape(x_all, tf::Shape{kTrainN, 28, 28, 1});  // NHWC
    const long nbatches = kTrainN / kW7Batch;
    const std::vector<int> strides = {1, 1, 1, 1};
    long step = 0;
    tf::Tensor loss;
    auto run = [&](long steps) {
      for (long s = 0; s < steps; ++s, ++step) {
        const long i = (step % nbatches) * kW7Batch;
        auto xb = tf::slice(x_img, {i, 0, 0, 0}, {kW7Batch, -1, -1, -1});
        auto yb = tf::slice(y_all, {i}, {kW7Batch});
        tf::GradientTape tape;
        auto h = tf::nn::relu(tf::nn::conv2d(xb, k1, strides, "SAME") + c1);
        h = tf::nn::max_pool2d(h, {2, 2}, {2, 2}, "VALID");
        h = tf::nn::relu(tf::nn::conv2d(h, k2, strides, "SAME") + c2);
        h = tf::nn::max_pool2d(h, {2, 2}, {2, 2}, "VALID");
        h = tf::reshape(h, tf::Shape{kW7Batch, 7 * 7 * 64});
        h = tf::nn::relu(tf::matmul(h, w1) + b1);
        auto logits = tf::matmul(h, w2) + b2;
        loss = tf::reduce_mean(tf::nn::sparse_softmax_cross_entropy_with_logits(yb, logits));
        auto grads = tape.gradient(loss, src);
        opt.apply_gradients(grads, vars);
      }
    };
    res.w7_ips =
        best_window_images_per_s(run, kW7Warmup, kW7Steps, kW7Reps, kW7Batch, res.w7_windows);
    res.w7_final_loss = loss.item<float>();
  } else {  // W11
    namespace L = tf::layers;
    L::Layer model(std::make_shared<example::ResNetImpl>(example::ResNetOptions{
        .width = kW11Width, .first_stride = kW11FirstStride, .augment = false}));
    model.build(tf::Shape{1, 28, 28, 1});
    const std::vector<tf::Variable> vars = model.trainable_variables();
    int64_t params = 0;
    for (const tf::Variable& v : vars) params += v.shape().num_elements();
    res.note = "parameters " + std::to_string(params);
    tf::optimizers::Adam opt({.learning_rate = kW11Lr});
    const tf::Tensor x_img = tf::reshape(x_all, tf::Shape{kTrainN, 28, 28, 1});  // NHWC
    const long nbatches = kTrainN / kW11Batch;
    long step = 0;
    tf::Tensor loss;
    auto run = [&](long steps) {
      for (long s = 0; s < steps; ++s, ++step) {
        const long i = (step % nbatches) * kW11Batch;
        auto xb = tf::slice(x_img, {i, 0, 0, 0}, {kW11Batch, -1, -1, -1});
        auto yb = tf::slice(y_all, {i}, {kW11Batch});
        tf::GradientTape tape;
        auto logits = model(xb, /*training=*/true);
        loss = tf::reduce_mean(tf::nn::sparse_softmax_cross_entropy_with_logits(yb, logits));
        opt.apply_gradients(tape.gradient(loss, vars), vars);
      }
    };
    res.w11_ips =
        best_window_images_per_s(run, kW11Warmup, kW11Steps, kW11Reps, kW11Batch, res.w11_windows);
    res.w11_final_loss = loss.item<float>();
  }
  res.rss_train = reset ? proc_status_mib("VmHWM") : NAN;
  res.rss = std::max(load_peak, peak_rss_mib());
  std::cout << res.json() << std::endl;
  return 0;
}
