#!/usr/bin/env bash
# The checks that need a GPU, in one go (docs/gpu.md): builds tapeflow with CUDA in
# build-gpu/ for this machine's GPU (its compute capability from nvidia-smi, else 80;90), then
#   1. the device tests ([device], [gpu]): none may say "skipped: no GPU";
#   2. every test case with CPU:0 as default (the CPU-vs-GPU op and gradient tests included);
#   3. the whole suite with the GPU as default device (TAPEFLOW_DEVICE=gpu);
#   4. examples/cpu_vs_gpu_matmul 4096 (times both devices, checks they agree; the size is
#      GPU_CHECK_MATMUL_N).
# Logs go to build-gpu/gpu_check/; the last lines are a summary. Exits non-zero on any failure,
# and 2 when there is no usable GPU.
#
#   scripts/gpu_check.sh [extra cmake configure arguments]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=build-gpu
L=$B/gpu_check
mkdir -p "$L"
log() { printf '== %s\n' "$*" >&2; }

arch=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$L/gpu.txt" >&2
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
  [[ "$cc" =~ ^[0-9]+$ ]] && arch="$cc"
fi
arch_arg=()
[[ -n "$arch" ]] && arch_arg=(-DCMAKE_CUDA_ARCHITECTURES="$arch")

log "configure (CUDA on${arch:+, sm_$arch})"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_CUDA=ON -DTAPEFLOW_BUILD_TESTS=ON \
  -DTAPEFLOW_BUILD_EXAMPLES=ON "${arch_arg[@]}" "$@" >"$L/configure.log" 2>&1 ||
  { tail -n 30 "$L/configure.log" >&2; exit 1; }
log "build"
cmake --build "$B" -j"$(nproc)" --target tapeflow_tests tapeflow_cuda cpu_vs_gpu_matmul \
  >"$L/build.log" 2>&1 || { tail -n 40 "$L/build.log" >&2; exit 1; }

T=./$B/test/tapeflow_tests
results=()
fail=0
step() {  # step NAME LOGFILE COMMAND...
  local name=$1 file=$2
  shift 2
  log "$name"
  "$@" >"$L/$file" 2>&1
  local rc=$?
  tail -n 4 "$L/$file" >&2
  if ((rc == 0)); then results+=("PASS  $name"); else results+=("FAIL  $name (exit $rc, $L/$file)"); fail=1; fi
  return $rc
}

if ! TAPEFLOW_DEVICE= "$T" "[device]" >"$L/probe.log" 2>&1 || grep -q "skipped: no GPU" "$L/probe.log"; then
  grep -m1 "skipped: no GPU" -A3 "$L/probe.log" >&2
  log "no usable GPU: nothing to check"
  exit 2
fi

step "device and allocator tests, default device from the hardware" device.log \
  env TAPEFLOW_DEVICE= "$T" "[device],[gpu]" -s
if grep -q "skipped: no GPU" "$L/device.log"; then
  results+=("FAIL  a GPU case said 'skipped: no GPU' ($L/device.log)"); fail=1
fi
step "all test cases, CPU:0 default (CPU-vs-GPU op tests included)" cpu_default.log \
  env TAPEFLOW_DEVICE=cpu "$T"
step "whole suite with the GPU as default device" gpu_default.log env TAPEFLOW_DEVICE=gpu "$T"
n=${GPU_CHECK_MATMUL_N:-4096}
step "cpu_vs_gpu_matmul $n" matmul.log "./$B/examples/cpu_vs_gpu_matmul" "$n"

echo
printf '%s\n' "${results[@]}"
exit $fail
