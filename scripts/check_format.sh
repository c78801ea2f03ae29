#!/usr/bin/env bash
# Checks that every C++/CUDA source of the repository is formatted as .clang-format says
# (docs/style.md), with Debian's clang-format 14; CI runs it from scripts/test.sh.
#
#   scripts/check_format.sh         lists the files clang-format would change; exit 1 if any
#   scripts/check_format.sh --fix   rewrites them in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cf="$(command -v clang-format-14 || command -v clang-format || true)"
if [[ -z "$cf" ]]; then
  echo "check_format: clang-format not found (scripts/install-deps.sh installs clang-format)" >&2
  exit 1
fi

mapfile -t files < <(git ls-files -- '*.hpp' '*.cpp' '*.cu' '*.cuh' '*.h')
if [[ "${1:-}" == "--fix" ]]; then
  "$cf" -i --style=file "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  if ! "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done
if ((${#bad[@]} > 0)); then
  echo "check_format: ${#bad[@]} of ${#files[@]} files differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check_format: run 'bash scripts/check_format.sh --fix' (docs/style.md)" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
