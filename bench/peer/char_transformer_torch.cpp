// LibTorch peer of examples/char_transformer.cpp: the same GPT-style character model trained on
// the same text (Debian's `fortunes`, read by examples/common/fortunes.hpp: the same vocabulary,
// 90/10 split, training batches and validation windows for the same --seed), with the same
// optimizer and schedule, and printing the same lines. scripts/compare_char_transformer.sh runs
// both.
//
// What matches tapeflow's model: pre-LayerNorm blocks (epsilon 1e-3, as Keras), causal
// attention with the query scaled by 1/sqrt(key_dim), exact GELU, the Keras initialisers
// (Embedding uniform(-0.05, 0.05); Dense Glorot-uniform; attention kernels Glorot-uniform with
// the fans Keras computes for its [features, heads, dim] and [heads, dim, features] kernels;
// biases zeros), AdamW with weight decay on every variable, the warm-up + cosine schedule of
// tf::optimizers::schedules::CosineDecay, gradients cut to a global norm. What does not: the
// random draws (torch::manual_seed, not tapeflow's generator), and Adam's epsilon, which
// LibTorch adds to sqrt(v̂) and Keras to sqrt(v) (a difference of order 1e-7 in the step).
//
//   char_transformer_torch [--steps N --layers 4 --heads 4 --width 128 --context 128 ...]
//
// Last line: `final: steps N initial_val_loss A train_loss B val_loss C steps_per_s R`.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../../examples/common/fortunes.hpp"

namespace {

using example::chars::Corpus;

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

void uniform(torch::Tensor& w, double limit) { torch::nn::init::uniform_(w, -limit, limit); }

struct BlockImpl : torch::nn::Module {
  int64_t heads, key_dim;
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};
  torch::nn::Linear up{nullptr}, down{nullptr};

  BlockImpl(int64_t width, int64_t h) : heads(h), key_dim(width / h) {
    auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-3)); };
    ln1 = register_module("ln1", ln());
    query = register_module("query", torch::nn::Linear(width, heads * key_dim));
    key = register_module("key", torch::nn::Linear(width, heads * key_dim));
    value = register_module("value", torch::nn::Linear(width, heads * key_dim));
    output = register_module("output", torch::nn::Linear(heads * key_dim, width));
    ln2 = register_module("ln2", ln());
    up = register_module("up", torch::nn::Linear(width, 4 * width));
    down = register_module("down", torch::nn::Linear(4 * width, width));
    torch::NoGradGuard no_grad;
    // Keras' fans for a kernel [a, b, c]: fan_in = b·a, fan_out = c·a.
    const double qkv = std::sqrt(6.0 / double(heads * width + key_dim * width));
    const double out = std::sqrt(6.0 / double(key_dim * heads + width * heads));
    for (auto* l : {&query, &key, &value}) uniform((*l)->weight, qkv);
    uniform(output->weight, out);
    for (auto* l : {&up, &down}) torch::nn::init::xavier_uniform_((*l)->weight);
    for (auto* l : {&query, &key, &value, &output, &up, &down}) torch::nn::init::zeros_((*l)->bias);
  }

  // x [B, T, C]; mask [T, T] additive (0 or -1e9).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const int64_t b = x.size(0), t = x.size(1);
    auto split = [&](const torch::Tensor& y) {
      return y.view({b, t, heads, key_dim}).transpose(1, 2);  // [B, H, T, K]
    };
    torch::Tensor h = ln1(x);
    torch::Tensor q = split(query(h)) * (1.0 / std::sqrt(double(key_dim)));
    torch::Tensor k = split(key(h)), v = split(value(h));
    torch::Tensor p = torch::softmax(q.matmul(k.transpose(-2, -1)) + mask, -1);
    torch::Tensor ctx = p.matmul(v).transpose(1, 2).reshape({b, t, heads * key_dim});
    torch::Tensor y = x + output(ctx);
    return y + down(torch::gelu(up(ln2(y))));
  }
};
TORCH_MODULE(Block);

struct CharTransformerImpl : torch::nn::Module {
  torch::nn::Embedding tokens{nullptr}, positions{nullptr};
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln{nullptr};
  torch::nn::Linear head{nullptr};

  CharTransformerImpl(int64_t vocab, const Flags& f) {
    tokens = register_module("tokens", torch::nn::Embedding(vocab, f.width));
    positions = register_module("positions", torch::nn::Embedding(f.context, f.width));
    for (int64_t i = 0; i < f.layers; ++i)
      blocks.push_back(register_module("block" + std::to_string(i), Block(f.width, f.heads)));
    ln = register_module("ln",
                         torch::nn::LayerNorm(torch::nn::LayerNormOptions({f.width}).eps(1e-3)));
    head = register_module("head", torch::nn::Linear(f.width, vocab));
    torch::NoGradGuard no_grad;
    uniform(tokens->weight, 0.05);
    uniform(positions->weight, 0.05);
    torch::nn::init::xavier_uniform_(head->weight);
    torch::nn::init::zeros_(head->bias);
  }

  torch::Tensor forward(const torch::Tensor& ids) {  // ids [B, T] int64 -> logits [B, T, V]
    const int64_t t = ids.size(1);
    torch::Tensor mask = torch::full({t, t}, -1e9).triu(1);
    torch::Tensor h = tokens(ids) + positions(torch::arange(t));
    for (auto& block : blocks) h = block(h, mask);
    return head(ln(h));
  }
};
TORCH_MODULE(CharTransformer);

// tf::optimizers::schedules::CosineDecay(0, max(1, steps - warmup), alpha, lr, warmup) at `step`.
double learning_rate(const Flags& f, int64_t step) {
  const double warmup = double(std::min(f.warmup_steps, f.steps));
  const double decay_steps = double(std::max<int64_t>(1, f.steps - int64_t(warmup)));
  const double s = std::min(double(step), decay_steps + warmup);
  if (s < warmup) return f.learning_rate * (s / warmup);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * ((s - warmup) / decay_steps)));
  return f.learning_rate * ((1.0 - f.final_lr_fraction) * cosine + f.final_lr_fraction);
}

std::pair<torch::Tensor, torch::Tensor> windows(const Corpus& c,
                                                const std::vector<int64_t>& starts,
                                                int64_t context) {
  std::vector<int32_t> x, y;
  example::chars::fill_windows(c, starts, context, x, y);
  const int64_t b = int64_t(starts.size());
  return {torch::from_blob(x.data(), {b, context}, torch::kInt32).to(torch::kLong),
          torch::from_blob(y.data(), {b, context}, torch::kInt32).to(torch::kLong)};
}

torch::Tensor char_loss(const torch::Tensor& targets, const torch::Tensor& logits) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                              targets.reshape({-1}));
}

double evaluate(CharTransformer& model,
                const Corpus& c,
                const std::vector<int64_t>& starts,
                const Flags& f) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (size_t i = 0; i < starts.size(); i += size_t(f.batch_size)) {
    std::vector<int64_t> part(
        starts.begin() + long(i),
        starts.begin() + long(std::min(starts.size(), i + size_t(f.batch_size))));
    auto [x, y] = windows(c, part, f.context);
    total += char_loss(y, model(x)).item<double>() * double(part.size());
  }
  return starts.empty() ? NAN : total / double(starts.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LibTorch peer of examples/char_transformer"};
  Flags f;
  app.add_option("--steps", f.steps);
  app.add_option("--batch_size", f.batch_size);
  app.add_option("--context", f.context);
  app.add_option("--layers", f.layers);
  app.add_option("--heads", f.heads);
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
  CLI11_PARSE(app, argc, argv);
  if (f.heads <= 0 || f.width % f.heads != 0) {
    std::fprintf(stderr, "error: --heads must divide --width\n");
    return 1;
  }

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
  CharTransformer model(c.vocab_size(), f);
  long long params = 0;
  for (const auto& p : model->parameters()) params += (long long)p.numel();
  std::printf("%lld trainable parameters (LibTorch %s, %d threads)\n",
              params,
              TORCH_VERSION,
              torch::get_num_threads());

  torch::optim::AdamW opt(model->parameters(),
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
    torch::nn::utils::clip_grad_norm_(model->parameters(), f.global_clipnorm);
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
