#!/usr/bin/env bash
# GPU benchmarks G1-G5 (bench/gpu/README.md): tapeflow's CUDA backend against PyTorch eager.
# Builds tapeflow with CUDA and the benchmarks in build-bench-gpu/, runs bench_gpu and, when a
# python3 with a CUDA-enabled torch is found, bench/gpu/peer_torch.py; prints a markdown table.
# Raw JSON lines go to build-bench-gpu/bench_gpu.jsonl.
#
#   scripts/bench_gpu.sh [extra cmake configure arguments, e.g. -DCMAKE_CUDA_ARCHITECTURES=90]
#
# Exits 2 (after saying why) on a machine without a usable GPU. Never run so far: it was
# written on a machine with no GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=build-bench-gpu
log() { printf '== %s\n' "$*" >&2; }

log "configure and build (CUDA on, benchmarks on)"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_CUDA=ON -DTAPEFLOW_BUILD_BENCH=ON \
  -DTAPEFLOW_BUILD_TESTS=OFF -DTAPEFLOW_BUILD_EXAMPLES=OFF "$@" >"$B.configure.log" 2>&1 ||
  { cat "$B.configure.log" >&2; exit 1; }
cmake --build "$B" -j"$(nproc)" --target bench_gpu

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader >&2 || true
fi

out="$B/bench_gpu.jsonl"
: >"$out"
log "tapeflow"
rc=0
"./$B/bench/bench_gpu" | tee -a "$out" || rc=$?
if ((rc == 2)); then
  log "no GPU: nothing to measure"
  exit 2
elif ((rc != 0)); then
  exit "$rc"
fi

log "PyTorch peer"
if python3 bench/gpu/peer_torch.py | tee -a "$out"; then
  :
else
  log "PyTorch peer unavailable (no torch with CUDA); its column reads n/a"
fi

python3 - "$out" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        r = json.loads(line)
        rows.setdefault(r["bench"], {})[r["library"]] = r
keys = {"G1_add_1e8": ("ms", "GBps"), "G2_sgemm_4096": ("ms", "TFLOPs"),
        "G3_W6_mlp_step": ("ms", "steps_per_s"), "G4_small_op": ("us_per_op",),
        "G5_allreduce_one_gpu": ("us_per_step_1x1_7MB", "us_per_step_mlp_6_tensors")}
print("| bench | metric | tapeflow | pytorch |")
print("|---|---|---|---|")
for bench, metrics in keys.items():
    for m in metrics:
        cells = []
        for lib in ("tapeflow", "pytorch"):
            v = rows.get(bench, {}).get(lib, {}).get(m)
            cells.append("n/a" if v is None else f"{v:.4g}")
        print(f"| {bench} | {m} | {cells[0]} | {cells[1]} |")
t = rows.get("G1_add_1e8", {}).get("tapeflow")
if t:
    print(f"\nG1: tapeflow's add moves {t['GBps']:.0f} GB/s, {100 * t['fraction_of_copy']:.0f}% of "
          f"the measured device-to-device copy ({t['copy_GBps']:.0f} GB/s).")
PY
