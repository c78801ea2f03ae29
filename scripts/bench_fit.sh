#!/usr/bin/env bash
# Model::fit against the hand-written GradientTape loop on W7's CNN (issue #13: fit's per-step
# overhead ≤ 2%). Builds bench_fit in a Release build dir with the benchmarks on and runs it;
# prints its JSON (fit_overhead = best fit window / best loop window - 1).
#
#   scripts/bench_fit.sh [reps]        BENCH_DIR (default build-bench) is reused when it exists
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=${BENCH_DIR:-build-bench}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_BUILD_BENCH=ON >"$B.configure.log" 2>&1 ||
  { cat "$B.configure.log" >&2; exit 1; }
cmake --build "$B" -j"$(nproc)" --target bench_fit >"$B.bench_fit.log" 2>&1 ||
  { tail -50 "$B.bench_fit.log" >&2; exit 1; }
# On VMs that hide the CPU model, export OPENBLAS_CORETYPE first (docs/performance.md).
"$B/bench/bench_fit" "${1:-3}"
