#!/usr/bin/env bash
# Builds tapeflow, runs the test suite, then checks the installed package from an outside
# project (examples/consumer). Exits non-zero on any failure; the last line is the ctest
# summary "N passed, N failed". Extra arguments go to the cmake configure step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

summary=""
finish() {
  local rc=$?
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
