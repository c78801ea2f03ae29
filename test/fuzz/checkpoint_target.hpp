#pragma once

// What fuzz_checkpoint restores into, and what make_seeds saves its seeds from: plain variables
// of four dtypes (one empty), a two-layer model and an Adam optimizer (slots and iterations).
#include <tapeflow/tapeflow.hpp>

namespace fuzz {

struct CheckpointTarget {
  tapeflow::Variable w{tapeflow::zeros({2, 3}), {.name = "w"}};
  tapeflow::Variable step{tapeflow::constant(int64_t(0)), {.name = "step"}};
  tapeflow::Variable flags{tapeflow::constant({true, false}), {.name = "flags"}};
  tapeflow::Variable empty{tapeflow::zeros({0, 4}, tapeflow::float64), {.name = "empty"}};
  tapeflow::layers::Sequential model;
  tapeflow::optimizers::Adam adam;
  tapeflow::train::Checkpoint ckpt;

  CheckpointTarget()
      : model({tapeflow::layers::Dense(3, "relu"), tapeflow::layers::Dense(2)}),
        ckpt({{"w", w}, {"step", step}, {"flags", flags}, {"empty", empty}},
             {{"model", model}, {"optimizer", adam}}) {
    model.build({1, 4});
  }
};

}  // namespace fuzz
