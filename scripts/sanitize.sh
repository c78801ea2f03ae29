#!/usr/bin/env bash
# Builds tapeflow with sanitizers (clang, RelWithDebInfo, CUDA plugin off) and runs tests under
# them (docs/hardening.md). Exits non-zero on any failure or sanitizer report.
#
#   scripts/sanitize.sh asan [--build-only] [ctest args]
#       ASan + UBSan (-fno-sanitize-recover=undefined, leak detection on) in build-asan/, with the
#       libFuzzer harnesses (TAPEFLOW_FUZZ=ON): the whole CTest suite, examples included.
#   scripts/sanitize.sh tsan [ctest args]
#       TSan in build-tsan/: the tests that use threads (tapes per thread, Dataset prefetch, the
#       thread pool, concurrent summaries and training, the server), OpenBLAS suppressed
#       (test/tsan.supp says why).
#
# Environment: TAPEFLOW_SANITIZE_CXX (default clang++), TAPEFLOW_ASAN_DIR / TAPEFLOW_TSAN_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

mode="${1:-}"
shift || true
build_only=0
if [[ "${1:-}" == "--build-only" ]]; then
  build_only=1
  shift
fi
cxx="${TAPEFLOW_SANITIZE_CXX:-clang++}"
jobs="$(nproc)"

stamp() { date +%s; }
took() { echo "$(($(stamp) - $1)) s"; }

case "$mode" in
  asan)
    dir="${TAPEFLOW_ASAN_DIR:-build-asan}"
    flags=(-DTAPEFLOW_SANITIZE=address,undefined -DTAPEFLOW_FUZZ=ON)
    # Leaks are reported (detect_leaks); allocator_may_return_null lets a request beyond any
    # machine's memory come back as null, so the library's ResourceExhaustedError path runs
    # instead of ASan aborting on the request itself.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/test/lsan.supp:print_suppressions=0}"
    ;;
  tsan)
    dir="${TAPEFLOW_TSAN_DIR:-build-tsan}"
    flags=(-DTAPEFLOW_SANITIZE=thread)
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/test/tsan.supp}"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [--build-only] [ctest args]" >&2
    exit 2
    ;;
esac

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "sanitize.sh: $cxx not found (apt-get install clang libclang-rt-dev)" >&2
  exit 1
fi

echo "== sanitize.sh $mode: configure and build in $dir ($cxx)"
t0="$(stamp)"
# The compiler is given on the first configure only: naming it again differently (clang++ vs
# clang++-14) makes CMake throw the cache away and rebuild everything.
compiler=()
if [[ ! -f "$dir/CMakeCache.txt" ]]; then
  compiler=(-DCMAKE_CXX_COMPILER="$cxx")
fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${compiler[@]}" \
  -DTAPEFLOW_CUDA=OFF -DTAPEFLOW_BUILD_TESTS=ON -DTAPEFLOW_BUILD_EXAMPLES=ON "${flags[@]}" >/dev/null
if [[ "$mode" == tsan ]]; then
  # Only what the threaded tests need.
  targets=(tapeflow_tests)
  if grep -q '^serve_test:' <(cmake --build "$dir" --target help | sed -E 's/^\.\.\. ([^ ]+).*/\1:/'); then
    targets+=(serve serve_test serve_saved_test)
  fi
  cmake --build "$dir" -j"$jobs" --target "${targets[@]}"
else
  cmake --build "$dir" -j"$jobs"
fi
echo "sanitize.sh: $mode build took $(took "$t0")"
if ((build_only)); then
  exit 0
fi

t0="$(stamp)"
log="$dir/ctest.log"
rc=0
if [[ "$mode" == asan ]]; then
  # Each test gets 900 s (ASan makes the training examples and the whole-suite fake-GPU run
  # several times slower); tests that are slow only under ASan get more time, never an exclusion.
  ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 -j"$jobs" "$@" 2>&1 |
    tee "$log" || rc=$?
else
  # The threaded tests by name (Catch2 test names; see docs/hardening.md for why each is here).
  tsan_tests='tapes are per thread|prefetch|set_num_threads|thread pool|concurrent|example\.serve'
  tsan_tests+='|per-thread|threads'
  ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 -j"$jobs" \
    -R "$tsan_tests" -E 'tapeflow_tests\.(gpu|fake_gpu)' "$@" 2>&1 | tee "$log" || rc=$?
fi
echo "sanitize.sh: $mode suite took $(took "$t0")"
line="$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)"
echo "sanitize.sh: $mode: ${line:-no ctest summary} (exit status $rc)"
exit "$rc"
