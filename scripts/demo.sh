#!/usr/bin/env bash
# Builds tapeflow and runs the main demo (linear regression); arguments go to the demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh -DTAPEFLOW_BUILD_EXAMPLES=ON
exec ./build/examples/linear_regression "$@"
