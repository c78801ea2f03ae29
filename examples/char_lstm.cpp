// A character language model with stacked LSTMs, trained on the text of Debian's `fortunes`
// package: the same task, data, optimizer, flags and output as char_transformer.cpp, with
// Embedding -> --layers x LSTM(return_sequences) -> Dense to the vocabulary (a Sequential; each
// position predicts the next character from the ones before it, as the recurrence is causal).
// Last line: `final: steps N initial_val_loss A train_loss B val_loss C steps_per_s R`.
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/char_lm.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train an LSTM character model on Debian's fortunes with tapeflow"};
  example::chars::Flags flags{.layers = 2, .width = 256, .learning_rate = 2e-3};
  example::chars::add_flags(app, flags, /*attention=*/false);
  CLI11_PARSE(app, argc, argv);
  return example::chars::run(flags, [&](int64_t vocab) {
    std::vector<L::Layer> stack{L::Embedding(vocab, flags.width)};
    for (int64_t i = 0; i < flags.layers; ++i)
      stack.push_back(L::LSTM({.units = flags.width, .return_sequences = true}));
    stack.push_back(L::Dense(vocab));
    return L::Layer(L::Sequential(stack));
  });
}
