// Shared by the training examples: make OpenBLAS use its fast kernels. Public tapeflow API only.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tapeflow/tapeflow.hpp>

namespace example {

/// OpenBLAS chose its kernels when this process loaded it. Where it fell back to slow pre-AVX2
/// ones (VMs that hide the CPU model), start this program again with OPENBLAS_CORETYPE set, so
/// that the times in README.md hold without setting it by hand. Call first thing in main.
inline void relaunch_with_fast_blas(char** argv) {
  const std::string hint = tapeflow::config::openblas_coretype_hint();
  if (hint.empty()) return;
  std::fprintf(stderr,
               "Restarting with OPENBLAS_CORETYPE=%s: OpenBLAS picked slower kernels "
               "for this CPU\n",
               hint.c_str());
  ::setenv("OPENBLAS_CORETYPE", hint.c_str(), 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then carry on, slower
}

}  // namespace example
