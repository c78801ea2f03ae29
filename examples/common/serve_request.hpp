// Parsing of the prediction server's request bodies (examples/serve.cpp, docs/serving.md),
// apart from the HTTP code so that a fuzzer can call it (test/fuzz/fuzz_serve_request.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace example {

namespace tf = tapeflow;

/// Parses a TensorFlow Serving predict body, {"instances": [image, ...]}, into a float32 batch
/// of `input_shape` (batch first, -1 there). Each instance is 784 numbers, 28x28 or 28x28x1
/// nested lists. Throws InvalidArgumentError, saying what is wrong and where, on any bad input:
/// malformed JSON or invalid UTF-8, nesting deeper than 32 levels, more lists and elements than
/// `max_instances` images need (1598 each), wrong keys, types or sizes,
/// values that are not finite float32, more than `max_instances` instances. The messages are
/// printable ASCII: bytes quoted from the body are escaped (\xff) and cut short.
tf::Tensor parse_predict_request(std::string_view body,
                                 const tf::Shape& input_shape,
                                 int64_t max_instances);

/// A parsed predict body for any model: the batch, and whether it came columnar ("inputs").
struct PredictInput {
  tf::Tensor x;
  bool columnar = false;
};

/// Parses a TensorFlow Serving predict body for a model whose instances have `instance_dims`
/// (its input shape without the batch axis): {"instances": [instance, ...]} (rows) or
/// {"inputs": [instance, ...]} / {"inputs": {"name": [...]}} (columnar, one input). Each
/// instance is nested lists of exactly `instance_dims`, or one flat list of all its numbers.
/// Same limits and errors as parse_predict_request (the structure bound scaled to the
/// instance's size), into a float32 batch [n, instance_dims...].
PredictInput parse_predict_body(std::string_view body,
                                const std::vector<int64_t>& instance_dims,
                                int64_t max_instances);

/// {"error": message} as JSON text; bytes of `message` that are not valid UTF-8 become U+FFFD,
/// so any text (a request path, a client's bytes) is safe to pass. Never throws type_error.
std::string json_error_body(std::string_view message);

}  // namespace example
