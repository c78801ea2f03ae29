// Training and large ops on several threads at once: each thread has its own tape stack, and the
// CPU thread pool serves callers from several threads. These are the cases scripts/sanitize.sh
// tsan runs under ThreadSanitizer (with the other tests that use threads); here they also check
// that concurrent runs give exactly the serial results.
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;

namespace {

/// 30 Adam steps of a small two-layer regression model from fixed values; the final weights.
std::vector<float> train_once(float scale) {
  const tf::Tensor x = tf::reshape(tf::range(0.f, 32.f, 1.f) / 32.f * scale, {8, 4});
  const tf::Tensor y = tf::reduce_sum(x, {1}, true) - 0.5f;
  tf::Variable w1(tf::reshape(tf::range(-6.f, 6.f, 1.f) / 10.f, {4, 3}), {.name = "w1"});
  tf::Variable b1(tf::zeros({3}), {.name = "b1"});
  tf::Variable w2(tf::reshape(tf::range(0.f, 3.f, 1.f) / 5.f, {3, 1}), {.name = "w2"});
  tf::optimizers::AdamOptions options;
  options.learning_rate = 0.05;
  tf::optimizers::Adam opt(options);
  for (int step = 0; step < 30; ++step) {
    tf::GradientTape tape;
    const tf::Tensor h = tf::nn::relu(tf::matmul(x, w1) + b1);
    const tf::Tensor loss = tf::reduce_mean(tf::square(tf::matmul(h, w2) - y));
    opt.apply_gradients(tape.gradient(loss, {w1, b1, w2}), {w1, b1, w2});
  }
  std::vector<float> out = w1.value().to_vector<float>();
  for (float v : w2.value().to_vector<float>()) out.push_back(v);
  return out;
}

/// Element-wise ops and a matmul large enough to be split over the thread pool.
std::vector<float> large_ops(float offset) {
  const int64_t n = int64_t(1) << 18;  // 4 x the element-wise grain
  const tf::Tensor x = tf::range(0.f, float(n), 1.f) / float(n) + offset;
  const tf::Tensor e = tf::reduce_sum(tf::exp(x) * 2.f + tf::sqrt(x));
  const tf::Tensor a = tf::reshape(x, {512, 512});
  const tf::Tensor m = tf::reduce_sum(tf::matmul(a, a, false, true));
  return {e.item<float>(), m.item<float>()};
}

}  // namespace

TEST_CASE("threads: models trained on four threads at once match serial training exactly",
          "[threads]") {
  const std::vector<float> scales{1.f, 2.f, 0.5f, 3.f};
  std::vector<std::vector<float>> serial, parallel(scales.size());
  for (float s : scales) serial.push_back(train_once(s));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < scales.size(); ++i)
    threads.emplace_back([&, i] { parallel[i] = train_once(scales[i]); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < scales.size(); ++i) {
    INFO("thread " << i);
    CHECK(parallel[i] == serial[i]);
  }
}

TEST_CASE("threads: large ops from two threads share the thread pool and match serial results",
          "[threads]") {
  const std::vector<float> a = large_ops(0.f), b = large_ops(1.f);
  std::vector<float> pa, pb;
  std::thread ta([&] { pa = large_ops(0.f); });
  std::thread tb([&] { pb = large_ops(1.f); });
  ta.join();
  tb.join();
  CHECK(pa == a);
  CHECK(pb == b);
}
