// Shared by the character language-model examples (char_transformer.cpp, char_lstm.cpp): their
// flags, the corpus (Debian's `fortunes`, examples/common/fortunes.hpp), a GradientTape training
// loop with AdamW, a warm-up + cosine learning-rate schedule and global_clipnorm, validation
// loss, TensorBoard summaries, checkpoints, and sampling a continuation of a prompt. Only the
// public tapeflow API is used.
#pragma once

#include <unistd.h>  // isatty

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/fast_blas.hpp"
#include "common/fortunes.hpp"

namespace example::chars {

namespace tf = tapeflow;

/// The flags both examples take; each passes its own model defaults in.
struct Flags {
  int64_t steps = 600;
  int64_t batch_size = 32;
  int64_t context = 128;
  int64_t layers = 4;
  int64_t heads = 4;  // the transformer only
  int64_t width = 128;
  double learning_rate = 1e-3;
  double weight_decay = 0.01;
  double global_clipnorm = 1.0;
  int64_t warmup_steps = 50;
  double final_lr_fraction = 0.1;  // the cosine decays to this fraction of --learning_rate
  uint64_t seed = 42;
  int threads = 0;
  int64_t limit = 0;
  int64_t eval_every = 100;
  int64_t eval_windows = 256;
  std::string prompt = "The ";
  int64_t sample_chars = 300;
  double temperature = 0.8;
  int64_t top_k = 20;
  double min_loss_drop = 0.0;
  std::string data_dir = kFortunesDir;
  std::string logdir;
  std::string ckpt_dir;
};

inline void add_flags(CLI::App& app, Flags& f, bool attention) {
  app.add_option("--steps", f.steps, "training steps (batches)")->capture_default_str();
  app.add_option("--batch_size", f.batch_size, "windows per batch")->capture_default_str();
  app.add_option("--context", f.context, "characters per window")->capture_default_str();
  app.add_option("--layers", f.layers, attention ? "transformer blocks" : "stacked LSTM layers")
      ->capture_default_str();
  if (attention)
    app.add_option("--heads", f.heads, "attention heads (must divide --width)")
        ->capture_default_str();
  app.add_option("--width", f.width, attention ? "model width" : "embedding width and LSTM units")
      ->capture_default_str();
  app.add_option("--learning_rate", f.learning_rate, "peak AdamW learning rate")
      ->capture_default_str();
  app.add_option("--weight_decay", f.weight_decay, "AdamW decoupled weight decay")
      ->capture_default_str();
  app.add_option("--global_clipnorm", f.global_clipnorm, "joint L2 norm the gradients are cut to")
      ->capture_default_str();
  app.add_option("--warmup_steps", f.warmup_steps, "linear warm-up steps before the cosine decay")
      ->capture_default_str();
  app.add_option("--final_lr_fraction",
                 f.final_lr_fraction,
                 "the cosine decays to this fraction of --learning_rate at --steps")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "seed for initialisation, batches and sampling")
      ->capture_default_str();
  app.add_option("--threads", f.threads, "CPU threads for tapeflow and OpenBLAS (0: all)");
  app.add_option("--limit", f.limit, "use only the first N characters of the text (0: all)");
  app.add_option("--eval_every", f.eval_every, "steps between validation losses")
      ->capture_default_str();
  app.add_option("--eval_windows", f.eval_windows, "validation windows per evaluation")
      ->capture_default_str();
  app.add_option("--prompt", f.prompt, "text the final sample continues")->capture_default_str();
  app.add_option("--sample_chars", f.sample_chars, "characters to sample after training")
      ->capture_default_str();
  app.add_option("--temperature", f.temperature, "sampling temperature (0: greedy)")
      ->capture_default_str();
  app.add_option("--top_k", f.top_k, "sample among the k likeliest characters (0: all)")
      ->capture_default_str();
  app.add_option("--min_loss_drop",
                 f.min_loss_drop,
                 "exit 1 unless the validation loss fell by at least this much (nats/char)");
  app.add_option("--data_dir", f.data_dir, "the fortune files (Debian's `fortunes` package)")
      ->capture_default_str();
  app.add_option("--logdir", f.logdir, "write TensorBoard summaries here (losses, learning rate)");
  app.add_option(
      "--ckpt_dir", f.ckpt_dir, "resume from the latest checkpoint here, save one per evaluation");
}

/// The fortunes text as a Corpus; tf::NotFoundError naming the package when it is absent.
inline Corpus load(const Flags& f) {
  Corpus c = make_corpus(read_fortunes<tf::NotFoundError>(f.data_dir), f.limit);
  if (c.train_size < f.context + 2 || c.size() - c.train_size < f.context + 2)
    throw tf::InvalidArgumentError("--limit " + std::to_string(f.limit) +
                                   " leaves too little text for windows of --context " +
                                   std::to_string(f.context));
  std::printf("fortunes: %lld characters (%lld train, %lld validation), vocabulary of %lld\n",
              (long long)c.size(),
              (long long)c.train_size,
              (long long)(c.size() - c.train_size),
              (long long)c.vocab_size());
  return c;
}

/// Inputs and targets, int32 [starts.size(), context], of the windows at `starts`.
inline std::pair<tf::Tensor, tf::Tensor> windows(const Corpus& c,
                                                 const std::vector<int64_t>& starts,
                                                 int64_t context) {
  std::vector<int32_t> x, y;
  fill_windows(c, starts, context, x, y);
  const tf::Shape shape{int64_t(starts.size()), context};
  return {tf::constant(x, shape), tf::constant(y, shape)};
}

/// Mean cross-entropy in nats per character of logits [batch, steps, vocab] for targets
/// [batch, steps].
inline tf::Tensor char_loss(const tf::Tensor& targets, const tf::Tensor& logits) {
  const int64_t vocab = logits.shape()[2];
  return tf::reduce_mean(tf::nn::sparse_softmax_cross_entropy_with_logits(
      tf::reshape(targets, {-1}), tf::reshape(logits, {-1, vocab})));
}

/// Mean validation loss (nats per character) over the windows at `starts`, in batches.
inline double evaluate(const tf::layers::Layer& model,
                       const Corpus& c,
                       const std::vector<int64_t>& starts,
                       int64_t context,
                       int64_t batch) {
  double total = 0;
  for (size_t i = 0; i < starts.size(); i += size_t(batch)) {
    std::vector<int64_t> part(starts.begin() + long(i),
                              starts.begin() + long(std::min(starts.size(), i + size_t(batch))));
    auto [x, y] = windows(c, part, context);
    total += char_loss(y, model(x, /*training=*/false)).item<float>() * double(part.size());
  }
  return starts.empty() ? NAN : total / double(starts.size());
}

/// One line of a progress bar, redrawn in place on a terminal; on a pipe or a file only the
/// lines of the evaluations are printed.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), tty_(isatty(fileno(stdout))) {}
  void update(int64_t done, double loss, double lr) const {
    if (!tty_) return;
    const int width = 30, filled = total_ ? int(width * done / total_) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), '.');
    std::printf("\r%lld/%lld [%s] - loss: %.4f - lr: %.2e",
                (long long)done,
                (long long)total_,
                bar.c_str(),
                loss,
                lr);
    std::fflush(stdout);
  }
  /// Ends the in-place line before a line of its own.
  void clear() const {
    if (tty_) std::printf("\r%*s\r", 80, "");
  }

 private:
  int64_t total_;
  bool tty_;
};

struct Result {
  double initial_val_loss = NAN;  // before the first step (NAN when resumed)
  double train_loss = NAN;        // mean over the steps since the last evaluation
  double val_loss = NAN;
  double steps_per_second = 0;  // training steps only, evaluations excluded
};

/// The optimizer both examples use: AdamW; the learning rate rises linearly from 0 to
/// --learning_rate over --warmup_steps, then falls along a cosine to
/// --final_lr_fraction of it at --steps; gradients jointly cut to --global_clipnorm.
inline tf::optimizers::AdamW make_optimizer(const Flags& f) {
  const int64_t warmup = std::min(f.warmup_steps, f.steps);
  return tf::optimizers::AdamW({.learning_rate = tf::optimizers::schedules::CosineDecay(
                                    0.0,
                                    std::max<int64_t>(1, f.steps - warmup),
                                    f.final_lr_fraction,
                                    f.learning_rate,
                                    warmup),
                                .weight_decay = f.weight_decay,
                                .global_clipnorm = f.global_clipnorm});
}

/// Trains `model` (int32 ids [batch, steps] -> logits [batch, steps, vocab]) for --steps with
/// make_optimizer(f), printing train and validation loss every --eval_every steps. With
/// --ckpt_dir it first restores the model, optimizer and step from the latest checkpoint there
/// (then trains only the remaining steps, on the batches a straight run would have had) and
/// saves one at each evaluation, keeping 3; with --logdir it writes the losses and the
/// learning rate per evaluation.
inline Result train(const tf::layers::Layer& model, const Corpus& c, const Flags& f) {
  using clock = std::chrono::steady_clock;
  tf::optimizers::AdamW opt = make_optimizer(f);
  const std::vector<int64_t> val_starts = validation_starts(c, f.context, f.eval_windows);
  WindowSampler sampler(c, f.context, f.seed);

  // Build the weights (a forward pass on one window) so that a checkpoint can fill them.
  model(tf::zeros({1, f.context}, tf::int32));
  std::printf("%lld trainable parameters\n", [&] {
    long long n = 0;
    for (const tf::Variable& v : model.trainable_variables())
      n += (long long)v.shape().num_elements();
    return n;
  }());

  tf::Variable done_steps(tf::constant(int64_t(0)), {.name = "step", .trainable = false});
  std::optional<tf::train::CheckpointManager> manager;
  if (!f.ckpt_dir.empty()) {
    opt.build(model.trainable_variables());
    tf::train::Checkpoint ckpt({{"step", done_steps}}, {{"model", model}, {"optimizer", opt}});
    manager.emplace(ckpt, f.ckpt_dir, tf::train::CheckpointManagerOptions{.max_to_keep = 3});
    if (std::string restored = manager->restore_or_initialize(); !restored.empty())
      std::printf("Restored %s (step %lld)\n",
                  restored.c_str(),
                  (long long)done_steps.peek().item<int64_t>());
  }
  tf::summary::SummaryWriter writer;  // the no-op writer unless --logdir
  if (!f.logdir.empty()) writer = tf::summary::create_file_writer(f.logdir);

  Result r;
  const int64_t first = done_steps.peek().item<int64_t>();
  sampler.skip(first, f.batch_size);
  if (first == 0) {
    r.initial_val_loss = evaluate(model, c, val_starts, f.context, f.batch_size);
    std::printf("step 0: val_loss %.4f\n", r.initial_val_loss);
    tf::summary::scalar("val_loss", r.initial_val_loss, 0, writer);
  }
  Progress bar(f.steps);
  double loss_sum = 0, train_seconds = 0;
  int64_t loss_count = 0, timed_steps = 0;
  for (int64_t step = first + 1; step <= f.steps; ++step) {
    const auto t0 = clock::now();
    const double lr = opt.learning_rate();
    auto [x, y] = windows(c, sampler.next(f.batch_size), f.context);
    tf::GradientTape tape;
    tf::Tensor loss = char_loss(y, model(x, /*training=*/true));
    const std::vector<tf::Variable> vars = model.trainable_variables();
    opt.apply_gradients(tape.gradient(loss, vars), vars);
    const double value = loss.item<float>();
    train_seconds += std::chrono::duration<double>(clock::now() - t0).count();
    ++timed_steps;
    loss_sum += value;
    ++loss_count;
    bar.update(step, loss_sum / double(loss_count), lr);
    if (step % f.eval_every == 0 || step == f.steps) {
      r.train_loss = loss_sum / double(loss_count);
      r.val_loss = evaluate(model, c, val_starts, f.context, f.batch_size);
      bar.clear();
      std::printf("step %lld/%lld: train_loss %.4f val_loss %.4f lr %.2e (%.2f steps/s)\n",
                  (long long)step,
                  (long long)f.steps,
                  r.train_loss,
                  r.val_loss,
                  lr,
                  double(timed_steps) / train_seconds);
      std::fflush(stdout);
      if (writer.defined()) {
        tf::summary::scalar("train_loss", r.train_loss, step, writer);
        tf::summary::scalar("val_loss", r.val_loss, step, writer);
        tf::summary::scalar("learning_rate", lr, step, writer);
        writer.flush();
      }
      if (manager) {
        done_steps.assign(tf::constant(step));
        std::printf("Saved %s\n", manager->save(step).c_str());
      }
      loss_sum = 0;
      loss_count = 0;
    }
  }
  if (first >= f.steps) r.val_loss = evaluate(model, c, val_starts, f.context, f.batch_size);
  r.steps_per_second = timed_steps ? double(timed_steps) / train_seconds : 0;
  return r;
}

/// `n` characters continuing `prompt`, each drawn from the model's next-character distribution
/// over the last `context` characters: logits / temperature, cut to the top_k likeliest
/// (tf::math::top_k), sampled with tf::random::categorical (seeded); temperature 0 is greedy.
/// A prompt character outside the vocabulary is an InvalidArgumentError.
inline std::string sample(const tf::layers::Layer& model,
                          const Corpus& c,
                          const std::string& prompt,
                          int64_t n,
                          int64_t context,
                          double temperature,
                          int64_t top_k,
                          uint64_t seed) {
  std::vector<int32_t> ids;
  for (unsigned char ch : prompt) {
    if (c.id_of[ch] < 0)
      throw tf::InvalidArgumentError("--prompt: character " + std::to_string(int(ch)) +
                                     " does not occur in the fortunes text");
    ids.push_back(c.id_of[ch]);
  }
  if (ids.empty()) ids.push_back(c.id_of['\n'] >= 0 ? c.id_of['\n'] : 0);
  const int64_t k = top_k > 0 ? std::min(top_k, c.vocab_size()) : c.vocab_size();
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = std::min<int64_t>(context, int64_t(ids.size()));
    std::vector<int32_t> window(ids.end() - len, ids.end());
    tf::Tensor logits = model(tf::constant(window, {1, len}), /*training=*/false);
    tf::Tensor last = tf::reshape(tf::slice(logits, {0, len - 1, 0}, {1, 1, c.vocab_size()}),
                                  {1, c.vocab_size()});
    int32_t next;
    if (temperature <= 0) {
      next = int32_t(tf::argmax(last, 1).to_vector<int64_t>()[0]);
    } else {
      auto [values, indices] = tf::math::top_k(last / temperature, k);
      const int64_t j = tf::random::categorical(values, 1, seed + uint64_t(i)).item<int64_t>();
      next = indices.to_vector<int32_t>()[size_t(j)];
    }
    ids.push_back(next);
    out.push_back(next);
  }
  return c.decode(out);
}

/// What both examples' main() do after parsing the flags: load the text, build the model with
/// `make_model(vocab_size)`, train, print the losses and a sample, and return the exit code
/// (1 when --min_loss_drop is not met). The text missing (NotFoundError) or flags that do not
/// fit it (InvalidArgumentError) are printed as `error: <class>: <what>` with exit code 1.
inline int run(const Flags& f, const std::function<tf::layers::Layer(int64_t)>& make_model) {
  try {
    if (f.threads > 0) tf::config::set_num_threads(f.threads);
    tf::random::set_seed(f.seed);
    const Corpus c = load(f);
    tf::layers::Layer model = make_model(c.vocab_size());
    const Result r = train(model, c, f);
    std::printf(
        "sample (temperature %.2f, top_k %lld):\n%s%s\n",
        f.temperature,
        (long long)f.top_k,
        f.prompt.c_str(),
        sample(model, c, f.prompt, f.sample_chars, f.context, f.temperature, f.top_k, f.seed)
            .c_str());
    // The last line, for scripts: losses in nats per character.
    std::printf(
        "final: steps %lld initial_val_loss %.4f train_loss %.4f val_loss %.4f "
        "steps_per_s %.3f\n",
        (long long)f.steps,
        r.initial_val_loss,
        r.train_loss,
        r.val_loss,
        r.steps_per_second);
    if (f.min_loss_drop > 0 && !(r.initial_val_loss - r.val_loss >= f.min_loss_drop)) {
      std::fprintf(stderr,
                   "validation loss fell by %.4f (from %.4f to %.4f), less than --min_loss_drop "
                   "%.4f\n",
                   r.initial_val_loss - r.val_loss,
                   r.initial_val_loss,
                   r.val_loss,
                   f.min_loss_drop);
      return 1;
    }
    return 0;
  } catch (const tf::NotFoundError& e) {
    std::fprintf(stderr, "error: NotFoundError: %s\n", e.what());
    return 1;
  } catch (const tf::InvalidArgumentError& e) {
    std::fprintf(stderr, "error: InvalidArgumentError: %s\n", e.what());
    return 1;
  }
}

}  // namespace example::chars
