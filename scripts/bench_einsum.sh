#!/usr/bin/env bash
# einsum at attention sizes (issue #11): tapeflow's einsum against the tapeflow matmul it
# lowers to (goal >= 95%) and against LibTorch's torch::einsum (goal: faster), on the CPU
# unless TAPEFLOW_DEVICE says otherwise. Prints a markdown table; raw JSON in build-bench/.
#
#   scripts/bench_einsum.sh            BENCH_QUICK=1 for a smoke run, BENCH_NO_PEER=1 without LibTorch
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=build-bench
JOBS=$(nproc)
unset OMP_NUM_THREADS
export BENCH_THREADS=${BENCH_THREADS:-$(nproc)}
mkdir -p "$B"
source scripts/openblas-coretype.sh
openblas_pick_coretype "$B"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_BUILD_BENCH=ON -DTAPEFLOW_BUILD_TESTS=OFF \
  -DTAPEFLOW_BUILD_EXAMPLES=OFF >"$B/configure.log" 2>&1 || { tail -40 "$B/configure.log" >&2; exit 1; }
cmake --build "$B" -j"$JOBS" --target bench_einsum >"$B/build-einsum.log" 2>&1 ||
  { tail -40 "$B/build-einsum.log" >&2; exit 1; }
bin=$(find "$B" -path "$B/peer" -prune -o -type f -name bench_einsum -perm -u+x -print | head -1)
"$bin" >"$B/einsum_tapeflow.json"
echo '{"workloads": []}' >"$B/einsum_libtorch.json"
if [[ -z "${BENCH_NO_PEER:-}" || "${BENCH_NO_PEER}" == 0 ]]; then
  cmake -S bench/peer -B "$B/peer" -DCMAKE_BUILD_TYPE=Release >"$B/peer-configure.log" 2>&1 ||
    { tail -40 "$B/peer-configure.log" >&2; exit 1; }
  cmake --build "$B/peer" -j"$JOBS" --target libtorch_einsum >"$B/peer-build-einsum.log" 2>&1 ||
    { tail -40 "$B/peer-build-einsum.log" >&2; exit 1; }
  "$B/peer/libtorch_einsum" >"$B/einsum_libtorch.json"
fi
python3 - "$B" <<'PY'
import json, sys
B = sys.argv[1]
tf = json.load(open(f"{B}/einsum_tapeflow.json"))
lt = {w["name"]: w for w in json.load(open(f"{B}/einsum_libtorch.json"))["workloads"]}
print(f"device: {tf['device']}\n")
print("| equation | tapeflow einsum ms | tapeflow matmul ms | einsum / matmul speed (goal >= 0.95) "
      "| LibTorch einsum ms | LibTorch / tapeflow time (goal > 1) |")
print("|---|---|---|---|---|---|")
for w in tf["workloads"]:
    t = lt.get(w["name"])
    peer = f"{t['einsum_ms']:.3f} | {t['einsum_ms'] / w['einsum_ms']:.2f}" if t else "n/a | n/a"
    print(f"| {w['name']} | {w['einsum_ms']:.3f} | {w['matmul_ms']:.3f} | {w['einsum_vs_matmul']:.3f} | {peer} |")
PY
