// Model under a one-replica MultiWorkerMirroredStrategy (no launcher): the strategy path of fit,
// evaluate and train_on_batch (sharing, collectives, the chief's broadcast) gives plain fit's
// results bit for bit. The multi-process comparison is test/distribute/mpi_fit.cpp (mpirun).

#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

namespace {

constexpr int64_t kRows = 23;  // not a multiple of the batch: a short last batch

tf::Tensor features() {
  tf::random::set_seed(4321);
  return tf::random::uniform({kRows, 3}, -1.0, 1.0);
}
tf::Tensor labels(const tf::Tensor& x) {
  std::vector<float> v = x.to_vector<float>();
  std::vector<int32_t> y;
  for (int64_t i = 0; i < kRows; ++i)
    y.push_back(v[size_t(i * 3)] > 0 ? (v[size_t(i * 3 + 1)] > 0 ? 2 : 1) : 0);
  return tf::constant(y, tf::Shape{kRows});
}

// The same unbuilt model each time (names restart, initialisers draw from the same seed): fit
// builds it, so the strategy path's build before the first step is exercised too.
tf::Model make_model(tf::StrategySpec strategy = {}) {
  L::clear_session();
  tf::random::set_seed(7);
  tf::Model model(L::Sequential({L::Dense(4, "relu"), L::Dense(3)}));
  model.compile({.optimizer = tf::optimizers::Adam({.learning_rate = 0.01}),
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 // a stateful metric object and a mean of per-example values
                 .metrics = {"accuracy",
                             tf::MetricSpec("top_logit",
                                            [](const tf::Tensor&, const tf::Tensor& p) {
                                              return tf::reduce_max(p, {-1});
                                            })},
                 .distribute = std::move(strategy)});
  return model;
}

std::vector<std::vector<float>> weights_of(const tf::Model& model) {
  std::vector<std::vector<float>> out;
  for (const tf::Variable& v : model.variables()) out.push_back(v.peek().to_vector<float>());
  return out;
}

// Counts the epochs it saw; runs on the chief only under a strategy.
struct ChiefCounter : tf::callbacks::Callback {
  std::shared_ptr<int> epochs = std::make_shared<int>(0);
  bool chief_only() const override { return true; }
  void on_epoch_end(int, tf::Logs&) override { ++*epochs; }
};

}  // namespace

TEST_CASE("fit under a one-replica strategy gives plain fit's weights and logs bit for bit",
          "[model][distribute]") {
  tf::distribute::MultiWorkerMirroredStrategy strategy;
  const tf::Tensor x = features(), y = labels(x);
  SECTION("tensors: shuffled, validation_split, evaluate, train_on_batch") {
    tf::FitOptions o{.batch_size = 8, .epochs = 3, .verbose = 0, .validation_split = 0.25};
    tf::Model plain = make_model();
    tf::History hp = plain.fit(x, y, o);  // the shuffle seed drawn from tf::random
    ChiefCounter counter;
    o.callbacks = {counter};
    tf::Model dist = make_model(strategy);
    CHECK(dist.distribute_strategy() == &strategy);
    CHECK(plain.distribute_strategy() == nullptr);
    tf::History hd = dist.fit(x, y, o);
    CHECK(weights_of(dist) == weights_of(plain));
    CHECK(hd.history == hp.history);
    CHECK(hd.history.count("val_accuracy") == 1);
    CHECK(*counter.epochs == 3);  // the only replica is the chief
    CHECK(dist.optimizer().iterations() == plain.optimizer().iterations());
    CHECK(dist.evaluate(x, y, {.batch_size = 5, .verbose = 0}) ==
          plain.evaluate(x, y, {.batch_size = 5, .verbose = 0}));
    CHECK(dist.train_on_batch(x, y) == plain.train_on_batch(x, y));
    CHECK(weights_of(dist) == weights_of(plain));
  }
  SECTION("a Dataset, steps_per_epoch (it runs out in epoch 2: both stop there, warning)") {
    auto ds = tf::data::Dataset::from_tensor_slices({x, y}).batch(6);
    tf::Model plain = make_model();
    tf::History hp = plain.fit(ds, {.epochs = 2, .verbose = 0, .steps_per_epoch = 3});
    tf::Model dist = make_model(strategy);
    tf::History hd = dist.fit(ds, {.epochs = 2, .verbose = 0, .steps_per_epoch = 3});
    CHECK(weights_of(dist) == weights_of(plain));
    CHECK(hd.history == hp.history);
  }
  SECTION("a shared_ptr strategy, and EarlyStopping stops at the same epoch") {
    auto shared = std::make_shared<tf::distribute::MultiWorkerMirroredStrategy>();
    tf::callbacks::EarlyStopping stop_plain({.monitor = "loss", .min_delta = 10.0, .patience = 1});
    tf::callbacks::EarlyStopping stop_dist({.monitor = "loss", .min_delta = 10.0, .patience = 1});
    tf::Model plain = make_model();
    plain.fit(x, y, {.batch_size = 8, .epochs = 5, .verbose = 0, .callbacks = {stop_plain}});
    tf::Model dist = make_model(shared);
    CHECK(dist.distribute_strategy() == shared.get());
    dist.fit(x, y, {.batch_size = 8, .epochs = 5, .verbose = 0, .callbacks = {stop_dist}});
    CHECK(stop_dist.stopped_epoch() == stop_plain.stopped_epoch());
    CHECK(stop_dist.stopped_epoch() > 0);
    CHECK(weights_of(dist) == weights_of(plain));
  }
}
