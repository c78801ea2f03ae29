#!/usr/bin/env bash
# Builds tapeflow, runs the test suite, then checks the installed package from an outside
# project (examples/consumer); then runs the whole suite again under ASan+UBSan, each fuzz
# harness for a short time, and the threaded tests under TSan (docs/hardening.md). Exits
# non-zero on any failure; the last line is the summary of the normal suite "N passed, N
# failed", with the sanitizer, fuzz and TSan results on the lines just above it. Extra
# arguments go to the cmake configure step.
#
# TAPEFLOW_QUICK=1 skips the sanitizer and fuzz parts locally (never under CI=true).
# TAPEFLOW_FUZZ_SECONDS sets the time per fuzz harness (default 30).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

summary=""
hardening=()  # one result line per sanitizer/fuzz part, printed just before the summary
finish() {
  local rc=$?
  local line
  for line in "${hardening[@]}"; do
    echo "$line"
  done
  if ((rc != 0)); then
    echo "test.sh: FAILED (exit status ${rc})" >&2
  fi
  if [[ -n "$summary" ]]; then
    echo "$summary"
  fi
}
trap finish EXIT

bash scripts/build.sh -DTAPEFLOW_BUILD_TESTS=ON -DTAPEFLOW_BUILD_EXAMPLES=ON "$@"

echo "== ctest"
ctest_log="build/ctest.log"
ctest_rc=0
ctest --test-dir build --output-on-failure --no-tests=error --timeout 300 -j2 2>&1 |
  tee "$ctest_log" || ctest_rc=$?

# ctest ends with "100% tests passed, 0 tests failed out of 12" (or "... 1 test failed ...").
line="$(grep -Eo 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$ctest_log" | tail -n 1 || true)"
if [[ -n "$line" ]]; then
  failed="$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")"
  total="$(sed -E 's/.*out of ([0-9]+)/\1/' <<<"$line")"
  # Tests that skip themselves (no GPU here) are neither passed nor failed: listed, not counted.
  skipped="$(grep -c '(Skipped)' "$ctest_log" || true)"
  summary="$((total - failed - skipped)) passed, ${failed} failed"
  if ((skipped > 0)); then
    summary="$(grep '(Skipped)' "$ctest_log" | sed -E 's/^[[:space:]]*[0-9]+ - /test.sh: skipped: /')
${summary}"
  fi
else
  summary="0 passed, 0 failed (ctest reported no summary; exit status ${ctest_rc})"
fi
if ((ctest_rc != 0)); then
  echo "test.sh: ctest failed (exit status ${ctest_rc})" >&2
  exit "$ctest_rc"
fi

echo "== install and outside consumer"
rm -rf build/_install build/_consumer
cmake --install build --prefix build/_install
cmake -S examples/consumer -B build/_consumer -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/build/_install"
cmake --build build/_consumer -j"$(nproc)"
./build/_consumer/consumer | tee build/_consumer/consumer.out
if ! grep -q '^dy/dw' build/_consumer/consumer.out; then
  echo "test.sh: consumer did not print the dy/dw line" >&2
  exit 1
fi
echo "test.sh: install check passed"

# ---- formatting: every C++/CUDA file as .clang-format says (docs/style.md) ----
echo "== clang-format (scripts/check_format.sh)"
format_rc=0
bash scripts/check_format.sh || format_rc=$?
if ((format_rc == 0)); then
  hardening+=("test.sh: clang-format check passed")
else
  hardening+=("test.sh: clang-format check FAILED: run 'bash scripts/check_format.sh --fix'")
fi

# ---- hardening: the suite under ASan+UBSan, then the fuzz harnesses (docs/hardening.md) ----
if [[ "${TAPEFLOW_QUICK:-}" == 1 && "${CI:-}" != true ]]; then
  hardening+=("test.sh: TAPEFLOW_QUICK=1: ASan+UBSan suite, fuzz smoke runs and TSan SKIPPED")
  exit "$format_rc"
fi

# Runs `scripts/sanitize.sh MODE` and records one result line for LABEL (DIR holds its
# ctest.log); returns the script's exit status.
sanitizer_suite() {
  local mode="$1" label="$2" dir="$3" start rc=0 line
  start="$(date +%s)"
  bash scripts/sanitize.sh "$mode" || rc=$?
  line="$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' \
    "$dir/ctest.log" 2>/dev/null | tail -n 1 || true)"
  if ((rc == 0)); then
    hardening+=("test.sh: ${label} passed: ${line} ($(($(date +%s) - start)) s)")
  else
    hardening+=("test.sh: ${label} FAILED (exit status ${rc}): ${line:-no ctest summary}; ${dir}/ctest.log")
  fi
  return "$rc"
}

echo "== ASan+UBSan suite (scripts/sanitize.sh asan)"
asan_rc=0
sanitizer_suite asan "ASan+UBSan suite" build-asan || asan_rc=$?

echo "== fuzz smoke runs (scripts/fuzz.sh --smoke)"
start="$(date +%s)"
fuzz_rc=0
mkdir -p build-asan
bash scripts/fuzz.sh --smoke "${TAPEFLOW_FUZZ_SECONDS:-30}" 2>&1 | tee build-asan/fuzz-smoke.log ||
  fuzz_rc=$?
while IFS= read -r line; do
  hardening+=("$line")
done < <(grep -aE '^fuzz.sh: [a-z_]+: (ok|FAILED)|^    ' build-asan/fuzz-smoke.log || true)
if ((fuzz_rc == 0)); then
  hardening+=("test.sh: fuzz smoke runs passed ($(($(date +%s) - start)) s)")
else
  hardening+=("test.sh: fuzz smoke runs FAILED (exit status ${fuzz_rc}); logs in build-asan/fuzz/")
fi

echo "== TSan: the tests that use threads (scripts/sanitize.sh tsan)"
tsan_rc=0
sanitizer_suite tsan "TSan threaded tests" build-tsan || tsan_rc=$?

if ((format_rc != 0 || asan_rc != 0 || fuzz_rc != 0 || tsan_rc != 0)); then
  exit 1
fi
