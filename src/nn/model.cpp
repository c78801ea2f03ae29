// tf::Model: Keras' training loop on the public API. A training step is the hand-written loop of
// docs/training.md (one tape around forward and loss, gradient, apply_gradients), so fit gives
// that loop's weights bit for bit; everything else here is bookkeeping around it: batching,
// metrics, the logs and the callbacks' hooks in Keras' order.
#include "tapeflow/model.hpp"

#include <cmath>
#include <iostream>
#include <limits>

#include "core/fail.hpp"
#include "nn/model_distribute.hpp"
#include "nn/model_state.hpp"
#include "tapeflow/distribute.hpp"
#include "tapeflow/metrics.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/tape.hpp"

namespace tapeflow {

using detail::str_cat;

// ---- compile arguments --------------------------------------------------------------------------

OptimizerSpec::OptimizerSpec(const char* name) : name_(name ? name : "") {}
OptimizerSpec::OptimizerSpec(std::string name) : name_(std::move(name)) {}

std::shared_ptr<optimizers::Optimizer> OptimizerSpec::resolve() const {
  if (optimizer_) return optimizer_;
  if (name_ == "sgd" || name_ == "SGD") return std::make_shared<optimizers::SGD>();
  if (name_ == "adam" || name_ == "Adam") return std::make_shared<optimizers::Adam>();
  if (name_ == "adamw" || name_ == "AdamW") return std::make_shared<optimizers::AdamW>();
  if (name_ == "rmsprop" || name_ == "RMSprop") return std::make_shared<optimizers::RMSprop>();
  if (name_ == "adagrad" || name_ == "Adagrad") return std::make_shared<optimizers::Adagrad>();
  throw InvalidArgumentError(str_cat("Could not interpret optimizer identifier: '",
                                     name_,
                                     "'; expected one of sgd, adam, adamw, rmsprop, adagrad"));
}

LossSpec::LossSpec(const char* name) : name_(name ? name : "") {}
LossSpec::LossSpec(std::string name) : name_(std::move(name)) {}
LossSpec::LossSpec(std::string name, PerExampleFn per_example)
    : name_(std::move(name)), fn_(std::move(per_example)) {
  if (!fn_) throw InvalidArgumentError(str_cat("LossSpec '", name_, "': the function is empty"));
}

namespace {
// A loss given as a per-example function, reduced as Keras' sum_over_batch_size.
class FunctionLoss final : public losses::Loss {
 public:
  explicit FunctionLoss(PerExampleFn fn) : fn_(std::move(fn)) {}
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override {
    return fn_(y_true, y_pred);
  }

 private:
  PerExampleFn fn_;
};
}  // namespace

std::shared_ptr<const losses::Loss> LossSpec::resolve() const {
  if (loss_) return loss_;
  if (fn_) return std::make_shared<FunctionLoss>(fn_);
  if (name_ == "mse" || name_ == "mean_squared_error" || name_ == "MeanSquaredError")
    return std::make_shared<losses::MeanSquaredError>();
  if (name_ == "binary_crossentropy" || name_ == "BinaryCrossentropy")
    return std::make_shared<losses::BinaryCrossentropy>();
  if (name_ == "sparse_categorical_crossentropy" || name_ == "SparseCategoricalCrossentropy")
    return std::make_shared<losses::SparseCategoricalCrossentropy>();
  throw InvalidArgumentError(
      str_cat("Unknown loss function: '",
              name_,
              "'; expected mse, mean_squared_error, binary_crossentropy, "
              "sparse_categorical_crossentropy, a tf::losses object or a named function"));
}

MetricSpec::MetricSpec(const char* name) : name_(name ? name : "") {}
MetricSpec::MetricSpec(std::string name) : name_(std::move(name)) {}
MetricSpec::MetricSpec(std::string name, PerExampleFn per_example)
    : name_(std::move(name)), fn_(std::move(per_example)) {
  if (!fn_) throw InvalidArgumentError(str_cat("MetricSpec '", name_, "': the function is empty"));
}

namespace {

// Keras' MeanMetricWrapper: the running mean of per-example values, in double on the host.
MetricSpec::Ops mean_metric(std::string name, PerExampleFn fn) {
  auto sums = std::make_shared<std::pair<double, double>>(0.0, 0.0);  // total, count
  return {std::move(name),
          [sums, fn = std::move(fn)](const Tensor& t, const Tensor& p) {
            Tensor v = fn(t, p);
            if (v.num_elements() == 0) return;
            sums->first += reduce_sum(cast(v, float64)).item<double>();
            sums->second += double(v.num_elements());
          },
          [sums] { return sums->second == 0.0 ? 0.0 : sums->first / sums->second; },
          [sums] {
            *sums = {0.0, 0.0};
          },
          [sums] { return *sums; }};
}

// y_true and y_pred with a trailing axis of 1 on one side only made to agree (Keras' squeeze).
std::pair<Tensor, Tensor> squeeze_pair(Tensor t, Tensor p) {
  if (p.rank() == t.rank() + 1 && p.shape()[p.rank() - 1] == 1) p = squeeze(p, {-1});
  if (t.rank() == p.rank() + 1 && t.shape()[t.rank() - 1] == 1) t = squeeze(t, {-1});
  return {t, p};
}

Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = squeeze_pair(y_true, y_pred);
  Tensor hit = cast(
      equal(cast(t, float32), cast(greater(p, cast(constant(0.5), p.dtype())), float32)), float32);
  return hit.rank() == 0 ? hit : reduce_mean(hit, {-1});
}

Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  return cast(equal(argmax(y_true, -1), argmax(y_pred, -1)), float32);
}

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = squeeze_pair(y_true, y_pred);
  Tensor d = square(p - cast(t, p.dtype()));
  return d.rank() == 0 ? d : reduce_mean(d, {-1});
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = squeeze_pair(y_true, y_pred);
  Tensor d = abs(p - cast(t, p.dtype()));
  return d.rank() == 0 ? d : reduce_mean(d, {-1});
}

MetricSpec::Ops sparse_categorical_accuracy(std::string name) {
  auto m = std::make_shared<metrics::SparseCategoricalAccuracy>(metrics::MetricOptions{name});
  return {std::move(name),
          [m](const Tensor& t, const Tensor& p) { m->update_state(t, p); },
          [m] { return double(m->result().item<float>()); },
          [m] { m->reset_state(); },
          {}};
}

}  // namespace

MetricSpec::Ops MetricSpec::resolve(const losses::Loss* loss) const {
  if (ops_) return *ops_;
  if (fn_) return mean_metric(name_, fn_);
  const std::string& n = name_;
  if (n == "accuracy" || n == "acc") {
    // Keras picks the accuracy that matches the loss.
    if (dynamic_cast<const losses::SparseCategoricalCrossentropy*>(loss))
      return sparse_categorical_accuracy(n);
    if (dynamic_cast<const losses::BinaryCrossentropy*>(loss))
      return mean_metric(n, binary_accuracy);
    return mean_metric(n, categorical_accuracy);
  }
  if (n == "sparse_categorical_accuracy") return sparse_categorical_accuracy(n);
  if (n == "binary_accuracy") return mean_metric(n, binary_accuracy);
  if (n == "categorical_accuracy") return mean_metric(n, categorical_accuracy);
  if (n == "mse" || n == "mean_squared_error") return mean_metric(n, mean_squared_error);
  if (n == "mae" || n == "mean_absolute_error") return mean_metric(n, mean_absolute_error);
  throw InvalidArgumentError(
      str_cat("Unknown metric function: '",
              n,
              "'; expected accuracy, acc, sparse_categorical_accuracy, categorical_accuracy, "
              "binary_accuracy, mse, mean_squared_error, mae, mean_absolute_error, a metric "
              "object or a named function"));
}

// ---- Callback base ------------------------------------------------------------------------------

namespace callbacks {
Callback::~Callback() = default;
void Callback::on_train_begin(Logs&) {}
void Callback::on_train_end(Logs&) {}
void Callback::on_epoch_begin(int, Logs&) {}
void Callback::on_epoch_end(int, Logs&) {}
void Callback::on_train_batch_begin(int64_t, Logs&) {}
void Callback::on_train_batch_end(int64_t, Logs&) {}
void Callback::on_test_begin(Logs&) {}
void Callback::on_test_end(Logs&) {}
void Callback::on_test_batch_begin(int64_t, Logs&) {}
void Callback::on_test_batch_end(int64_t, Logs&) {}
void Callback::on_predict_begin(Logs&) {}
void Callback::on_predict_end(Logs&) {}
void Callback::on_predict_batch_begin(int64_t, Logs&) {}
void Callback::on_predict_batch_end(int64_t, Logs&) {}

Model& Callback::model() const {
  if (!model_)
    throw FailedPreconditionError(
        "Callback::model(): the callback is not attached to a model (only inside fit, evaluate "
        "or predict)");
  return *model_;
}
}  // namespace callbacks

// ---- Model state --------------------------------------------------------------------------------

namespace {

using CallbackList = std::vector<std::shared_ptr<callbacks::Callback>>;

int64_t rows_of(const char* what, const Tensor& t) {
  if (!t.defined()) throw InvalidArgumentError(str_cat(what, " is an undefined tensor"));
  if (t.rank() < 1)
    throw InvalidArgumentError(
        str_cat(what, " needs a batch axis (rank >= 1); got shape ", t.shape()));
  return t.shape()[0];
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end) {
  std::vector<int64_t> b(size_t(t.rank()), 0), size = t.shape().dims();
  b[0] = begin;
  size[0] = end - begin;
  return slice(t, b, size);
}

void check_cardinality(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  const int64_t nx = rows_of("x", x), ny = rows_of("y", y);
  const int64_t nw = sample_weight.defined() ? rows_of("sample_weight", sample_weight) : nx;
  if (nx != ny || nw != nx)
    throw InvalidArgumentError(
        str_cat("Data cardinality is ambiguous: x sizes: ",
                nx,
                " y sizes: ",
                ny,
                sample_weight.defined() ? str_cat(" sample_weight sizes: ", nw) : std::string(),
                ". Make sure all arrays contain the same number of samples."));
}

void check_positive(const char* what, int64_t v) {
  if (v <= 0) throw InvalidArgumentError(str_cat("`", what, "` must be positive; received ", v));
}

// Per-example weights from class_weight (the class of a row: its label, or the argmax of a
// one-hot row) times sample_weight; undefined when neither is given.
Tensor example_weights(const Tensor& y,
                       const std::map<int64_t, double>& class_weight,
                       const Tensor& sample_weight,
                       DType dtype) {
  if (class_weight.empty() && !sample_weight.defined()) return Tensor();
  const int64_t n = y.shape()[0];
  std::vector<double> w(size_t(n), 1.0);
  if (!class_weight.empty()) {
    Tensor cls = y;
    if (cls.rank() >= 2 && cls.shape()[cls.rank() - 1] > 1) cls = argmax(cls, -1);
    if (cls.num_elements() != n)
      throw InvalidArgumentError(str_cat(
          "class_weight needs one class per example: labels [N], [N, 1] or one-hot [N, C]; got "
          "y of shape ",
          y.shape()));
    std::vector<double> labels = cls.to_vector<double>();
    for (size_t i = 0; i < labels.size(); ++i) {
      auto it = class_weight.find(int64_t(labels[i]));
      if (it != class_weight.end()) w[i] = it->second;
    }
  }
  if (sample_weight.defined()) {
    if (sample_weight.num_elements() != n)
      throw InvalidArgumentError(str_cat("sample_weight needs one weight per example; got shape ",
                                         sample_weight.shape(),
                                         " for ",
                                         n,
                                         " examples"));
    std::vector<double> sw = sample_weight.to_vector<double>();
    for (size_t i = 0; i < w.size(); ++i) w[i] *= sw[i];
  }
  return cast(constant(w, Shape{n}), dtype);
}

// The loss of a batch. Unweighted, it is the loss object's own value (so the step is the
// hand-written loop's); weighted, per-example losses times weights, reduced as Keras does
// (sum_over_batch_size divides by the number of examples, not by the weights' sum).
Tensor batch_loss(const losses::Loss& loss,
                  const Tensor& y,
                  const Tensor& y_pred,
                  const Tensor& w) {
  if (!w.defined()) return loss(y, y_pred);
  Tensor per = loss.call(y, y_pred);
  Tensor ww = w;
  if (ww.dtype() != per.dtype()) ww = cast(ww, per.dtype());
  if (per.rank() > 1) {
    std::vector<int64_t> dims(size_t(per.rank()), 1);
    dims[0] = per.shape()[0];
    ww = reshape(ww, Shape(dims));
  }
  Tensor weighted = per * ww;
  switch (loss.reduction()) {
    case losses::Reduction::none:
      return weighted;
    case losses::Reduction::sum:
      return reduce_sum(weighted);
    case losses::Reduction::sum_over_batch_size:
      break;
  }
  if (weighted.num_elements() == 0) return zeros({}, weighted.dtype());
  return reduce_sum(weighted) / double(weighted.num_elements());
}

double loss_value(const Tensor& loss) {
  return loss.rank() == 0 ? loss.item<double>() : reduce_mean(cast(loss, float64)).item<double>();
}

// Keras' History, filled from on_epoch_end; always the last callback.
class HistoryCallback final : public callbacks::Callback {
 public:
  explicit HistoryCallback(History* history) : history_(history) {}
  void on_epoch_end(int epoch, Logs& logs) override {
    history_->epoch.push_back(epoch);
    for (const auto& [k, v] : logs) history_->history[k].push_back(v);
  }

 private:
  History* history_;
};

CallbackList make_callbacks(const std::vector<callbacks::CallbackRef>& user,
                            int verbose,
                            Model* model,
                            const std::map<std::string, double>& params,
                            const detail::Replicas& replicas) {
  CallbackList list;
  // Keras' order: the progress bar first, the user's callbacks, History last (added by fit).
  // Under a strategy the replicas other than the chief skip those that print or write files.
  if (verbose != 0 && replicas.chief())
    list.push_back(std::make_shared<callbacks::ProgbarLogger>(verbose));
  for (const auto& c : user) {
    if (!c.get()) throw InvalidArgumentError("callbacks: a null callback");
    if (c->chief_only() && !replicas.chief()) continue;
    list.push_back(c.get());
  }
  for (const auto& c : list) {
    c->set_model(model);
    c->set_params(params);
  }
  return list;
}

void check_verbose(int verbose) {
  if (verbose < 0 || verbose > 2)
    throw InvalidArgumentError(str_cat("`verbose` must be 0, 1 or 2; received ", verbose));
}

}  // namespace

Model::Model(const layers::Layer& layer)
    : layers::Layer(layer.impl()), state_(std::make_shared<State>()) {
  if (!layer.defined()) throw InvalidArgumentError("Model: the layer is undefined");
}

Model::State& Model::state() const {
  if (!state_) throw FailedPreconditionError("use of an undefined (default-constructed) Model");
  return *state_;
}

void Model::compile(CompileOptions options) const {
  State& s = state();
  if (!options.run_eagerly)
    throw UnimplementedError("Model.compile: tapeflow runs eagerly only (run_eagerly = false)");
  // Resolve everything before changing the state, so a bad argument leaves the model as it was.
  auto optimizer = options.optimizer.resolve();
  std::shared_ptr<const losses::Loss> loss;
  if (options.loss.defined()) loss = options.loss.resolve();
  std::vector<MetricSpec::Ops> metrics;
  std::vector<std::string> metric_names;
  for (const MetricSpec& m : options.metrics) {
    metrics.push_back(m.resolve(loss.get()));
    metric_names.push_back(m.by_name() ? m.name() : std::string());
    if (metrics.back().name == "loss")
      throw InvalidArgumentError("Model.compile: a metric may not be named 'loss'");
    for (size_t i = 0; i + 1 < metrics.size(); ++i)
      if (metrics[i].name == metrics.back().name)
        throw InvalidArgumentError(
            str_cat("Model.compile: two metrics are named '", metrics.back().name, "'"));
  }
  s.optimizer = std::move(optimizer);
  s.loss = std::move(loss);
  s.metrics = std::move(metrics);
  s.metric_names = std::move(metric_names);
  s.strategy = std::move(options.distribute);
  s.replicas_synced = false;
  s.compiled = true;
  s.reset_metrics();
}

bool Model::compiled() const { return state_ && state_->compiled; }

optimizers::Optimizer& Model::optimizer() const {
  if (!compiled())
    throw FailedPreconditionError("Model.optimizer: the model has no optimizer; call compile()");
  return *state_->optimizer;
}

std::vector<std::string> Model::metrics_names() const {
  std::vector<std::string> names{"loss"};
  if (state_)
    for (const auto& m : state_->metrics) names.push_back(m.name);
  return names;
}

distribute::MultiWorkerMirroredStrategy* Model::distribute_strategy() const {
  return state_ ? state_->strategy.get() : nullptr;
}

bool Model::stop_training() const { return state().stop_training; }
void Model::set_stop_training(bool stop) const { state().stop_training = stop; }

std::vector<Tensor> Model::get_weights() const {
  std::vector<Tensor> out;
  for (const Variable& v : variables()) out.push_back(v.peek());
  return out;
}

void Model::set_weights(const std::vector<Tensor>& weights) const {
  std::vector<Variable> vars = variables();
  if (weights.size() != vars.size())
    throw InvalidArgumentError(str_cat("set_weights: the model has ",
                                       vars.size(),
                                       " variables but ",
                                       weights.size(),
                                       " values were given"));
  for (size_t i = 0; i < vars.size(); ++i)
    if (!(weights[i].shape() == vars[i].shape()) || weights[i].dtype() != vars[i].dtype())
      throw InvalidArgumentError(str_cat("set_weights: value ",
                                         i,
                                         " has shape ",
                                         weights[i].shape(),
                                         " and dtype ",
                                         weights[i].dtype(),
                                         " but variable '",
                                         vars[i].name(),
                                         "' has ",
                                         vars[i].shape(),
                                         " and ",
                                         vars[i].dtype()));
  for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(weights[i]);
}

Tensor Model::operator()(const Tensor& x, bool training) const {
  if (x.defined()) state().input_shape = x.shape();
  return layers::Layer::operator()(x, training);
}

void Model::build(const Shape& input_shape, DType dtype) const {
  layers::Layer::build(input_shape, dtype);
  state().input_shape = input_shape;
}

std::vector<layers::Layer> Model::layers() const {
  std::vector<layers::Layer> subs = checked_impl().sublayers();
  if (subs.empty()) subs.push_back(layers::Layer(impl()));
  return subs;
}

// ---- steps --------------------------------------------------------------------------------------

namespace {

void require_compiled(const Model& model,
                      bool needs_loss,
                      const std::shared_ptr<const losses::Loss>& loss) {
  if (!model.compiled())
    throw FailedPreconditionError(
        "You must call `compile()` before using the model (fit, evaluate, train_on_batch, "
        "test_on_batch)");
  if (needs_loss && !loss)
    throw FailedPreconditionError(
        "No loss to compute: the model was compiled without a loss (compile({.loss = ...}))");
}

// The batch's (x, y, sample_weight) from a dataset element.
struct Batch {
  Tensor x, y, w;
};

Batch unpack(const std::vector<Tensor>& element, const char* where) {
  if (element.size() < 2 || element.size() > 3)
    throw InvalidArgumentError(
        str_cat(where,
                ": dataset elements must be (x, y) or (x, y, sample_weight); "
                "got ",
                element.size(),
                " components"));
  return {element[0], element[1], element.size() == 3 ? element[2] : Tensor()};
}

}  // namespace

// One training step: exactly the hand-written loop, then the loss tracker and metrics. Under a
// strategy `b` is this replica's share of a global batch of `global_rows` rows (possibly none):
// a mean loss is scaled by the share's fraction of the global batch and the gradients summed
// over the replicas, which is the gradient of the mean over the whole global batch whatever
// the shares' sizes (TF's compute_average_loss; equal shares make it strategy.gradient MEAN).
static void train_step(const Model& model,
                       Model::State& s,
                       const Batch& b,
                       const std::map<int64_t, double>& class_weight,
                       const detail::Replicas& replicas,
                       int64_t global_rows) {
  const int64_t rows = b.x.shape()[0];
  Tensor y_pred, loss;
  {
    GradientTape tape;
    std::vector<Tensor> grads;
    std::vector<Variable> vars;
    if (replicas.on() && rows == 0) {
      // Nothing here (a last global batch of fewer rows than replicas), but the all-reduce
      // needs every replica: no gradient is reduced as zeros.
      vars = model.trainable_variables();
      grads =
          replicas.strategy().gradient(tape, zeros({}, float32), vars, distribute::ReduceOp::SUM);
    } else {
      y_pred = model(b.x, /*training=*/true);
      Tensor w = example_weights(b.y, class_weight, b.w, y_pred.dtype());
      loss = batch_loss(*s.loss, b.y, y_pred, w);
      vars = model.trainable_variables();
      if (replicas.on()) {
        Tensor target = loss;
        if (s.loss->reduction() == losses::Reduction::sum_over_batch_size && rows != global_rows)
          target = loss * (double(rows) / double(global_rows));
        grads = replicas.strategy().gradient(tape, target, vars, distribute::ReduceOp::SUM);
      } else {
        grads = tape.gradient(loss, vars);
      }
    }
    s.optimizer->apply_gradients(grads, vars);
  }
  if (rows == 0) return;
  const double n = double(rows);
  s.loss_total += loss_value(loss) * n;  // Keras weighs each batch's loss by its size
  s.loss_count += n;
  for (auto& m : s.metrics) m.update(b.y, y_pred);
}

static void test_step(const Model& model, Model::State& s, const Batch& b) {
  if (b.x.shape()[0] == 0) return;
  Tensor y_pred = model(b.x, /*training=*/false);
  Tensor w = example_weights(b.y, {}, b.w, y_pred.dtype());
  Tensor loss = batch_loss(*s.loss, b.y, y_pred, w);
  const double n = double(b.x.shape()[0]);
  s.loss_total += loss_value(loss) * n;
  s.loss_count += n;
  for (auto& m : s.metrics) m.update(b.y, y_pred);
}

namespace {

// Evaluates over `ds` with the test hooks; returns the logs. Under a strategy `ds` is this
// replica's part: the batch hooks see this replica's running values, the result is global.
Logs run_evaluation(const Model& model,
                    Model::State& s,
                    const data::Dataset& ds,
                    std::optional<int64_t> steps,
                    const CallbackList& cbs,
                    const detail::Replicas& replicas) {
  s.reset_metrics();
  Logs logs;
  for (const auto& c : cbs) c->on_test_begin(logs);
  int64_t step = 0;
  for (auto it = ds.begin(); it != ds.end(); ++it) {
    if (steps && step >= *steps) break;
    Batch b = unpack(*it, "evaluate");
    Logs batch_logs;
    for (const auto& c : cbs) c->on_test_batch_begin(step, batch_logs);
    test_step(model, s, b);
    logs = s.results();
    for (const auto& c : cbs) c->on_test_batch_end(step, logs);
    ++step;
  }
  logs = replicas.results(s);
  for (const auto& c : cbs) c->on_test_end(logs);
  return logs;
}

data::Dataset tensor_dataset(const Tensor& x, const Tensor& y, const Tensor& w) {
  std::vector<Tensor> components{x, y};
  if (w.defined()) components.push_back(w);
  return data::Dataset::from_tensor_slices(components);
}

int64_t steps_of(const data::Dataset& ds, std::optional<int64_t> steps) {
  int64_t n = ds.cardinality();
  return steps ? std::min(*steps, n) : n;
}

}  // namespace

// ---- fit ----------------------------------------------------------------------------------------

namespace {

struct FitData {
  data::Dataset train;
  bool repeat;  // tensors repeat to supply steps_per_epoch; a user's Dataset does not
  std::optional<data::Dataset> validation;
  // Under a strategy: the batches are global ones, of which each replica trains on its share
  // (tensors); otherwise each replica's own (a Dataset the user sharded).
  bool global_batches = false;
};

Tensor rows_or_all(const Tensor& t, int64_t begin, int64_t end) {
  if (!t.defined() || (begin == 0 && end == t.shape()[0])) return t;
  return slice_rows(t, begin, end);
}

// This replica's share of the rows of `t` (all of them without a strategy).
Tensor replica_rows(const Tensor& t, const detail::Replicas& replicas) {
  if (!t.defined() || !replicas.on()) return t;
  const auto [begin, end] = replicas.share(t.shape()[0]);
  return rows_or_all(t, begin, end);
}

// The chief's weights and optimizer state on every replica, before the first step: the model
// is built first (an inference call on this step's batch), as a plain fit builds it there.
void sync_replicas(const Model& model,
                   Model::State& s,
                   const detail::Replicas& replicas,
                   const Tensor& x) {
  if (!model.built()) model(x, /*training=*/false);
  replicas.broadcast_state(model, s);
}

History run_fit(const Model& model, Model& self, Model::State& s, FitData d, const FitOptions& o) {
  require_compiled(model, true, s.loss);
  check_verbose(o.verbose);
  if (o.epochs < 0)
    throw InvalidArgumentError(str_cat("`epochs` must be >= 0; received ", o.epochs));
  if (o.initial_epoch < 0)
    throw InvalidArgumentError(str_cat("`initial_epoch` must be >= 0; received ", o.initial_epoch));
  if (o.steps_per_epoch) check_positive("steps_per_epoch", *o.steps_per_epoch);
  if (o.validation_steps) check_positive("validation_steps", *o.validation_steps);
  if (o.validation_freq < 1)
    throw InvalidArgumentError(
        str_cat("`validation_freq` must be >= 1; received ", o.validation_freq));

  const detail::Replicas replicas(s);
  const int64_t steps = o.steps_per_epoch ? *o.steps_per_epoch : d.train.cardinality();
  History history;
  history.params = {
      {"epochs", double(o.epochs)}, {"steps", double(steps)}, {"verbose", double(o.verbose)}};
  CallbackList cbs = make_callbacks(o.callbacks, o.verbose, &self, history.params, replicas);
  auto history_cb = std::make_shared<HistoryCallback>(&history);
  history_cb->set_model(&self);
  history_cb->set_params(history.params);
  cbs.push_back(history_cb);

  s.stop_training = false;
  bool synced = false;  // this fit broadcast the chief's state
  Logs logs;
  for (const auto& c : cbs) c->on_train_begin(logs);
  std::optional<data::Dataset::Iterator> it;
  bool ran_out = false;
  for (int epoch = o.initial_epoch; epoch < o.epochs && !ran_out; ++epoch) {
    s.reset_metrics();
    Logs epoch_logs;
    for (const auto& c : cbs) c->on_epoch_begin(epoch, epoch_logs);
    if (!o.steps_per_epoch) it = d.train.begin();  // one pass per epoch
    int64_t step = 0;
    while (true) {
      // The next batch, if this epoch wants one and the data has one.
      std::optional<Batch> b;
      bool out_of_data = false;
      if (!o.steps_per_epoch || step < *o.steps_per_epoch) {
        if (!it) it = d.train.begin();
        if (*it == d.train.end() && o.steps_per_epoch) {
          if (d.repeat)
            it = d.train.begin();  // the next pass over the tensors (reshuffled)
          else
            out_of_data = true;
        }
        if (*it != d.train.end()) b = unpack(**it, "fit");
      }
      int64_t global_rows = b ? b->x.shape()[0] : 0;
      if (replicas.on()) {
        // Every replica takes the same step or none: a stop asked after the last batch on any
        // replica, or a replica without a batch, ends the epoch everywhere.
        const int64_t rows = b && !d.global_batches ? b->x.shape()[0] : 0;
        const std::vector<double> f = replicas.sum(
            {b ? 1.0 : 0.0, out_of_data ? 1.0 : 0.0, s.stop_training ? 1.0 : 0.0, double(rows)});
        if (f[2] > 0.0) {
          s.stop_training = true;
          break;
        }
        if (f[0] < double(replicas.size())) {
          if (f[0] > 0.0 && replicas.chief())
            std::cerr << "WARNING: the replicas' datasets have different numbers of batches; "
                         "the epoch ends at the shortest. Give every replica the same number "
                         "of batches (shard, then batch with drop_remainder).\n";
          b.reset();
          out_of_data = f[1] > 0.0;
        }
        if (b && !d.global_batches) global_rows = int64_t(f[3]);
      }
      if (!b) {
        if (out_of_data) {
          if (replicas.chief())
            std::cerr << "WARNING: Your input ran out of data; interrupting training. Make sure "
                         "that your dataset can generate at least `steps_per_epoch * epochs` "
                         "batches.\n";
          ran_out = true;
        }
        break;
      }
      if (replicas.on() && d.global_batches) {
        const auto [begin, end] = replicas.share(global_rows);
        b = Batch{rows_or_all(b->x, begin, end),
                  rows_or_all(b->y, begin, end),
                  rows_or_all(b->w, begin, end)};
      }
      if (replicas.on() && !synced) {
        sync_replicas(model, s, replicas, b->x);
        synced = true;
      }
      Logs batch_logs;
      for (const auto& c : cbs) c->on_train_batch_begin(step, batch_logs);
      train_step(model, s, *b, o.class_weight, replicas, global_rows);
      ++*it;
      logs = replicas.results(s);
      for (const auto& c : cbs) c->on_train_batch_end(step, logs);
      ++step;
      if (s.stop_training && !replicas.on()) break;
    }
    if (step == 0 && !ran_out && !s.stop_training)
      throw InvalidArgumentError("fit: the training data is empty (no batch in an epoch)");
    epoch_logs = replicas.results(s);
    if (d.validation && (epoch + 1) % o.validation_freq == 0) {
      Logs val = run_evaluation(model, s, *d.validation, o.validation_steps, cbs, replicas);
      for (const auto& [k, v] : val) epoch_logs["val_" + k] = v;
    }
    for (const auto& c : cbs) c->on_epoch_end(epoch, epoch_logs);
    logs = epoch_logs;
    if (replicas.on()) s.stop_training = replicas.any(s.stop_training);
    if (s.stop_training) break;
  }
  for (const auto& c : cbs) c->on_train_end(logs);
  return history;
}

}  // namespace

History Model::fit(const Tensor& x, const Tensor& y, FitOptions options) const {
  State& s = state();
  require_compiled(*this, true, s.loss);
  check_cardinality(x, y, options.sample_weight);
  check_positive("batch_size", options.batch_size);
  const double split = options.validation_split;
  if (!(split >= 0.0 && split < 1.0))
    throw InvalidArgumentError(str_cat("`validation_split` must be in [0, 1); received ", split));
  const int64_t n = x.shape()[0];
  const detail::Replicas replicas(s);
  replicas.check_same_rows("fit", n);
  Tensor xt = x, yt = y, wt = options.sample_weight;
  std::optional<data::Dataset> validation;
  if (split > 0.0 && options.validation_data.empty()) {
    // Keras: the last fraction of the rows, before any shuffling.
    const auto split_at = int64_t(std::floor(double(n) * (1.0 - split)));
    if (split_at == 0 || split_at == n)
      throw InvalidArgumentError(str_cat("Training data contains ",
                                         n,
                                         " samples, which is not sufficient to split it into a "
                                         "validation and training set as specified by "
                                         "`validation_split=",
                                         split,
                                         "`. Either provide more data, or a different value for "
                                         "the `validation_split` argument."));
    // Under a strategy every replica validates on its share of those rows.
    Tensor wv = wt.defined() ? slice_rows(wt, split_at, n) : Tensor();
    validation = tensor_dataset(replica_rows(slice_rows(x, split_at, n), replicas),
                                replica_rows(slice_rows(y, split_at, n), replicas),
                                replica_rows(wv, replicas))
                     .batch(options.validation_batch_size.value_or(options.batch_size));
    xt = slice_rows(x, 0, split_at);
    yt = slice_rows(y, 0, split_at);
    if (wt.defined()) wt = slice_rows(wt, 0, split_at);
  }
  if (!options.validation_data.empty()) {
    const ValidationData& v = options.validation_data;
    if (v.dataset()) {
      validation = *v.dataset();
    } else {
      check_cardinality(v.x(), v.y(), Tensor());
      validation =
          tensor_dataset(replica_rows(v.x(), replicas), replica_rows(v.y(), replicas), Tensor())
              .batch(options.validation_batch_size.value_or(options.batch_size));
    }
  }
  if (xt.shape()[0] == 0) throw InvalidArgumentError("fit: x and y have no rows");
  data::Dataset train = tensor_dataset(xt, yt, wt);
  if (options.shuffle) {
    uint64_t seed =
        options.seed
            ? *options.seed
            : uint64_t(random::uniform({}, 0.0, 9007199254740992.0, float64).item<double>());
    // Every replica shuffles alike (the chief's seed), so the global batches are one sequence.
    if (replicas.on() && !options.seed) seed = replicas.chief_seed(seed);
    train = train.shuffle(xt.shape()[0], seed);
  }
  // Under a strategy batch_size is per replica: global batches of batch_size * replicas rows,
  // each replica training on its share of each (run_fit), the rows of one process's batches.
  train = train.batch(options.batch_size * replicas.size());
  Model self = *this;
  return run_fit(*this, self, s, {train, true, validation, replicas.on()}, options);
}

History Model::fit(const data::Dataset& dataset, FitOptions options) const {
  State& s = state();
  require_compiled(*this, true, s.loss);
  if (options.validation_split != 0.0)
    throw InvalidArgumentError(
        "`validation_split` is only supported for tensors, not for a Dataset; use "
        "validation_data");
  if (!options.class_weight.empty() || options.sample_weight.defined()) {
    if (options.sample_weight.defined())
      throw InvalidArgumentError(
          "`sample_weight` is not supported for a Dataset; make it the dataset's third "
          "component");
  }
  std::optional<data::Dataset> validation;
  const ValidationData& v = options.validation_data;
  if (v.dataset()) {
    validation = *v.dataset();
  } else if (!v.empty()) {
    check_cardinality(v.x(), v.y(), Tensor());
    const detail::Replicas replicas(s);
    validation =
        tensor_dataset(replica_rows(v.x(), replicas), replica_rows(v.y(), replicas), Tensor())
            .batch(options.validation_batch_size.value_or(options.batch_size));
  }
  Model self = *this;
  return run_fit(*this, self, s, {dataset, false, validation}, options);
}

// ---- evaluate, predict, single batches ----------------------------------------------------------

std::map<std::string, double> Model::evaluate(const Tensor& x,
                                              const Tensor& y,
                                              EvaluateOptions options) const {
  check_cardinality(x, y, options.sample_weight);
  check_positive("batch_size", options.batch_size);
  // Under a strategy each replica evaluates its share of the rows; evaluate adds them up.
  const detail::Replicas replicas(state());
  replicas.check_same_rows("evaluate", x.shape()[0]);
  Tensor w = replica_rows(options.sample_weight, replicas);
  return evaluate(tensor_dataset(replica_rows(x, replicas), replica_rows(y, replicas), w)
                      .batch(options.batch_size),
                  std::move(options));
}

std::map<std::string, double> Model::evaluate(const data::Dataset& dataset,
                                              EvaluateOptions options) const {
  State& s = state();
  require_compiled(*this, true, s.loss);
  check_verbose(options.verbose);
  if (options.steps) check_positive("steps", *options.steps);
  Model self = *this;
  const detail::Replicas replicas(s);
  CallbackList cbs = make_callbacks(
      options.callbacks,
      options.verbose,
      &self,
      {{"steps", double(steps_of(dataset, options.steps))}, {"verbose", double(options.verbose)}},
      replicas);
  return run_evaluation(*this, s, dataset, options.steps, cbs, replicas);
}

Tensor Model::predict(const Tensor& x, PredictOptions options) const {
  rows_of("x", x);
  check_positive("batch_size", options.batch_size);
  check_verbose(options.verbose);
  if (options.steps) check_positive("steps", *options.steps);
  const int64_t n = x.shape()[0];
  if (n == 0) throw InvalidArgumentError("predict: x has no rows");
  Model self = *this;
  int64_t total = (n + options.batch_size - 1) / options.batch_size;
  if (options.steps) total = std::min(total, *options.steps);
  CallbackList cbs =
      make_callbacks(options.callbacks,
                     options.verbose,
                     &self,
                     {{"steps", double(total)}, {"verbose", double(options.verbose)}},
                     detail::Replicas(distribute_strategy()));
  Logs logs;
  for (const auto& c : cbs) c->on_predict_begin(logs);
  std::vector<Tensor> outputs;
  for (int64_t step = 0; step < total; ++step) {
    const int64_t begin = step * options.batch_size;
    const int64_t end = std::min(n, begin + options.batch_size);
    Logs batch_logs;
    for (const auto& c : cbs) c->on_predict_batch_begin(step, batch_logs);
    // A batch that is the whole input is passed as is, so predict(x) is exactly model(x).
    outputs.push_back((*this)(begin == 0 && end == n ? x : slice_rows(x, begin, end), false));
    for (const auto& c : cbs) c->on_predict_batch_end(step, batch_logs);
  }
  for (const auto& c : cbs) c->on_predict_end(logs);
  return outputs.size() == 1 ? outputs[0] : concat(outputs, 0);
}

Tensor Model::predict(const data::Dataset& dataset, PredictOptions options) const {
  check_verbose(options.verbose);
  if (options.steps) check_positive("steps", *options.steps);
  Model self = *this;
  CallbackList cbs = make_callbacks(
      options.callbacks,
      options.verbose,
      &self,
      {{"steps", double(steps_of(dataset, options.steps))}, {"verbose", double(options.verbose)}},
      detail::Replicas(distribute_strategy()));
  Logs logs;
  for (const auto& c : cbs) c->on_predict_begin(logs);
  std::vector<Tensor> outputs;
  int64_t step = 0;
  for (auto it = dataset.begin(); it != dataset.end(); ++it) {
    if (options.steps && step >= *options.steps) break;
    if (it->empty()) throw InvalidArgumentError("predict: a dataset element has no components");
    Logs batch_logs;
    for (const auto& c : cbs) c->on_predict_batch_begin(step, batch_logs);
    outputs.push_back((*this)((*it)[0], false));
    for (const auto& c : cbs) c->on_predict_batch_end(step, batch_logs);
    ++step;
  }
  for (const auto& c : cbs) c->on_predict_end(logs);
  if (outputs.empty()) throw InvalidArgumentError("predict: the dataset is empty");
  return outputs.size() == 1 ? outputs[0] : concat(outputs, 0);
}

std::map<std::string, double> Model::train_on_batch(const Tensor& x,
                                                    const Tensor& y,
                                                    BatchOptions options) const {
  State& s = state();
  require_compiled(*this, true, s.loss);
  check_cardinality(x, y, options.sample_weight);
  if (options.reset_metrics) s.reset_metrics();
  // Under a strategy x and y are this replica's part of the global batch.
  const detail::Replicas replicas(s);
  int64_t global_rows = x.shape()[0];
  if (replicas.on()) {
    if (!s.replicas_synced) sync_replicas(*this, s, replicas, x);
    global_rows = int64_t(replicas.sum({double(x.shape()[0])})[0]);
  }
  train_step(*this, s, {x, y, options.sample_weight}, options.class_weight, replicas, global_rows);
  return replicas.results(s);
}

std::map<std::string, double> Model::test_on_batch(const Tensor& x,
                                                   const Tensor& y,
                                                   BatchOptions options) const {
  State& s = state();
  require_compiled(*this, true, s.loss);
  check_cardinality(x, y, options.sample_weight);
  if (!options.class_weight.empty())
    throw InvalidArgumentError("test_on_batch: class_weight applies to training only");
  if (options.reset_metrics) s.reset_metrics();
  test_step(*this, s, {x, y, options.sample_weight});
  return detail::Replicas(s).results(s);
}

Tensor Model::predict_on_batch(const Tensor& x) const {
  rows_of("x", x);
  return (*this)(x, false);
}

}  // namespace tapeflow
