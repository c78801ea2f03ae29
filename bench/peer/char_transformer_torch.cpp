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
// biases zeros). The data, AdamW, the warm-up + cosine schedule, global-norm clipping, the
// training loop and what differs from tapeflow there (the random draws, where Adam's epsilon is
// added) are in char_lm_torch.hpp, shared with char_lstm_torch.cpp.
//
//   char_transformer_torch [--steps N --layers 4 --heads 4 --width 128 --context 128 ...]
//
// Last line: `final: steps N initial_val_loss A train_loss B val_loss C steps_per_s R`.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "char_lm_torch.hpp"

namespace {

using peer::chars::Flags;
using peer::chars::uniform;

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LibTorch peer of examples/char_transformer"};
  Flags f;
  peer::chars::add_flags(app, f, /*attention=*/true);
  CLI11_PARSE(app, argc, argv);
  if (f.heads <= 0 || f.width % f.heads != 0) {
    std::fprintf(stderr, "error: --heads must divide --width\n");
    return 1;
  }
  return peer::chars::run(f, [&](int64_t vocab) { return CharTransformer(vocab, f); });
}
