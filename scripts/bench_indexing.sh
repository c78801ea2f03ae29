#!/usr/bin/env bash
# Indexing benchmarks of issue #11 on the CPU: tf::sort and tf::math::top_k(k=10) on 1e6 floats,
# tf::cumsum on 1e7 floats, against LibTorch (Debian's libtorch-dev) on the same inputs, in one
# run; prints a markdown table of times and ratios. Raw JSON: $B/indexing_*.json.
#
#   scripts/bench_indexing.sh [extra cmake configure arguments for tapeflow]
#
# Environment: BENCH_DIR (default build-bench; an existing Release build dir is reused),
# BENCH_THREADS=N (threads for both libraries; default nproc), BENCH_NO_PEER=1 (skip LibTorch),
# TORCH_API_INCLUDE (as scripts/bench.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=${BENCH_DIR:-build-bench}
TORCH_API_INCLUDE=${TORCH_API_INCLUDE:-/usr/include/torch/csrc/api/include}
JOBS=${JOBS:-$(nproc)}
unset OMP_NUM_THREADS
export BENCH_THREADS=${BENCH_THREADS:-$(nproc)}
log() { printf '== %s\n' "$*" >&2; }

peer=1
if [[ -n "${BENCH_NO_PEER:-}" && "${BENCH_NO_PEER}" != 0 ]]; then
  peer=0
elif [[ ! -f "$TORCH_API_INCLUDE/torch/torch.h" ]]; then
  log "LibTorch not found ($TORCH_API_INCLUDE/torch/torch.h): apt-get install libtorch-dev, or set BENCH_NO_PEER=1"
  exit 1
fi

mkdir -p "$B"
log "configure + build bench_indexing in $B"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_BUILD_BENCH=ON "$@" >"$B/indexing-configure.log" 2>&1 ||
  { tail -40 "$B/indexing-configure.log" >&2; exit 1; }
cmake --build "$B" -j"$JOBS" --target bench_indexing >"$B/indexing-build.log" 2>&1 ||
  { tail -40 "$B/indexing-build.log" >&2; exit 1; }
bin=$(find "$B" -path "$B/peer" -prune -o -type f -name bench_indexing -perm -u+x -print | head -1)

if [[ $peer == 1 ]]; then
  log "configure + build the LibTorch peer in $B/peer"
  cmake -S bench/peer -B "$B/peer" -DCMAKE_BUILD_TYPE=Release >"$B/peer-configure.log" 2>&1 ||
    { tail -40 "$B/peer-configure.log" >&2; exit 1; }
  cmake --build "$B/peer" -j"$JOBS" --target libtorch_indexing >"$B/peer-indexing-build.log" 2>&1 ||
    { tail -40 "$B/peer-indexing-build.log" >&2; exit 1; }
fi

log "running $bin"
TAPEFLOW_DEVICE=cpu "$bin" >"$B/indexing_tapeflow.json"
if [[ $peer == 1 ]]; then
  log "running $B/peer/libtorch_indexing"
  "$B/peer/libtorch_indexing" >"$B/indexing_libtorch.json"
else
  echo '{"library": "libtorch"}' >"$B/indexing_libtorch.json"
fi

python3 - "$B" <<'PY'
import json, sys
B = sys.argv[1]
tf = json.load(open(f"{B}/indexing_tapeflow.json"))
lt = json.load(open(f"{B}/indexing_libtorch.json"))
print(f"\nthreads: tapeflow {tf.get('threads')}, LibTorch {lt.get('threads', 'n/a')}; best of 7; "
      "ratio = tapeflow time / LibTorch time (< 1: tapeflow faster)\n")
print("| workload | tapeflow (ms) | LibTorch (ms) | ratio | target |")
print("| --- | ---: | ---: | ---: | --- |")
for key, name in (("sort_1e6_ms", "sort, 1e6 float32"), ("top_k10_1e6_ms", "top_k k=10, 1e6 float32"),
                  ("cumsum_1e7_ms", "cumsum, 1e7 float32")):
    t, l = tf.get(key), lt.get(key)
    r = t / l if t is not None and l else None
    verdict = "n/a" if r is None else ("**met**" if r < 1 else "**missed**")
    print(f"| {name} | {t:.3f} | {'n/a' if l is None else f'{l:.3f}'} | "
          f"{'n/a' if r is None else f'{r:.3f}×'} | faster than LibTorch: {verdict} |")
if lt.get("check") is not None and abs(tf["check"] - lt["check"]) > 1e-2 * max(1.0, abs(lt["check"])):
    print(f"\nWARNING: results differ (check {tf['check']} vs {lt['check']})", file=sys.stderr)
PY
