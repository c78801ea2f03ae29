#pragma once

// tf::Model: Keras' compile / fit / evaluate / predict over any layer, with callbacks.
//
//   tf::Model model(tf::layers::Sequential({tf::layers::Dense(64, "relu"),
//   tf::layers::Dense(10)})); model.compile({.optimizer = tf::optimizers::Adam(),
//                  .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
//                  .metrics = {"accuracy"}});
//   tf::History h = model.fit(x, y, {.batch_size = 64, .epochs = 5, .validation_split = 0.1});
//
// Each training step is exactly the hand-written GradientTape loop (docs/training.md), so fit
// and that loop give the same weights, bit for bit.

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapeflow/data.hpp"
#include "tapeflow/export.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/losses.hpp"
#include "tapeflow/optimizers.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow {

namespace distribute {
class MultiWorkerMirroredStrategy;
}

class Model;

/// Keras' logs: metric name ("loss", "accuracy", "val_loss", ...) → value.
using Logs = std::map<std::string, double>;

/// Per-example values of (y_true, y_pred): a loss or a metric given as a function.
using PerExampleFn = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;

/// The optimizer given to compile: a name ("sgd", "adam", "adamw", "rmsprop", "adagrad", with
/// Keras' defaults), an optimizer object (copied), or a shared_ptr to one (shared with the caller).
class TAPEFLOW_API OptimizerSpec {
 public:
  OptimizerSpec(const char* name);  // NOLINT(google-explicit-constructor)
  OptimizerSpec(std::string name);  // NOLINT(google-explicit-constructor)
  template <std::derived_from<optimizers::Optimizer> O>
  OptimizerSpec(O optimizer)  // NOLINT(google-explicit-constructor)
      : optimizer_(std::make_shared<O>(std::move(optimizer))) {}
  template <std::derived_from<optimizers::Optimizer> O>
  OptimizerSpec(std::shared_ptr<O> optimizer)  // NOLINT(google-explicit-constructor)
      : optimizer_(std::move(optimizer)) {}

  /// The optimizer (created from the name on the first call; InvalidArgumentError if unknown).
  std::shared_ptr<optimizers::Optimizer> resolve() const;

 private:
  std::string name_;
  std::shared_ptr<optimizers::Optimizer> optimizer_;
};

/// The loss given to compile: a name ("mse" / "mean_squared_error", "binary_crossentropy",
/// "sparse_categorical_crossentropy"), a loss object (copied), or a named per-example function
/// (reduced as Keras' sum_over_batch_size).
class TAPEFLOW_API LossSpec {
 public:
  LossSpec() = default;
  LossSpec(const char* name);  // NOLINT(google-explicit-constructor)
  LossSpec(std::string name);  // NOLINT(google-explicit-constructor)
  LossSpec(std::string name, PerExampleFn per_example);
  template <std::derived_from<losses::Loss> L>
  LossSpec(L loss)  // NOLINT(google-explicit-constructor)
      : loss_(std::make_shared<L>(std::move(loss))) {}
  template <std::derived_from<losses::Loss> L>
  LossSpec(std::shared_ptr<L> loss)  // NOLINT(google-explicit-constructor)
      : loss_(std::move(loss)) {}

  bool defined() const { return loss_ || fn_ || !name_.empty(); }
  /// The loss object (InvalidArgumentError for an unknown name).
  std::shared_ptr<const losses::Loss> resolve() const;

 private:
  std::string name_;
  PerExampleFn fn_;
  std::shared_ptr<const losses::Loss> loss_;
};

/// Anything with Keras' stateful-metric interface, e.g. tf::metrics::SparseCategoricalAccuracy.
template <class M>
concept StatefulMetric = requires(M& m, const Tensor& t) {
  m.update_state(t, t);
  { m.result() } -> std::convertible_to<Tensor>;
  m.reset_state();
  { m.name() } -> std::convertible_to<std::string>;
};

/// A metric given to compile: a name ("accuracy" / "acc", "sparse_categorical_accuracy",
/// "categorical_accuracy", "binary_accuracy", "mse" / "mean_squared_error", "mae" /
/// "mean_absolute_error"), a stateful metric object (copied), or a named per-example function
/// (averaged over the epoch). The logs use the name given ("accuracy", "mse").
class TAPEFLOW_API MetricSpec {
 public:
  /// The type-erased metric Model uses: update with a batch, read the value, reset.
  struct Ops {
    std::string name;
    std::function<void(const Tensor& y_true, const Tensor& y_pred)> update;
    std::function<double()> result;
    std::function<void()> reset;
    /// Optional: the running (sum, count) whose ratio is result(), which replicas add up under
    /// tf::distribute. Unset: result() is taken to be a mean over the examples seen.
    std::function<std::pair<double, double>()> totals{};
  };

  MetricSpec(const char* name);  // NOLINT(google-explicit-constructor)
  MetricSpec(std::string name);  // NOLINT(google-explicit-constructor)
  MetricSpec(std::string name, PerExampleFn per_example);
  template <StatefulMetric M>
  MetricSpec(M metric) {  // NOLINT(google-explicit-constructor)
    auto m = std::make_shared<M>(std::move(metric));
    ops_ = Ops{std::string(m->name()),
               [m](const Tensor& t, const Tensor& p) { m->update_state(t, p); },
               [m] { return Tensor(m->result()).template item<float>(); },
               [m] { m->reset_state(); },
               {}};
  }

  const std::string& name() const { return name_; }
  /// Given by name only (so a saved model can name it again), not as an object or function.
  bool by_name() const { return !fn_ && !ops_; }
  /// The metric, given the compiled loss ("accuracy" picks sparse / binary / categorical
  /// accuracy from it, as Keras). InvalidArgumentError for an unknown name.
  Ops resolve(const losses::Loss* loss) const;

 private:
  std::string name_;
  PerExampleFn fn_;
  std::optional<Ops> ops_;
};

/// The strategy given to compile (TF: building and compiling the model inside strategy.scope()):
/// a reference (not owned: the strategy must outlive every fit / evaluate / train_on_batch call)
/// or a shared_ptr (shared with the caller). Empty: one process, as without tf::distribute.
class TAPEFLOW_API StrategySpec {
 public:
  using Strategy = distribute::MultiWorkerMirroredStrategy;
  /// No strategy: one process.
  StrategySpec() = default;
  /// The strategy, not owned.
  StrategySpec(Strategy& strategy)  // NOLINT(google-explicit-constructor)
      : strategy_(&strategy) {}
  /// The strategy, shared.
  StrategySpec(std::shared_ptr<Strategy> strategy)  // NOLINT(google-explicit-constructor)
      : owner_(std::move(strategy)), strategy_(owner_.get()) {}
  /// The strategy, or nullptr.
  Strategy* get() const { return strategy_; }

 private:
  std::shared_ptr<Strategy> owner_;
  Strategy* strategy_ = nullptr;
};

struct CompileOptions {
  OptimizerSpec optimizer = "rmsprop";
  LossSpec loss{};
  std::vector<MetricSpec> metrics{};
  /// tapeflow is eager: false is an UnimplementedError.
  bool run_eagerly = true;
  /// Train data-parallel under this strategy (docs/distributed.md, "Model::fit"): fit's
  /// batch_size is then the per-replica batch, tensors are split by rows across the replicas
  /// (a Dataset is this replica's shard already), gradients are averaged over the global batch,
  /// the chief's weights and optimizer state are broadcast before the first step, the logs are
  /// global, and file-writing callbacks run on the chief only.
  StrategySpec distribute{};
};

namespace callbacks {

/// Base of the callbacks (tf.keras.callbacks.Callback). Override the hooks you need; `logs`
/// holds the running values ("loss", metrics) in batch hooks and the epoch's values (with
/// "val_" ones) in on_epoch_end, where a callback may add entries (e.g. "lr") for those after it.
class TAPEFLOW_API Callback {
 public:
  virtual ~Callback();
  /// Called by fit / evaluate / predict before the first hook.
  virtual void set_model(Model* model) { model_ = model; }
  /// "epochs", "steps" (batches per epoch) and "verbose", set before the first hook.
  virtual void set_params(const std::map<std::string, double>& params) { params_ = params; }
  const std::map<std::string, double>& params() const { return params_; }

  virtual void on_train_begin(Logs& logs);
  virtual void on_train_end(Logs& logs);
  virtual void on_epoch_begin(int epoch, Logs& logs);
  virtual void on_epoch_end(int epoch, Logs& logs);
  virtual void on_train_batch_begin(int64_t batch, Logs& logs);
  virtual void on_train_batch_end(int64_t batch, Logs& logs);
  virtual void on_test_begin(Logs& logs);
  virtual void on_test_end(Logs& logs);
  virtual void on_test_batch_begin(int64_t batch, Logs& logs);
  virtual void on_test_batch_end(int64_t batch, Logs& logs);
  virtual void on_predict_begin(Logs& logs);
  virtual void on_predict_end(Logs& logs);
  virtual void on_predict_batch_begin(int64_t batch, Logs& logs);
  virtual void on_predict_batch_end(int64_t batch, Logs& logs);

  /// Under a tf::distribute strategy, whether the chief alone runs this callback (the other
  /// replicas skip it): true for those that write files or print (ProgbarLogger, CSVLogger,
  /// ModelCheckpoint, TensorBoard). Every other callback runs on every replica, on global logs.
  virtual bool chief_only() const { return false; }

 protected:
  /// The model being trained (FailedPreconditionError outside fit / evaluate / predict).
  Model& model() const;

  /// Whether model() may be called (set_model was given a model).
  bool has_model() const { return model_ != nullptr; }

 private:
  Model* model_ = nullptr;
  std::map<std::string, double> params_;
};

/// A callback in FitOptions::callbacks: a callback object (copied; the library's callbacks
/// share their state between copies, so the caller's object sees e.g. stopped_epoch()) or a
/// shared_ptr to one.
class TAPEFLOW_API CallbackRef {
 public:
  template <std::derived_from<Callback> C>
  CallbackRef(C callback)  // NOLINT(google-explicit-constructor)
      : callback_(std::make_shared<C>(std::move(callback))) {}
  template <std::derived_from<Callback> C>
  CallbackRef(std::shared_ptr<C> callback)  // NOLINT(google-explicit-constructor)
      : callback_(std::move(callback)) {}
  Callback& operator*() const { return *callback_; }
  Callback* operator->() const { return callback_.get(); }
  const std::shared_ptr<Callback>& get() const { return callback_; }

 private:
  std::shared_ptr<Callback> callback_;
};

}  // namespace callbacks

/// What fit returns (Keras' History): the epoch logs, one value per epoch trained.
struct History {
  std::map<std::string, std::vector<double>> history;
  /// The epochs trained (initial_epoch, initial_epoch + 1, ...).
  std::vector<int> epoch;
  /// "epochs", "steps" (per epoch) and "verbose".
  std::map<std::string, double> params;
};

/// fit's validation data: (x, y), or a Dataset of (x, y) batches; empty by default.
class TAPEFLOW_API ValidationData {
 public:
  ValidationData() = default;
  ValidationData(Tensor x, Tensor y) : x_(std::move(x)), y_(std::move(y)) {}
  ValidationData(data::Dataset dataset)  // NOLINT(google-explicit-constructor)
      : dataset_(std::move(dataset)) {}
  bool empty() const { return !x_.defined() && !dataset_; }
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }
  const std::optional<data::Dataset>& dataset() const { return dataset_; }

 private:
  Tensor x_, y_;
  std::optional<data::Dataset> dataset_;
};

struct FitOptions {
  /// Ignored for a Dataset, which is batched already.
  int64_t batch_size = 32;
  int epochs = 1;
  /// 0 silent, 1 progress bar, 2 one line per epoch.
  int verbose = 1;
  /// The last fraction of x and y (taken before shuffling) is held out for validation.
  double validation_split = 0.0;
  /// Overrides validation_split.
  ValidationData validation_data{};
  /// Reshuffle the training rows every epoch (tensors only; shuffle a Dataset yourself).
  bool shuffle = true;
  /// The shuffle seed; unset: drawn from tf::random's global generator.
  std::optional<uint64_t> seed{};
  /// Class index → weight of each example of that class in the loss (labels [N], [N, 1] or
  /// one-hot [N, C]). Classes not listed weigh 1.
  std::map<int64_t, double> class_weight{};
  /// One weight per training example [N] (multiplied with class_weight).
  Tensor sample_weight{};
  /// The epoch to start at (resuming): epochs initial_epoch .. epochs - 1 are trained.
  int initial_epoch = 0;
  /// Batches per epoch. Tensors are repeated to supply them; a Dataset that runs out stops
  /// training, as Keras.
  std::optional<int64_t> steps_per_epoch{};
  std::optional<int64_t> validation_steps{};
  std::optional<int64_t> validation_batch_size{};
  /// Validate after every validation_freq-th epoch.
  int validation_freq = 1;
  std::vector<callbacks::CallbackRef> callbacks{};
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  int verbose = 1;
  Tensor sample_weight{};
  std::optional<int64_t> steps{};
  std::vector<callbacks::CallbackRef> callbacks{};
};

struct PredictOptions {
  int64_t batch_size = 32;
  int verbose = 0;
  std::optional<int64_t> steps{};
  std::vector<callbacks::CallbackRef> callbacks{};
};

struct BatchOptions {
  Tensor sample_weight{};
  std::map<int64_t, double> class_weight{};
  /// Reset the metrics first, so the result is this batch's alone (Keras' default).
  bool reset_metrics = true;
};

struct SaveOptions {
  /// Also save the optimizer's state (slots, iterations) and the compile config, so that the
  /// loaded model trains on as if it had never stopped.
  bool include_optimizer = true;
};

/// Keras' Model over any layer (a Sequential or a user-defined model). A shared handle, and a
/// Layer itself: it can be called, checkpointed (tf::train::Checkpoint) and nested.
class TAPEFLOW_API Model : public layers::Layer {
 public:
  /// The undefined model.
  Model() = default;
  explicit Model(const layers::Layer& layer);

  /// Sets the optimizer, loss and metrics (again: replaces them and resets the metrics).
  void compile(CompileOptions options) const;
  bool compiled() const;

  /// Trains on x [N, ...] and y [N, ...]. Needs compile() first (FailedPreconditionError).
  History fit(const Tensor& x, const Tensor& y, FitOptions options = {}) const;
  /// Trains on a Dataset of (x, y) or (x, y, sample_weight) batches.
  History fit(const data::Dataset& dataset, FitOptions options = {}) const;

  /// The loss and metrics over x, y (inference mode), e.g. {"accuracy": .., "loss": ..}.
  std::map<std::string, double> evaluate(const Tensor& x,
                                         const Tensor& y,
                                         EvaluateOptions options = {}) const;
  std::map<std::string, double> evaluate(const data::Dataset& dataset,
                                         EvaluateOptions options = {}) const;

  /// The model's outputs in batches (inference mode, no tape), concatenated.
  Tensor predict(const Tensor& x, PredictOptions options = {}) const;
  /// Over a Dataset whose first component is the input.
  Tensor predict(const data::Dataset& dataset, PredictOptions options = {}) const;

  /// One training step on one batch; returns "loss" and the metrics.
  std::map<std::string, double> train_on_batch(const Tensor& x,
                                               const Tensor& y,
                                               BatchOptions options = {}) const;
  /// The loss and metrics of one batch in inference mode.
  std::map<std::string, double> test_on_batch(const Tensor& x,
                                              const Tensor& y,
                                              BatchOptions options = {}) const;
  Tensor predict_on_batch(const Tensor& x) const;

  /// Calls the model and remembers the input shape (for summary()).
  Tensor operator()(const Tensor& x, bool training = false) const;
  /// Builds the weights for inputs of `input_shape` (its first axis is the batch).
  void build(const Shape& input_shape, DType dtype = float32) const;

  /// Prints Keras' table: each layer's name and type, output shape and parameter count, then
  /// the totals. FailedPreconditionError before the model is built.
  void summary() const;
  void summary(std::ostream& out) const;

  /// The layers summary() lists: a Sequential's layers, else the wrapped layer's sublayers
  /// (or the layer itself when it has none).
  std::vector<layers::Layer> layers() const;
  /// The compiled optimizer (FailedPreconditionError before compile).
  optimizers::Optimizer& optimizer() const;
  /// "loss" followed by the compiled metrics' names.
  std::vector<std::string> metrics_names() const;
  /// The strategy given to compile (CompileOptions::distribute), or nullptr.
  distribute::MultiWorkerMirroredStrategy* distribute_strategy() const;

  /// Set by a callback to end fit after the current batch (Keras' model.stop_training).
  bool stop_training() const;
  void set_stop_training(bool stop) const;

  /// Writes the whole model to one safetensors file, atomically: the weights, the architecture
  /// (every layer's class name, config and sublayers, as JSON in the metadata) and, if compiled
  /// and include_optimizer, the optimizer state and compile config. Needs a built model
  /// (FailedPreconditionError). File format: docs/checkpoints.md.
  void save(const std::string& path, SaveOptions options = {}) const;

  /// Copies of every variable's value (trainable first), and their assignment back.
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& weights) const;

  /// The compiled state (opaque; defined in src/nn/model_state.hpp).
  struct State;
  State& state() const;

 private:
  std::shared_ptr<State> state_;
};

namespace models {

struct LoadOptions {
  /// Compile the model with the saved compile config and restore the optimizer state (when the
  /// file has them); otherwise the model comes back uncompiled.
  bool compile = true;
};

/// Rebuilds a model saved by Model::save with no code of the program that saved it: built-in
/// layers, and user layers registered with tf::layers::register_layer (NotFoundError naming
/// the first one that is not). A damaged file is a DataLossError, one from a newer format an
/// UnimplementedError; nothing is returned unless everything loaded.
TAPEFLOW_API Model load_model(const std::string& path, LoadOptions options = {});

/// The newest format version Model::save writes and load_model reads ("model_format_version"
/// in the metadata). A file gets the oldest version that describes it: 2 only when a layer was
/// built from a list of inputs (its build_config lists "input_shapes"), else 1.
inline constexpr int kModelFormatVersion = 2;

}  // namespace models

}  // namespace tapeflow

#include "tapeflow/callbacks.hpp"  // IWYU pragma: export
