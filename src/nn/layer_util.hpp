#pragma once
// Helpers shared by the layer files (layers.cpp, layers_ext.cpp, attention.cpp, recurrent.cpp):
// Keras' input checks and messages, activations by name, initialisers.
#include <string>
#include <vector>

#include "tapeflow/layers.hpp"
#include "tapeflow/ops.hpp"

namespace tapeflow::layers::internal {

/// InvalidArgumentError: `Input 0 of layer "<layer>" is incompatible with the layer: <what>.
/// Full shape received: <shape>` (Keras' wording).
[[noreturn]] void incompatible(const std::string& layer,
                               const Shape& shape,
                               const std::string& what);
void check_rank(const std::string& layer, const Shape& shape, int min_rank, int max_rank = 99);
void check_last_dim(const std::string& layer, const Shape& shape, int64_t expected);
/// x cast to the layer's dtype (Keras' autocast); x itself when it already has it.
Tensor as_dtype(const Tensor& x, DType dtype);

using ActivationFn = Tensor (*)(const Tensor&);
/// nullptr for "" and "linear"; InvalidArgumentError for unknown names.
ActivationFn activation_fn(const std::string& name);
Tensor activate(ActivationFn f, const Tensor& x);

/// Keras' GlorotUniform with the given fans, from the global (or scoped) generator.
Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, DType dtype);
/// "VALID" / "SAME" from either case; InvalidArgumentError naming `layer_kind` otherwise.
std::string padding_attr(const std::string& layer_kind, const std::string& padding);
int64_t window_out(int64_t in, int64_t window, int64_t stride, const std::string& padding);
void check_positive(const char* what, const Size2& s);

/// A Bidirectional layer over the given forward and backward recurrent layers, used as they are
/// (load_model's factory); InvalidArgumentError unless they are 2 recurrent layers.
Layer bidirectional_from_layers(const std::vector<Layer>& layers, BidirectionalOptions options);

}  // namespace tapeflow::layers::internal
