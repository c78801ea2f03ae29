#!/usr/bin/env bash
# Runs the libFuzzer harnesses of test/fuzz/ (docs/hardening.md), built by
# `scripts/sanitize.sh asan` in build-asan/ (built here first if needed).
#
#   scripts/fuzz.sh NAME SECONDS [libFuzzer args]   one harness, e.g. scripts/fuzz.sh idx 3600
#   scripts/fuzz.sh --smoke [SECONDS]               every harness SECONDS each (default 30; CI),
#                                                   libFuzzer seed TAPEFLOW_FUZZ_SEED (default 1)
#   scripts/fuzz.sh --list                          the harnesses built
#
# Each run starts from the committed seeds (test/fuzz/corpus/NAME) plus what earlier runs found
# (build-asan/fuzz/corpus/NAME); crashes, leaks, timeouts and over-limit allocations are written
# to build-asan/fuzz/artifacts/NAME/ and fail the run. Reproduce one with
#   build-asan/test/fuzz/fuzz_NAME build-asan/fuzz/artifacts/NAME/crash-...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
dir="${TAPEFLOW_ASAN_DIR:-build-asan}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Largest single allocation (MB) a harness may make, from the input sizes it allows: the file
# parsers get inputs of at most 64 KiB (-max_len), so 256 MB is ~4000x the input, far above
# what an honest file needs and far below what a lying header would ask for. The op programs
# keep tensors of at most 4096 elements, so their legitimate outputs stay under 1 GB.
malloc_limit() {
  case "$1" in
    ops) echo 1024 ;;
    *) echo 256 ;;
  esac
}

log_suffix=""  # smoke runs log to NAME.smoke.log, so they never clobber a long run's NAME.log

harnesses() {
  local f
  for f in "$dir"/test/fuzz/fuzz_*; do
    [[ -x "$f" && "$f" != *make_seeds* ]] && basename "$f" | sed 's/^fuzz_//'
  done
}

ensure_built() {
  if [[ ! -x "$dir/test/fuzz/fuzz_ops" ]] || [[ -n "${TAPEFLOW_FUZZ_REBUILD:-}" ]]; then
    bash scripts/sanitize.sh asan --build-only
  fi
}

# run NAME SECONDS [args]: prints "execs/s total_execs" on its last line; returns libFuzzer's status.
run() {
  local name="$1" seconds="$2"
  shift 2
  local exe="$dir/test/fuzz/fuzz_$name"
  local corpus="$dir/fuzz/corpus/$name" artifacts="$dir/fuzz/artifacts/$name"
  local log="$dir/fuzz/$name$log_suffix.log"
  mkdir -p "$corpus" "$artifacts"
  local dict=()
  [[ -f "test/fuzz/$name.dict" ]] && dict=(-dict="test/fuzz/$name.dict")
  local seeds=()
  [[ -d "test/fuzz/corpus/$name" ]] && seeds=("test/fuzz/corpus/$name")
  local rc=0
  # The first corpus directory receives new inputs; the committed seeds are read only.
  (cd "$root" && "$exe" "$corpus" "${seeds[@]}" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -max_len=65536 -rss_limit_mb=2560 -malloc_limit_mb="$(malloc_limit "$name")" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$@") >"$log" 2>&1 || rc=$?
  local execs per_s
  execs="$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1 || echo 0)"
  per_s="$(grep -aEo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1 || echo 0)"
  echo "$per_s $execs"
  return "$rc"
}

case "${1:-}" in
  --list)
    harnesses
    ;;
  --smoke)
    seconds="${2:-30}"
    log_suffix=".smoke"
    ensure_built
    failed=()
    for name in $(harnesses); do
      rc=0
      # A fixed seed, so that a local rerun starts from the same mutations as CI; the runs still
      # diverge (coverage depends on timing), so run many seeds locally before trusting a
      # change (docs/hardening.md). Long runs (below) draw a random seed.
      stats="$(run "$name" "$seconds" -seed="${TAPEFLOW_FUZZ_SEED:-1}" | tail -n 1)" || rc=$?
      read -r per_s execs <<<"$stats"
      if ((rc == 0)); then
        echo "fuzz.sh: $name: ok, ${execs} execs in ${seconds} s (${per_s}/s)"
      else
        failed+=("$name")
        echo "fuzz.sh: $name: FAILED (exit status $rc) after ${execs} execs; log $dir/fuzz/$name.smoke.log"
        grep -aE '(==[0-9]+== ?ERROR|^SUMMARY|runtime error|Test unit written)' \
          "$dir/fuzz/$name.smoke.log" | head -n 8 | sed 's/^/    /'
      fi
    done
    if ((${#failed[@]} > 0)); then
      echo "fuzz.sh: smoke run failed: ${failed[*]}"
      exit 1
    fi
    echo "fuzz.sh: smoke run passed ($(harnesses | wc -l) harnesses, ${seconds} s each)"
    ;;
  "" | -h | --help)
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
  *)
    name="$1"
    seconds="${2:?usage: scripts/fuzz.sh NAME SECONDS}"
    shift 2
    ensure_built
    if [[ ! -x "$dir/test/fuzz/fuzz_$name" ]]; then
      echo "fuzz.sh: no harness '$name'; built: $(harnesses | tr '\n' ' ')" >&2
      exit 2
    fi
    rc=0
    stats="$(run "$name" "$seconds" "$@" | tail -n 1)" || rc=$?
    read -r per_s execs <<<"$stats"
    echo "fuzz.sh: $name: ${execs} execs in ${seconds} s (${per_s}/s), exit status $rc; log $dir/fuzz/$name.log"
    exit "$rc"
    ;;
esac
