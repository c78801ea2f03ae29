// Run by mpirun -np N: Model::fit under MultiWorkerMirroredStrategy (compile's distribute) with
// per-replica batch B ends with the weights of a plain one-process fit with batch N*B, to float32
// summation-order tolerance, for SGD or Adam; every replica's logs (history, evaluate) are the
// same bits, and close to the one-process ones. Every replica also runs the one-process fit
// itself (same seeds), so one launch compares. Usage: mpi_fit sgd|adam
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "mpi_check.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

namespace {

constexpr int64_t kBatch = 8;  // per replica
constexpr int64_t kFeatures = 6;

tf::OptimizerSpec make_optimizer(const std::string& name) {
  if (name == "sgd") return tf::optimizers::SGD({.learning_rate = 0.05f, .momentum = 0.9f});
  return tf::optimizers::Adam({.learning_rate = 0.01f});
}

// An MLP built from `seed`: the chief's is the reference's; the others start elsewhere, so the
// broadcast is what makes them agree.
tf::Model make_model(uint64_t seed, const std::string& opt, tf::StrategySpec strategy = {}) {
  L::clear_session();
  tf::random::set_seed(seed);
  tf::Model model(L::Sequential({L::Dense(16, "relu"), L::Dense(1)}));
  model.build(tf::Shape{1, kFeatures});
  model.compile({.optimizer = make_optimizer(opt),
                 .loss = "mse",
                 .metrics = {"mae"},
                 .distribute = std::move(strategy)});
  return model;
}

double compare(const tf::Model& got, const tf::Model& want, double tol) {
  double worst = 0;
  std::vector<tf::Variable> g = got.variables(), w = want.variables();
  MPI_CHECK(g.size() == w.size());
  for (size_t i = 0; i < g.size() && i < w.size(); ++i) {
    std::vector<float> a = g[i].peek().to_vector<float>(), b = w[i].peek().to_vector<float>();
    for (size_t k = 0; k < a.size(); ++k)
      worst =
          std::max(worst, std::abs(double(a[k]) - double(b[k])) / (1.0 + std::abs(double(b[k]))));
    MPI_CHECK(mpi_test::close(a, b, tol));
  }
  return worst;
}

// The chief's values on every replica equal this replica's, bit for bit.
void check_same_everywhere(const tf::distribute::MultiWorkerMirroredStrategy& strategy,
                           const std::vector<double>& values) {
  tf::Tensor mine = tf::constant(values, tf::Shape{int64_t(values.size())});
  MPI_CHECK(strategy.broadcast(mine, 0).to_vector<double>() == values);
}

void check_logs(const tf::distribute::MultiWorkerMirroredStrategy& strategy,
                const std::map<std::string, std::vector<double>>& got,
                const std::map<std::string, std::vector<double>>& want,
                double tol) {
  MPI_CHECK(got.size() == want.size());
  for (const auto& [key, values] : want) {
    auto it = got.find(key);
    MPI_CHECK(it != got.end());
    if (it == got.end()) continue;
    check_same_everywhere(strategy, it->second);
    MPI_CHECK(it->second.size() == values.size());
    for (size_t i = 0; i < values.size() && i < it->second.size(); ++i)
      MPI_CHECK(std::abs(it->second[i] - values[i]) <= tol * (1.0 + std::abs(values[i])));
  }
}

struct Counter : tf::callbacks::Callback {
  std::shared_ptr<int> epochs = std::make_shared<int>(0);
  bool chief_only() const override { return true; }
  void on_epoch_end(int, tf::Logs&) override { ++*epochs; }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string opt = argc > 1 ? argv[1] : "sgd";
  tf::distribute::MultiWorkerMirroredStrategy strategy({.fusion_bytes = 256});  // several buckets
  const int n = strategy.num_replicas_in_sync(), r = strategy.worker_index();
  mpi_test::rank_for_messages() = r;
  const int64_t global = kBatch * n;

  // Regression data, the same on every replica; 10 global batches and a short one of 5 rows
  // (uneven shares on 2 and 4 replicas) per epoch, 2 epochs: 22 steps.
  const int64_t rows = 10 * global + 5;
  tf::random::set_seed(11);
  tf::Tensor x = tf::random::uniform(tf::Shape{rows, kFeatures}, -1.0, 1.0);
  tf::Tensor a = tf::random::normal(tf::Shape{kFeatures, 1});
  tf::Tensor y = tf::sin(tf::matmul(x, a)) + 0.1 * tf::random::normal(tf::Shape{rows, 1});
  // Validation rows held apart (validation_data; validation_split is checked in one process).
  const int64_t vrows = 37;
  tf::Tensor xv = tf::random::uniform(tf::Shape{vrows, kFeatures}, -1.0, 1.0);
  tf::Tensor yv = tf::sin(tf::matmul(xv, a));

  const double tol = 1e-5, log_tol = 1e-4;
  // 1. Tensors, shuffled with one seed: replicas split each global batch of the same order.
  {
    tf::Model ref = make_model(7, opt);
    tf::History href = ref.fit(
        x,
        y,
        {.batch_size = global, .epochs = 2, .verbose = 0, .validation_data = {xv, yv}, .seed = 5});
    Counter counter;
    // A CSVLogger given a per-replica file name: only the chief's is written.
    const int64_t job = strategy.broadcast(tf::constant(int64_t(getpid())), 0).item<int64_t>();
    const std::string csv =
        (std::filesystem::temp_directory_path() /
         ("tapeflow_mpi_fit_" + std::to_string(job) + "_" + std::to_string(r) + ".csv"))
            .string();
    tf::Model model = make_model(r == 0 ? 7 : 100 + uint64_t(r), opt, strategy);
    tf::History h = model.fit(x,
                              y,
                              {.batch_size = kBatch,
                               .epochs = 2,
                               .verbose = 0,
                               .validation_data = {xv, yv},
                               .seed = 5,
                               .callbacks = {counter, tf::callbacks::CSVLogger(csv)}});
    const double worst = compare(model, ref, tol);
    MPI_CHECK(model.optimizer().iterations() == 22);
    MPI_CHECK(h.history.count("val_mae") == 1);
    check_logs(strategy, h.history, href.history, log_tol);
    MPI_CHECK(*counter.epochs == (strategy.is_chief() ? 2 : 0));
    MPI_CHECK(std::filesystem::exists(csv) == strategy.is_chief());
    std::filesystem::remove(csv);
    // evaluate: each replica its rows, the result over all of them.
    auto e = model.evaluate(x, y, {.batch_size = 16, .verbose = 0});
    auto eref = ref.evaluate(x, y, {.batch_size = 16, .verbose = 0});
    check_logs(strategy,
               {{"loss", {e["loss"]}}, {"mae", {e["mae"]}}},
               {{"loss", {eref["loss"]}}, {"mae", {eref["mae"]}}},
               log_tol);
    if (strategy.is_chief())
      std::printf(
          "mpi_fit %s, tensors: %d replicas x batch %lld vs 1 x batch %lld, 22 steps: max "
          "relative weight difference %.3g; loss %.6f vs %.6f\n",
          opt.c_str(),
          n,
          (long long)kBatch,
          (long long)global,
          worst,
          h.history.at("loss").back(),
          href.history.at("loss").back());
  }
  // 2. A Dataset the replicas shard themselves (every n-th row), unshuffled.
  {
    auto ds = tf::data::Dataset::from_tensor_slices({x, y});
    tf::Model ref = make_model(7, opt);
    tf::History href = ref.fit(ds.batch(global), {.epochs = 2, .verbose = 0});
    tf::Model model = make_model(r == 0 ? 7 : 100 + uint64_t(r), opt, strategy);
    tf::History h = model.fit(ds.shard(n, r).batch(kBatch), {.epochs = 2, .verbose = 0});
    const double worst = compare(model, ref, tol);
    MPI_CHECK(model.optimizer().iterations() == 22);
    check_logs(strategy, h.history, href.history, log_tol);
    if (strategy.is_chief())
      std::printf(
          "mpi_fit %s, sharded Dataset: max relative weight difference %.3g\n", opt.c_str(), worst);
  }
  // 3. A last global batch of one row: the other replicas have none and take part with zero
  // gradients (SGD, so that a missing or doubled step shows in the weights).
  {
    const int64_t few = 2 * global + 1;
    tf::Tensor xs = tf::slice(x, {0, 0}, {few, kFeatures}), ys = tf::slice(y, {0, 0}, {few, 1});
    tf::Model ref = make_model(7, "sgd");
    tf::History href =
        ref.fit(xs, ys, {.batch_size = global, .epochs = 3, .verbose = 0, .seed = 9});
    tf::Model model = make_model(r == 0 ? 7 : 100 + uint64_t(r), "sgd", strategy);
    tf::History h = model.fit(xs, ys, {.batch_size = kBatch, .epochs = 3, .verbose = 0, .seed = 9});
    compare(model, ref, tol);
    MPI_CHECK(model.optimizer().iterations() == 9);
    check_logs(strategy, h.history, href.history, log_tol);
  }
  // 4. Tensors that differ in length between replicas are refused on every replica.
  if (n > 1) {
    tf::Model model = make_model(7, opt, strategy);
    const int64_t mine = rows - r;
    tf::Tensor xs = tf::slice(x, {0, 0}, {mine, kFeatures}), ys = tf::slice(y, {0, 0}, {mine, 1});
    bool refused = false;
    try {
      model.fit(xs, ys, {.batch_size = kBatch, .verbose = 0});
    } catch (const tf::InvalidArgumentError& e) {
      refused = std::string(e.what()).find("rows per replica: ") != std::string::npos;
    }
    MPI_CHECK(refused);
  }
  return mpi_test::failures() == 0 ? 0 : 1;
}
