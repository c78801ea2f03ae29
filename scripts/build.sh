#!/usr/bin/env bash
# Configures and builds tapeflow (Release) in build/. Extra arguments go to the cmake configure
# step, e.g. scripts/build.sh -DTAPEFLOW_CUDA=OFF
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$(nproc)"
