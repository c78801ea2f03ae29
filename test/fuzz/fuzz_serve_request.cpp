// libFuzzer harness for the prediction server's body parser (examples/common/serve_request.hpp):
// any input must either parse into a (n, 784) float32 batch or throw a tf::Error, and for a
// saved model's instances of shape [2, 3] (parse_predict_body) into a (n, 2, 3) batch or throw
// a tf::Error. Anything else (another exception, a crash, a sanitizer report, running out of
// memory) is a bug.
// Seeds: corpus/serve_request/; dictionary: serve_request.dict.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tapeflow/tapeflow.hpp>

#include "common/serve_request.hpp"

namespace tf = tapeflow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tf::Shape kMlpInput{-1, 784};
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    tf::Tensor x = example::parse_predict_request(body, kMlpInput, /*max_instances=*/1024);
    // An accepted body is a batch of 1 to 1024 images of 784 pixels.
    const int64_t n = x.shape()[0];
    if (x.shape().rank() != 2 || x.shape()[1] != 784 || n < 1 || n > 1024) __builtin_trap();
  } catch (const tf::Error&) {
  }
  try {
    const example::PredictInput in = example::parse_predict_body(body, {2, 3}, 1024);
    const int64_t n = in.x.shape()[0];
    if (in.x.shape().rank() != 3 || in.x.shape()[1] != 2 || in.x.shape()[2] != 3 || n < 1 ||
        n > 1024)
      __builtin_trap();
  } catch (const tf::Error&) {
  }
  return 0;
}
