// Shared by the Fashion-MNIST examples: data loading, training with Model::fit and the library's
// callbacks (fit_model), the same training as an imperative GradientTape loop with a Keras-style
// progress bar (fit), and evaluation. Only the public tapeflow API is used.
#pragma once

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/fast_blas.hpp"
#include "common/models.hpp"

namespace example {

namespace tf = tapeflow;

/// The flags both examples take; each passes its own defaults in.
struct Flags {
  int epochs;
  int64_t batch_size;
  double learning_rate;
  uint64_t seed = 42;
  int threads = 0;
  int64_t limit = 0;
  double min_accuracy = 0.0;
  std::string logdir;    // TensorBoard summaries per epoch, if set
  std::string ckpt_dir;  // resume from / save checkpoints to, if set
};

inline void add_flags(CLI::App& app, Flags& f) {
  app.add_option("--epochs", f.epochs, "training epochs")->capture_default_str();
  app.add_option("--batch_size", f.batch_size, "batch size")->capture_default_str();
  app.add_option("--learning_rate", f.learning_rate, "Adam learning rate")->capture_default_str();
  app.add_option("--seed", f.seed, "seed for initialisation, shuffling and dropout")
      ->capture_default_str();
  app.add_option("--threads", f.threads, "CPU threads for tapeflow and OpenBLAS (0: all)");
  app.add_option("--limit", f.limit, "use only the first N training images (0: all)");
  app.add_option("--min_accuracy", f.min_accuracy, "exit 1 if the final test accuracy is lower");
  app.add_option(
      "--logdir",
      f.logdir,
      "write TensorBoard summaries here: loss and accuracy per epoch, weight histograms");
  app.add_option("--ckpt_dir",
                 f.ckpt_dir,
                 "resume from the latest checkpoint here, save one each epoch (keeps 3)");
}

/// Applies --threads (before any op runs) and the seed.
inline void apply(const Flags& f) {
  if (f.threads > 0) tf::config::set_num_threads(f.threads);
  tf::random::set_seed(f.seed);
}

struct Split {
  tf::Tensor x, y;  // x float32 in [0, 1], shaped for the model; y int32 labels
};

/// Loads Fashion-MNIST (Debian's dataset-fashion-mnist), scales pixels to [0, 1] and reshapes
/// the images to `image_shape` (e.g. {-1, 784} or {-1, 28, 28, 1}). `limit` > 0 keeps the
/// first `limit` training images (for quick runs).
inline std::pair<Split, Split> load(const tf::Shape& image_shape, int64_t limit = 0) {
  tf::DeviceScope cpu("/cpu:0");
  // Scaled while decoding: no second copy of the 188 MB training images.
  auto d =
      tf::datasets::fashion_mnist::load_data(tf::datasets::fashion_mnist::kDefaultDir, 1 / 255.f);
  auto prep = [&](const tf::Tensor& x) { return tf::reshape(x, image_shape); };
  Split train{prep(d.x_train), d.y_train}, test{prep(d.x_test), d.y_test};
  if (limit > 0 && limit < train.x.shape()[0]) {
    std::vector<int64_t> begin(size_t(train.x.rank()), 0), size = train.x.shape().dims();
    size[0] = limit;
    train.x = tf::slice(train.x, begin, size);
    train.y = tf::slice(train.y, {0}, {limit});
  }
  return {train, test};
}

/// One line of a Keras-style progress bar, redrawn in place on a terminal; on a pipe or a file,
/// only the final line of each epoch is printed.
class Progress {
 public:
  Progress(int64_t total) : total_(total), tty_(isatty(fileno(stdout))), start_(clock::now()) {}
  void update(int64_t done, double loss, double acc, bool final = false) {
    if (!tty_ && !final) return;
    double secs = std::chrono::duration<double>(clock::now() - start_).count();
    int width = 30, filled = total_ ? int(width * done / total_) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), '.');
    std::printf("%s%lld/%lld [%s] - %.0fs - loss: %.4f - accuracy: %.4f%s",
                tty_ ? "\r" : "",
                (long long)done,
                (long long)total_,
                bar.c_str(),
                secs,
                loss,
                acc,
                final ? "" : "");
    std::fflush(stdout);
  }

 private:
  using clock = std::chrono::steady_clock;
  int64_t total_;
  bool tty_;
  clock::time_point start_;
};

/// Test accuracy of `model` (inference mode), in batches. 256 keeps the CNN's largest
/// temporary (conv2's im2col, 58 MB) under the allocator's 64 MiB block cap, so evaluation
/// reuses cached blocks instead of page-faulting fresh ones.
inline double evaluate(const tf::layers::Layer& model, const Split& test, int64_t batch = 256) {
  tf::metrics::SparseCategoricalAccuracy acc;
  auto ds = tf::data::Dataset::from_tensor_slices({test.x, test.y}).batch(batch);
  for (const auto& b : ds) acc.update_state(b[1], model(b[0], /*training=*/false));
  return acc.result().item<double>();
}

/// The Keras path: trains the compiled `model` with Model::fit for `epochs` (shuffled with
/// `seed`), validating on `test` after each epoch, with the library's progress bar. With
/// `logdir`, the TensorBoard callback writes scalars and weight histograms there; with
/// `ckpt_dir`, training first resumes from the model saved there last (ckpt-N.safetensors, N
/// the epoch) and ModelCheckpoint saves the whole model after each epoch, keeping the last 3.
/// Returns the final test accuracy; with `history`, also fit's History (empty when resumed after
/// the last epoch).
inline double fit_model(const tf::Model& model,
                        const Split& train,
                        const Split& test,
                        int epochs,
                        int64_t batch,
                        uint64_t seed,
                        const std::string& logdir = "",
                        const std::string& ckpt_dir = "",
                        tf::History* history = nullptr) {
  std::vector<tf::callbacks::CallbackRef> callbacks;
  int initial_epoch = 0;
  if (!ckpt_dir.empty()) {
    if (const int latest = latest_saved_epoch(ckpt_dir); latest > 0) {
      // A saved model is also a checkpoint of {"model", "optimizer"}: restore it into this
      // model, built and compiled as when it was saved.
      tf::Shape one = train.x.shape();
      one[0] = 1;
      model.build(one, train.x.dtype());
      const std::string path = ckpt_dir + "/ckpt-" + std::to_string(latest);
      tf::train::Checkpoint({},
                            {{"model", tf::layers::Layer(model)}, {"optimizer", model.optimizer()}})
          .restore(path);
      std::printf("Restored %s (epoch %d)\n", path.c_str(), latest);
      initial_epoch = latest;
    }
    callbacks.push_back(
        tf::callbacks::ModelCheckpoint({.filepath = ckpt_dir + "/ckpt-{epoch}", .verbose = 1}));
    callbacks.push_back(
        tf::callbacks::LambdaCallback({.on_epoch_end = [ckpt_dir](int epoch, tf::Logs&) {
          std::error_code ec;  // keep 3: ckpt-(epoch+1) was just written
          std::filesystem::remove(
              ckpt_dir + "/ckpt-" + std::to_string(epoch + 1 - 3) + ".safetensors", ec);
        }}));
  }
  if (!logdir.empty())
    callbacks.push_back(tf::callbacks::TensorBoard({.log_dir = logdir, .histogram_freq = 1}));
  tf::History fitted;
  if (initial_epoch < epochs)
    fitted = model.fit(train.x,
                       train.y,
                       {.batch_size = batch,
                        .epochs = epochs,
                        .verbose = 1,
                        .validation_data = {test.x, test.y},
                        .shuffle = true,
                        .seed = seed,
                        .initial_epoch = initial_epoch,
                        .validation_batch_size = 256,
                        .callbacks = callbacks});
  if (history) *history = std::move(fitted);
  return model.evaluate(test.x, test.y, {.batch_size = 256, .verbose = 0}).at("accuracy");
}

/// Trains `model` with `opt` for `epochs`, printing progress and test accuracy per epoch.
/// With `logdir`, writes summaries there; with `ckpt_dir`, first restores the model, optimizer
/// and epoch from its latest checkpoint (then trains only the remaining epochs) and saves a
/// checkpoint after each epoch, keeping 3. Returns the final test accuracy.
inline double fit(const tf::layers::Layer& model,
                  tf::optimizers::Optimizer& opt,
                  const Split& train,
                  const Split& test,
                  int epochs,
                  int64_t batch,
                  uint64_t seed,
                  const std::string& logdir = "",
                  const std::string& ckpt_dir = "") {
  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  const int64_t n = train.x.shape()[0];
  auto ds = tf::data::Dataset::from_tensor_slices({train.x, train.y})
                .shuffle(n, seed)
                .batch(batch)
                .prefetch(2);
  tf::summary::SummaryWriter writer;  // the no-op writer unless --logdir
  if (!logdir.empty()) writer = tf::summary::create_file_writer(logdir);

  // The epoch counter is saved with the model and optimizer, so a resumed run knows where
  // it stopped. The model is built first: restore fills existing variables.
  tf::Variable done_epochs(tf::constant(int64_t(0)), {.name = "epoch", .trainable = false});
  std::optional<tf::train::CheckpointManager> manager;
  if (!ckpt_dir.empty()) {
    tf::Shape one = train.x.shape();
    one[0] = 1;
    model.build(one, train.x.dtype());
    tf::train::Checkpoint ckpt({{"epoch", done_epochs}}, {{"model", model}, {"optimizer", opt}});
    manager.emplace(ckpt, ckpt_dir, tf::train::CheckpointManagerOptions{.max_to_keep = 3});
    if (std::string restored = manager->restore_or_initialize(); !restored.empty())
      std::printf("Restored %s (epoch %lld)\n",
                  restored.c_str(),
                  (long long)done_epochs.peek().item<int64_t>());
  }

  double test_acc = 0;
  const int first = int(done_epochs.peek().item<int64_t>()) + 1;
  for (int epoch = first; epoch <= epochs; ++epoch) {
    std::printf("Epoch %d/%d\n", epoch, epochs);
    tf::metrics::Mean mean_loss;
    tf::metrics::SparseCategoricalAccuracy acc;
    Progress bar((n + batch - 1) / batch);
    int64_t step = 0;
    for (const auto& b : ds) {
      tf::GradientTape tape;
      tf::Tensor logits = model(b[0], /*training=*/true);
      tf::Tensor loss = loss_fn(b[1], logits);
      auto vars = model.trainable_variables();
      opt.apply_gradients(tape.gradient(loss, vars), vars);
      mean_loss.update_state(loss);
      acc.update_state(b[1], logits);
      if (++step % 20 == 0)
        bar.update(step, mean_loss.result().item<double>(), acc.result().item<double>());
    }
    bar.update(step, mean_loss.result().item<double>(), acc.result().item<double>(), true);
    test_acc = evaluate(model, test);
    std::printf(" - test_accuracy: %.4f\n", test_acc);
    std::fflush(stdout);
    if (writer.defined()) {
      tf::summary::scalar("loss", mean_loss.result(), epoch, writer);
      tf::summary::scalar("accuracy", acc.result(), epoch, writer);
      tf::summary::scalar("test_accuracy", test_acc, epoch, writer);
      for (const tf::Variable& v : model.trainable_variables())
        tf::summary::histogram(v.name(), v.peek(), epoch, writer);
      writer.flush();
    }
    if (manager) {
      done_epochs.assign(tf::constant(int64_t(epoch)));
      std::printf("Saved %s\n", manager->save(epoch).c_str());
    }
  }
  if (first > epochs) test_acc = evaluate(model, test);  // resumed after the last epoch
  return test_acc;
}

}  // namespace example
