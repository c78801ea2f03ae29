// tf::distribute in a plain process (no launcher): one replica, collectives return their input.
// The multi-process cases are the mpirun tests (distribute/mpi_*.cpp, test/CMakeLists.txt).
#include "test_util.hpp"

namespace tf = tapeflow;
using tf::distribute::ReduceOp;

TEST_CASE("MultiWorkerMirroredStrategy without a launcher is one chief replica", "[distribute]") {
  tf::distribute::MultiWorkerMirroredStrategy strategy;
  CHECK(strategy.num_replicas_in_sync() == 1);
  CHECK(strategy.worker_index() == 0);
  CHECK(strategy.is_chief());
  CHECK(strategy.backend() == "local");
  auto x = tf::constant({1.f, 2.f});
  CHECK(strategy.all_reduce(x, ReduceOp::SUM).to_vector<float>() == std::vector<float>{1.f, 2.f});
  CHECK(strategy.all_reduce(x, ReduceOp::MEAN).to_vector<float>() == std::vector<float>{1.f, 2.f});
  CHECK(strategy.broadcast(x).to_vector<float>() == std::vector<float>{1.f, 2.f});
  CHECK(strategy.all_gather(tf::reshape(x, tf::Shape{2, 1})).shape() == tf::Shape{2, 1});
  strategy.barrier();
  tf::Variable w(tf::constant({3.f}), {.name = "w"});
  tf::optimizers::Adam opt;
  strategy.broadcast_variables({w}, opt);
  CHECK(w.value().to_vector<float>() == std::vector<float>{3.f});
  CHECK(opt.get_slot(w, "m").defined());  // built by broadcast_variables
}

TEST_CASE("strategy.gradient with one replica is tape.gradient", "[distribute]") {
  tf::distribute::MultiWorkerMirroredStrategy strategy;
  tf::Variable w(tf::constant(4.f), {.name = "w"});
  tf::Variable unused(tf::constant(1.f), {.name = "unused"});
  tf::GradientTape tape;
  tf::Tensor y = w * w * 2.f;
  std::vector<tf::Tensor> g = strategy.gradient(tape, y, {w, unused});
  CHECK(g[0].item<float>() == 16.f);  // d(2w^2)/dw = 4w
  CHECK(!g[1].defined());
}

TEST_CASE("bad collective arguments are InvalidArgumentErrors naming the problem", "[distribute]") {
  tf::distribute::MultiWorkerMirroredStrategy strategy;
  auto x = tf::constant({1.f, 2.f});
  CHECK_THROWS_AS(strategy.all_reduce(x, ReduceOp(7)), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      strategy.all_reduce(x, ReduceOp(7)),
      Catch::Contains("Unknown reduce op 7") && Catch::Contains("[Op:CollectiveReduceV2]"));
  CHECK_THROWS_WITH(strategy.all_reduce(tf::constant(int32_t(1)), ReduceOp::MEAN),
                    Catch::Contains("MEAN needs floating tensors") && Catch::Contains("int32"));
  CHECK_THROWS_WITH(strategy.all_reduce(tf::constant(true), ReduceOp::SUM),
                    Catch::Contains("is bool"));
  CHECK_THROWS_WITH(strategy.broadcast(x, 1), Catch::Contains("root 1 is not a replica"));
  CHECK_THROWS_WITH(strategy.all_gather(tf::constant(1.f)), Catch::Contains("rank >= 1"));
  CHECK_THROWS_AS(tf::distribute::MultiWorkerMirroredStrategy({.fusion_bytes = 0}),
                  tf::InvalidArgumentError);
}

TEST_CASE("MirroredStrategy on CPU devices sums per-device values", "[distribute][mirrored]") {
  tf::distribute::MirroredStrategy cpu({"/cpu:0", "/cpu:0"});
  CHECK(cpu.num_replicas_in_sync() == 2);
  CHECK(cpu.backend() == "host");
  auto out = cpu.all_reduce({tf::constant({1.f, 2.f}), tf::constant({3.f, 4.f})}, ReduceOp::MEAN);
  REQUIRE(out.size() == 2);
  CHECK(out[1].to_vector<float>() == std::vector<float>{2.f, 3.f});
  CHECK(cpu.all_reduce({tf::constant(int64_t(5)), tf::constant(int64_t(-7))}, ReduceOp::SUM)[0]
            .item<int64_t>() == -2);
  CHECK_THROWS_WITH(cpu.all_reduce({tf::constant(1), tf::constant(2)}, ReduceOp::MEAN),
                    Catch::Contains("CollectiveReduceV2") && Catch::Contains("int32"));
  CHECK_THROWS_WITH(cpu.all_reduce({tf::constant(1.f)}, ReduceOp::SUM),
                    Catch::Contains("one tensor per device (2), got 1"));
  CHECK_THROWS_WITH(cpu.all_reduce({tf::constant({1.f}), tf::constant({1.f, 2.f})}, ReduceOp::SUM),
                    Catch::Contains("devices disagree"));
  CHECK_THROWS_AS(tf::distribute::MirroredStrategy(std::vector<std::string>{}),
                  tf::InvalidArgumentError);
}

TEST_CASE("MirroredStrategy over GPUs: one all-reduce per call, results on each GPU",
          "[distribute][mirrored]") {
  const auto gpus = tf::config::list_physical_devices("GPU");
  if (gpus.empty()) {
    WARN("no GPU: checking that MirroredStrategy refuses a GPU list, naming the device");
    CHECK_THROWS_WITH(tf::distribute::MirroredStrategy({"/gpu:0"}),
                      Catch::Contains("GPU:0") && Catch::Contains("not found"));
    return;
  }
  // Every GPU there is (the fake plugin offers TAPEFLOW_FAKE_GPUS of them; its all-reduce is a
  // host sum standing in for NCCL's).
  std::vector<std::string> list;
  for (size_t i = 0; i < gpus.size(); ++i) list.push_back("/gpu:" + std::to_string(i));
  tf::distribute::MirroredStrategy strategy(list);
  const int n = strategy.num_replicas_in_sync();
  INFO(n << " GPU(s), all-reduce backend " << strategy.backend());
  CHECK((strategy.backend() == "nccl" || strategy.backend() == "host"));
  std::vector<tf::Tensor> f32, f64, i64;
  std::vector<float> want(3, 0.f);
  for (int i = 0; i < n; ++i) {
    tf::DeviceScope scope(list[size_t(i)]);
    const float v = float(i + 1);
    f32.push_back(tf::constant({v, -2 * v, 0.5f * v}));
    f64.push_back(tf::constant({double(v) / 3}));
    i64.push_back(tf::constant(std::vector<int64_t>{int64_t(1) << (40 + i), -i}, tf::Shape{2}));
    want[0] += v, want[1] += -2 * v, want[2] += 0.5f * v;
  }
  const auto sum = strategy.all_reduce(f32, ReduceOp::SUM);
  const auto mean = strategy.all_reduce(f64, ReduceOp::MEAN);
  const auto isum = strategy.all_reduce(i64, ReduceOp::SUM);
  double want_mean = 0;
  int64_t want_i0 = 0, want_i1 = 0;
  for (int i = 0; i < n; ++i) {
    want_mean += double(i + 1) / 3;
    want_i0 += int64_t(1) << (40 + i);
    want_i1 -= i;
  }
  want_mean /= n;
  for (int i = 0; i < n; ++i) {
    INFO("replica " << i);
    CHECK(sum[size_t(i)].device() == tf::Device::parse(list[size_t(i)]).name());
    CHECK(sum[size_t(i)].to_vector<float>() == want);
    CHECK(mean[size_t(i)].item<double>() == Approx(want_mean).epsilon(1e-15));
    CHECK(isum[size_t(i)].to_vector<int64_t>() == std::vector<int64_t>{want_i0, want_i1});
    // The inputs are untouched (the reduction works on copies).
    CHECK(f32[size_t(i)].to_vector<float>()[0] == float(i + 1));
  }
  CHECK_THROWS_WITH(tf::distribute::MirroredStrategy({"/gpu:0", "/cpu:0"}),
                    Catch::Contains("mixes CPU and GPU"));
  CHECK_THROWS_WITH(tf::distribute::MirroredStrategy({"/gpu:0", "/gpu:0"}),
                    Catch::Contains("listed twice"));
  CHECK_THROWS_WITH(tf::distribute::MirroredStrategy({"/gpu:" + std::to_string(n)}),
                    Catch::Contains("not found"));
}
