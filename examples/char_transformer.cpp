// A GPT-style character language model trained on the text of Debian's `fortunes` package:
// token embeddings plus learned position embeddings, --layers pre-LayerNorm blocks of causal
// multi-head self-attention and a GELU MLP, a final LayerNorm and a Dense to the vocabulary. The
// model is user code over tapeflow layers: each Impl declares its sublayers once with track(),
// so trainable_variables() and checkpoints see them. AdamW with warm-up and cosine decay,
// global_clipnorm; train and validation loss in nats per character; at the end, a sampled
// continuation of --prompt. The same model in LibTorch: bench/peer/char_transformer_torch.cpp.
// Last line: `final: steps N initial_val_loss A train_loss B val_loss C steps_per_s R`.
#include <cstdio>
#include <memory>
#include <tapeflow/tapeflow.hpp>
#include <vector>

#include "common/char_lm.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;

namespace {

// x + attention(ln(x)), then y + mlp(ln(y)): causal self-attention and a GELU MLP 4x wide.
class TransformerBlockImpl : public L::Layer::Impl {
 public:
  TransformerBlockImpl(int64_t width, int64_t heads)
      : Impl(L::unique_layer_name("transformer_block")),
        ln1_(track(L::LayerNormalization())),
        attention_(track(L::MultiHeadAttention({.num_heads = heads, .key_dim = width / heads}))),
        ln2_(track(L::LayerNormalization())),
        up_(track(L::Dense(4 * width, "gelu"))),
        down_(track(L::Dense(width))) {}

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor h = ln1_(x, training);
    tf::Tensor y = x + attention_(h, h, h, {.use_causal_mask = true, .training = training});
    return y + down_(up_(ln2_(y, training), training), training);
  }

 private:
  // Declared in the order they are tracked (members initialise in declaration order).
  L::LayerNormalization ln1_;
  L::MultiHeadAttention attention_;
  L::LayerNormalization ln2_;
  L::Dense up_, down_;
};

// ids [batch, steps] (steps <= context) -> next-character logits [batch, steps, vocab].
class CharTransformerImpl : public L::Layer::Impl {
 public:
  CharTransformerImpl(int64_t vocab, int64_t context, int64_t width, int64_t layers, int64_t heads)
      : Impl(L::unique_layer_name("char_transformer")),
        tokens_(track(L::Embedding(vocab, width))),
        positions_(track(L::Embedding(context, width))),
        blocks_(track_blocks(layers, width, heads)),
        ln_(track(L::LayerNormalization())),
        head_(track(L::Dense(vocab))) {}

  tf::Tensor call(const tf::Tensor& ids, bool training) override {
    // Positions 0..steps-1: [steps, width], broadcast over the batch.
    tf::Tensor h =
        tokens_(ids, training) + positions_(tf::range<int32_t>(ids.shape()[1]), training);
    for (const L::Layer& block : blocks_) h = block(h, training);
    return head_(ln_(h, training), training);
  }

 private:
  // Declared in the order they are tracked (members initialise in declaration order).
  L::Embedding tokens_, positions_;
  std::vector<L::Layer> blocks_;
  L::LayerNormalization ln_;
  L::Dense head_;

  std::vector<L::Layer> track_blocks(int64_t layers, int64_t width, int64_t heads) {
    std::vector<L::Layer> blocks;
    for (int64_t i = 0; i < layers; ++i)
      blocks.push_back(track(L::Layer(std::make_shared<TransformerBlockImpl>(width, heads))));
    return blocks;
  }
};

}  // namespace

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train a GPT-style character model on Debian's fortunes with tapeflow"};
  example::chars::Flags flags;  // defaults: 4 blocks, 4 heads, width 128, context 128, batch 32
  example::chars::add_flags(app, flags, /*attention=*/true);
  CLI11_PARSE(app, argc, argv);
  if (flags.heads <= 0 || flags.width % flags.heads != 0) {
    std::fprintf(stderr, "error: --heads must divide --width\n");
    return 1;
  }
  return example::chars::run(flags, [&](int64_t vocab) {
    return L::Layer(std::make_shared<CharTransformerImpl>(
        vocab, flags.context, flags.width, flags.layers, flags.heads));
  });
}
