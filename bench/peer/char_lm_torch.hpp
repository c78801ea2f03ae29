// Shared by the LibTorch peers of the character language models (char_transformer_torch.cpp,
// char_lstm_torch.cpp), as examples/common/char_lm.hpp is by the tapeflow examples: their flags,
// the corpus (Debian's `fortunes`, read by examples/common/fortunes.hpp: the same vocabulary,
// 90/10 split, training batches and validation windows for the same --seed), the warm-up +
// cosine schedule of tf::optimizers::schedules::CosineDecay, AdamW with weight decay on every
// trainable variable, gradients cut to a global norm, the validation loss, and the printed lines
// (last: `final: steps N initial_val_loss A train_loss B val_loss C steps_per_s R`).
//
// Adam's epsilon differs from Keras' in where it is added: LibTorch adds it to sqrt(v̂), Keras to
// sqrt(v) (a difference of order 1e-7 in the step). The random draws differ too
// (torch::manual_seed, not tapeflow's generator).
#pragma once

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../examples/common/fortunes.hpp"

namespace peer::chars {

using example::chars::Corpus;

/// The flags of examples/common/char_lm.hpp that the peers take, with its defaults; each peer
/// sets its model's defaults (as each example does) before parsing.
struct Flags {
  int64_t steps = 600, batch_size = 32, context = 128, layers = 4, heads = 4, width = 128;
  double learning_rate = 1e-3, weight_decay = 0.01, global_clipnorm = 1.0;
  int64_t warmup_steps = 50;
  double final_lr_fraction = 0.1;
  uint64_t seed = 42;
  int threads = 0;
  int64_t limit = 0, eval_every = 100, eval_windows = 256;
  std::string data_dir = example::chars::kFortunesDir;
};

/// --heads only with `attention` (the transformer), as the examples.
inline void add_flags(CLI::App& app, Flags& f, bool attention) {
  app.add_option("--steps", f.steps);
  app.add_option("--batch_size", f.batch_size);
  app.add_option("--context", f.context);
  app.add_option("--layers", f.layers);
  if (attention) app.add_option("--heads", f.heads);
  app.add_option("--width", f.width);
  app.add_option("--learning_rate", f.learning_rate);
  app.add_option("--weight_decay", f.weight_decay);
  app.add_option("--global_clipnorm", f.global_clipnorm);
  app.add_option("--warmup_steps", f.warmup_steps);
  app.add_option("--final_lr_fraction", f.final_lr_fraction);
  app.add_option("--seed", f.seed);
  app.add_option("--threads", f.threads, "0: one per hardware thread, as tapeflow");
  app.add_option("--limit", f.limit);
  app.add_option("--eval_every", f.eval_every);
  app.add_option("--eval_windows", f.eval_windows);
  app.add_option("--data_dir", f.data_dir);
}

/// Keras' RandomUniform(-limit, limit), in place.
inline void uniform(torch::Tensor& w, double limit) { torch::nn::init::uniform_(w, -limit, limit); }

/// tf::optimizers::schedules::CosineDecay(0, max(1, steps - warmup), alpha, lr, warmup) at
/// `step`.
inline double learning_rate(const Flags& f, int64_t step) {
  const double warmup = double(std::min(f.warmup_steps, f.steps));
  const double decay_steps = double(std::max<int64_t>(1, f.steps - int64_t(warmup)));
  const double s = std::min(double(step), decay_steps + warmup);
  if (s < warmup) return f.learning_rate * (s / warmup);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * ((s - warmup) / decay_steps)));
  return f.learning_rate * ((1.0 - f.final_lr_fraction) * cosine + f.final_lr_fraction);
}

/// Inputs and targets, int64 [starts.size(), context], of the windows at `starts`.
inline std::pair<torch::Tensor, torch::Tensor> windows(const Corpus& c,
                                                       const std::vector<int64_t>& starts,
                                                       int64_t context) {
  std::vector<int32_t> x, y;
  example::chars::fill_windows(c, starts, context, x, y);
  const int64_t b = int64_t(starts.size());
  return {torch::from_blob(x.data(), {b, context}, torch::kInt32).to(torch::kLong),
          torch::from_blob(y.data(), {b, context}, torch::kInt32).to(torch::kLong)};
}

/// Mean cross-entropy in nats per character of logits [B, T, V] for targets [B, T].
inline torch::Tensor char_loss(const torch::Tensor& targets, const torch::Tensor& logits) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                              targets.reshape({-1}));
}

/// Mean validation loss over the windows at `starts`, in batches of --batch_size.
template <class Model>
double evaluate(Model& model, const Corpus& c, const std::vector<int64_t>& starts, const Flags& f) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (size_t i = 0; i < starts.size(); i += size_t(f.batch_size)) {
    std::vector<int64_t> part(
        starts.begin() + long(i),
        starts.begin() + long(std::min(starts.size(), i + size_t(f.batch_size))));
    auto [x, y] = windows(c, part, f.context);
    const torch::Tensor loss = char_loss(y, model(x));
    total += loss.item<double>() * double(part.size());
  }
  return starts.empty() ? NAN : total / double(starts.size());
}

/// What both peers' main() do after parsing the flags: set the threads and the seed, load the
/// text, build the model with `make_model(vocab_size)` (ids [B, T] int64 -> logits [B, T, V]),
/// train it for --steps and print the losses and step rate. The trained variables are the
/// model's parameters that require a gradient. Returns the exit code.
template <class MakeModel>
int run(const Flags& f, MakeModel make_model) {
  torch::set_num_threads(f.threads > 0 ? f.threads : int(std::thread::hardware_concurrency()));
  torch::manual_seed(f.seed);
  Corpus c;
  try {
    c = example::chars::make_corpus(example::chars::read_fortunes(f.data_dir), f.limit);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf("fortunes: %lld characters (%lld train, %lld validation), vocabulary of %lld\n",
              (long long)c.size(),
              (long long)c.train_size,
              (long long)(c.size() - c.train_size),
              (long long)c.vocab_size());
  auto model = make_model(c.vocab_size());
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  long long params = 0;
  for (const auto& p : trainable) params += (long long)p.numel();
  std::printf("%lld trainable parameters (LibTorch %s, %d threads)\n",
              params,
              TORCH_VERSION,
              torch::get_num_threads());

  torch::optim::AdamW opt(trainable,
                          torch::optim::AdamWOptions(f.learning_rate)
                              .betas({0.9, 0.999})
                              .eps(1e-7)
                              .weight_decay(f.weight_decay));
  const std::vector<int64_t> val_starts =
      example::chars::validation_starts(c, f.context, f.eval_windows);
  example::chars::WindowSampler sampler(c, f.context, f.seed);

  const double initial = evaluate(model, c, val_starts, f);
  std::printf("step 0: val_loss %.4f\n", initial);
  double loss_sum = 0, seconds = 0, train_loss = NAN, val_loss = NAN;
  int64_t loss_count = 0;
  for (int64_t step = 1; step <= f.steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = learning_rate(f, step - 1);
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    auto [x, y] = windows(c, sampler.next(f.batch_size), f.context);
    opt.zero_grad();
    torch::Tensor loss = char_loss(y, model(x));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(trainable, f.global_clipnorm);
    opt.step();
    loss_sum += loss.item<double>();
    ++loss_count;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step % f.eval_every == 0 || step == f.steps) {
      train_loss = loss_sum / double(loss_count);
      val_loss = evaluate(model, c, val_starts, f);
      std::printf("step %lld/%lld: train_loss %.4f val_loss %.4f lr %.2e (%.2f steps/s)\n",
                  (long long)step,
                  (long long)f.steps,
                  train_loss,
                  val_loss,
                  lr,
                  double(step) / seconds);
      std::fflush(stdout);
      loss_sum = 0;
      loss_count = 0;
    }
  }
  std::printf(
      "final: steps %lld initial_val_loss %.4f train_loss %.4f val_loss %.4f "
      "steps_per_s %.3f\n",
      (long long)f.steps,
      initial,
      train_loss,
      val_loss,
      f.steps > 0 ? double(f.steps) / seconds : 0.0);
  return 0;
}

}  // namespace peer::chars
