// Run by mpirun -np N with the fake GPU plugin (test/CMakeLists.txt): the NCCL path of
// MultiWorkerMirroredStrategy for GPU tensors. The fake plugin's communicator (shared memory,
// test/gpu/fake_gpu_plugin.cpp) stands in for NCCL's, so what runs here is the core's side: the
// bootstrap over MPI (unique id on the chief, broadcast, join), the vote that puts every replica
// on the same engine, copies reduced in place, MEAN, undefined and empty tensors, broadcast, and
// gradient() against the host path on the same values. Exit status 0 on success.
#include <numeric>
#include <tapeflow/tapeflow.hpp>

#include "mpi_check.hpp"

namespace tf = tapeflow;
using tf::distribute::ReduceOp;

int main() {
  tf::distribute::MultiWorkerMirroredStrategy strategy({.fusion_bytes = 256});
  const int n = strategy.num_replicas_in_sync();
  const int r = strategy.worker_index();
  mpi_test::rank_for_messages() = r;
  MPI_CHECK(n >= 2);
  MPI_CHECK(strategy.gpu_backend() == "nccl");
  const double sum_ranks = n * (n - 1) / 2.0;
  const std::string gpu = "/gpu:0";

  {  // all_reduce on the GPU: several dtypes, one large tensor (many rounds of the fake), MEAN.
    tf::DeviceScope scope(gpu);
    std::vector<float> big(300000);
    std::iota(big.begin(), big.end(), float(r));
    std::vector<tf::Tensor> in{
        tf::constant(std::vector<float>{float(r), 1.5f}, tf::Shape{2}),
        tf::constant(big, tf::Shape{300, 1000}),
        tf::constant(std::vector<double>{0.25 * r, -1.0}, tf::Shape{1, 2}),
        tf::constant(std::vector<int32_t>{r, 7}, tf::Shape{2}),
        tf::constant(std::vector<int64_t>{int64_t(r) << 40, 1}, tf::Shape{2}),
        tf::Tensor(),
        tf::zeros(tf::Shape{0, 3}),
    };
    std::vector<tf::Tensor> out = strategy.all_reduce(in, ReduceOp::SUM);
    MPI_CHECK(out.size() == in.size());
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].defined()) MPI_CHECK(out[i].device_info().type == tf::DeviceType::GPU);
    MPI_CHECK(out[0].to_vector<float>() == (std::vector<float>{float(sum_ranks), 1.5f * n}));
    std::vector<float> big_sum(big.size());
    for (size_t k = 0; k < big.size(); ++k) big_sum[k] = float(n) * float(k) + float(sum_ranks);
    MPI_CHECK(out[1].to_vector<float>() == big_sum);
    MPI_CHECK(out[1].shape() == (tf::Shape{300, 1000}));
    MPI_CHECK(out[2].to_vector<double>() == (std::vector<double>{0.25 * sum_ranks, -1.0 * n}));
    MPI_CHECK(out[3].to_vector<int32_t>() == (std::vector<int32_t>{int32_t(sum_ranks), 7 * n}));
    MPI_CHECK(out[4].to_vector<int64_t>() == (std::vector<int64_t>{int64_t(sum_ranks) << 40, n}));
    MPI_CHECK(!out[5].defined());
    MPI_CHECK(out[6].shape() == (tf::Shape{0, 3}));
    // The inputs are untouched: NCCL reduced copies in place.
    MPI_CHECK(in[0].to_vector<float>() == (std::vector<float>{float(r), 1.5f}));

    tf::Tensor mean = strategy.all_reduce(
        tf::constant(std::vector<float>{float(2 * r), 1.f}, tf::Shape{2}), ReduceOp::MEAN);
    MPI_CHECK(mean.device_info().type == tf::DeviceType::GPU);
    MPI_CHECK(mean.to_vector<float>() == (std::vector<float>{float(2 * sum_ranks / n), 1.f}));
  }

  {  // Replicas that disagree on the engine (one with a CPU tensor) all take the host path.
    tf::Tensor t = r == 0 ? tf::constant(2.f).to("/cpu:0") : tf::constant(2.f).to(gpu);
    tf::Tensor s = strategy.all_reduce(t, ReduceOp::SUM);
    MPI_CHECK(s.item<float>() == 2.f * n);
    MPI_CHECK(s.device_info() == t.device_info());
  }

  {  // broadcast of GPU tensors from the last replica.
    tf::DeviceScope scope(gpu);
    std::vector<tf::Tensor> b =
        strategy.broadcast({tf::constant(std::vector<float>{float(r), 2.f}, tf::Shape{2}),
                            tf::constant(int64_t(10 + r))},
                           n - 1);
    MPI_CHECK(b[0].to_vector<float>() == (std::vector<float>{float(n - 1), 2.f}));
    MPI_CHECK(b[1].item<int64_t>() == 9 + n);
    MPI_CHECK(b[0].device_info().type == tf::DeviceType::GPU);
  }

  {  // gradient(): NCCL on GPU variables equals the host path on CPU copies of the same values;
     // a variable with no gradient on any replica stays undefined, one with a gradient on one
     // replica only gets that replica's (zeros elsewhere).
    tf::random::set_seed(3);
    std::vector<tf::Tensor> init;
    for (int i = 0; i < 4; ++i) init.push_back(tf::random::normal(tf::Shape{4, 4}));
    tf::Tensor x = tf::random::normal(tf::Shape{3, 4}) + tf::constant(float(r));
    auto run = [&](const std::string& device) {
      tf::DeviceScope scope(device);
      std::vector<tf::Variable> vars;
      for (const tf::Tensor& t : init) vars.emplace_back(t.to(device), tf::VariableOptions{});
      vars.emplace_back(tf::ones(tf::Shape{3}), tf::VariableOptions{.name = "unused"});
      vars.emplace_back(tf::ones(tf::Shape{2}), tf::VariableOptions{.name = "chief_only"});
      tf::GradientTape tape;
      tf::Tensor h = x.to(device);
      for (int i = 0; i < 4; ++i) h = tf::tanh(tf::matmul(h, vars[size_t(i)].value()));
      tf::Tensor loss = tf::reduce_sum(h * h);
      if (r == 0) loss = loss + tf::reduce_sum(vars[5].value());
      std::vector<tf::Tensor> g = strategy.gradient(tape, loss, vars, ReduceOp::MEAN);
      return std::make_pair(g, strategy.last_gradient_stats());
    };
    auto [on_gpu, gpu_stats] = run(gpu);
    auto [on_cpu, cpu_stats] = run("/cpu:0");
    MPI_CHECK(gpu_stats.nccl && gpu_stats.buckets == 1);
    MPI_CHECK(!cpu_stats.nccl);
    for (int i = 0; i < 4; ++i) {
      MPI_CHECK(on_gpu[size_t(i)].device_info().type == tf::DeviceType::GPU);
      MPI_CHECK(mpi_test::close(
          on_gpu[size_t(i)].to_vector<float>(), on_cpu[size_t(i)].to_vector<float>(), 1e-6));
    }
    MPI_CHECK(!on_gpu[4].defined() && !on_cpu[4].defined());
    MPI_CHECK(on_gpu[5].to_vector<float>() == (std::vector<float>{1.f / float(n), 1.f / float(n)}));
    MPI_CHECK(on_cpu[5].to_vector<float>() == on_gpu[5].to_vector<float>());
  }

  {  // A bad input still gets the usual error on every replica.
    bool threw = false;
    try {
      tf::DeviceScope scope(gpu);
      strategy.all_reduce(tf::zeros(tf::Shape{r == 1 ? 3 : 2}), ReduceOp::SUM);
    } catch (const tf::InvalidArgumentError& e) {
      threw = std::string(e.what()).find("replicas passed different tensors") != std::string::npos;
    }
    MPI_CHECK(threw);
  }

  strategy.barrier();
  if (r == 0) std::printf("mpi_gpu: %d replicas, %d failure(s)\n", n, mpi_test::failures());
  return mpi_test::failures() != 0;
}
