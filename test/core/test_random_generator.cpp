// tf::random::Generator and GeneratorScope (issue #10): a stream per generator, so threads that
// build models concurrently get the weights of a serial run.
#include <thread>

#include "test_util.hpp"

namespace tf = tapeflow;

TEST_CASE("a Generator repeats the global generator's stream for the same seed", "[random]") {
  tf::random::set_seed(1234);
  auto g1 = tf::random::normal({5}).to_vector<float>();
  auto g2 = tf::random::uniform({3}, -1, 1).to_vector<float>();
  auto gen = tf::random::Generator::from_seed(1234);
  CHECK(gen.seed() == 1234);
  CHECK(gen.normal({5}).to_vector<float>() == g1);
  CHECK(gen.uniform({3}, -1, 1).to_vector<float>() == g2);
  // A draw advances the stream; reset_from_seed restarts it.
  auto third = gen.normal({5}).to_vector<float>();
  CHECK(third != g1);
  gen.reset_from_seed(1234);
  CHECK(gen.normal({5}).to_vector<float>() == g1);
  // Copies share the stream.
  auto copy = gen;
  CHECK(copy.uniform({3}, -1, 1).to_vector<float>() == g2);
  CHECK(gen.normal({5}).to_vector<float>() == third);
  CHECK_THROWS_AS(gen.uniform({2}, 1, 1), tf::InvalidArgumentError);
  CHECK_THROWS_AS(gen.normal({2}, 0, 1, tf::int32), tf::InvalidArgumentError);
}

TEST_CASE("GeneratorScope redirects this thread's random ops and nests", "[random]") {
  auto a = tf::random::Generator::from_seed(7), b = tf::random::Generator::from_seed(8);
  auto ref_a = tf::random::Generator::from_seed(7).normal({4}).to_vector<float>();
  auto ref_b = tf::random::Generator::from_seed(8).normal({4}).to_vector<float>();
  tf::random::set_seed(99);
  auto global_first = tf::random::normal({4}).to_vector<float>();
  tf::random::set_seed(99);
  {
    tf::random::GeneratorScope sa(a);
    CHECK(tf::random::normal({4}).to_vector<float>() == ref_a);
    {
      tf::random::GeneratorScope sb(b);
      CHECK(tf::random::normal({4}).to_vector<float>() == ref_b);
    }
    CHECK(tf::random::normal({4}).to_vector<float>() != ref_a);  // a's second draw
  }
  // The global stream was not advanced by the scoped draws.
  CHECK(tf::random::normal({4}).to_vector<float>() == global_first);
}

TEST_CASE("models built concurrently under their own generators match a serial build",
          "[random][threads]") {
  auto build = [](uint64_t seed) {
    tf::random::GeneratorScope scope(tf::random::Generator::from_seed(seed));
    tf::layers::Sequential model(
        {tf::layers::Dense({.units = 16, .activation = "relu"}), tf::layers::Dense({.units = 3})});
    model.build(tf::Shape{1, 8});
    std::vector<float> w;
    for (const auto& v : model.trainable_variables()) {
      auto part = v.value().to_vector<float>();
      w.insert(w.end(), part.begin(), part.end());
    }
    return w;
  };
  std::vector<std::vector<float>> serial, parallel(4);
  for (uint64_t s = 0; s < 4; ++s) serial.push_back(build(100 + s));
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<std::thread> threads;
    for (uint64_t s = 0; s < 4; ++s) threads.emplace_back([&, s] { parallel[s] = build(100 + s); });
    for (auto& t : threads) t.join();
    for (size_t s = 0; s < 4; ++s) CHECK(parallel[s] == serial[s]);
  }
  CHECK(serial[0] != serial[1]);
}
