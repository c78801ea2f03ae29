// LibTorch peer of examples/char_lstm.cpp: the same stacked-LSTM character model trained on the
// same text, batches and validation windows for the same --seed, with the same optimizer and
// schedule, and printing the same lines (char_lm_torch.hpp, shared with char_transformer_torch).
// scripts/compare_char_lstm.sh runs both.
//
// The model: Embedding(vocab, --width) -> --layers stacked LSTMs of --width units, every step's
// output fed to the next (Keras' return_sequences; here one torch::nn::LSTM with num_layers,
// which is the same stack) -> Linear(--width, vocab), no dropout. LibTorch's gate order
// (input, forget, cell, output) is Keras'. The initialisers are Keras':
//   - Embedding uniform(-0.05, 0.05);
//   - LSTM kernels Glorot-uniform: LibTorch's weight_ih [4·units, inputs] is Keras' kernel
//     [inputs, 4·units] transposed, and xavier_uniform_ computes the same fans (inputs,
//     4·units) from it;
//   - LSTM recurrent kernels orthogonal over the whole [4·units, units] matrix, as Keras'
//     Orthogonal over its [units, 4·units] recurrent_kernel: both are the Q of a QR of a normal
//     [4·units, units] matrix with its columns' signs fixed by R's diagonal (Keras stores it
//     transposed, LibTorch multiplies by it transposed);
//   - LSTM biases zeros but the forget gate's ones (Keras' unit_forget_bias);
//   - the Dense head Glorot-uniform with a zero bias.
// Where the libraries necessarily differ: LibTorch's LSTM has two bias vectors per layer
// (bias_ih and bias_hh, added together), Keras one. bias_ih carries Keras' bias here; bias_hh is
// set to zero and frozen (requires_grad false, left out of the optimizer and the parameter
// count), so the model, its trainable variables and their count are Keras'. The random draws
// differ (torch::manual_seed, not tapeflow's generator), and so does where Adam's epsilon is
// added (char_lm_torch.hpp).
//
//   char_lstm_torch [--steps N --layers 2 --width 256 --context 128 --learning_rate 2e-3 ...]
//
// Last line: `final: steps N initial_val_loss A train_loss B val_loss C steps_per_s R`.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "char_lm_torch.hpp"

namespace {

using peer::chars::Flags;
using peer::chars::uniform;

struct CharLSTMImpl : torch::nn::Module {
  torch::nn::Embedding tokens{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear head{nullptr};

  CharLSTMImpl(int64_t vocab, const Flags& f) {
    const int64_t units = f.width;
    tokens = register_module("tokens", torch::nn::Embedding(vocab, f.width));
    lstm = register_module(
        "lstm",
        torch::nn::LSTM(
            torch::nn::LSTMOptions(f.width, units).num_layers(f.layers).batch_first(true)));
    head = register_module("head", torch::nn::Linear(units, vocab));
    torch::NoGradGuard no_grad;
    uniform(tokens->weight, 0.05);
    auto weights = lstm->named_parameters(/*recurse=*/false);
    auto get = [&](const std::string& name) {
      const torch::Tensor* t = weights.find(name);
      TORCH_CHECK(t != nullptr, "LSTM parameter ", name, " not found");
      return *t;
    };
    for (int64_t l = 0; l < f.layers; ++l) {
      const std::string suffix = "_l" + std::to_string(l);
      torch::nn::init::xavier_uniform_(get("weight_ih" + suffix));
      torch::nn::init::orthogonal_(get("weight_hh" + suffix));
      torch::Tensor bias = get("bias_ih" + suffix);
      torch::nn::init::zeros_(bias);
      bias.narrow(0, units, units).fill_(1.0);  // the forget gate: rows [units, 2·units)
      torch::Tensor unused = get("bias_hh" + suffix);
      torch::nn::init::zeros_(unused);
      unused.requires_grad_(false);
    }
    torch::nn::init::xavier_uniform_(head->weight);
    torch::nn::init::zeros_(head->bias);
  }

  torch::Tensor forward(const torch::Tensor& ids) {  // ids [B, T] int64 -> logits [B, T, V]
    return head(std::get<0>(lstm(tokens(ids))));
  }
};
TORCH_MODULE(CharLSTM);

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LibTorch peer of examples/char_lstm"};
  Flags f;
  // examples/char_lstm.cpp's defaults; the rest are char_lm.hpp's, as there.
  f.layers = 2;
  f.width = 256;
  f.learning_rate = 2e-3;
  peer::chars::add_flags(app, f, /*attention=*/false);
  CLI11_PARSE(app, argc, argv);
  if (f.layers <= 0 || f.width <= 0) {
    std::fprintf(stderr, "error: --layers and --width must be positive\n");
    return 1;
  }
  return peer::chars::run(f, [&](int64_t vocab) { return CharLSTM(vocab, f); });
}
