#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace test {

/// Devices to run device-parametrised cases on: "/cpu:0", then "/gpu:0" when present.
/// Without a GPU, says so once, visibly (a skip never counts as a pass).
inline std::vector<std::string> devices() {
  std::vector<std::string> d{"/cpu:0"};
  if (tapeflow::config::gpu_available()) {
    d.push_back("/gpu:0");
  } else {
    static bool warned = false;
    if (!warned) {
      warned = true;
      WARN("no GPU: GPU cases skipped");
    }
  }
  return d;
}

}  // namespace test
