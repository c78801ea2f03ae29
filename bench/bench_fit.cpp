// Model::fit's per-step overhead over the hand-written GradientTape loop (issue #13), on W7's
// CNN (batch 64, Adam 1e-3, Fashion-MNIST, CPU): the same layers trained by
//   (a) the loop of docs/training.md over a Dataset of the same batches, and
//   (b) model.fit(x, y, {.batch_size = 64, .shuffle = false}) on the same rows,
// each for kSteps steps per window, windows alternating a, b, a, b, ... (so load drifts hit
// both), best window of each. Prints one JSON object; scripts/bench_fit.sh runs it.
//
//   bench_fit [reps]     (default 3)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;
namespace L = tapeflow::layers;

namespace {

constexpr int64_t kBatch = 64;
constexpr int64_t kSteps = 100;  // steps per timed window
constexpr int64_t kWarmup = 10;

using clock_type = std::chrono::steady_clock;

// W7's CNN as layers; the same initial weights for a given seed.
L::Sequential make_cnn(uint64_t seed) {
  L::clear_session();
  tf::random::set_seed(seed);
  L::Sequential net({
      L::Conv2D({.filters = 32, .kernel_size = {3, 3}, .padding = "same", .activation = "relu"}),
      L::MaxPool2D(),
      L::Conv2D({.filters = 64, .kernel_size = {3, 3}, .padding = "same", .activation = "relu"}),
      L::MaxPool2D(),
      L::Flatten(),
      L::Dense(128, "relu"),
      L::Dense(10),
  });
  net.build({1, 28, 28, 1});
  return net;
}

tf::Tensor rows(const tf::Tensor& t, int64_t begin, int64_t n) {
  std::vector<int64_t> b(size_t(t.rank()), 0), size = t.shape().dims();
  b[0] = begin;
  size[0] = n;
  return tf::slice(t, b, size);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  tf::DeviceScope cpu_scope("/cpu:0");
  auto d =
      tf::datasets::fashion_mnist::load_data(tf::datasets::fashion_mnist::kDefaultDir, 1 / 255.f);
  const tf::Tensor x_all = tf::reshape(d.x_train, tf::Shape{60000, 28, 28, 1});
  const tf::Tensor y_all = d.y_train;
  d = {};

  // (a) the hand-written loop.
  L::Sequential net = make_cnn(42);
  tf::optimizers::Adam opt({.learning_rate = 1e-3});
  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  int64_t loop_at = 0;
  double loop_loss = 0;
  auto loop_window = [&](int64_t steps) {
    const tf::Tensor x = rows(x_all, loop_at, steps * kBatch);
    const tf::Tensor y = rows(y_all, loop_at, steps * kBatch);
    loop_at = (loop_at + steps * kBatch) % (60000 - 2 * kSteps * kBatch);
    const auto t0 = clock_type::now();
    for (const auto& batch : tf::data::Dataset::from_tensor_slices({x, y}).batch(kBatch)) {
      tf::GradientTape tape;
      tf::Tensor loss = loss_fn(batch[1], net(batch[0], /*training=*/true));
      auto vars = net.trainable_variables();
      auto grads = tape.gradient(loss, vars);
      opt.apply_gradients(grads, vars);
      loop_loss = loss.item<double>();
    }
    return std::chrono::duration<double>(clock_type::now() - t0).count();
  };

  // (b) Model::fit on the same rows, no metrics beyond the loss (as the loop).
  tf::Model model(make_cnn(42));
  model.compile({.optimizer = tf::optimizers::Adam({.learning_rate = 1e-3}),
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true})});
  int64_t fit_at = 0;
  double fit_loss = 0;
  auto fit_window = [&](int64_t steps) {
    const tf::Tensor x = rows(x_all, fit_at, steps * kBatch);
    const tf::Tensor y = rows(y_all, fit_at, steps * kBatch);
    fit_at = (fit_at + steps * kBatch) % (60000 - 2 * kSteps * kBatch);
    const auto t0 = clock_type::now();
    tf::History h =
        model.fit(x, y, {.batch_size = kBatch, .epochs = 1, .verbose = 0, .shuffle = false});
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    fit_loss = h.history.at("loss").back();
    return s;
  };

  loop_window(kWarmup);
  fit_window(kWarmup);
  double best_loop = 1e300, best_fit = 1e300;
  std::vector<double> loops, fits;
  for (int r = 0; r < reps; ++r) {
    loops.push_back(loop_window(kSteps));
    fits.push_back(fit_window(kSteps));
    best_loop = std::min(best_loop, loops.back());
    best_fit = std::min(best_fit, fits.back());
  }
  // Both arms trained the same batches from the same weights: equal weights say the two did the
  // same work (fit == loop bit for bit is also a unit test, test/nn/test_model.cpp).
  bool same = true;
  const auto a = net.variables(), b = model.variables();
  for (size_t i = 0; i < a.size() && same; ++i)
    same = a[i].peek().to_vector<float>() == b[i].peek().to_vector<float>();

  auto arr = [](const std::vector<double>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
  };
  std::printf(
      "{\"workload\":\"W7 CNN batch 64 Adam, %lld steps per window\",\"loop_s\":%s,\"fit_s\":%s,"
      "\"loop_best_steps_per_s\":%.3f,\"fit_best_steps_per_s\":%.3f,"
      "\"fit_overhead\":%.4f,\"same_weights\":%s,\"loop_loss\":%.6f,\"fit_loss\":%.6f}\n",
      (long long)kSteps,
      arr(loops).c_str(),
      arr(fits).c_str(),
      double(kSteps) / best_loop,
      double(kSteps) / best_fit,
      best_fit / best_loop - 1.0,
      same ? "true" : "false",
      loop_loss,
      fit_loss);
  return same ? 0 : 1;
}
