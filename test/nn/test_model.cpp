// tf::Model: fit against the hand-written GradientTape loop (bit for bit), every fit option,
// evaluate / predict / train_on_batch, the callbacks' hooks and decisions, and summary().

#include <bit>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "io/event_reader.hpp"
#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

namespace {

constexpr int64_t kRows = 20;

// x [20, 3] in [-1, 1]; labels 0..2 from the sign pattern of the features (learnable).
tf::Tensor features() {
  tf::random::set_seed(1234);
  return tf::random::uniform({kRows, 3}, -1.0, 1.0);
}
tf::Tensor labels(const tf::Tensor& x) {
  std::vector<float> v = x.to_vector<float>();
  std::vector<int32_t> y;
  for (int64_t i = 0; i < kRows; ++i)
    y.push_back(v[size_t(i * 3)] > 0 ? (v[size_t(i * 3 + 1)] > 0 ? 2 : 1) : 0);
  return tf::constant(y, tf::Shape{kRows});
}

// The same weights each time: names restart and the initialisers draw from the same seed.
tf::layers::Sequential make_net(uint64_t seed = 7) {
  L::clear_session();
  tf::random::set_seed(seed);
  L::Sequential net({L::Dense(4, "relu"), L::Dense(3)});
  net.build({1, 3});
  return net;
}

tf::Model compiled_model(uint64_t seed = 7, std::vector<tf::MetricSpec> metrics = {"accuracy"}) {
  tf::Model model(make_net(seed));
  model.compile({.optimizer = tf::optimizers::Adam({.learning_rate = 0.01}),
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = std::move(metrics)});
  return model;
}

std::vector<std::vector<float>> weights_of(const tf::layers::Layer& layer) {
  std::vector<std::vector<float>> out;
  for (const tf::Variable& v : layer.variables()) out.push_back(v.peek().to_vector<float>());
  return out;
}

tf::Tensor rows(const tf::Tensor& t, int64_t begin, int64_t end) {
  std::vector<int64_t> b(size_t(t.rank()), 0), size = t.shape().dims();
  b[0] = begin;
  size[0] = end - begin;
  return tf::slice(t, b, size);
}

// The hand-written loop of docs/training.md; returns each epoch's loss, the batch losses
// weighted by batch size (Keras' epoch loss).
std::vector<double> hand_loop(const tf::layers::Layer& net,
                              tf::optimizers::Optimizer& opt,
                              const tf::data::Dataset& ds,
                              int epochs) {
  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  std::vector<double> epoch_loss;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double total = 0, count = 0;
    for (const auto& batch : ds) {
      tf::GradientTape tape;
      tf::Tensor loss = loss_fn(batch[1], net(batch[0], /*training=*/true));
      auto vars = net.trainable_variables();
      auto grads = tape.gradient(loss, vars);
      opt.apply_gradients(grads, vars);
      total += loss.item<double>() * double(batch[0].shape()[0]);
      count += double(batch[0].shape()[0]);
    }
    epoch_loss.push_back(total / count);
  }
  return epoch_loss;
}

// Records every hook, in order.
struct Recorder : tf::callbacks::Callback {
  std::shared_ptr<std::vector<std::string>> events = std::make_shared<std::vector<std::string>>();
  void on_train_begin(tf::Logs&) override { events->push_back("train_begin"); }
  void on_train_end(tf::Logs&) override { events->push_back("train_end"); }
  void on_epoch_begin(int e, tf::Logs&) override {
    events->push_back("epoch_begin " + std::to_string(e));
  }
  void on_epoch_end(int e, tf::Logs&) override {
    events->push_back("epoch_end " + std::to_string(e));
  }
  void on_train_batch_begin(int64_t b, tf::Logs&) override {
    events->push_back("batch_begin " + std::to_string(b));
  }
  void on_train_batch_end(int64_t b, tf::Logs&) override {
    events->push_back("batch_end " + std::to_string(b));
  }
  void on_test_begin(tf::Logs&) override { events->push_back("test_begin"); }
  void on_test_end(tf::Logs&) override { events->push_back("test_end"); }
  void on_test_batch_begin(int64_t b, tf::Logs&) override {
    events->push_back("test_batch_begin " + std::to_string(b));
  }
  void on_test_batch_end(int64_t b, tf::Logs&) override {
    events->push_back("test_batch_end " + std::to_string(b));
  }
  void on_predict_begin(tf::Logs&) override { events->push_back("predict_begin"); }
  void on_predict_end(tf::Logs&) override { events->push_back("predict_end"); }
  void on_predict_batch_begin(int64_t b, tf::Logs&) override {
    events->push_back("predict_batch_begin " + std::to_string(b));
  }
  void on_predict_batch_end(int64_t b, tf::Logs&) override {
    events->push_back("predict_batch_end " + std::to_string(b));
  }
};

// Sets logs[name] = values[epoch] at each epoch end, for the callbacks that monitor it.
tf::callbacks::LambdaCallback scripted(const std::string& name, std::vector<double> values) {
  return tf::callbacks::LambdaCallback({.on_epoch_end = [name, values](int epoch, tf::Logs& logs) {
    logs[name] = values.at(size_t(epoch));
  }});
}

// std::cout's text while alive.
class CoutCapture {
 public:
  CoutCapture() : saved_(std::cout.rdbuf(buffer_.rdbuf())) {}
  ~CoutCapture() { std::cout.rdbuf(saved_); }
  std::string text() const { return buffer_.str(); }

 private:
  std::ostringstream buffer_;
  std::streambuf* saved_;
};

}  // namespace

TEST_CASE("fit gives the hand-written GradientTape loop's weights bit for bit", "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  SECTION("no shuffle") {
    tf::Model model = compiled_model();
    tf::History h = model.fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .shuffle = false});
    L::Sequential net = make_net();
    tf::optimizers::Adam opt({.learning_rate = 0.01});
    std::vector<double> losses =
        hand_loop(net, opt, tf::data::Dataset::from_tensor_slices({x, y}).batch(8), 3);
    CHECK(weights_of(model) == weights_of(net));
    CHECK(h.history.at("loss") == losses);  // batch losses weighted by batch size (8, 8, 4)
    CHECK(model.optimizer().iterations() == 9);
    CHECK(h.epoch == std::vector<int>{0, 1, 2});
  }
  SECTION("the same shuffle (seed 99)") {
    tf::Model model = compiled_model();
    model.fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .shuffle = true, .seed = 99});
    L::Sequential net = make_net();
    tf::optimizers::Adam opt({.learning_rate = 0.01});
    hand_loop(
        net, opt, tf::data::Dataset::from_tensor_slices({x, y}).shuffle(kRows, 99).batch(8), 3);
    CHECK(weights_of(model) == weights_of(net));
    // And a different seed gives different weights (the shuffle is really applied).
    tf::Model other = compiled_model();
    other.fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .shuffle = true, .seed = 5});
    CHECK(weights_of(other) != weights_of(net));
  }
  SECTION("a Dataset") {
    tf::Model model = compiled_model();
    model.fit(tf::data::Dataset::from_tensor_slices({x, y}).batch(8), {.epochs = 2, .verbose = 0});
    L::Sequential net = make_net();
    tf::optimizers::Adam opt({.learning_rate = 0.01});
    hand_loop(net, opt, tf::data::Dataset::from_tensor_slices({x, y}).batch(8), 2);
    CHECK(weights_of(model) == weights_of(net));
  }
}

TEST_CASE("fit: history keys, validation_split from the end, validation_data", "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  tf::Model model = compiled_model();
  tf::History h = model.fit(
      x,
      y,
      {.batch_size = 8, .epochs = 2, .verbose = 0, .validation_split = 0.25, .shuffle = false});
  std::vector<std::string> keys;
  for (const auto& [k, v] : h.history) {
    keys.push_back(k);
    CHECK(v.size() == 2);
  }
  CHECK(keys == std::vector<std::string>{"accuracy", "loss", "val_accuracy", "val_loss"});
  CHECK(h.params.at("steps") == 2);  // 15 training rows in batches of 8
  // The validation rows are the last 5: evaluating them now gives the last epoch's values.
  auto r = model.evaluate(rows(x, 15, 20), rows(y, 15, 20), {.batch_size = 8, .verbose = 0});
  CHECK(r.at("loss") == h.history.at("val_loss").back());
  CHECK(r.at("accuracy") == h.history.at("val_accuracy").back());
  // ... and training saw only the first 15: the same as fitting on them alone.
  tf::Model first = compiled_model();
  first.fit(rows(x, 0, 15),
            rows(y, 0, 15),
            {.batch_size = 8, .epochs = 2, .verbose = 0, .shuffle = false});
  CHECK(weights_of(first) == weights_of(model));

  tf::Model with_data = compiled_model();
  tf::History hv = with_data.fit(rows(x, 0, 15),
                                 rows(y, 0, 15),
                                 {.batch_size = 8,
                                  .epochs = 2,
                                  .verbose = 0,
                                  .validation_data = {rows(x, 15, 20), rows(y, 15, 20)},
                                  .shuffle = false});
  CHECK(hv.history.at("val_loss") == h.history.at("val_loss"));
  CHECK(hv.history.at("accuracy") == h.history.at("accuracy"));

  tf::Model freq = compiled_model();
  tf::History hf = freq.fit(x,
                            y,
                            {.batch_size = 8,
                             .epochs = 4,
                             .verbose = 0,
                             .validation_split = 0.25,
                             .shuffle = false,
                             .validation_freq = 2});
  CHECK(hf.history.at("loss").size() == 4);
  CHECK(hf.history.at("val_loss").size() == 2);  // after epochs 2 and 4 only
}

TEST_CASE("evaluate: the batch losses weighted by batch size; predict is the model's output",
          "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  tf::Model model = compiled_model();
  auto r = model.evaluate(x, y, {.batch_size = 8, .verbose = 0});
  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  double total = 0;
  for (auto [b, e] : {std::pair<int64_t, int64_t>{0, 8}, {8, 16}, {16, 20}})
    total += loss_fn(rows(y, b, e), model(rows(x, b, e))).item<double>() * double(e - b);
  CHECK(r.at("loss") == total / 20);
  tf::metrics::SparseCategoricalAccuracy acc;
  acc.update_state(y, model(x));
  CHECK(r.at("accuracy") == double(acc.result().item<float>()));
  CHECK(r.size() == 2);

  const tf::Tensor full = model(x);
  CHECK(model.predict(x, {.batch_size = 20}).to_vector<float>() == full.to_vector<float>());
  tf::Tensor p = model.predict(x, {.batch_size = 8});
  CHECK(p.shape() == tf::Shape{20, 3});
  CHECK(p.to_vector<float>() ==
        tf::concat({model(rows(x, 0, 8)), model(rows(x, 8, 16)), model(rows(x, 16, 20))}, 0)
            .to_vector<float>());
  CHECK(model.predict(tf::data::Dataset::from_tensor_slices(x).batch(8)).to_vector<float>() ==
        p.to_vector<float>());
  CHECK(model.predict_on_batch(x).to_vector<float>() == full.to_vector<float>());
}

TEST_CASE("train_on_batch is one step of the loop; test_on_batch the batch's loss", "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  tf::Model model = compiled_model();
  L::Sequential net = make_net();
  tf::optimizers::Adam opt({.learning_rate = 0.01});
  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  const double expected = loss_fn(y, net(x)).item<double>();
  auto r = model.train_on_batch(x, y);
  hand_loop(net, opt, tf::data::Dataset::from_tensor_slices({x, y}).batch(kRows), 1);
  CHECK(r.at("loss") == expected);
  CHECK(weights_of(model) == weights_of(net));
  auto t = model.test_on_batch(x, y);
  CHECK(t.at("loss") == loss_fn(y, net(x)).item<double>());
  tf::metrics::SparseCategoricalAccuracy acc;
  acc.update_state(y, net(x));
  CHECK(t.at("accuracy") == double(acc.result().item<float>()));
}

TEST_CASE("class_weight and sample_weight scale each example's loss (Keras' reduction)",
          "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  tf::Model model = compiled_model();
  tf::Model reference = compiled_model();
  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  tf::Tensor per = loss_fn.call(y, reference(x));
  std::vector<int32_t> yv = y.to_vector<int32_t>();
  std::vector<float> w;
  for (int32_t c : yv) w.push_back(c == 0 ? 2.f : c == 2 ? 0.5f : 1.f);
  const double expected =
      (tf::reduce_sum(per * tf::constant(w, tf::Shape{kRows})) / double(kRows)).item<double>();
  auto r = model.train_on_batch(x, y, {.class_weight = {{0, 2.0}, {2, 0.5}}});
  CHECK(r.at("loss") == expected);
  // The same weights given as sample_weight.
  auto s = reference.train_on_batch(x, y, {.sample_weight = tf::constant(w, tf::Shape{kRows})});
  CHECK(s.at("loss") == expected);
  CHECK(weights_of(model) == weights_of(reference));
  // In fit: weights change the result.
  tf::Model a = compiled_model(), b = compiled_model();
  a.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0, .shuffle = false});
  b.fit(x,
        y,
        {.batch_size = 8, .epochs = 1, .verbose = 0, .shuffle = false, .class_weight = {{1, 3.0}}});
  CHECK(weights_of(a) != weights_of(b));
}

TEST_CASE("fit: steps_per_epoch, initial_epoch, a Dataset that runs out", "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  SECTION("tensors repeat to supply the steps") {
    tf::Model model = compiled_model();
    tf::History h = model.fit(
        x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .shuffle = false, .steps_per_epoch = 2});
    CHECK(model.optimizer().iterations() == 6);
    CHECK(h.params.at("steps") == 2);
    // The batches are b0 b1 | b2 b0 | b1 b2: two passes of the loop.
    L::Sequential net = make_net();
    tf::optimizers::Adam opt({.learning_rate = 0.01});
    hand_loop(net, opt, tf::data::Dataset::from_tensor_slices({x, y}).batch(8), 2);
    CHECK(weights_of(model) == weights_of(net));
  }
  SECTION("a Dataset that runs out stops training with a warning") {
    tf::Model model = compiled_model();
    test::StderrCapture err;
    tf::History h = model.fit(tf::data::Dataset::from_tensor_slices({x, y}).batch(8),
                              {.epochs = 3, .verbose = 0, .steps_per_epoch = 2});
    CHECK_THAT(err.text(), Catch::Contains("ran out of data"));
    CHECK(model.optimizer().iterations() == 3);
    CHECK(h.epoch == std::vector<int>{0, 1});
  }
  SECTION("initial_epoch") {
    tf::Model model = compiled_model();
    tf::History h =
        model.fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .initial_epoch = 2});
    CHECK(h.epoch == std::vector<int>{2});
    CHECK(model.optimizer().iterations() == 3);
  }
}

TEST_CASE("compile by name: optimizers, losses, metrics", "[model]") {
  const tf::Tensor x = features();
  const tf::Tensor target = tf::reduce_sum(x, {1}, true);  // [20, 1]
  L::clear_session();
  tf::random::set_seed(3);
  tf::Model model(L::Sequential({L::Dense(1)}));
  model.compile({.optimizer = "sgd", .loss = "mse", .metrics = {"mae", "mse"}});
  CHECK(model.metrics_names() == std::vector<std::string>{"loss", "mae", "mse"});
  auto r = model.evaluate(x, target, {.batch_size = 20, .verbose = 0});
  const tf::Tensor d = model(x) - target;
  CHECK(r.at("mse") == Approx(tf::reduce_mean(d * d).item<float>()).epsilon(1e-6));
  CHECK(r.at("mae") == Approx(tf::reduce_mean(tf::abs(d)).item<float>()).epsilon(1e-6));
  CHECK(r.at("loss") == Approx(r.at("mse")).epsilon(1e-6));
  tf::History h = model.fit(x, target, {.batch_size = 5, .epochs = 5, .verbose = 0});
  CHECK(h.history.at("loss").back() < h.history.at("loss").front());  // SGD learns the sum
  CHECK(dynamic_cast<tf::optimizers::SGD*>(&model.optimizer()) != nullptr);
  // A named function metric, and a metric object.
  tf::Model m2 = compiled_model(7,
                                {tf::MetricSpec("zero",
                                                [](const tf::Tensor& t, const tf::Tensor&) {
                                                  return tf::zeros({t.shape()[0]});
                                                }),
                                 tf::metrics::SparseCategoricalAccuracy({.name = "acc_obj"})});
  const tf::Tensor y = labels(x);
  auto r2 = m2.evaluate(x, y, {.verbose = 0});
  CHECK(r2.at("zero") == 0.0);
  tf::metrics::SparseCategoricalAccuracy acc;
  acc.update_state(y, m2(x));
  CHECK(r2.at("acc_obj") == double(acc.result().item<float>()));
}

TEST_CASE("Model errors name what is wrong", "[model]") {
  const tf::Tensor x = features(), y = labels(x);
  tf::Model raw(make_net());
  CHECK_THROWS_AS(raw.fit(x, y), tf::FailedPreconditionError);
  CHECK_THROWS_WITH(raw.evaluate(x, y), Catch::Contains("compile()"));
  tf::Model model = compiled_model();
  CHECK_THROWS_AS(model.fit(x, rows(y, 0, 19)), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(model.fit(x, rows(y, 0, 19)), Catch::Contains("x sizes: 20 y sizes: 19"));
  CHECK_THROWS_WITH(model.compile({.loss = "mse", .metrics = {"acuracy"}}),
                    Catch::Contains("Unknown metric function: 'acuracy'"));
  CHECK_THROWS_WITH(model.compile({.loss = "hinge"}),
                    Catch::Contains("Unknown loss function: 'hinge'"));
  CHECK_THROWS_WITH(model.compile({.optimizer = "adamax", .loss = "mse"}),
                    Catch::Contains("optimizer identifier: 'adamax'"));
  CHECK(model.metrics_names() == std::vector<std::string>{"loss", "accuracy"});  // unchanged
  CHECK_THROWS_WITH(model.fit(x, y, {.verbose = 0, .validation_split = 1.0}),
                    Catch::Contains("`validation_split` must be in [0, 1)"));
  CHECK_THROWS_WITH(
      model.fit(rows(x, 0, 1), rows(y, 0, 1), {.verbose = 0, .validation_split = 0.5}),
      Catch::Contains("not sufficient to split"));
  CHECK_THROWS_WITH(model.fit(tf::data::Dataset::from_tensor_slices({x, y}).batch(4),
                              {.verbose = 0, .validation_split = 0.2}),
                    Catch::Contains("only supported for tensors"));
  CHECK_THROWS_WITH(model.fit(x, y, {.batch_size = 0}),
                    Catch::Contains("`batch_size` must be positive"));
  CHECK_THROWS_WITH(model.fit(x, y, {.verbose = 3}),
                    Catch::Contains("`verbose` must be 0, 1 or 2"));
  CHECK_THROWS_WITH(model.fit(tf::data::Dataset::from_tensor_slices(x).batch(4), {.verbose = 0}),
                    Catch::Contains("(x, y) or (x, y, sample_weight)"));
  CHECK_THROWS_AS(tf::Model().compile({}), tf::FailedPreconditionError);
  CHECK_THROWS_AS(model.compile({.loss = "mse", .run_eagerly = false}), tf::UnimplementedError);
}

TEST_CASE("callbacks: Keras' hook order in fit, evaluate and predict", "[model][callbacks]") {
  const tf::Tensor x = rows(features(), 0, 4), y = rows(labels(features()), 0, 4);
  tf::Model model = compiled_model();
  Recorder rec;
  std::vector<std::string> lambda_events;
  tf::callbacks::LambdaCallback lambda({
      .on_epoch_end =
          [&](int e, tf::Logs& logs) {
            lambda_events.push_back("epoch_end " + std::to_string(e) + " keys " +
                                    std::to_string(logs.size()));
          },
      .on_batch_end = [&](int64_t b,
                          tf::Logs&) { lambda_events.push_back("batch_end " + std::to_string(b)); },
      .on_train_begin = [&](tf::Logs&) { lambda_events.push_back("train_begin"); },
  });
  model.fit(x,
            y,
            {.batch_size = 2,
             .epochs = 2,
             .verbose = 0,
             .validation_data = {x, y},
             .shuffle = false,
             .validation_batch_size = 4,
             .callbacks = {rec, lambda}});
  const std::vector<std::string> epoch = {"batch_begin 0",
                                          "batch_end 0",
                                          "batch_begin 1",
                                          "batch_end 1",
                                          "test_begin",
                                          "test_batch_begin 0",
                                          "test_batch_end 0",
                                          "test_end"};
  std::vector<std::string> expected{"train_begin"};
  for (int e = 0; e < 2; ++e) {
    expected.push_back("epoch_begin " + std::to_string(e));
    expected.insert(expected.end(), epoch.begin(), epoch.end());
    expected.push_back("epoch_end " + std::to_string(e));
  }
  expected.push_back("train_end");
  CHECK(*rec.events == expected);
  CHECK(lambda_events == std::vector<std::string>{"train_begin",
                                                  "batch_end 0",
                                                  "batch_end 1",
                                                  "epoch_end 0 keys 4",
                                                  "batch_end 0",
                                                  "batch_end 1",
                                                  "epoch_end 1 keys 4"});
  rec.events->clear();
  model.evaluate(x, y, {.batch_size = 4, .verbose = 0, .callbacks = {rec}});
  model.predict(x, {.batch_size = 2, .callbacks = {rec}});
  CHECK(*rec.events == std::vector<std::string>{"test_begin",
                                                "test_batch_begin 0",
                                                "test_batch_end 0",
                                                "test_end",
                                                "predict_begin",
                                                "predict_batch_begin 0",
                                                "predict_batch_end 0",
                                                "predict_batch_begin 1",
                                                "predict_batch_end 1",
                                                "predict_end"});
}

TEST_CASE("TerminateOnNaN stops after the batch whose loss is NaN", "[model][callbacks]") {
  tf::Tensor x = features(), y = labels(x);
  std::vector<float> xv = x.to_vector<float>();
  xv[0] = std::nanf("");
  x = tf::constant(xv, tf::Shape{kRows, 3});
  tf::Model model = compiled_model();
  CoutCapture out;
  tf::History h = model.fit(x,
                            y,
                            {.batch_size = 8,
                             .epochs = 3,
                             .verbose = 0,
                             .shuffle = false,
                             .callbacks = {tf::callbacks::TerminateOnNaN()}});
  CHECK(model.optimizer().iterations() == 1);
  CHECK(h.epoch == std::vector<int>{0});
  CHECK_THAT(out.text(), Catch::Contains("Batch 0: Invalid loss, terminating training"));
}

TEST_CASE("EarlyStopping: patience, min_delta, mode, restore_best_weights", "[model][callbacks]") {
  const tf::Tensor x = features(), y = labels(x);
  SECTION("restores the best epoch's weights") {
    tf::Model model = compiled_model();
    std::vector<std::vector<std::vector<float>>> per_epoch;
    tf::callbacks::LambdaCallback snapshot(
        {.on_epoch_end = [&](int, tf::Logs&) { per_epoch.push_back(weights_of(model)); }});
    tf::callbacks::EarlyStopping es(
        {.monitor = "score", .patience = 1, .mode = "min", .restore_best_weights = true});
    tf::History h =
        model.fit(x,
                  y,
                  {.batch_size = 8,
                   .epochs = 10,
                   .verbose = 0,
                   .callbacks = {scripted("score", {3, 1, 2, 0, 0, 0, 0, 0, 0, 0}), snapshot, es}});
    CHECK(h.epoch.size() == 3);
    CHECK(es.stopped_epoch() == 2);
    CHECK(es.best_epoch() == 1);
    CHECK(es.best() == 1.0);
    REQUIRE(per_epoch.size() == 3);
    CHECK(weights_of(model) == per_epoch[1]);
    CHECK(per_epoch[1] != per_epoch[2]);
  }
  SECTION("max mode with min_delta: a gain of 0.05 < 0.1 is no improvement") {
    tf::Model model = compiled_model();
    tf::callbacks::EarlyStopping es(
        {.monitor = "score", .min_delta = 0.1, .patience = 1, .mode = "max"});
    tf::History h = model.fit(x,
                              y,
                              {.batch_size = 8,
                               .epochs = 5,
                               .verbose = 0,
                               .callbacks = {scripted("score", {1, 1.05, 2, 3, 4}), es}});
    CHECK(es.stopped_epoch() == 1);
    CHECK(h.epoch.size() == 2);
  }
  SECTION("auto mode maximises accuracy; patience 2 on a constant value") {
    tf::Model model = compiled_model();
    tf::callbacks::EarlyStopping es({.monitor = "val_accuracy", .patience = 2});
    tf::History h =
        model.fit(x,
                  y,
                  {.batch_size = 8,
                   .epochs = 6,
                   .verbose = 0,
                   .callbacks = {scripted("val_accuracy", {0.5, 0.6, 0.6, 0.6, 0.9, 1}), es}});
    CHECK(es.stopped_epoch() == 3);
    CHECK(es.best() == 0.6);
  }
}

TEST_CASE("LearningRateScheduler and ReduceLROnPlateau set the rate and log it as lr",
          "[model][callbacks]") {
  const tf::Tensor x = features(), y = labels(x);
  SECTION("scheduler") {
    tf::Model model(make_net());
    model.compile({.optimizer = tf::optimizers::SGD({.learning_rate = 1.0}),
                   .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true})});
    tf::History h =
        model.fit(x,
                  y,
                  {.batch_size = 8,
                   .epochs = 3,
                   .verbose = 0,
                   .callbacks = {tf::callbacks::LearningRateScheduler(
                       [](int epoch, double lr) { return epoch == 0 ? 0.1 : lr / 2; })}});
    CHECK(h.history.at("lr") == std::vector<double>{0.1, 0.05, 0.025});
    CHECK(model.optimizer().learning_rate() == 0.025);
  }
  SECTION("plateau") {
    tf::Model model(make_net());
    model.compile({.optimizer = tf::optimizers::SGD({.learning_rate = 0.1}),
                   .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true})});
    tf::History h = model.fit(
        x,
        y,
        {.batch_size = 8,
         .epochs = 6,
         .verbose = 0,
         .callbacks = {scripted("score", {1, 1, 1, 1, 0.5, 0.5}),
                       tf::callbacks::ReduceLROnPlateau(
                           {.monitor = "score", .factor = 0.5, .patience = 2, .cooldown = 1})}});
    // Epoch 2 is the second without improvement: halved; epoch 3 cools down; epoch 4 improves;
    // epoch 5: one epoch without improvement, under patience.
    CHECK(h.history.at("lr") == std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05});
    CHECK(model.optimizer().learning_rate() == 0.05);
  }
}

TEST_CASE("CSVLogger writes a header and one row per epoch", "[model][callbacks]") {
  const tf::Tensor x = features(), y = labels(x);
  test::TempDir dir("csv");
  tf::Model model = compiled_model();
  tf::History h = model.fit(x,
                            y,
                            {.batch_size = 8,
                             .epochs = 2,
                             .verbose = 0,
                             .callbacks = {tf::callbacks::CSVLogger(dir.file("log.csv"))}});
  std::ifstream in(dir.file("log.csv"));
  std::string header, row;
  std::getline(in, header);
  CHECK(header == "epoch,accuracy,loss");
  for (int e = 0; e < 2; ++e) {
    REQUIRE(std::getline(in, row));
    std::stringstream ss(row);
    std::string epoch, acc, loss;
    std::getline(ss, epoch, ',');
    std::getline(ss, acc, ',');
    std::getline(ss, loss, ',');
    CHECK(epoch == std::to_string(e));
    CHECK(std::stod(acc) == h.history.at("accuracy")[size_t(e)]);  // shortest round-trip text
    CHECK(std::stod(loss) == h.history.at("loss")[size_t(e)]);
  }
  CHECK(!std::getline(in, row));
  // append = true adds rows without a second header.
  model.fit(x,
            y,
            {.batch_size = 8,
             .epochs = 1,
             .verbose = 0,
             .callbacks = {tf::callbacks::CSVLogger(dir.file("log.csv"), ",", true)}});
  std::ifstream again(dir.file("log.csv"));
  int lines = 0, headers = 0;
  for (std::string l; std::getline(again, l); ++lines) headers += l.starts_with("epoch") ? 1 : 0;
  CHECK(lines == 4);
  CHECK(headers == 1);
}

TEST_CASE("ModelCheckpoint: save_best_only by the monitored value; files restore",
          "[model][callbacks]") {
  const tf::Tensor x = features(), y = labels(x);
  test::TempDir dir("model_ckpt");
  tf::Model model = compiled_model();
  std::vector<std::vector<std::vector<float>>> per_epoch;
  tf::callbacks::LambdaCallback snapshot(
      {.on_epoch_end = [&](int, tf::Logs&) { per_epoch.push_back(weights_of(model)); }});
  tf::callbacks::ModelCheckpoint ckpt({.filepath = dir.file("best-{epoch:02d}-{score:.1f}"),
                                       .monitor = "score",
                                       .save_best_only = true,
                                       .mode = "min"});
  model.fit(x,
            y,
            {.batch_size = 8,
             .epochs = 3,
             .verbose = 0,
             .callbacks = {scripted("score", {3, 1, 2}), snapshot, ckpt}});
  namespace fs = std::filesystem;
  CHECK(fs::exists(dir.file("best-01-3.0.safetensors")));
  CHECK(fs::exists(dir.file("best-02-1.0.safetensors")));
  CHECK(!fs::exists(dir.file("best-03-2.0.safetensors")));
  CHECK(ckpt.last_saved() == dir.file("best-02-1.0.safetensors"));
  // The file restores the epoch-2 weights, with the optimizer's state, into a fresh model.
  tf::Model fresh = compiled_model(11);
  fresh.optimizer().build(fresh.trainable_variables());
  tf::train::Checkpoint({}, {{"model", fresh}, {"optimizer", fresh.optimizer()}})
      .restore(dir.file("best-02-1.0"));
  CHECK(weights_of(fresh) == per_epoch[1]);
  CHECK(fresh.optimizer().iterations() == 6);

  tf::callbacks::ModelCheckpoint weights_only(
      {.filepath = dir.file("w"), .save_weights_only = true});
  model.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0, .callbacks = {weights_only}});
  tf::Model other = compiled_model(12);
  tf::train::Checkpoint({}, {{"model", other}}).restore(dir.file("w"));
  CHECK(weights_of(other) == weights_of(model));
  CHECK_THROWS_WITH(
      model.fit(x,
                y,
                {.verbose = 0,
                 .callbacks = {tf::callbacks::ModelCheckpoint({.filepath = dir.file("{nope}")})}}),
      Catch::Contains("no value named 'nope'"));
}

TEST_CASE("TensorBoard writes epoch scalars for training and validation", "[model][callbacks]") {
  const tf::Tensor x = features(), y = labels(x);
  test::TempDir dir("model_tb", /*create=*/false);
  tf::Model model = compiled_model();
  tf::History h = model.fit(x,
                            y,
                            {.batch_size = 8,
                             .epochs = 2,
                             .verbose = 0,
                             .validation_split = 0.25,
                             .callbacks = {tf::callbacks::TensorBoard(
                                 {.log_dir = dir.str(), .histogram_freq = 1, .update_freq = 1})}});
  auto read = [](const std::string& sub) {
    std::map<std::string, std::vector<std::pair<int64_t, float>>> out;
    for (const auto& f : std::filesystem::directory_iterator(sub)) {
      std::ifstream in(f.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      for (const std::string& r : test::events::read_records(bytes)) {
        auto e = test::events::decode_event(r);
        if (e.tag.empty()) continue;
        float v = 0;
        if (e.plugin == "scalars") {
          if (!e.content.empty())
            v = std::bit_cast<float>(uint32_t(test::events::read_le(
                reinterpret_cast<const unsigned char*>(e.content.data()), 4)));
          else if (!e.float_val.empty())
            v = e.float_val[0];
        }
        out[e.tag].push_back({e.step, v});
      }
    }
    return out;
  };
  auto train = read(dir.file("train"));
  auto val = read(dir.file("validation"));
  REQUIRE(train["epoch_loss"].size() == 2);
  CHECK(train["epoch_loss"][1].first == 1);
  CHECK(train["epoch_loss"][1].second == float(h.history.at("loss")[1]));
  CHECK(train["epoch_accuracy"].size() == 2);
  CHECK(train["batch_loss"].size() == 4);  // 2 batches per epoch, every batch
  REQUIRE(val["epoch_loss"].size() == 2);
  CHECK(val["epoch_loss"][0].second == float(h.history.at("val_loss")[0]));
  CHECK(train.count("dense/kernel") == 1);  // weight histograms
  CHECK(val.count("epoch_val_loss") == 0);
}

TEST_CASE("verbose 1 and 2 print Keras' progress lines", "[model][callbacks]") {
  const tf::Tensor x = features(), y = labels(x);
  tf::Model model = compiled_model();
  {
    CoutCapture out;
    model.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 2, .validation_split = 0.25});
    const std::string t = out.text();
    CHECK_THAT(t,
               Catch::Contains("Epoch 1/2\n2/2 - ") && Catch::Contains("Epoch 2/2\n") &&
                   Catch::Contains(" - loss: ") && Catch::Contains(" - accuracy: ") &&
                   Catch::Contains(" - val_loss: ") && Catch::Contains("/step\n"));
    CHECK(t.find(" - loss: ") < t.find(" - accuracy: "));  // Keras' column order
  }
  {
    CoutCapture out;
    model.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 1});
    CHECK_THAT(out.text(),
               Catch::Contains("Epoch 1/1\n") &&
                   Catch::Contains("3/3 [==============================] - ") &&
                   Catch::Contains(" - loss: "));
  }
  {
    CoutCapture out;
    model.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0});
    model.evaluate(x, y, {.verbose = 0});
    CHECK(out.text().empty());
  }
}

TEST_CASE("summary prints Keras' table", "[model][summary]") {
  L::clear_session();
  tf::Model model(L::Sequential({L::Dense(4, "relu"), L::BatchNormalization(), L::Dense(1)}));
  CHECK_THROWS_WITH(model.summary(), Catch::Contains("has not yet been built"));
  model.build({8, 3});
  std::ostringstream out;
  model.summary(out);
  CHECK(out.str() ==
        "Model: \"sequential\"\n"
        "_________________________________________________________________\n"
        " Layer (type)                Output Shape              Param #   \n"
        "=================================================================\n"
        " dense (Dense)               (None, 4)                 16        \n"
        "                                                                 \n"
        " batch_normalization (BatchN  (None, 4)                16        \n"
        " ormalization)                                                   \n"
        "                                                                 \n"
        " dense_1 (Dense)             (None, 1)                 5         \n"
        "                                                                 \n"
        "=================================================================\n"
        "Total params: 37\n"
        "Trainable params: 29\n"
        "Non-trainable params: 8\n"
        "_________________________________________________________________\n");
}

namespace {
// A user-defined model: two Dense layers and a residual sum.
class TwoTowers final : public L::Layer::Impl {
 public:
  TwoTowers() : Impl("two_towers"), a_(3), b_(3) {}
  tf::Tensor call(const tf::Tensor& x, bool training) override {
    return a_(x, training) + b_(x, training);
  }
  std::vector<L::Layer> sublayers() const override { return {a_, b_}; }

 private:
  L::Dense a_, b_;
};
}  // namespace

TEST_CASE("a user-defined model trains with fit and lists its layers in summary",
          "[model][summary]") {
  const tf::Tensor x = features(), y = labels(x);
  L::clear_session();
  tf::Model model{L::Layer(std::make_shared<TwoTowers>())};
  model.compile({.optimizer = "adam",
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  tf::History h = model.fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0, .seed = 1});
  CHECK(h.history.at("loss").size() == 3);
  CHECK(model.trainable_variables().size() == 4);
  std::ostringstream out;
  model.summary(out);
  CHECK_THAT(
      out.str(),
      Catch::Contains("Model: \"two_towers\"") &&
          Catch::Contains(" dense (Dense)               multiple                  12        ") &&
          Catch::Contains("Total params: 24\n"));
  CHECK(model.layers()[1].class_name() == "Dense");
  CHECK(L::Layer(std::make_shared<TwoTowers>()).class_name() == "TwoTowers");
}
