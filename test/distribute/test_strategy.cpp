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

TEST_CASE("MirroredStrategy on CPU devices sums per-device values; GPUs need NCCL",
          "[distribute]") {
  tf::distribute::MirroredStrategy cpu({"/cpu:0", "/cpu:0"});
  CHECK(cpu.num_replicas_in_sync() == 2);
  auto out = cpu.all_reduce({tf::constant({1.f, 2.f}), tf::constant({3.f, 4.f})}, ReduceOp::MEAN);
  REQUIRE(out.size() == 2);
  CHECK(out[1].to_vector<float>() == std::vector<float>{2.f, 3.f});
  CHECK_THROWS_AS(tf::distribute::MirroredStrategy({"/gpu:0"}), tf::FailedPreconditionError);
}
