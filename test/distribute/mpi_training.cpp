// Run by mpirun -np N: N replicas with per-replica batch B end with the same weights as one
// process with batch N*B, to float32 summation-order tolerance, after 20 steps of SGD or Adam.
// Every replica also trains the one-process reference itself (same seed), so one launch compares.
// Usage: mpi_training sgd|adam
#include <cstring>
#include <tapeflow/tapeflow.hpp>

#include "mpi_check.hpp"

namespace tf = tapeflow;

namespace {

constexpr int kGlobalBatch = 32;
constexpr int kSteps = 20;
constexpr int kFeatures = 8;
constexpr int kHidden = 16;

struct Mlp {
  std::vector<tf::Variable> vars;
  explicit Mlp(uint64_t seed) {
    tf::random::set_seed(seed);
    vars = {
        tf::Variable(tf::random::normal(tf::Shape{kFeatures, kHidden}, 0.0, 0.3), {.name = "w1"}),
        tf::Variable(tf::zeros(tf::Shape{kHidden}), {.name = "b1"}),
        tf::Variable(tf::random::normal(tf::Shape{kHidden, 1}, 0.0, 0.3), {.name = "w2"}),
        tf::Variable(tf::zeros(tf::Shape{1}), {.name = "b2"})};
  }
  tf::Tensor loss(const tf::Tensor& x, const tf::Tensor& y) const {
    tf::Tensor h = tf::nn::relu(tf::matmul(x, vars[0]) + vars[1]);
    return tf::reduce_mean(tf::square(tf::matmul(h, vars[2]) + vars[3] - y));
  }
};

std::unique_ptr<tf::optimizers::Optimizer> make_optimizer(const std::string& name) {
  if (name == "sgd")
    return std::make_unique<tf::optimizers::SGD>(
        tf::optimizers::SGDOptions{.learning_rate = 0.05f, .momentum = 0.9f});
  return std::make_unique<tf::optimizers::Adam>(
      tf::optimizers::AdamOptions{.learning_rate = 0.01f});
}

}  // namespace

int main(int argc, char** argv) {
  const std::string opt_name = argc > 1 ? argv[1] : "sgd";
  tf::distribute::MultiWorkerMirroredStrategy strategy({.fusion_bytes = 128});  // several buckets
  const int n = strategy.num_replicas_in_sync();
  const int r = strategy.worker_index();
  mpi_test::rank_for_messages() = r;
  if (kGlobalBatch % n != 0) {
    std::fprintf(
        stderr, "mpi_training: %d replicas do not divide the global batch %d\n", n, kGlobalBatch);
    return 1;
  }

  // Synthetic regression data, the same on every replica: y = sin(x . a) + noise.
  tf::random::set_seed(11);
  tf::Tensor x = tf::random::uniform(tf::Shape{kGlobalBatch * kSteps, kFeatures}, -1.0, 1.0);
  tf::Tensor a = tf::random::normal(tf::Shape{kFeatures, 1});
  tf::Tensor y =
      tf::sin(tf::matmul(x, a)) + 0.1 * tf::random::normal(tf::Shape{kGlobalBatch * kSteps, 1});
  auto data = tf::data::Dataset::from_tensor_slices({x, y});

  // The reference: one process, global batches.
  Mlp ref(7);
  auto ref_opt = make_optimizer(opt_name);
  for (const std::vector<tf::Tensor>& batch : data.batch(kGlobalBatch)) {
    tf::GradientTape tape;
    tf::Tensor loss = ref.loss(batch[0], batch[1]);
    ref_opt->apply_gradients(tape.gradient(loss, ref.vars), ref.vars);
  }

  // Distributed: a different seed per replica, so the broadcast is what makes them agree; the
  // shards of each global batch are this replica's rows of it.
  Mlp model(1000 + uint64_t(r));
  Mlp init(7);
  for (size_t i = 0; i < model.vars.size(); ++i)
    if (r == 0) model.vars[i].assign(init.vars[i].value());
  auto opt = make_optimizer(opt_name);
  strategy.broadcast_variables(model.vars, *opt);
  int steps = 0;
  for (const std::vector<tf::Tensor>& batch : data.shard(n, r).batch(kGlobalBatch / n)) {
    tf::GradientTape tape;
    tf::Tensor loss = model.loss(batch[0], batch[1]);
    opt->apply_gradients(strategy.gradient(tape, loss, model.vars), model.vars);
    ++steps;
  }
  MPI_CHECK(steps == kSteps);
  MPI_CHECK(opt->iterations() == kSteps);
  // With TAPEFLOW_DEVICE=gpu and a plugin with NCCL (the fake one in the suite), the gradients
  // went through NCCL; on the CPU through MPI.
  const bool on_gpu = model.vars[0].value().device_info().type == tf::DeviceType::GPU;
  MPI_CHECK(strategy.last_gradient_stats().nccl == (on_gpu && strategy.gpu_backend() == "nccl"));

  // Only float32 summation order differs (per-replica partial sums, then the all-reduce); seen:
  // below 1e-7 for SGD and Adam on 2 and 4 replicas.
  const double tol = 1e-5;
  double worst = 0;
  for (size_t i = 0; i < model.vars.size(); ++i) {
    std::vector<float> got = model.vars[i].value().to_vector<float>();
    std::vector<float> want = ref.vars[i].value().to_vector<float>();
    for (size_t k = 0; k < got.size(); ++k)
      worst = std::max(
          worst, std::abs(double(got[k]) - double(want[k])) / (1.0 + std::abs(double(want[k]))));
    MPI_CHECK(mpi_test::close(got, want, tol));
  }
  // And every replica holds the same weights, bit for bit.
  for (const tf::Variable& v : model.vars) {
    tf::Tensor chief = strategy.broadcast(v.value(), 0);
    MPI_CHECK(chief.to_vector<float>() == v.value().to_vector<float>());
  }
  // The weights moved (the comparison is not trivially true).
  MPI_CHECK(!mpi_test::close(
      model.vars[0].value().to_vector<float>(), init.vars[0].value().to_vector<float>(), 1e-3));
  if (strategy.is_chief())
    std::printf(
        "mpi_training %s: %d replicas x batch %d vs 1 x batch %d after %d steps: max relative "
        "difference %.3g (tolerance %.0e)\n",
        opt_name.c_str(),
        n,
        kGlobalBatch / n,
        kGlobalBatch,
        kSteps,
        worst,
        tol);
  return mpi_test::failures() == 0 ? 0 : 1;
}
