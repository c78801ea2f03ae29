#pragma once

// tf::callbacks: Keras' callbacks for Model::fit / evaluate / predict. Included by model.hpp.
// Each library callback is a cheap handle: copies (the one FitOptions::callbacks keeps) share
// state, so the caller's object reports e.g. EarlyStopping::stopped_epoch() after fit.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "tapeflow/export.hpp"
#include "tapeflow/model.hpp"

namespace tapeflow::callbacks {

struct LambdaCallbackOptions {
  std::function<void(int epoch, Logs& logs)> on_epoch_begin{};
  std::function<void(int epoch, Logs& logs)> on_epoch_end{};
  /// Keras' on_batch_begin / on_batch_end: the training batches.
  std::function<void(int64_t batch, Logs& logs)> on_batch_begin{};
  std::function<void(int64_t batch, Logs& logs)> on_batch_end{};
  std::function<void(Logs& logs)> on_train_begin{};
  std::function<void(Logs& logs)> on_train_end{};
};

/// Calls the given functions from the matching hooks (tf.keras.callbacks.LambdaCallback).
class TAPEFLOW_API LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackOptions options);
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_batch_begin(int64_t batch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;

 private:
  LambdaCallbackOptions options_;
};

/// Keras' progress bar: "Epoch 1/5", then `12/12 [====>....] - ETA: 1s - loss: 0.6931 - ...`
/// redrawn on a terminal (elsewhere only each epoch's final line), or with verbose = 2 one line
/// per epoch. fit / evaluate add one themselves when their verbose is not 0.
class TAPEFLOW_API ProgbarLogger : public Callback {
 public:
  bool chief_only() const override { return true; }
  /// `out` must outlive the callback.
  explicit ProgbarLogger(int verbose = 1, std::ostream* out = nullptr);
  void on_train_begin(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_test_begin(Logs& logs) override;
  void on_test_batch_end(int64_t batch, Logs& logs) override;
  void on_test_end(Logs& logs) override;
  void on_predict_begin(Logs& logs) override;
  void on_predict_batch_end(int64_t batch, Logs& logs) override;
  void on_predict_end(Logs& logs) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Stops training when the loss becomes NaN or infinite (after that batch).
class TAPEFLOW_API TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int64_t batch, Logs& logs) override;
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  /// An improvement is a change of more than min_delta (its sign is ignored).
  double min_delta = 0.0;
  /// Epochs without improvement before training stops.
  int patience = 0;
  int verbose = 0;
  /// "min", "max", or "auto" (max for names ending in "acc"/"accuracy"/"auc", else min).
  std::string mode = "auto";
  /// Training stops unless the monitored value beats this within `patience` epochs.
  std::optional<double> baseline{};
  /// At the stop, the weights of the best epoch are put back.
  bool restore_best_weights = false;
  /// Epochs to wait before counting (warm-up).
  int start_from_epoch = 0;
};

/// Stops training when the monitored value stops improving (tf.keras.callbacks.EarlyStopping).
class TAPEFLOW_API EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// The epoch (0-based) at which training was stopped; 0 if it was not.
  int stopped_epoch() const;
  /// The best epoch so far (0-based) and its monitored value.
  int best_epoch() const;
  double best() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Sets the optimizer's learning rate at the start of each epoch to schedule(epoch, current lr),
/// and logs it as "lr". Not for an optimizer whose rate is a schedule (it is replaced).
class TAPEFLOW_API LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int epoch, double lr)> schedule,
                                 int verbose = 0);
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
  int verbose_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  /// new lr = lr * factor (< 1).
  double factor = 0.1;
  int patience = 10;
  int verbose = 0;
  /// "min", "max" or "auto" (max when the name contains "acc").
  std::string mode = "auto";
  double min_delta = 1e-4;
  /// Epochs after a reduction before counting again.
  int cooldown = 0;
  double min_lr = 0.0;
};

/// Multiplies the learning rate by `factor` when the monitored value has not improved for
/// `patience` epochs (tf.keras.callbacks.ReduceLROnPlateau); logs it as "lr".
class TAPEFLOW_API ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Writes each epoch's logs to a CSV file: a header "epoch,<keys sorted>", then one row per epoch.
class TAPEFLOW_API CSVLogger : public Callback {
 public:
  bool chief_only() const override { return true; }
  explicit CSVLogger(std::string filename, std::string separator = ",", bool append = false);
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

struct ModelCheckpointOptions {
  /// May hold "{epoch}", "{epoch:02d}" (1-based) and log values such as "{val_loss:.2f}".
  /// A trailing ".safetensors" is optional.
  std::string filepath;
  std::string monitor = "val_loss";
  int verbose = 0;
  /// Save only when the monitored value improves on the best so far.
  bool save_best_only = false;
  /// Only the model's variables; otherwise the whole model (Model::save: architecture,
  /// optimizer state and compile config too).
  bool save_weights_only = false;
  /// "min", "max" or "auto" (max for names containing "acc").
  std::string mode = "auto";
  /// Save every save_freq batches instead of every epoch.
  std::optional<int64_t> save_freq{};
};

/// Saves the model after each epoch (or the best one): with save_weights_only, a
/// tf::train::Checkpoint of {"model"}; otherwise model.save (load with tf::models::load_model),
/// a file that also restores as `tf::train::Checkpoint({}, {{"model", model}, {"optimizer",
/// model.optimizer()}})`.
class TAPEFLOW_API ModelCheckpoint : public Callback {
 public:
  bool chief_only() const override { return true; }
  explicit ModelCheckpoint(ModelCheckpointOptions options);
  void on_train_begin(Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// The path of the last file written ("" if none).
  std::string last_saved() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

struct TensorBoardOptions {
  std::string log_dir = "logs";
  /// Weight histograms every histogram_freq epochs (0: none).
  int histogram_freq = 0;
  /// Also write "batch_<name>" scalars every update_freq training batches.
  std::optional<int64_t> update_freq{};
};

/// TensorBoard scalars: "epoch_<name>" per epoch in <log_dir>/train (and the "val_" values,
/// without the prefix, in <log_dir>/validation), as Keras.
class TAPEFLOW_API TensorBoard : public Callback {
 public:
  bool chief_only() const override { return true; }
  explicit TensorBoard(TensorBoardOptions options = {});
  void on_train_begin(Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tapeflow::callbacks
