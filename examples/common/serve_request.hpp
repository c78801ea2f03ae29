// Parsing of the prediction server's request bodies (examples/serve.cpp, docs/serving.md),
// apart from the HTTP code so that a fuzzer can call it.
#pragma once

#include <cstdint>
#include <string_view>
#include <tapeflow/tapeflow.hpp>

namespace example {

namespace tf = tapeflow;

/// Parses a TensorFlow Serving predict body, {"instances": [image, ...]}, into a float32 batch
/// of `input_shape` (batch first, -1 there). Each instance is 784 numbers, 28x28 or 28x28x1
/// nested lists. Throws InvalidArgumentError saying what is wrong and where.
tf::Tensor parse_predict_request(std::string_view body,
                                 const tf::Shape& input_shape,
                                 int64_t max_instances);

}  // namespace example
