#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <tapeflow/tapeflow.hpp>

// The suite also runs with the GPU as the default device (CTest's tapeflow_tests.gpu sets
// TAPEFLOW_DEVICE=gpu). Without a GPU that run says so and exits 77, which CTest reports as
// Skipped (SKIP_RETURN_CODE): a skip never counts as a pass.
int main(int argc, char* argv[]) {
  const char* env = std::getenv("TAPEFLOW_DEVICE");
  if (env && *env) {
    bool wants_gpu = false;
    try {
      wants_gpu = tapeflow::Device::parse(env).type == tapeflow::DeviceType::GPU;
    } catch (const tapeflow::Error&) {
      // A malformed value: let the tests run and report it.
    }
    if (wants_gpu && !tapeflow::config::gpu_available()) {
      std::cout << "skipped: no GPU (TAPEFLOW_DEVICE=" << env << "; "
                << tapeflow::config::gpu_unavailable_reason() << ")" << std::endl;
      return 77;
    }
  }
  return Catch::Session().run(argc, argv);
}
