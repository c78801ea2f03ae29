// tf::callbacks: Keras' callbacks, written against the public Model, checkpoint and summary APIs.
// Each one's decisions follow keras/callbacks.py (TF 2.x); the comments say where they differ.
#include "tapeflow/callbacks.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "core/fail.hpp"
#include "tapeflow/checkpoint.hpp"
#include "tapeflow/summary.hpp"

namespace tapeflow::callbacks {

using tapeflow::detail::str_cat;

namespace {

// "min" or "max" for a monitored name: Keras' "auto" maximises accuracies (and AUC).
bool maximize(const std::string& mode, const std::string& monitor, const char* callback) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  if (mode != "auto")
    throw InvalidArgumentError(
        str_cat(callback, ": mode must be \"auto\", \"min\" or \"max\"; received \"", mode, "\""));
  return monitor.find("acc") != std::string::npos || monitor.ends_with("auc");
}

// Python's repr of a float (shortest round trip, "1.0" rather than "1"), as Keras' CSV rows.
std::string python_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Keras' Progbar value format.
std::string progbar_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, std::abs(v) > 1e-3 ? "%.4f" : "%.4e", v);
  return buf;
}

}  // namespace

// ---- LambdaCallback, TerminateOnNaN -------------------------------------------------------------

LambdaCallback::LambdaCallback(LambdaCallbackOptions options) : options_(std::move(options)) {}
void LambdaCallback::on_epoch_begin(int epoch, Logs& logs) {
  if (options_.on_epoch_begin) options_.on_epoch_begin(epoch, logs);
}
void LambdaCallback::on_epoch_end(int epoch, Logs& logs) {
  if (options_.on_epoch_end) options_.on_epoch_end(epoch, logs);
}
void LambdaCallback::on_train_batch_begin(int64_t batch, Logs& logs) {
  if (options_.on_batch_begin) options_.on_batch_begin(batch, logs);
}
void LambdaCallback::on_train_batch_end(int64_t batch, Logs& logs) {
  if (options_.on_batch_end) options_.on_batch_end(batch, logs);
}
void LambdaCallback::on_train_begin(Logs& logs) {
  if (options_.on_train_begin) options_.on_train_begin(logs);
}
void LambdaCallback::on_train_end(Logs& logs) {
  if (options_.on_train_end) options_.on_train_end(logs);
}

void TerminateOnNaN::on_train_batch_end(int64_t batch, Logs& logs) {
  auto it = logs.find("loss");
  if (it != logs.end() && !std::isfinite(it->second)) {
    std::cout << "Batch " << batch << ": Invalid loss, terminating training\n";
    model().set_stop_training(true);
  }
}

// ---- ProgbarLogger ------------------------------------------------------------------------------

struct ProgbarLogger::State {
  using clock = std::chrono::steady_clock;
  int verbose;
  std::ostream* out;
  bool tty;
  bool in_fit = false;
  int64_t target = 0;
  clock::time_point start{};
  double last_draw = -1.0;
  std::vector<std::string> order{};  // the model's metric names, for Keras' column order
  int64_t last_done = 0;

  std::ostream& os() const { return out ? *out : std::cout; }

  void begin(int64_t steps) {
    target = steps;
    start = clock::now();
    last_draw = -1.0;
  }

  std::string values(const Logs& logs) const {
    std::string s;
    std::vector<std::string> keys;
    for (const std::string& k : order) keys.push_back(k);
    for (const std::string& k : order) keys.push_back("val_" + k);
    for (const auto& [k, v] : logs)
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (const std::string& k : keys)
      if (auto it = logs.find(k); it != logs.end())
        s += " - " + k + ": " + progbar_value(it->second);
    return s;
  }

  // One redraw of the bar after `done` steps; `final` ends the line.
  void draw(int64_t done, const Logs& logs, bool final) {
    const double secs = std::chrono::duration<double>(clock::now() - start).count();
    if (verbose == 2) {
      if (!final) return;
      char t[64];
      const double per_step = done > 0 ? secs / double(done) : 0.0;
      std::snprintf(t, sizeof t, "%lld/%lld - %.0fs", (long long)done, (long long)target, secs);
      os() << t << values(logs) << " - " << unit(secs, "epoch") << " - " << unit(per_step, "step")
           << "\n";
      os().flush();
      return;
    }
    if (!final && (!tty || secs - last_draw < 0.05)) return;  // a pipe gets the final line only
    last_draw = secs;
    const int width = 30;
    const int filled = target > 0 ? int(width * std::min(done, target) / target) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), '.');
    std::string line = str_cat(done, "/", target, " [", bar, "]");
    if (final) {
      char t[32];
      std::snprintf(t, sizeof t, " - %.0fs ", secs);
      line += t + unit(done > 0 ? secs / double(done) : 0.0, "step");
    } else {
      const double eta = done > 0 ? secs / double(done) * double(target - done) : 0.0;
      line += str_cat(" - ETA: ", int64_t(eta), "s");
    }
    line += values(logs);
    os() << (tty ? "\r" : "") << line << (final ? "\n" : "");
    os().flush();
  }

  static std::string unit(double secs, const char* what) {
    char t[32];
    if (secs >= 1 || secs == 0)
      std::snprintf(t, sizeof t, "%.0fs/%s", secs, what);
    else if (secs >= 1e-3)
      std::snprintf(t, sizeof t, "%.0fms/%s", secs * 1e3, what);
    else
      std::snprintf(t, sizeof t, "%.0fus/%s", secs * 1e6, what);
    return t;
  }
};

ProgbarLogger::ProgbarLogger(int verbose, std::ostream* out)
    : state_(std::make_shared<State>(
          State{verbose, out, out == nullptr && isatty(fileno(stdout)) != 0})) {
  if (verbose < 1 || verbose > 2)
    throw InvalidArgumentError(
        str_cat("ProgbarLogger: verbose must be 1 or 2; received ", verbose));
}

void ProgbarLogger::on_train_begin(Logs&) {
  state_->in_fit = true;
  state_->order = model().metrics_names();
}
void ProgbarLogger::on_epoch_begin(int epoch, Logs&) {
  auto it = params().find("epochs");
  state_->os() << "Epoch " << epoch + 1 << "/" << (it != params().end() ? int64_t(it->second) : 0)
               << "\n";
  auto steps = params().find("steps");
  state_->begin(steps != params().end() ? int64_t(steps->second) : 0);
}
void ProgbarLogger::on_train_batch_end(int64_t batch, Logs& logs) {
  state_->draw(batch + 1, logs, false);
  state_->last_done = batch + 1;
}
void ProgbarLogger::on_epoch_end(int, Logs& logs) { state_->draw(state_->last_done, logs, true); }
void ProgbarLogger::on_train_end(Logs&) { state_->in_fit = false; }
void ProgbarLogger::on_test_begin(Logs&) {
  if (state_->in_fit) return;  // validation inside fit shows in the epoch's final line
  state_->order = model().metrics_names();
  auto steps = params().find("steps");
  state_->begin(steps != params().end() ? int64_t(steps->second) : 0);
}
void ProgbarLogger::on_test_batch_end(int64_t batch, Logs& logs) {
  if (state_->in_fit) return;
  state_->draw(batch + 1, logs, false);
  state_->last_done = batch + 1;
}
void ProgbarLogger::on_test_end(Logs& logs) {
  if (!state_->in_fit) state_->draw(state_->last_done, logs, true);
}
void ProgbarLogger::on_predict_begin(Logs&) {
  state_->order.clear();
  auto steps = params().find("steps");
  state_->begin(steps != params().end() ? int64_t(steps->second) : 0);
}
void ProgbarLogger::on_predict_batch_end(int64_t batch, Logs& logs) {
  state_->draw(batch + 1, logs, false);
  state_->last_done = batch + 1;
}
void ProgbarLogger::on_predict_end(Logs& logs) { state_->draw(state_->last_done, logs, true); }

// ---- EarlyStopping ------------------------------------------------------------------------------

struct EarlyStopping::State {
  EarlyStoppingOptions o;
  bool max;
  int wait = 0, stopped_epoch = 0, best_epoch = 0;
  double best = 0.0;
  std::vector<Tensor> best_weights{};

  bool improved(double current, double reference) const {
    const double d = std::abs(o.min_delta);
    return max ? current - d > reference : current + d < reference;
  }
};

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : state_(std::make_shared<State>(
          State{options, maximize(options.mode, options.monitor, "EarlyStopping")})) {
  if (options.patience < 0)
    throw InvalidArgumentError(
        str_cat("EarlyStopping: patience must be >= 0; received ", options.patience));
}

void EarlyStopping::on_train_begin(Logs&) {
  State& s = *state_;
  s.wait = s.stopped_epoch = s.best_epoch = 0;
  s.best =
      s.max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  s.best_weights.clear();
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  State& s = *state_;
  auto it = logs.find(s.o.monitor);
  if (it == logs.end()) {
    std::cerr << "WARNING: Early stopping conditioned on metric `" << s.o.monitor
              << "` which is not available.\n";
    return;
  }
  if (epoch < s.o.start_from_epoch) return;
  const double current = it->second;
  if (s.o.restore_best_weights && s.best_weights.empty()) s.best_weights = model().get_weights();
  ++s.wait;
  if (s.improved(current, s.best)) {
    s.best = current;
    s.best_epoch = epoch;
    if (s.o.restore_best_weights) s.best_weights = model().get_weights();
    // The count restarts only when both the baseline and the previous best are beaten.
    if (!s.o.baseline || s.improved(current, *s.o.baseline)) s.wait = 0;
    return;
  }
  if (s.wait >= s.o.patience && epoch > 0) {
    s.stopped_epoch = epoch;
    model().set_stop_training(true);
    if (s.o.restore_best_weights && !s.best_weights.empty()) {
      if (s.o.verbose > 0)
        std::cout << "Restoring model weights from the end of the best epoch: " << s.best_epoch + 1
                  << ".\n";
      model().set_weights(s.best_weights);
    }
  }
}

void EarlyStopping::on_train_end(Logs&) {
  if (state_->stopped_epoch > 0 && state_->o.verbose > 0)
    std::cout << "Epoch " << state_->stopped_epoch + 1 << ": early stopping\n";
}

int EarlyStopping::stopped_epoch() const { return state_->stopped_epoch; }
int EarlyStopping::best_epoch() const { return state_->best_epoch; }
double EarlyStopping::best() const { return state_->best; }

// ---- learning rate ------------------------------------------------------------------------------

LearningRateScheduler::LearningRateScheduler(std::function<double(int, double)> schedule,
                                             int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) throw InvalidArgumentError("LearningRateScheduler: the schedule is empty");
}

void LearningRateScheduler::on_epoch_begin(int epoch, Logs&) {
  optimizers::Optimizer& opt = model().optimizer();
  const double lr = schedule_(epoch, opt.learning_rate());
  if (!std::isfinite(lr))
    throw InvalidArgumentError(str_cat(
        "LearningRateScheduler: the schedule's output for epoch ", epoch, " is not finite: ", lr));
  opt.set_learning_rate(lr);
  if (verbose_ > 0)
    std::cout << "\nEpoch " << epoch + 1 << ": LearningRateScheduler setting learning rate to "
              << lr << ".\n";
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) {
  logs["lr"] = model().optimizer().learning_rate();
}

struct ReduceLROnPlateau::State {
  ReduceLROnPlateauOptions o;
  bool max;
  int wait = 0, cooldown_counter = 0;
  double best = 0.0;
};

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options)
    : state_(std::make_shared<State>(State{options, false})) {
  if (!(options.factor < 1.0))
    throw InvalidArgumentError(
        str_cat("ReduceLROnPlateau does not support a factor >= 1.0. Got ", options.factor));
  // Keras' "auto" here: max when the name contains "acc".
  state_->max = options.mode == "auto"
                    ? options.monitor.find("acc") != std::string::npos
                    : maximize(options.mode, options.monitor, "ReduceLROnPlateau");
}

void ReduceLROnPlateau::on_train_begin(Logs&) {
  State& s = *state_;
  s.wait = s.cooldown_counter = 0;
  s.best =
      s.max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  State& s = *state_;
  optimizers::Optimizer& opt = model().optimizer();
  logs["lr"] = opt.learning_rate();
  auto it = logs.find(s.o.monitor);
  if (it == logs.end()) {
    std::cerr << "WARNING: Learning rate reduction is conditioned on metric `" << s.o.monitor
              << "` which is not available.\n";
    return;
  }
  const double current = it->second;
  const bool cooling = s.cooldown_counter > 0;
  if (cooling) {
    --s.cooldown_counter;
    s.wait = 0;
  }
  const bool better = s.max ? current > s.best + s.o.min_delta : current < s.best - s.o.min_delta;
  if (better) {
    s.best = current;
    s.wait = 0;
  } else if (s.cooldown_counter <= 0) {
    if (++s.wait >= s.o.patience) {
      const double old_lr = opt.learning_rate();
      if (old_lr > double(float(s.o.min_lr))) {
        const double new_lr = std::max(old_lr * s.o.factor, s.o.min_lr);
        opt.set_learning_rate(new_lr);
        if (s.o.verbose > 0)
          std::cout << "\nEpoch " << epoch + 1 << ": ReduceLROnPlateau reducing learning rate to "
                    << new_lr << ".\n";
        s.cooldown_counter = s.o.cooldown;
        s.wait = 0;
      }
    }
  }
}

// ---- CSVLogger ----------------------------------------------------------------------------------

struct CSVLogger::State {
  std::string filename, separator;
  bool append;
  std::ofstream file;
  std::vector<std::string> keys;
  bool header = true;
};

CSVLogger::CSVLogger(std::string filename, std::string separator, bool append)
    : state_(std::make_shared<State>()) {
  state_->filename = std::move(filename);
  state_->separator = std::move(separator);
  state_->append = append;
}

void CSVLogger::on_train_begin(Logs&) {
  State& s = *state_;
  std::error_code ec;
  // Appending to a file that has content: no second header.
  s.header = !(s.append && std::filesystem::exists(s.filename, ec) &&
               std::filesystem::file_size(s.filename, ec) > 0);
  s.file.close();
  s.file.open(s.filename, s.append ? std::ios::app : std::ios::trunc);
  if (!s.file)
    throw NotFoundError(str_cat("CSVLogger: cannot open '", s.filename, "' for writing"));
  s.keys.clear();
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  State& s = *state_;
  if (s.keys.empty()) {
    for (const auto& [k, v] : logs) s.keys.push_back(k);  // sorted, as Keras sorts them
    if (s.header) {
      s.file << "epoch";
      for (const auto& k : s.keys) s.file << s.separator << k;
      s.file << "\n";
    }
  }
  s.file << epoch;
  for (const auto& k : s.keys) {
    auto it = logs.find(k);
    s.file << s.separator << (it != logs.end() ? python_float(it->second) : "NA");
  }
  s.file << "\n";
  s.file.flush();
}

void CSVLogger::on_train_end(Logs&) { state_->file.close(); }

// ---- ModelCheckpoint ----------------------------------------------------------------------------

struct ModelCheckpoint::State {
  ModelCheckpointOptions o;
  bool max;
  double best = 0.0;
  int epoch = 0;
  int64_t batches = 0;
  std::string last_saved{};
};

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options)
    : state_(std::make_shared<State>(
          State{options, maximize(options.mode, options.monitor, "ModelCheckpoint")})) {
  if (options.filepath.empty()) throw InvalidArgumentError("ModelCheckpoint: filepath is empty");
  if (options.save_freq && *options.save_freq <= 0)
    throw InvalidArgumentError(
        str_cat("ModelCheckpoint: save_freq must be positive; received ", *options.save_freq));
}

namespace {

// Keras' filepath.format(epoch=epoch + 1, **logs) for "{name}" and "{name:spec}" with a spec
// of flags, width and precision followed by d, f, e or g.
std::string format_path(const std::string& pattern, int epoch, const Logs& logs) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos)
      throw InvalidArgumentError(
          str_cat("ModelCheckpoint: unclosed '{' in filepath '", pattern, "'"));
    std::string field = pattern.substr(i + 1, close - i - 1), spec;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    double value;
    bool integer = false;
    if (field == "epoch") {
      value = epoch + 1;
      integer = true;
    } else if (auto it = logs.find(field); it != logs.end()) {
      value = it->second;
    } else {
      throw InvalidArgumentError(str_cat("ModelCheckpoint: failed to format filepath '",
                                         pattern,
                                         "': no value named '",
                                         field,
                                         "' (the logs hold epoch and the metric names)"));
    }
    if (spec.empty()) spec = integer ? "d" : "g";
    const char conv = spec.back();
    const bool ok_flags = spec.find_first_not_of("0123456789.+- ", 0) == spec.size() - 1;
    if (!ok_flags || (conv != 'd' && conv != 'f' && conv != 'e' && conv != 'g'))
      throw InvalidArgumentError(str_cat(
          "ModelCheckpoint: unsupported format spec '", spec, "' in filepath '", pattern, "'"));
    char buf[128];
    if (conv == 'd')
      std::snprintf(buf,
                    sizeof buf,
                    ("%" + spec.substr(0, spec.size() - 1) + "lld").c_str(),
                    (long long)std::llround(value));
    else
      std::snprintf(buf, sizeof buf, ("%" + spec).c_str(), value);
    out += buf;
    i = close;
  }
  return out;
}

}  // namespace

void ModelCheckpoint::on_train_begin(Logs&) {
  state_->best = state_->max ? -std::numeric_limits<double>::infinity()
                             : std::numeric_limits<double>::infinity();
  state_->batches = 0;
}

namespace {
std::string save_model(const Model& model,
                       const ModelCheckpointOptions& o,
                       const std::string& file) {
  std::string path = file;
  if (path.ends_with(".safetensors")) path.resize(path.size() - std::string(".safetensors").size());
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  if (o.save_weights_only)
    train::Checkpoint({}, {{"model", layers::Layer(model)}}).write(path);
  else
    model.save(path + ".safetensors");  // also a checkpoint of {"model", "optimizer"}
  return path + ".safetensors";
}
}  // namespace

void ModelCheckpoint::on_train_batch_end(int64_t, Logs& logs) {
  State& s = *state_;
  if (!s.o.save_freq || ++s.batches % *s.o.save_freq != 0) return;
  s.last_saved = save_model(model(), s.o, format_path(s.o.filepath, s.epoch, logs));
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  State& s = *state_;
  s.epoch = epoch + 1;  // batch-level saves after this epoch belong to the next one
  if (s.o.save_freq) return;
  const std::string file = format_path(s.o.filepath, epoch, logs);
  if (s.o.save_best_only) {
    auto it = logs.find(s.o.monitor);
    if (it == logs.end()) {
      std::cerr << "WARNING: Can save best model only with " << s.o.monitor
                << " available, skipping.\n";
      return;
    }
    const double current = it->second;
    const bool better = s.max ? current > s.best : current < s.best;
    if (!better) {
      if (s.o.verbose > 0)
        std::printf("\nEpoch %05d: %s did not improve from %0.5f\n",
                    epoch + 1,
                    s.o.monitor.c_str(),
                    s.best);
      return;
    }
    if (s.o.verbose > 0)
      std::printf("\nEpoch %05d: %s improved from %0.5f to %0.5f, saving model to %s\n",
                  epoch + 1,
                  s.o.monitor.c_str(),
                  s.best,
                  current,
                  file.c_str());
    s.best = current;
  } else if (s.o.verbose > 0) {
    std::printf("\nEpoch %05d: saving model to %s\n", epoch + 1, file.c_str());
  }
  s.last_saved = save_model(model(), s.o, file);
}

std::string ModelCheckpoint::last_saved() const { return state_->last_saved; }

// ---- TensorBoard --------------------------------------------------------------------------------

struct TensorBoard::State {
  TensorBoardOptions o;
  summary::SummaryWriter train, validation;
  int64_t step = 0;
};

TensorBoard::TensorBoard(TensorBoardOptions options)
    : state_(std::make_shared<State>(State{std::move(options), {}, {}})) {
  if (state_->o.histogram_freq < 0)
    throw InvalidArgumentError("TensorBoard: histogram_freq must be >= 0");
  if (state_->o.update_freq && *state_->o.update_freq <= 0)
    throw InvalidArgumentError("TensorBoard: update_freq must be positive");
}

void TensorBoard::on_train_begin(Logs&) {
  State& s = *state_;
  s.train = summary::create_file_writer((std::filesystem::path(s.o.log_dir) / "train").string());
  s.validation =
      summary::create_file_writer((std::filesystem::path(s.o.log_dir) / "validation").string());
  s.step = 0;
}

void TensorBoard::on_train_batch_end(int64_t, Logs& logs) {
  State& s = *state_;
  ++s.step;
  if (!s.o.update_freq || s.step % *s.o.update_freq != 0) return;
  for (const auto& [k, v] : logs) summary::scalar("batch_" + k, v, s.step, s.train);
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  State& s = *state_;
  for (const auto& [k, v] : logs) {
    if (k.starts_with("val_"))
      summary::scalar("epoch_" + k.substr(4), v, epoch, s.validation);
    else
      summary::scalar("epoch_" + k, v, epoch, s.train);
  }
  if (s.o.histogram_freq > 0 && epoch % s.o.histogram_freq == 0)
    for (const Variable& v : model().variables())
      summary::histogram(v.name(), v.peek(), epoch, s.train);
  s.train.flush();
  s.validation.flush();
}

void TensorBoard::on_train_end(Logs&) {
  State& s = *state_;
  if (s.train.defined()) s.train.close();
  if (s.validation.defined()) s.validation.close();
  s.train = s.validation = summary::SummaryWriter();
}

}  // namespace tapeflow::callbacks
